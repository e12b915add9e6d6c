/* tr_fcgi_loop.h - the FastCGI serving loop of timerush-fcgi.
 *
 * Serves the listening socket on fd 0 (spawn-fcgi's FCGI_LISTENSOCK_FILENO) with
 * cfg->threads request threads and one epoll set holding the listening socket and
 * every idle kept-alive connection. Each thread waits in that epoll for one event:
 * a new connection (it accepts it, tr_fcgi_accept.h, and serves its first request)
 * or an idle connection with a request (it serves it). Serving is libfcgi's
 * FCGX_Accept_r on that connection, tr_route_dispatch(), FCGX_Finish_r; a
 * connection the web server keeps alive goes back into the epoll set (EPOLLONESHOT:
 * one thread per event). So an idle connection costs a descriptor, never a thread
 * or a process: requests never wait behind connections nginx keeps open
 * (`keepalive` in its upstream), whatever their number; and the thread that is
 * woken serves, with no hand-off to another thread.
 *
 * Each thread has its own store (Redis connection); the creates of all
 * threads go through one tr_store_group (tr_store_group.h), so concurrent creates
 * share one script call. Nothing else is shared but the process-wide
 * configuration and the log.
 *
 * Signals: SIGTERM/SIGINT stop the threads: each finishes the request in hand and
 * leaves (an eventfd in the epoll set wakes the waiting ones); idle connections
 * close when the process exits. SIGHUP reopens the log; SIGPIPE is ignored. The
 * signals are blocked in every thread except inside epoll_pwait, so Redis and
 * FastCGI I/O never see EINTR. fd 0 is made non-blocking and watched with
 * EPOLLEXCLUSIVE: several processes share it, one is woken per connection, and one
 * that loses the race gets EAGAIN.
 */
#ifndef TR_FCGI_LOOP_H
#define TR_FCGI_LOOP_H

#include "tr_config.h"

/* Installs the signal handlers and runs until SIGTERM/SIGINT. Returns 0 after a
 * clean stop, -1 on a fatal error (logged): fd 0 is not a listening socket or
 * became unusable, or the threads or their stores could not be made. */
int tr_fcgi_run(const tr_config *cfg);

#endif
