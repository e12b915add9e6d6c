/* tr_backoff.h - how long to wait before the next delivery of a failed timer.
 *
 * Pure functions (no I/O, no clock of their own), so the unit tests pin every
 * bound. The distribution (docs/SCHEDULER.md, "Retry policy"):
 *   base(n)  = min(backoff_max, backoff_min * 2^(n-1))   n = attempts made so far
 *   delay(n) = uniform in [base(n)/2, base(n)]            ("equal jitter")
 * so delay(n+1) >= base(n+1)/2 = base(n) >= delay(n) until the cap: the gaps never
 * shrink, yet schedulers that failed together spread out over half the window.
 * A Retry-After on a 429 or 503 is honoured (never sooner), capped at backoff_max.
 *
 * tr_rng is a small xorshift64* generator kept by its owner (the loop): jitter needs
 * no cryptographic quality, and keeping the state in a struct keeps it testable.
 */
#ifndef TR_BACKOFF_H
#define TR_BACKOFF_H

#include <stdint.h>

typedef struct tr_rng {
    uint64_t state; /* never 0 */
} tr_rng;

/* Seeds from `seed` (0 is replaced by a fixed non-zero constant). */
void tr_rng_seed(tr_rng *rng, uint64_t seed);

/* The next 64 random bits. */
uint64_t tr_rng_next(tr_rng *rng);

/* base(attempt) above, ms; attempt < 1 counts as 1. min_ms <= max_ms expected. */
int64_t tr_backoff_base_ms(int64_t min_ms, int64_t max_ms, int64_t attempt);

/* delay(attempt) above, ms, using the random bits `rnd`. */
int64_t tr_backoff_delay_ms(int64_t min_ms, int64_t max_ms, int64_t attempt, uint64_t rnd);

/* Parses a Retry-After header value (surrounding blanks allowed): delta-seconds,
 * or an HTTP-date (RFC 7231: IMF-fixdate, RFC 850 or asctime form), taken relative
 * to now_wall_ms. A date in the past gives 0. Returns 0 and sets *out_ms (at most
 * about 30 years), or -1 when the value is neither. */
int tr_backoff_parse_retry_after(const char *value, int64_t now_wall_ms, int64_t *out_ms);

/* The delay to store for a retry: delay(attempt), but no less than
 * min(retry_after_ms, max_ms) when retry_after_ms >= 0 (-1: none). */
int64_t tr_backoff_retry_delay_ms(int64_t min_ms, int64_t max_ms, int64_t attempt, uint64_t rnd,
                                  int64_t retry_after_ms);

#endif
