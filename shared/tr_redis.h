/* tr_redis.h - what tr_store and tr_wake share: opening a Redis connection.
 *
 * One blocking hiredis context per caller, made from the options (unix socket when
 * --redis-socket is set, else --host/--port), with --redis-timeout-ms bounding the
 * connect and every later command, then AUTH (when a password is set: AUTH PASSWORD,
 * or AUTH USER PASSWORD with --redis-user) and SELECT --db, on every connect and
 * reconnect. The password never appears in a message.
 *
 * Callers must run with SIGPIPE ignored (both programs do): hiredis 0.14 writes
 * with write(2), and a Redis that died would otherwise kill the process.
 */
#ifndef TR_REDIS_H
#define TR_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "tr_config.h"
#include "tr_error.h"

/* Connects, authenticates and selects the database. Returns the context (caller
 * frees with redisFree()), or NULL with *code (TR_RET_STORE_DOWN when Redis is
 * unreachable, timed out or refused us, TR_RET_INTERNAL when out of memory) and a
 * one-line reason in err. */
redisContext *tr_redis_connect(const tr_config *cfg, tr_ret *code, char *err, size_t errlen);

/* 1 when an error reply (`msg`, len bytes) means Redis cannot serve us right now
 * (LOADING, BUSY, OOM, READONLY, NOAUTH, ...) rather than a bug of ours; else 0. */
int tr_redis_error_is_down(const char *msg, size_t len);

/* 1 when the idle connection was closed by the server or holds unread bytes (it is
 * then unusable for request/answer), checked without blocking; else 0. */
int tr_redis_is_stale(const redisContext *ctx);

#endif
