/* tr_fcgi_loop.c - the request threads and their shared epoll set (see tr_fcgi_loop.h). */
#define _GNU_SOURCE /* epoll_pwait */
#include "tr_fcgi_loop.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tr_clock.h"
#include "tr_fcgi_accept.h"
#include "tr_fcgi_io.h"
#include "tr_http.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_signal.h"
#include "tr_store.h"
#include "tr_store_group.h"

#define LISTEN_FD 0
/* After an accept failure that retrying at once cannot fix (out of descriptors or
 * memory), the listening socket is left alone this long. */
#define ACCEPT_BACKOFF_MS 100

typedef struct tr_fcgi_loop {
    int epfd;
    int stop_fd;             /* eventfd, readable (and never read) once stopping */
    const char *allowed;     /* FCGI_WEB_SERVER_ADDRS, or NULL */
    tr_signal_flags sig;
    const sigset_t *wait_mask;
    pthread_mutex_t lock;    /* guards the two below */
    int fatal;               /* a thread met a fatal error: the run returns -1 */
    int64_t last_accept_log_ms;
} tr_fcgi_loop;

typedef struct tr_fcgi_thread {
    pthread_t thread;
    int started;
    tr_app app; /* cfg and this thread's own store */
    tr_fcgi_loop *loop;
} tr_fcgi_thread;

/* Handles one accepted request: read, dispatch, write. */
static void serve(const tr_app *app, FCGX_Request *fr)
{
    int64_t t0 = tr_clock_mono_us();
    tr_http_request req;
    tr_http_response resp;
    char *body_buf = NULL;
    tr_http_response_init(&resp);
    int rc = tr_fcgi_read_request(fr, (size_t)app->cfg->max_body_bytes, &req, &body_buf);
    if (rc == 0)
        rc = tr_route_dispatch(app, &req, &resp);
    if (rc != 0) {
        /* Out of memory: answer from a buffer on the stack, no allocation. */
        char oom[] = "{\"ret\":11,\"msg\":\"internal error (logged)\"}";
        tr_log_error("out of memory handling a request");
        tr_http_response_clear(&resp);
        resp.status = 500;
        resp.body = oom;
        resp.body_len = sizeof oom - 1;
    }
    if (tr_fcgi_write_response(fr, &resp) != 0)
        tr_log_warning("could not write the answer: the web server went away");
    if (rc != 0)
        resp.body = NULL; /* not ours to free */
    if (tr_log_enabled(TR_LOG_DEBUG))
        tr_log_debug("%s %s -> %d in %lld us", rc == 0 ? req.method : "?",
                     rc == 0 ? req.path : "?", resp.status,
                     (long long)(tr_clock_mono_us() - t0));
    tr_http_response_clear(&resp);
    free(body_buf);
}

/* Puts an idle kept-alive connection back under epoll: one readiness event, then
 * it is the thread that takes the event's (EPOLLONESHOT), so no two threads ever
 * read one connection. */
static void watch_idle(tr_fcgi_loop *loop, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return;
    /* Its first time idle (a new connection is served by the thread that accepted it). */
    if (errno == ENOENT && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return;
    tr_log_error("cannot watch an idle connection: %s; closing it", strerror(errno));
    close(fd);
}

/* Serves the request waiting on connection fd (libfcgi reads it), then keeps the
 * connection under epoll when the web server keeps it alive. */
static void serve_conn(tr_fcgi_thread *t, FCGX_Request *fr, int fd)
{
    fr->ipcFd = fd;
    /* "Detached" makes libfcgi close a connection with a plain close() instead of
     * shutting it down and waiting up to 2 s for the web server to hang up first,
     * which would hold this thread (and, in libfcgi versions using select(),
     * overflow an fd_set for descriptors >= FD_SETSIZE). */
    fr->detached = 1;
    /* FCGX_Accept_r first finishes the previous request, closing its connection
     * unless it was kept alive; this one is new to it: keep it. (The request's own
     * FCGI_KEEP_CONN flag sets this again when it is read.) */
    fr->keepConnection = 1;
    if (FCGX_Accept_r(fr) != 0)
        return; /* the web server closed it, or broke the protocol: closed */
    serve(&t->app, fr);
    fr->detached = 1;
    FCGX_Finish_r(fr);
    int kept = fr->ipcFd; /* still open when the web server keeps it alive */
    fr->ipcFd = -1;       /* before another thread can take it */
    if (kept >= 0)
        watch_idle(t->loop, kept);
}

/* Makes the threads leave their wait: the eventfd stays readable (level-triggered)
 * and each write wakes a waiting thread, which writes again as it leaves. */
static void announce_stop(tr_fcgi_loop *loop)
{
    uint64_t one = 1;
    if (write(loop->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
        tr_log_error("cannot wake the request threads: %s", strerror(errno));
}

static void set_fatal(tr_fcgi_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->fatal = 1;
    pthread_mutex_unlock(&loop->lock);
    announce_stop(loop);
}

/* Accept errors that say nothing about the listening socket itself. */
static int accept_error_is_transient(int e)
{
    return e == EINTR || e == ECONNABORTED || e == EPROTO || e == EACCES || e == EPERM ||
           e == ENETDOWN || e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET ||
           e == EHOSTUNREACH || e == EOPNOTSUPP || e == ENETUNREACH || e == ETIMEDOUT;
}

static int watch_listener(tr_fcgi_loop *loop)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = LISTEN_FD};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, LISTEN_FD, &ev);
}

