/* test_config.c - the option table (shared/tr_config.c): -c FILE, bounds, which
 * program an option belongs to, the --print-options dump the launcher reads, and
 * --redis-password-file (tr_secret_file.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tr_config.h"

static tr_config cfg; /* large: keep it off the stack */
static char err[512];

#define PARSE(program, ...) parse(program, (const char *[]){"prog", __VA_ARGS__, NULL})

/* Parses a NULL-terminated argument list (copied: tr_config_parse takes char **). */
static tr_config_result parse(unsigned program, const char **args)
{
    static char text[16][256];
    char *argv[17];
    int argc = 0;
    for (; args[argc] != NULL; argc++) {
        assert_true(argc < 16);
        snprintf(text[argc], sizeof text[argc], "%s", args[argc]);
        argv[argc] = text[argc];
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return tr_config_parse(&cfg, program, "prog", argc, argv, err, sizeof err);
}

/* A config file in a fresh temp dir; the caller unlinks it. */
static void write_file(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/tr-test-config.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_c_without_file_is_an_error(void **state)
{
    (void)state;
    assert_int_equal(PARSE(TR_PROG_FCGI, "-c"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "needs a file"));
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--db", "3", "--config"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "needs a file"));
    assert_int_equal(PARSE(TR_PROG_FCGI, "--config="), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "needs a file"));
}

static void test_c_file_then_command_line(void **state)
{
    (void)state;
    char path[64];
    write_file(path, sizeof path, "db = 4\nmax-body = 2048\n# a comment\ntimeout-ms = 1\n");
    assert_int_equal(PARSE(TR_PROG_FCGI, "-c", path, "--db", "5"), TR_CONFIG_OK);
    assert_string_equal(cfg.config_path, path);
    assert_int_equal(cfg.db, 5);                /* the command line wins */
    assert_int_equal(cfg.max_body_bytes, 2048); /* from the file */
    assert_int_equal(cfg.timeout_ms, 10000);    /* a scheduler key: skipped */
    assert_int_equal(PARSE(TR_PROG_FCGI, "--config=/nonexistent/x.conf"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "/nonexistent/x.conf"));
    unlink(path);
}

static void test_bounds_and_programs(void **state)
{
    (void)state;
    assert_int_equal(PARSE(TR_PROG_LAUNCHER, "--workers", "257"), TR_CONFIG_ERROR);
    assert_string_equal(err, "--workers: 257 is outside 0..256");
    assert_int_equal(PARSE(TR_PROG_FCGI, "--threads", "1025"), TR_CONFIG_ERROR);
    assert_string_equal(err, "--threads: 1025 is outside 0..1024");
    assert_int_equal(PARSE(TR_PROG_LAUNCHER, "--workers=3", "--listen-port", "9000"), TR_CONFIG_OK);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.listen_port, 9000);
    assert_int_equal(PARSE(TR_PROG_FCGI, "--workers", "3"), TR_CONFIG_ERROR);
    assert_string_equal(err, "unknown option '--workers' (see --help)");
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--threads", "4"), TR_CONFIG_ERROR);
    /* --max-body bounds a chain answer's data in the scheduler too. */
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--max-body", "1000"), TR_CONFIG_OK);
    assert_int_equal(cfg.max_body_bytes, 1000);
    /* The destination policy: lists add up, entries and names are checked, and the
     * listen address is "self" for both programs. */
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--callback-allow", "10.0.0.0/8",
                           "--callback-allow=hooks.test:8443", "--callback-deny", "10.1.0.0/16",
                           "--callback-policy", "public", "--listen-port", "8099"),
                     TR_CONFIG_OK);
    assert_string_equal(cfg.callback_allow, "10.0.0.0/8,hooks.test:8443");
    assert_int_equal(cfg.netpolicy.kind, TR_NETPOLICY_PUBLIC);
    assert_int_equal(cfg.netpolicy.nrules, 3);
    assert_true(cfg.netpolicy.nself >= 1);
    assert_int_equal(cfg.netpolicy.self[0].port, 8099);
    assert_int_equal(PARSE(TR_PROG_FCGI, "--callback-deny", "10.0.0.0/40"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "--callback-deny: '10.0.0.0/40'"));
    assert_int_equal(PARSE(TR_PROG_FCGI, "--callback-policy", "open"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "--callback-policy"));
    assert_int_equal(PARSE(TR_PROG_FCGI, "--no-chain"), TR_CONFIG_ERROR); /* scheduler's */
    assert_int_equal(PARSE(TR_PROG_FCGI, "--level", "INFO"), TR_CONFIG_OK);
    assert_int_equal(cfg.netpolicy.kind, TR_NETPOLICY_PRIVATE);
    /* -d needs a log file in the programs, not in the launcher. */
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "-d"), TR_CONFIG_ERROR);
    assert_int_equal(PARSE(TR_PROG_LAUNCHER, "-d"), TR_CONFIG_OK);
    assert_int_equal(cfg.daemonize, 1);
}

