/* tr_fcgi_loop.h - the FastCGI accept loop of timerush-fcgi.
 *
 * Serves the listening socket on fd 0 (spawn-fcgi's FCGI_LISTENSOCK_FILENO) with
 * libfcgi, one request at a time, through tr_route_dispatch().
 *
 * Signals: SIGTERM/SIGINT finish the request in hand, then the loop returns;
 * SIGHUP reopens the log; SIGPIPE is ignored. The handlers only set flags. The
 * signals stay blocked except while waiting for the next connection in ppoll(), so
 * Redis and FastCGI I/O never see EINTR and a signal cannot slip in between
 * "check the flag" and "block in accept". fd 0 is made non-blocking: several
 * workers share it, and the one that loses the race to accept gets EAGAIN instead
 * of blocking with the signals masked.
 */
#ifndef TR_FCGI_LOOP_H
#define TR_FCGI_LOOP_H

#include "tr_route.h"

/* Installs the signal handlers and runs until SIGTERM/SIGINT. Returns 0 after a
 * clean stop, -1 on a fatal error (logged): fd 0 is not a listening socket, or
 * it became unusable. */
int tr_fcgi_run(const tr_app *app);

#endif
