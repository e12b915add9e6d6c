/* test_sign.c - Standard Webhooks signatures (scheduler/tr_sign.h): the spec's
 * published test vector, several secrets, the secrets file's rules, webhook-ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tr_deliver.h"
#include "tr_header_rules.h"
#include "tr_sign.h"

/* The reference libraries' test vector (standard-webhooks, libraries/), checked
 * independently with openssl dgst -mac HMAC. */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* Another secret of 32 bytes (base64 of 32 bytes 0x01..0x20). */
#define SECRET2 "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

static tr_sign *from(const char *text, char *err, size_t errlen)
{
    return tr_sign_from_text(text, strlen(text), err, errlen);
}

static void test_vector(void **state)
{
    (void)state;
    char err[256] = "", out[TR_SIGN_VALUE_MAX];
    tr_sign *s = from(VEC_SECRET "\n", err, sizeof err);
    assert_non_null(s);
    assert_int_equal(tr_sign_count(s), 1);
    assert_int_equal(tr_sign_value(s, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out,
                                   sizeof out), 0);
    assert_string_equal(out, VEC_SIG);
    /* The contexts are reused: a second message, then the first again. */
    assert_int_equal(tr_sign_value(s, VEC_ID, VEC_TS + 1, VEC_BODY, strlen(VEC_BODY), out,
                                   sizeof out), 0);
    assert_string_not_equal(out, VEC_SIG);
    assert_int_equal(tr_sign_value(s, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out,
                                   sizeof out), 0);
    assert_string_equal(out, VEC_SIG);
    /* Any changed part changes the signature: body, id. */
    assert_int_equal(tr_sign_value(s, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY) - 1, out,
                                   sizeof out), 0);
    assert_string_not_equal(out, VEC_SIG);
    assert_int_equal(tr_sign_value(s, "msg_p5jXN8AQM9LWM0D4loKWxJeK", VEC_TS, VEC_BODY,
                                   strlen(VEC_BODY), out, sizeof out), 0);
    assert_string_not_equal(out, VEC_SIG);
    /* Too small an output: refused, "" written. */
    assert_int_equal(tr_sign_value(s, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out,
                                   TR_SIGN_ONE_LEN), -1);
    assert_string_equal(out, "");
    tr_sign_free(s);
    tr_sign_free(NULL);
}

