/* tr_clock.h - local clocks, for measuring durations and stamping log lines only.
 *
 * Due times never come from here: Redis TIME (inside the scripts) is the one clock
 * that decides when a timer is due. These functions are the seam a test can replace
 * by linking its own definitions.
 */
#ifndef TR_CLOCK_H
#define TR_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for timeouts and durations. */
int64_t tr_clock_mono_ms(void);

/* Microseconds on CLOCK_MONOTONIC. */
int64_t tr_clock_mono_us(void);

/* Milliseconds since the epoch on CLOCK_REALTIME: for log stamps only. */
int64_t tr_clock_wall_ms(void);

#endif