/* Out of descriptors or memory: no thread accepts for ACCEPT_BACKOFF_MS (the
 * listener leaves epoll meanwhile, so the others serve their connections instead
 * of spinning on it). Signals still end the wait. 0, or -1 on a fatal error. */
static int accept_backoff(tr_fcgi_loop *loop)
{
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, LISTEN_FD, NULL) != 0 && errno != ENOENT)
        return -1;
    struct timespec ts = {0, ACCEPT_BACKOFF_MS * 1000000L};
    (void)ppoll(NULL, 0, &ts, loop->wait_mask);
    if (watch_listener(loop) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Takes a new connection and serves its first request. 0, or -1 when the
 * listening socket is unusable. */
static int accept_and_serve(tr_fcgi_thread *t, FCGX_Request *fr)
{
    tr_fcgi_loop *loop = t->loop;
    int fd = tr_fcgi_accept(LISTEN_FD, loop->allowed);
    if (fd >= 0) {
        serve_conn(t, fr, fd);
        return 0;
    }
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK)
        return 0; /* another thread or process took it */
    if (e == EBADF || e == ENOTSOCK || e == EINVAL) {
        tr_log_error("accept: %s; the listening socket is unusable", strerror(e));
        return -1;
    }
    int64_t now = tr_clock_mono_ms();
    pthread_mutex_lock(&loop->lock);
    int log_it = now - loop->last_accept_log_ms >= 1000;
    if (log_it)
        loop->last_accept_log_ms = now;
    pthread_mutex_unlock(&loop->lock);
    if (log_it) {
        if (e == EACCES)
            tr_log_warning("refused a FastCGI connection from an address not in "
                           "FCGI_WEB_SERVER_ADDRS");
        else
            tr_log_error("accept failed: %s; retrying", strerror(e));
    }
    if (accept_error_is_transient(e))
        return 0;
    if (accept_backoff(loop) != 0) { /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
        tr_log_error("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Every thread: wait in the shared epoll for a connection with a request (or a
 * new one), serve it, wait again, until the stop. */
static void *thread_main(void *arg)
{
    tr_fcgi_thread *t = arg;
    tr_fcgi_loop *loop = t->loop;
    FCGX_Request fr;
    /* No listening socket: libfcgi never accepts by itself. When a connection turns
     * out closed, FCGX_Accept_r closes it and fails (accept on -1) instead of taking
     * another one. */
    if (FCGX_InitRequest(&fr, -1, 0) != 0) {
        tr_log_error("FCGX_InitRequest failed");
        set_fatal(loop);
        return NULL;
    }
    for (;;) {
        struct epoll_event ev;
        int n = epoll_pwait(loop->epfd, &ev, 1, -1, loop->wait_mask);
        if (n < 0 && errno != EINTR) {
            tr_log_error("epoll_pwait: %s", strerror(errno));
            set_fatal(loop);
            break;
        }
        if (n == 1) {
            if (ev.data.fd == loop->stop_fd) {
                /* Passed on: epoll may wake one waiter per event, so each thread
                 * that leaves wakes the next. */
                announce_stop(loop);
                break;
            }
            /* Taken events are served even when a signal came with them: a
             * connection's event is not reported again (EPOLLONESHOT). */
            if (ev.data.fd != LISTEN_FD) {
                serve_conn(t, &fr, ev.data.fd); /* a request, or the web server hung up */
            } else if (accept_and_serve(t, &fr) != 0) {
                set_fatal(loop);
                break;
            }
        }
        /* The signal handlers only set flags; a thread that sees one acts. */
        if (*loop->sig.stop) {
            announce_stop(loop);
            break;
        }
        if (atomic_exchange(loop->sig.hup, 0)) /* one thread reopens */
            (void)tr_log_reopen(); /* logs whether it worked */
    }
    FCGX_Free(&fr, 0);
    return NULL;
}

/* Makes the threads' stores, trying Redis once each (not fatal: a store
 * reconnects by itself on its first request); only the first failure is logged. */
static int make_stores(const tr_config *cfg, tr_fcgi_thread *threads, int count,
                       tr_store_group *group)
{
    int logged = 0;
    for (int i = 0; i < count; i++) {
        threads[i].app.cfg = cfg;
        threads[i].app.store = tr_store_new(cfg);
        if (threads[i].app.store == NULL) {
            tr_log_error("out of memory");
            return -1;
        }
        tr_store_join_group(threads[i].app.store, group);
        int down = tr_store_connect(threads[i].app.store) != 0;
        if (down && tr_store_refused(threads[i].app.store)) {
            /* Another deployment's shard count (tr_shard.h): never serve. */
            tr_log_error("cannot start: %s", tr_store_error(threads[i].app.store));
            return -1;
        }
        if (down && !logged) {
            tr_log_error("redis not reachable yet: %s", tr_store_error(threads[i].app.store));
            logged = 1;
        }
    }
    return 0;
}

/* The epoll set every thread waits on: the listener and the stop eventfd. */
static int loop_init(tr_fcgi_loop *loop)
{
    memset(loop, 0, sizeof *loop);
    loop->epfd = -1;
    loop->stop_fd = -1;
    loop->last_accept_log_ms = INT64_MIN / 2; /* the first failure is always logged */
    const char *allowed = getenv("FCGI_WEB_SERVER_ADDRS");
    loop->allowed = allowed != NULL && allowed[0] != '\0' ? allowed : NULL;
    if (pthread_mutex_init(&loop->lock, NULL) != 0) {
        tr_log_error("pthread_mutex_init failed");
        return -1;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->epfd < 0 || loop->stop_fd < 0) {
        tr_log_error("epoll_create1 or eventfd: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = loop->stop_fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) != 0 ||
        watch_listener(loop) != 0) {
        tr_log_error("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void loop_clear(tr_fcgi_loop *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->stop_fd >= 0)
        close(loop->stop_fd);
    pthread_mutex_destroy(&loop->lock);
}

int tr_fcgi_run(const tr_config *cfg)
{
    sigset_t wait_mask;
    tr_fcgi_loop loop;
    if (loop_init(&loop) != 0) {
        loop_clear(&loop);
        return -1;
    }
    /* Blocked before any thread starts, so every thread inherits the mask. */
    if (tr_signal_install(&loop.sig) != 0 || tr_signal_block(&wait_mask) != 0) {
        tr_log_error("cannot set up signals: %s", strerror(errno));
        loop_clear(&loop);
        return -1;
    }
    loop.wait_mask = &wait_mask;
    if (FCGX_Init() != 0) {
        tr_log_error("FCGX_Init failed");
        loop_clear(&loop);
        return -1;
    }
    if (FCGX_IsCGI()) {
        tr_log_error("fd 0 is not a listening socket: start me with spawn-fcgi");
        loop_clear(&loop);
        return -1;
    }
    int fl = fcntl(LISTEN_FD, F_GETFL);
    if (fl < 0 || fcntl(LISTEN_FD, F_SETFL, fl | O_NONBLOCK) != 0) {
        tr_log_error("cannot make the listening socket non-blocking: %s", strerror(errno));
        loop_clear(&loop);
        return -1;
    }

    int status = -1;
    int count = cfg->threads;
    if (count <= 0) { /* 4 per core: requests mostly wait on Redis (docs/OPERATIONS.md) */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        count = 4 * (int)(cores > 0 && cores < 256 ? cores : 1);
    }
    /* The threads' creates share script calls, one at a time (tr_store_group.h). */
    tr_store_group *group = tr_store_group_new(cfg);
    tr_fcgi_thread *threads = calloc((size_t)count, sizeof *threads);
    if (group == NULL || threads == NULL) {
        tr_log_error("out of memory");
        goto out;
    }
    if (make_stores(cfg, threads, count, group) != 0)
        goto out;
    int started = 0;
    for (int i = 0; i < count; i++) {
        threads[i].loop = &loop;
        int e = pthread_create(&threads[i].thread, NULL, thread_main, &threads[i]);
        if (e != 0) {
            tr_log_error("cannot start a request thread: %s", strerror(e));
            set_fatal(&loop);
            break;
        }
        threads[i].started = 1;
        started++;
    }
    for (int i = 0; i < count; i++)
        if (threads[i].started)
            pthread_join(threads[i].thread, NULL);
    FCGX_ShutdownPending();
    status = started == count && !loop.fatal ? 0 : -1;
out:
    if (threads != NULL) {
        for (int i = 0; i < count; i++)
            tr_store_free(threads[i].app.store);
        free(threads);
    }
    tr_store_group_free(group);
    loop_clear(&loop);
    return status;
}
