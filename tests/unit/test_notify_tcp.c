/* test_notify_tcp.c - the TCP notifier's line (tr_notify_tcp_line): the framing of
 * docs/PROTOCOL.md "TCP targets". The connection handling is tested end to end by
 * tests/integration/test_tcp_notifier.sh against real receivers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tr_notify_tcp.h"

static void expect_line(const char *key, const char *data, size_t data_len, const char *want)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    assert_int_equal(tr_notify_tcp_line(key, 2, 1764630000000, data, data_len, &buf, &len, &cap),
                     0);
    if (len != strlen(want) || memcmp(buf, want, len) != 0)
        print_error("line '%.*s', want '%s'\n", (int)len, buf, want);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    free(buf);
}

static void test_json_data(void **state)
{
    (void)state;
    expect_line("k1", "{\"order\":42}", 12,
                "{\"key\":\"k1\",\"attempt\":2,\"due_ms\":1764630000000,\"data\":{\"order\":42}}\n");
    expect_line("k1", "[1,\n2]", 6,
                "{\"key\":\"k1\",\"attempt\":2,\"due_ms\":1764630000000,\"data\":[1, 2]}\n");
}

static void test_text_data(void **state)
{
    (void)state;
    expect_line("k\"2", "plain\ntext", 10,
                "{\"key\":\"k\\\"2\",\"attempt\":2,\"due_ms\":1764630000000,\"data\":\"plain\\ntext\"}\n");
    expect_line("k", "", 0, "{\"key\":\"k\",\"attempt\":2,\"due_ms\":1764630000000,\"data\":\"\"}\n");
    expect_line("k", "{\"a\":1", 6,
                "{\"key\":\"k\",\"attempt\":2,\"due_ms\":1764630000000,\"data\":\"{\\\"a\\\":1\"}\n");
}

static void test_appends(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tr_notify_tcp_line("key", i, 1, "1", 1, &buf, &len, &cap), 0);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    assert_int_equal(lines, 1000);
    assert_true(cap >= len);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_data),
        cmocka_unit_test(test_text_data),
        cmocka_unit_test(test_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
