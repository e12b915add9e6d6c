/* test_url.c - tr_url_check: which callback URLs are accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tr_url.h"

static void expect_ok(const char *url)
{
    char msg[256] = "unset";
    int rc = tr_url_check(url, "callback_cmd", msg, sizeof msg);
    if (rc != 0)
        print_error("url '%s' rejected: %s\n", url, msg);
    assert_int_equal(rc, 0);
    assert_string_equal(msg, "");
}

/* Rejected, with a reason naming the field and containing `why`. */
static void expect_bad(const char *url, const char *why)
{
    char msg[256] = "";
    int rc = tr_url_check(url, "callback_cmd", msg, sizeof msg);
    if (rc != -1 || strncmp(msg, "callback_cmd: ", 14) != 0 || strstr(msg, why) == NULL)
        print_error("url '%s': rc %d msg '%s', want -1 with '%s'\n", url ? url : "(null)", rc,
                    msg, why);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(msg, why));
}

static void test_accepted(void **state)
{
    (void)state;
    expect_ok("http://127.0.0.1/cb");
    expect_ok("http://127.0.0.1:8080/cb?a=1&b=2#frag");
    expect_ok("https://example.test/");
    expect_ok("https://example.test");
    expect_ok("HTTP://EXAMPLE.TEST/X");
    expect_ok("http://[::1]:9000/x");
    expect_ok("http://h/%41%42");
}

static void test_scheme(void **state)
{
    (void)state;
    expect_bad("ftp://h/x", "scheme must be http or https");
    expect_bad("file:///etc/passwd", "scheme must be http or https");
    expect_bad("gopher://h/", "scheme must be http or https");
    expect_bad("ws://h/", "scheme must be http or https");
    expect_bad("foo://h/", "scheme must be http or https");
}

static void test_port_zero(void **state)
{
    (void)state;
    expect_bad("http://h:0/", "port 0");
    expect_bad("http://h:00/x", "port 0");
    expect_bad("https://[::1]:0", "port 0");
    expect_ok("http://h:080/");
    expect_ok("http://h:10/");
}

static void test_relative_and_hostless(void **state)
{
    (void)state;
    expect_bad("/cb", "not an absolute URL");
    expect_bad("h/cb", "not an absolute URL");
    expect_bad("//h/cb", "not an absolute URL");
    expect_bad("http://", "");
    expect_bad("http:///x", "has no host");
    expect_bad("http:/x", "has no host");
    expect_bad("http://?x", "");
    expect_bad("", "empty");
    expect_bad(NULL, "empty");
}

static void test_credentials(void **state)
{
    (void)state;
    expect_bad("http://user:pass@h/", "user:password");
    expect_bad("http://user@h/", "user:password");
    expect_bad("https://:secret@h/", "user:password");
}

static void test_spaces_and_controls(void **state)
{
    (void)state;
    expect_bad("http://h/a b", "space or control");
    expect_bad(" http://h/", "space or control");
    expect_bad("http://h/\n", "space or control");
    expect_bad("http://h/\t", "space or control");
    expect_bad("http://h/\x7f", "space or control");
}

static void test_length(void **state)
{
    (void)state;
    char *url = malloc(TR_URL_MAX + 2);
    assert_non_null(url);
    memset(url, 'a', TR_URL_MAX + 1);
    memcpy(url, "http://h/", 9);
    url[TR_URL_MAX] = '\0';
    expect_ok(url);
    url[TR_URL_MAX] = 'a';
    url[TR_URL_MAX + 1] = '\0';
    expect_bad(url, "longer than 2048 bytes");
    free(url);
}

static void test_field_name_and_small_buffer(void **state)
{
    (void)state;
    char msg[8];
    assert_int_equal(tr_url_check("ftp://h/", "url", msg, sizeof msg), -1);
    assert_int_equal(strlen(msg), 7); /* cut, still terminated */
    char big[128];
    assert_int_equal(tr_url_check("ftp://h/", "data.callback_cmd", big, sizeof big), -1);
    assert_int_equal(strncmp(big, "data.callback_cmd: ", 19), 0);
}

