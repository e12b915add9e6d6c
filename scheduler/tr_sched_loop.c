#include "tr_sched_loop.h"

#include <assert.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tr_backoff.h"
#include "tr_claim_token.h"
#include "tr_clock.h"
#include "tr_deliver.h"
#include "tr_dest.h"
#include "tr_hist.h"
#include "tr_log.h"
#include "tr_mem.h"
#include "tr_notifier.h"
#include "tr_notify_tcp.h"
#include "tr_notify_cstream.h"
#include "tr_notify_stream.h"
#include "tr_notify_xstream.h"
#include "tr_outcome.h"
#include "tr_pending.h"
#include "tr_reconnect.h"
#include "tr_sched_stats.h"
#include "tr_store_sched.h"
#include "tr_url.h"
#include "tr_wake.h"

#define RECONNECT_MIN_MS 100   /* first retry after Redis went away */
#define RECONNECT_MAX_MS 250   /* back-off cap: a return is noticed within 0.25 s */
#define IDLE_CLAIM_MS 1000     /* safety claim when nothing else wakes us */
#define NO_WAKE_CLAIM_MS 100   /* claim period while the wake line is down */
#define MAX_SLEEP_MS 1000      /* bounds the signal-vs-poll race (see docs) */
#define LATE_SAMPLE 8192       /* lateness values kept per status interval */
#define FINAL_FLUSH_MS 5000    /* at exit, time given to write the last outcomes */
#define HIST_WRITE_MS 1000     /* histograms go to Redis at most this often */
#define FLUSH_DELAY_MS 2       /* an outcome waits at most this long for others to join
                                * its write (it is delivered already: only the ack waits) */
#define BEHIND_FLUSH_MS 50      /* a cluster under a backlog: outcomes wait up to this long
                                * for a batch of free slots, to go with its claim (one
                                * call per shard for each: the batch pays for them) */
#define REVOKE_MS 600000       /* a lost claim's token stays revoked this long: Redis runs
                                * a claim it received before a stall when it resumes */
#define MIGRATE_CHUNK 1000     /* old records moved per call (migrate.lua): a few ms of Redis */
#define MIGRATE_ROUND_MS 20    /* moving them takes this long per loop round at most, so
                                * claims and outcomes go on between the chunks */
#define LISTPACK_VALUE_MIN 1024 /* hash-max-listpack-value below this: records of the
                                 * usual sizes make their buckets hashtables (memory) */
#define OFFSET_CLAIM_MAX_US 50000 /* a cluster claim longer than this does not measure
                                   * the Redis clock offset (a master kept it waiting) */
#define CLAIM_MAX 256          /* timers one claim takes at most: the script holds Redis
                                * ~8 us a timer, so 512 at once took up to 18 ms */
_Static_assert(TR_WAKE_FDS_MAX + TR_STORE_FDS_MAX <= TR_NOTIFIERS_LOOP_FDS_MAX,
               "the poll takes every wake socket and the store's");

/* The store's connection: claims, outcomes and histograms go over it. */
typedef struct sched_redis {
    tr_store *store;
    tr_reconnect rc;         /* down while Redis is unreachable: store calls wait for
                              * rc.retry_at_ms (local monotonic ms) */
    int64_t offset_ms;       /* Redis clock - local monotonic clock, ms */
    int have_offset;         /* offset_ms measured by a blocking claim */
    int migrate;             /* from start until the old single {P}:timers hash is gone
                              * (an older version's records): move them to their buckets */
    int64_t migrated;        /* records moved so far */
    int config_checked;      /* hash-max-listpack-value looked at (once a run) */
} sched_redis;

/* The wake line ({P}:wake; on a cluster one connection per master), on its own
 * connections. */
typedef struct sched_wake {
    tr_wake *line;
    tr_reconnect rc;         /* down from a lost channel or a failed subscribe until
                              * every channel is subscribed again (on a cluster the
                              * other masters' connections stay up meanwhile) */
} sched_wake;

/* What the next claim depends on. */
typedef struct sched_claim {
    int64_t next_due_ms;     /* Redis clock: next due time or lease deadline; -1 none */
    int need;                /* claim as soon as a slot is free (more may be due) */
    int backlog;             /* the last claim was cut by the free slots: more are due
                              * now, so claim only a batch of slots at a time */
    size_t limit;            /* the free slots a claim sent without waiting asked for */
    int64_t wake_due_ms;     /* earliest due announced while that claim was owed; -1 */
    int64_t last_mono;       /* when the last claim went out, local monotonic ms */
    int paused;              /* the last claim found deliveries paused ({P}:paused) */
    tr_claim_tokens tokens;  /* this run's tokens; claims whose answer was lost */
    const char *token;       /* the token of the claim owed (sent without waiting) */
    int recover_run;         /* give back what earlier runs of this scheduler id hold */
} sched_claim;

/* Deliveries in curl, those waiting for their destination, and their outcomes
 * until Redis has them. */
typedef struct sched_work {
    tr_deliver *dl;          /* the HTTP notifier's transfers, and every notifier's
                              * tr_xfer pool */
    tr_notifiers *notify;    /* the notifiers (tr_notifier.h): every delivery goes
                              * through them */
    tr_sign *signer;         /* --signing-secret-file's secrets; NULL: unsigned. Owned;
                              * replaced on SIGHUP */
    tr_dests *dests;
    tr_pending *pending;
    int64_t pending_since_mono; /* when the oldest unwritten outcome was seen; -1 none */
    size_t held;             /* outcomes the last flush kept, their master away (cluster
                              * cut-off): the first `held` of pending */
    int64_t held_retry_mono; /* when they are tried again (local monotonic ms) */
} sched_work;

/* Stopping (SIGTERM/SIGINT). */
typedef struct sched_drain {
    int stopping;            /* no more claims; deliveries in flight finish */
    int64_t deadline_mono;   /* then the rest is released */
    uint64_t drained;        /* finished while draining */
    uint64_t released;       /* released at the drain deadline */
    int exiting;             /* the loop is over: no new transfers (failure notices) */
} sched_drain;

/* Counters, histograms and the status line. */
typedef struct sched_report {
    tr_sched_stats st;
    tr_hist late_hist;       /* lateness, ms, since the last write to Redis */
    tr_hist dur_hist;        /* delivery duration, ms, since the last write */
    int64_t next_hist_mono;  /* when the histograms are written next */
    int64_t next_status_mono; /* when the status line is logged next */
} sched_report;

typedef struct sched {
    const tr_config *cfg;
    tr_sched_flags flags;
    tr_rng rng;
    sched_redis redis;
    sched_wake wake;
    sched_claim claim;
    sched_work work;
    sched_drain drain;
    sched_report report;
} sched;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* A claim or a finish awaits its answers on the store's connection. */
static int outstanding(const sched *s)
{
    return tr_pending_sent(s->work.pending) > 0 || tr_store_claim_outstanding(s->redis.store);
}

