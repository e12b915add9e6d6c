/* tr_store.h - every TimeRush state change, as one server-side script in Redis.
 *
 * Owns one blocking hiredis connection and the Lua scripts (shared/lua/NAME.lua,
 * embedded at build time, loaded with SCRIPT LOAD, called with EVALSHA; a NOSCRIPT
 * answer after a Redis restart reloads them and repeats the call once). Free of any
 * event loop: the FastCGI handlers and the scheduler both call it.
 *
 * The connection is made lazily and remade after any I/O error: a call that finds
 * it broken reconnects first (bounded by --redis-timeout-ms), so a handler answers
 * TR_RET_STORE_DOWN within about two timeouts while Redis is away and recovers by
 * itself when Redis returns.
 *
 * Data model (prefix P from --key; every key holds the hash tag {P}):
 *   {P}:due       ZSET  id -> due time, ms on the Redis clock
 *   {P}:timers    HASH  id -> record (tr_timer.h), present while the timer lives
 *   {P}:inflight  ZSET  id -> lease deadline, ms; claimed and not yet finished
 *   {P}:attempts  HASH  id -> deliveries started (claims); the fencing token
 *   {P}:meta      HASH  id -> JSON from the last failure (tr_finish.meta)
 *   {P}:dead      ZSET  id -> when it was given up, ms
 *   {P}:stats     HASH  counter -> value (created, cancelled, delivered, chained,
 *                       retried, dead, reaped, released, failed, fired)
 *   {P}:paused    STRING present while deliveries are paused (POST /v1/pause)
 *   {P}:hist:lateness, {P}:hist:duration  HASH  histogram buckets (tr_store_observe)
 *   {P}:wake      pub/sub channel: "<due ms>" whenever a script makes a timer the
 *                       earliest in {P}:due
 * docs/DATA_MODEL.md describes each script. The code is in tr_store.c (connection,
 * scripts, add, cancel, claim), tr_store_finish.c (outcomes) and tr_store_rest.c
 * (the REST operations), which share shared/tr_store_int.h.
 */
#ifndef TR_STORE_H
#define TR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tr_config.h"
#include "tr_error.h"

typedef struct tr_store tr_store;

/* Makes a store for cfg (which must outlive it). No I/O. NULL when out of memory. */
tr_store *tr_store_new(const tr_config *cfg);

/* Closes the connection and frees. Takes NULL. */
void tr_store_free(tr_store *store);

/* Connects (when not connected), selects --db, authenticates, loads the scripts.
 * 0, or -1 with the reason in tr_store_error(). Every operation below calls it. */
int tr_store_connect(tr_store *store);

/* The last failure: a tr_ret (TR_RET_STORE_DOWN when Redis could not be reached or
 * timed out, TR_RET_INTERNAL for an unexpected reply) and a message, valid until
 * the next call on this store. */
tr_ret tr_store_error_code(const tr_store *store);
const char *tr_store_error(const tr_store *store);

/* Stores a new timer `id` with `record`, due `delay_ms` after Redis's TIME (>= 0).
 * Returns 0 and sets *due_ms; 1 when `id` already exists (nothing changed, *due_ms
 * is its current due time or -1 when it is in flight or dead); -1 on failure. */
int tr_store_add(tr_store *store, const char *id, const char *record, size_t record_len,
                 int64_t delay_ms, int64_t *due_ms);

/* Cancels `id` in any state (pending, in flight, dead). Returns 0 and sets *ttl_ms
 * to the time that was left (0 when in flight or dead, -1 when unknown); -1 on
 * failure. */
int tr_store_cancel(tr_store *store, const char *id, int64_t *ttl_ms);

/* One claimed timer. Strings are owned by the batch. */
typedef struct tr_claimed {
    char *id;            /* NUL-terminated */
    int64_t due_ms;      /* when this timer was due (the retry time for a retry) */
    int64_t attempt;     /* 1 for the first delivery: the fencing token for finish */
    char *record;        /* record_len bytes, NUL-terminated */
    size_t record_len;
    char *meta;          /* meta_len bytes, NUL-terminated; NULL before any failure */
    size_t meta_len;
} tr_claimed;

