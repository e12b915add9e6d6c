/* tr_fcgi_loop.c - the dispatcher and the request threads (see tr_fcgi_loop.h). */
#define _GNU_SOURCE /* epoll_pwait */
#include "tr_fcgi_loop.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tr_clock.h"
#include "tr_fcgi_accept.h"
#include "tr_fcgi_io.h"
#include "tr_fd_queue.h"
#include "tr_http.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_signal.h"
#include "tr_store.h"
#include "tr_store_group.h"

#define LISTEN_FD 0
/* Connections accepted per wake-up: enough for a burst, few enough that one
 * process does not take every connection from its siblings. */
#define ACCEPT_BATCH 16
/* After an accept failure that retrying at once cannot fix (out of descriptors or
 * memory), the listening socket is left alone this long. */
#define ACCEPT_BACKOFF_MS 100
#define MAX_EVENTS 64

typedef struct tr_fcgi_loop {
    int epfd;
    tr_fd_queue queue;
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

/* Puts an idle kept-alive connection back under the dispatcher's watch: one
 * readiness event, then it is the dispatcher's to queue again (EPOLLONESHOT), so
 * no two threads ever read one connection. */
static void watch_idle(tr_fcgi_loop *loop, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return;
    /* Its first time idle (new connections go straight to a thread). */
    if (errno == ENOENT && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return;
    tr_log_error("cannot watch an idle connection: %s; closing it", strerror(errno));
    close(fd);
}

static void *thread_main(void *arg)
{
    tr_fcgi_thread *t = arg;
    FCGX_Request fr;
    /* No listening socket: a thread never accepts. When the connection it is given
     * turns out closed, FCGX_Accept_r closes it and fails (accept on -1) instead of
     * taking another one behind the dispatcher's back. */
    if (FCGX_InitRequest(&fr, -1, 0) != 0) {
        tr_log_error("FCGX_InitRequest failed");
        return NULL;
    }
    int fd;
    while ((fd = tr_fd_queue_pop(&t->loop->queue)) >= 0) {
        fr.ipcFd = fd;
        /* "Detached" makes libfcgi close a connection with a plain close() instead of
         * shutting it down and waiting up to 2 s for the web server to hang up first,
         * which would hold this thread (and, in libfcgi versions using select(),
         * overflow an fd_set for descriptors >= FD_SETSIZE). */
        fr.detached = 1;
        /* FCGX_Accept_r first finishes the previous request, closing its connection
         * unless it was kept alive; this one is new to it: keep it. (The request's
         * own FCGI_KEEP_CONN flag sets this again when it is read.) */
        fr.keepConnection = 1;
        if (FCGX_Accept_r(&fr) != 0)
            continue; /* the web server closed it, or broke the protocol: closed */
        serve(&t->app, &fr);
        fr.detached = 1;
        FCGX_Finish_r(&fr);
        int kept = fr.ipcFd; /* still open when the web server keeps it alive */
        fr.ipcFd = -1;       /* before it is visible to the dispatcher again */
        if (kept >= 0)
            watch_idle(t->loop, kept);
    }
    FCGX_Free(&fr, 0);
    return NULL;
}

/* Hands a connection with a request waiting to the threads; closes it when that
 * cannot be done (out of memory), which nginx reports as a failed upstream. */
static void queue_conn(tr_fcgi_loop *loop, int fd)
{
    if (tr_fd_queue_push(&loop->queue, fd) != 0) {
        tr_log_error("cannot queue a connection (out of memory); closing it");
        close(fd);
    }
}

/* Accept errors that say nothing about the listening socket itself. */
static int accept_error_is_transient(int e)
{
    return e == EINTR || e == ECONNABORTED || e == EPROTO || e == EACCES || e == EPERM ||
           e == ENETDOWN || e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET ||
           e == EHOSTUNREACH || e == EOPNOTSUPP || e == ENETUNREACH || e == ETIMEDOUT;
}

/* Accepts what waits on the listening socket. Returns 0; 1 when the socket must be
 * left alone for ACCEPT_BACKOFF_MS (out of descriptors or memory); -1 when it is
 * unusable. */
static int accept_some(tr_fcgi_loop *loop, const char *allowed, int64_t *last_log_ms)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = tr_fcgi_accept(LISTEN_FD, allowed);
        if (fd >= 0) {
            queue_conn(loop, fd);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return 0; /* none left, or a sibling process took it */
        if (e == EBADF || e == ENOTSOCK || e == EINVAL) {
            tr_log_error("accept: %s; the listening socket is unusable", strerror(e));
            return -1;
        }
        int64_t now = tr_clock_mono_ms();
        if (now - *last_log_ms >= 1000) {
            *last_log_ms = now;
            if (e == EACCES)
                tr_log_warning("refused a FastCGI connection from an address not in "
                               "FCGI_WEB_SERVER_ADDRS");
            else
                tr_log_error("accept failed: %s; retrying", strerror(e));
        }
        if (!accept_error_is_transient(e))
            return 1; /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
    }
    return 0;
}

static int watch_listener(tr_fcgi_loop *loop)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = LISTEN_FD};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, LISTEN_FD, &ev);
}

