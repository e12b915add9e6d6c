/* timerush-fcgi - the FastCGI request handler, run by spawn-fcgi (which passes the
 * listening socket as fd 0 and does the daemonizing; -d is accepted and ignored).
 * Options and the log are set up here; tr_fcgi_loop.h has the request threads (each
 * with its own store, their creates grouped) and the signal handling (SIGTERM/SIGINT:
 * each thread finishes the request in hand, exit 0).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tr_auth.h"
#include "tr_cluster_self.h"
#include "tr_config.h"
#include "tr_fcgi_loop.h"
#include "tr_log.h"
#include "tr_privdrop.h"

#define PROGNAME "timerush-fcgi"

int main(int argc, char **argv)
{
    tr_config cfg;
    char err[512];
    tr_config_result cr = tr_config_parse(&cfg, TR_PROG_FCGI, PROGNAME, argc, argv, err,
                                          sizeof err);
    if (cr == TR_CONFIG_ERROR) {
        fprintf(stderr, PROGNAME ": %s\n", err);
        return 2;
    }
    if (cr == TR_CONFIG_EXIT)
        return 0;
    if (tr_privdrop_check(cfg.user, err, sizeof err) != 0) {
        fprintf(stderr, PROGNAME ": %s\n", err);
        return 2;
    }
    if (cfg.check_only) {
        puts("OK");
        return 0;
    }
    if (tr_log_open(PROGNAME, cfg.log_level, cfg.logpath) != 0) {
        fprintf(stderr, PROGNAME ": cannot open log %s: %s\n", cfg.logpath, strerror(errno));
        return 1;
    }
    /* The log is open (as root, when started so); nothing else here needs root. */
    if (tr_privdrop_apply_logged(cfg.user) != 0) {
        tr_log_close();
        return 1;
    }

    char target[TR_CONFIG_STR_MAX + 32];
    if (cfg.cluster[0] != '\0')
        snprintf(target, sizeof target, "cluster:%s shards=%d", cfg.cluster, cfg.shards);
    else if (cfg.redis_socket[0] != '\0')
        snprintf(target, sizeof target, "unix:%s", cfg.redis_socket);
    else
        snprintf(target, sizeof target, "%s:%d", cfg.host, cfg.port);
    tr_log_info("started: redis %s db=%d key=%s max_body=%d max_seconds=%lld threads=%d%s",
                target, cfg.db, cfg.key, cfg.max_body_bytes, (long long)cfg.max_delay_s,
                cfg.threads, cfg.threads == 0 ? " (4 per core)" : "");
    /* How many tokens, never which: enough to notice an API left open. */
    tr_log_info("api tokens: %d (%s)", cfg.api_token_count,
                tr_auth_api_protected(&cfg) ? "the API needs one"
                                            : "the API is open to anyone who reaches nginx");
    /* Every node of the cluster joins "self" before a thread reads the policy. */
    if (tr_cluster_self_add(&cfg, err, sizeof err) < 0) {
        tr_log_error("cannot name the cluster's nodes for the destination policy: %s", err);
        tr_log_close();
        return 1;
    }
    tr_log_info("destination policy: %s, %zu allow/deny entries, %zu own addresses refused",
                tr_netpolicy_kind_name(cfg.netpolicy.kind), cfg.netpolicy.nrules,
                cfg.netpolicy.nself);
    int status = 1;
    /* Before any thread: the URL checks use libcurl, whose global set-up is not
     * safe to race. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        tr_log_error("curl_global_init failed");
        tr_log_close();
        return 1;
    }
    if (tr_fcgi_run(&cfg) == 0) {
        status = 0;
        tr_log_info("stopped");
    }
    curl_global_cleanup();
    tr_log_close();
    return status;
}