typedef struct tr_claim_batch {
    int64_t now_ms;      /* Redis TIME when the claim ran */
    int paused;          /* 1 while deliveries are paused ({P}:paused): nothing claimed */
    int64_t next_ms;     /* earliest due time or lease deadline left, -1 when none */
    size_t count;
    tr_claimed *items;   /* count items, owned */
} tr_claim_batch;

/* Atomically: returns leases that ran out to {P}:due (the reaper), then moves up
 * to `limit` due timers (score <= now) into {P}:inflight with deadline now +
 * lease_ms, increments their attempts, and returns them. Fills *out (clear it with
 * tr_claim_batch_clear() even after -1). 0 or -1. */
int tr_store_claim(tr_store *store, size_t limit, int64_t lease_ms, tr_claim_batch *out);

/* The same claim without waiting for the answer, for a loop that polls (like
 * tr_store_finish_send() below: every other call is refused until its answer is
 * read). One claim outstanding at most; it may be sent behind an outstanding
 * finish (pipelined: the finish's answers are read first).
 * tr_store_claim_send(): 0, or -1 (nothing outstanding). tr_store_claim_recv():
 * fills *out (clear it with tr_claim_batch_clear() whatever the result);
 * wait == 0: at most one read(2), call it when tr_store_fd() is readable;
 * wait < 0: no read, only what an earlier read brought; both answer 0 while the
 * answer is owed; wait > 0: blocks. Every mode answers 0 while a finish sent
 * before it is owed (read that first). 1 done, -1 failed (nothing outstanding
 * any more; the timers it may have claimed return after their lease). */
int tr_store_claim_send(tr_store *store, size_t limit, int64_t lease_ms);
int tr_store_claim_recv(tr_store *store, tr_claim_batch *out, int wait);
int tr_store_claim_outstanding(const tr_store *store);

/* Frees the items and zeroes the batch. Safe on a zeroed batch. */
void tr_claim_batch_clear(tr_claim_batch *batch);

typedef enum tr_finish_kind {
    TR_FINISH_ACK = 0,     /* delivered: remove it, optionally create a chained timer */
    TR_FINISH_RETRY = 1,   /* failed: due again delay_ms from now, meta stored */
    TR_FINISH_DEAD = 2,    /* failed for the last time: into {P}:dead, meta stored */
    TR_FINISH_RELEASE = 3, /* not delivered (shutdown): due again at once, attempt undone */
    TR_FINISH_EXTEND = 4   /* still delivering: lease deadline moved to delay_ms from now */
} tr_finish_kind;

/* The outcome of one delivery. Strings are borrowed for the call. */
typedef struct tr_finish {
    tr_finish_kind kind;
    const char *id;
    int64_t attempt;             /* from the claim; RETRY/DEAD/RELEASE apply only when
                                  * it still matches (no other scheduler took over) */
    int64_t delay_ms;            /* RETRY: from Redis's now */
    const char *meta;            /* RETRY/DEAD: JSON kept with the timer, e.g.
                                  * {"due":..,"attempts":..,"status":..,"error":".."} */
    const char *chain_id;        /* ACK: the chained timer's key, or NULL for none */
    const char *chain_record;    /* ACK: its record */
    size_t chain_record_len;
    int64_t chain_delay_ms;      /* ACK: its delay from Redis's now, > 0 */
    const char *repeat_record;   /* ACK/DEAD of a recurring timer's firing, when not
                                  * NULL: the id stays, due again at repeat_at_ms (Redis
                                  * clock) with this as its record (fired count updated)
                                  * and attempts reset; DEAD then stores meta and counts
                                  * "dead" but does not enter {P}:dead */
    int64_t repeat_at_ms;
    size_t repeat_record_len;
} tr_finish;

