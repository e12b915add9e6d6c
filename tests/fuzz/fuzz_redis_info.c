/* fuzz_redis_info.c - an INFO replication answer (tr_redis_info_online_replicas), which
 * the scheduler's cut-off reads to take back a master short of --wait-replicas'
 * replicas (shared/tr_store_cutoff.c).
 *
 * Input: the answer's text (exactly size bytes, nothing after it: AddressSanitizer
 * sees any read past it).
 * Checks: the count is at most the number of lines; the input with a '\n' and an
 * online replica's line after it counts exactly one more; with a line of a replica
 * still syncing after it, the same.
 */
#include <stdlib.h>
#include <string.h>

#include "tr_fuzz.h"
#include "tr_redis_info.h"

static const char online[] = "slave7:ip=10.0.0.2,port=7001,state=online,offset=42,lag=0\r";
static const char syncing[] = "slave8:ip=10.0.0.3,port=7002,state=wait_bgsave,offset=0,lag=0\r";

/* The count of text + "\n" + line (line's own bytes, no NUL). */
static long long with_line(const char *text, size_t size, const char *line)
{
    size_t ll = strlen(line);
    char *buf = malloc(size + 1 + ll);
    TR_FUZZ_CHECK(buf != NULL, "out of memory");
    memcpy(buf, text, size);
    buf[size] = '\n';
    memcpy(buf + size + 1, line, ll);
    long long n = tr_redis_info_online_replicas(buf, size + 1 + ll);
    free(buf);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = tr_fuzz_bytes(data, size);
    long long n = tr_redis_info_online_replicas(text, size);
    long long lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    TR_FUZZ_CHECK(n >= 0 && n <= lines, "%lld online in %lld lines", n, lines);
    TR_FUZZ_CHECK(with_line(text, size, online) == n + 1, "an online replica's line not counted");
    TR_FUZZ_CHECK(with_line(text, size, syncing) == n, "a syncing replica's line counted");
    free(text);
    return 0;
}
