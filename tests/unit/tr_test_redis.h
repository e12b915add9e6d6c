/* tr_test_redis.h - the Redis unit tests' own calls beside the store under test (to
 * set up and to check what the store wrote): a command on a fresh connection to the
 * test's Redis, the integer of a reply, a key of the store's layout.
 *
 * Header-only (static inline): each unit test is one .c file and one executable.
 * Every failure is a cmocka assertion. A reply is the caller's to freeReplyObject();
 * tr_test_redis_int() frees the one it is given. Include after <cmocka.h>.
 *
 * A test names its config once: #define raw(...) tr_test_redis_cmd(&cfg, __VA_ARGS__)
 */
#ifndef TR_TEST_REDIS_H
#define TR_TEST_REDIS_H

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tr_config.h"

/* cfg: the defaults, on the Redis that tests/with_redis.sh started (its unix socket
 * in TR_TEST_REDIS_SOCKET), the store's key prefix `key`, no TCP port, a command
 * timeout of timeout_ms. SIGPIPE ignored (a Redis killed mid-test). 0, or -1 (said
 * on stderr) when not run through with_redis.sh. */
static inline int tr_test_redis_config(tr_config *cfg, const char *key, int timeout_ms)
{
    const char *sock = getenv("TR_TEST_REDIS_SOCKET");
    if (sock == NULL) {
        fprintf(stderr, "run me through tests/with_redis.sh\n");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    tr_config_defaults(cfg);
    snprintf(cfg->key, sizeof cfg->key, "%s", key);
    snprintf(cfg->redis_socket, sizeof cfg->redis_socket, "%s", sock);
    cfg->port = 0;
    cfg->redis_timeout_ms = timeout_ms;
    return 0;
}

/* A connection to cfg's unix socket (2 s timeout); the caller redisFree()s it. */
static inline redisContext *tr_test_redis_connect(const tr_config *cfg)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectUnixWithTimeout(cfg->redis_socket, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

/* fmt (hiredis's format) and its arguments on a fresh connection to cfg's socket. */
static inline redisReply *tr_test_redis_cmd(const tr_config *cfg, const char *fmt, ...)
{
    redisContext *c = tr_test_redis_connect(cfg);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    redisFree(c);
    return r;
}

/* r's integer, or a decimal string's value; -1 for nil, -999 for any other reply.
 * Frees r. */
static inline long long tr_test_redis_int(redisReply *r)
{
    long long v = -999;
    if (r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    else if (r->type == REDIS_REPLY_NIL)
        v = -1;
    freeReplyObject(r);
    return v;
}

/* cfg's key for suffix ("{<key>}:<suffix>", tr_config_redis_key), in one of 8
 * buffers used in turn: valid until 8 more calls. */
static inline const char *tr_test_redis_key(const tr_config *cfg, const char *suffix)
{
    static char buf[8][TR_CONFIG_STR_MAX + 160];
    static int next;
    char *b = buf[next++ % 8];
    assert_int_equal(tr_config_redis_key(cfg, suffix, b, sizeof buf[0]), 0);
    return b;
}

#endif