/* What tr_outcome needs, with the Redis clock mapped from the local one now. */
static tr_outcome_ctx octx(sched *s)
{
    tr_outcome_ctx c = {.cfg = s->cfg,
                        .rng = &s->rng,
                        .pending = s->work.pending,
                        .st = &s->report.st,
                        .redis_now_ms = tr_clock_mono_ms() + s->redis.offset_ms};
    return c;
}

static void store_failed(sched *s, const char *what)
{
    if (tr_reconnect_failed(&s->redis.rc, tr_clock_mono_ms()))
        tr_log_error("redis unavailable (%s: %s): deliveries in flight go on, retrying from %d ms "
                     "to %d ms apart",
                     what, tr_store_error(s->redis.store), RECONNECT_MIN_MS, RECONNECT_MAX_MS);
}

static void store_ok(sched *s)
{
    int64_t now = tr_clock_mono_ms();
    int64_t was_down = tr_reconnect_ok(&s->redis.rc, now);
    if (was_down < 0)
        return;
    s->claim.need = 1; /* timers that fell due meanwhile fire at once */
    tr_reconnect_retry_now(&s->wake.rc, now);
    tr_log_info("redis back after %lld ms", (long long)was_down);
}

/* Slots a claim waits for while a backlog is due (and outcomes a write waits for):
 * one round trip then serves a batch, not the one or two transfers that just
 * finished. At light load the slots are free anyway, so nothing waits. */
static int batch_min(const sched *s)
{
    /* A cluster waits for a larger batch: each claim and finish is a call per
     * shard there, and fewer, larger batches measured cheaper (docs/CLUSTER.md). */
    int m = s->cfg->max_inflight / (tr_store_on_cluster(s->redis.store) ? 4 : 8);
    return m < 1 ? 1 : m;
}

/* Whether a claim may be sent behind an owed finish (its answers are then read
 * after the finish's): under a backlog, with the clock offset known and Redis
 * answering. On a cluster the claim's calls then go behind the finish's on the
 * same masters' connections. */
static int claim_behind(const sched *s)
{
    return s->claim.backlog && s->redis.have_offset && !s->redis.rc.down;
}

/* After outcomes were written: rc 0 all of them, 1 all but those whose master is
 * away (the cut-off on a cluster: they wait for its retry time, first in the
 * list), -1 none (Redis away: kept, sent again at the retry time). */
static void written(sched *s, int rc)
{
    s->work.held = 0;
    if (rc >= 0)
        s->claim.need = 1; /* a retry or a chain may now be the earliest timer */
    if (rc == 0) {
        store_ok(s);
    } else if (rc == 1) {
        int64_t in = tr_store_cutoff_retry_ms(s->redis.store);
        s->work.held = tr_pending_kept(s->work.pending);
        s->work.held_retry_mono = tr_clock_mono_ms() + (in < 0 ? RECONNECT_MIN_MS : in);
        if (s->redis.rc.down)
            store_failed(s, "finish"); /* the next reconnect attempt, later */
    } else {
        store_failed(s, "finish");
    }
}

/* How long the oldest outcome held waits for others: on a cluster under a backlog
 * for a batch to go with its claim (claim_behind()), not a few at a time (each
 * finish and each claim there is a call per shard). */
static int flush_delay(const sched *s)
{
    return tr_store_on_cluster(s->redis.store) && claim_behind(s) ? BEHIND_FLUSH_MS
                                                                  : FLUSH_DELAY_MS;
}

/* Whether the outcomes held (and not sent yet) are sent now. They are delivered
 * already, so holding them a few ms only postpones the ack (the lease covers it);
 * they go at once when nothing else is in flight (light load keeps its
 * precision), when a batch is ready, when the oldest has waited flush_delay(),
 * and while stopping; never while an earlier send awaits its answers. While
 * Redis is down: at the retry time. */
static int want_flush(sched *s, int64_t now)
{
    size_t n = tr_pending_count(s->work.pending) - tr_pending_sent(s->work.pending);
    if (n == 0) {
        s->work.pending_since_mono = -1;
        return 0;
    }
    if (s->work.pending_since_mono < 0)
        s->work.pending_since_mono = now;
    if (outstanding(s))
        return 0;
    if (n <= s->work.held && now < s->work.held_retry_mono)
        return 0; /* only those whose master is away: at its retry time */
    if (s->redis.rc.down)
        return tr_reconnect_due(&s->redis.rc, now);
    return s->drain.stopping || tr_notifiers_running(s->work.notify) == 0 || n >= (size_t)batch_min(s) ||
           now - s->work.pending_since_mono >= flush_delay(s);
}

/* Sends the outcomes held when want_flush() says so; the answers are read by
 * receive() when a store socket is readable (one Redis: its connection; a cluster:
 * each master's), so the loop never waits for Redis to run the scripts (one send
 * outstanding at most). */
static void flush(sched *s)
{
    if (!want_flush(s, tr_clock_mono_ms()))
        return;
    assert(!outstanding(s)); /* one call owed on the connection at a time */
    if (tr_pending_send(s->work.pending, s->redis.store) == 0)
        s->work.pending_since_mono = -1;
    else
        store_failed(s, "finish");
}

static void claimed(sched *s, tr_claim_batch *b, size_t limit, const char *token);

/* Reads the answers owed: the finish's first, then the claim's sent behind it
 * (wait: block until they are in; else one read(2) at most, the socket being
 * readable). */
static void receive(sched *s, int wait)
{
    tr_store_recv_mode claim_mode = wait ? TR_STORE_RECV_BLOCK : TR_STORE_RECV_POLL;
    if (tr_pending_sent(s->work.pending) > 0) {
        int claim_behind = tr_store_claim_outstanding(s->redis.store);
        tr_store_recv_result rc =
            tr_pending_recv(s->work.pending, s->redis.store, &s->report.st, claim_mode);
        if (rc == TR_STORE_RECV_OWED)
            return;
        /* The failed read dropped the connection and the claim sent behind the finish
         * with it; Redis may have run that claim: its token is lost like a failed
         * claim's, so what it took is given back before the next claim. */
        if (rc == TR_STORE_RECV_FAILED && claim_behind &&
            !tr_store_claim_outstanding(s->redis.store))
            tr_claim_tokens_lost(&s->claim.tokens, s->claim.token);
        written(s, rc == TR_STORE_RECV_FAILED ? -1 : tr_pending_kept(s->work.pending) > 0);
        if (!wait)
            claim_mode = TR_STORE_RECV_BUFFERED; /* the read is spent: what it brought only */
    }
    if (tr_store_claim_outstanding(s->redis.store)) {
        tr_claim_batch b = {0};
        tr_store_recv_result rc = tr_store_claim_recv(s->redis.store, &b, claim_mode);
        if (rc == TR_STORE_RECV_DONE) {
            claimed(s, &b, s->claim.limit, s->claim.token); /* the offset keeps its last measure */
        } else if (rc == TR_STORE_RECV_FAILED) {
            tr_claim_tokens_lost(&s->claim.tokens, s->claim.token);
            store_failed(s, "claim");
        }
        tr_claim_batch_clear(&b);
    }
}

