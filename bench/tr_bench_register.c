/* tr_bench_register.c - registers N timers as fast as the service takes them, and
 * records when each was sent and answered.
 *
 * Two APIs:
 *   default  POST BASE/register/ {"callback_cmd":..,"seconds":S,"callback_data":".."}
 *            (the original's protocol), answer {"ret":0,"data":{"key":..}}
 *   --rest   POST BASE/v1/timers {"url":..,"data":{..},"delay_ms":N}, answer 201
 *            {"timer":{"key":..}} (docs/API.md)
 *
 * libcurl multi, C transfers in flight (each easy handle is reused for the next
 * timer, so connections are kept alive). With /register/, seconds are whole numbers
 * drawn uniformly from [lo, hi], like the original's benchmark. With --rest the delay
 * is in ms: drawn from [--lo-ms, --hi-ms], or lo..hi seconds x 1000 when those are not
 * given. With --due-at-us T every timer instead gets the delay to T at the moment it
 * is sent (rounded to whole seconds for /register/, to ms for --rest), so all are due
 * together however long registration takes (the burst scenario).
 *
 * The data is {"id":<n>,"p":"xxx..."} padded to --pad bytes (a JSON string for
 * /register/, an object for --rest: the callback body is the same bytes), so the
 * receiver's log can be joined to this driver's TSV by id as well as by key.
 *
 * Output (--out): one TSV line per timer, written at the end:
 *   id seconds t_sent_us t_answered_us http_status ret key delay_ms
 * delay_ms is the delay asked for (seconds x 1000 for /register/); ret is the answer's
 * "ret" for /register/, and for --rest 0 when a 2xx came with a key, else -1.
 * t_sent_us is stamped by CURLOPT_PREREQFUNCTION, just before the request goes out;
 * both are wall-clock microseconds (CLOCK_REALTIME), comparable with the sink's t_us.
 * A one-line summary goes to stderr. Exit 0 when every timer was registered.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TR_BENCH_RESP_MAX 2048 /* the key comes first; a longer answer is kept cut */

/* One registered (or failed) timer. */
typedef struct tr_bench_rec {
    int64_t seconds;       /* /register/: as sent; --rest: delay_ms / 1000 (truncated) */
    int64_t delay_ms;      /* the delay asked for, ms */
    int64_t t_sent_us;     /* wall clock, µs */
    int64_t t_answered_us; /* wall clock, µs; 0 when no answer */
    int status;            /* HTTP status, 0 on transport error */
    int ret;               /* "ret" of the answer, -1 when none could be read */
    char key[40];          /* UUID text, NUL-terminated; empty when none */
} tr_bench_rec;

/* One transfer slot: an easy handle reused for timer after timer. */
typedef struct tr_bench_slot {
    CURL *easy;
    size_t idx;          /* timer being registered */
    char *body;          /* request body, owned */
    size_t body_cap;
    char resp[TR_BENCH_RESP_MAX + 1];
    size_t resp_len;
    struct tr_bench *bench;
} tr_bench_slot;

typedef struct tr_bench {
    const char *url;      /* BASE/register/ or BASE/v1/timers */
    const char *callback; /* callback_cmd / url */
    int rest;             /* 1: POST /v1/timers with delay_ms */
    size_t n;
    int64_t lo_s, hi_s;
    int64_t lo_ms, hi_ms; /* --rest: delay_ms range; -1 when not given */
    int64_t due_at_us;    /* 0: uniform seconds */
    size_t pad;
    uint64_t rng;
    tr_bench_rec *recs;   /* n records, owned */
    size_t next;          /* next timer to start */
    struct curl_slist *headers;
} tr_bench;

static int64_t tr_bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: reproducible with --seed, no shared state with libc's rand(). */
static uint64_t tr_bench_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int tr_bench_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static size_t tr_bench_on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    tr_bench_slot *slot = userdata;
    size_t len = size * nmemb;
    size_t room = TR_BENCH_RESP_MAX - slot->resp_len;
    size_t take = len < room ? len : room;
    memcpy(slot->resp + slot->resp_len, ptr, take);
    slot->resp_len += take;
    slot->resp[slot->resp_len] = '\0';
    return len;
}

