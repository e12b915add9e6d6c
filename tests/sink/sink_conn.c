#include "sink_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)

static const char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";
static const char BAD_REQUEST[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 9\r\nConnection: close\r\n\r\n{\"ret\":1}";

struct tr_sink_conn {
    int fd;
    uint32_t events;          /* what epoll watches now */
    char *in;                 /* received bytes: in[in_off..in_len) not yet parsed */
    size_t in_len, in_off, in_cap;
    char *out;                /* answers: out[out_off..out_len) not yet sent */
    size_t out_len, out_off, out_cap;
    int continue_sent;        /* 100 Continue sent for the request being read */
    int held;                 /* "timeout": never answer again */
    int closing;              /* close once out is sent */
    const tr_sink_spec *slow; /* pending slow or drip answer, or NULL */
    int slow_close;           /* that answer ends the connection */
    int64_t slow_due_us;      /* monotonic: when it (drip: its next byte) goes out */
    size_t drip_off;          /* drip: bytes of the answer sent so far */
    tr_sink_conn *prev, *next;           /* srv->all */
    tr_sink_conn *slow_prev, *slow_next; /* srv->slow */
};

int64_t tr_sink_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tr_sink_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void slow_unlink(tr_sink_server *srv, tr_sink_conn *c)
{
    if (c->slow == NULL)
        return;
    if (c->slow_prev)
        c->slow_prev->slow_next = c->slow_next;
    else
        srv->slow = c->slow_next;
    if (c->slow_next)
        c->slow_next->slow_prev = c->slow_prev;
    c->slow_prev = c->slow_next = NULL;
    c->slow = NULL;
}

static void conn_free(tr_sink_server *srv, tr_sink_conn *c)
{
    slow_unlink(srv, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd); /* also removes it from epoll */
    free(c->in);
    free(c->out);
    free(c);
}

static int set_events(tr_sink_server *srv, tr_sink_conn *c, uint32_t events)
{
    if (c->events == events)
        return 0;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.ptr = c;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return -1;
    c->events = events;
    return 0;
}

static int out_put(tr_sink_conn *c, const char *p, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *out = realloc(c->out, cap);
        if (out == NULL)
            return -1;
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    return 0;
}

/* The answer list for a path: its route's, else the default one. */
static tr_sink_list *answers_for(tr_sink_server *srv, tr_sink_str path)
{
    size_t len = path.len;
    const char *q = memchr(path.p, '?', path.len);
    if (q != NULL)
        len = (size_t)(q - path.p);
    for (size_t i = 0; i < srv->nroutes; i++) {
        const char *rp = srv->routes[i].path;
        if (strlen(rp) == len && memcmp(rp, path.p, len) == 0)
            return &srv->routes[i].answers;
    }
    return &srv->answers;
}

/* Acts on one complete request. Returns 0, or -1 when the connection must go. */
static int handle_request(tr_sink_server *srv, tr_sink_conn *c, const tr_sink_req *req)
{
    srv->seq++;
    (void)tr_sink_log_request(&srv->log, srv->seq, tr_sink_wall_us(), req);
    const tr_sink_spec *spec = tr_sink_list_next(answers_for(srv, req->path), &srv->ok);
    switch (spec->kind) {
    case TR_SINK_ANSWER:
        if (!req->keep_alive)
            c->closing = 1;
        return out_put(c, req->keep_alive ? spec->response : spec->response_close,
                       req->keep_alive ? spec->response_len : spec->response_close_len);
    case TR_SINK_GARBAGE:
        c->closing = 1;
        return out_put(c, spec->response, spec->response_len);
    case TR_SINK_SLOW:
    case TR_SINK_DRIP:
        c->slow = spec;
        c->drip_off = 0;
        c->slow_close = !req->keep_alive;
        c->slow_due_us = tr_sink_mono_us() + (int64_t)spec->delay_ms * 1000;
        c->slow_prev = NULL;
        c->slow_next = srv->slow;
        if (srv->slow)
            srv->slow->slow_prev = c;
        srv->slow = c;
        return 0;
    case TR_SINK_TIMEOUT:
        c->held = 1;
        return 0;
    case TR_SINK_CLOSE:
    default:
        return -1;
    }
}

/* Parses and answers what is buffered. Returns 0, or -1 when the connection must go. */
static int process_input(tr_sink_server *srv, tr_sink_conn *c)
{
    while (!c->held && c->slow == NULL && !c->closing && c->in_off < c->in_len) {
        tr_sink_req req;
        tr_sink_parse r = tr_sink_http_parse(c->in + c->in_off, c->in_len - c->in_off,
                                             TR_SINK_MAX_HEADER, TR_SINK_MAX_BODY, &req);
        if (r == TR_SINK_PARSE_MORE)
            break;
        if (r == TR_SINK_PARSE_ERROR) {
            c->closing = 1;
            return out_put(c, BAD_REQUEST, sizeof BAD_REQUEST - 1);
        }
        if (r == TR_SINK_PARSE_HEADERS) {
            if (req.expect_continue && !c->continue_sent) {
                c->continue_sent = 1;
                if (out_put(c, CONTINUE, sizeof CONTINUE - 1) != 0)
                    return -1;
            }
            break;
        }
        c->continue_sent = 0;
        c->in_off += req.total_len;
        if (handle_request(srv, c, &req) != 0)
            return -1;
    }
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off > 0 && c->in_cap - c->in_len < READ_CHUNK / 4) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    return 0;
}

/* Sends what is queued; switches epoll to wait for writability when the socket is
 * full (reading stops meanwhile, which bounds the queue). -1: the connection must go. */
static int flush(tr_sink_server *srv, tr_sink_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return set_events(srv, c, EPOLLOUT);
            return -1;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    if (c->closing)
        return -1;
    return set_events(srv, c, EPOLLIN);
}

/* Reads once. Returns 0, or -1 on EOF/error or when the buffer may not grow. */
static int read_some(tr_sink_conn *c)
{
    if (c->held)
        c->in_off = c->in_len = 0; /* a held connection's input is dropped */
    if (c->in_cap - c->in_len < READ_CHUNK / 4) {
        size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
        if (cap > (size_t)TR_SINK_MAX_HEADER + TR_SINK_MAX_BODY + READ_CHUNK)
            return -1;
        char *in = realloc(c->in, cap);
        if (in == NULL)
            return -1;
        c->in = in;
        c->in_cap = cap;
    }
    for (;;) {
        ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (r > 0) {
            c->in_len += (size_t)r;
            return 0;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
}

int tr_sink_conn_add(tr_sink_server *srv, int fd)
{
    tr_sink_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->events = EPOLLIN;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        free(c);
        return -1;
    }
    c->next = srv->all;
    if (srv->all)
        srv->all->prev = c;
    srv->all = c;
    return 0;
}

void tr_sink_conn_event(tr_sink_server *srv, tr_sink_conn *c, uint32_t events)
{
    if (events & EPOLLOUT) {
        if (flush(srv, c) != 0)
            goto fail;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (read_some(c) != 0)
            goto fail;
    }
    if (process_input(srv, c) != 0)
        goto fail;
    if (c->out_off < c->out_len || c->closing) {
        if (flush(srv, c) != 0)
            goto fail;
    }
    return;
fail:
    conn_free(srv, c);
}

int tr_sink_conn_tick(tr_sink_server *srv, int64_t now_us)
{
    int64_t next = -1;
    tr_sink_conn *c = srv->slow;
    while (c != NULL) {
        tr_sink_conn *after = c->slow_next;
        if (c->slow_due_us <= now_us && c->slow->kind == TR_SINK_DRIP &&
            c->drip_off + 1 < (c->slow_close ? c->slow->response_close_len
                                             : c->slow->response_len)) {
            /* One byte of a drip answer, not its last: the connection stays parked. */
            const char *resp = c->slow_close ? c->slow->response_close : c->slow->response;
            c->slow_due_us += (int64_t)c->slow->delay_ms * 1000;
            if (out_put(c, resp + c->drip_off++, 1) != 0 || flush(srv, c) != 0)
                conn_free(srv, c);
            else if (next < 0 || c->slow_due_us < next)
                next = c->slow_due_us;
        } else if (c->slow_due_us <= now_us) {
            const tr_sink_spec *spec = c->slow;
            size_t off = spec->kind == TR_SINK_DRIP ? c->drip_off : 0; /* drip: the last byte */
            int close_after = c->slow_close;
            slow_unlink(srv, c);
            if (close_after)
                c->closing = 1;
            if (out_put(c, (close_after ? spec->response_close : spec->response) + off,
                        (close_after ? spec->response_close_len : spec->response_len) - off) != 0 ||
                process_input(srv, c) != 0 || flush(srv, c) != 0) {
                conn_free(srv, c);
            } else if (c->slow != NULL && (next < 0 || c->slow_due_us < next)) {
                next = c->slow_due_us; /* pipelined: the next request was slow too */
            }
        } else if (next < 0 || c->slow_due_us < next) {
            next = c->slow_due_us;
        }
        c = after;
    }
    if (next < 0)
        return -1;
    int64_t ms = (next - now_us + 999) / 1000;
    return ms > 60000 ? 60000 : (int)ms;
}

void tr_sink_server_clear(tr_sink_server *srv)
{
    while (srv->all != NULL)
        conn_free(srv, srv->all);
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].path);
        tr_sink_list_clear(&srv->routes[i].answers);
    }
    free(srv->routes);
    srv->routes = NULL;
    srv->nroutes = 0;
    tr_sink_list_clear(&srv->answers);
    tr_sink_spec_clear(&srv->ok);
    tr_sink_log_clear(&srv->log);
}
