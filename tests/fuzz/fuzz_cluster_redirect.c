/* fuzz_cluster_redirect.c - the -MOVED / -ASK error text a cluster node sends
 * (tr_cluster_parse_redirect), and key slots (tr_cluster_keyslot) on the same bytes.
 *
 * Input: the error text as Redis would send it (no leading '-', no CRLF).
 * Checks: an accepted text has a slot 0..16383, a port 1..65535, a NUL-terminated
 * host shorter than TR_CLUSTER_HOST_MAX with no blank, and written back as
 * "KIND slot host:port" it parses to the same thing; a refused one leaves kind NONE.
 * The slot of the bytes as a key is below 16384 and equals that of a plain reading of
 * the specification (the tag between the first '{' and the next '}', when not empty).
 */
#include <string.h>

#include "tr_cluster.h"
#include "tr_fuzz.h"

static unsigned ref_crc16(const unsigned char *p, size_t n)
{
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)p[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
    }
    return crc;
}

static unsigned ref_slot(const unsigned char *k, size_t n)
{
    size_t s, e;
    for (s = 0; s < n; s++)
        if (k[s] == '{')
            break;
    if (s == n)
        return ref_crc16(k, n) % 16384;
    for (e = s + 1; e < n; e++)
        if (k[e] == '}')
            break;
    if (e == n || e == s + 1)
        return ref_crc16(k, n) % 16384;
    return ref_crc16(k + s + 1, e - s - 1) % 16384;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 600)
        return 0;
    /* Exactly size bytes, no NUL after: the parser must not read past len. */
    char *msg = tr_fuzz_bytes(data, size);

    unsigned slot = tr_cluster_keyslot(msg, size);
    TR_FUZZ_CHECK(slot < 16384, "slot %u", slot);
    unsigned want = ref_slot(data, size);
    TR_FUZZ_CHECK(slot == want, "slot %u, the specification says %u", slot, want);

    tr_cluster_redirect r;
    tr_cluster_redirect_kind k = tr_cluster_parse_redirect(msg, size, &r);
    TR_FUZZ_CHECK(k == r.kind, "returned %d, stored %d", (int)k, (int)r.kind);
    if (k != TR_CLUSTER_REDIRECT_NONE) {
        size_t hl = strnlen(r.host, sizeof r.host);
        TR_FUZZ_CHECK(hl < sizeof r.host, "host not terminated");
        TR_FUZZ_CHECK(memchr(r.host, ' ', hl) == NULL, "blank in host '%s'", r.host);
        TR_FUZZ_CHECK(r.slot < 16384 && r.port >= 1 && r.port <= 65535, "slot %u port %d",
                      r.slot, r.port);
        TR_FUZZ_CHECK(k == TR_CLUSTER_REDIRECT_MOVED ? memcmp(data, "MOVED ", 6) == 0
                                                     : memcmp(data, "ASK ", 4) == 0,
                      "kind %d", (int)k);
        char again[TR_CLUSTER_HOST_MAX + 40];
        int n = snprintf(again, sizeof again, "%s %u %s:%d",
                         k == TR_CLUSTER_REDIRECT_MOVED ? "MOVED" : "ASK", r.slot, r.host,
                         r.port);
        tr_cluster_redirect r2;
        TR_FUZZ_CHECK(n > 0 && (size_t)n < sizeof again &&
                          tr_cluster_parse_redirect(again, (size_t)n, &r2) == k &&
                          r2.slot == r.slot && r2.port == r.port &&
                          strcmp(r2.host, r.host) == 0,
                      "'%s' does not read back", again);
    } else {
        TR_FUZZ_CHECK(r.kind == TR_CLUSTER_REDIRECT_NONE, "kind set on refusal");
    }
    free(msg);
    return 0;
}