/* Applies n outcomes in one pipelined round trip (plain acks - no chain, no
 * repeat - of the round go together in one script call, after the others).
 * results[i] is 1 when applied, 0 when stale (the timer was cancelled, or another
 * claim owns it now), -1 when refused: a malformed item (unknown kind, no id, a
 * chain without a record) or one Redis answered with an error that is not
 * "cannot serve now"; it is logged and not applied (the timer returns after its
 * lease), and never holds back the others. Returns 0 when every answer arrived;
 * -1 on failure (Redis unreachable or unable to serve), and then no result is
 * known: keep the outcomes and call again once connected (each is safe to apply
 * twice). */
int tr_store_finish(tr_store *store, const tr_finish *items, size_t n, int *results);

/* The same finish without waiting for Redis's answers, for a loop that polls:
 * at most one outstanding per store, and until its answers are read every other
 * call on the store fails (TR_RET_INTERNAL) - read them first.
 *
 * tr_store_finish_send() writes the whole pipeline for items[0..n) and returns
 * 0, or -1 (nothing outstanding; keep the outcomes and send again later).
 * tr_store_fd() is the socket to poll for reading (-1 when disconnected).
 * tr_store_finish_recv() takes the answers that arrived: `items` must hold the
 * same n outcomes at the same indexes (the array may have moved), `results` n
 * entries. wait == 0: at most one read(2), call it when the socket is readable;
 * wait < 0: no read; both return 0 while answers are owed. wait > 0: blocks
 * (--redis-timeout-ms) until all are in. Returns 1 when done (results as tr_store_finish(); malformed ones
 * -1), -1 on failure (as tr_store_finish(): no result is known, the outcome is
 * not outstanding any more, send again once connected). */
int tr_store_finish_send(tr_store *store, const tr_finish *items, size_t n);
int tr_store_fd(const tr_store *store);
int tr_store_finish_outstanding(const tr_store *store);
int tr_store_finish_recv(tr_store *store, const tr_finish *items, int *results, int wait);

/* Histogram bucket upper bounds, ms, for /metrics (Prometheus "le" labels in
 * seconds); a last bucket +Inf is implied. */
#define TR_HIST_BUCKETS 12
extern const int64_t tr_hist_bounds_ms[TR_HIST_BUCKETS];

/* Adds a round's observations to {P}:hist:<name> ("lateness" or "duration"):
 * counts[i] observations <= tr_hist_bounds_ms[i] and above the previous bound,
 * counts[TR_HIST_BUCKETS] above the last; sum_ms and count added too. Stored as
 * per-bucket (not cumulative) counts. One round trip. 0 or -1. */
int tr_store_observe(tr_store *store, const char *name,
                     const uint64_t counts[TR_HIST_BUCKETS + 1], int64_t sum_ms,
                     uint64_t count);

/* ---- The REST API (/v1/) ---- */

/* Where a timer is. */
typedef enum tr_timer_state {
    TR_STATE_NONE = 0,      /* unknown */
    TR_STATE_PENDING = 1,   /* in {P}:due */
    TR_STATE_IN_FLIGHT = 2, /* in {P}:inflight */
    TR_STATE_DEAD = 3       /* in {P}:dead */
} tr_timer_state;

/* "pending", "in_flight", "dead" ("unknown" for NONE). */
const char *tr_timer_state_name(tr_timer_state state);

/* Like tr_store_cancel(), and *state says where the timer was (NONE: unknown). */
int tr_store_cancel_state(tr_store *store, const char *id, int64_t *ttl_ms,
                          tr_timer_state *state);

/* One idempotent create. Strings borrowed for the call. */
typedef struct tr_create {
    const char *id;
    const char *record;
    size_t record_len;
    int64_t delay_ms;   /* from Redis's now (>= 0), used when at_ms < 0 */
    int64_t at_ms;      /* epoch ms on the Redis clock, or -1; in the past: now */
} tr_create;

