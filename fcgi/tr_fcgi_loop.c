/* tr_fcgi_loop.c - the FastCGI accept loop (see tr_fcgi_loop.h). */
#define _GNU_SOURCE /* ppoll */
#include "tr_fcgi_loop.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tr_clock.h"
#include "tr_fcgi_io.h"
#include "tr_http.h"
#include "tr_log.h"
#include "tr_signal.h"

/* Waits ACCEPT_BACKOFF_MS after a failed accept, logging at most once a second. */
#define ACCEPT_BACKOFF_MS 100
static void accept_backoff(int ar, const sigset_t *wait_mask, int64_t *last_log_ms)
{
    int64_t now = tr_clock_mono_ms();
    if (now - *last_log_ms >= 1000) {
        *last_log_ms = now;
        tr_log_error("accept failed: %s; retrying", ar > -10000 && ar < 0 ? strerror(-ar)
                                                                         : "unknown error");
    }
    struct timespec ts = {0, ACCEPT_BACKOFF_MS * 1000000L};
    (void)ppoll(NULL, 0, &ts, wait_mask);
}

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

int tr_fcgi_run(const tr_app *app)
{
    int status = -1;
    sigset_t wait_mask;
    tr_signal_flags sig;
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
    /* Shared by several workers: see tr_fcgi_loop.h. */
    int fl = fcntl(0, F_GETFL);
    if (fl < 0 || fcntl(0, F_SETFL, fl | O_NONBLOCK) != 0) {
        tr_log_error("cannot make the listening socket non-blocking: %s", strerror(errno));
        return -1;
    }

    FCGX_Request fr;
    if (FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        tr_log_error("FCGX_InitRequest failed");
        return -1;
    }
    status = 0;
    int64_t last_accept_log_ms = INT64_MIN / 2; /* the first failure is always logged */
    while (!*sig.stop) {
        if (*sig.hup) {
            *sig.hup = 0;
            (void)tr_log_reopen(); /* logs whether it worked */
        }
        /* With a kept-alive connection libfcgi reads the next request from it;
         * otherwise it accepts on fd 0. Wait on whichever it will use. */
        struct pollfd p = {fr.ipcFd >= 0 ? fr.ipcFd : 0, POLLIN, 0};
        int pr = ppoll(&p, 1, NULL, &wait_mask);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            tr_log_error("ppoll: %s", strerror(errno));
            status = -1;
            break;
        }
        int ar = FCGX_Accept_r(&fr);
        if (ar < 0) {
            if (ar == -EAGAIN || ar == -EWOULDBLOCK || ar == -EINTR)
                continue; /* another worker took it */
            if (ar == -EBADF || ar == -ENOTSOCK || ar == -EINVAL) {
                tr_log_error("accept: %s; the listening socket is unusable", strerror(-ar));
                status = -1;
                break;
            }
            /* Out of descriptors or memory, or a connection that died in the
             * handshake: the launcher stops everything when a worker exits, so
             * back off and try again instead (signals still end the wait). */
            accept_backoff(ar, &wait_mask, &last_accept_log_ms);
            continue;
        }
        serve(app, &fr);
        FCGX_Finish_r(&fr);
    }
    FCGX_ShutdownPending();
    FCGX_Finish_r(&fr);
    /* An idle kept-alive connection is closed here: libfcgi's own close waits up
     * to 2 s for the web server to hang up first, which only delays the exit. */
    if (fr.ipcFd >= 0) {
        close(fr.ipcFd);
        fr.ipcFd = -1;
    }
    FCGX_Free(&fr, 0);
    return status;
}
