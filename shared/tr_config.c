#include "tr_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tr_cluster.h"
#include "tr_mem.h"
#include "tr_redis_addr.h"
#include "tr_secret_file.h"

#ifndef TR_VERSION
#define TR_VERSION "1.0.0"
#endif

/* The token kinds add to cfg->api_tokens (tr_tokens.h), not to a field of their own:
 * OPT_TOKEN one "[SCOPES:]TOKEN", OPT_TOKEN_FILE a file of them, OPT_METRICS_TOKEN
 * one token with the metrics scope only. */
typedef enum opt_type {
    OPT_STR,
    OPT_INT,
    OPT_INT64,
    OPT_FLAG,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_METRICS_TOKEN,
    OPT_LIST /* a comma list string that each occurrence appends to */
} opt_type;

typedef struct opt_def {
    const char *name;     /* long name, without dashes; also the config file key */
    char short_name;      /* 0 when none */
    opt_type type;
    size_t offset;        /* into tr_config */
    size_t size;          /* of the field, for strings */
    int64_t min, max;     /* bounds for numbers */
    const char *def;      /* default, as text */
    unsigned programs;    /* TR_PROG_* mask */
    const char *help;
    unsigned flags;       /* TR_OPTF_* mask (tr_config.h): secret, secret file, command line only */
} opt_def;

#define F(field) offsetof(tr_config, field), sizeof(((tr_config *)0)->field)
#define FC TR_PROG_FCGI
#define SC TR_PROG_SCHEDULER
#define LA TR_PROG_LAUNCHER
#define ALL TR_PROG_ALL
#define SECRET TR_OPTF_SECRET
#define SECRET_FILE TR_OPTF_SECRET_FILE
#define CLI_ONLY TR_OPTF_CLI_ONLY

