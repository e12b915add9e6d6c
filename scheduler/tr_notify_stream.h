/* tr_notify_stream.h - the stream notifier (tr_notifier.h): timers whose target is
 * redis-stream://NAME are delivered by an XADD to the stream {P}:stream:NAME in
 * TimeRush's own Redis (docs/PROTOCOL.md, "Redis stream targets").
 *
 * The delivery is a write that must be atomic with the ack, so this notifier does
 * no I/O at all: start() reports the delivery done at once (result CURLE_OK,
 * status 200, empty body: plain done, never a chain, as tr_answer.h reads it), and
 * tr_outcome puts the entry (fields key, attempt, due_ms, data) into the ACK it
 * queues (tr_finish.stream). ack.lua writes the entry under the claim's fence, in
 * the same script that removes the timer from inflight: the timer is never both
 * in the stream and pending, a stale ack adds nothing, and a scheduler killed
 * before the ack reached Redis left no entry (the timer comes back after its
 * lease: at least once, a second entry only when an ack was applied and its
 * answer lost, the same key, attempt and due_ms). --stream-maxlen bounds the
 * stream (XADD MAXLEN ~). A key holding something else than a stream puts the
 * timer in the dead-letter set (ack.lua), never half-applied.
 *
 * Ownership: a started tr_xfer is the notifier's until done()/abort_one() hands it
 * back (a FIFO of finished ones); ops->free returns what it still holds to the
 * tr_deliver pool.
 */
#ifndef TR_NOTIFY_STREAM_H
#define TR_NOTIFY_STREAM_H

#include "tr_config.h"
#include "tr_deliver.h"
#include "tr_notifier.h"

typedef struct tr_notify_stream tr_notify_stream;

extern const tr_notifier_ops tr_notify_stream_ops;

/* A stream notifier over dl (its tr_xfer pool; borrowed, must outlive it). NULL
 * when out of memory. Register it with
 * tr_notifiers_add(ns, TR_NOTIFY_STREAM, &tr_notify_stream_ops, t). */
tr_notify_stream *tr_notify_stream_new(tr_deliver *dl);

/* 1 when redis-stream:// entries are written by the ack script (this notifier: one
 * Redis, no --stream-redis); 0 when a notifier wrote them before a plain ack
 * (--stream-redis: tr_notify_xstream.h; --cluster: tr_notify_cstream.h). */
int tr_notify_stream_in_ack(const tr_config *cfg);

#endif
