/* tr_config.h - options for every TimeRush program, from one table.
 *
 * The original TimeRush's options are kept with their names and defaults
 * (--host --port --db --key --interval --listen-host --listen-port --pem --level -d
 * --logpath); the rest are ours. Every option can also be written in a config file
 * given with -c/--config FILE, one "name = value" per line ('#' starts a comment,
 * flags take true/false/yes/no/1/0); the command line wins over the file.
 *
 * Each option belongs to one or more programs. A program refuses, on its command
 * line, an option that is not its own, but skips in a config file the options that
 * belong to the other programs, so one file can configure the whole stack.
 */
#ifndef TR_CONFIG_H
#define TR_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "tr_log.h"
#include "tr_tokens.h"
#include "tr_netpolicy.h"

/* Which program an option belongs to (a bit mask). */
#define TR_PROG_FCGI 1u
#define TR_PROG_SCHEDULER 2u
#define TR_PROG_LAUNCHER 4u
#define TR_PROG_ALL (TR_PROG_FCGI | TR_PROG_SCHEDULER | TR_PROG_LAUNCHER)

/* What kind of value an option takes, beyond its type (a bit mask; the dump's flags):
 * SECRET: the value is a secret (a password, a token). The launcher never puts it on a
 *   program's command line, where ps shows it to every local user: it writes it to a
 *   0600 file and passes the file option instead.
 * SECRET_FILE: the value names a file holding secrets; the program refuses the file
 *   when group or others may read it. The path itself is not secret.
 * CLI_ONLY: a -c file may not set it (it acts on the file itself, or on this run). */
#define TR_OPTF_SECRET 1u
#define TR_OPTF_SECRET_FILE 2u
#define TR_OPTF_CLI_ONLY 4u

#define TR_CONFIG_STR_MAX 1024
#define TR_SHARDS_MAX 1024               /* --shards at most */

/* All settings, with units in the names. Filled with defaults by
 * tr_config_defaults(); strings are NUL-terminated and owned by the struct. */
typedef struct tr_config {
    /* Redis */
    char host[TR_CONFIG_STR_MAX];        /* Redis host name or address */
    int port;                            /* Redis TCP port; 0 with redis_socket set */
    char redis_socket[TR_CONFIG_STR_MAX];/* Redis unix socket path; empty for TCP */
    int db;                              /* Redis database number */
    char key[TR_CONFIG_STR_MAX];         /* key prefix; keys are "{<key>}:due" etc. */
    char redis_password[TR_CONFIG_STR_MAX]; /* AUTH password; empty for none; never logged;
                                          * filled from redis_password_file when that is set */
    char redis_password_file[TR_CONFIG_STR_MAX]; /* 0600 file holding the password; empty: none */
    char redis_user[TR_CONFIG_STR_MAX];  /* ACL user for AUTH; empty: the default user */
    int redis_timeout_ms;                /* connect and command timeout */
    char cluster[TR_CONFIG_STR_MAX];     /* --cluster: Redis Cluster seeds "host:port[,...]";
                                          * empty: one Redis (host/port or socket) */
    int shards;                          /* logical shards S (tr_shard.h); 1: the
                                          * unsharded names "{<key>}:due" ... */
    int wait_replicas;                   /* --wait-replicas: replicas that must confirm
                                          * each acknowledged write (WAIT); 0: none;
                                          * with --cluster only */

    /* Logging and process */
    int interval_s;                      /* seconds between status lines */
    char level[16];                      /* log level name as given */
    tr_log_level log_level;              /* parsed from level */
    int daemonize;                       /* -d: detach; needs logpath */
    char logpath[TR_CONFIG_STR_MAX];     /* log file; empty for stderr */
    char config_path[TR_CONFIG_STR_MAX]; /* -c FILE, empty when none */
    int check_only;                      /* -n/--check: validate, print OK, exit */
    char user[TR_CONFIG_STR_MAX];        /* --user: run as this user when started as root
                                          * (tr_privdrop.h); empty: no drop */

    /* timerush-fcgi */
    int max_body_bytes;                  /* largest request body accepted */
    int threads;                         /* request threads per timerush-fcgi process */
    int64_t max_delay_s;                 /* largest `seconds` accepted */
    /* Bearer tokens with their scopes (tr_tokens.h; never logged), from --api-token,
     * --api-token-file and --metrics-token of the -c file and the command line
     * together (--api-token-reset on the command line drops the file's). When one
     * has a read, write or admin scope, /v1/, /register/ and /unregister/ need one
     * with the route's scope (fcgi/tr_auth.h). */
    tr_api_token api_tokens[TR_API_TOKENS_MAX];
    int api_token_count;
    int api_token_reset;                 /* --api-token-reset was given */
    int metrics_auth;                    /* /metrics needs a read or metrics token */

    /* timerush-scheduler */
    char pem[TR_CONFIG_STR_MAX];         /* client certificate + key (PEM); empty: none */
    char cacert[TR_CONFIG_STR_MAX];      /* CA bundle for https peers; empty: system store */
    int insecure;                        /* skip peer verification (the original's mode) */
    int max_inflight;                    /* global cap on concurrent deliveries */
    int host_limit;                      /* deliveries in flight per destination and per
                                          * resolved address (tr_dest.h) */
    int stream_maxlen;                   /* XADD MAXLEN ~ of redis-stream:// targets;
                                          * 0: unbounded */
    char stream_redis[TR_CONFIG_STR_MAX]; /* redis-stream:// targets go to this Redis
                                           * (tr_redis_addr.h); empty: TimeRush's own */
    char stream_redis_password_file[TR_CONFIG_STR_MAX]; /* its AUTH password's file */
    char stream_redis_password[TR_CONFIG_STR_MAX]; /* read from that file; never logged */
    int stream_dedupe_ms;                /* --stream-redis: a firing's second XADD is
                                          * skipped this long; 0: plain XADD */
    int breaker_failures;                /* unreachable results in a row that open a
                                          * destination's breaker; 0: off */
    int connect_timeout_ms;              /* connect phase of a delivery */
    int timeout_ms;                      /* whole delivery, connect included */
    int lease_margin_ms;                 /* lease = timeout_ms + lease_margin_ms */
    char scheduler_id[TR_CONFIG_STR_MAX]; /* stable name of this scheduler; empty: none
                                          * (tr_claim_token.h) */
    int max_attempts;                    /* deliveries tried before the dead-letter set */
    int backoff_min_ms;                  /* first retry delay (before jitter) */
    int backoff_max_ms;                  /* cap on the retry delay */
    int max_response_bytes;              /* answer body read at most */
    int drain_ms;                        /* on SIGTERM, time to finish deliveries */
    char signing_secret_file[TR_CONFIG_STR_MAX]; /* whsec_ secrets signing every callback
                                          * (scheduler/tr_sign.h); empty: unsigned */

    /* Destination policy (both programs; tr_netpolicy.h). The lists are the options'
     * comma lists, every --callback-allow/--callback-deny (file and command line)
     * appended; netpolicy is parsed from them by tr_config_parse(), with "self"
     * (--listen-host/--listen-port, a TCP Redis) added, and only read afterwards. */
    char callback_policy[16];            /* public, private or any */
    char callback_allow[TR_CONFIG_STR_MAX];
    char callback_deny[TR_CONFIG_STR_MAX];
    char pem_hosts[TR_CONFIG_STR_MAX];   /* hosts --pem is presented to; empty: every host */
    int no_chain;                        /* callback answers never create timers */
    tr_netpolicy netpolicy;

    /* the launcher (./timerush), kept here so config files are checked */
    char listen_host[TR_CONFIG_STR_MAX]; /* where nginx listens (both programs know it:
                                          * the destination policy refuses it) */
    int listen_port;
    int workers;                         /* timerush-fcgi processes */
    char run_dir[TR_CONFIG_STR_MAX];     /* sockets, pid files, generated configs */
    int schedulers;                      /* timerush-scheduler processes */
    int redis_port;                      /* embedded Redis TCP port; 0: none (socket only) */
    int cluster_local;                   /* --cluster-local: masters of the launcher's own
                                          * local cluster; 0: none */
    char build_dir[TR_CONFIG_STR_MAX];   /* where the programs are */
    char nginx_user[TR_CONFIG_STR_MAX];  /* nginx worker user; empty: the launcher picks */
    char appendfsync[16];                /* embedded Redis: always, everysec or no */
    int max_conns_per_ip;                /* nginx limit_conn per client address; 0: off */
    int max_rps_per_ip;                  /* nginx limit_req per client address, /s; 0: off */
} tr_config;

