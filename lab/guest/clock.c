/* TSC calibration against PIT channel 2, as Linux's pit_calibrate_tsc does.
 *
 * Channel 2 is gated through port 0x61 and its output can be read back in bit 5 of the same
 * port, so no interrupt is needed. The TSC stops while the VM is stopped and travels with the
 * vCPU state in a migration, so the guest clock excludes downtime.
 */
#include "clock.h"
#include "io.h"

#define PIT_HZ 1193182u
#define CALIBRATE_MS 50u
#define PORT_61 0x61
#define PIT_CH2 0x42
#define PIT_CMD 0x43

uint64_t clock_calibrate(void)
{
    uint16_t count = (uint16_t)(PIT_HZ * CALIBRATE_MS / 1000u);
    uint8_t gate = (uint8_t)((inb(PORT_61) & ~0x02) | 0x01); /* gate high, speaker off */
    outb(PORT_61, gate);
    outb(PIT_CMD, 0xB0);                                      /* ch2, lo/hi byte, mode 0 */
    outb(PIT_CH2, (uint8_t)(count & 0xFF));
    outb(PIT_CH2, (uint8_t)(count >> 8));
    uint64_t start = rdtsc();
    while (!(inb(PORT_61) & 0x20))                            /* OUT2 rises at terminal count */
        ;
    return (rdtsc() - start) / CALIBRATE_MS;
}
