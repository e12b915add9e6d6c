/* fuzz_config.c - the config file (-c FILE: "name = value" lines, '#' comments),
 * read by tr_config_parse for each program.
 *
 * The input is written to a memfd and given as -c /proc/self/fd/N, so the real file
 * path (fopen, fgets, the line limit) is what runs; no seam needed.
 * Checks: the file and the command line are one language: when a file parses, the
 * same settings given as --name=value arguments (the file's lines split, comments
 * cut and blanks trimmed here, other programs' options left out) parse to the very
 * same tr_config; every int option the file set lies within the bounds the option
 * table prints (tr_config_print_options); the cross-option rules hold (--key without
 * braces, --logpath absolute, backoff and timeout pairs ordered); strings stay
 * NUL-terminated; an error has a message with the file name and line.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tr_config.h"
#include "tr_fuzz.h"
#include "tr_mem.h"

#define MAX_LINES 256

/* One row of the printed option table. */
typedef struct opt_row {
    char name[64];
    int is_int;
    long long min, max;
    unsigned programs;
} opt_row;

static opt_row rows[128];
static size_t nrows;
static int memfd = -1;
static char fdpath[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    TR_FUZZ_CHECK(f != NULL, "open_memstream");
    tr_config_print_options(f);
    fclose(f);
    /* name short type default min max programs help, tab-separated; '#' first line. */
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (line[0] != '#' && nrows < sizeof rows / sizeof rows[0]) {
            char *col[8] = {0};
            char *p = line;
            for (int i = 0; i < 8 && p != NULL; i++) {
                col[i] = p;
                p = strchr(p, '\t');
                if (p != NULL)
                    *p++ = '\0';
            }
            opt_row *r = &rows[nrows++];
            snprintf(r->name, sizeof r->name, "%s", col[0]);
            r->is_int = col[2] != NULL && strcmp(col[2], "int") == 0;
            r->min = r->is_int ? strtoll(col[4], NULL, 10) : 0;
            r->max = r->is_int ? strtoll(col[5], NULL, 10) : 0;
            r->programs = (col[6] && strstr(col[6], "fcgi") ? TR_PROG_FCGI : 0) |
                          (col[6] && strstr(col[6], "scheduler") ? TR_PROG_SCHEDULER : 0) |
                          (col[6] && strstr(col[6], "launcher") ? TR_PROG_LAUNCHER : 0);
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
    TR_FUZZ_CHECK(nrows > 10, "option table not read");
    memfd = memfd_create("tr-fuzz-config", 0);
    TR_FUZZ_CHECK(memfd >= 0, "memfd_create");
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", memfd);
    return 0;
}

static const opt_row *row(const char *name)
{
    for (size_t i = 0; i < nrows; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

static void check_ok(const tr_config *c)
{
    TR_FUZZ_CHECK(memchr(c->host, 0, sizeof c->host) && memchr(c->key, 0, sizeof c->key) &&
                      memchr(c->logpath, 0, sizeof c->logpath) &&
                      memchr(c->level, 0, sizeof c->level) &&
                      memchr(c->appendfsync, 0, sizeof c->appendfsync),
                  "a string is not NUL-terminated");
    TR_FUZZ_CHECK(c->key[0] != '\0' && strpbrk(c->key, "{}") == NULL, "key '%s'", c->key);
    TR_FUZZ_CHECK(c->logpath[0] == '\0' || c->logpath[0] == '/', "logpath '%s'", c->logpath);
    TR_FUZZ_CHECK(c->backoff_min_ms <= c->backoff_max_ms, "backoff");
    TR_FUZZ_CHECK(c->connect_timeout_ms <= c->timeout_ms, "timeouts");
    TR_FUZZ_CHECK(c->port != 0 || c->redis_socket[0] != '\0', "port 0 without a socket");
    TR_FUZZ_CHECK(c->api_token_count >= 0 && c->api_token_count <= TR_API_TOKENS_MAX, "tokens");
    for (int i = 0; i < c->api_token_count; i++)
        TR_FUZZ_CHECK(c->api_tokens[i].token[0] != '\0' &&
                          memchr(c->api_tokens[i].token, 0, sizeof c->api_tokens[i].token) != NULL &&
                          c->api_tokens[i].scopes != 0,
                      "token %d", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    TR_FUZZ_CHECK(ftruncate(memfd, 0) == 0 && pwrite(memfd, data, size, 0) == (ssize_t)size,
                  "cannot write the memfd");
    static const unsigned programs[] = {TR_PROG_FCGI, TR_PROG_SCHEDULER, TR_PROG_LAUNCHER};
    for (size_t k = 0; k < sizeof programs / sizeof programs[0]; k++) {
        unsigned prog = programs[k];
        static tr_config from_file, from_cli; /* large: not on the stack */
        char err[512];
        err[0] = '\0';
        char *argv[] = {(char *)"timerush-fuzz", (char *)"-c", fdpath, NULL};
        tr_config_result r = tr_config_parse(&from_file, prog, "timerush-fuzz", 3, argv, err, sizeof err);
        if (r != TR_CONFIG_OK) {
            TR_FUZZ_CHECK(r == TR_CONFIG_ERROR && err[0] != '\0', "result %d, message '%s'", (int)r, err);
            continue;
        }
        check_ok(&from_file);

        /* The same settings on the command line. */
        char *text = tr_fuzz_str(data, size);
        char *args[MAX_LINES + 2];
        int argc = 0;
        args[argc++] = (char *)"timerush-fuzz";
        int too_many = 0;
        for (char *line = text; line != NULL;) {
            char *nl = strchr(line, '\n');
            if (nl != NULL)
                *nl = '\0';
            char *hash = strchr(line, '#');
            if (hash != NULL)
                *hash = '\0';
            char *s = tr_str_trim(line);
            char *eq = strchr(s, '=');
            if (*s != '\0') {
                TR_FUZZ_CHECK(eq != NULL, "accepted a line without '=': '%s'", s);
                *eq = '\0';
                char *name = tr_str_trim(s), *value = tr_str_trim(eq + 1);
                const opt_row *o = row(name);
                TR_FUZZ_CHECK(o != NULL, "accepted unknown option '%s'", name);
                if ((o->programs & prog) != 0) {
                    if (o->is_int) {
                        long long v = strtoll(value, NULL, 10);
                        TR_FUZZ_CHECK(v >= o->min && v <= o->max, "%s = %lld outside %lld..%lld",
                                      name, v, o->min, o->max);
                    }
                    if (argc > MAX_LINES) {
                        too_many = 1;
                    } else {
                        size_t n = strlen(name) + strlen(value) + 4;
                        args[argc] = malloc(n);
                        TR_FUZZ_CHECK(args[argc] != NULL, "out of memory");
                        snprintf(args[argc], n, "--%s=%s", name, value);
                        argc++;
                    }
                }
            }
            line = nl != NULL ? nl + 1 : NULL;
        }
        args[argc] = NULL;
        if (!too_many) {
            r = tr_config_parse(&from_cli, prog, "timerush-fuzz", argc, args, err, sizeof err);
            TR_FUZZ_CHECK(r == TR_CONFIG_OK, "the file parses, the same command line not: %s", err);
            memset(from_file.config_path, 0, sizeof from_file.config_path);
            TR_FUZZ_CHECK(memcmp(&from_file, &from_cli, sizeof from_cli) == 0,
                          "file and command line give different settings (program %u)", prog);
        }
        for (int i = 1; i < argc; i++)
            free(args[i]);
        free(text);
    }
    return 0;
}
