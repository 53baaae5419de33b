/* COM1 driver: polled, 115200 8N1, no interrupts. */
#include "serial.h"
#include "io.h"

#define COM1 0x3F8
#define LSR_THR_EMPTY 0x20

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB on */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
}

static void serial_putc(char c)
{
    while (!(inb(COM1 + 5) & LSR_THR_EMPTY))
        ;
    outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

void serial_put_u64(uint64_t value)
{
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n)
        serial_putc(digits[--n]);
}

void serial_field(const char *key, uint64_t value)
{
    serial_putc(' ');
    serial_puts(key);
    serial_putc('=');
    serial_put_u64(value);
}