/* The one table of options and defaults. */
static const opt_def opt_table[] = {
    {"host", 0, OPT_STR, F(host), 0, 0, "127.0.0.1", ALL, "Redis host", 0},
    {"port", 0, OPT_INT, F(port), 0, 65535, "6379", ALL, "Redis port", 0},
    {"redis-socket", 0, OPT_STR, F(redis_socket), 0, 0, "", ALL,
     "Redis unix socket (instead of host and port)", 0},
    {"db", 0, OPT_INT, F(db), 0, 65535, "0", ALL, "Redis database number", 0},
    {"key", 0, OPT_STR, F(key), 0, 0, "_timerush_redis_data_", ALL,
     "Redis key prefix (keys are {KEY}:due, {KEY}:timers, ...)", 0},
    {"redis-password", 0, OPT_STR, F(redis_password), 0, 0, "", ALL,
     "Redis AUTH password (never logged; prefer --redis-password-file: argv is public). The "
     "launcher writes it to RUN_DIR/run/redis.password and passes the programs that file", SECRET},
    /* issue 12, Redis and files: the secret from a 0600 file, an ACL user, --user. */
    {"redis-password-file", 0, OPT_STR, F(redis_password_file), 0, 0, "", ALL,
     "file holding the Redis AUTH password (one line; refused when group or others may read "
     "it); read once at start, wins over --redis-password", SECRET_FILE},
    {"redis-user", 0, OPT_STR, F(redis_user), 0, 0, "", ALL,
     "Redis ACL user to AUTH as (with the password); empty: the default user", 0},
    {"user", 0, OPT_STR, F(user), 0, 0, "", ALL,
     "started as root, run as this user (and its groups) once set up; the launcher also runs "
     "the embedded Redis as it. Empty: stay root (with a warning)", 0},
    /* issue 11: the keyspace in S shards, each its own hash tag (shared/tr_shard.h). */
    {"shards", 0, OPT_INT, F(shards), 1, TR_SHARDS_MAX, "1", ALL,
     "logical shards of the keyspace, each its own hash tag {KEY:i} (1: today's {KEY}); "
     "fixed per deployment: stored in Redis, a process started with another count refuses "
     "to start", 0},
    {"wait-replicas", 0, OPT_INT, F(wait_replicas), 0, 16, "0", FC | SC | LA,
     "with --cluster: each acknowledged write (create, cancel, ack, ...) waits until this "
     "many replicas of its master have it (WAIT, up to half --redis-timeout-ms), else the "
     "request fails as maybe applied; 0: replication stays asynchronous (docs/CLUSTER.md)",
     0},
    {"redis-timeout-ms", 0, OPT_INT, F(redis_timeout_ms), 10, 600000, "1000", ALL,
     "Redis connect and command timeout, ms", 0},
    /* issue 11, Redis Cluster: the seeds of tr_cluster.h (docs/CLUSTER.md). */
    {"cluster", 0, OPT_STR, F(cluster), 0, 0, "", FC | SC | LA,
     "Redis Cluster seed nodes HOST:PORT[,HOST:PORT...] instead of --host/--port (the "
     "launcher then starts no Redis); needs --shards 2 or more; --redis-user and the "
     "password apply to every node (docs/CLUSTER.md)", 0},
    {"interval", 0, OPT_INT, F(interval_s), 1, 86400, "60", ALL,
     "seconds between the scheduler's status log lines", 0},
    {"level", 0, OPT_STR, F(level), 0, 0, "INFO", ALL, "log level: DEBUG INFO WARNING ERROR", 0},
    {"daemonize", 'd', OPT_FLAG, F(daemonize), 0, 1, "false", ALL,
     "run in the background (needs --logpath; timerush-fcgi ignores it: spawn-fcgi detaches)", 0},
    {"logpath", 0, OPT_STR, F(logpath), 0, 0, "", ALL, "log file (absolute); default stderr", 0},
    {"check", 'n', OPT_FLAG, F(check_only), 0, 1, "false", ALL,
     "check the configuration, print OK and exit", CLI_ONLY},

    {"max-body", 0, OPT_INT, F(max_body_bytes), 256, 16 * 1024 * 1024, "65536", FC | SC | LA,
     "largest request body accepted, bytes (the scheduler holds a chain answer's "
     "callback_data to it too)", 0},
    {"threads", 0, OPT_INT, F(threads), 0, 1024, "0", FC,
     "request threads per timerush-fcgi process (idle kept-alive connections hold none); "
     "0: 4 per CPU core", 0},
    {"max-seconds", 0, OPT_INT64, F(max_delay_s), 1, 3153600000LL, "315360000", FC,
     "largest `seconds` accepted (default 10 years)", 0},
    /* API tokens (docs/SECURITY.md): file and command line add up. */
    {"api-token", 0, OPT_TOKEN, F(api_tokens), 0, 0, "", FC,
     "[SCOPES:]TOKEN: a bearer token for /v1/, /register/, /unregister/; SCOPES is a "
     "comma-separated list of read, write, admin (none given: all three); repeatable, "
     "never logged, visible in ps (prefer --api-token-file)", SECRET},
    {"api-token-file", 0, OPT_TOKEN_FILE, F(api_tokens), 0, 0, "", FC,
     "file of [SCOPES:]TOKEN lines ('#' comments; a metrics token as metrics:TOKEN), mode 600 "
     "(repeatable)", SECRET_FILE},
    {"api-token-reset", 0, OPT_FLAG, F(api_token_reset), 0, 1, "false", FC,
     "command line only: ignore the -c file's api-token, api-token-file and metrics-token",
     CLI_ONLY},
    {"metrics-token", 0, OPT_METRICS_TOKEN, F(api_tokens), 0, 0, "", FC,
     "a bearer token good only for GET /metrics, which then needs a token (repeatable; visible "
     "in ps: prefer a metrics:TOKEN line of --api-token-file)", SECRET},
    {"metrics-auth", 0, OPT_FLAG, F(metrics_auth), 0, 1, "false", FC,
     "/metrics needs a token with the read (or metrics) scope", 0},

    {"pem", 0, OPT_STR, F(pem), 0, 0, "", SC,
     "client certificate and key (PEM) for https callbacks", 0},
    {"cacert", 0, OPT_STR, F(cacert), 0, 0, "", SC,
     "CA bundle to verify https callbacks; default the system store", 0},
    {"insecure", 0, OPT_FLAG, F(insecure), 0, 1, "false", SC,
     "do not verify https peers (the original's mode; logged as a warning)", 0},
    {"max-inflight", 0, OPT_INT, F(max_inflight), 1, 100000, "512", SC,
     "deliveries in flight at once, in all", 0},
    {"host-limit", 0, OPT_INT, F(host_limit), 1, 100000, "64", SC,
     "deliveries in flight to one destination (scheme, host, port) at once, and to one "
     "resolved address; the rest wait without holding a global slot", 0},
    {"stream-maxlen", 0, OPT_INT, F(stream_maxlen), 0, 1000000000, "1000000", SC,
     "entries a redis-stream:// target's stream keeps, about (XADD MAXLEN ~); 0: unbounded",
     0},
    {"stream-redis", 0, OPT_STR, F(stream_redis), 0, 0, "", SC,
     "HOST:PORT or /path/to/redis.sock: redis-stream://NAME targets are XADDed to the stream "
     "NAME in this Redis instead of TimeRush's own (then at least once, not atomic with the "
     "ack: docs/PROTOCOL.md); empty: TimeRush's own Redis", 0},
    {"stream-redis-password-file", 0, OPT_STR, F(stream_redis_password_file), 0, 0, "", SC,
     "file holding the --stream-redis AUTH password (one line, 0600); empty: no AUTH",
     SECRET_FILE},
    {"stream-dedupe-ms", 0, OPT_INT, F(stream_dedupe_ms), 0, 604800000, "3600000", SC,
     "--stream-redis: a firing (timer key and due time) already written is not written "
     "again for this long (a marker key with this TTL beside the stream); 0: plain XADD, "
     "every retry may add an entry", 0},
    {"breaker-failures", 0, OPT_INT, F(breaker_failures), 0, 100000, "5", SC,
     "consecutive connect failures or timeouts that open a destination's circuit breaker "
     "(its timers are held, one probe at a time); 0: never", 0},
    {"connect-timeout-ms", 0, OPT_INT, F(connect_timeout_ms), 1, 600000, "5000", SC,
     "connect timeout of a delivery, ms", 0},
    {"timeout-ms", 0, OPT_INT, F(timeout_ms), 1, 3600000, "10000", SC,
     "total timeout of a delivery, ms", 0},
    {"scheduler-id", 0, OPT_STR, F(scheduler_id), 0, 0, "", SC | LA,
     "stable name of this scheduler, unique among those sharing a Redis (letters, digits, "
     ". _ -): restarted, it gives back at once what its previous run held; without one "
     "that waits for the leases. The launcher names its schedulers ID.N (default ID: the "
     "host name and a hash of the run directory)", 0},
    {"lease-margin-ms", 0, OPT_INT, F(lease_margin_ms), 1000, 3600000, "1500", SC,
     "lease = timeout-ms + this; a dead scheduler's timers return after the lease", 0},
    {"max-attempts", 0, OPT_INT, F(max_attempts), 1, 100000, "20", SC,
     "deliveries tried before a timer moves to the dead-letter set", 0},
    {"backoff-min-ms", 0, OPT_INT, F(backoff_min_ms), 1, 86400000, "1000", SC,
     "first retry delay, ms (doubles each attempt, full jitter)", 0},
    {"backoff-max-ms", 0, OPT_INT, F(backoff_max_ms), 1, 86400000, "600000", SC,
     "largest retry delay, ms", 0},
    {"max-response", 0, OPT_INT, F(max_response_bytes), 64, 16 * 1024 * 1024, "65536", SC,
     "callback answer body read at most, bytes", 0},
    {"drain-ms", 0, OPT_INT, F(drain_ms), 0, 3600000, "10000", SC | LA,
     "on SIGTERM, time given to deliveries in flight, ms", 0},
    {"signing-secret-file", 0, OPT_STR, F(signing_secret_file), 0, 0, "", SC,
     "file of whsec_ secrets, one a line, mode 0600: each signs every callback (Standard "
     "Webhooks headers, docs/SIGNING.md); reread on SIGHUP; default: unsigned", SECRET_FILE},

    /* Destination policy (tr_netpolicy.h); the launcher passes them to both programs. */
    {"callback-policy", 0, OPT_STR, F(callback_policy), 0, 0, "private", FC | SC,
     "where callbacks may go: public (globally routable addresses only), private (also "
     "private ranges; never link-local, metadata, unspecified, multicast, port 0 or "
     "TimeRush's own listen address and Redis) or any", 0},
    {"callback-allow", 0, OPT_LIST, F(callback_allow), 0, 0, "", FC | SC,
     "CIDR|ADDR|HOST[:PORT],... allowed whatever the policy (repeatable; after the deny list)", 0},
    {"callback-deny", 0, OPT_LIST, F(callback_deny), 0, 0, "", FC | SC,
     "CIDR|ADDR|HOST[:PORT],... always refused (repeatable; checked first)", 0},
    {"pem-hosts", 0, OPT_LIST, F(pem_hosts), 0, 0, "", SC,
     "HOST,... the only hosts --pem is presented to (repeatable); default every host", 0},
    {"no-chain", 0, OPT_FLAG, F(no_chain), 0, 1, "false", SC,
     "callback answers never create (chain) timers", 0},

    {"listen-host", 0, OPT_STR, F(listen_host), 0, 0, "127.0.0.1", ALL,
     "where nginx listens (the programs refuse callbacks to it)", 0},
    {"listen-port", 0, OPT_INT, F(listen_port), 1, 65535, "8080", ALL,
     "where nginx listens (the programs refuse callbacks to it)", 0},
    {"workers", 0, OPT_INT, F(workers), 0, 256, "1", LA,
     "timerush-fcgi processes (each runs --threads threads); 0: one per CPU core", 0},
    {"run-dir", 0, OPT_STR, F(run_dir), 0, 0, "", LA,
     "sockets, pid files, logs, generated configs, redis data; default var/ in the checkout", 0},
    {"schedulers", 0, OPT_INT, F(schedulers), 0, 64, "1", LA, "timerush-scheduler processes", 0},
    {"cluster-local", 0, OPT_INT, F(cluster_local), 0, 16, "0", LA,
     "start a local Redis Cluster of N masters (1 to 16), a replica each, in the run dir "
     "(free loopback ports, a generated password) and run the service on it with "
     "--shards 16 unless --shards is given; 0: off (docs/CLUSTER.md)", 0},
    {"redis-port", 0, OPT_INT, F(redis_port), 0, 65535, "0", LA,
     "TCP port of the embedded Redis on 127.0.0.1 (password required); 0: none, the unix "
     "socket only", 0},
    {"build-dir", 0, OPT_STR, F(build_dir), 0, 0, "", LA,
     "where the programs are built; default build/ in the checkout", 0},
    {"appendfsync", 0, OPT_STR, F(appendfsync), 0, 0, "everysec", LA,
     "embedded Redis durability: always (fsync before every answer: nothing acknowledged "
     "is lost), everysec (a power cut can lose the last second), no", 0},
    {"nginx-user", 0, OPT_STR, F(nginx_user), 0, 0, "", LA,
     "user of the nginx workers when started as root; default www-data (else nobody)", 0},
    /* nginx's per-client limits (issue 12, strict input): 0 is off. */
    {"max-conns-per-ip", 0, OPT_INT, F(max_conns_per_ip), 0, 1000000, "0", LA,
     "connections one client address may hold open at nginx (limit_conn; over it: 429); "
     "0: no limit", 0},
    {"max-rps-per-ip", 0, OPT_INT, F(max_rps_per_ip), 0, 1000000, "0", LA,
     "requests per second from one client address (nginx limit_req, a burst of as many "
     "again, over it: 429); 0: no limit", 0},
};