/* Stamps t_sent_us when the connection is ready and the request is about to go. */
static int tr_bench_on_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                              int conn_primary_port, int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    tr_bench_slot *slot = clientp;
    slot->bench->recs[slot->idx].t_sent_us = tr_bench_now_us();
    return CURL_PREREQFUNC_OK;
}

/* Makes room for need bytes in slot->body. 0 or -1. */
static int tr_bench_reserve(tr_bench_slot *slot, size_t need)
{
    if (need <= slot->body_cap)
        return 0;
    char *nb = realloc(slot->body, need);
    if (nb == NULL)
        return -1;
    slot->body = nb;
    slot->body_cap = need;
    return 0;
}

/* Builds the --rest body {"url":..,"data":{"id":N,"p":"xx"},"delay_ms":N} for timer
 * idx into slot->body. The data object is the same bytes the /register/ mode sends as
 * callback_data, so the sink's log reads alike. 0 or -1. */
static int tr_bench_build_rest_body(tr_bench *b, tr_bench_slot *slot, size_t idx,
                                    int64_t delay_ms)
{
    char head[64];
    int hl = snprintf(head, sizeof(head), "{\"id\":%zu,\"p\":\"", idx);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        return -1;
    size_t inner = (size_t)hl + 2; /* plus closing "} */
    size_t fill = b->pad > inner ? b->pad - inner : 0;
    if (tr_bench_reserve(slot, strlen(b->callback) + fill + 256) != 0)
        return -1;
    int n = snprintf(slot->body, slot->body_cap, "{\"url\":\"%s\",\"data\":%s", b->callback,
                     head);
    if (n < 0 || (size_t)n + fill + 64 > slot->body_cap)
        return -1;
    size_t len = (size_t)n;
    memset(slot->body + len, 'x', fill);
    len += fill;
    int m = snprintf(slot->body + len, slot->body_cap - len, "\"},\"delay_ms\":%" PRId64 "}",
                     delay_ms);
    if (m < 0 || (size_t)m >= slot->body_cap - len)
        return -1;
    len += (size_t)m;
    curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDS, slot->body);
    return 0;
}

/* Builds the /register/ body for timer idx into slot->body. 0 or -1. */
static int tr_bench_build_body(tr_bench *b, tr_bench_slot *slot, size_t idx, int64_t seconds)
{
    /* callback_data before escaping: {"id":N,"p":"xxx"}; pad fills it to b->pad. */
    char head[64];
    int hl = snprintf(head, sizeof(head), "{\"id\":%zu,\"p\":\"", idx);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        return -1;
    size_t inner = (size_t)hl + 2; /* plus closing "} */
    size_t fill = b->pad > inner ? b->pad - inner : 0;
    if (tr_bench_reserve(slot, strlen(b->callback) + fill + 256) != 0)
        return -1;
    /* The data is a JSON string inside the JSON body: its quotes are escaped. */
    int n = snprintf(slot->body, slot->body_cap,
                     "{\"callback_cmd\":\"%s\",\"seconds\":%" PRId64
                     ",\"callback_data\":\"{\\\"id\\\":%zu,\\\"p\\\":\\\"",
                     b->callback, seconds, idx);
    if (n < 0 || (size_t)n + fill + 16 > slot->body_cap)
        return -1;
    size_t len = (size_t)n;
    memset(slot->body + len, 'x', fill);
    len += fill;
    memcpy(slot->body + len, "\\\"}\"}", 6); /* \"}"} and the NUL */
    len += 5;
    curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDS, slot->body);
    return 0;
}

/* The delay of the next timer, ms: whole seconds for /register/ (its protocol has
 * no finer unit), ms for --rest. */
