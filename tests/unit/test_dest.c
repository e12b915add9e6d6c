/* test_dest.c - destinations: keys, per-name and per-address limits, the queue and
 * its wait bound, the circuit breaker, hold delays. No network: transfers are
 * made by tr_deliver but never started; "connected" and "finished" are told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "tr_config.h"
#include "tr_dest.h"

#define LIMIT 3
#define FAILS 4
#define WAIT_MS 500
#define TIMEOUT_MS 10000

typedef struct fixture {
    tr_config cfg;
    tr_deliver *dl;
    tr_dests *t;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tr_config_defaults(&f->cfg);
    f->dl = tr_deliver_new(&f->cfg);
    assert_non_null(f->dl);
    f->t = tr_dests_new(LIMIT, FAILS, WAIT_MS, 100, TIMEOUT_MS, f->dl);
    assert_non_null(f->t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tr_dests_free(f->t);
    tr_deliver_free(f->dl);
    free(f);
    return 0;
}

static tr_dest *find(fixture *f, const char *url)
{
    char err[128];
    tr_dest *d = tr_dests_find(f->t, url, err, sizeof err);
    assert_non_null(d);
    return d;
}

static tr_xfer *xfer(fixture *f)
{
    tr_xfer *x = tr_deliver_xfer_get(f->dl);
    assert_non_null(x);
    return x;
}

/* Counts a new transfer to d as started at mono (the verdict must be START). */
static tr_xfer *start(fixture *f, tr_dest *d, int64_t mono)
{
    assert_int_equal(tr_dests_admit(f->t, d, mono), TR_DEST_START);
    tr_xfer *x = xfer(f);
    x->start_mono_ms = mono;
    tr_dests_started(f->t, d, x, mono);
    return x;
}

static void finish(fixture *f, tr_xfer *x, tr_dest_result r, int64_t mono)
{
    x->end_mono_ms = mono;
    tr_dests_finished(f->t, x, r, mono);
    tr_deliver_xfer_put(f->dl, x);
}

static void test_keys(void **state)
{
    fixture *f = *state;
    char err[128];
    tr_dest *a = find(f, "http://LocalHost/a");
    assert_string_equal(tr_dest_key(a), "http://localhost:80");
    assert_ptr_equal(find(f, "http://localhost:80/b?c=d"), a);
    assert_ptr_not_equal(find(f, "https://localhost/a"), a);
    assert_string_equal(tr_dest_key(find(f, "https://localhost/a")), "https://localhost:443");
    assert_ptr_not_equal(find(f, "http://localhost:8080/a"), a);
    assert_null(tr_dests_find(f->t, "no url at all", err, sizeof err));
    assert_non_null(strstr(err, "bad callback url"));
}

static void test_name_and_address_limits(void **state)
{
    fixture *f = *state;
    tr_dest *d = find(f, "http://one.test:8080/x");
    tr_xfer *first = start(f, d, 0);
    /* The address is not known yet: one at a time. */
    assert_int_equal(tr_dests_admit(f->t, d, 0), TR_DEST_QUEUE);
    tr_dests_connected(f->t, first, "127.0.0.1 8080");
    tr_xfer *x2 = start(f, d, 1);
    tr_xfer *x3 = start(f, d, 1);
    /* LIMIT in flight: the next ones queue, LIMIT of them, then they are held. */
    tr_xfer *q[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        assert_int_equal(tr_dests_admit(f->t, d, 2), TR_DEST_QUEUE);
        q[i] = xfer(f);
        tr_dests_enqueue(f->t, d, q[i], 2);
    }
    assert_int_equal(tr_dests_queued(f->t), LIMIT);
    assert_int_equal(tr_dests_admit(f->t, d, 2), TR_DEST_HOLD);

    /* An alias of the same address learns it with its first connection; then the
     * address's count holds it back although the name has nothing in flight. */
    tr_dest *alias = find(f, "http://127.0.0.1:8080/y");
    tr_xfer *a1 = start(f, alias, 3);
    tr_dests_connected(f->t, a1, "127.0.0.1 8080");
    assert_int_equal(tr_dests_admit(f->t, alias, 3), TR_DEST_QUEUE);

    /* Nothing can start yet; nothing has waited too long either. */
    tr_dest_verdict v;
    assert_null(tr_dests_pop(f->t, 10, 1, &v));
    assert_int_equal(tr_dests_next_expiry(f->t), 2 + WAIT_MS);
    /* Two finish: the address drops to LIMIT - 1, so one queued transfer starts. */
    finish(f, first, TR_DEST_ANSWERED, 20);
    finish(f, a1, TR_DEST_ANSWERED, 20);
    assert_null(tr_dests_pop(f->t, 20, 0, &v)); /* no global slot: nothing starts */
    tr_xfer *p = tr_dests_pop(f->t, 20, 1, &v);
    assert_ptr_equal(p, q[0]);
    assert_int_equal(v, TR_DEST_START);
    assert_ptr_equal(p->dest, d);
    tr_dests_started(f->t, d, p, 20);
    assert_null(tr_dests_pop(f->t, 20, 1, &v));
    /* The rest waits out its bound and is handed back to be held. */
    for (int i = 1; i < LIMIT; i++) {
        tr_xfer *h = tr_dests_pop(f->t, 2 + WAIT_MS, 1, &v);
        assert_ptr_equal(h, q[i]);
        assert_int_equal(v, TR_DEST_HOLD);
        tr_deliver_xfer_put(f->dl, h);
    }
    assert_int_equal(tr_dests_queued(f->t), 0);
    assert_int_equal(tr_dests_next_expiry(f->t), -1);
    finish(f, x2, TR_DEST_ANSWERED, 30);
    finish(f, x3, TR_DEST_ANSWERED, 30);
    finish(f, p, TR_DEST_ANSWERED, 30);
}

