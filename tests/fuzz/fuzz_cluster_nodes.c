/* fuzz_cluster_nodes.c - a CLUSTER NODES answer (tr_cluster_self_parse), the list of
 * nodes every program adds to the destination policy's own addresses.
 *
 * Input: the answer's text (exactly size bytes, no NUL after it).
 * Checks: each node handed over has a NUL-terminated, non-empty host without a blank,
 * '@' or ',' (the hostname after ',' is dropped), a port 1..65535 and a bus port
 * 0..65535; the count returned is the number of nodes handed over; and each node,
 * written back as a line "id HOST:PORT@BUS master - 0 0 1 connected", parses to
 * itself. A refused answer sets a reason.
 */
#include <stdio.h>
#include <string.h>

#include "tr_cluster.h"
#include "tr_cluster_self.h"
#include "tr_fuzz.h"

typedef struct seen {
    int calls;
    char host[TR_CLUSTER_HOST_MAX + 16];
    int port, bus;
} seen;

static int remember(void *ctx, const char *host, int port, int bus_port, char *err,
                    size_t errlen)
{
    (void)err;
    (void)errlen;
    seen *s = ctx;
    s->calls++;
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    s->bus = bus_port;
    return 0;
}

static int check_node(void *ctx, const char *host, int port, int bus_port, char *err,
                      size_t errlen)
{
    int *calls = ctx;
    (*calls)++;
    size_t hl = strnlen(host, TR_CLUSTER_HOST_MAX + 16);
    TR_FUZZ_CHECK(hl > 0 && hl < TR_CLUSTER_HOST_MAX + 16, "host of %zu bytes", hl);
    TR_FUZZ_CHECK(strpbrk(host, " @,\n") == NULL, "'%s' holds a separator", host);
    TR_FUZZ_CHECK(port >= 1 && port <= 65535 && bus_port >= 0 && bus_port <= 65535,
                  "port %d bus %d", port, bus_port);
    char line[TR_CLUSTER_HOST_MAX + 80];
    int n = snprintf(line, sizeof line, "id %s:%d@%d master - 0 0 1 connected", host, port,
                     bus_port);
    seen again = {0};
    char err2[200];
    TR_FUZZ_CHECK(n > 0 && (size_t)n < sizeof line &&
                      tr_cluster_self_parse(line, (size_t)n, remember, &again, err2,
                                            sizeof err2) == 1 &&
                      again.calls == 1 && strcmp(again.host, host) == 0 &&
                      again.port == port && again.bus == bus_port,
                  "'%s' does not read back", line);
    (void)err;
    (void)errlen;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = tr_fuzz_bytes(data, size);
    int calls = 0;
    char err[200] = "";
    int n = tr_cluster_self_parse(text, size, check_node, &calls, err, sizeof err);
    if (n >= 0)
        TR_FUZZ_CHECK(n == calls, "returned %d, handed over %d", n, calls);
    else
        TR_FUZZ_CHECK(err[0] != '\0', "refused without a reason");
    free(text);
    return 0;
}
