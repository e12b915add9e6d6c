/* tr_stream_entry.h - the stream entry write that the notifiers writing outside the
 * ack send (tr_notify_xstream.h: --stream-redis; tr_notify_cstream.h: a Redis
 * Cluster), and how its answer reads (docs/PROTOCOL.md, "A stream in another Redis").
 *
 * With --stream-dedupe-ms > 0 the write is one EVAL: a marker key
 * "<stream key>:timerush-sent:<due_ms>:<timer key>" set NX PX --stream-dedupe-ms,
 * then XADD <stream key> [MAXLEN ~ --stream-maxlen] * key K attempt A due_ms D data X
 * only when the marker was new, so a repeat of one firing adds nothing. The marker
 * extends the stream key's name, so a stream key with a {hash tag} keeps both keys in
 * one cluster slot. With --stream-dedupe-ms 0: the plain XADD.
 *
 * Ownership: a tr_stream_entry is the caller's (a local will do); the argv points
 * into it, into the stream key given and into x (id, data): all must live until the
 * command is written. tr_stream_entry_clear() frees what make() allocated.
 */
#ifndef TR_STREAM_ENTRY_H
#define TR_STREAM_ENTRY_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "tr_config.h"
#include "tr_deliver.h"

#define TR_STREAM_ENTRY_ARGV 16

typedef struct tr_stream_entry {
    int argc;
    const char *argv[TR_STREAM_ENTRY_ARGV];
    size_t argvlen[TR_STREAM_ENTRY_ARGV];
    int idempotent;     /* 1: sending it twice adds one entry (the marker): safe to
                         * resend when its answer was lost */
    char *marker;       /* malloc'd; NULL with --stream-dedupe-ms 0 */
    char attempt[24], due[24], maxlen[24], ttl[24];
} tr_stream_entry;

/* Fills e with the write of x's entry to the stream key `stream` (NUL-terminated).
 * 0, or -1 when out of memory (e needs no clear then). */
int tr_stream_entry_make(tr_stream_entry *e, const tr_config *cfg, const char *stream,
                         const tr_xfer *x);

/* Frees what tr_stream_entry_make() allocated. Safe on a zeroed e. */
void tr_stream_entry_clear(tr_stream_entry *e);

/* Reads the write's reply: 0 when the entry is in the stream (an entry id, or 0: an
 * earlier attempt of the firing wrote it); -1 with "<where>: <the error>" in why. */
int tr_stream_entry_written(const redisReply *r, const char *where, char *why, size_t len);

#endif
