/* fuzz_list_query.c - the query string of GET /v1/timers (tr_rest_parse_list_query:
 * state, limit, cursor, percent-decoding) and the cursor's round trip.
 *
 * Input: 1 byte of mode. Even: the rest is a raw query string. Odd: a cursor as the
 * list handler writes it (fcgi/tr_rest_timers.c: "<score>:<key>" of the last timer
 * shown): 8 bytes of score, 2 of limit, 8 bytes choosing which characters to
 * percent-encode (and in which case), then the key.
 * Checks: an accepted query names only state, limit and cursor, has a limit in
 * 1..TR_REST_LIST_MAX and a cursor key that tr_timer_key_check accepts; a cursor we
 * wrote, percent-encoded any way a client may, parses back to the same score and
 * key.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tr_fuzz.h"
#include "tr_rest_parse.h"
#include "tr_timer.h"

static void raw_query(tr_fuzz_in *in)
{
    char *q = tr_fuzz_str(in->p, in->left);
    tr_rest_list_query lq;
    char msg[256];
    msg[0] = '\0';
    if (tr_rest_parse_list_query(q, &lq, msg, sizeof msg) != 0) {
        TR_FUZZ_CHECK(msg[0] != '\0', "refused without a reason");
        free(q);
        return;
    }
    TR_FUZZ_CHECK(lq.limit >= 1 && lq.limit <= TR_REST_LIST_MAX, "limit %zu", lq.limit);
    TR_FUZZ_CHECK(lq.dead == 0 || lq.dead == 1, "dead %d", lq.dead);
    if (lq.has_cursor)
        TR_FUZZ_CHECK(lq.after_score >= 0 && tr_timer_key_check(lq.after_key) == 0,
                      "cursor %lld:%s", (long long)lq.after_score, lq.after_key);
    for (const char *p = q; *p != '\0';) {
        size_t n = strcspn(p, "&"), name = strcspn(p, "=");
        TR_FUZZ_CHECK(name < n, "accepted a parameter without '='");
        TR_FUZZ_CHECK((name == 5 && (strncmp(p, "state", 5) == 0 || strncmp(p, "limit", 5) == 0)) ||
                          (name == 6 && strncmp(p, "cursor", 6) == 0),
                      "accepted parameter '%.*s'", (int)name, p);
        p += n;
        if (*p == '&')
            p++;
    }
    free(q);
}

static void cursor_round_trip(tr_fuzz_in *in)
{
    int64_t score = (int64_t)(tr_fuzz_u64(in) & (uint64_t)INT64_MAX);
    size_t limit = 1 + (tr_fuzz_u8(in) | (size_t)tr_fuzz_u8(in) << 8) % TR_REST_LIST_MAX;
    uint64_t enc = tr_fuzz_u64(in);
    char *key = tr_fuzz_str(in->p, in->left);
    if (tr_timer_key_check(key) != 0) {
        free(key);
        return;
    }
    char cur[TR_KEY_MAX + 32];
    snprintf(cur, sizeof cur, "%lld:%s", (long long)score, key); /* as tr_rest_list writes it */
    char q[64 + 3 * sizeof cur];
    int n = snprintf(q, sizeof q, "limit=%zu&state=%s&cursor=", limit, enc & 1 ? "dead" : "pending");
    TR_FUZZ_CHECK(n > 0 && (size_t)n < sizeof q, "query too long");
    size_t o = (size_t)n;
    for (size_t i = 0; cur[i] != '\0'; i++) {
        uint64_t bit = enc >> (1 + i % 62);
        if (bit & 1)
            o += (size_t)snprintf(q + o, sizeof q - o, (bit & 2) ? "%%%02X" : "%%%02x",
                                  (unsigned char)cur[i]);
        else
            q[o++] = cur[i];
    }
    q[o] = '\0';
    tr_rest_list_query lq;
    char msg[256];
    TR_FUZZ_CHECK(tr_rest_parse_list_query(q, &lq, msg, sizeof msg) == 0, "'%s' refused: %s", q, msg);
    TR_FUZZ_CHECK(lq.has_cursor && lq.after_score == score && strcmp(lq.after_key, key) == 0 &&
                      lq.limit == limit && lq.dead == (int)(enc & 1),
                  "'%s' read back as %lld:%s", q, (long long)lq.after_score, lq.after_key);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    if (tr_fuzz_u8(&in) & 1)
        cursor_round_trip(&in);
    else
        raw_query(&in);
    return 0;
}