typedef enum tr_create_result {
    TR_CREATE_NEW = 0,       /* stored */
    TR_CREATE_SAME = 1,      /* id exists with the same record (fired count aside) */
    TR_CREATE_CONFLICT = 2   /* id exists with another record */
} tr_create_result;

/* *now_ms: Redis TIME of the (last) call, rounded up like due times.
 * Applies n creates with one script call per 1000 (one round trip for a batch
 * of up to 1000; one TIME, one wake message). results[i] and due_ms[i] (-1 when
 * the existing timer is in flight or dead) are set for each. 0, or -1 on failure
 * (then some may have been stored; repeating is safe: they answer
 * TR_CREATE_SAME). */
int tr_store_create(tr_store *store, const tr_create *items, size_t n,
                    tr_create_result *results, int64_t *due_ms, int64_t *now_ms);

/* A timer as stored, for answers. Owns its strings; tr_timer_view_clear(). */
typedef struct tr_timer_view {
    char *id;              /* NUL-terminated */
    tr_timer_state state;
    int64_t now_ms;        /* Redis TIME when read */
    int64_t score_ms;      /* pending: due; in flight: lease deadline; dead: dead at */
    int64_t attempts;      /* deliveries started (0 before the first) */
    char *record;          /* record_len bytes + NUL */
    size_t record_len;
    char *meta;            /* meta_len bytes + NUL; NULL before any failure */
    size_t meta_len;
} tr_timer_view;

void tr_timer_view_clear(tr_timer_view *view); /* frees, zeroes; safe on zeroed */

/* Reads one timer. 0 found (*out filled, clear it), 1 unknown, -1 failure. */
int tr_store_get(tr_store *store, const char *id, tr_timer_view *out);

/* One page of pending (dead == 0, by due time) or dead (by dead time) timers, in
 * (score, id) order, strictly after (after_score, after_id) when after_id is not
 * NULL. Up to `limit` (1..1000) into *out (caller frees each with
 * tr_timer_view_clear() and the array with free()), *n set. limit up to 1001
 * (one more than a page, to learn whether another page follows). 0 or -1. */
int tr_store_list(tr_store *store, int dead, int64_t after_score, const char *after_id,
                  size_t limit, tr_timer_view **out, size_t *n);

/* A pending timer due at a new time (delay_ms from now, or at_ms when >= 0).
 * 0 done (*due_ms set), 1 unknown, 2 in flight or dead (unchanged), -1 failure. */
int tr_store_reschedule(tr_store *store, const char *id, int64_t delay_ms, int64_t at_ms,
                        int64_t *due_ms);

/* A dead timer due now again, attempts reset. 0 done, 1 not dead, -1 failure. */
int tr_store_replay(tr_store *store, const char *id, int64_t *due_ms);

/* Sets (1) or clears (0) {P}:paused; clearing wakes the schedulers. 0 or -1. */
int tr_store_set_paused(tr_store *store, int paused);

/* Counters of {P}:stats, in this order (tr_store_stats_names). */
#define TR_STATS_COUNT 11
extern const char *const tr_store_stats_names[TR_STATS_COUNT];

typedef struct tr_store_stats {
    int64_t pending, in_flight, dead;   /* ZCARDs */
    int paused;
    int64_t totals[TR_STATS_COUNT];     /* by tr_store_stats_names */
    /* with_hist: per-bucket counts (not cumulative), then sum and count */
    uint64_t lateness[TR_HIST_BUCKETS + 1], duration[TR_HIST_BUCKETS + 1];
    int64_t lateness_sum_ms, duration_sum_ms;
    uint64_t lateness_count, duration_count;
} tr_store_stats;

/* Fills *out without scanning (ZCARD, EXISTS, HGETALL). 0 or -1. */
int tr_store_get_stats(tr_store *store, int with_hist, tr_store_stats *out);

/* PING on the store's connection: 0 when Redis answers, -1 otherwise. */
int tr_store_ping(tr_store *store);

#endif
