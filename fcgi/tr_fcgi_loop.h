/* tr_fcgi_loop.h - the FastCGI serving loop of timerush-fcgi.
 *
 * Serves the listening socket on fd 0 (spawn-fcgi's FCGI_LISTENSOCK_FILENO) with a
 * dispatcher (the calling thread) and cfg->threads request threads:
 * - The dispatcher waits in epoll on the listening socket and on every idle
 *   kept-alive connection. It accepts new connections (tr_fcgi_accept.h) and hands
 *   each connection that has a request waiting to the threads (tr_fd_queue.h).
 * - A request thread serves one request from the connection with libfcgi
 *   (FCGX_Accept_r reads it, tr_route_dispatch() answers, FCGX_Finish_r ends it)
 *   and gives a kept-alive connection back to the dispatcher's epoll.
 * So an idle connection costs a descriptor, never a thread or a process: requests
 * never wait behind connections nginx keeps open (`keepalive` in its upstream),
 * whatever their number. Each thread has its own store (Redis connection); the
 * single creates of all threads go through one tr_store_group (tr_store_group.h),
 * so concurrent creates share one script call. Nothing else is shared but the
 * process-wide configuration and the log.
 *
 * Signals: SIGTERM/SIGINT stop accepting; the threads finish the requests already
 * received (queued or in hand), then the function returns; idle connections are
 * closed when the process exits. SIGHUP reopens the log; SIGPIPE is ignored. The
 * signals are blocked in every thread and taken only in the dispatcher's
 * epoll_pwait, so Redis and FastCGI I/O never see EINTR. fd 0 is made
 * non-blocking and watched with EPOLLEXCLUSIVE: several processes share it, one is
 * woken per connection, and one that loses the race gets EAGAIN.
 */
#ifndef TR_FCGI_LOOP_H
#define TR_FCGI_LOOP_H

#include "tr_config.h"

/* Installs the signal handlers and runs until SIGTERM/SIGINT. Returns 0 after a
 * clean stop, -1 on a fatal error (logged): fd 0 is not a listening socket or
 * became unusable, or the threads or their stores could not be made. */
int tr_fcgi_run(const tr_config *cfg);

#endif
