/* sink_line.c - timerush-linesink: a loopback TCP line receiver for the TCP
 * notifier's tests and benchmarks (scheduler/tr_notify_tcp.h).
 *
 *   timerush-linesink --port-file F [--port N] [--log FILE] [--stamp] [--chain JSON]
 *                     [--line-delay-us N] [MODE...]
 *
 * Binds 127.0.0.1 (port 0 by default: the kernel picks; the port is written to F
 * when listening), accepts any number of connections and reads newline-ended lines.
 * Every line received is appended to --log (one line each, as received, flushed at
 * once). --stamp: each logged line that is a JSON object gets the arrival time
 * first, {"t_us":<wall us>,...} (bench/burst_probe.sh --tcp reads it like the
 * HTTP sink's log). --line-delay-us N: N us of sleep before each answer (a slow
 * receiver: a stream that lasts long enough to be cut). The answer to the n-th line received (over all connections) is MODE n,
 * the last MODE repeating (default ok):
 *   ok        {"ret":0}
 *   ret:N     {"ret":N}
 *   garbage   a line that is not JSON
 *   chain     {"ret":0,"data":JSON} (JSON from --chain)
 *   half      half an answer ({"ret":), then the connection is closed
 *   close     the connection is closed without an answer
 *   stopread  no answer, and that connection is never read again (back-pressure)
 *   silent    read, never answered
 * Stops on SIGTERM or SIGINT. Standalone: links nothing of TimeRush.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 256
#define LINE_MAX_BYTES (1 << 20)

typedef struct conn {
    int fd;
    int stopped;   /* stopread: never polled again */
    char *buf;
    size_t len, cap;
    char out[65536];  /* this read's answers, sent in one write (no Nagle trickle) */
    size_t out_len;
} conn;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const char *const *modes;
static int nmodes;
static unsigned long long nlines;
static const char *chain_json = "{}";
static FILE *log_file;
static int stamp;
static long line_delay_us;
static long long now_us; /* wall clock when the current read arrived */

static const char *next_mode(void)
{
    unsigned long long i = nlines++;
    if (nmodes == 0)
        return "ok";
    return modes[i < (unsigned long long)nmodes ? i : (unsigned long long)nmodes - 1];
}

/* Every answer goes out only after the lines it answers are in the log file (not
 * in stdio's buffer): a receiver killed with SIGKILL has logged all it acked, so a
 * test counting its log never sees an acked line as lost. */
static void send_now(int fd, const char *p, size_t n)
{
    if (log_file != NULL && n > 0)
        fflush(log_file);
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the peer went: the read side notices */
        p += w;
        n -= (size_t)w;
    }
}

