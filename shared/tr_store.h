/* tr_store.h - every TimeRush state change, as one server-side script in Redis:
 * the core both sides use.
 *
 * Owns one blocking hiredis connection and the Lua scripts (shared/lua/NAME.lua,
 * each behind shared/lua/prelude.lua, embedded at build time, loaded with SCRIPT
 * LOAD, called with EVALSHA; a NOSCRIPT answer after a Redis restart reloads them
 * and repeats the call once). Free of any event loop.
 *
 * Three headers, by audience:
 *   tr_store.h        (this one) the store itself: new/free/connect, the last
 *                     error, and the calls both sides make (add, cancel), plus the
 *                     histogram bounds both sides share;
 *   tr_store_sched.h  the scheduler's calls: claim and finish (blocking, or sent
 *                     now and received later), the socket to poll, observe;
 *   tr_store_rest.h   the REST API's calls: create, get, list, reschedule, replay,
 *                     pause, stats, ping, cancel with the state.
 * Implemented by tr_store.c (this header), tr_store_sched.c and tr_store_finish.c
 * (tr_store_sched.h), tr_store_rest.c (tr_store_rest.h); they share the private
 * tr_store_int.h.
 *
 * Ownership: the store borrows its tr_config (which must outlive it) and owns its
 * connection; strings passed in are borrowed for the call; what a call hands back
 * is documented at the call (batches and views have their own _clear()).
 *
 * The connection is made lazily and remade after any I/O error: a call that finds
 * it broken reconnects first (bounded by --redis-timeout-ms), so a handler answers
 * TR_RET_STORE_DOWN within about two timeouts while Redis is away and recovers by
 * itself when Redis returns.
 *
 * Data model (prefix P from --key; every key holds the hash tag {P}). With
 * --shards S > 1 (tr_shard.h) each shard i has the whole layout below under the tag
 * {P:i}, a timer lives in the shard of its key, and {P}:shards holds S:
 *   {P}:due       ZSET  id -> due time, ms on the Redis clock
 *   {P}:timers:<b> HASH id -> record (tr_timer.h), present while the timer lives;
 *                       65,536 buckets, b = 4 hex digits of SHA-1(id) (prelude.lua).
 *                       {P}:timers itself: older versions' single hash, read
 *                       while it exists, emptied by tr_store_migrate
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
 * docs/DATA_MODEL.md describes each script.
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
 * 0, or -1 with the reason in tr_store_error(). Every operation calls it. */
int tr_store_connect(tr_store *store);

/* 1 when Redis holds another shard count than --shards ({P}:shards, tr_shard.h):
 * the store then never serves (every call fails) and the program should exit. */
int tr_store_refused(const tr_store *store);

/* The last failure: a tr_ret (TR_RET_STORE_DOWN when Redis could not be reached or
 * timed out, TR_RET_INTERNAL for an unexpected reply) and a message, valid until
 * the next call on this store. */
tr_ret tr_store_error_code(const tr_store *store);
const char *tr_store_error(const tr_store *store);

/* What tr_store_add() did. */
typedef enum tr_store_add_result {
    TR_STORE_ADD_FAILED = -1, /* nothing known; tr_store_error() says why */
    TR_STORE_ADD_NEW = 0,     /* stored */
    TR_STORE_ADD_EXISTS = 1   /* the id exists already: nothing changed */
} tr_store_add_result;

/* Stores a new timer `id` with `record`, due `delay_ms` after Redis's TIME (>= 0).
 * NEW sets *due_ms; EXISTS sets it to the existing timer's due time, or -1 when it
 * is in flight or dead. A store in a group (tr_store_group.h) sends it in the
 * group's next create script call, with other threads' creates. */
tr_store_add_result tr_store_add(tr_store *store, const char *id, const char *record,
                                 size_t record_len, int64_t delay_ms, int64_t *due_ms);

/* Cancels `id` in any state (pending, in flight, dead). Returns 0 and sets *ttl_ms
 * to the time that was left (0 when in flight or dead, -1 when unknown); -1 on
 * failure. tr_store_cancel_state() (tr_store_rest.h) also says where it was. */
int tr_store_cancel(tr_store *store, const char *id, int64_t *ttl_ms);

/* Histogram bucket upper bounds, ms: the scheduler adds observations by them
 * (tr_store_observe), /metrics reads them back (tr_store_get_stats; Prometheus
 * "le" labels in seconds); a last bucket +Inf is implied. */
#define TR_HIST_BUCKETS 12
extern const int64_t tr_hist_bounds_ms[TR_HIST_BUCKETS];

#endif
