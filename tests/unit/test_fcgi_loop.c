/* test_fcgi_loop.c - the real accept loop (tr_fcgi_run) in a child process on a
 * unix listening socket, driven by a small FastCGI client written here: request
 * reading (DOCUMENT_URI / REQUEST_URI fallback, oversized bodies drained),
 * response framing, kept-alive connections (more of them idle than request threads),
 * the FCGI_WEB_SERVER_ADDRS list, and SIGTERM while idle.
 *
 * No Redis: the store points at a socket that cannot exist, so requests that pass
 * validation get the store-down answer. Waits poll with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tr_clock.h"
#include "tr_config.h"
#include "tr_fcgi_accept.h"
#include "tr_fcgi_loop.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_store.h"

enum { FCGI_BEGIN = 1, FCGI_END = 3, FCGI_PARAMS = 4, FCGI_STDIN = 5, FCGI_STDOUT = 6 };

typedef struct server {
    char dir[64];
    char path[96];
    pid_t pid;
} server;

static void child_run(int listen_fd)
{
    if (dup2(listen_fd, 0) < 0)
        _exit(3);
    close(listen_fd);
    tr_config cfg;
    tr_config_defaults(&cfg);
    snprintf(cfg.redis_socket, sizeof cfg.redis_socket, "/nonexistent-tr-dir/redis.sock");
    cfg.port = 0;
    cfg.redis_timeout_ms = 200;
    cfg.max_body_bytes = 1024;
    cfg.threads = 2; /* fewer than the idle connections some tests hold */
    tr_log_open("test_fcgi_loop", TR_LOG_ERROR, NULL);
    int rc = tr_fcgi_run(&cfg);
    _exit(rc == 0 ? 0 : 1);
}

static int setup(void **state)
{
    server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/tr-fcgi-test.XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->path, sizeof s->path, "%s/fcgi.sock", s->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0)
        child_run(fd);
    close(fd);
    *state = s;
    return 0;
}