static int64_t tr_bench_pick_delay_ms(tr_bench *b)
{
    if (b->due_at_us > 0) {
        int64_t left_us = b->due_at_us - tr_bench_now_us();
        if (b->rest)
            return left_us < 1000 ? 1 : (left_us + 500) / 1000;
        int64_t s = (left_us + 500000) / 1000000;
        return (s < 1 ? 1 : s) * 1000;
    }
    if (b->rest && b->lo_ms >= 0) {
        uint64_t span = (uint64_t)(b->hi_ms - b->lo_ms + 1);
        return b->lo_ms + (int64_t)(tr_bench_rand(&b->rng) % span);
    }
    uint64_t span = (uint64_t)(b->hi_s - b->lo_s + 1);
    return (b->lo_s + (int64_t)(tr_bench_rand(&b->rng) % span)) * 1000;
}

/* Starts the next timer on slot. 1 when started, 0 when none left, -1 on error. */
static int tr_bench_start(tr_bench *b, CURLM *multi, tr_bench_slot *slot)
{
    if (b->next >= b->n)
        return 0;
    size_t idx = b->next++;
    tr_bench_rec *r = &b->recs[idx];
    r->delay_ms = tr_bench_pick_delay_ms(b);
    r->seconds = r->delay_ms / 1000;
    r->ret = -1;
    slot->idx = idx;
    slot->resp_len = 0;
    slot->resp[0] = '\0';
    int built = b->rest ? tr_bench_build_rest_body(b, slot, idx, r->delay_ms)
                        : tr_bench_build_body(b, slot, idx, r->seconds);
    if (built != 0)
        return -1;
    r->t_sent_us = tr_bench_now_us(); /* replaced by the prereq callback */
    if (curl_multi_add_handle(multi, slot->easy) != CURLM_OK)
        return -1;
    return 1;
}

/* Returns the value after `"name"` and a colon (spaces allowed: json-c's default
 * output is spaced), or NULL. A plain scan: the driver must not cost more than what
 * it measures. */
static const char *tr_bench_find_value(const char *resp, const char *quoted_name)
{
    const char *p = strstr(resp, quoted_name);
    if (p == NULL)
        return NULL;
    p += strlen(quoted_name);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Reads "ret" and "key" from an answer like {"ret":0,"data":{"key":"..."}}, or
 * (rest) the key from {"timer":{"key":"..",..}}: there ret is 0 for a 2xx with a key. */
static void tr_bench_read_answer(const char *resp, int rest, tr_bench_rec *r)
{
    const char *p = rest ? NULL : tr_bench_find_value(resp, "\"ret\"");
    if (p != NULL) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end != p && v >= INT_MIN && v <= INT_MAX)
            r->ret = (int)v;
    }
    const char *k = tr_bench_find_value(resp, "\"key\"");
    if (k != NULL && *k == '"') {
        k++;
        size_t i = 0;
        while (k[i] != '\0' && k[i] != '"' && i < sizeof(r->key) - 1) {
            r->key[i] = k[i];
            i++;
        }
        r->key[i] = '\0';
    }
    if (rest)
        r->ret = r->status >= 200 && r->status < 300 && r->key[0] != '\0' ? 0 : -1;
}

static int tr_bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void tr_bench_usage(FILE *out)
{
    fprintf(out,
            "usage: tr_bench_register --url BASE --callback URL -n N --out FILE\n"
            "         [--rest] [--lo S] [--hi S] [--lo-ms MS --hi-ms MS] [-c CONC]\n"
            "         [--pad BYTES] [--due-at-us T] [--seed X]\n"
            "  --url BASE        TimeRush base URL, e.g. http://127.0.0.1:8080\n"
            "  --callback URL    callback URL of every timer (the receiver)\n"
            "  --rest            POST /v1/timers with delay_ms (default: POST /register/)\n"
            "  -n N              timers to register (default 100)\n"
            "  --lo S --hi S     seconds drawn uniformly from [lo, hi] (default 1..60)\n"
            "  --lo-ms --hi-ms   with --rest: delay_ms drawn uniformly from [lo-ms, hi-ms]\n"
            "  -c CONC           requests in flight (default 200)\n"
            "  --pad BYTES       size of the data before escaping (default 0: minimal)\n"
            "  --due-at-us T     burst: every timer due at wall clock T (µs), delay rounded\n"
            "  --seed X          random seed (default 1)\n"
            "  --out FILE        TSV: id seconds t_sent_us t_answered_us status ret key "
            "delay_ms\n");
}