/* The line of `name` in the dump, or NULL. */
static const char *dump_line(const char *dump, const char *name, char *line, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = dump; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l > n && strncmp(p, name, n) == 0 && p[n] == '\t') {
            snprintf(line, len, "%.*s", (int)l, p);
            return line;
        }
        p += l + (end ? 1 : 0);
    }
    return NULL;
}

static void test_print_options(void **state)
{
    (void)state;
    char *dump = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&dump, &size);
    assert_non_null(f);
    tr_config_print_options(f);
    fclose(f);
    char line[512];
    assert_int_equal(
        strncmp(dump, "# name\tshort\ttype\tdefault\tmin\tmax\tprograms\tflags\thelp\n", 54), 0);
    assert_non_null(dump_line(dump, "workers", line, sizeof line));
    assert_string_equal(line, "workers\t-\tint\t1\t0\t256\tlauncher\t-\t"
                              "timerush-fcgi processes (each runs --threads threads); 0: one "
                              "per CPU core");
    assert_non_null(dump_line(dump, "daemonize", line, sizeof line));
    assert_int_equal(
        strncmp(line, "daemonize\td\tflag\tfalse\t-\t-\tfcgi,scheduler,launcher\t-\t", 53), 0);
    assert_non_null(dump_line(dump, "api-token", line, sizeof line));
    assert_int_equal(strncmp(line, "api-token\t-\tlist\t\t-\t-\tfcgi\tsecret\t", 33), 0);
    /* Every secret is marked, so the launcher keeps each off every command line. */
    assert_non_null(dump_line(dump, "metrics-token", line, sizeof line));
    assert_non_null(strstr(line, "\tfcgi\tsecret\t"));
    assert_non_null(dump_line(dump, "redis-password", line, sizeof line));
    assert_non_null(strstr(line, "\tfcgi,scheduler,launcher\tsecret\t"));
    assert_non_null(dump_line(dump, "signing-secret-file", line, sizeof line));
    assert_non_null(strstr(line, "\tscheduler\tsecret-file\t"));
    assert_non_null(dump_line(dump, "api-token-reset", line, sizeof line));
    assert_non_null(strstr(line, "\tfcgi\tcli-only\t"));
    assert_non_null(dump_line(dump, "check", line, sizeof line));
    assert_non_null(strstr(line, "\tcli-only\t"));
    assert_non_null(dump_line(dump, "max-seconds", line, sizeof line));
    assert_int_equal(strncmp(line, "max-seconds\t-\tint\t315360000\t1\t3153600000\tfcgi\t-\t", 47), 0);
    assert_null(dump_line(dump, "config", line, sizeof line)); /* -c is not a table option */
    free(dump);
}

