/* tr_notify_xstream.h - the external stream notifier (tr_notifier.h): with
 * --stream-redis, timers whose target is redis-stream://NAME are XADDed to the
 * stream NAME in that Redis (docs/PROTOCOL.md, "A stream in another Redis") instead
 * of TimeRush's own (tr_notify_stream.h).
 *
 * The entry is the same as in TimeRush's Redis (fields key, attempt, due_ms, data;
 * XADD NAME [MAXLEN ~ --stream-maxlen] *), but the write is no longer atomic with
 * the ack: a delivery is done once that Redis answered the XADD with an entry id,
 * and the ack follows in TimeRush's Redis. A scheduler killed between the two, or a
 * connection lost after the XADD was sent, gives the timer a second entry later (at
 * least once: the same key and due_ms, a higher attempt). Never lost: an entry not
 * confirmed is retried with back-off like any failed delivery.
 *
 * One connection (hiredis, non-blocking), opened by the first delivery that needs
 * it, with AUTH first when --stream-redis-password-file is set; XADDs are
 * pipelined on it and their replies matched in order. HOST is resolved once, when
 * the notifier is made (a name that does not resolve then: every delivery fails
 * until a restart; give an address or a unix socket path).
 * Failures, each a retry of what it touches: a connect that fails; AUTH refused
 * (every delivery then fails with "AUTH refused"); the connection closed, reset or
 * failing a write with XADDs outstanding (all of them); the oldest outstanding
 * XADD not answered within its timeout (--timeout-ms or the timer's: the
 * connection is closed and all outstanding fail); an error reply to one XADD (a
 * key of another type: WRONGTYPE) fails that delivery alone, its error kept as the
 * timer's last error, so after --max-attempts it is dead-lettered with it.
 *
 * Ownership: a started tr_xfer is the notifier's until done()/abort_one() hands it
 * back; ops->free returns what it still holds to the tr_deliver pool and closes the
 * connection. The config is borrowed and must outlive the notifier.
 */
#ifndef TR_NOTIFY_XSTREAM_H
#define TR_NOTIFY_XSTREAM_H

#include "tr_config.h"
#include "tr_deliver.h"
#include "tr_notifier.h"

typedef struct tr_notify_xstream tr_notify_xstream;

extern const tr_notifier_ops tr_notify_xstream_ops;

/* The notifier for cfg->stream_redis over dl (its tr_xfer pool; borrowed). NULL
 * with err filled when the address does not parse or out of memory; a host name
 * that does not resolve is logged and makes every delivery fail (retried). Register
 * it with tr_notifiers_add(ns, TR_NOTIFY_STREAM, &tr_notify_xstream_ops, t). */
tr_notify_xstream *tr_notify_xstream_new(const tr_config *cfg, tr_deliver *dl, char *err,
                                         size_t errlen);

#endif
