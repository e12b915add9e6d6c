/* tr_cluster_self.c - every node of a Redis Cluster in the policy's "self" list. */
#include "tr_cluster_self.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_cluster.h"
#include "tr_log.h"
#include "tr_num.h"

/* One line's endpoint field "<ip>:<port>@<cport>[,<hostname>]" (f, n bytes): hands
 * the node to fn. 1 taken, 0 skipped (no address), -1 malformed or fn failed. */
static int parse_endpoint(const char *f, size_t n, tr_cluster_node_fn fn, void *ctx,
                          char *err, size_t errlen)
{
    char ep[TR_CLUSTER_HOST_MAX + 16];
    if (n >= sizeof ep) {
        snprintf(err, errlen, "CLUSTER NODES: an address field of %zu bytes", n);
        return -1;
    }
    memcpy(ep, f, n);
    ep[n] = '\0';
    char *comma = strchr(ep, ',');
    if (comma != NULL)
        *comma = '\0'; /* the hostname, when the node announces one */
    char *at = strchr(ep, '@');
    char *colon = NULL; /* the last ':' before '@': an IPv6 address holds others */
    for (char *q = ep; at != NULL && q < at; q++)
        if (*q == ':')
            colon = q;
    int64_t port, bus;
    if (at == NULL || colon == NULL ||
        tr_num_parse(colon + 1, (size_t)(at - colon - 1), 0, 65535, &port) != TR_NUM_OK ||
        tr_num_parse(at + 1, strlen(at + 1), 0, 65535, &bus) != TR_NUM_OK) {
        snprintf(err, errlen, "CLUSTER NODES: not an address '%s'", ep);
        return -1;
    }
    *colon = '\0';
    if (ep[0] == '\0' || port == 0)
        return 0; /* noaddr, or not yet known */
    return fn(ctx, ep, (int)port, (int)bus, err, errlen) == 0 ? 1 : -1;
}

int tr_cluster_self_parse(const char *text, size_t len, tr_cluster_node_fn fn, void *ctx,
                          char *err, size_t errlen)
{
    int added = 0;
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        /* Field 2: after the first blank, up to the next. */
        const char *sp = memchr(line, ' ', (size_t)(eol - line));
        if (sp != NULL) {
            const char *f = sp + 1;
            const char *fe = memchr(f, ' ', (size_t)(eol - f));
            if (fe == NULL) {
                snprintf(err, errlen, "CLUSTER NODES: a line without flags");
                return -1;
            }
            int r = parse_endpoint(f, (size_t)(fe - f), fn, ctx, err, errlen);
            if (r < 0)
                return -1;
            added += r;
        } else if (eol > line && !(eol - line == 1 && line[0] == '\r')) {
            snprintf(err, errlen, "CLUSTER NODES: a line of one word");
            return -1;
        }
        line = eol + 1;
    }
    return added;
}

/* tr_cluster_node_fn: the node's client port, and its bus port when it has one. */
static int add_to_policy(void *ctx, const char *host, int port, int bus_port, char *err,
                         size_t errlen)
{
    tr_netpolicy *p = ctx;
    if (tr_netpolicy_add_self(p, NULL, 0, host, port, err, errlen) != 0 ||
        (bus_port > 0 && tr_netpolicy_add_self(p, NULL, 0, host, bus_port, err, errlen) != 0))
        return -1;
    return 0;
}

int tr_cluster_self_add_nodes(tr_netpolicy *p, const char *text, size_t len, char *err,
                              size_t errlen)
{
    return tr_cluster_self_parse(text, len, add_to_policy, p, err, errlen);
}

int tr_cluster_self_add(tr_config *cfg, char *err, size_t errlen)
{
    if (cfg->cluster[0] == '\0')
        return 0;
    tr_cluster_opts o = {.seeds = cfg->cluster,
                         .user = cfg->redis_user,
                         .password = cfg->redis_password,
                         .timeout_ms = cfg->redis_timeout_ms};
    tr_ret code;
    tr_cluster *c = tr_cluster_new(&o, &code, err, errlen);
    if (c == NULL)
        return -1;
    static const char *argv[] = {"CLUSTER", "NODES"};
    /* Keyless: any master answers for the whole cluster; slot 0's is asked. */
    redisReply *r = tr_cluster_command(c, "", 0, 2, argv, NULL, TR_CLUSTER_IDEMPOTENT);
    int n = -1;
    if (r == NULL)
        snprintf(err, errlen, "CLUSTER NODES: %s", tr_cluster_errstr(c));
    else if (r->type != REDIS_REPLY_STRING)
        snprintf(err, errlen, "CLUSTER NODES: answered %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "not a text");
    else
        n = tr_cluster_self_add_nodes(&cfg->netpolicy, r->str, r->len, err, errlen);
    if (n >= 0)
        tr_log_info("destination policy: the cluster's %d nodes (client and bus ports) are "
                    "own addresses", n);
    freeReplyObject(r);
    tr_cluster_free(c);
    return n;
}
