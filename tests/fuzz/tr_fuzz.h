/* tr_fuzz.h - what the libFuzzer targets (tests/fuzz/fuzz_*.c) share: reading a
 * structured input out of the fuzzer's bytes, failing a check loudly, and the
 * invariants several targets check.
 *
 * Not a fuzz target itself (the name does not match fuzz_*.c): tests/fuzz/CMakeLists.txt
 * links it into every target. No state beyond the cursor the caller owns.
 */
#ifndef TR_FUZZ_H
#define TR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Every target defines this (libFuzzer calls it once per input). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed invariant: prints what and where, then aborts so libFuzzer keeps the input. */
#define TR_FUZZ_CHECK(cond, ...)                                                           \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The unread rest of the input. Borrowed: the fuzzer's bytes. */
typedef struct tr_fuzz_in {
    const uint8_t *p;
    size_t left;
} tr_fuzz_in;

/* The next byte, or 0 when none is left. */
uint8_t tr_fuzz_u8(tr_fuzz_in *in);

/* The next 8 bytes as an unsigned integer (little end first; missing bytes 0). */
uint64_t tr_fuzz_u64(tr_fuzz_in *in);

/* The bytes up to the next `sep` (or the end), the separator skipped: *len bytes at
 * the returned pointer (borrowed, not NUL-terminated). */
const uint8_t *tr_fuzz_field(tr_fuzz_in *in, uint8_t sep, size_t *len);

/* A malloc'd copy of p[0..len) with a NUL after it: exactly len + 1 bytes, so
 * AddressSanitizer sees any read past the string. Caller frees. Aborts when out of
 * memory (a fuzz run has nothing better to do). */
char *tr_fuzz_str(const void *p, size_t len);

/* A malloc'd copy of p[0..len) with nothing after it (at least 1 byte allocated), so
 * AddressSanitizer sees a read even one byte past the input. Caller frees. Aborts when
 * out of memory. */
char *tr_fuzz_bytes(const void *p, size_t len);

/* The next field (tr_fuzz_field) as a tr_fuzz_str. Caller frees. */
char *tr_fuzz_field_str(tr_fuzz_in *in, uint8_t sep);

/* Invariants more than one target checks. Each aborts (TR_FUZZ_CHECK) on failure. */
struct tr_timer_spec;
struct tr_rest_create;
struct json_object;

/* POST /v1/timers's parse of a fixed timer (url http://app/hook, data "", delay_ms
 * 0) with `value` as its field `name` (takes its own reference to value). 1 with *out
 * filled (caller clears it with tr_rest_create_clear), or 0 with msg saying why. */
int tr_fuzz_parse_create_with(const char *name, struct json_object *value,
                              struct tr_rest_create *out, char *msg, size_t msglen);

/* An accepted spec survives the Redis record: encode, decode, and every field comes
 * back equal (the data byte for byte); the record decodes to the same record again. */
void tr_fuzz_check_record_round_trip(const struct tr_timer_spec *spec);

/* Headers the API accepted (a JSON object text) are all sent by the scheduler:
 * tr_headers_merge() skips none, and every line it makes is "Name: value" or
 * "Name;" with no CR, LF or NUL. */
void tr_fuzz_check_headers_sent(const char *headers_json);

#endif