/* TCP targets (tr_url_is_tcp, tr_url_tcp_parse, tr_url_check_target). */
static void test_tcp_targets(void **state)
{
    (void)state;
    char msg[256], host[256], as_http[512];
    int port = 0;
    assert_int_equal(tr_url_is_tcp("tcp://h:9100"), 1);
    assert_int_equal(tr_url_is_tcp("TCP://h:9100"), 1);
    assert_int_equal(tr_url_is_tcp("127.0.0.1:9100"), 1);
    assert_int_equal(tr_url_is_tcp("[::1]:9100"), 1);
    assert_int_equal(tr_url_is_tcp("http://h:80/"), 0);
    assert_int_equal(tr_url_is_tcp("http:/h"), 0);
    assert_int_equal(tr_url_is_tcp("h:x"), 0);
    assert_int_equal(tr_url_is_tcp("h/p:80"), 0);
    assert_int_equal(tr_url_is_tcp("u@h:80"), 0);
    assert_int_equal(tr_url_is_tcp(":80"), 0);
    assert_int_equal(tr_url_tcp_parse("tcp://Example.TEST:9100", "callback_cmd", as_http,
                                      sizeof as_http, host, sizeof host, &port, msg, sizeof msg),
                     0);
    assert_string_equal(host, "example.test");
    assert_int_equal(port, 9100);
    assert_string_equal(as_http, "http://Example.TEST:9100/");
    assert_int_equal(tr_url_tcp_parse("[::1]:7", "u", NULL, 0, host, sizeof host, &port, msg,
                                      sizeof msg),
                     0);
    assert_string_equal(host, "[::1]");
    const char *bad[] = {"tcp://h", "tcp://h:", "tcp://h:0", "tcp://h:65536", "tcp://h:9/x",
                         "tcp://u@h:9", "tcp://:9", "tcp://h:+9", "tcp://h:9?q", "tcp://[::1:9",
                         "tcp://h h:9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        if (tr_url_check_target(bad[i], "callback_cmd", msg, sizeof msg) != -1)
            print_error("tcp target '%s' accepted\n", bad[i]);
        assert_int_equal(tr_url_check_target(bad[i], "callback_cmd", msg, sizeof msg), -1);
        assert_int_equal(strncmp(msg, "callback_cmd: ", 14), 0);
    }
    assert_int_equal(tr_url_check_target("tcp://127.0.0.1:9100", "u", msg, sizeof msg), 0);
    assert_int_equal(tr_url_check_target("localhost:9100", "u", msg, sizeof msg), 0);
    assert_int_equal(tr_url_check_target("https://h/", "u", msg, sizeof msg), 0);
    /* tls://: a TCP target too, the same rules. */
    assert_int_equal(tr_url_is_tcp("tls://h:9443"), 1);
    assert_int_equal(tr_url_is_tls("TLS://h:9443"), 1);
    assert_int_equal(tr_url_is_tls("tcp://h:9443"), 0);
    assert_int_equal(tr_url_is_tls("h:9443"), 0);
    assert_int_equal(tr_url_tcp_parse("tls://Example.TEST:9443", "u", as_http, sizeof as_http,
                                      host, sizeof host, &port, msg, sizeof msg),
                     0);
    assert_string_equal(host, "example.test");
    assert_int_equal(port, 9443);
    assert_string_equal(as_http, "http://Example.TEST:9443/");
    assert_int_equal(tr_url_check_target("tls://h", "u", msg, sizeof msg), -1);
    assert_int_equal(tr_url_check_target("tls://h:9/x", "u", msg, sizeof msg), -1);
    assert_int_equal(tr_url_check_target("tls://h:0", "u", msg, sizeof msg), -1);
    /* tr_url_check itself still takes http(s) only (failure_url). */
    assert_int_equal(tr_url_check("tcp://h:9", "u", msg, sizeof msg), -1);
    assert_int_equal(tr_url_check("tls://h:9", "u", msg, sizeof msg), -1);
}

/* Stream targets (tr_url_is_stream, tr_url_stream_name, tr_url_check_target). */
static void test_stream_targets(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(tr_url_is_stream("redis-stream://orders"), 1);
    assert_int_equal(tr_url_is_stream("REDIS-STREAM://orders"), 1);
    assert_int_equal(tr_url_is_stream("redis-stream:/orders"), 0);
    assert_int_equal(tr_url_is_tcp("redis-stream://orders"), 0);
    const char *name = tr_url_stream_name("redis-stream://a-Z_0.9:x", "url", msg, sizeof msg);
    assert_non_null(name);
    assert_string_equal(name, "a-Z_0.9:x");
    char longest[sizeof TR_URL_STREAM_PREFIX + TR_URL_STREAM_MAX + 1];
    snprintf(longest, sizeof longest, "%s%0*d", TR_URL_STREAM_PREFIX, TR_URL_STREAM_MAX, 7);
    assert_int_equal(tr_url_check_target(longest, "url", msg, sizeof msg), 0);
    char too_long[sizeof longest + 1];
    snprintf(too_long, sizeof too_long, "%s8", longest);
    const char *bad[] = {"redis-stream://", "redis-stream://a b", "redis-stream://{x}",
                         "redis-stream://a/b", "redis-stream://a?b", "redis-stream://\xc3\xa9",
                         "redis-stream://a\nb", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        if (tr_url_check_target(bad[i], "callback_cmd", msg, sizeof msg) != -1)
            print_error("stream target '%s' accepted\n", bad[i]);
        assert_int_equal(tr_url_check_target(bad[i], "callback_cmd", msg, sizeof msg), -1);
        assert_int_equal(strncmp(msg, "callback_cmd: ", 14), 0);
    }
    /* Not a failure_url: http(s) only there. */
    assert_int_equal(tr_url_check("redis-stream://orders", "u", msg, sizeof msg), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_stream_targets),
        cmocka_unit_test(test_tcp_targets),
        cmocka_unit_test(test_scheme),
        cmocka_unit_test(test_port_zero),
        cmocka_unit_test(test_relative_and_hostless),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_spaces_and_controls),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_field_name_and_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
