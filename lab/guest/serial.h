/* Output on COM1 (0x3F8), the guest's only channel to the host. */
#ifndef MIGLAB_SERIAL_H
#define MIGLAB_SERIAL_H

#include <stdint.h>

void serial_init(void);
void serial_puts(const char *s);
void serial_put_u64(uint64_t value);
/* Print " key=value" with value in decimal. */
void serial_field(const char *key, uint64_t value);

#endif
