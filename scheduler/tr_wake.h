/* tr_wake.h - the scheduler's wake-up line: a pub/sub subscription to every
 * shard's wake channel ({P}:wake, or {P:i}:wake for shard i with --shards S > 1),
 * on connections of its own, whose sockets the scheduler's poll watches.
 *
 * One Redis: one connection, one SUBSCRIBE of every channel (classic pub/sub; the
 * scripts PUBLISH). A Redis Cluster: Redis 7 sharded pub/sub (the scripts SPUBLISH
 * on the shard's channel, which hashes to the shard's slot, so a message stays on
 * that shard's master). The channels are grouped by the master serving their slot
 * (a fresh slot map on every connect), one connection per master
 * (tr_cluster_connect_for_key), one SSUBSCRIBE per channel there (Redis 7.0 wants
 * every channel of one SSUBSCRIBE in one slot, and the shards' slots differ).
 *
 * Every script that makes a timer the earliest in a shard's due set announces its
 * due time there, so a scheduler sleeping until a later time wakes at once.
 * Messages can be lost while a part is disconnected or resubscribing; the scheduler
 * claims again after every loss, so nothing depends on them for correctness, only
 * for promptness.
 */
#ifndef TR_WAKE_H
#define TR_WAKE_H

#include <stdint.h>

#include "tr_config.h"

/* Connections (masters) the line holds at most, so a caller can size its poll
 * array: the channels of masters past this many stay unsubscribed (the line is
 * not up, tr_wake_up(), and the scheduler claims on its short period). */
#define TR_WAKE_FDS_MAX 32

typedef struct tr_wake tr_wake;

/* No I/O. cfg must outlive it. NULL when out of memory. */
tr_wake *tr_wake_new(const tr_config *cfg);
void tr_wake_free(tr_wake *wake); /* takes NULL */

/* Subscribes every channel not subscribed yet. On a cluster: loads a fresh slot
 * map, and for each master serving such a channel makes one new connection (one
 * it held before is closed and its channels join the new one, so each master has
 * one) with one SSUBSCRIBE per channel, each confirmation awaited (blocking,
 * bounded by --redis-timeout-ms). A -MOVED answer (the map was stale) leaves that
 * channel for a second pass with a new map. A master that fails leaves only its
 * own channels unsubscribed: the others' connections are made and kept.
 * 0 when every channel is subscribed, -1 otherwise (tr_wake_error() says the last
 * failure; the connections made stay, try again later for the rest). */
int tr_wake_connect(tr_wake *wake);

/* On a cluster, masters to leave alone: gone(arg, host, port) answers 1 for a
 * master known not to answer now (the scheduler asks its store's cut-off,
 * tr_store_cut_silent). tr_wake_connect() then leaves that master's channels
 * unsubscribed (tr_wake_up() stays 0: they are tried at a later connect, once it
 * is no longer gone; a connection held there already is kept) and loads its slot
 * map from the other seeds first, so a stopped master costs a connect nothing.
 * gone NULL (the default): none. arg is borrowed. */
void tr_wake_set_gone(tr_wake *wake, int (*gone)(void *arg, const char *host, int port),
                      void *arg);

/* 1 when every channel is subscribed (nothing to connect), else 0. */
int tr_wake_up(const tr_wake *wake);

/* The sockets to poll for reading, one per connection: writes at most max to
 * fds and returns how many (0 while nothing is connected). Valid until the next
 * tr_wake_connect() or tr_wake_drain(). */
int tr_wake_fds(const tr_wake *wake, int *fds, int max);

/* Call after the poll: fds[0..n-1] as tr_wake_fds() gave them, ready[i] nonzero
 * when fds[i] was readable. Reads every complete message of those connections
 * without blocking. Sets *earliest_due_ms to the smallest due time announced
 * (unchanged when none). Returns the number of messages, or -1 when a channel was
 * lost: a connection broke (it is closed), or Redis dropped a channel
 * ("sunsubscribe": its slot left that master) - tr_wake_up() is then 0 and
 * tr_wake_connect() subscribes them again; *earliest_due_ms is still set from the
 * messages read. */
int tr_wake_drain(tr_wake *wake, const int *fds, const int *ready, int n,
                  int64_t *earliest_due_ms);

const char *tr_wake_error(const tr_wake *wake);

#endif
