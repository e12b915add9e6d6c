/* tr_num.h - decimal integers from outside input, parsed with bounds.
 *
 * The one parser for numbers that arrive as text (the list's limit and cursor,
 * CONTENT_LENGTH, the compat `seconds` string): a strict syntax check, then
 * strtoll with errno, an end check and a range. No caller can overflow, take a
 * sign or spaces it did not ask for, or ignore trailing bytes.
 */
#ifndef TR_NUM_H
#define TR_NUM_H

#include <stddef.h>
#include <stdint.h>

typedef enum tr_num_result {
    TR_NUM_OK = 0,
    TR_NUM_SYNTAX, /* not [-]DIGITS: empty, '+', spaces, other bytes, "-0", '-' when lo >= 0 */
    TR_NUM_RANGE,  /* DIGITS, but outside [lo, hi] (or beyond int64) */
} tr_num_result;

/* Parses s[0..len) (need not be NUL-terminated) as one or more ASCII digits, with
 * a leading '-' only when lo < 0 ("-0" is refused: zero has no sign). Leading
 * zeros are fine. TR_NUM_OK with *out in [lo, hi]; otherwise *out is untouched.
 * lo <= hi. */
tr_num_result tr_num_parse(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out);

#endif
