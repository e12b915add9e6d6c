/* timerush-scheduler: options, process setup (daemon, signals, log, libcurl), then
 * the loop in tr_sched_loop.c. Exit codes: 0 clean stop or --check OK, 1 runtime
 * failure, 2 bad configuration. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tr_claim_token.h"
#include "tr_cluster_self.h"
#include "tr_config.h"
#include "tr_log.h"
#include "tr_privdrop.h"
#include "tr_sched_loop.h"
#include "tr_sign.h"
#include "tr_signal.h"

static int check_readable(const char *what, const char *path)
{
    if (path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "timerush-scheduler: --%s %s: %s\n", what, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

static int daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < 3; i++)
        if (dup2(fd, i) < 0)
            rc = -1;
    if (fd > 2)
        close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    static tr_config cfg; /* large: keep it off the stack */
    char err[TR_CONFIG_STR_MAX + 256];
    switch (tr_config_parse(&cfg, TR_PROG_SCHEDULER, "timerush-scheduler", argc, argv, err,
                            sizeof err)) {
    case TR_CONFIG_OK:
        break;
    case TR_CONFIG_EXIT:
        return 0;
    case TR_CONFIG_ERROR:
    default:
        fprintf(stderr, "timerush-scheduler: %s\n", err);
        return 2;
    }
    if (check_readable("pem", cfg.pem) != 0 || check_readable("cacert", cfg.cacert) != 0)
        return 2;
    if (cfg.scheduler_id[0] != '\0' && !tr_scheduler_id_valid(cfg.scheduler_id)) {
        fprintf(stderr,
                "timerush-scheduler: --scheduler-id '%s': 1 to %d letters, digits, '.', '_' "
                "or '-'\n",
                cfg.scheduler_id, TR_SCHEDULER_ID_MAX);
        return 2;
    }
    if (tr_privdrop_check(cfg.user, err, sizeof err) != 0) {
        fprintf(stderr, "timerush-scheduler: %s\n", err);
        return 2;
    }
    /* Loaded here, before anything runs: a bad file is a configuration error. */
    tr_sign *signer = NULL;
    if (cfg.signing_secret_file[0] != '\0' &&
        (signer = tr_sign_load(cfg.signing_secret_file, err, sizeof err)) == NULL) {
        fprintf(stderr, "timerush-scheduler: --signing-secret-file %s\n", err);
        return 2;
    }
    if (cfg.check_only) {
        tr_sign_free(signer);
        puts("OK");
        return 0;
    }
    if (cfg.daemonize && daemonize() != 0) {
        fprintf(stderr, "timerush-scheduler: cannot daemonize: %s\n", strerror(errno));
        tr_sign_free(signer);
        return 1;
    }
    if (tr_log_open("timerush-scheduler", cfg.log_level, cfg.logpath) != 0) {
        fprintf(stderr, "timerush-scheduler: --logpath %s: %s\n", cfg.logpath, strerror(errno));
        tr_sign_free(signer);
        return 2;
    }
    /* The log is open (as root, when started so); nothing else here needs root. The
     * files curl reads per delivery (--pem, --cacert) and the signing secrets, read again
     * on SIGHUP, must be readable by --user. */
    if (tr_privdrop_apply_logged(cfg.user) != 0) {
        tr_log_close();
        tr_sign_free(signer);
        return 1;
    }
    tr_signal_flags sig;
    if (tr_signal_install(&sig) != 0) {
        tr_log_error("cannot install signal handlers: %s", strerror(errno));
        tr_log_close();
        tr_sign_free(signer);
        return 1;
    }
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        tr_log_error("curl_global_init: %s", curl_easy_strerror(cc));
        tr_log_close();
        tr_sign_free(signer);
        return 1;
    }
    if (cfg.insecure)
        tr_log_warning("--insecure: https peers are not verified");
    if (cfg.pem[0] != '\0' && cfg.pem_hosts[0] == '\0')
        tr_log_warning("--pem is presented to every host a callback goes to (--pem-hosts "
                       "limits it)");
    /* Every node of the cluster joins "self" before anything reads the policy. */
    if (tr_cluster_self_add(&cfg, err, sizeof err) < 0) {
        tr_log_error("cannot name the cluster's nodes for the destination policy: %s", err);
        curl_global_cleanup();
        tr_log_close();
        tr_sign_free(signer);
        return 1;
    }
    tr_log_info("destination policy: %s, %zu allow/deny entries, %zu own addresses refused%s",
                tr_netpolicy_kind_name(cfg.netpolicy.kind), cfg.netpolicy.nrules,
                cfg.netpolicy.nself, cfg.no_chain ? "; --no-chain" : "");
    char where[TR_CONFIG_STR_MAX + 32];
    if (cfg.cluster[0] != '\0')
        snprintf(where, sizeof where, "cluster:%s shards=%d", cfg.cluster, cfg.shards);
    else if (cfg.redis_socket[0] != '\0')
        snprintf(where, sizeof where, "unix:%s", cfg.redis_socket);
    else
        snprintf(where, sizeof where, "%s:%d", cfg.host, cfg.port);
    tr_log_info("started: redis=%s db=%d key=%s max_inflight=%d host_limit=%d timeout_ms=%d "
                "lease_ms=%d max_attempts=%d backoff_ms=%d..%d",
                where, cfg.db, cfg.key, cfg.max_inflight, cfg.host_limit, cfg.timeout_ms,
                cfg.timeout_ms + cfg.lease_margin_ms, cfg.max_attempts, cfg.backoff_min_ms,
                cfg.backoff_max_ms);
    if (signer != NULL)
        tr_log_info("callbacks signed (Standard Webhooks) with %d secret(s) from %s",
                    tr_sign_count(signer), cfg.signing_secret_file);
    tr_sched_flags flags = {.stop = sig.stop, .hup = sig.hup};
    int rc = tr_sched_run(&cfg, flags, signer);
    curl_global_cleanup();
    tr_log_close();
    return rc == 0 ? 0 : 1;
}