#define OPT_COUNT (sizeof opt_table / sizeof opt_table[0])

static const opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0)
            return &opt_table[i];
    return NULL;
}

static const opt_def *find_short(char c)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (opt_table[i].short_name == c)
            return &opt_table[i];
    return NULL;
}

static int parse_flag(const char *text, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Stores `text` into the field of `def`. Returns 0, or -1 with err set. */
static int set_value(tr_config *cfg, const opt_def *def, const char *text, char *err, size_t errlen)
{
    char *field = (char *)cfg + def->offset;
    switch (def->type) {
    case OPT_TOKEN:
    case OPT_METRICS_TOKEN: {
        char why[256];
        tr_api_token t;
        if (cfg->api_token_count >= TR_API_TOKENS_MAX) {
            snprintf(err, errlen, "--%s: more than %d tokens in all", def->name,
                     TR_API_TOKENS_MAX);
            return -1;
        }
        /* A metrics token is one token, no scopes: ':' is refused as in any token. */
        if (def->type == OPT_METRICS_TOKEN && strchr(text, ':') != NULL) {
            snprintf(err, errlen, "--%s: takes a token without scopes", def->name);
            return -1;
        }
        if (tr_token_parse(text, &t, why, sizeof why) != 0) {
            snprintf(err, errlen, "--%s: %s", def->name, why);
            return -1;
        }
        if (def->type == OPT_METRICS_TOKEN)
            t.scopes = TR_SCOPE_METRICS;
        cfg->api_tokens[cfg->api_token_count++] = t;
        explicit_bzero(&t, sizeof t);
        return 0;
    }
    case OPT_TOKEN_FILE: {
        char why[512];
        if (text[0] == '\0') {
            snprintf(err, errlen, "--%s: needs a file name", def->name);
            return -1;
        }
        if (tr_token_file_load(text, cfg->api_tokens, &cfg->api_token_count, TR_API_TOKENS_MAX,
                               why, sizeof why) != 0) {
            snprintf(err, errlen, "--%s %s", def->name, why);
            return -1;
        }
        return 0;
    }
    case OPT_LIST: {
        size_t have = strlen(field), n = strlen(text);
        if (n == 0)
            return 0;
        if (have + (have > 0) + n >= def->size) {
            snprintf(err, errlen, "--%s: the list is longer than %zu bytes", def->name,
                     def->size - 1);
            return -1;
        }
        if (have > 0)
            field[have++] = ',';
        memcpy(field + have, text, n + 1);
        return 0;
    }
    case OPT_STR:
        if (strlen(text) >= def->size) {
            snprintf(err, errlen, "--%s: value longer than %zu bytes", def->name, def->size - 1);
            return -1;
        }
        memcpy(field, text, strlen(text) + 1);
        return 0;
    case OPT_FLAG: {
        int v;
        if (parse_flag(text, &v) != 0) {
            snprintf(err, errlen, "--%s: expected true or false, got '%s'", def->name, text);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case OPT_INT:
    case OPT_INT64: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0') {
            snprintf(err, errlen, "--%s: '%s' is not a whole number", def->name, text);
            return -1;
        }
        if (v < def->min || v > def->max) {
            snprintf(err, errlen, "--%s: %lld is outside %lld..%lld", def->name, v,
                     (long long)def->min, (long long)def->max);
            return -1;
        }
        if (def->type == OPT_INT) {
            int iv = (int)v;
            memcpy(field, &iv, sizeof iv);
        } else {
            int64_t lv = v;
            memcpy(field, &lv, sizeof lv);
        }
        return 0;
    }
    }
    return -1;
}

/* The options that add tokens. */
static int is_token_kind(opt_type t)
{
    return t == OPT_TOKEN || t == OPT_TOKEN_FILE || t == OPT_METRICS_TOKEN;
}

void tr_config_defaults(tr_config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (!is_token_kind(opt_table[i].type)) /* no token by default */
            (void)set_value(cfg, &opt_table[i], opt_table[i].def, err, sizeof err); /* valid */
    (void)tr_log_level_parse(cfg->level, &cfg->log_level);
}

/* Where a setting came from, for --launcher-settings. */
enum { GIVEN_DEFAULT = 0, GIVEN_FILE = 1, GIVEN_CLI = 2 };

/* Reads the -c file into cfg. skip_tokens: leave out its token options
 * (--api-token-reset on the command line). */
static int load_file(tr_config *cfg, unsigned program, const char *path, int skip_tokens,
                     unsigned char *given, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "-c %s: %s", path, strerror(errno));
        return -1;
    }
    char line[TR_CONFIG_STR_MAX + 128];
    int lineno = 0, rc = 0;
    for (;;) {
        char *s;
        int got = tr_line_next(f, line, sizeof line, &lineno, &s);
        if (got == 0)
            break;
        if (got < 0) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: expected 'name = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = tr_str_trim(s), *value = tr_str_trim(eq + 1);
        const opt_def *def = find_long(name, strlen(name));
        if (def == NULL) {
            snprintf(err, errlen, "%s:%d: unknown option '%s'", path, lineno, name);
            rc = -1;
            break;
        }
        if (def->flags & TR_OPTF_CLI_ONLY) {
            snprintf(err, errlen, "%s:%d: %s belongs on the command line only", path, lineno,
                     name);
            rc = -1;
            break;
        }
        if ((def->programs & program) == 0)
            continue; /* another program's option */
        if (skip_tokens && is_token_kind(def->type))
            continue;
        char msg[600];
        if (set_value(cfg, def, value, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
        given[def - opt_table] = GIVEN_FILE;
    }
    fclose(f);
    return rc;
}

static const char *type_word(opt_type t)
{
    switch (t) {
    case OPT_STR:
        return "string";
    case OPT_INT:
    case OPT_INT64:
        return "int";
    case OPT_FLAG:
        return "flag";
    case OPT_TOKEN:
    case OPT_TOKEN_FILE:
    case OPT_METRICS_TOKEN:
    case OPT_LIST:
        return "list";
    }
    return "?";
}

void tr_config_print_options(FILE *out)
{
    fprintf(out, "# name\tshort\ttype\tdefault\tmin\tmax\tprograms\tflags\thelp\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const opt_def *d = &opt_table[i];
        char shortname[2] = {d->short_name ? d->short_name : '-', '\0'};
        fprintf(out, "%s\t%s\t%s\t%s\t", d->name, shortname, type_word(d->type), d->def);
        if (d->type == OPT_INT || d->type == OPT_INT64)
            fprintf(out, "%lld\t%lld\t", (long long)d->min, (long long)d->max);
        else
            fprintf(out, "-\t-\t");
        const char *sep = "";
        static const struct { unsigned bit; const char *word; } progs[] = {
            {TR_PROG_FCGI, "fcgi"},
            {TR_PROG_SCHEDULER, "scheduler"},
            {TR_PROG_LAUNCHER, "launcher"},
        };
        for (size_t p = 0; p < sizeof progs / sizeof progs[0]; p++) {
            if (d->programs & progs[p].bit) {
                fprintf(out, "%s%s", sep, progs[p].word);
                sep = ",";
            }
        }
        static const struct { unsigned bit; const char *word; } flags[] = {
            {TR_OPTF_SECRET, "secret"},
            {TR_OPTF_SECRET_FILE, "secret-file"},
            {TR_OPTF_CLI_ONLY, "cli-only"},
        };
        sep = "\t";
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            if (d->flags & flags[f].bit) {
                fprintf(out, "%s%s", sep, flags[f].word);
                sep = ",";
            }
        }
        fprintf(out, "%s\t%s\n", d->flags ? "" : "\t-", d->help);
    }
}

