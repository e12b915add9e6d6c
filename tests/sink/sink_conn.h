/* sink_conn.h - the connections of timerush-sink and the state they share.
 *
 * Single thread, epoll, level-triggered. A connection reads, parses every complete
 * request in its buffer, logs each one and queues its answer; a "slow" answer parks
 * the connection on the server's slow list until its time comes (a "drip" answer
 * stays there, one byte per turn, until its last byte), a "timeout" answer parks it
 * for good (input is then read and dropped until the peer leaves).
 * The server owns every connection: tr_sink_server_clear() closes and frees them.
 */
#ifndef SINK_CONN_H
#define SINK_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "sink_log.h"
#include "sink_spec.h"

#define TR_SINK_MAX_HEADER (64 * 1024)
#define TR_SINK_MAX_BODY (64 * 1024 * 1024)

typedef struct tr_sink_route {
    char *path;            /* matched against the request path without its query */
    tr_sink_list answers;
} tr_sink_route;

typedef struct tr_sink_conn tr_sink_conn;

typedef struct tr_sink_server {
    int epfd;
    tr_sink_log log;
    tr_sink_list answers;  /* for paths without a route */
    tr_sink_route *routes; /* nroutes, owned */
    size_t nroutes;
    tr_sink_spec ok;       /* answer of an empty list */
    uint64_t seq;          /* requests seen so far */
    tr_sink_conn *all;     /* every open connection */
    tr_sink_conn *slow;    /* connections waiting for a slow answer */
} tr_sink_server;

/* Takes ownership of the accepted, non-blocking socket fd and watches it.
 * Returns 0, or -1 (fd closed) when out of memory or epoll refuses. */
int tr_sink_conn_add(tr_sink_server *srv, int fd);

/* Handles epoll `events` for conn (the pointer from epoll's data). May free it. */
void tr_sink_conn_event(tr_sink_server *srv, tr_sink_conn *conn, uint32_t events);

/* Sends the slow answers (and drip bytes) due at monotonic time now_us. Returns the
 * epoll timeout to the next one in ms, or -1 when none waits. */
int tr_sink_conn_tick(tr_sink_server *srv, int64_t now_us);

/* Closes and frees every connection, the routes, lists and log buffer (not the
 * log fd or epfd, which the caller opened). */
void tr_sink_server_clear(tr_sink_server *srv);

/* Clocks, µs. */
int64_t tr_sink_mono_us(void);
int64_t tr_sink_wall_us(void);

#endif
