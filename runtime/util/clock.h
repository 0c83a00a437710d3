/* clock.h - time stamps shared by the protocol and the benchmarks. */
#ifndef KRUN_CLOCK_H
#define KRUN_CLOCK_H

#include <stdint.h>

/* Wall clock (CLOCK_REALTIME) in microseconds: comparable across processes
 * and, with synchronised clocks, across nodes. */
int64_t clock_wall_us (void);

/* Monotonic clock in milliseconds, for timeouts. */
int64_t clock_mono_ms (void);

#endif