static void test_redis_password_file(void **state)
{
    (void)state;
    char path[64];
    write_file(path, sizeof path, "s3cret-from-file\r\n"); /* mkstemp: 0600 */
    assert_int_equal(PARSE(TR_PROG_FCGI, "--redis-password", "on-argv", "--redis-password-file",
                           path, "--redis-user", "tr"),
                     TR_CONFIG_OK);
    assert_string_equal(cfg.redis_password, "s3cret-from-file"); /* the file wins */
    assert_string_equal(cfg.redis_user, "tr");

    assert_int_equal(chmod(path, 0640), 0); /* the group may read it: no longer a secret */
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--redis-password-file", path), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "lets group or others read"));
    assert_null(strstr(err, "s3cret"));
    unlink(path);

    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--redis-password-file", path), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "No such file"));

    write_file(path, sizeof path, "");
    assert_int_equal(PARSE(TR_PROG_FCGI, "--redis-password-file", path), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "empty"));
    unlink(path);

    write_file(path, sizeof path, "line1\nline2\n");
    assert_int_equal(PARSE(TR_PROG_FCGI, "--redis-password-file", path), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "more than one line"));
    unlink(path);

    /* The largest secret the field holds, with its newline; one byte more is refused. */
    char big[TR_CONFIG_STR_MAX + 2];
    memset(big, 'p', TR_CONFIG_STR_MAX - 1);
    memcpy(big + TR_CONFIG_STR_MAX - 1, "\n", 2);
    write_file(path, sizeof path, big);
    assert_int_equal(PARSE(TR_PROG_FCGI, "--redis-password-file", path), TR_CONFIG_OK);
    assert_int_equal(strlen(cfg.redis_password), TR_CONFIG_STR_MAX - 1);
    unlink(path);
    memcpy(big + TR_CONFIG_STR_MAX - 1, "p\n", 3);
    write_file(path, sizeof path, big);
    assert_int_equal(PARSE(TR_PROG_FCGI, "--redis-password-file", path), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "longer than"));
    unlink(path);

    assert_int_equal(PARSE(TR_PROG_FCGI, "--redis-user", "tr"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "needs a password"));
}

/* --cluster (issue 11): the seed list is checked; --shards must be 2 or more (one
 * shard is one slot, so one master); the launcher takes it too (it starts no Redis). */
static void test_cluster_option(void **state)
{
    (void)state;
    static const char *const bad[] = {"127.0.0.1", ":7000", "h:0", "h:65536", "h:70x",
                                      "a:1,,b:2", "a:1,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(PARSE(TR_PROG_FCGI, "--cluster", bad[i], "--shards", "4"),
                         TR_CONFIG_ERROR);
        assert_non_null(strstr(err, "is not HOST:PORT"));
    }
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--cluster", "a:1", "--db", "2", "--shards", "4"),
                     TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "excludes"));
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--cluster", "10.0.0.1:7000,::1:7001,b:7002"),
                     TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "needs --shards 2 or more"));
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--cluster", "10.0.0.1:7000,::1:7001,b:7002",
                           "--shards", "16"),
                     TR_CONFIG_OK);
    assert_string_equal(cfg.cluster, "10.0.0.1:7000,::1:7001,b:7002");
    assert_int_equal(cfg.shards, 16);
    /* Each seed is one of TimeRush's own endpoints for the destination policy. */
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--shards", "16"), TR_CONFIG_OK);
    size_t nself = cfg.netpolicy.nself;
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--cluster", "10.0.0.1:7000,10.0.0.2:7001",
                           "--shards", "16"),
                     TR_CONFIG_OK);
    assert_true(cfg.netpolicy.nself >= nself + 2);
    assert_int_equal(PARSE(TR_PROG_SCHEDULER, "--wait-replicas", "1"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "--wait-replicas is for --cluster"));
    assert_int_equal(PARSE(TR_PROG_FCGI, "--cluster", "a:1", "--shards", "4", "--wait-replicas",
                           "1"),
                     TR_CONFIG_OK);
    assert_int_equal(cfg.wait_replicas, 1);
    /* ./timerush --cluster-local 3 --wait-replicas 1: the launcher's own cluster. */
    assert_int_equal(PARSE(TR_PROG_LAUNCHER, "--cluster-local", "3", "--wait-replicas", "1"),
                     TR_CONFIG_OK);
    assert_int_equal(PARSE(TR_PROG_LAUNCHER, "--cluster", "a:1"), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "needs --shards 2 or more"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_without_file_is_an_error),
        cmocka_unit_test(test_c_file_then_command_line),
        cmocka_unit_test(test_bounds_and_programs),
        cmocka_unit_test(test_print_options),
        cmocka_unit_test(test_redis_password_file),
        cmocka_unit_test(test_cluster_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