/* The dispatcher's loop until SIGTERM/SIGINT. 0, or -1 on a fatal error. */
static int dispatch(tr_fcgi_loop *loop, const tr_signal_flags *sig, const sigset_t *wait_mask)
{
    const char *allowed = getenv("FCGI_WEB_SERVER_ADDRS");
    if (allowed != NULL && allowed[0] == '\0')
        allowed = NULL;
    int64_t last_accept_log_ms = INT64_MIN / 2; /* the first failure is always logged */
    int64_t resume_at = -1; /* while backing off: when to watch the listener again */
    struct epoll_event events[MAX_EVENTS];
    while (!*sig->stop) {
        if (*sig->hup) {
            *sig->hup = 0;
            (void)tr_log_reopen(); /* logs whether it worked */
        }
        int timeout = -1;
        if (resume_at >= 0) {
            int64_t left = resume_at - tr_clock_mono_ms();
            if (left <= 0) {
                if (watch_listener(loop) != 0) {
                    tr_log_error("epoll_ctl: %s", strerror(errno));
                    return -1;
                }
                resume_at = -1;
            } else {
                timeout = (int)left;
            }
        }
        int n = epoll_pwait(loop->epfd, events, MAX_EVENTS, timeout, wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            tr_log_error("epoll_pwait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd != LISTEN_FD) {
                queue_conn(loop, fd); /* a request, or the web server hung up */
                continue;
            }
            int ar = accept_some(loop, allowed, &last_accept_log_ms);
            if (ar < 0)
                return -1;
            if (ar > 0) {
                if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, LISTEN_FD, NULL) != 0) {
                    tr_log_error("epoll_ctl: %s", strerror(errno));
                    return -1;
                }
                resume_at = tr_clock_mono_ms() + ACCEPT_BACKOFF_MS;
            }
        }
    }
    return 0;
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
        if (tr_store_connect(threads[i].app.store) != 0 && !logged) {
            tr_log_error("redis not reachable yet: %s", tr_store_error(threads[i].app.store));
            logged = 1;
        }
    }
    return 0;
}

int tr_fcgi_run(const tr_config *cfg)
{
    sigset_t wait_mask;
    tr_signal_flags sig;
    /* Blocked before any thread starts, so every thread inherits the mask. */
    if (tr_signal_install(&sig) != 0 || tr_signal_block(&wait_mask) != 0) {
        tr_log_error("cannot set up signals: %s", strerror(errno));
        return -1;
    }
    if (FCGX_Init() != 0) {
        tr_log_error("FCGX_Init failed");
        return -1;
    }
    if (FCGX_IsCGI()) {
        tr_log_error("fd 0 is not a listening socket: start me with spawn-fcgi");
        return -1;
    }
    int fl = fcntl(LISTEN_FD, F_GETFL);
    if (fl < 0 || fcntl(LISTEN_FD, F_SETFL, fl | O_NONBLOCK) != 0) {
        tr_log_error("cannot make the listening socket non-blocking: %s", strerror(errno));
        return -1;
    }

    int status = -1;
    int count = cfg->threads > 0 ? cfg->threads : 1;
    tr_fcgi_loop loop;
    loop.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop.epfd < 0) {
        tr_log_error("epoll_create1: %s", strerror(errno));
        return -1;
    }
    if (tr_fd_queue_init(&loop.queue) != 0) {
        tr_log_error("out of memory");
        close(loop.epfd);
        return -1;
    }
    tr_store_group *group = NULL;
    tr_fcgi_thread *threads = calloc((size_t)count, sizeof *threads);
    if (threads == NULL) {
        tr_log_error("out of memory");
        goto out;
    }
    if (watch_listener(&loop) != 0) {
        tr_log_error("cannot watch the listening socket: %s", strerror(errno));
        goto out;
    }
    /* The threads' single creates share one script call (tr_store_group.h). */
    group = tr_store_group_new(cfg);
    if (group == NULL) {
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
            break;
        }
        threads[i].started = 1;
        started++;
    }
    if (started == count)
        status = dispatch(&loop, &sig, &wait_mask);
    FCGX_ShutdownPending();
    /* The threads serve what was already received, then end. */
    tr_fd_queue_close(&loop.queue);
    for (int i = 0; i < count; i++)
        if (threads[i].started)
            pthread_join(threads[i].thread, NULL);
out:
    if (threads != NULL) {
        for (int i = 0; i < count; i++)
            tr_store_free(threads[i].app.store);
        free(threads);
    }
    tr_store_group_free(group);
    tr_fd_queue_destroy(&loop.queue);
    close(loop.epfd);
    return status;
}