/* --launcher-settings: every launcher option's value, one "name<TAB>source<TAB>value"
 * line each (source: default, file or command-line); a list has a line per item. */
static void print_settings(FILE *out, const tr_config *cfg, const unsigned char *given)
{
    static const char *const source[] = {"default", "file", "command-line"};
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const opt_def *d = &opt_table[i];
        if ((d->programs & TR_PROG_LAUNCHER) == 0)
            continue;
        const char *field = (const char *)cfg + d->offset;
        fprintf(out, "%s\t%s\t", d->name, source[given[i]]);
        switch (d->type) {
        case OPT_STR:
        case OPT_LIST:
            fprintf(out, "%s\n", field);
            break;
        case OPT_INT: {
            int v;
            memcpy(&v, field, sizeof v);
            fprintf(out, "%d\n", v);
            break;
        }
        case OPT_INT64: {
            int64_t v;
            memcpy(&v, field, sizeof v);
            fprintf(out, "%lld\n", (long long)v);
            break;
        }
        case OPT_FLAG: {
            int v;
            memcpy(&v, field, sizeof v);
            fprintf(out, "%s\n", v ? "true" : "false");
            break;
        }
        case OPT_TOKEN:
        case OPT_TOKEN_FILE:
        case OPT_METRICS_TOKEN:
            fprintf(out, "-\n"); /* no launcher option is one; a token is never printed */
            break;
        }
    }
}

