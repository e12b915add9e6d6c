/* test_stream_entry.c - tr_stream_entry: the write the stream notifiers outside the
 * ack send (argv with and without the marker, the marker's name beside any stream
 * key, binary data kept) and how its reply reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tr_stream_entry.h"

static void expect_arg(const tr_stream_entry *e, int i, const char *want, size_t len)
{
    assert_true(i < e->argc);
    assert_int_equal(e->argvlen[i], len);
    assert_memory_equal(e->argv[i], want, len);
}
#define EXPECT(e, i, s) expect_arg((e), (i), (s), strlen(s))

static tr_xfer xfer(const char *id, const char *data, size_t data_len)
{
    tr_xfer x;
    memset(&x, 0, sizeof x);
    x.id = (char *)id;
    x.attempt = 3;
    x.fire_due_ms = 1764630003000LL;
    x.spec.data = (char *)data;
    x.spec.data_len = data_len;
    return x;
}

static void test_with_marker(void **state)
{
    (void)state;
    static tr_config cfg; /* large: not on the stack */
    cfg.stream_dedupe_ms = 3600000;
    cfg.stream_maxlen = 1000;
    tr_xfer x = xfer("k-1", "a\0b", 3);
    tr_stream_entry e;
    assert_int_equal(tr_stream_entry_make(&e, &cfg, "{P}:stream:orders", &x), 0);
    assert_int_equal(e.argc, 11);
    assert_int_equal(e.idempotent, 1);
    EXPECT(&e, 0, "EVAL");
    assert_non_null(strstr(e.argv[1], "SET', KEYS[2], '1', 'NX', 'PX'"));
    EXPECT(&e, 2, "2");
    EXPECT(&e, 3, "{P}:stream:orders");
    /* The marker extends the stream key: the same {hash tag}, so one cluster slot. */
    EXPECT(&e, 4, "{P}:stream:orders:timerush-sent:1764630003000:k-1");
    EXPECT(&e, 5, "3600000");
    EXPECT(&e, 6, "1000");
    EXPECT(&e, 7, "k-1");
    EXPECT(&e, 8, "3");
    EXPECT(&e, 9, "1764630003000");
    expect_arg(&e, 10, "a\0b", 3);
    tr_stream_entry_clear(&e);
    assert_null(e.marker);
    tr_stream_entry_clear(&e); /* twice is fine */
}

static void test_plain_xadd(void **state)
{
    (void)state;
    static tr_config cfg;
    cfg.stream_dedupe_ms = 0;
    cfg.stream_maxlen = 0;
    tr_xfer x = xfer("k-2", NULL, 0);
    tr_stream_entry e;
    assert_int_equal(tr_stream_entry_make(&e, &cfg, "orders", &x), 0);
    assert_int_equal(e.idempotent, 0);
    assert_null(e.marker);
    const char *want[] = {"XADD", "orders", "*", "key", "k-2", "attempt", "3",
                          "due_ms", "1764630003000", "data", ""};
    assert_int_equal(e.argc, 11);
    for (int i = 0; i < 11; i++)
        EXPECT(&e, i, want[i]);
    tr_stream_entry_clear(&e);
    /* A bound adds MAXLEN ~ N before the id. */
    cfg.stream_maxlen = 50;
    assert_int_equal(tr_stream_entry_make(&e, &cfg, "orders", &x), 0);
    assert_int_equal(e.argc, 14);
    EXPECT(&e, 2, "MAXLEN");
    EXPECT(&e, 3, "~");
    EXPECT(&e, 4, "50");
    EXPECT(&e, 5, "*");
    tr_stream_entry_clear(&e);
}

static void test_reply(void **state)
{
    (void)state;
    char why[128];
    redisReply r;
    memset(&r, 0, sizeof r);
    r.type = REDIS_REPLY_STRING; /* the entry id */
    r.str = (char *)"1764630003001-0";
    r.len = strlen(r.str);
    assert_int_equal(tr_stream_entry_written(&r, "here", why, sizeof why), 0);
    memset(&r, 0, sizeof r);
    r.type = REDIS_REPLY_INTEGER; /* 0: an earlier attempt of the firing wrote it */
    assert_int_equal(tr_stream_entry_written(&r, "here", why, sizeof why), 0);
    r.type = REDIS_REPLY_ERROR;
    r.str = (char *)"WRONGTYPE the stream key holds a string";
    r.len = strlen(r.str);
    assert_int_equal(tr_stream_entry_written(&r, "stream on the redis cluster", why, sizeof why),
                     -1);
    assert_string_equal(why, "stream on the redis cluster: WRONGTYPE the stream key holds a string");
    memset(&r, 0, sizeof r);
    r.type = REDIS_REPLY_NIL;
    assert_int_equal(tr_stream_entry_written(&r, "here", why, sizeof why), -1);
    assert_string_equal(why, "here: an unexpected reply");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_marker),
        cmocka_unit_test(test_plain_xadd),
        cmocka_unit_test(test_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
