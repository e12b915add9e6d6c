/* tr_notify_tcp.h - the TCP notifier (tr_notifier.h): timers whose target is
 * tcp://HOST:PORT or the original's bare HOST:PORT are written as JSON lines over a
 * connection kept open and reused, pipelined.
 *
 * Framing (docs/PROTOCOL.md, "TCP targets"): one line per notification,
 *   {"key":"<key>","attempt":<n>,"due_ms":<due ms of the firing>,"data":<data>}\n
 * data is the callback body itself when it is one JSON value (any newline in it,
 * whitespace by JSON's grammar, sent as a space), else a JSON string of its bytes.
 * The receiver answers one line per notification, in order: {"ret":0} (done),
 * {"ret":0,"data":{...}} (done + chain, as over HTTP); any other JSON object with
 * "ret" is judged as an HTTP 200 answer with that body (ret not 0: retry); a line
 * that is not a JSON object with "ret" is a garbage answer: retry.
 *
 * One connection per destination ("tcp://host:port", tr_dest.h, whose limits and
 * breaker apply as to HTTP: at most --host-limit notifications outstanding on it).
 * Connecting never blocks the loop: libcurl resolves the name (its threaded
 * resolver) and connects (tr_deliver_connect(), CURLOPT_CONNECT_ONLY), the
 * destination policy judging the resolved address in libcurl's open-socket
 * callback exactly as for http; the connected socket is then ours (a dup).
 *
 * Failures, each ending in a retry of what it touches (at least once; never lost):
 *  - connect failure or refusal: every notification waiting for it fails with
 *    libcurl's result (a policy refusal: dead at once, as for http);
 *  - the connection closes, resets or a write fails with notifications
 *    outstanding (a half-written line included): all of them fail;
 *  - the oldest outstanding notification passes its timeout (--timeout-ms or the
 *    timer's): it fails with a timeout, the connection is closed (a late answer
 *    could no longer be matched) and every other outstanding one fails with it.
 *    A receiver that stops reading ends so: its socket buffers fill, lines wait
 *    in memory, bounded by --host-limit notifications;
 *  - an answer line longer than --max-response, or an answer to a line not yet
 *    written: the connection is closed, all outstanding fail;
 *  - a garbage answer fails that notification alone (the stream is still in step).
 * Notifications the receiver had read may so arrive twice; the key, attempt and
 * due_ms in the line let it de-duplicate, as the HTTP headers do.
 *
 * tls://HOST:PORT: the same lines over TLS (docs/PROTOCOL.md, "TLS targets"). After
 * the connect above, OpenSSL runs on our socket (non-blocking: WANT_READ/WANT_WRITE
 * become the events waitfds() asks for), verified as libcurl verifies https:
 * --cacert (else the system store), the certificate checked against HOST (name or
 * address), SNI for a name, --insecure off; --pem presented under --pem-hosts. A
 * failed verification or handshake, or one not done within --connect-timeout-ms,
 * fails every notification waiting on the connection (retried), the reason in
 * errbuf. The destination key is "tls://host:port".
 *
 * Ownership: the notifier owns its connections; a started tr_xfer is the
 * notifier's until done()/abort_one() hands it back; the side connect transfers
 * belong to tr_deliver while they run. ops->free closes every connection (and its
 * TLS session), frees the TLS contexts and returns the transfers it holds to the
 * tr_deliver pool.
 */
#ifndef TR_NOTIFY_TCP_H
#define TR_NOTIFY_TCP_H

#include "tr_config.h"
#include "tr_deliver.h"
#include "tr_notifier.h"

typedef struct tr_notify_tcp tr_notify_tcp;

extern const tr_notifier_ops tr_notify_tcp_ops;

/* A TCP notifier over dl (connects and the tr_xfer pool; borrowed, must outlive
 * it), with cfg's timeouts and --max-response (borrowed). on_connect (may be NULL)
 * is told the peer of each notification when it goes onto a connection, as
 * tr_deliver tells it for http (tr_dests counts per address). NULL when out of
 * memory. Register it with tr_notifiers_add(ns, TR_NOTIFY_TCP, &tr_notify_tcp_ops, t). */
tr_notify_tcp *tr_notify_tcp_new(const tr_config *cfg, tr_deliver *dl,
                                 tr_deliver_connect_fn *on_connect, void *ctx);

/* The line of one notification (no newline) appended to *buf at *len (grown with
 * realloc, *cap its size). 0, or -1 when out of memory (*buf unchanged in size). */
int tr_notify_tcp_line(const char *key, int64_t attempt, int64_t due_ms, const char *data,
                       size_t data_len, char **buf, size_t *len, size_t *cap);

#endif
