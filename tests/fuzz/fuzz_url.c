/* fuzz_url.c - callback URL validation (tr_url_check: url, failure_url, callback_cmd;
 * tr_url_tcp_parse: TCP targets).
 *
 * Checks: an accepted URL is at most TR_URL_MAX bytes of printable non-space ASCII
 * or UTF-8 bytes, "http://" or "https://" (any case) followed by an authority, and
 * libcurl (the scheduler's parser) reads it with the same scheme, a host and no
 * user or password; libcurl's own normalised form of it is accepted too. A refused
 * one has a message naming the field.
 */
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "tr_fuzz.h"
#include "tr_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TR_URL_MAX + 16)
        return 0;
    char *url = tr_fuzz_str(data, size);
    char msg[256];
    msg[0] = '\0';
    /* A TCP target (tcp://HOST:PORT, HOST:PORT): accepted only with a host, a port
     * 1..65535 and an http form that tr_url_check accepts too. */
    if (tr_url_is_tcp(url)) {
        char host[TR_URL_MAX + 1], as_http[TR_URL_MAX + 16];
        int port = 0;
        if (tr_url_tcp_parse(url, "u", as_http, sizeof as_http, host, sizeof host, &port, msg,
                             sizeof msg) == 0) {
            TR_FUZZ_CHECK(host[0] != '\0' && port >= 1 && port <= 65535, "tcp '%s'", url);
            TR_FUZZ_CHECK(tr_url_check(as_http, "u", msg, sizeof msg) == 0, "tcp '%s' as http", url);
            TR_FUZZ_CHECK(tr_url_check_target(url, "u", msg, sizeof msg) == 0, "tcp '%s'", url);
        } else {
            TR_FUZZ_CHECK(strncmp(msg, "u: ", 3) == 0, "tcp refused with '%s'", msg);
        }
        free(url);
        return 0;
    }
    if (tr_url_check(url, "u", msg, sizeof msg) != 0) {
        TR_FUZZ_CHECK(strncmp(msg, "u: ", 3) == 0, "refused with '%s'", msg);
        free(url);
        return 0;
    }
    size_t len = strlen(url);
    TR_FUZZ_CHECK(len > 0 && len <= TR_URL_MAX, "length %zu", len);
    for (size_t i = 0; i < len; i++)
        TR_FUZZ_CHECK((unsigned char)url[i] > 0x20 && url[i] != 0x7f, "control byte at %zu", i);
    TR_FUZZ_CHECK(strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0,
                  "scheme of '%s'", url);
    CURLU *h = curl_url();
    TR_FUZZ_CHECK(h != NULL, "curl_url");
    TR_FUZZ_CHECK(curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK, "curl refuses '%s'", url);
    char *scheme = NULL, *host = NULL, *user = NULL, *full = NULL;
    TR_FUZZ_CHECK(curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                      (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0),
                  "scheme of '%s'", url);
    TR_FUZZ_CHECK(curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] != '\0',
                  "no host in '%s'", url);
    TR_FUZZ_CHECK(curl_url_get(h, CURLUPART_USER, &user, 0) != CURLUE_OK || user == NULL,
                  "user in '%s'", url);
    if (curl_url_get(h, CURLUPART_URL, &full, 0) == CURLUE_OK && strlen(full) <= TR_URL_MAX)
        TR_FUZZ_CHECK(tr_url_check(full, "u", msg, sizeof msg) == 0,
                      "'%s' accepted, its normal form '%s' refused: %s", url, full, msg);
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(full);
    curl_url_cleanup(h);
    free(url);
    return 0;
}
