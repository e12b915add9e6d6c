#include "tr_clock.h"

#include <time.h>

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0; /* only fails for an invalid clock id, which these are not */
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tr_clock_mono_ms(void) { return clock_us(CLOCK_MONOTONIC) / 1000; }
int64_t tr_clock_mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
int64_t tr_clock_wall_ms(void) { return clock_us(CLOCK_REALTIME) / 1000; }
