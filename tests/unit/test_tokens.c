/* test_tokens.c - API tokens: "[SCOPES:]TOKEN" parsing (shared/tr_tokens.c), token
 * files, the options adding up (shared/tr_config.c), the scope check
 * (fcgi/tr_auth.c) and which headers are secret (shared/tr_header_rules.c). */
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

#include "tr_auth.h"
#include "tr_config.h"
#include "tr_header_rules.h"
#include "tr_tokens.h"

static tr_config cfg; /* large: keep it off the stack */
static char err[600];

static void test_parse(void **state)
{
    (void)state;
    tr_api_token t;
    assert_int_equal(tr_token_parse("abc", &t, err, sizeof err), 0);
    assert_string_equal(t.token, "abc");
    assert_int_equal(t.scopes, TR_SCOPE_API);
    assert_int_equal(tr_token_parse("read,admin:a.b-c_d~e+f/g==", &t, err, sizeof err), 0);
    assert_string_equal(t.token, "a.b-c_d~e+f/g==");
    assert_int_equal(t.scopes, TR_SCOPE_READ | TR_SCOPE_ADMIN);
    assert_int_equal(tr_token_parse("metrics:m", &t, err, sizeof err), 0);
    assert_int_equal(t.scopes, TR_SCOPE_METRICS);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "empty or whitespace-only"},
        {"  \t ", "empty or whitespace-only"},
        {"read:", "empty or whitespace-only"},
        {"read: ", "empty or whitespace-only"},
        {"owner:abc", "unknown scope 'owner'"},
        {"Read:abc", "unknown scope 'Read'"},
        {":abc", "empty scope"},
        {"read,,write:abc", "empty scope"},
        {"ab cd", "RFC 6750"},
        {"abc ", "RFC 6750"},
        {"=abc", "RFC 6750"},
        {"ab=c", "RFC 6750"},
        {"read:a:b", "RFC 6750"},
        {"ab\"c", "RFC 6750"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (tr_token_parse(bad[i].text, &t, err, sizeof err) != -1 ||
            strstr(err, bad[i].why) == NULL)
            fail_msg("'%s': want -1 and '%s', got '%s'", bad[i].text, bad[i].why, err);
    }
    char longtok[TR_API_TOKEN_MAX + 1];
    memset(longtok, 'a', sizeof longtok - 1);
    longtok[sizeof longtok - 1] = '\0';
    assert_int_equal(tr_token_parse(longtok, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than"));
    longtok[TR_API_TOKEN_MAX - 1] = '\0'; /* 255 bytes: the most */
    assert_int_equal(tr_token_parse(longtok, &t, err, sizeof err), 0);
}

/* A file holding text with the given mode; the caller unlinks it. */
static void write_file(char *path, size_t len, const char *text, mode_t mode)
{
    snprintf(path, len, "/tmp/tr-test-tokens.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_file(void **state)
{
    (void)state;
    tr_api_token list[4];
    int n = 0;
    char path[64];
    write_file(path, sizeof path, "# tokens\n\n  read:r1  # the reader\nw1\n", 0600);
    assert_int_equal(tr_token_file_load(path, list, &n, 4, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].token, "r1");
    assert_int_equal(list[0].scopes, TR_SCOPE_READ);
    assert_int_equal(list[1].scopes, TR_SCOPE_API);
    chmod(path, 0640);
    assert_int_equal(tr_token_file_load(path, list, &n, 4, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    chmod(path, 0604);
    assert_int_equal(tr_token_file_load(path, list, &n, 4, err, sizeof err), -1);
    assert_int_equal(n, 2);
    chmod(path, 0600);
    assert_int_equal(tr_token_file_load(path, list, &n, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 3 tokens"));
    assert_int_equal(n, 2); /* unchanged on failure */
    unlink(path);
    write_file(path, sizeof path, "# nothing\n\n", 0600);
    n = 0;
    assert_int_equal(tr_token_file_load(path, list, &n, 4, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds no token"));
    unlink(path);
    write_file(path, sizeof path, "ok1\nwrite:bad token\n", 0600);
    assert_int_equal(tr_token_file_load(path, list, &n, 4, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: "));
    assert_null(strstr(err, "bad token")); /* a token is never quoted */
    assert_int_equal(n, 0);
    unlink(path);
}

#define PARSE(...) parse((const char *[]){"prog", __VA_ARGS__, NULL})

static tr_config_result parse(const char **args)
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
    return tr_config_parse(&cfg, TR_PROG_FCGI, "prog", argc, argv, err, sizeof err);
}

static void test_options_add_up(void **state)
{
    (void)state;
    char conf[64], tokens[64];
    write_file(tokens, sizeof tokens, "admin:from-token-file\n", 0600);
    char text[256];
    snprintf(text, sizeof text, "api-token = read:from-conf\napi-token-file = %s\n"
                                "metrics-token = m-conf\n", tokens);
    write_file(conf, sizeof conf, text, 0600);
    assert_int_equal(PARSE("-c", conf, "--api-token", "cli"), TR_CONFIG_OK);
    assert_int_equal(cfg.api_token_count, 4); /* the file's three, the command line's one */
    assert_string_equal(cfg.api_tokens[0].token, "from-conf");
    assert_int_equal(cfg.api_tokens[1].scopes, TR_SCOPE_ADMIN);
    assert_int_equal(cfg.api_tokens[2].scopes, TR_SCOPE_METRICS);
    assert_string_equal(cfg.api_tokens[3].token, "cli");
    assert_int_equal(PARSE("--api-token", "cli", "-c", conf, "--api-token-reset"), TR_CONFIG_OK);
    assert_int_equal(cfg.api_token_count, 1); /* the file's dropped, wherever -reset stands */
    assert_string_equal(cfg.api_tokens[0].token, "cli");
    assert_int_equal(PARSE("-c", conf, "--api-token-reset=false"), TR_CONFIG_OK);
    assert_int_equal(cfg.api_token_count, 3);
    assert_int_equal(PARSE("--api-token="), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "--api-token: an empty or whitespace-only token"));
    assert_int_equal(PARSE("--check", "--metrics-token", "read:x"), TR_CONFIG_ERROR);
    assert_int_equal(PARSE("--metrics-auth", "--api-token", "write:w"), TR_CONFIG_ERROR);
    assert_int_equal(PARSE("--metrics-auth", "--metrics-token", "m"), TR_CONFIG_OK);
    unlink(conf);
    write_file(conf, sizeof conf, "api-token-reset = true\n", 0600);
    assert_int_equal(PARSE("-c", conf), TR_CONFIG_ERROR);
    assert_non_null(strstr(err, "command line"));
    unlink(conf);
    unlink(tokens);
}

static void test_check(void **state)
{
    (void)state;
    tr_config_defaults(&cfg);
    unsigned g = 0;
    /* No token: the API is open, /metrics too. */
    assert_int_equal(tr_auth_check(&cfg, NULL, TR_NEED_ADMIN, &g), TR_AUTH_OK);
    assert_int_equal(g & TR_SCOPE_API, TR_SCOPE_API);
    assert_int_equal(tr_auth_check(&cfg, NULL, TR_NEED_METRICS, NULL), TR_AUTH_OK);
    /* Only a metrics token: the API stays open, /metrics is closed. */
    assert_int_equal(tr_token_parse("metrics:m", &cfg.api_tokens[0], err, sizeof err), 0);
    cfg.api_token_count = 1;
    assert_int_equal(tr_auth_api_protected(&cfg), 0);
    assert_int_equal(tr_auth_check(&cfg, NULL, TR_NEED_WRITE, NULL), TR_AUTH_OK);
    assert_int_equal(tr_auth_check(&cfg, NULL, TR_NEED_METRICS, NULL), TR_AUTH_MISSING);
    assert_int_equal(tr_auth_check(&cfg, "Bearer m", TR_NEED_METRICS, NULL), TR_AUTH_OK);
    /* Scoped tokens. */
    static const char *const toks[] = {"read:r", "write:w", "admin:a", "all"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tr_token_parse(toks[i], &cfg.api_tokens[1 + i], err, sizeof err), 0);
    cfg.api_token_count = 5;
    assert_int_equal(tr_auth_api_protected(&cfg), 1);
    static const struct {
        const char *auth;
        tr_auth_need need;
        tr_auth_result want;
    } cases[] = {
        {NULL, TR_NEED_READ, TR_AUTH_MISSING},
        {NULL, TR_NEED_OPEN, TR_AUTH_OK},
        {"Bearer x", TR_NEED_READ, TR_AUTH_MISSING},
        {"Bearer r ", TR_NEED_READ, TR_AUTH_MISSING},
        {"Basic r", TR_NEED_READ, TR_AUTH_MISSING},
        {"bearer  r", TR_NEED_READ, TR_AUTH_OK},
        {"Bearer r", TR_NEED_WRITE, TR_AUTH_FORBIDDEN},
        {"Bearer r", TR_NEED_METRICS, TR_AUTH_OK},
        {"Bearer w", TR_NEED_WRITE, TR_AUTH_OK},
        {"Bearer w", TR_NEED_READ, TR_AUTH_FORBIDDEN},
        {"Bearer w", TR_NEED_METRICS, TR_AUTH_FORBIDDEN},
        {"Bearer a", TR_NEED_ADMIN, TR_AUTH_OK},
        {"Bearer a", TR_NEED_WRITE, TR_AUTH_FORBIDDEN},
        {"Bearer a", TR_NEED_WRITE_OR_ADMIN, TR_AUTH_OK},
        {"Bearer r", TR_NEED_WRITE_OR_ADMIN, TR_AUTH_FORBIDDEN},
        {"Bearer m", TR_NEED_READ, TR_AUTH_FORBIDDEN},
        {"Bearer m", TR_NEED_ANY, TR_AUTH_OK},
        {"Bearer all", TR_NEED_ADMIN, TR_AUTH_OK},
        {"Bearer all", TR_NEED_METRICS, TR_AUTH_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_auth_result got = tr_auth_check(&cfg, cases[i].auth, cases[i].need, NULL);
        if (got != cases[i].want)
            fail_msg("case %zu (%s, need %d): got %d, want %d", i,
                     cases[i].auth ? cases[i].auth : "(none)", (int)cases[i].need, (int)got,
                     (int)cases[i].want);
    }
    assert_int_equal(tr_auth_check(&cfg, "Bearer w", TR_NEED_WRITE, &g), TR_AUTH_OK);
    assert_int_equal(g, TR_SCOPE_WRITE);
    assert_int_equal(tr_auth_cancel_scope(TR_SCOPE_WRITE), TR_CANCEL_LIVE);
    assert_int_equal(tr_auth_cancel_scope(TR_SCOPE_ADMIN), TR_CANCEL_DEAD);
    assert_int_equal(tr_auth_cancel_scope(TR_SCOPE_API), TR_CANCEL_ANY);
}

static void test_secret_headers(void **state)
{
    (void)state;
    assert_true(tr_header_secret("Authorization"));
    assert_true(tr_header_secret("COOKIE"));
    assert_true(tr_header_secret("proxy-authorization"));
    assert_false(tr_header_secret("X-Authorization"));
    assert_false(tr_header_secret("Set-Cookie2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),           cmocka_unit_test(test_file),
        cmocka_unit_test(test_options_add_up),  cmocka_unit_test(test_check),
        cmocka_unit_test(test_secret_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
