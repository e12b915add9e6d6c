/* timerush-fcgi - the FastCGI request handler, run by spawn-fcgi (which passes the
 * listening socket as fd 0 and does the daemonizing; -d is accepted and ignored).
 * Options, the log and the store are set up here; tr_fcgi_loop.h has the accept
 * loop and the signal handling (SIGTERM/SIGINT: finish the request, exit 0).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tr_config.h"
#include "tr_fcgi_loop.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_store.h"

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
    if (cfg.check_only) {
        puts("OK");
        return 0;
    }
    if (tr_log_open(PROGNAME, cfg.log_level, cfg.logpath) != 0) {
        fprintf(stderr, PROGNAME ": cannot open log %s: %s\n", cfg.logpath, strerror(errno));
        return 1;
    }

    int status = 1;
    tr_store *store = tr_store_new(&cfg);
    if (store == NULL) {
        tr_log_error("out of memory");
        goto out;
    }
    /* Not fatal: the store reconnects by itself on the first request. */
    if (tr_store_connect(store) != 0)
        tr_log_error("redis not reachable yet: %s", tr_store_error(store));
    char target[TR_CONFIG_STR_MAX + 32];
    if (cfg.redis_socket[0] != '\0')
        snprintf(target, sizeof target, "unix:%s", cfg.redis_socket);
    else
        snprintf(target, sizeof target, "%s:%d", cfg.host, cfg.port);
    tr_log_info("started: redis %s db=%d key=%s max_body=%d max_seconds=%lld", target, cfg.db,
                cfg.key, cfg.max_body_bytes, (long long)cfg.max_delay_s);
    const tr_app app = {&cfg, store};
    if (tr_fcgi_run(&app) == 0) {
        status = 0;
        tr_log_info("stopped");
    }
out:
    tr_store_free(store);
    tr_log_close();
    return status;
}
