/* tr_store_group.h - the creates of several threads of one process, grouped into
 * one script call ("group commit").
 *
 * timerush-fcgi's request threads each have a store (a Redis connection). A store
 * that joined a group sends its creates (tr_store_add, tr_store_create: one timer or
 * a batch) through the group: the first thread to arrive while no call of the
 * group runs sends the creates of every thread waiting at that moment (oldest
 * first, up to 1,000 in all (one create script call), one thread's never split) as one create
 * script call on the group's own connection, and the others wait for that call's
 * answer; whoever arrives meanwhile goes in a next call. So:
 * - a lone create is sent at once: grouping adds no wait when idle;
 * - under load one call carries many creates: Redis runs one script (one TIME, one
 *   wake message, one stats write) where it ran one per create, and the process
 *   makes one round trip;
 * - a process has one create call in Redis at a time: creates that wait, wait in
 *   the process (no timeout), not in Redis's queue behind other threads' scripts,
 *   where --redis-timeout-ms would turn a long queue into "outcome unknown".
 * Each create keeps its own answer (created, or the existing timer's due time).
 *
 * A call that fails fails every create in it, and each caller's own store then
 * holds that error (tr_store_error_code / tr_store_error), exactly as if its own
 * call had failed: TR_RET_STORE_DOWN (nothing sent) or TR_RET_OUTCOME_UNKNOWN (sent,
 * no answer: maybe applied). The group owns its store; the member stores stay the
 * callers'. Thread-safe.
 */
#ifndef TR_STORE_GROUP_H
#define TR_STORE_GROUP_H

#include "tr_config.h"
#include "tr_store.h"

typedef struct tr_store_group tr_store_group;

/* A group with its own connection to the Redis of cfg (borrowed; it outlives the
 * group). NULL when out of memory or a pthread call failed. */
tr_store_group *tr_store_group_new(const tr_config *cfg);

/* Frees the group; no member may be using it. NULL is accepted. */
void tr_store_group_free(tr_store_group *group);

/* Sends store's creates (one or a batch) through group from now on (NULL: alone
 * again). The group must outlive the membership. */
void tr_store_join_group(tr_store *store, tr_store_group *group);

#endif
