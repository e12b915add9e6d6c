/* tr_timer.h - a timer: its key, what to deliver where, and its stored record.
 *
 * A timer's record is the compact JSON stored in the Redis hash {P}:timers:
 *   {"u":"<callback url>","d":"<body to POST>"}
 * REST API timers add short keys only when set: "h" headers object, "r"
 * {"n":max_attempts,"lo":min_backoff_ms,"hi":max_backoff_ms}, "t" timeout_ms,
 * "f" failure_url, "e" every_ms, "c" cron, "un" until_ms, "cn" count, "cl"
 * chain_limit, "fd" fired.
 * Decoders ignore keys they do not know. The due time is not in the record:
 * it is the timer's score in {P}:due, computed by the scripts from Redis TIME.
 */
#ifndef TR_TIMER_H
#define TR_TIMER_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_error.h"

#define TR_KEY_LEN 16   /* a generated key: 96 random bits, 16 characters */
#define TR_KEY_MAX 128  /* longest key accepted from a client (unregister, REST) */
#define TR_CHAIN_LIMIT_MAX 1000 /* largest chain_limit a client may give */

/* Writes a new random key and a NUL into out[TR_KEY_LEN + 1]: 16 characters of
 * [A-Za-z0-9_.] (base64 with '_' and '.') from OpenSSL's RAND_bytes: 3 that a run
 * of keys made by one thread shares (they name the record's bucket in the store,
 * shared/lua/prelude.lua) and 13 of its own (78 random bits). Keys are opaque: the
 * 36-character UUIDs earlier versions generated stay valid. Thread-safe. Returns 0,
 * or -1 when the random source fails. */
int tr_timer_new_key(char out[TR_KEY_LEN + 1]);

/* Returns 0 when `key` is acceptable from a client: 1..TR_KEY_MAX bytes of
 * [A-Za-z0-9._:-], other than "." and ".." (path segments in /v1/ URLs); -1
 * otherwise. */
int tr_timer_key_check(const char *key);

/* Per-timer delivery policy (REST API). 0 means "the scheduler's option". */
typedef struct tr_timer_policy {
    int max_attempts;        /* deliveries before the dead-letter set; 0: --max-attempts */
    int64_t min_backoff_ms;  /* 0: --backoff-min-ms */
    int64_t max_backoff_ms;  /* 0: --backoff-max-ms */
    int64_t timeout_ms;      /* whole delivery; 0: --timeout-ms */
} tr_timer_policy;

/* A recurring timer's schedule (REST API). every_ms == 0 and cron == NULL: one-shot. */
typedef struct tr_timer_schedule {
    int64_t every_ms;   /* > 0: a firing every every_ms, counted from the first due time */
    char *cron;         /* or a 5-field cron expression, UTC (tr_cron.h); NUL-terminated */
    int64_t until_ms;   /* 0: no end; else no firing after this epoch ms */
    int64_t count;      /* 0: unlimited; else the total number of firings */
    int64_t fired;      /* firings done so far (kept in the record) */
} tr_timer_schedule;

/* What to deliver where. Owns its strings; clear with tr_timer_spec_clear(). */
typedef struct tr_timer_spec {
    char *url;          /* callback URL, absolute http(s), NUL-terminated */
    char *data;         /* body to POST: data_len bytes, then a NUL (may hold NULs) */
    size_t data_len;
    int64_t delay_ms;   /* compat /register/: ms from the moment Redis stores it (> 0);
                         * unused by the REST API (tr_rest_when) and by decoding */
    /* REST API extensions; all zero/NULL for a compat timer (and then not encoded). */
    char *headers_json; /* JSON object text {"Name":"value",...}: extra callback headers */
    tr_timer_policy policy;
    char *failure_url;  /* notified once when the timer moves to the dead-letter set */
    tr_timer_schedule schedule;
    /* Chaining (compat and REST "chain_limit"): how many more generations of chained
     * timers this timer's answers may create. has_chain_limit 0: no limit (the
     * default); else chain_limit 0..TR_CHAIN_LIMIT_MAX, 0 refusing any chain. A chained
     * timer inherits parent - 1, or its own smaller limit (docs/SECURITY.md). */
    int has_chain_limit;
    int64_t chain_limit;
} tr_timer_spec;

/* Frees the strings and zeroes the spec. Safe on a zeroed spec. */
void tr_timer_spec_clear(tr_timer_spec *spec);

/* Reads the compatible register object {"callback_cmd","callback_data","seconds"}:
 * callback_data as tr_json_read_data() reads it (a string sent byte for byte, or
 * an object/array sent in its compact JSON form); seconds a whole number 1 ..
 * max_delay_s: a JSON integer, a number without a fraction (5.0, 1e3), or a string
 * holding a decimal integer (docs/PROTOCOL.md). An optional "chain_limit" (an
 * integer 0..TR_CHAIN_LIMIT_MAX, or a string holding one) sets has_chain_limit. On TR_RET_OK fills *out (caller
 * clears it); otherwise *out is left zeroed and msg names the field and what is
 * wrong. */
tr_ret tr_timer_spec_from_compat(json_object *obj, int64_t max_delay_s, tr_timer_spec *out,
                                 char *msg, size_t msglen);

/* Parses a whole /register/ body (len bytes, need not be NUL-terminated) with
 * json-c's tokener and calls tr_timer_spec_from_compat(). TR_RET_BAD_JSON when it
 * is not one JSON object (trailing bytes included). */
tr_ret tr_timer_spec_parse_compat(const char *body, size_t len, int64_t max_delay_s,
                                  tr_timer_spec *out, char *msg, size_t msglen);

/* 1 when spec has nothing beyond url and data (a compat timer, or a one-shot REST
 * timer without headers, policy or failure URL): its record is {"u":..,"d":..}
 * and its timer object has a fixed shape. Else 0. */
int tr_timer_spec_plain(const tr_timer_spec *spec);

/* Encodes the record of `spec` into *out (malloc'd, NUL-terminated, *out_len bytes
 * without the NUL; caller frees). Returns 0 or -1 (out of memory). */
int tr_timer_record_encode(const tr_timer_spec *spec, char **out, size_t *out_len);

/* The names under which tr_timer_policy_add() writes a spec's per-timer policy:
 * the record's short keys (tr_timer_record_names) or the API's timer object's
 * (fcgi/tr_rest_view.c). */
typedef struct tr_timer_names {
    const char *headers;
    const char *retry;
    const char *retry_keys[3]; /* max_attempts, min_backoff_ms, max_backoff_ms */
    const char *timeout;
    const char *failure_url;
} tr_timer_names;

extern const tr_timer_names tr_timer_record_names; /* "h", "r" {"n","lo","hi"}, "t", "f" */

/* Adds to obj, in this order and each only when set: the headers object, the
 * retry object (each of its three keys only when > 0), the timeout, the failure
 * URL. 0, or -1 when out of memory or headers_json is not a JSON object. */
int tr_timer_policy_add(json_object *obj, const tr_timer_spec *spec, const tr_timer_names *names);

/* Decodes a record into *out (delay_ms set to 0; caller clears it). Returns 0, or
 * -1 when the record is not valid. */
int tr_timer_record_decode(const char *rec, size_t len, tr_timer_spec *out);

#endif