static void test_breaker(void **state)
{
    fixture *f = *state;
    tr_dest *d = find(f, "http://dead.test/x");
    tr_xfer *x = start(f, d, 0);
    tr_dests_connected(f->t, x, "10.0.0.1 80");
    finish(f, x, TR_DEST_UNREACHABLE, 100);
    /* An answer in between resets the count. */
    for (int i = 0; i < FAILS - 2; i++)
        finish(f, start(f, d, 100), TR_DEST_UNREACHABLE, 200);
    finish(f, start(f, d, 200), TR_DEST_ANSWERED, 210);
    for (int i = 0; i < FAILS - 1; i++)
        finish(f, start(f, d, 210), TR_DEST_UNREACHABLE, 300);
    assert_int_equal(tr_dests_open(f->t), 0);
    /* A queued transfer, then the FAILS-th failure in a row opens the breaker. */
    tr_xfer *last = start(f, d, 300);
    tr_xfer *busy[LIMIT - 1];
    for (int i = 0; i < LIMIT - 1; i++)
        busy[i] = start(f, d, 300);
    tr_xfer *q = xfer(f);
    assert_int_equal(tr_dests_admit(f->t, d, 300), TR_DEST_QUEUE);
    tr_dests_enqueue(f->t, d, q, 300);
    finish(f, last, TR_DEST_UNREACHABLE, 1000);
    assert_int_equal(tr_dests_open(f->t), 1);
    tr_dest_verdict v;
    assert_ptr_equal(tr_dests_pop(f->t, 1000, 1, &v), q);
    assert_int_equal(v, TR_DEST_HOLD);
    tr_deliver_xfer_put(f->dl, q);
    /* Open: everything is held until the probe time, spread over the back-off. */
    assert_int_equal(tr_dests_admit(f->t, d, 1000), TR_DEST_HOLD);
    int64_t lo = INT64_MAX, hi = 0;
    for (uint64_t r = 0; r < 5000; r += 7) {
        int64_t h = tr_dests_hold_ms(f->t, d, 1000, r * 2654435761u);
        lo = h < lo ? h : lo;
        hi = h > hi ? h : hi;
    }
    assert_true(lo >= TR_BREAKER_MIN_MS);
    assert_true(hi <= 2 * TR_BREAKER_MIN_MS);
    assert_true(hi > lo);
    /* The timeouts still in flight do not move the probe. */
    for (int i = 0; i < LIMIT - 1; i++)
        finish(f, busy[i], TR_DEST_UNREACHABLE, 1500);
    assert_int_equal(tr_dests_admit(f->t, d, 1000 + TR_BREAKER_MIN_MS - 1), TR_DEST_HOLD);
    /* Probe time: one goes, the others are held; it fails: the wait doubles. */
    tr_xfer *probe = start(f, d, 1000 + TR_BREAKER_MIN_MS);
    assert_int_equal(probe->probe, 1);
    assert_int_equal(tr_dests_admit(f->t, d, 1000 + TR_BREAKER_MIN_MS), TR_DEST_HOLD);
    /* While it runs, held timers stay away until it must have ended. */
    assert_int_equal(tr_dests_hold_ms(f->t, d, 2500, 0), 1000 + TR_BREAKER_MIN_MS + TIMEOUT_MS - 2500);
    finish(f, probe, TR_DEST_UNREACHABLE, 3000);
    assert_int_equal(tr_dests_admit(f->t, d, 3000 + 2 * TR_BREAKER_MIN_MS - 1), TR_DEST_HOLD);
    assert_int_equal(tr_dests_hold_ms(f->t, d, 3000, 0), 2 * TR_BREAKER_MIN_MS);
    /* The next probe is answered (any status): closed, the timers flow again. */
    probe = start(f, d, 3000 + 2 * TR_BREAKER_MIN_MS);
    finish(f, probe, TR_DEST_ANSWERED, 5100);
    assert_int_equal(tr_dests_open(f->t), 0);
    tr_xfer *y = start(f, d, 5100);
    tr_xfer *z = start(f, d, 5100);
    finish(f, y, TR_DEST_ANSWERED, 5200);
    finish(f, z, TR_DEST_ANSWERED, 5200);
}

