/* test_addr.c - tr_redis_addr: the --stream-redis address (HOST:PORT, [v6]:PORT, a
 * unix socket path), what is refused and why, and the printed form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "tr_redis_addr.h"

static void accepts(const char *s, int is_unix, const char *host, int port, const char *path,
                    const char *printed)
{
    tr_redis_addr a;
    char err[512] = "";
    if (tr_redis_addr_parse(s, &a, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", s, err);
    assert_int_equal(a.is_unix, is_unix);
    assert_string_equal(a.host, host);
    assert_int_equal(a.port, port);
    assert_string_equal(a.path, path);
    char buf[300];
    tr_redis_addr_format(&a, buf, sizeof buf);
    assert_string_equal(buf, printed);
}

static void refuses(const char *s, const char *why)
{
    tr_redis_addr a;
    char err[512] = "";
    if (tr_redis_addr_parse(s, &a, err, sizeof err) == 0)
        fail_msg("'%s' accepted", s);
    if (strstr(err, why) == NULL)
        fail_msg("'%s': '%s' does not say '%s'", s, err, why);
}

static void test_accepted(void **state)
{
    (void)state;
    accepts("127.0.0.1:6379", 0, "127.0.0.1", 6379, "", "127.0.0.1:6379");
    accepts("redis.example:1", 0, "redis.example", 1, "", "redis.example:1");
    accepts("[::1]:65535", 0, "::1", 65535, "", "[::1]:65535");
    accepts("/run/redis/redis.sock", 1, "", 0, "/run/redis/redis.sock", "/run/redis/redis.sock");
}

static void test_refused(void **state)
{
    (void)state;
    refuses("", "empty");
    refuses("localhost", "HOST:PORT");
    refuses(":6379", "host is empty");
    refuses("::1:6379", "in brackets");
    refuses("h:0", "1..65535");
    refuses("h:65536", "1..65535");
    refuses("h:", "1..65535");
    refuses("h:63a", "1..65535");
    refuses("h:+1", "1..65535");
    refuses("h o:1", "a space");
    refuses("h/x:1", "a slash");
    refuses("h\xc3\xa9:1", "non-ASCII");
    char path[200];
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    refuses(path, "107 bytes");
    char host[300];
    memset(host, 'h', sizeof host);
    memcpy(host + 290, ":6379", 6);
    refuses(host, "255 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
