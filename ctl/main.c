/* main.c - timerushctl: the command-line client of the TimeRush REST API.
 *
 * Reads the global options (anywhere on the line), resolves the server and token
 * (ctl_conf.h), and runs one subcommand from the table below. A client of the API,
 * nothing more: everything it does, curl could do (docs/CLI.md).
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_args.h"
#include "ctl_cmd.h"
#include "ctl_conf.h"

#define CTL_VERSION "1.0"

typedef struct ctl_command {
    const char *name;
    ctl_cmd_fn fn;
    const char *args;
    const char *help;
} ctl_command;

static const ctl_command commands[] = {
    {"create", ctl_cmd_create,
     "CALLBACK_URL (--data TEXT | --data-json JSON) (--delay-ms N | --seconds S | --at TIME)\n"
     "                 [--key KEY] [--header 'Name: value']... [--max-attempts N]\n"
     "                 [--min-backoff-ms N] [--max-backoff-ms N] [--timeout-ms N]\n"
     "                 [--failure-url URL] [--every-ms N | --cron EXPR] [--until TIME] [--count N]",
     "create a timer (TIME: epoch ms or RFC 3339)"},
    {"get", ctl_cmd_get, "KEY", "show one timer"},
    {"ls", ctl_cmd_ls,
     "[--state pending|dead] [--limit N] [--cursor C] [--all] [--prefix P]\n"
     "                 [--due-after TIME] [--due-before TIME]",
     "list timers by due time, a page (--limit, default 100) or --all pages"},
    {"cancel", ctl_cmd_cancel, "KEY...", "delete timers (any state)"},
    {"reschedule", ctl_cmd_reschedule, "KEY (--delay-ms N | --seconds S | --at TIME)",
     "move a pending timer"},
    {"replay", ctl_cmd_replay, "KEY...", "make dead timers due now, attempts reset"},
    {"dead", ctl_cmd_dead,
     "ls [--limit N] [--cursor C] [--all] [--prefix P] | replay KEY... | delete KEY...",
     "the dead-letter set"},
    {"pause", ctl_cmd_pause, "", "stop every scheduler from claiming timers"},
    {"resume", ctl_cmd_resume, "", "let them claim again"},
    {"stats", ctl_cmd_stats, "", "counts and totals (GET /v1/stats)"},
    {"top", ctl_cmd_top, "[--interval S] [--iterations N]",
     "live rates, pending, in flight, lateness p50/p99"},
};
#define COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [global options] COMMAND [options]\n"
            "\n"
            "The command-line client of the TimeRush REST API (docs/CLI.md).\n"
            "\n"
            "Commands:\n",
            prog);
    for (size_t i = 0; i < COMMANDS; i++)
        fprintf(out, "  %-10s %s\n             %s%s%s\n", commands[i].name, commands[i].help,
                commands[i].name, commands[i].args[0] != '\0' ? " " : "", commands[i].args);
    fprintf(out,
            "\n"
            "Global options (before or after the command):\n"
            "  --url URL          the server (default: TIMERUSH_URL, else listen-host and\n"
            "                     listen-port of the config file, else %s)\n"
            "  --token-file FILE  bearer token file, mode 0600, '[SCOPES:]TOKEN' lines (default:\n"
            "                     TIMERUSH_TOKEN_FILE, TIMERUSH_TOKEN, else the config file's\n"
            "                     api-token-file); a token is never taken from the command line\n"
            "  --config FILE      the service's config file (default: TIMERUSH_CONFIG, else\n"
            "                     %s, read only when it exists)\n"
            "  --json             print the API's JSON (ls: one array over all pages fetched;\n"
            "                     top: one object a line)\n"
            "  --timeout S        give up on a request after S seconds (default 10)\n"
            "  -h, --help         this text;  --version  the version\n"
            "\n"
            "Exit codes:\n"
            "  0  done\n"
            "  1  the server answered an error (its message is printed)\n"
            "  2  usage error (also an unreadable token or config file)\n"
            "  3  cannot connect to the server, or no answer before --timeout\n"
            "  4  not found (HTTP 404: unknown key; replay or dead delete of a live timer)\n"
            "  5  unauthorized or forbidden (HTTP 401/403: no valid token, or a token\n"
            "     without the scope)\n",
            CTL_DEFAULT_URL, CTL_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
    const char *prog = "timerushctl";
    int json = 0, help = 0, version = 0;
    const char *timeout_text = NULL;
    ctl_conf_flags flags = {0};
    const ctl_opt global[] = {
        {"url", CTL_OPT_STR, &flags.url},
        {"token-file", CTL_OPT_STR, &flags.token_file},
        {"config", CTL_OPT_STR, &flags.config},
        {"json", CTL_OPT_FLAG, &json},
        {"timeout", CTL_OPT_STR, &timeout_text},
        {"help", CTL_OPT_FLAG, &help},
        {"version", CTL_OPT_FLAG, &version},
        {NULL, CTL_OPT_FLAG, NULL},
    };
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return CTL_EXIT_USAGE;
    }
    int nrest = 0, rc = CTL_EXIT_USAGE;
    char err[1024];
    ctl_conf conf;
    memset(&conf, 0, sizeof conf);
    ctl_http *http = NULL;
    if (ctl_args_take(argc - 1, argv + 1, global, rest, &nrest, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s (see %s --help)\n", prog, err, prog);
        goto out;
    }
    if (nrest > 0 && strcmp(rest[0], "-h") == 0)
        help = 1;
    if (help || version) {
        if (help)
            usage(stdout, prog);
        else
            printf("%s %s\n", prog, CTL_VERSION);
        rc = CTL_EXIT_OK;
        goto out;
    }
    double timeout_s = 10;
    if (timeout_text != NULL &&
        ctl_args_seconds("timeout", timeout_text, 0.001, 86400, &timeout_s, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    if (nrest == 0) {
        fprintf(stderr, "usage: %s [global options] COMMAND [options] (see %s --help)\n", prog,
                prog);
        goto out;
    }
    const ctl_command *cmd = NULL;
    for (size_t i = 0; i < COMMANDS && cmd == NULL; i++)
        if (strcmp(rest[0], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "%s: unknown command '%s' (see %s --help)\n", prog, rest[0], prog);
        goto out;
    }
    if (ctl_conf_resolve(&conf, &flags, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    /* A reader that goes away (| head) ends the output, not the process by signal. */
    signal(SIGPIPE, SIG_IGN);
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init: %s\n", prog, curl_easy_strerror(cc));
        rc = CTL_EXIT_SERVER;
        goto out;
    }
    http = ctl_http_new(conf.url, conf.token, (long)(timeout_s * 1000), err, sizeof err);
    ctl_conf_clear(&conf); /* the client keeps its own copy, wiped on free */
    if (http == NULL) {
        fprintf(stderr, "%s: %s\n", prog, err);
        rc = CTL_EXIT_SERVER;
    } else {
        ctl_ctx ctx = {.http = http, .url = conf.url, .prog = prog, .json = json,
                       .stdout_tty = isatty(STDOUT_FILENO)};
        rc = cmd->fn(&ctx, nrest, rest);
        if (fflush(stdout) != 0 && rc == CTL_EXIT_OK)
            rc = CTL_EXIT_SERVER;
    }
    ctl_http_free(http);
    curl_global_cleanup();
out:
    ctl_conf_clear(&conf);
    free(rest);
    return rc;
}
