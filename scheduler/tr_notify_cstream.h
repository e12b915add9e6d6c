/* tr_notify_cstream.h - the stream notifier on a Redis Cluster (tr_notifier.h):
 * with --cluster and no --stream-redis, timers whose target is redis-stream://NAME
 * are written to the stream {P}:stream:NAME (the name documented for one Redis, in
 * the slot of the hash tag {P}) on the master that serves it, then acked with a
 * plain ack on the timer's shard (docs/CLUSTER.md, "Redis streams on a cluster").
 *
 * Why not in the ack as on one Redis (tr_notify_stream.h): the stream's slot ({P})
 * is not the timer's shard's ({P:i}), and a cluster runs a script on one slot only.
 * So the write goes first, the way --stream-redis does it (tr_stream_entry.h: the
 * marker "{P}:stream:NAME:timerush-sent:<due_ms>:<key>" SET NX PX
 * --stream-dedupe-ms and the XADD in one EVAL, both keys in the {P} slot), and the
 * timer is acked once the cluster answered: at least once, no second entry for one
 * firing within --stream-dedupe-ms.
 *
 * I/O: the store's cluster client (tr_store_cluster(): one slot map, one
 * connection per master and one set of counters per process; MOVED, ASK, retries
 * and map reloads are tr_cluster's), blocking like the store's calls on a cluster: start() queues, perform() writes everything queued as pipelines of up to
 * 64 entries on the {P} slot's master (one round trip each), bounded by
 * --redis-timeout-ms and the client's retries (about 2.3 s when the node is gone).
 * A pipeline that fails fails every delivery still queued (retried with back-off,
 * the reason in the timer's last_error); an error reply (WRONGTYPE) fails its own
 * delivery only. With --stream-dedupe-ms > 0 a write whose answer was lost is sent
 * again by the client (the marker makes that safe); with 0 it fails as maybe written.
 *
 * Ownership: a started tr_xfer is the notifier's until done()/abort_one() hands it
 * back; ops->free returns what it still holds to the tr_deliver pool. The config
 * and the store are borrowed and must outlive the notifier.
 */
#ifndef TR_NOTIFY_CSTREAM_H
#define TR_NOTIFY_CSTREAM_H

#include "tr_config.h"
#include "tr_deliver.h"
#include "tr_notifier.h"
#include "tr_store_sched.h"

typedef struct tr_notify_cstream tr_notify_cstream;

extern const tr_notifier_ops tr_notify_cstream_ops;

/* The notifier for cfg->cluster over dl (its tr_xfer pool) and store (whose
 * cluster client it uses), both borrowed. Contacts nothing yet. NULL when out of
 * memory. Register it with
 * tr_notifiers_add(ns, TR_NOTIFY_STREAM, &tr_notify_cstream_ops, t). */
tr_notify_cstream *tr_notify_cstream_new(const tr_config *cfg, tr_deliver *dl, tr_store *store);

#endif
