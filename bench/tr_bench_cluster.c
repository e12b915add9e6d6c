/* tr_bench_cluster.c - what tr_cluster adds on the client per command: CPU time of
 * GETs sent through tr_cluster_command (slot, map, stale check, redirect checks)
 * against the same GETs sent with plain redisCommandArgv on a connection to the same
 * master, in alternating rounds so machine noise hits both alike.
 *
 * Run under tests/cluster/with_cluster.sh (it exports the ports and the password):
 *   TR_CLUSTER_REPLICAS=0 tests/cluster/with_cluster.sh build/bench/tr_bench_cluster [N] [ROUNDS]
 * Prints, per round and as medians, client CPU microseconds per command (user + sys of
 * this process, CLOCK_PROCESS_CPUTIME_ID) and wall microseconds per command.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "tr_cluster.h"

static double now_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *ports = getenv("TR_TEST_CLUSTER_PORTS");
    const char *password = getenv("TR_TEST_CLUSTER_PASSWORD");
    if (ports == NULL || password == NULL) {
        fprintf(stderr, "run me through tests/cluster/with_cluster.sh\n");
        return 2;
    }
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
    if (n < 1 || n > 10000000 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: %s [N 1..10000000] [ROUNDS 1..100]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char seed[64];
    snprintf(seed, sizeof seed, "127.0.0.1:%ld", strtol(ports, NULL, 10));
    tr_cluster_opts o = {.seeds = seed, .password = password, .timeout_ms = 5000};
    tr_ret code;
    char err[256];
    tr_cluster *c = tr_cluster_new(&o, &code, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *key = "{P:0}:bench";
    const char *set[] = {"SET", key, "0123456789abcdef"};
    redisReply *r = tr_cluster_command(c, key, strlen(key), 3, set, NULL, 0);
    if (r == NULL || r->type != REDIS_REPLY_STATUS) {
        fprintf(stderr, "SET: %s\n", r == NULL ? tr_cluster_errstr(c) : "refused");
        return 1;
    }
    freeReplyObject(r);
    const char *host;
    int port;
    if (tr_cluster_slot_node(c, tr_cluster_keyslot(key, strlen(key)), &host, &port) != 0)
        return 1;
    struct timeval tv = {5, 0};
    redisContext *raw = redisConnectWithTimeout(host, port, tv);
    if (raw == NULL || raw->err)
        return 1;
    r = redisCommand(raw, "AUTH %s", password);
    if (r == NULL || r->type != REDIS_REPLY_STATUS)
        return 1;
    freeReplyObject(r);

    const char *get[] = {"GET", key};
    double cpu[2][100], wall[2][100];
    printf("round  raw_cpu_us  cluster_cpu_us  raw_wall_us  cluster_wall_us  (N=%ld)\n", n);
    for (long k = 0; k < rounds; k++) {
        for (int way = 0; way < 2; way++) {
            double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), w0 = now_s(CLOCK_MONOTONIC);
            for (long i = 0; i < n; i++) {
                r = way == 0 ? redisCommandArgv(raw, 2, get, NULL)
                             : tr_cluster_command(c, key, strlen(key), 2, get, NULL,
                                                  TR_CLUSTER_IDEMPOTENT);
                if (r == NULL || r->type != REDIS_REPLY_STRING) {
                    fprintf(stderr, "GET failed\n");
                    return 1;
                }
                freeReplyObject(r);
            }
            cpu[way][k] = (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e6 / (double)n;
            wall[way][k] = (now_s(CLOCK_MONOTONIC) - w0) * 1e6 / (double)n;
        }
        printf("%5ld  %10.2f  %14.2f  %11.2f  %15.2f\n", k, cpu[0][k], cpu[1][k], wall[0][k],
               wall[1][k]);
    }
    for (int way = 0; way < 2; way++) {
        qsort(cpu[way], (size_t)rounds, sizeof(double), cmp_double);
        qsort(wall[way], (size_t)rounds, sizeof(double), cmp_double);
    }
    double rc = cpu[0][rounds / 2], cc = cpu[1][rounds / 2];
    printf("median client CPU per GET: raw %.2f us, tr_cluster %.2f us (x%.2f); wall: raw "
           "%.2f us, tr_cluster %.2f us (x%.2f)\n",
           rc, cc, cc / rc, wall[0][rounds / 2], wall[1][rounds / 2],
           wall[1][rounds / 2] / wall[0][rounds / 2]);
    redisFree(raw);
    tr_cluster_free(c);
    return 0;
}