/* Queues n answer bytes for c, sending what is queued first when full. */
static void send_all(conn *c, const char *p, size_t n)
{
    if (c->out_len + n > sizeof c->out) {
        send_now(c->fd, c->out, c->out_len);
        c->out_len = 0;
    }
    if (n > sizeof c->out) {
        send_now(c->fd, p, n);
        return;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void flush_answers(conn *c)
{
    send_now(c->fd, c->out, c->out_len);
    c->out_len = 0;
}

static void drop(conn *c)
{
    close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Answers one received line; 0, or -1 when the connection must be closed now. */
static int answer(conn *c, const char *line, size_t len)
{
    if (log_file != NULL) {
        if (stamp && len > 1 && line[0] == '{') {
            fprintf(log_file, "{\"t_us\":%lld,", now_us);
            fwrite(line + 1, 1, len - 1, log_file);
        } else {
            fwrite(line, 1, len, log_file);
        }
        fputc('\n', log_file); /* flushed once per poll round (main) */
    }
    if (line_delay_us > 0) {
        struct timespec d = {.tv_sec = line_delay_us / 1000000,
                             .tv_nsec = (line_delay_us % 1000000) * 1000};
        while (nanosleep(&d, &d) != 0 && errno == EINTR && !stop_flag)
            ;
    }
    const char *m = next_mode();
    char out[4096];
    if (strcmp(m, "ok") == 0) {
        send_all(c, "{\"ret\":0}\n", 10);
    } else if (strncmp(m, "ret:", 4) == 0) {
        int n = snprintf(out, sizeof out, "{\"ret\":%ld}\n", strtol(m + 4, NULL, 10));
        send_all(c, out, (size_t)n);
    } else if (strcmp(m, "garbage") == 0) {
        send_all(c, "HTTP/1.1 200 OK but not a line answer\n", 38);
    } else if (strcmp(m, "chain") == 0) {
        int n = snprintf(out, sizeof out, "{\"ret\":0,\"data\":%s}\n", chain_json);
        if (n > 0 && (size_t)n < sizeof out)
            send_all(c, out, (size_t)n);
    } else if (strcmp(m, "half") == 0) {
        send_all(c, "{\"ret\":", 7);
        return -1;
    } else if (strcmp(m, "close") == 0) {
        return -1;
    } else if (strcmp(m, "stopread") == 0) {
        c->stopped = 1;
    } /* silent: nothing */
    return 0;
}

/* Reads what arrived; 0, or -1 when the connection is done. */
static int on_readable(conn *c)
{
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        if (cap > LINE_MAX_BYTES * 2)
            return -1;
        char *b = realloc(c->buf, cap);
        if (b == NULL)
            return -1;
        c->buf = b;
        c->cap = cap;
    }
    ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r <= 0)
        return -1;
    c->len += (size_t)r;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    size_t used = 0;
    char *nl;
    while (!c->stopped && (nl = memchr(c->buf + used, '\n', c->len - used)) != NULL) {
        size_t end = (size_t)(nl - c->buf);
        if (answer(c, c->buf + used, end - used) != 0) {
            flush_answers(c); /* half: the half answer goes before the close */
            return -1;
        }
        used = end + 1;
    }
    flush_answers(c);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    return 0;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *log_path = NULL;
    int port = 0;
    static const char *list[64];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log_path = argv[++i];
        else if (strcmp(argv[i], "--line-delay-us") == 0 && i + 1 < argc)
            line_delay_us = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--stamp") == 0)
            stamp = 1;
        else if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc)
            chain_json = argv[++i];
        else if (nmodes < 64)
            list[nmodes++] = argv[i];
    }
    modes = list;
    if (log_path != NULL && (log_file = fopen(log_path, "a+")) == NULL) {
        perror(log_path);
        return 2;
    }
    /* A receiver killed mid-write may have left half a line: end it, so our first
     * line starts a line of its own (the half line stays unreadable, alone). */
    if (log_file != NULL && fseek(log_file, -1, SEEK_END) == 0) {
        int last = fgetc(log_file);
        (void)fseek(log_file, 0, SEEK_END); /* from reading to writing */
        if (last != '\n')
            fputc('\n', log_file);
    }
    /* One flush per poll round, whole lines only: a buffer larger than a round's
     * lines, so a killed sink never leaves half a line for the next to append to. */
    static char log_buf[8 << 20];
    if (log_file != NULL)
        setvbuf(log_file, log_buf, _IOFBF, sizeof log_buf);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 128) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        perror("listen");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (port_file != NULL) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f) != 0 ||
            rename(tmp, port_file) != 0) {
            perror(port_file);
            return 2;
        }
    }
    static conn conns[CONNS_MAX];
    for (int i = 0; i < CONNS_MAX; i++)
        conns[i].fd = -1;
    struct pollfd pfd[CONNS_MAX + 1];
    int idx[CONNS_MAX + 1];
    while (!stop_flag) {
        int n = 0;
        pfd[n] = (struct pollfd){.fd = ls, .events = POLLIN};
        idx[n++] = -1;
        for (int i = 0; i < CONNS_MAX; i++) {
            if (conns[i].fd < 0 || conns[i].stopped)
                continue;
            pfd[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
            idx[n++] = i;
        }
        if (poll(pfd, (nfds_t)n, 1000) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 2;
        }
        for (int k = 0; k < n; k++) {
            if (pfd[k].revents == 0)
                continue;
            if (idx[k] < 0) {
                int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                int i = 0;
                while (i < CONNS_MAX && conns[i].fd >= 0)
                    i++;
                if (i == CONNS_MAX) {
                    close(fd);
                    continue;
                }
                conns[i].fd = fd;
                fprintf(stderr, "accepted\n"); /* tests count the connections */
                continue;
            }
            if (on_readable(&conns[idx[k]]) != 0)
                drop(&conns[idx[k]]);
        }
        if (log_file != NULL)
            fflush(log_file); /* what this round received, before the next wait */
    }
    if (log_file != NULL)
        fclose(log_file);
    return 0;
}
