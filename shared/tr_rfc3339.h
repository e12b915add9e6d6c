/* tr_rfc3339.h - RFC 3339 date-times to epoch ms: the REST API's "at" and "until"
 * (fcgi/tr_rest_parse.c) and timerushctl's time options (ctl/ctl_args.c) read them
 * with this one parser. Pure computation, no state.
 */
#ifndef TR_RFC3339_H
#define TR_RFC3339_H

#include <stdint.h>

/* RFC 3339 date-time ("2026-11-26T15:00:00Z", "+01:00" offsets, fractional
 * seconds; a real calendar day; a leap second read as :59) to epoch ms (fractions
 * beyond ms truncated). 0, or -1 when it is not one. */
int tr_rfc3339_parse(const char *s, int64_t *out_ms);

#endif