/* Finds -c/--config in argv without applying anything else: sets *file (NULL when
 * none is given), and *reset when --api-token-reset[=true] is there. Returns -1
 * with err set when -c is the last argument or the file name is empty. */
static int find_config_arg(int argc, char **argv, const char **file, int *reset, char *err,
                           size_t errlen)
{
    *file = NULL;
    for (int i = 1; i < argc; i++) {
        int on = 0;
        if (strcmp(argv[i], "--api-token-reset") == 0)
            *reset = 1;
        else if (strncmp(argv[i], "--api-token-reset=", 18) == 0 &&
                 parse_flag(argv[i] + 18, &on) == 0)
            *reset = on;
        const char *f = NULL;
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            f = i + 1 < argc ? argv[++i] : "";
        else if (strncmp(argv[i], "--config=", 9) == 0)
            f = argv[i] + 9;
        else
            continue;
        if (f[0] == '\0') {
            snprintf(err, errlen, "-c/--config needs a file name");
            return -1;
        }
        *file = f;
    }
    return 0;
}

/* Token settings that cannot work together. 0, or -1 with err set. */
/* With --cluster, each seed node joins the destination policy's "self" list, so no
 * callback can be aimed at it (the nodes the slot map names later are not added:
 * docs/CLUSTER.md). The seeds were checked (tr_cluster_seeds_check). 0 or -1. */
