/* The guest clock: the TSC, calibrated against the PIT once at boot. */
#ifndef MIGLAB_CLOCK_H
#define MIGLAB_CLOCK_H

#include <stdint.h>

/* Measure and return the number of TSC ticks per millisecond. */
uint64_t clock_calibrate(void);

#endif