int main(int argc, char **argv)
{
    tr_bench b;
    memset(&b, 0, sizeof(b));
    b.n = 100;
    b.lo_s = 1;
    b.hi_s = 60;
    b.lo_ms = -1;
    b.hi_ms = -1;
    b.rng = 1;
    int64_t conc = 200;
    const char *base = NULL, *out_path = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t x = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            tr_bench_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--rest") == 0) {
            b.rest = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "tr_bench_register: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            base = v;
        } else if (strcmp(a, "--callback") == 0) {
            b.callback = v;
        } else if (strcmp(a, "--out") == 0) {
            out_path = v;
        } else if (strcmp(a, "-n") == 0 && tr_bench_parse_i64(v, 1, 100000000, &x) == 0) {
            b.n = (size_t)x;
        } else if (strcmp(a, "--lo") == 0 && tr_bench_parse_i64(v, 1, INT32_MAX, &x) == 0) {
            b.lo_s = x;
        } else if (strcmp(a, "--hi") == 0 && tr_bench_parse_i64(v, 1, INT32_MAX, &x) == 0) {
            b.hi_s = x;
        } else if (strcmp(a, "--lo-ms") == 0 &&
                   tr_bench_parse_i64(v, 0, INT32_MAX, &x) == 0) {
            b.lo_ms = x;
        } else if (strcmp(a, "--hi-ms") == 0 &&
                   tr_bench_parse_i64(v, 0, INT32_MAX, &x) == 0) {
            b.hi_ms = x;
        } else if (strcmp(a, "-c") == 0 && tr_bench_parse_i64(v, 1, 10000, &x) == 0) {
            conc = x;
        } else if (strcmp(a, "--pad") == 0 && tr_bench_parse_i64(v, 0, 1 << 20, &x) == 0) {
            b.pad = (size_t)x;
        } else if (strcmp(a, "--due-at-us") == 0 &&
                   tr_bench_parse_i64(v, 1, INT64_MAX, &x) == 0) {
            b.due_at_us = x;
        } else if (strcmp(a, "--seed") == 0 && tr_bench_parse_i64(v, 1, INT64_MAX, &x) == 0) {
            b.rng = (uint64_t)x;
        } else {
            fprintf(stderr, "tr_bench_register: bad option or value: %s %s\n", a, v);
            tr_bench_usage(stderr);
            return 2;
        }
    }
    /* The ms range goes with --rest and needs both ends. */
    int ms_bad = (b.lo_ms >= 0) != (b.hi_ms >= 0) || b.lo_ms > b.hi_ms ||
                 (b.lo_ms >= 0 && !b.rest);
    if (base == NULL || b.callback == NULL || out_path == NULL || b.lo_s > b.hi_s || ms_bad) {
        tr_bench_usage(stderr);
        return 2;
    }
    if ((size_t)conc > b.n)
        conc = (int64_t)b.n;

    int rc = 1;
    char url[1024];
    CURLM *multi = NULL;
    tr_bench_slot *slots = NULL;
    FILE *out = NULL;
    int n = snprintf(url, sizeof(url), "%s%s", base, b.rest ? "/v1/timers" : "/register/");
    if (n < 0 || (size_t)n >= sizeof(url)) {
        fprintf(stderr, "tr_bench_register: --url too long\n");
        return 2;
    }
    b.url = url;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "tr_bench_register: curl_global_init failed\n");
        return 1;
    }
    b.recs = calloc(b.n, sizeof(*b.recs));
    slots = calloc((size_t)conc, sizeof(*slots));
    multi = curl_multi_init();
    b.headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (b.headers != NULL)
        b.headers = curl_slist_append(b.headers, "Expect:");
    if (b.recs == NULL || slots == NULL || multi == NULL || b.headers == NULL) {
        fprintf(stderr, "tr_bench_register: out of memory\n");
        goto done;
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conc);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);

    for (int64_t i = 0; i < conc; i++) {
        tr_bench_slot *s = &slots[i];
        s->bench = &b;
        s->easy = curl_easy_init();
        if (s->easy == NULL) {
            fprintf(stderr, "tr_bench_register: curl_easy_init failed\n");
            goto done;
        }
        if (curl_easy_setopt(s->easy, CURLOPT_URL, b.url) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, b.headers) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, tr_bench_on_write) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_PREREQFUNCTION, tr_bench_on_prereq) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_PREREQDATA, s) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 30000L) != CURLE_OK ||
            curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK) {
            fprintf(stderr, "tr_bench_register: curl_easy_setopt failed\n");
            goto done;
        }
        if (tr_bench_start(&b, multi, s) < 0) {
            fprintf(stderr, "tr_bench_register: cannot start a request\n");
            goto done;
        }
    }

    int64_t t0 = tr_bench_now_us();
    size_t finished = 0, ok = 0;
    int running = 1;
    while (finished < b.n) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            fprintf(stderr, "tr_bench_register: curl_multi_perform failed\n");
            goto done;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            tr_bench_slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode res = msg->data.result;
            tr_bench_rec *r = &b.recs[s->idx];
            r->t_answered_us = tr_bench_now_us();
            long status = 0;
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
            r->status = (int)status;
            if (res == CURLE_OK)
                tr_bench_read_answer(s->resp, b.rest, r);
            else
                fprintf(stderr, "tr_bench_register: timer %zu: %s\n", s->idx,
                        curl_easy_strerror(res));
            if (r->ret == 0 && r->key[0] != '\0')
                ok++;
            finished++;
            curl_multi_remove_handle(multi, s->easy);
            if (tr_bench_start(&b, multi, s) < 0) {
                fprintf(stderr, "tr_bench_register: cannot start a request\n");
                goto done;
            }
        }
        if (finished < b.n && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) {
            fprintf(stderr, "tr_bench_register: curl_multi_poll failed\n");
            goto done;
        }
    }
    int64_t t1 = tr_bench_now_us();

    out = fopen(out_path, "w");
    if (out == NULL) {
        fprintf(stderr, "tr_bench_register: %s: %s\n", out_path, strerror(errno));
        goto done;
    }
    fputs("id\tseconds\tt_sent_us\tt_answered_us\tstatus\tret\tkey\tdelay_ms\n", out);
    int64_t *lat = malloc(b.n * sizeof(*lat));
    for (size_t i = 0; i < b.n; i++) {
        const tr_bench_rec *r = &b.recs[i];
        fprintf(out, "%zu\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%d\t%d\t%s\t%" PRId64 "\n", i,
                r->seconds, r->t_sent_us, r->t_answered_us, r->status, r->ret,
                r->key[0] ? r->key : "-", r->delay_ms);
        if (lat != NULL)
            lat[i] = r->t_answered_us - r->t_sent_us;
    }
    if (fclose(out) != 0) {
        out = NULL;
        fprintf(stderr, "tr_bench_register: %s: %s\n", out_path, strerror(errno));
        free(lat);
        goto done;
    }
    out = NULL;
    double secs = (double)(t1 - t0) / 1e6;
    if (lat != NULL) {
        qsort(lat, b.n, sizeof(*lat), tr_bench_cmp_i64);
        fprintf(stderr,
                "registered %zu/%zu in %.3f s: %.0f/s; answer latency ms p50 %.2f p99 %.2f "
                "max %.2f\n",
                ok, b.n, secs, secs > 0 ? (double)b.n / secs : 0.0,
                (double)lat[b.n / 2] / 1000.0, (double)lat[(b.n * 99) / 100] / 1000.0,
                (double)lat[b.n - 1] / 1000.0);
        free(lat);
    }
    rc = ok == b.n ? 0 : 1;

done:
    if (out != NULL)
        fclose(out);
    if (slots != NULL) {
        for (int64_t i = 0; i < conc; i++) {
            if (slots[i].easy != NULL) {
                curl_multi_remove_handle(multi, slots[i].easy);
                curl_easy_cleanup(slots[i].easy);
            }
            free(slots[i].body);
        }
        free(slots);
    }
    if (multi != NULL)
        curl_multi_cleanup(multi);
    curl_slist_free_all(b.headers);
    free(b.recs);
    curl_global_cleanup();
    return rc;
}