static void test_breaker_off_and_busy_hold(void **state)
{
    fixture *f = *state;
    tr_dests *off = tr_dests_new(LIMIT, 0, WAIT_MS, 100, TIMEOUT_MS, f->dl);
    assert_non_null(off);
    char err[64];
    tr_dest *d = tr_dests_find(off, "http://x.test/", err, sizeof err);
    assert_non_null(d);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(tr_dests_admit(off, d, i), TR_DEST_START);
        tr_xfer *x = xfer(f);
        x->start_mono_ms = i;
        tr_dests_started(off, d, x, i);
        x->end_mono_ms = i + 2000;
        tr_dests_finished(off, x, TR_DEST_UNREACHABLE, i + 2000);
        tr_deliver_xfer_put(f->dl, x);
    }
    assert_int_equal(tr_dests_open(off), 0);
    /* Busy hold: about the recent delivery time (2 s here), with jitter up to twice. */
    assert_int_equal(tr_dests_hold_ms(off, d, 0, 0), 2000);
    assert_true(tr_dests_hold_ms(off, d, 0, UINT64_MAX) <= 4000);
    /* Reserved holds of one destination come back at least a millisecond apart. */
    int64_t prev = -1;
    for (int i = 0; i < 100; i++) {
        int64_t at = tr_dests_hold(off, d, 10, 0) + 10;
        assert_true(at >= 10 + 2000);
        if (prev >= 0)
            assert_true(at >= prev + 1);
        prev = at;
    }
    tr_dests_free(off);
}

/* A stalled destination (every slot busy, nothing finished lately) holds its timers
 * about as long as it has stalled: a healthy receiver's short pause costs them about
 * its own length, not the delivery timeout; a long stall holds them longer, never past
 * when its transfers must have ended. */
static void test_stalled_hold_grows(void **state)
{
    fixture *f = *state;
    tr_dests_free(f->t); /* a 30 s delivery timeout: room for a long stall */
    f->t = tr_dests_new(LIMIT, FAILS, WAIT_MS, 100, 30000, f->dl);
    assert_non_null(f->t);
    tr_dest *d = find(f, "http://pause.test/");
    tr_xfer *x = start(f, d, 0);
    tr_dests_connected(f->t, x, "10.0.0.4 80");
    finish(f, x, TR_DEST_ANSWERED, 30); /* 30 ms deliveries */
    tr_xfer *busy[LIMIT];
    for (int i = 0; i < LIMIT; i++)
        busy[i] = start(f, d, 1000);
    finish(f, busy[0], TR_DEST_ANSWERED, 1030); /* the last progress */
    busy[0] = start(f, d, 1030);
    /* 0.5 s without progress: held 0.5-1 s (was: until 1030 + the timeout, 29.5 s). */
    for (uint64_t r = 0; r < 2000; r += 3) {
        int64_t h = tr_dests_hold_ms(f->t, d, 1530, r * 2654435761u);
        assert_true(h >= 500);
        assert_true(h <= 1001);
    }
    /* 6 s: as long again, the jitter at most 5 s. */
    assert_int_equal(tr_dests_hold_ms(f->t, d, 7030, 0), 6000);
    assert_true(tr_dests_hold_ms(f->t, d, 7030, UINT64_MAX) <= 6000 + 5000);
    /* 20 s: never past when the transfers must have ended (1030 + 30 s). */
    assert_int_equal(tr_dests_hold_ms(f->t, d, 21030, 0), 10000);
    for (int i = 0; i < LIMIT; i++)
        finish(f, busy[i], TR_DEST_ANSWERED, 21100);
    /* Answered again: about a delivery's time. */
    assert_true(tr_dests_hold_ms(f->t, d, 21100, 0) <= 5000);
}

