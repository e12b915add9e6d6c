#include "tr_redis.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Runs one setup command; 0 or -1 with code/err set. `what` names it in err. */
static int setup_command(redisContext *ctx, int argc, const char **argv, const char *what,
                         tr_ret *code, char *err, size_t errlen)
{
    redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
    if (r == NULL) {
        *code = TR_RET_STORE_DOWN;
        snprintf(err, errlen, "redis %s: %s", what, ctx->errstr);
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        *code = TR_RET_STORE_DOWN; /* the server refused us: unusable, not our bug */
        snprintf(err, errlen, "redis %s refused: %.*s", what, (int)(r->len > 200 ? 200 : r->len),
                 r->str);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

redisContext *tr_redis_connect(const tr_config *cfg, tr_ret *code, char *err, size_t errlen)
{
    struct timeval tv = ms_to_tv(cfg->redis_timeout_ms);
    redisContext *ctx = cfg->redis_socket[0] != '\0'
                            ? redisConnectUnixWithTimeout(cfg->redis_socket, tv)
                            : redisConnectWithTimeout(cfg->host, cfg->port, tv);
    if (ctx == NULL) {
        *code = TR_RET_INTERNAL;
        snprintf(err, errlen, "redis connect: out of memory");
        return NULL;
    }
    if (ctx->err) {
        *code = TR_RET_STORE_DOWN;
        if (cfg->redis_socket[0] != '\0')
            snprintf(err, errlen, "redis connect %s: %s", cfg->redis_socket, ctx->errstr);
        else
            snprintf(err, errlen, "redis connect %s:%d: %s", cfg->host, cfg->port, ctx->errstr);
        goto fail;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        *code = TR_RET_STORE_DOWN;
        snprintf(err, errlen, "redis set timeout: %s", ctx->errstr);
        goto fail;
    }
    if (cfg->redis_password[0] != '\0') {
        /* On every (re)connect. Redis's error reply never holds the password. */
        const char *argv[3];
        int argc = 0;
        argv[argc++] = "AUTH";
        if (cfg->redis_user[0] != '\0')
            argv[argc++] = cfg->redis_user; /* an ACL user: AUTH user password */
        argv[argc++] = cfg->redis_password;
        if (setup_command(ctx, argc, argv,
                          argc == 3 ? "AUTH (check --redis-user and the password)"
                                    : "AUTH (check the password)",
                          code, err, errlen) != 0)
            goto fail;
    }
    if (cfg->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", cfg->db);
        const char *argv[] = {"SELECT", db};
        if (setup_command(ctx, 2, argv, "SELECT", code, err, errlen) != 0)
            goto fail;
    }
    return ctx;
fail:
    redisFree(ctx);
    return NULL;
}

int tr_redis_error_is_down(const char *msg, size_t len)
{
    static const char *const down[] = {"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN",
                                       "NOAUTH", "WRONGPASS", "TRYAGAIN", "CLUSTERDOWN",
                                       "NOREPLICAS", "MISCONF"};
    for (size_t i = 0; i < sizeof down / sizeof down[0]; i++) {
        size_t n = strlen(down[i]);
        if (len >= n && memcmp(msg, down[i], n) == 0 && (len == n || msg[n] == ' '))
            return 1;
    }
    return 0;
}

int tr_redis_is_stale(const redisContext *ctx)
{
    /* Between requests nothing may arrive; anything readable is EOF or garbage. */
    struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    return n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
}