static int add_cluster_self(tr_config *cfg, char *err, size_t errlen)
{
    const char *p = cfg->cluster;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char seed[TR_CLUSTER_HOST_MAX + 8];
        if (len >= sizeof seed)
            len = sizeof seed - 1;
        memcpy(seed, p, len);
        seed[len] = '\0';
        char *colon = strrchr(seed, ':');
        if (colon != NULL) {
            *colon = '\0';
            long port = strtol(colon + 1, NULL, 10);
            if (tr_netpolicy_add_self(&cfg->netpolicy, NULL, 0, seed, (int)port, err, errlen) != 0)
                return -1;
        }
        p = end != NULL ? end + 1 : p + len;
    }
    return 0;
}

static int check_tokens(const tr_config *cfg, char *err, size_t errlen)
{
    unsigned all = 0;
    for (int i = 0; i < cfg->api_token_count; i++)
        all |= cfg->api_tokens[i].scopes;
    /* Fail closed: a /metrics that asks for a token no one can have. */
    if (cfg->metrics_auth && (all & (TR_SCOPE_READ | TR_SCOPE_METRICS)) == 0) {
        snprintf(err, errlen, "--metrics-auth: no token has the read or metrics scope (give "
                              "--api-token or --metrics-token)");
        return -1;
    }
    return 0;
}