/* tr_wake_set_gone's question, asked of the store's cut-off. */
static int master_gone(void *store, const char *host, int port)
{
    return tr_store_cut_silent(store, host, port);
}

static void wake_connect(sched *s)
{
    int64_t now = tr_clock_mono_ms();
    if (tr_wake_up(s->wake.line) || !tr_reconnect_due(&s->wake.rc, now) || s->redis.rc.down)
        return;
    if (tr_wake_connect(s->wake.line) == 0) {
        if (tr_reconnect_ok(&s->wake.rc, now) >= 0)
            tr_log_info("wake line subscribed again");
        s->claim.need = 1; /* announcements may have been missed meanwhile */
        return;
    }
    if (tr_reconnect_failed(&s->wake.rc, now))
        tr_log_warning("wake line down (%s): claiming every %d ms until it is back",
                       tr_wake_error(s->wake.line), NO_WAKE_CLAIM_MS);
}

/* Reads the wake line's ready sockets (fds[0..n-1], ready[i] set by the poll). */
static void wake_drain(sched *s, const int *fds, const int *ready, int n)
{
    int any = 0;
    for (int i = 0; i < n; i++)
        any |= ready[i];
    if (!any)
        return;
    int64_t due = -1;
    int m = tr_wake_drain(s->wake.line, fds, ready, n, &due);
    if (m < 0) {
        /* A connection lost or a channel dropped (its slot moved): what it would
         * have announced meanwhile is found by claiming now. */
        tr_log_warning("wake line lost: %s", tr_wake_error(s->wake.line));
        (void)tr_reconnect_failed(&s->wake.rc, tr_clock_mono_ms());
        s->claim.need = 1;
    } else if (m > 0 && s->claim.paused) {
        s->claim.need = 1; /* maybe a resume: find out at once */
    } else if (m > 0 && due >= 0) {
        tr_log_debug("wake: %d message(s), earliest due_ms=%lld in %lld ms", m, (long long)due,
                     (long long)(due - (tr_clock_mono_ms() + s->redis.offset_ms)));
        if (s->claim.next_due_ms < 0 || due < s->claim.next_due_ms)
            s->claim.next_due_ms = due;
        if (tr_store_claim_outstanding(s->redis.store) &&
            (s->claim.wake_due_ms < 0 || due < s->claim.wake_due_ms))
            s->claim.wake_due_ms = due; /* the owed answer must not hide it */
    }
}

/* Starts x now (its destination has a slot, and a global one is free; d NULL: a
 * stream delivery, which has no destination). */
