/* tr_fcgi_accept.h - taking a web server's connection off the FastCGI listening
 * socket, as libfcgi's own accept would, for timerush-fcgi's request threads.
 *
 * libfcgi's accept runs inside FCGX_Accept_r and blocks its thread; a thread woken
 * by epoll instead accepts here, serves the connection's request, and leaves it to
 * epoll while it is idle, so an idle kept-alive connection never holds a thread.
 */
#ifndef TR_FCGI_ACCEPT_H
#define TR_FCGI_ACCEPT_H

/* Accepts one connection from the (non-blocking) listening socket. The new
 * descriptor is blocking (libfcgi reads and writes it synchronously) and
 * close-on-exec; a TCP one gets TCP_NODELAY (answers are one small write).
 * allowed: FCGI_WEB_SERVER_ADDRS's value (comma-separated IPv4 addresses) or NULL;
 * when set, a TCP peer outside the list is closed at once (an IPv6 peer too: the
 * list cannot name it, and the check fails closed).
 * Returns the descriptor (the caller owns it), or -1 with errno: EAGAIN when no
 * connection waits, EACCES when a peer was refused, else accept4's error. */
int tr_fcgi_accept(int listen_fd, const char *allowed);

/* Nonzero when the IPv4 address `addr` (dotted text) is in `allowed` (as above).
 * Exposed for the unit tests. */
int tr_fcgi_addr_listed(const char *addr, const char *allowed);

#endif
