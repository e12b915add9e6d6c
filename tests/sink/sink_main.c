/* timerush-sink - a loopback HTTP receiver for TimeRush's tests and benchmarks.
 *
 *   timerush-sink --listen HOST:PORT --port-file FILE --log FILE
 *                 [--answer SPEC]... [--route PATH=SPEC]...
 *
 * Records every request as one JSON line in --log and answers as told (see
 * sink_spec.h). PORT 0 picks a free port; the port is written to --port-file
 * (tmp + rename) once the socket listens. SIGTERM/SIGINT: exit 0.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sink_conn.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: timerush-sink --listen HOST:PORT [--port-file FILE] [--log FILE]\n"
            "                     [--answer SPEC]... [--route PATH=SPEC]...\n"
            "SPEC: ok | status:N | ret:N | timeout | close | chain:JSON |\n"
            "      retry-after:N:S | redirect:N:URL | slow:MS | garbage | drip:MS\n"
            "      garbage: a line that is not HTTP, then close; drip:MS: the ok answer\n"
            "      one byte every MS ms\n"
            "--answer specs are used in order, one per request; the last repeats (default ok).\n"
            "--route gives PATH its own list. PORT 0 picks a free port.\n");
}

static int add_route(tr_sink_server *srv, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        snprintf(err, errlen, "--route wants PATH=SPEC, got '%s'", arg);
        return -1;
    }
    size_t plen = (size_t)(eq - arg);
    for (size_t i = 0; i < srv->nroutes; i++) {
        if (strlen(srv->routes[i].path) == plen && memcmp(srv->routes[i].path, arg, plen) == 0)
            return tr_sink_list_add(&srv->routes[i].answers, eq + 1, err, errlen);
    }
    tr_sink_route *routes = realloc(srv->routes, (srv->nroutes + 1) * sizeof *routes);
    if (routes == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    srv->routes = routes;
    tr_sink_route *r = &routes[srv->nroutes];
    memset(r, 0, sizeof *r);
    r->path = strndup(arg, plen);
    if (r->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    srv->nroutes++;
    return tr_sink_list_add(&r->answers, eq + 1, err, errlen);
}

/* Binds and listens on HOST:PORT; writes the bound port to *port. -1 with err. */
static int open_listener(const char *spec, int *port, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof host || colon[1] == '\0') {
        snprintf(err, errlen, "--listen wants HOST:PORT, got '%s'", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p < 0 || p > 65535) {
        snprintf(err, errlen, "--listen: bad port '%s'", colon + 1);
        return -1;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "--listen %s: %s", spec, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, errlen, "--listen %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Writes "PORT\n" to path atomically, so a reader never sees a partial file. */
static int write_port_file(const char *path, int port, char *err, size_t errlen)
{
    char tmp[4096];
    char text[16];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(err, errlen, "--port-file: path too long");
        return -1;
    }
    int len = snprintf(text, sizeof text, "%d\n", port);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, (size_t)len) != len || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        snprintf(err, errlen, "--port-file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void accept_all(tr_sink_server *srv, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "timerush-sink: accept: %s\n", strerror(errno));
            return;
        }
        int one = 1;
        /* Answers are small and must not wait for Nagle on kept-alive connections. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        (void)tr_sink_conn_add(srv, fd);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'}, {"port-file", required_argument, NULL, 'p'},
        {"log", required_argument, NULL, 'L'},    {"answer", required_argument, NULL, 'a'},
        {"route", required_argument, NULL, 'r'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    tr_sink_server srv;
    memset(&srv, 0, sizeof srv);
    srv.epfd = -1;
    srv.log.fd = -1;
    const char *listen_spec = "127.0.0.1:0";
    const char *port_file = NULL;
    const char *log_path = NULL;
    char err[512] = "";
    int lfd = -1;
    int rc = 2;

    if (tr_sink_spec_parse("ok", &srv.ok, err, sizeof err) != 0)
        goto done;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_spec = optarg; break;
        case 'p': port_file = optarg; break;
        case 'L': log_path = optarg; break;
        case 'a':
            if (tr_sink_list_add(&srv.answers, optarg, err, sizeof err) != 0)
                goto done;
            break;
        case 'r':
            if (add_route(&srv, optarg, err, sizeof err) != 0)
                goto done;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    if (optind != argc) {
        snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]);
        goto done;
    }

    if (log_path != NULL) {
        srv.log.fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (srv.log.fd < 0) {
            snprintf(err, sizeof err, "--log %s: %s", log_path, strerror(errno));
            goto done;
        }
    }

    /* Signals stay blocked except inside epoll_pwait, so a stop request cannot slip
     * in between the flag check and the wait. */
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if (sigprocmask(SIG_BLOCK, &block, &waitmask) != 0) {
        snprintf(err, sizeof err, "sigprocmask: %s", strerror(errno));
        goto done;
    }
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int port = 0;
    lfd = open_listener(listen_spec, &port, err, sizeof err);
    if (lfd < 0)
        goto done;
    srv.epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev;
    memset(&lev, 0, sizeof lev);
    lev.events = EPOLLIN;
    lev.data.ptr = NULL; /* NULL marks the listener */
    if (srv.epfd < 0 || epoll_ctl(srv.epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        snprintf(err, sizeof err, "epoll: %s", strerror(errno));
        goto done;
    }
    if (port_file != NULL && write_port_file(port_file, port, err, sizeof err) != 0)
        goto done;

    struct epoll_event events[256];
    int timeout = -1;
    while (!stop_requested) {
        int n = epoll_pwait(srv.epfd, events, 256, timeout, &waitmask);
        if (n < 0 && errno != EINTR) {
            snprintf(err, sizeof err, "epoll_wait: %s", strerror(errno));
            goto done;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                accept_all(&srv, lfd);
            else
                tr_sink_conn_event(&srv, events[i].data.ptr, events[i].events);
        }
        timeout = tr_sink_conn_tick(&srv, tr_sink_mono_us());
    }
    rc = 0;

done:
    if (err[0] != '\0' && rc != 0)
        fprintf(stderr, "timerush-sink: %s\n", err);
    tr_sink_server_clear(&srv);
    if (lfd >= 0)
        close(lfd);
    if (srv.epfd >= 0)
        close(srv.epfd);
    if (srv.log.fd >= 0)
        close(srv.log.fd);
    return rc;
}
