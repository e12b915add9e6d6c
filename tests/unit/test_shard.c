/* test_shard.c - tr_shard: the key hash (FNV-1a 32, published test vectors), a
 * key's shard, keys drawn into a chosen shard, and the shard key names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tr_config.h"
#include "tr_shard.h"

static void test_fnv1a_vectors(void **state)
{
    (void)state;
    assert_int_equal(tr_shard_hash("", 0), 0x811c9dc5u);
    assert_int_equal(tr_shard_hash("a", 1), 0xe40c292cu);
    assert_int_equal(tr_shard_hash("foobar", 6), 0xbf9cf968u);
}

static void test_shard_of(void **state)
{
    (void)state;
    tr_config cfg;
    tr_config_defaults(&cfg);
    assert_int_equal(cfg.shards, 1);
    assert_int_equal(tr_shard_of(&cfg, "foobar"), 0);
    cfg.shards = 7;
    assert_int_equal(tr_shard_of(&cfg, "foobar"), (int)(0xbf9cf968u % 7));
    /* Every shard gets keys: 700 keys over 7 shards, none empty. */
    int seen[7] = {0};
    for (int i = 0; i < 700; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        seen[tr_shard_of(&cfg, k)]++;
    }
    for (int s = 0; s < 7; s++)
        assert_true(seen[s] > 50);
}

static void test_new_key_in_shard(void **state)
{
    (void)state;
    tr_config cfg;
    tr_config_defaults(&cfg);
    cfg.shards = 64;
    for (int s = 0; s < 64; s += 9) {
        char k[TR_KEY_LEN + 1];
        assert_int_equal(tr_shard_new_key(&cfg, s, k), 0);
        assert_int_equal(strlen(k), TR_KEY_LEN);
        assert_int_equal(tr_shard_of(&cfg, k), s);
    }
}

static void test_key_names(void **state)
{
    (void)state;
    tr_config cfg;
    tr_config_defaults(&cfg);
    char b[TR_CONFIG_STR_MAX + 32];
    /* One shard: exactly today's names. */
    assert_int_equal(tr_config_shard_key(&cfg, 0, "due", b, sizeof b), 0);
    assert_string_equal(b, "{_timerush_redis_data_}:due");
    cfg.shards = 4;
    assert_int_equal(tr_config_shard_key(&cfg, 3, "timers", b, sizeof b), 0);
    assert_string_equal(b, "{_timerush_redis_data_:3}:timers");
    assert_int_equal(tr_config_shard_key(&cfg, 3, "timers", b, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_shard_of),
        cmocka_unit_test(test_new_key_in_shard),
        cmocka_unit_test(test_key_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