/* Waits (deadline) for the child to exit; returns its wait status or -1. */
static int wait_exit(pid_t pid, int64_t deadline_ms)
{
    int64_t end = tr_clock_mono_ms() + deadline_ms;
    while (tr_clock_mono_ms() < end) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        struct timespec ts = {0, 2 * 1000 * 1000}; /* poll interval of the deadline loop */
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int teardown(void **state)
{
    server *s = *state;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    unlink(s->path);
    rmdir(s->dir);
    free(s);
    return 0;
}

static int connect_to(const server *s)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {10, 0}; /* a hung server fails the test instead of hanging it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            fail_msg("write to timerush-fcgi (fd %d): %s", fd, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static void record(int fd, int type, const void *content, size_t len)
{
    unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8),
                          (unsigned char)(len & 0xff), 0, 0};
    write_all(fd, h, sizeof h);
    if (len > 0)
        write_all(fd, content, len);
}

static size_t put_len(unsigned char *p, size_t n)
{
    if (n < 128) {
        p[0] = (unsigned char)n;
        return 1;
    }
    p[0] = (unsigned char)(0x80 | (n >> 24));
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    return 4;
}

static void read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            fail_msg("read from timerush-fcgi: %s", n == 0 ? "EOF" : strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

/* Sends one request (params: NULL-terminated name, value list) and returns its
 * stdout (headers + body), NUL-terminated, in out. */
static void call(int fd, int keep, const char *const *params, const char *body, size_t body_len,
                 char *out, size_t outlen)
{
    unsigned char begin[8] = {0, 1, (unsigned char)(keep ? 1 : 0), 0, 0, 0, 0, 0};
    record(fd, FCGI_BEGIN, begin, sizeof begin);
    unsigned char pbuf[4096];
    size_t used = 0;
    for (size_t i = 0; params[i] != NULL; i += 2) {
        size_t nl = strlen(params[i]), vl = strlen(params[i + 1]);
        assert_true(used + 8 + nl + vl < sizeof pbuf);
        used += put_len(pbuf + used, nl);
        used += put_len(pbuf + used, vl);
        memcpy(pbuf + used, params[i], nl);
        used += nl;
        memcpy(pbuf + used, params[i + 1], vl);
        used += vl;
    }
    record(fd, FCGI_PARAMS, pbuf, used);
    record(fd, FCGI_PARAMS, NULL, 0);
    for (size_t off = 0; off < body_len;) {
        size_t n = body_len - off > 32768 ? 32768 : body_len - off;
        record(fd, FCGI_STDIN, body + off, n);
        off += n;
    }
    record(fd, FCGI_STDIN, NULL, 0);

    size_t got = 0;
    for (;;) {
        unsigned char h[8];
        read_full(fd, h, sizeof h);
        size_t len = ((size_t)h[4] << 8) | h[5], pad = h[6];
        char content[65536 + 256];
        read_full(fd, content, len + pad);
        if (h[1] == FCGI_STDOUT) {
            assert_true(got + len < outlen);
            memcpy(out + got, content, len);
            got += len;
        } else if (h[1] == FCGI_END) {
            break;
        }
    }
    out[got] = '\0';
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

static void test_register_and_framing(void **state)
{
    server *s = *state;
    int fd = connect_to(s);
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/register/",
                            "CONTENT_LENGTH", "4", NULL};
    char out[8192];
    call(fd, 0, params, "nope", 4, out, sizeof out);
    close(fd);
    const char *want = "{\"ret\":1,\"msg\":\"body is not valid JSON: null expected at byte 1\"}";
    char head[256];
    snprintf(head, sizeof head,
             "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             strlen(want));
    assert_int_equal(strncmp(out, head, strlen(head)), 0);
    assert_string_equal(body_of(out), want);
}

static void test_request_uri_fallback_and_keepalive(void **state)
{
    server *s = *state;
    int fd = connect_to(s);
    char out[8192];
    const char *p1[] = {"REQUEST_METHOD", "POST", "REQUEST_URI", "/unregister?x=/register/",
                        "CONTENT_LENGTH", "13", NULL};
    call(fd, 1, p1, "{\"key\":\"a b\"}", 13, out, sizeof out);
    assert_string_equal(
        body_of(out),
        "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}");
    /* Same connection (kept alive): a GET gets 405 with Allow. */
    const char *p2[] = {"REQUEST_METHOD", "GET", "SCRIPT_NAME", "/register", NULL};
    call(fd, 1, p2, NULL, 0, out, sizeof out);
    assert_int_equal(strncmp(out, "Status: 405 Method Not Allowed\r\n", 32), 0);
    assert_non_null(strstr(out, "\r\nAllow: POST\r\n"));
    /* And a third: unknown path. */
    const char *p3[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/v2/x", NULL};
    call(fd, 1, p3, NULL, 0, out, sizeof out);
    assert_int_equal(strncmp(out, "Status: 404 Not Found\r\n", 23), 0);
    assert_string_equal(body_of(out), "{\"ret\":7,\"msg\":\"no such endpoint\"}");
    close(fd);
}

static void test_oversized_body_is_drained(void **state)
{
    server *s = *state;
    size_t n = 100000; /* > max_body 1024 and > one socket buffer */
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", n);
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/register/",
                            "CONTENT_LENGTH", cl, NULL};
    int fd = connect_to(s);
    char out[8192];
    call(fd, 1, params, big, n, out, sizeof out);
    free(big);
    assert_string_equal(body_of(out), "{\"ret\":5,\"msg\":\"body larger than 1024 bytes\"}");
    /* The connection is still in step: the next request on it is answered. */
    const char *p2[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/unregister/",
                        "CONTENT_LENGTH", "2", NULL};
    call(fd, 1, p2, "{}", 2, out, sizeof out);
    assert_string_equal(body_of(out), "{\"ret\":2,\"msg\":\"key: missing\"}");
    close(fd);
}

static void test_short_body_and_bad_length(void **state)
{
    server *s = *state;
    int fd = connect_to(s);
    char out[8192];
    /* Announces 50 bytes, sends 13: parsed as what arrived. */
    const char *p1[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/unregister",
                        "CONTENT_LENGTH", "50", NULL};
    call(fd, 1, p1, "{\"key\":\"a b\"}", 13, out, sizeof out);
    assert_non_null(strstr(body_of(out), "\"ret\":2"));
    const char *p2[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/unregister",
                        "CONTENT_LENGTH", "12x", NULL};
    call(fd, 1, p2, "{}", 2, out, sizeof out);
    assert_string_equal(body_of(out), "{\"ret\":1,\"msg\":\"unreadable Content-Length\"}");
    /* Only digits: no sign, no spaces, no -0, nothing beyond int64. */
    static const char *const bad[] = {"+2", " 2", "2 ", "-0", "-2", "0x2",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p3[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/unregister",
                            "CONTENT_LENGTH", bad[i], NULL};
        call(fd, 1, p3, "{}", 2, out, sizeof out);
        if (strcmp(body_of(out), "{\"ret\":1,\"msg\":\"unreadable Content-Length\"}") != 0)
            fail_msg("CONTENT_LENGTH '%s': %s", bad[i], body_of(out));
    }
    close(fd);
}

static void test_store_down_answer(void **state)
{
    server *s = *state;
    const char *body = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\",\"seconds\":1}";
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", strlen(body));
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/register/",
                            "CONTENT_LENGTH", cl, NULL};
    int fd = connect_to(s);
    char out[8192];
    int64_t t0 = tr_clock_mono_ms();
    call(fd, 0, params, body, strlen(body), out, sizeof out);
    close(fd);
    assert_true(tr_clock_mono_ms() - t0 < 2000);
    assert_int_equal(strncmp(out, "Status: 200 OK\r\n", 16), 0);
    assert_non_null(strstr(body_of(out), "{\"ret\":10,\"msg\":\"store unavailable: "));
}

static void test_sigterm_idle(void **state)
{
    server *s = *state;
    /* One request first, so the loop is surely past its setup. */
    int fd = connect_to(s);
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/nope", NULL};
    char out[4096];
    call(fd, 0, params, NULL, 0, out, sizeof out);
    close(fd);
    assert_int_equal(kill(s->pid, SIGTERM), 0);
    int st = wait_exit(s->pid, 5000);
    assert_int_not_equal(st, -1);
    s->pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_sigterm_on_kept_connection(void **state)
{
    server *s = *state;
    /* The worker waits on an idle kept-alive connection: SIGTERM still ends it. */
    int fd = connect_to(s);
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/nope", NULL};
    char out[4096];
    call(fd, 1, params, NULL, 0, out, sizeof out);
    assert_int_equal(kill(s->pid, SIGTERM), 0);
    int st = wait_exit(s->pid, 5000);
    close(fd);
    assert_int_not_equal(st, -1);
    s->pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_sighup_keeps_running(void **state)
{
    server *s = *state;
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/nope", NULL};
    char out[4096];
    int fd = connect_to(s); /* a first answer: the handlers are installed */
    call(fd, 0, params, NULL, 0, out, sizeof out);
    close(fd);
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    fd = connect_to(s);
    call(fd, 0, params, NULL, 0, out, sizeof out);
    close(fd);
    assert_int_equal(strncmp(out, "Status: 404", 11), 0);
}

/* More idle kept-alive connections than request threads (the child has 2): a
 * request on a new connection is still answered at once, and so is the next
 * request on each idle one. With one connection per thread (or process) held while
 * idle, the new connection would wait until an idle one closed. */
static void test_idle_connections_hold_no_thread(void **state)
{
    server *s = *state;
    enum { IDLE = 8 };
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/nope", NULL};
    char out[4096];
    int idle[IDLE];
    for (int i = 0; i < IDLE; i++) {
        idle[i] = connect_to(s);
        call(idle[i], 1, params, NULL, 0, out, sizeof out);
        assert_int_equal(strncmp(out, "Status: 404", 11), 0);
    }
    int64_t t0 = tr_clock_mono_ms();
    int fd = connect_to(s);
    call(fd, 0, params, NULL, 0, out, sizeof out);
    close(fd);
    int64_t waited = tr_clock_mono_ms() - t0;
    assert_int_equal(strncmp(out, "Status: 404", 11), 0);
    if (waited >= 1000)
        fail_msg("a new connection waited %lld ms behind %d idle ones",
                 (long long)waited, IDLE);
    /* The idle ones, newest first, each still served. */
    for (int i = IDLE - 1; i >= 0; i--) {
        call(idle[i], 1, params, NULL, 0, out, sizeof out);
        assert_int_equal(strncmp(out, "Status: 404", 11), 0);
        close(idle[i]);
    }
}

/* A kept-alive connection the web server closes while idle is closed here too,
 * and the threads go on serving. */
static void test_idle_connection_closed_by_peer(void **state)
{
    server *s = *state;
    const char *params[] = {"REQUEST_METHOD", "POST", "DOCUMENT_URI", "/nope", NULL};
    char out[4096];
    for (int round = 0; round < 4; round++) {
        int fd = connect_to(s);
        call(fd, 1, params, NULL, 0, out, sizeof out);
        close(fd);
    }
    int fd = connect_to(s);
    call(fd, 0, params, NULL, 0, out, sizeof out);
    close(fd);
    assert_int_equal(strncmp(out, "Status: 404", 11), 0);
}

static void test_web_server_addrs(void **state)
{
    (void)state;
    assert_true(tr_fcgi_addr_listed("127.0.0.1", "127.0.0.1"));
    assert_true(tr_fcgi_addr_listed("10.0.0.2", "127.0.0.1,10.0.0.2"));
    assert_true(tr_fcgi_addr_listed("10.0.0.2", "127.0.0.1, 10.0.0.2 "));
    assert_false(tr_fcgi_addr_listed("10.0.0.2", "127.0.0.1,10.0.0.20"));
    assert_false(tr_fcgi_addr_listed("10.0.0.20", "10.0.0.2"));
    assert_false(tr_fcgi_addr_listed("127.0.0.1", ""));
    assert_false(tr_fcgi_addr_listed("127.0.0.1", ","));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_and_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_uri_fallback_and_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_body_is_drained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_body_and_bad_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_down_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_on_kept_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sighup_keeps_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connections_hold_no_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connection_closed_by_peer, setup, teardown),
        cmocka_unit_test(test_web_server_addrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