tr_config_result tr_config_parse(tr_config *cfg, unsigned program, const char *progname,
                                 int argc, char **argv, char *err, size_t errlen)
{
    int settings_for_launcher = 0;
    unsigned char given[OPT_COUNT] = {0};
    if (argc > 1 && strcmp(argv[1], "--print-options") == 0) {
        tr_config_print_options(stdout);
        return TR_CONFIG_EXIT;
    }
    if (argc > 1 && strcmp(argv[1], "--launcher-settings") == 0) {
        settings_for_launcher = 1;
        program = TR_PROG_LAUNCHER;
        argc--;
        argv++; /* argv[0] is skipped below, as always */
    }
    tr_config_defaults(cfg);
    const char *file = NULL;
    int reset = 0;
    if (find_config_arg(argc, argv, &file, &reset, err, errlen) != 0)
        return TR_CONFIG_ERROR;
    reset = reset && (program & TR_PROG_FCGI) != 0; /* the option's own program only */
    if (file != NULL) {
        if (set_value(cfg, &(opt_def){"config", 0, OPT_STR, F(config_path), 0, 0, "", ALL, "", CLI_ONLY},
                      file, err, errlen) != 0)
            return TR_CONFIG_ERROR;
        if (load_file(cfg, program, file, reset, given, err, errlen) != 0)
            return TR_CONFIG_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            tr_config_usage(stdout, program, progname);
            return TR_CONFIG_EXIT;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("%s %s\n", progname, TR_VERSION);
            return TR_CONFIG_EXIT;
        }
        if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
            i++; /* already loaded */
            continue;
        }
        if (strncmp(arg, "--config=", 9) == 0)
            continue;
        const opt_def *def = NULL;
        const char *value = NULL;
        if (arg[0] == '-' && arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            def = find_long(name, eq ? (size_t)(eq - name) : strlen(name));
            if (eq != NULL)
                value = eq + 1;
        } else if (arg[0] == '-' && arg[1] != '\0' && arg[2] == '\0') {
            def = find_short(arg[1]);
        }
        if (def == NULL || (def->programs & program) == 0) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", arg);
            return TR_CONFIG_ERROR;
        }
        if (value == NULL) {
            if (def->type == OPT_FLAG) {
                value = "true";
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                snprintf(err, errlen, "--%s needs a value", def->name);
                return TR_CONFIG_ERROR;
            }
        }
        if (set_value(cfg, def, value, err, errlen) != 0)
            return TR_CONFIG_ERROR;
        given[def - opt_table] = GIVEN_CLI;
    }
    if (tr_log_level_parse(cfg->level, &cfg->log_level) != 0) {
        snprintf(err, errlen, "--level: unknown level '%s' (DEBUG INFO WARNING ERROR)", cfg->level);
        return TR_CONFIG_ERROR;
    }
    /* The launcher's -d needs no log file: it keeps its children's logs in its run dir. */
    if (cfg->daemonize && cfg->logpath[0] == '\0' && program != TR_PROG_LAUNCHER) {
        snprintf(err, errlen, "-d needs --logpath (the original's rule)");
        return TR_CONFIG_ERROR;
    }
    if (cfg->logpath[0] != '\0' && cfg->logpath[0] != '/') {
        snprintf(err, errlen, "--logpath must be an absolute path");
        return TR_CONFIG_ERROR;
    }
    if (cfg->key[0] == '\0' || strpbrk(cfg->key, "{}") != NULL) {
        snprintf(err, errlen, "--key must be non-empty and hold no braces");
        return TR_CONFIG_ERROR;
    }
    if (strcmp(cfg->appendfsync, "always") != 0 && strcmp(cfg->appendfsync, "everysec") != 0 &&
        strcmp(cfg->appendfsync, "no") != 0) {
        snprintf(err, errlen, "--appendfsync must be always, everysec or no");
        return TR_CONFIG_ERROR;
    }
    if (cfg->backoff_min_ms > cfg->backoff_max_ms) {
        snprintf(err, errlen, "--backoff-min-ms is larger than --backoff-max-ms");
        return TR_CONFIG_ERROR;
    }
    if (cfg->connect_timeout_ms > cfg->timeout_ms) {
        snprintf(err, errlen, "--connect-timeout-ms is larger than --timeout-ms");
        return TR_CONFIG_ERROR;
    }
    if (check_tokens(cfg, err, errlen) != 0)
        return TR_CONFIG_ERROR;
    if (cfg->port == 0 && cfg->redis_socket[0] == '\0') {
        snprintf(err, errlen, "--port 0 needs --redis-socket");
        return TR_CONFIG_ERROR;
    }
    /* Read once, here, so --check fails on a bad file and a later privilege drop
     * does not matter. */
    if (cfg->redis_password_file[0] != '\0') {
        char msg[TR_CONFIG_STR_MAX + 128];
        if (tr_secret_file_read(cfg->redis_password_file, cfg->redis_password,
                                sizeof cfg->redis_password, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "--redis-password-file %s", msg);
            return TR_CONFIG_ERROR;
        }
    }
    if (cfg->stream_redis[0] != '\0') {
        tr_redis_addr addr;
        char msg[TR_CONFIG_STR_MAX];
        if (tr_redis_addr_parse(cfg->stream_redis, &addr, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "--stream-redis: %s", msg);
            return TR_CONFIG_ERROR;
        }
    }
    if (cfg->stream_redis_password_file[0] != '\0') {
        char msg[TR_CONFIG_STR_MAX + 128];
        if (cfg->stream_redis[0] == '\0') {
            snprintf(err, errlen, "--stream-redis-password-file needs --stream-redis");
            return TR_CONFIG_ERROR;
        }
        if (tr_secret_file_read(cfg->stream_redis_password_file, cfg->stream_redis_password,
                                sizeof cfg->stream_redis_password, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "--stream-redis-password-file %s", msg);
            return TR_CONFIG_ERROR;
        }
    }
    if (cfg->redis_user[0] != '\0' && cfg->redis_password[0] == '\0') {
        snprintf(err, errlen, "--redis-user needs a password (--redis-password-file)");
        return TR_CONFIG_ERROR;
    }
    /* The launcher's --cluster-local hands its programs --cluster once the nodes run. */
    if (cfg->wait_replicas > 0 && cfg->cluster[0] == '\0' && cfg->cluster_local == 0) {
        snprintf(err, errlen,
                 "--wait-replicas is for --cluster or --cluster-local (on one Redis it is not built)");
        return TR_CONFIG_ERROR;
    }
    if (cfg->cluster[0] != '\0') {
        char msg[TR_CONFIG_STR_MAX];
        if (tr_cluster_seeds_check(cfg->cluster, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "--cluster: %s", msg);
            return TR_CONFIG_ERROR;
        }
        if (cfg->redis_socket[0] != '\0' || cfg->db != 0) {
            snprintf(err, errlen, "--cluster excludes --redis-socket and --db (a cluster has "
                                  "database 0 only)");
            return TR_CONFIG_ERROR;
        }
        /* One shard is one hash tag, one slot, one master: the cluster would hold the
         * whole service on one node. */
        if (cfg->wait_replicas > 0 && cfg->redis_timeout_ms < 20) {
            snprintf(err, errlen, "--wait-replicas needs --redis-timeout-ms 20 or more");
            return TR_CONFIG_ERROR;
        }
        if (cfg->shards < 2) {
            snprintf(err, errlen, "--cluster needs --shards 2 or more (each shard is one hash "
                                  "slot, so one master; 16 spreads over up to 16 masters: "
                                  "docs/CLUSTER.md)");
            return TR_CONFIG_ERROR;
        }
    }
    if (settings_for_launcher) {
        print_settings(stdout, cfg, given);
        return TR_CONFIG_EXIT;
    }
    if ((program & (TR_PROG_FCGI | TR_PROG_SCHEDULER)) != 0) {
        if (tr_netpolicy_parse(&cfg->netpolicy, cfg->callback_policy, cfg->callback_allow,
                               cfg->callback_deny, err, errlen) != 0 ||
            tr_netpolicy_add_self(&cfg->netpolicy, cfg->listen_host, cfg->listen_port,
                                  cfg->redis_socket[0] == '\0' ? cfg->host : NULL, cfg->port,
                                  err, errlen) != 0 ||
            add_cluster_self(cfg, err, errlen) != 0)
            return TR_CONFIG_ERROR;
    }
    return TR_CONFIG_OK;
}