/* Fills every field with its default. */
void tr_config_defaults(tr_config *cfg);

/* Result of tr_config_parse(). */
typedef enum tr_config_result {
    TR_CONFIG_OK = 0,    /* run */
    TR_CONFIG_EXIT = 1,  /* --help or --version was printed to stdout: exit 0 */
    TR_CONFIG_ERROR = -1 /* err holds the reason: print it and exit 2 */
} tr_config_result;

/* Fills cfg with defaults, then the -c file, then argv (argv[0] skipped), keeping
 * only the options of `program` (a TR_PROG_* bit). Writes a one-line reason to err
 * on TR_CONFIG_ERROR (also for -c without a file name). `progname` is used for --help.
 *
 * Two first arguments serve the launcher (./timerush), which has no parser of its own:
 *   --print-options       tr_config_print_options(stdout), then TR_CONFIG_EXIT;
 *   --launcher-settings   parses the rest of argv as the launcher's options (defaults,
 *                         -c file, command line, bounds), prints each launcher option
 *                         as "name<TAB>source<TAB>value" (source: default, file or
 *                         command-line; never a token), then TR_CONFIG_EXIT;
 *                         a bad option is TR_CONFIG_ERROR as usual. */
tr_config_result tr_config_parse(tr_config *cfg, unsigned program, const char *progname,
                                 int argc, char **argv, char *err, size_t errlen);

/* The whole option table, a line per option, fields separated by one tab:
 *   name short type default min max programs flags help
 * short is '-' when none; type is string, int, flag or list (repeatable: --api-token,
 * and the comma lists --callback-allow/--callback-deny, which add up); default is
 * the text the option starts with (may be empty); min and max are '-' except for int;
 * programs is a comma-separated subset of fcgi,scheduler,launcher; flags a comma-separated
 * subset of secret,secret-file,cli-only (TR_OPTF_*), '-' when none. The first line is a
 * '#' comment naming the fields. */
void tr_config_print_options(FILE *out);

/* Prints usage with every option of `program` and its default. */
void tr_config_usage(FILE *out, unsigned program, const char *progname);

/* Redis key names: writes "{<key>}:<suffix>" into buf. Returns 0, or -1 when it
 * does not fit. */
int tr_config_redis_key(const tr_config *cfg, const char *suffix, char *buf, size_t len);

/* A shard's key name: "{<key>:<shard>}:<suffix>", or with --shards 1 exactly
 * tr_config_redis_key()'s "{<key>}:<suffix>". 0, or -1 when it does not fit. */
int tr_config_shard_key(const tr_config *cfg, int shard, const char *suffix, char *buf,
                        size_t len);

#endif