/* Two secrets: both sign, in file order, one space apart; an empty body signs too. */
static void test_two_secrets(void **state)
{
    (void)state;
    char err[256] = "", one[TR_SIGN_VALUE_MAX], two[TR_SIGN_VALUE_MAX], both[TR_SIGN_VALUE_MAX];
    tr_sign *a = from(VEC_SECRET, err, sizeof err);
    tr_sign *b = from(SECRET2, err, sizeof err);
    tr_sign *ab = from("# current, then the old one\n" VEC_SECRET "\r\n\n  " SECRET2 "  \n",
                       err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(ab);
    assert_int_equal(tr_sign_count(ab), 2);
    for (int empty = 0; empty < 2; empty++) {
        size_t len = empty ? 0 : strlen(VEC_BODY);
        assert_int_equal(tr_sign_value(a, VEC_ID, VEC_TS, VEC_BODY, len, one, sizeof one), 0);
        assert_int_equal(tr_sign_value(b, VEC_ID, VEC_TS, VEC_BODY, len, two, sizeof two), 0);
        assert_int_equal(tr_sign_value(ab, VEC_ID, VEC_TS, VEC_BODY, len, both, sizeof both), 0);
        char want[2 * TR_SIGN_VALUE_MAX];
        snprintf(want, sizeof want, "%s %s", one, two);
        assert_string_equal(both, want);
        assert_int_equal(strlen(both), 2 * TR_SIGN_ONE_LEN + 1);
    }
    tr_sign_free(a);
    tr_sign_free(b);
    tr_sign_free(ab);
}

static void expect_error(const char *text, size_t len, const char *want)
{
    char err[256] = "";
    tr_sign *s = tr_sign_from_text(text, len, err, sizeof err);
    assert_null(s);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' lacks '%s'", err, want);
    /* No message repeats a secret's text. */
    assert_null(strstr(err, "MfKQ9r8"));
}

static void test_bad_text(void **state)
{
    (void)state;
    expect_error("", 0, "no secret");
    expect_error("# only a comment\n\n", 18, "no secret");
    expect_error("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 33, "line 1: not a secret");
    expect_error("\n" VEC_SECRET "x\n", 40, "line 2: the part after whsec_ is not");
    expect_error("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", 38, "line 1: the part after");
    expect_error("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaL=Sw", 38, "line 1: the part after");
    expect_error("whsec_", 6, "line 1: the part after");
    expect_error("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaL", 35, "line 1: the part after");
    /* Shorter than 24 bytes (192 bits). */
    expect_error("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQV", 34, "line 1: secret of 21 bytes");
    expect_error("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQ=", 34, "line 1: secret of 20 bytes");
    expect_error(VEC_SECRET " " SECRET2, strlen(VEC_SECRET " " SECRET2), "line 1: the part");
    char nul[] = VEC_SECRET "\n#\0\n";
    expect_error(nul, sizeof nul - 1, "line 2: holds a NUL byte");
    /* 64 bytes is the most (88 base64 characters), 65 is refused. */
    char big[200];
    snprintf(big, sizeof big, "whsec_%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
    char err[256];
    tr_sign *s = from(big, err, sizeof err);
    assert_non_null(s);
    tr_sign_free(s);
    snprintf(big, sizeof big, "whsec_%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    expect_error(big, strlen(big), "not padded base64 of at most 64 bytes");
    /* Eight secrets at most. */
    char many[16 * 64] = "";
    size_t w = 0;
    for (int i = 0; i < 9; i++)
        w += (size_t)snprintf(many + w, sizeof many - w, "%s\n", i % 2 ? VEC_SECRET : SECRET2);
    expect_error(many, w, "line 9: more than 8 secrets");
    s = tr_sign_from_text(many, w - strlen(SECRET2) - 1, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(tr_sign_count(s), 8);
    tr_sign_free(s);
}

static char tmpdir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_sign.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_file(void **state)
{
    (void)state;
    char path[128], err[1200] = "", out[TR_SIGN_VALUE_MAX];
    snprintf(path, sizeof path, "%s/secrets", tmpdir);
    write_file(path, VEC_SECRET "\n", 0600);
    tr_sign *s = tr_sign_load(path, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(tr_sign_value(s, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out,
                                   sizeof out), 0);
    assert_string_equal(out, VEC_SIG);
    tr_sign_free(s);
    /* 0400 is fine; group or others, any bit: refused, the path named. */
    assert_int_equal(chmod(path, 0400), 0);
    s = tr_sign_load(path, err, sizeof err);
    assert_non_null(s);
    tr_sign_free(s);
    static const mode_t bad[] = {0640, 0604, 0620, 0602, 0610, 0644};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        assert_null(tr_sign_load(path, err, sizeof err));
        assert_non_null(strstr(err, "gives group or others access: chmod 600"));
        assert_non_null(strstr(err, path));
    }
    /* Errors inside the file name the file and the line. */
    write_file(path, "# key\nwhsec_nope\n", 0600);
    assert_null(tr_sign_load(path, err, sizeof err));
    char want[256];
    snprintf(want, sizeof want, "%s: line 2: ", path);
    assert_non_null(strstr(err, want));
    /* Missing, a directory, too large. */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none", tmpdir);
    assert_null(tr_sign_load(missing, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(chmod(tmpdir, 0700), 0);
    assert_null(tr_sign_load(tmpdir, err, sizeof err));
    assert_non_null(strstr(err, "not a regular file"));
    char *huge = malloc(TR_SIGN_FILE_MAX + 2);
    assert_non_null(huge);
    memset(huge, '#', TR_SIGN_FILE_MAX + 1);
    huge[TR_SIGN_FILE_MAX + 1] = '\0';
    write_file(path, huge, 0600);
    free(huge);
    assert_null(tr_sign_load(path, err, sizeof err));
    assert_non_null(strstr(err, "larger than 65536 bytes"));
    unlink(path);
}

static int remove_dir(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

static void test_id(void **state)
{
    (void)state;
    char out[TR_SIGN_ID_MAX];
    size_t n = tr_sign_id(out, sizeof out, "order-42:x_y", 1795703817260LL, 3, 0);
    assert_string_equal(out, "msg_order-42:x_y_1795703817260_3");
    assert_int_equal(n, strlen(out));
    /* '.' (and '%', and anything else) escaped: no '.' in an id, still unique. */
    tr_sign_id(out, sizeof out, "a.b%c", 5, 1, 0);
    assert_string_equal(out, "msg_a%2Eb%25c_5_1");
    tr_sign_id(out, sizeof out, "a.b", 5, 1, 1);
    assert_string_equal(out, "msg_a%2Eb_5_1_failure");
    tr_sign_id(out, sizeof out, "k\r\n\xff", 0, 1, 0);
    assert_string_equal(out, "msg_k%0D%0A%FF_0_1");
    /* The worst key of TR_KEY_MAX bytes fits TR_SIGN_ID_MAX exactly. */
    char key[TR_KEY_MAX + 1];
    memset(key, '.', TR_KEY_MAX);
    key[TR_KEY_MAX] = '\0';
    n = tr_sign_id(out, sizeof out, key, INT64_MIN, INT64_MIN, 1);
    assert_int_equal(n, TR_SIGN_ID_MAX - 1);
    assert_int_equal(strlen(out), n);
    /* Cut short: the length it needs, and a NUL within cap. */
    char small[8];
    n = tr_sign_id(small, sizeof small, "abcdef", 1, 1, 0);
    assert_int_equal(n, strlen("msg_abcdef_1_1"));
    assert_string_equal(small, "msg_abc");
    assert_int_equal(tr_sign_id(NULL, 0, "k", 1, 1, 0), strlen("msg_k_1_1"));
}

/* The three headers are the scheduler's: a timer may never set them. */
static void test_reserved(void **state)
{
    (void)state;
    assert_true(tr_header_reserved("webhook-id"));
    assert_true(tr_header_reserved("Webhook-Timestamp"));
    assert_true(tr_header_reserved("WEBHOOK-SIGNATURE"));
    assert_false(tr_header_reserved("webhook-other"));
    assert_false(tr_header_allowed("webhook-signature", "v1,x", 4));
}

/* The value of header `name` in list, or NULL. */
static const char *header(const struct curl_slist *list, const char *name)
{
    size_t n = strlen(name);
    for (; list != NULL; list = list->next)
        if (strncmp(list->data, name, n) == 0 && list->data[n] == ':')
            return list->data + n + 2;
    return NULL;
}

static int count(const struct curl_slist *list)
{
    int n = 0;
    for (; list != NULL; list = list->next)
        n++;
    return n;
}

/* A started transfer's headers: the plain path (nodes inside the transfer), a
 * timer with headers of its own (a list), a notice; each with the three signed
 * lines, the signature over exactly its id, timestamp and body. */
static void test_deliver_headers(void **state)
{
    (void)state;
    static tr_config cfg;
    tr_config_defaults(&cfg);
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    tr_deliver *d = tr_deliver_new(&cfg);
    assert_non_null(d);
    char err[256];
    tr_sign *s = from(VEC_SECRET "\n" SECRET2 "\n", err, sizeof err);
    assert_non_null(s);
    /* Unsigned plain, signed plain, signed with the timer's own header, a signed notice. */
    static const struct {
        int is_signed, notice;
        const char *own;
        int lines;    /* headers in all */
        int inline_;  /* the nodes inside the transfer, not a list */
    } cases[] = {{0, 0, NULL, 6, 1}, {1, 0, NULL, 9, 1}, {1, 0, "{\"X-Req\":\"1\"}", 10, 0},
                 {1, 1, NULL, 8, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_deliver_set_signer(d, cases[i].is_signed ? s : NULL);
        /* Keys: with a '.', short, and one longer than the API takes (a heap id). */
        char long_key[TR_KEY_MAX + 80];
        memset(long_key, '.', sizeof long_key - 1);
        long_key[sizeof long_key - 1] = '\0';
        const char *keys[] = {"order.42", "k", long_key};
        for (int pass = 0; pass < 3; pass++) {
            tr_xfer *x = tr_deliver_xfer_get(d);
            assert_non_null(x);
            x->id = strdup(keys[pass]);
            x->spec.url = strdup("http://127.0.0.1:9/cb");
            x->spec.data = strdup("{\"a\":\"\xc3\xa9\"}");
            x->spec.data_len = strlen(x->spec.data);
            x->spec.headers_json = cases[i].own != NULL ? strdup(cases[i].own) : NULL;
            x->notice = cases[i].notice;
            x->attempt = 2;
            x->fire_due_ms = 1795703817260LL;
            int64_t before = time(NULL);
            assert_int_equal(tr_deliver_start(d, x), 0);
            int64_t after = time(NULL);
            const struct curl_slist *h = cases[i].inline_ && pass < 2 ? x->hnode : x->headers;
            assert_non_null(h);
            assert_int_equal(count(h), cases[i].lines);
            assert_non_null(header(h, x->notice ? "X-TimeRush-Failure" : "X-TimeRush-Due-Ms"));
            if (!cases[i].is_signed) {
                assert_null(header(h, "webhook-id"));
            } else {
                const char *id = header(h, "webhook-id");
                const char *ts = header(h, "webhook-timestamp");
                const char *sig = header(h, "webhook-signature");
                assert_non_null(id);
                assert_non_null(ts);
                assert_non_null(sig);
                char want_id[4 * sizeof long_key], want_sig[TR_SIGN_VALUE_MAX];
                tr_sign_id(want_id, sizeof want_id, x->id, 1795703817260LL, 2, x->notice);
                assert_string_equal(id, want_id);
                int64_t t = strtoll(ts, NULL, 10);
                assert_true(t >= before && t <= after);
                assert_int_equal(tr_sign_value(s, id, t, x->spec.data, x->spec.data_len,
                                               want_sig, sizeof want_sig), 0);
                assert_string_equal(sig, want_sig);
                assert_non_null(strchr(sig, ' ')); /* two secrets, two signatures */
            }
            tr_xfer *a = tr_deliver_abort_one(d);
            assert_ptr_equal(a, x);
            tr_deliver_xfer_put(d, a);
        }
    }
    tr_deliver_free(d);
    tr_sign_free(s);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_two_secrets),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test_setup_teardown(test_file, make_dir, remove_dir),
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_reserved),
        cmocka_unit_test(test_deliver_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
