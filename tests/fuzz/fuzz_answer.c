/* fuzz_answer.c - a callback's answer as the scheduler reads it: header lines through
 * the transfer's header callback (tr_deliver_on_header: Retry-After), the body
 * through its write callback in chunks (tr_deliver_on_body: the --max-response cap),
 * then what the answer means (tr_answer_parse: done, chain or retry) and the
 * Retry-After value (tr_backoff_parse_retry_after).
 *
 * Input: 2 bytes of HTTP status, 2 of body cap, 1 of chunk size, then header lines
 * ('\n'-separated, each handed over with CR LF as curl does) up to an empty line,
 * then the body.
 * Checks: the kept body is exactly the first min(len, cap) bytes, NUL-terminated, the
 * rest counted as dropped; the kept Retry-After is the last one after the last status
 * line, blanks stripped, cut to fit; a status outside 2xx is a retry; a chain is a
 * valid compat timer (URL, delay 1..max) that survives the record round trip; no
 * chain leaves *chain empty.
 */
#include <string.h>
#include <strings.h>

#include "tr_answer.h"
#include "tr_backoff.h"
#include "tr_deliver.h"
#include "tr_fuzz.h"
#include "tr_url.h"

#define MAX_S INT64_C(315360000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    long status = (long)((tr_fuzz_u8(&in) | tr_fuzz_u8(&in) << 8) % 700);
    size_t cap = (size_t)(tr_fuzz_u8(&in) | tr_fuzz_u8(&in) << 8);
    size_t chunk = 1 + tr_fuzz_u8(&in);
    tr_xfer x;
    memset(&x, 0, sizeof x);
    x.max_body = cap;

    /* Headers, as curl hands them over: one line each, CR LF included. */
    char want_ra[sizeof x.retry_after] = "";
    for (;;) {
        size_t n = 0;
        const uint8_t *line = tr_fuzz_field(&in, '\n', &n);
        if (n == 0)
            break;
        char *l = malloc(n + 2);
        TR_FUZZ_CHECK(l != NULL, "out of memory");
        memcpy(l, line, n);
        memcpy(l + n, "\r\n", 2);
        TR_FUZZ_CHECK(tr_deliver_on_header(l, 1, n + 2, &x) == n + 2, "header line refused");
        /* The oracle. */
        if (n + 2 >= 5 && memcmp(l, "HTTP/", 5) == 0) {
            want_ra[0] = '\0';
        } else if (n + 2 > 12 && strncasecmp(l, "Retry-After:", 12) == 0) {
            size_t a = 12, b = n + 2;
            while (a < b && (l[a] == ' ' || l[a] == '\t'))
                a++;
            while (b > a && (l[b - 1] == '\r' || l[b - 1] == '\n' || l[b - 1] == ' '))
                b--;
            size_t k = b - a < sizeof want_ra - 1 ? b - a : sizeof want_ra - 1;
            memcpy(want_ra, l + a, k);
            want_ra[k] = '\0';
        }
        free(l);
        TR_FUZZ_CHECK(memcmp(x.retry_after, want_ra, strlen(want_ra) + 1) == 0,
                      "Retry-After kept as '%s', want '%s'", x.retry_after, want_ra);
    }

    /* The body, in chunks. */
    const uint8_t *body = in.p;
    size_t total = in.left;
    for (size_t off = 0; off < total; off += chunk) {
        size_t n = total - off < chunk ? total - off : chunk;
        char *piece = tr_fuzz_str(body + off, n); /* exact size: ASan sees overreads */
        TR_FUZZ_CHECK(tr_deliver_on_body(piece, 1, n, &x) == n, "body chunk refused");
        free(piece);
    }
    size_t kept = total < cap ? total : cap;
    TR_FUZZ_CHECK(x.body_len == kept && x.body_dropped == total - kept,
                  "kept %zu dropped %zu of %zu (cap %zu)", x.body_len, x.body_dropped, total, cap);
    if (kept > 0)
        TR_FUZZ_CHECK(x.body[kept] == '\0' && memcmp(x.body, body, kept) == 0 &&
                          x.body_cap <= cap + 1,
                      "kept body differs or overgrew (cap %zu, buffer %zu)", cap, x.body_cap);

    int64_t ra = -1;
    if (x.retry_after[0] != '\0' && tr_backoff_parse_retry_after(x.retry_after, 1795705200000, &ra) == 0)
        TR_FUZZ_CHECK(ra >= 0, "Retry-After %lld", (long long)ra);

    tr_timer_spec chain;
    char why[256];
    tr_answer_kind k = tr_answer_parse(status, x.body, x.body_len, MAX_S, &chain, why, sizeof why);
    if (status < 200 || status > 299)
        TR_FUZZ_CHECK(k == TR_ANSWER_RETRY && why[0] != '\0', "status %ld: kind %d", status, (int)k);
    if (k == TR_ANSWER_CHAIN) {
        char msg[256];
        TR_FUZZ_CHECK(chain.url != NULL &&
                          tr_url_check_target(chain.url, "u", msg, sizeof msg) == 0 &&
                          chain.data != NULL && chain.delay_ms >= 1000 &&
                          chain.delay_ms <= MAX_S * 1000 && chain.delay_ms % 1000 == 0,
                      "bad chain: delay %lld", (long long)chain.delay_ms);
        tr_fuzz_check_record_round_trip(&chain);
        tr_timer_spec_clear(&chain);
    } else {
        TR_FUZZ_CHECK(chain.url == NULL && chain.data == NULL, "no chain, but strings left");
        if (k == TR_ANSWER_RETRY)
            TR_FUZZ_CHECK(why[0] != '\0', "retry without a reason");
    }
    free(x.body);
    return 0;
}