void tr_config_usage(FILE *out, unsigned program, const char *progname)
{
    fprintf(out, "Usage: %s [options]\n\nOptions (default in brackets):\n", progname);
    fprintf(out, "  -c, --config FILE          read 'name = value' lines from FILE first\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const opt_def *d = &opt_table[i];
        if ((d->programs & program) == 0)
            continue;
        char names[64];
        if (d->short_name)
            snprintf(names, sizeof names, "-%c, --%s", d->short_name, d->name);
        else
            snprintf(names, sizeof names, "    --%s", d->name);
        const char *arg = d->type == OPT_FLAG                           ? ""
                          : (d->type == OPT_INT || d->type == OPT_INT64) ? " N"
                                                                         : " S";
        char left[80];
        snprintf(left, sizeof left, "%s%s", names, arg);
        fprintf(out, "  %-26s %s", left, d->help);
        if (d->type != OPT_FLAG && d->def[0] != '\0')
            fprintf(out, " [%s]", d->def);
        fputc('\n', out);
    }
    fprintf(out, "  -h, --help                 print this and exit\n"
                 "      --version              print the version and exit\n"
                 "      --print-options        print the option table of every program, a line\n"
                 "                             an option, tab-separated, and exit\n");
}

int tr_config_redis_key(const tr_config *cfg, const char *suffix, char *buf, size_t len)
{
    int n = snprintf(buf, len, "{%s}:%s", cfg->key, suffix);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int tr_config_shard_key(const tr_config *cfg, int shard, const char *suffix, char *buf,
                        size_t len)
{
    /* One shard keeps today's names, so existing data needs no move. */
    if (cfg->shards <= 1)
        return tr_config_redis_key(cfg, suffix, buf, len);
    int n = snprintf(buf, len, "{%s:%d}:%s", cfg->key, shard, suffix);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}