/* A fast destination's held timers come back as fast as it takes them: its pace
 * over its slots apart, never more than --host-limit (LIMIT) in one millisecond. */
static void test_fast_hold_spacing(void **state)
{
    fixture *f = *state;
    tr_dests *t = tr_dests_new(LIMIT, 0, WAIT_MS, 100, TIMEOUT_MS, f->dl);
    assert_non_null(t);
    char err[64];
    tr_dest *d = tr_dests_find(t, "tcp://fast.test:9", err, sizeof err);
    assert_non_null(d);
    for (int i = 0; i < 50; i++) { /* deliveries of 1 ms */
        assert_int_equal(tr_dests_admit(t, d, i), TR_DEST_START);
        tr_xfer *x = xfer(f);
        x->start_mono_ms = i;
        tr_dests_started(t, d, x, i);
        x->end_mono_ms = i + 1;
        tr_dests_finished(t, x, TR_DEST_ANSWERED, i + 1);
        tr_deliver_xfer_put(f->dl, x);
    }
    int per_ms[64] = {0};
    int64_t first = -1, last = -1;
    for (int i = 0; i < 30; i++) {
        int64_t at = tr_dests_hold(t, d, 100, 0) + 100;
        if (first < 0)
            first = at;
        last = at;
        assert_true(at - first < 64);
        per_ms[at - first]++;
    }
    for (int i = 0; i < 64; i++)
        assert_true(per_ms[i] <= LIMIT);
    /* 30 holds at LIMIT a ms: 10 ms, not the 30 of one a ms. */
    assert_true(last - first <= 30 / LIMIT + 1);
    tr_dests_free(t);
}

/* A queue holds what its destination can start within the wait bound at its pace:
 * a fast receiver's burst queues whole (up to the total), a slow one's a few. */
static void test_queue_follows_pace(void **state)
{
    fixture *f = *state;
    tr_dest *fast = find(f, "http://fast.test/");
    tr_dest *slow = find(f, "http://slow.test/");
    tr_dest *ds[2] = {fast, slow};
    int64_t took[2] = {2, 400};
    tr_xfer *busy[2][LIMIT];
    for (int k = 0; k < 2; k++) {
        tr_xfer *x = start(f, ds[k], 0);
        tr_dests_connected(f->t, x, k == 0 ? "10.0.0.2 80" : "10.0.0.3 80");
        finish(f, x, TR_DEST_ANSWERED, took[k]);
        for (int i = 0; i < LIMIT; i++) /* every slot busy, just started */
            busy[k][i] = start(f, ds[k], 1000);
    }
    int queued[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        while (tr_dests_admit(f->t, ds[k], 1000) == TR_DEST_QUEUE) {
            tr_dests_enqueue(f->t, ds[k], xfer(f), 1000);
            queued[k]++;
            assert_true(queued[k] <= 100);
        }
    }
    /* fast: LIMIT * 500 ms / 2 ms = 750, capped by the total (100); slow: 3 * 500 / 400 = 3 */
    assert_int_equal(queued[0], 100);
    assert_int_equal(queued[1], 0); /* the total is used up by the fast one */
    tr_xfer *x;
    while ((x = tr_dests_pop_any(f->t)) != NULL)
        tr_deliver_xfer_put(f->dl, x);
    while (tr_dests_admit(f->t, slow, 1000) == TR_DEST_QUEUE) {
        tr_dests_enqueue(f->t, slow, xfer(f), 1000);
        queued[1]++;
    }
    assert_int_equal(queued[1], LIMIT * WAIT_MS / 400);
    while ((x = tr_dests_pop_any(f->t)) != NULL)
        tr_deliver_xfer_put(f->dl, x);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < LIMIT; i++)
            finish(f, busy[k][i], TR_DEST_ANSWERED, 1100);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_and_address_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_hold_spacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_hold_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_off_and_busy_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_follows_pace, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