static void launch(sched *s, tr_dest *d, tr_xfer *x, int64_t mono)
{
    int64_t late = mono + s->redis.offset_ms - x->due_ms;
    x->late_ms = late;
    tr_sched_stats_late(&s->report.st, late, tr_rng_next(&s->rng));
    tr_hist_add(&s->report.late_hist, late);
    if (tr_notifiers_start(s->work.notify, x) != 0) {
        tr_outcome_ctx oc = octx(s);
        (void)tr_outcome_failed(&oc, x->id, x->token, &x->spec, x->attempt, x->fire_due_ms, 0,
                                x->errbuf, -1);
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    if (d != NULL)
        tr_dests_started(s->work.dests, d, x, mono);
}

/* Gives x back to Redis undelivered: its destination cannot take it now (breaker
 * open, or every slot busy and its queue full or waited out). No attempt spent;
 * it is due again later with its first due time. */
static void hold(sched *s, tr_dest *d, tr_xfer *x, int64_t mono)
{
    int64_t delay = tr_dests_hold(s->work.dests, d, mono, tr_rng_next(&s->rng));
    tr_finish f = {.kind = TR_FINISH_HOLD, .id = x->id, .token = x->token,
                   .attempt = x->attempt, .delay_ms = delay};
    if (tr_pending_add(s->work.pending, &f) == 0) {
        s->report.st.held++;
        tr_log_debug("key=%s held for %lld ms: destination %s %s", x->id, (long long)delay,
                     tr_dest_key(d), tr_dest_is_open(d) ? "unreachable (breaker open)" : "busy");
    } else {
        tr_log_error("key=%s not held: out of memory (returns after its lease)", x->id);
    }
    tr_deliver_xfer_put(s->work.dl, x);
}

/* Whether one more delivery may be in flight (--max-inflight). */
static int slot_free(const sched *s)
{
    return tr_notifiers_running(s->work.notify) < s->cfg->max_inflight;
}

/* Starts, queues or holds a prepared transfer, as its destination allows. */
static void dispatch(sched *s, tr_xfer *x)
{
    char err[160];
    int64_t mono = tr_clock_mono_ms();
    if (tr_url_is_stream(x->spec.url)) {
        /* No receiver to protect: no destination's limits or breaker. In TimeRush's
         * Redis it is done at once (tr_notify_stream.h); with --stream-redis it is
         * one XADD pipelined on one connection (tr_notify_xstream.h). Either way it
         * never waits for a slot. */
        if (tr_url_stream_name(x->spec.url, "callback", err, sizeof err) != NULL) {
            launch(s, NULL, x, mono);
            return;
        }
        tr_outcome_ctx oc = octx(s);
        (void)tr_outcome_dead(&oc, x->id, x->token, x->attempt, x->fire_due_ms, err);
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    tr_dest *d = tr_dests_find(s->work.dests, x->spec.url, err, sizeof err);
    if (d == NULL) {
        /* Checked at create: only a record written around the API gets here, and
         * no retry can make its URL valid. */
        tr_outcome_ctx oc = octx(s);
        (void)tr_outcome_dead(&oc, x->id, x->token, x->attempt, x->fire_due_ms, err);
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    tr_dest_verdict v = tr_dests_admit(s->work.dests, d, mono);
    if (v == TR_DEST_START && !slot_free(s))
        v = TR_DEST_QUEUE; /* only a notice can have taken the slot: it frees soon */
    switch (v) {
    case TR_DEST_START:
        launch(s, d, x, mono);
        return;
    case TR_DEST_QUEUE:
        tr_dests_enqueue(s->work.dests, d, x, mono);
        return;
    case TR_DEST_HOLD:
        hold(s, d, x, mono);
        return;
    }
}

/* Starts what waits for its destination and now may go; gives back what waited
 * too long or whose breaker opened. */
static void pump(sched *s)
{
    int64_t mono = tr_clock_mono_ms();
    tr_dest_verdict v;
    tr_xfer *x;
    while ((x = tr_dests_pop(s->work.dests, mono, slot_free(s), &v)) != NULL) {
        if (v == TR_DEST_START)
            launch(s, x->dest, x, mono);
        else
            hold(s, x->dest, x, mono);
    }
}

/* Prepares the delivery of one claimed timer and dispatches it, or queues its
 * outcome at once. */
static void start_one(sched *s, const tr_claimed *c, const char *token)
{
    /* The first attempt starts a firing (a new timer, a recurring timer's next
     * firing, a replay): its due time is the claim's. A retry carries the firing's
     * due time in the meta of its last failure. */
    int64_t fire_due =
        c->attempt <= 1 ? c->due_ms : tr_outcome_fire_due(c->meta, c->meta_len, c->due_ms);
    tr_outcome_ctx oc = octx(s);
    s->report.st.claimed++;
    tr_log_debug("key=%s claimed attempt=%lld due_ms=%lld", c->id, (long long)c->attempt,
                 (long long)c->due_ms);

    tr_xfer *x = tr_deliver_xfer_get(s->work.dl);
    if (x == NULL || (x->id = strdup(c->id)) == NULL) {
        (void)tr_outcome_failed(&oc, c->id, token, NULL, c->attempt, fire_due, 0, "out of memory",
                                -1);
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    if (tr_timer_record_decode(c->record, c->record_len, &x->spec) != 0) {
        (void)tr_outcome_dead(&oc, c->id, token, c->attempt, fire_due, "bad record");
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    snprintf(x->token, sizeof x->token, "%s", token); /* < TR_CLAIM_TOKEN_MAX by design */
    x->attempt = c->attempt;
    x->due_ms = c->due_ms;
    x->fire_due_ms = fire_due;
    tr_outcome_policy pol;
    tr_outcome_policy_of(s->cfg, &x->spec, &pol);
    x->timeout_ms = pol.timeout_ms;
    if (pol.timeout_ms > s->cfg->timeout_ms) {
        /* The claim's lease covers --timeout-ms only: move the deadline first (the
         * extend is written before this round ends, long before the old lease). */
        tr_finish ext = {.kind = TR_FINISH_EXTEND, .id = c->id, .token = token,
                         .attempt = c->attempt,
                         .delay_ms = pol.timeout_ms + s->cfg->lease_margin_ms};
        if (tr_pending_add(s->work.pending, &ext) != 0)
            tr_log_error("key=%s lease not extended: out of memory (a longer delivery may be "
                         "taken over)", c->id);
    }
    dispatch(s, x);
}

/* tr_deliver's connect callback: the address a transfer's connection goes to. */
static void on_connect(void *ctx, tr_xfer *x)
{
    sched *s = ctx;
    tr_dests_connected(s->work.dests, x, x->peer);
}

/* tr_pending's notice callback: POST a failure notice once, best effort. */
static void send_notice(void *ctx, const tr_finish *f, const char *url, const char *body,
                        size_t body_len)
{
    sched *s = ctx;
    const char *id = f->id;
    if (s->drain.exiting) {
        tr_log_warning("key=%s failure notice not sent: shutting down", id);
        return;
    }
    tr_xfer *x = tr_deliver_xfer_get(s->work.dl);
    if (x == NULL || (x->id = strdup(id)) == NULL || (x->spec.url = strdup(url)) == NULL ||
        (x->spec.data = tr_dup_bytes(body, body_len)) == NULL) {
        tr_log_error("key=%s failure notice not sent: out of memory", id);
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    x->spec.data_len = body_len;
    x->notice = 1;
    /* The failed delivery's attempt and firing: the notice's webhook-id. */
    x->attempt = f->attempt;
    x->fire_due_ms = tr_outcome_fire_due(f->meta, f->meta != NULL ? strlen(f->meta) : 0, 0);
    if (tr_notifiers_start(s->work.notify, x) != 0) {
        tr_log_warning("key=%s failure notice to %s not sent: %s", id, url, x->errbuf);
        tr_deliver_xfer_put(s->work.dl, x);
        return;
    }
    tr_log_info("key=%s failure notice sending to %s", id, url);
}

/* Starts the timers of a claim that asked for `limit` slots; clears *b. */
static void claimed(sched *s, tr_claim_batch *b, size_t limit, const char *token)
{
    store_ok(s);
    s->claim.backlog = 0;
    s->claim.next_due_ms = b->next_ms;
    if (s->claim.wake_due_ms >= 0 &&
        (s->claim.next_due_ms < 0 || s->claim.wake_due_ms < s->claim.next_due_ms))
        s->claim.next_due_ms = s->claim.wake_due_ms; /* announced after the claim may have run */
    s->claim.wake_due_ms = -1;
    if (b->paused != s->claim.paused) {
        s->claim.paused = b->paused;
        tr_log_info(b->paused ? "deliveries paused: claiming nothing until resumed"
                              : "deliveries resumed");
    }
    if (b->paused) {
        /* Sleep until woken (resume publishes on the wake channel) or the idle
         * claim period; due times do not matter while paused. */
        s->claim.next_due_ms = -1;
    } else if (b->count >= limit || b->more) {
        s->claim.backlog = 1; /* the batch (or a shard's part) was cut: more may be due */
    }
    /* With --shards > 1 a claim can run while a pause or resume is half-way through
     * the shards: it says paused, yet the shards already resumed gave timers, which
     * are in flight under our token. Deliver them now, not after their lease. */
    if (b->count > 0) {
        int running = tr_notifiers_running(s->work.notify);
        for (size_t i = 0; i < b->count; i++)
            start_one(s, &b->items[i], token);
        pump(s); /* holds and starts in claim order first, then what waited */
        /* Send what started now, not after this round's outcomes (the holds of a
         * batch full of a dead receiver's timers) are formatted and written. */
        if (tr_notifiers_running(s->work.notify) > running && tr_notifiers_perform(s->work.notify) != 0)
            tr_log_warning("notifier perform failed; retried in the loop");
    }
    tr_claim_batch_clear(b);
}

/* Claims up to free_slots timers. Under a backlog the claim is sent and its
 * answer read when it arrives (receive()), so the loop keeps driving curl while
 * Redis runs the script; otherwise it waits for the answer, which also measures
 * the Redis clock offset (a lone timer's precision depends on it). */
static void claim(sched *s, int free_slots)
{
    if (free_slots > CLAIM_MAX)
        free_slots = CLAIM_MAX; /* a full batch still counts as a backlog: claimed again */
    int64_t lease = (int64_t)s->cfg->timeout_ms + s->cfg->lease_margin_ms;
    assert(!tr_store_claim_outstanding(s->redis.store)); /* want_claim() refuses */
    const char *token = tr_claim_tokens_next(&s->claim.tokens);
    if (claim_behind(s)) {
        s->claim.last_mono = tr_clock_mono_ms();
        if (tr_store_claim_send(s->redis.store, (size_t)free_slots, lease, token) != 0) {
            tr_claim_tokens_lost(&s->claim.tokens, token); /* part of it may have gone out */
            store_failed(s, "claim");
            return;
        }
        s->claim.token = token;
        s->claim.limit = (size_t)free_slots;
        s->claim.wake_due_ms = -1;
        return;
    }
    /* Blocking: nothing may be owed before it (want_claim() waits for the finish). */
    assert(tr_pending_sent(s->work.pending) == 0);
    tr_claim_batch b = {0};
    int64_t t0 = tr_clock_mono_us();
    int rc = tr_store_claim(s->redis.store, (size_t)free_slots, lease, token, &b);
    int64_t t1 = tr_clock_mono_us();
    s->claim.last_mono = t1 / 1000;
    if (rc != 0) {
        /* It may have run, or may still run once Redis gets to it: recovered (revoked
         * and given back) as soon as Redis answers again, not after its lease. */
        tr_claim_tokens_lost(&s->claim.tokens, token);
        tr_claim_batch_clear(&b);
        store_failed(s, "claim");
        return;
    }
    s->claim.need = 0;
    /* Redis read its TIME about half-way through the round trip; not so on a cluster
     * claim that waited for a master that did not answer (the cut-off): the shards
     * after it read theirs near the end. */
    if (!s->redis.have_offset || !tr_store_on_cluster(s->redis.store) ||
        t1 - t0 <= OFFSET_CLAIM_MAX_US) {
        s->redis.offset_ms = b.now_ms - (t0 + t1) / 2000;
        s->redis.have_offset = 1;
    }
    claimed(s, &b, (size_t)free_slots, token);
}

static void collect(sched *s)
{
    tr_xfer *x;
    while ((x = tr_notifiers_done(s->work.notify)) != NULL) {
        if (x->notice) {
            /* Best effort, one attempt: logged, never retried. */
            if (x->result == CURLE_OK && x->status >= 200 && x->status < 300)
                tr_log_info("key=%s failure notice sent to %s status=%ld", x->id, x->spec.url,
                            x->status);
            else
                tr_log_warning("key=%s failure notice to %s failed: status=%ld error=%s", x->id,
                               x->spec.url, x->status,
                               x->result != CURLE_OK ? (x->errbuf[0] != '\0'
                                                            ? x->errbuf
                                                            : curl_easy_strerror(x->result))
                                                     : "not a 2xx answer");
            tr_deliver_xfer_put(s->work.dl, x);
            continue;
        }
        tr_dests_finished(s->work.dests, x, tr_dest_result_of((int)x->result), x->end_mono_ms);
        tr_outcome_ctx oc = octx(s);
        tr_hist_add(&s->report.dur_hist, x->end_mono_ms - x->start_mono_ms);
        (void)tr_outcome_finished(&oc, x);
        if (s->drain.stopping)
            s->drain.drained++;
        tr_deliver_xfer_put(s->work.dl, x);
    }
}

/* Gives one transfer that will not be delivered back to Redis, due at once. */
static void release_one(sched *s, tr_xfer *x, const char *why)
{
    tr_finish f = {
        .kind = TR_FINISH_RELEASE, .id = x->id, .token = x->token, .attempt = x->attempt};
    if (tr_pending_add(s->work.pending, &f) == 0) {
        s->report.st.released++;
        s->drain.released++;
        tr_log_info("key=%s released attempt=%lld (%s)", x->id, (long long)x->attempt, why);
    } else {
        tr_log_error("key=%s not released: out of memory (returns after its lease)", x->id);
    }
    tr_deliver_xfer_put(s->work.dl, x);
}

/* Gives back what waits for its destination: when stopping, it is not started. */
static void release_queued(sched *s)
{
    tr_xfer *x;
    while ((x = tr_dests_pop_any(s->work.dests)) != NULL)
        release_one(s, x, "shutdown, not started");
}

/* Takes every unfinished delivery out of curl and gives it back to Redis. */
static void release_all(sched *s)
{
    release_queued(s);
    tr_xfer *x;
    while ((x = tr_notifiers_abort_one(s->work.notify)) != NULL) {
        tr_dests_finished(s->work.dests, x, TR_DEST_OTHER, tr_clock_mono_ms());
        if (x->notice) {
            tr_log_warning("key=%s failure notice to %s not finished: shutting down", x->id,
                           x->spec.url);
            tr_deliver_xfer_put(s->work.dl, x);
            continue;
        }
        release_one(s, x, "shutdown");
    }
}

/* A backlog waits for a batch of free slots (or an idle curl); otherwise any free
 * slot is claimed the moment something is due. Outcomes held because Redis is away
 * are written before anything new is claimed (flush() runs first). */
static int want_claim(sched *s, int64_t now, int free_slots)
{
    /* The claim shares the connection: only a claim sent without waiting may go
     * behind an owed finish (pipelined), and one claim is owed at most. */
    if (s->drain.stopping || free_slots <= 0 || tr_store_claim_outstanding(s->redis.store))
        return 0;
    if (tr_pending_sent(s->work.pending) > 0 && !claim_behind(s))
        return 0;
    if (s->redis.rc.down) /* held: only those whose master is away (cut-off) */
        return tr_reconnect_due(&s->redis.rc, now) &&
               tr_pending_count(s->work.pending) <= s->work.held;
    if (!s->redis.have_offset)
        return 1;
    if (s->claim.backlog)
        return free_slots >= batch_min(s) || tr_notifiers_running(s->work.notify) == 0;
    if (s->claim.need)
        return 1;
    if (s->claim.next_due_ms >= 0 && now + s->redis.offset_ms >= s->claim.next_due_ms)
        return 1;
    int period = tr_wake_up(s->wake.line) ? IDLE_CLAIM_MS : NO_WAKE_CLAIM_MS;
    return now - s->claim.last_mono >= period;
}

static void write_hists(sched *s, int64_t now, int force);

/* Gives back, before the next claim, what lost claims hold (their tokens revoked,
 * so a lost claim Redis runs later claims nothing) and, once after start, what
 * earlier runs of this scheduler id still hold: those timers fire now instead of
 * after their leases. While Redis is away this is the reconnect attempt, at its
 * time (after the held outcomes, like a claim), so the first claim after an outage
 * already finds what the lost claims held. */
static void recover(sched *s, int64_t now)
{
    tr_claim_tokens *t = &s->claim.tokens;
    if (outstanding(s) || (t->nlost == 0 && !s->claim.recover_run))
        return;
    if (s->redis.rc.down &&
        (!tr_reconnect_due(&s->redis.rc, now) ||
         tr_pending_count(s->work.pending) > s->work.held))
        return;
    int64_t n = 0;
    if (t->nlost > 0) {
        const char *list[TR_CLAIM_LOST_MAX];
        size_t k = tr_claim_tokens_lost_list(t, list, TR_CLAIM_LOST_MAX);
        if (tr_store_recover_tokens(s->redis.store, list, k, REVOKE_MS, &n) != 0) {
            store_failed(s, "recover");
            return;
        }
        tr_log_info("recovered %lld timers held by %zu claims whose answers were lost "
                    "(revoked; due again now)", (long long)n, k);
        tr_claim_tokens_clear_lost(t);
        s->claim.need = 1;
    }
    if (s->claim.recover_run) {
        if (tr_store_recover_prefix(s->redis.store, t->id_prefix, t->run_prefix, &n) != 0) {
            store_failed(s, "recover");
            return;
        }
        s->claim.recover_run = 0;
        if (n > 0)
            tr_log_info("recovered %lld timers held by an earlier run of this scheduler id "
                        "(due again now)", (long long)n);
        s->claim.need = 1;
    }
    store_ok(s);
}

/* Moves what an older version left in the one hash {P}:timers into the record
 * buckets (docs/DATA_MODEL.md, "Upgrading"), chunk by chunk from start until that
 * hash is gone, at most MIGRATE_ROUND_MS a round. Every script reads the old hash
 * while it exists, so this only gives its memory back; it takes the store's
 * connection between claims and outcomes, never while answers are owed. The first
 * call also checks that Redis keeps the buckets compact. */
static void migrate(sched *s, int64_t now)
{
    if (!s->redis.migrate || outstanding(s) || s->redis.rc.down)
        return;
    if (!s->redis.config_checked) {
        s->redis.config_checked = 1;
        int64_t v = 0;
        if (tr_store_listpack_value(s->redis.store, &v) == 0 && v < LISTPACK_VALUE_MIN)
            tr_log_warning("redis hash-max-listpack-value is %lld: records longer than that "
                           "make their buckets hashtables (about 40 bytes more per timer); "
                           "set it to %d or more (docs/OPERATIONS.md)",
                           (long long)v, LISTPACK_VALUE_MIN);
    }
    int64_t moved = 0, left = 0;
    do {
        if (tr_store_migrate(s->redis.store, MIGRATE_CHUNK, &moved, &left) != 0) {
            if (tr_store_error_code(s->redis.store) != TR_RET_INTERNAL) {
                store_failed(s, "migrate");
                return;
            }
            /* A script error is no outage; the old records stay readable where they are. */
            tr_log_error("migrate: %s; the old {P}:timers hash stays (still read)",
                         tr_store_error(s->redis.store));
            s->redis.migrate = 0;
            return;
        }
        if (s->redis.migrated == 0 && moved > 0)
            tr_log_info("records of an older version found in {P}:timers: moving them to "
                        "their buckets, %lld left", (long long)(moved + left));
        s->redis.migrated += moved;
    } while (left > 0 && tr_clock_mono_ms() - now < MIGRATE_ROUND_MS);
    store_ok(s);
    if (left == 0) {
        if (s->redis.migrated > 0)
            tr_log_info("the old {P}:timers hash is gone: %lld records moved to their buckets",
                        (long long)s->redis.migrated);
        s->redis.migrate = 0;
    }
}

/* How many timers the next claim may take: the slots not in flight, less what
 * already waits for its destination (a queue is bounded by what its destination
 * can start before the wait bound, so a receiver that makes no progress holds
 * little of this). */
static int claim_room(const sched *s)
{
    return s->cfg->max_inflight - tr_notifiers_running(s->work.notify) -
           (int)tr_dests_queued(s->work.dests);
}

/* The calls on the store's connection: the outcomes held when they are due to
 * go, then a claim (under a backlog pipelined behind them, so neither waits for
 * the other). Outcomes held because Redis is away go first: want_claim() refuses
 * until they are written. */
static void store_step(sched *s, int64_t now)
{
    /* The histograms first (once a second, blocking, one short pipeline): under
     * a burst a claim or a finish is owed almost all the time. */
    write_hists(s, now, 0);
    flush(s);
    recover(s, now);
    migrate(s, now);
    int free_slots = claim_room(s);
    if (want_claim(s, now, free_slots))
        claim(s, free_slots);
}

/* How long the poll may sleep: until the next due time (mapped to the local clock),
 * a reconnect, the status line or the drain deadline, whichever comes first. */
static int sleep_ms(sched *s, int64_t now, int free_slots)
{
    int64_t target = now + MAX_SLEEP_MS;
    /* While answers are owed, a store socket ends the poll (or, on a cluster, a
     * master's read timeout: tr_store_recv_in_ms); the next send, the histograms
     * and a claim that would wait for its answer wait for them. */
    int owed = outstanding(s);
    int64_t recv_in = owed ? tr_store_recv_in_ms(s->redis.store) : -1;
    if (recv_in >= 0)
        target = min64(target, now + recv_in);
    if (!s->drain.stopping && free_slots > 0 && !s->redis.rc.down && !owed) {
        if (s->claim.backlog) {
            /* Else a finishing transfer ends the poll and frees the batch. */
            if (free_slots >= batch_min(s) || tr_notifiers_running(s->work.notify) == 0)
                target = now;
        } else {
            int period = tr_wake_up(s->wake.line) ? IDLE_CLAIM_MS : NO_WAKE_CLAIM_MS;
            target = min64(target, s->claim.last_mono + period);
            if (s->claim.need || !s->redis.have_offset)
                target = now;
            else if (s->redis.have_offset && s->claim.next_due_ms >= 0)
                target = min64(target, s->claim.next_due_ms - s->redis.offset_ms);
        }
    }
    if (s->redis.migrate && !owed && !s->redis.rc.down)
        target = now; /* the next chunk of the move */
    if (s->redis.rc.down)
        target = min64(target, s->redis.rc.retry_at_ms);
    else if (!owed && tr_pending_count(s->work.pending) > s->work.held &&
             s->work.pending_since_mono >= 0)
        target = min64(target, s->work.pending_since_mono + flush_delay(s));
    else if (!owed && s->work.held > 0)
        target = min64(target, s->work.held_retry_mono); /* held: their master's retry */
    if (!tr_wake_up(s->wake.line) && !s->redis.rc.down)
        target = min64(target, s->wake.rc.retry_at_ms);
    target = min64(target, s->report.next_status_mono);
    if (!owed && (s->report.late_hist.count > 0 || s->report.dur_hist.count > 0))
        target = min64(target, s->report.next_hist_mono);
    if (s->drain.stopping)
        target = min64(target, s->drain.deadline_mono);
    int64_t expiry = tr_dests_next_expiry(s->work.dests);
    if (expiry >= 0)
        target = min64(target, expiry); /* a queued transfer's wait runs out */
    int64_t t = target - now;
    return t < 0 ? 0 : (int)t;
}

/* Writes the histograms, at most once per HIST_WRITE_MS and never while Redis is
 * known to be away (they stay in memory and are added to the next write). */
static void write_hists(sched *s, int64_t now, int force)
{
    if (!force && (now < s->report.next_hist_mono || outstanding(s)))
        return;
    s->report.next_hist_mono = now + HIST_WRITE_MS;
    if (s->redis.rc.down)
        return;
    if (tr_hist_write(&s->report.late_hist, s->redis.store, "lateness") != 0 ||
        tr_hist_write(&s->report.dur_hist, s->redis.store, "duration") != 0)
        tr_log_debug("histograms not written (%s): kept for the next write",
                     tr_store_error(s->redis.store));
}

static void status_line(sched *s)
{
    char line[512];
    tr_sched_stats_line(&s->report.st, tr_notifiers_running(s->work.notify),
                        tr_pending_count(s->work.pending), line, sizeof line);
    tr_log_info("%s queued=%zu breakers_open=%zu redis=%s wake=%s", line,
                tr_dests_queued(s->work.dests), tr_dests_open(s->work.dests),
                s->redis.rc.down ? "down" : "up", tr_wake_up(s->wake.line) ? "up" : "down");
}

/* Gives the last outcomes a bounded time to reach Redis. */
static void final_flush(sched *s)
{
    int64_t deadline = tr_clock_mono_ms() + FINAL_FLUSH_MS;
    while (tr_pending_count(s->work.pending) > 0 && tr_clock_mono_ms() < deadline) {
        /* Try now; each failed call is bounded by --redis-timeout-ms. */
        tr_reconnect_reset(&s->redis.rc);
        if (tr_pending_flush(s->work.pending, s->redis.store, &s->report.st) == 0)
            break;
        /* Waiting on the clock, not sleeping on a guess: poll() on nothing. */
        int dummy = 0;
        (void)tr_deliver_wait(s->work.dl, -1, RECONNECT_MIN_MS * 2, &dummy);
    }
    size_t left = tr_pending_count(s->work.pending);
    for (size_t i = 0; i < left; i++)
        tr_log_error("key=%s outcome not written (redis away): the timer returns after its lease",
                     tr_pending_item(s->work.pending, i)->id);
}

/* SIGHUP: reads --signing-secret-file again. A bad file keeps the secrets in use
 * (signing never stops on an operator's typo); transfers already started keep the
 * signatures they were sent with. */
static void reload_signer(sched *s)
{
    if (s->cfg->signing_secret_file[0] == '\0')
        return;
    char err[TR_CONFIG_STR_MAX + 256];
    tr_sign *n = tr_sign_load(s->cfg->signing_secret_file, err, sizeof err);
    if (n == NULL) {
        tr_log_error("--signing-secret-file not reloaded, still signing with the %d secret(s) "
                     "loaded before: %s",
                     tr_sign_count(s->work.signer), err);
        return;
    }
    tr_deliver_set_signer(s->work.dl, n);
    tr_sign_free(s->work.signer);
    s->work.signer = n;
    tr_log_info("--signing-secret-file reloaded: signing with %d secret(s)", tr_sign_count(n));
}

static int loop(sched *s)
{
    int rc = 0;
    for (;;) {
        int64_t now = tr_clock_mono_ms();
        if (*s->flags.hup) {
            *s->flags.hup = 0;
            (void)tr_log_reopen(); /* logs whether it worked */
            reload_signer(s);
        }
        if (*s->flags.stop && !s->drain.stopping) {
            s->drain.stopping = 1;
            s->drain.deadline_mono = now + s->cfg->drain_ms;
            tr_log_info("stopping: no more claims; %d deliveries in flight get up to %d ms",
                        tr_notifiers_running(s->work.notify), s->cfg->drain_ms);
        }
        store_step(s, now);
        wake_connect(s);

        now = tr_clock_mono_ms();
        if (s->drain.stopping && tr_store_claim_outstanding(s->redis.store))
            receive(s, 1); /* its timers are delivered (or released) like the others */
        if (s->drain.stopping)
            release_queued(s); /* not started: another scheduler can send them now */
        if (s->drain.stopping && tr_notifiers_running(s->work.notify) == 0)
            break;
        if (s->drain.stopping && now >= s->drain.deadline_mono) {
            release_all(s);
            break;
        }
        write_hists(s, now, 0);
        if (now >= s->report.next_status_mono) {
            status_line(s);
            s->report.next_status_mono = now + (int64_t)s->cfg->interval_s * 1000;
        }

        int free_slots = claim_room(s);
        /* The wake line's sockets (one per master on a cluster), then the store's
         * while answers are owed (a cluster: the masters that owe them). */
        int fds[TR_WAKE_FDS_MAX + TR_STORE_FDS_MAX], ready[TR_WAKE_FDS_MAX + TR_STORE_FDS_MAX];
        int nw = tr_wake_fds(s->wake.line, fds, TR_WAKE_FDS_MAX);
        size_t nstore =
            outstanding(s) ? tr_store_fds(s->redis.store, fds + nw, TR_STORE_FDS_MAX) : 0;
        int timeout = sleep_ms(s, now, free_slots);
        int unpolled = nstore > TR_STORE_FDS_MAX; /* a cluster of more masters */
        if (unpolled) {
            /* The others are read by each turn's receive() (which polls them itself). */
            nstore = TR_STORE_FDS_MAX;
            timeout = timeout > 1 ? 1 : timeout;
        }
        if (tr_notifiers_wait(s->work.notify, fds, ready, (unsigned)nw + (unsigned)nstore,
                              timeout) != 0) {
            tr_log_error("libcurl multi or a notifier failed; stopping");
            collect(s);
            if (tr_store_claim_outstanding(s->redis.store))
                receive(s, 1);
            release_all(s);
            rc = -1;
            break;
        }
        int store_ready = 0;
        for (size_t i = 0; i < nstore; i++)
            store_ready |= ready[(size_t)nw + i];
        /* Also when a cluster's master stayed silent past its timeout (given up
         * there) or an answer is in without a read. */
        if (store_ready || unpolled ||
            (outstanding(s) && tr_store_recv_in_ms(s->redis.store) == 0))
            receive(s, 0);
        wake_drain(s, fds, ready, nw);
        collect(s);
        pump(s); /* the slots collect() freed, and queue waits that ran out */
        store_step(s, tr_clock_mono_ms()); /* this round's outcomes, or a claim */
    }
    s->drain.exiting = 1;
    final_flush(s);
    write_hists(s, tr_clock_mono_ms(), 1);
    status_line(s);
    tr_log_info("stopped: %llu finished while draining, %llu released, %zu outcomes unwritten",
                (unsigned long long)s->drain.drained, (unsigned long long)s->drain.released,
                tr_pending_count(s->work.pending));
    return rc;
}

int tr_sched_run(const tr_config *cfg, tr_sched_flags flags, tr_sign *signer)
{
    int rc = -1;
    sched s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.work.signer = signer;
    s.flags = flags;
    s.claim.next_due_ms = -1;
    s.work.pending_since_mono = -1;
    s.claim.wake_due_ms = -1;
    uint64_t seed = 0;
    if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
        seed = (uint64_t)tr_clock_mono_us() ^ ((uint64_t)getpid() << 32);
    tr_rng_seed(&s.rng, seed);
    tr_reconnect_init(&s.redis.rc, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
    tr_reconnect_init(&s.wake.rc, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
    if (tr_sched_stats_init(&s.report.st, LATE_SAMPLE) != 0 ||
        (s.redis.store = tr_store_new(cfg)) == NULL || (s.wake.line = tr_wake_new(cfg)) == NULL ||
        (s.work.dl = tr_deliver_new(cfg)) == NULL ||
        (s.work.notify = tr_notifiers_new(s.work.dl)) == NULL ||
        (s.work.pending = tr_pending_new()) == NULL ||
        (s.work.dests = tr_dests_new(cfg->host_limit, cfg->breaker_failures,
                                     cfg->lease_margin_ms / 2, cfg->max_inflight,
                                     cfg->timeout_ms, s.work.dl)) ==
            NULL) {
        tr_log_error("cannot start: out of memory or libcurl multi init failed");
        goto done;
    }
    /* Without --scheduler-id nothing names this scheduler across restarts: its tokens
     * are unique by the random incarnation, and it recovers no earlier run. */
    const char *id = cfg->scheduler_id[0] != '\0' ? cfg->scheduler_id : TR_SCHEDULER_ID_NONE;
    uint64_t incarnation = 0;
    if (RAND_bytes((unsigned char *)&incarnation, sizeof incarnation) != 1)
        incarnation = tr_rng_next(&s.rng);
    if (tr_claim_tokens_init(&s.claim.tokens, id, incarnation) != 0) {
        tr_log_error("cannot start: --scheduler-id '%s' is not valid", id);
        goto done;
    }
    tr_log_info("scheduler id %s, claim tokens %s<n>", id, s.claim.tokens.run_prefix);
    s.claim.recover_run = cfg->scheduler_id[0] != '\0';
    s.redis.migrate = 1; /* one EXISTS finds out whether there is anything to move */
    tr_pending_on_notice(s.work.pending, send_notice, &s);
    tr_deliver_on_connect(s.work.dl, on_connect, &s);
    tr_notify_tcp *tcp = tr_notify_tcp_new(cfg, s.work.dl, on_connect, &s);
    if (tcp == NULL ||
        tr_notifiers_add(s.work.notify, TR_NOTIFY_TCP, &tr_notify_tcp_ops, tcp) != 0) {
        tr_log_error("cannot start: out of memory (tcp notifier)");
        goto done;
    }
    if (cfg->stream_redis[0] != '\0') {
        /* redis-stream:// targets in another Redis (tr_notify_xstream.h). */
        char err[256];
        tr_notify_xstream *xs = tr_notify_xstream_new(cfg, s.work.dl, err, sizeof err);
        if (xs == NULL ||
            tr_notifiers_add(s.work.notify, TR_NOTIFY_STREAM, &tr_notify_xstream_ops, xs) != 0) {
            tr_log_error("cannot start: --stream-redis: %s", xs == NULL ? err : "out of memory");
            goto done;
        }
        tr_log_info("redis-stream:// targets go to the redis at %s (at least once, not "
                    "atomic with the ack)", cfg->stream_redis);
    } else if (cfg->cluster[0] != '\0') {
        /* The stream's slot is not the timer's shard's: written before a plain ack
         * (tr_notify_cstream.h). */
        tr_notify_cstream *cs = tr_notify_cstream_new(cfg, s.work.dl, s.redis.store);
        if (cs == NULL ||
            tr_notifiers_add(s.work.notify, TR_NOTIFY_STREAM, &tr_notify_cstream_ops, cs) != 0) {
            tr_log_error("cannot start: out of memory (stream notifier)");
            goto done;
        }
        tr_log_info("redis-stream:// targets go to {%s}:stream:NAME on the cluster, written "
                    "before the ack (at least once, one entry per firing within "
                    "--stream-dedupe-ms)", cfg->key);
    } else {
        tr_notify_stream *stream = tr_notify_stream_new(s.work.dl);
        if (stream == NULL ||
            tr_notifiers_add(s.work.notify, TR_NOTIFY_STREAM, &tr_notify_stream_ops, stream) != 0) {
            tr_log_error("cannot start: out of memory (stream notifier)");
            goto done;
        }
    }
    tr_deliver_set_signer(s.work.dl, s.work.signer);
    s.claim.need = 1;
    s.report.next_hist_mono = tr_clock_mono_ms() + HIST_WRITE_MS;
    s.report.next_status_mono = tr_clock_mono_ms() + (int64_t)cfg->interval_s * 1000;
    /* On a cluster, a master that does not answer holds back only its own shards
     * (docs/CLUSTER.md): its claim tokens are revoked as long as lost claims' are. */
    if (tr_store_set_cutoff(s.redis.store, REVOKE_MS) != 0) {
        tr_log_error("cannot start: %s", tr_store_error(s.redis.store));
        goto done;
    }
    /* ... and the wake line leaves it alone meanwhile (a connect would wait for it). */
    tr_wake_set_gone(s.wake.line, master_gone, s.redis.store);
    if (tr_store_connect(s.redis.store) != 0) {
        if (tr_store_refused(s.redis.store)) {
            tr_log_error("cannot start: %s", tr_store_error(s.redis.store));
            goto done;
        }
        store_failed(&s, "connect");
    }
    rc = loop(&s);
done:
    tr_dests_free(s.work.dests); /* queued transfers go back to the deliverer first */
    tr_pending_free(s.work.pending);
    tr_notifiers_free(s.work.notify); /* what they hold goes back to the pool first */
    tr_deliver_free(s.work.dl);
    tr_sign_free(s.work.signer);
    tr_wake_free(s.wake.line);
    tr_store_free(s.redis.store);
    tr_sched_stats_free(&s.report.st);
    return rc;
}
