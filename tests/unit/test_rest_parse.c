/* test_rest_parse.c - tr_rest_parse: RFC 3339, the header deny-list, create and
 * reschedule bodies (exactly one time, unknown fields, recurring-only fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tr_headers.h"
#include "tr_json.h"
#include "tr_rest_parse.h"
#include "tr_rfc3339.h"

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(tr_rfc3339_parse("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(tr_rfc3339_parse("2026-11-26T15:00:00Z", &ms), 0);
    assert_int_equal(ms, 1795705200000LL);
    assert_int_equal(tr_rfc3339_parse("2026-11-26T16:00:00+01:00", &ms), 0);
    assert_int_equal(ms, 1795705200000LL);
    assert_int_equal(tr_rfc3339_parse("2026-11-26T14:30:00.25-00:30", &ms), 0);
    assert_int_equal(ms, 1795705200250LL);
    assert_int_equal(tr_rfc3339_parse("2024-02-29t00:00:00.123456z", &ms), 0);
    assert_int_equal(ms % 1000, 123);
    static const char *const bad[] = {"", "2026-11-26", "2026-11-26T15:00:00",
                                      "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
                                      "2026-11-26T24:00:00Z", "2026-11-26T15:00:00.Z",
                                      "2026-11-26T15:00:00+0100", "2026-11-26T15:00:00Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tr_rfc3339_parse(bad[i], &ms), -1);
}

static void test_headers(void **state)
{
    (void)state;
    assert_int_equal(tr_rest_header_allowed("X-Trace"), 0);
    assert_int_equal(tr_rest_header_allowed("Authorization"), 0);
    static const char *const denied[] = {"host", "Content-Length", "CONTENT-TYPE",
                                         "Transfer-Encoding", "connection", "Keep-Alive",
                                         "Proxy-Authorization", "te", "Trailer", "Upgrade",
                                         "Expect", "x-timerush-key", "bad name", "", "a:b",
                                         "User-Agent", "user-agent"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        assert_int_equal(tr_rest_header_allowed(denied[i]), -1);
}

static int create(const char *text, tr_rest_create *c, char *msg);

/* One rule: the API refuses exactly the header names the scheduler would drop
 * from a stored record, so no accepted header is lost at delivery. */
static void test_headers_same_rule_as_scheduler(void **state)
{
    (void)state;
    static const char *const names[] = {
        "X-Trace",  "Authorization", "Accept", "Cookie", "Content-Type", "User-Agent",
        "Expect",   "Host",          "Content-Length", "Transfer-Encoding", "Connection",
        "Keep-Alive", "TE",          "Trailer", "Upgrade", "Proxy-Authorization",
        "X-TimeRush-Key", "x-timerush-due-ms", "USER-AGENT", "Via", "Date"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"%s\":\"v\"}", names[i]);
        struct curl_slist *list = NULL;
        int skipped = -1;
        assert_int_equal(tr_headers_merge(&list, json, &skipped), 0);
        curl_slist_free_all(list);
        if ((tr_rest_header_allowed(names[i]) != 0) != (skipped == 1))
            fail_msg("%s: the API %s it but the scheduler %s it", names[i],
                     tr_rest_header_allowed(names[i]) != 0 ? "refuses" : "accepts",
                     skipped == 1 ? "drops" : "sends");
    }
    /* Values too: the API refuses those the scheduler leaves out (tr_header_value_ok). */
    static const struct {
        const char *json;
        int sent;
    } values[] = {{"{\"X\":\"v\"}", 1},     {"{\"X\":\"\"}", 1},       {"{\"X\":\"a b\"}", 1},
                  {"{\"X\":\" \"}", 0},     {"{\"X\":\"\\t \"}", 0},  {"{\"X\":\" v\"}", 0},
                  {"{\"X\":\"v\\t\"}", 0}, {"{\"X\":\"a\\rb\"}", 0}};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":%s}",
                 values[i].json);
        tr_rest_create c;
        char msg[256];
        int accepted = create(body, &c, msg) == 0;
        tr_rest_create_clear(&c);
        struct curl_slist *list = NULL;
        int skipped = -1;
        assert_int_equal(tr_headers_merge(&list, values[i].json, &skipped), 0);
        curl_slist_free_all(list);
        if (accepted != values[i].sent || (skipped == 0) != values[i].sent)
            fail_msg("%s: API %s, scheduler %s", values[i].json, accepted ? "accepts" : "refuses",
                     skipped == 0 ? "sends" : "drops");
    }
}

/* Parses text as a create body; returns 0/-1 and keeps the message. */
static int create(const char *text, tr_rest_create *c, char *msg)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    int rc = tr_rest_parse_create(o, 1795705200000LL, 315360000000LL, c, msg, 256);
    json_object_put(o);
    return rc;
}

static void test_create(void **state)
{
    (void)state;
    tr_rest_create c;
    char msg[256];
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":{\"x\":1},\"seconds\":1.5}", &c, msg), 0);
    assert_int_equal(c.when.delay_ms, 1500);
    assert_int_equal(c.when.at_ms, -1);
    assert_string_equal(c.spec.data, "{\"x\":1}");
    assert_string_equal(c.key, "");
    tr_rest_create_clear(&c);
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":\"d\",\"cron\":\"0 * * * *\"}", &c, msg), 0);
    assert_int_equal(c.when.at_ms, 1795705200000LL + 3600000); /* next whole hour, strictly after */
    tr_rest_create_clear(&c);
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"count\":2}", &c, msg), 0);
    assert_int_equal(c.when.delay_ms, 500);
    assert_int_equal(c.spec.schedule.count, 2);
    tr_rest_create_clear(&c);

    static const struct {
        const char *body, *word;
    } bad[] = {
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"at\":2}", "only one"},
        {"{\"url\":\"http://a/\",\"data\":\"d\"}", "required"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"colour\":1}", "colour"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1.5}", "delay_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"cron\":\"* * *\"}", "cron"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"until\":5}", "until"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"cron\":\"* * * * *\"}", "only one"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"retry\":{\"min_backoff_ms\":9,\"max_backoff_ms\":3}}", "max_backoff_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"retry\":{\"tries\":3}}", "tries"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"Host\":\"x\"}}", "Host"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"User-Agent\":\"x\"}}", "User-Agent"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"X\":\"a\\nb\"}}", "control"},
        {"{\"url\":\"ftp://a/\",\"data\":\"d\",\"delay_ms\":1}", "url"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"at\":\"2400-01-01T00:00:00Z\"}", "ahead"},
        {"{\"key\":\"\",\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1}", "key"},
        {"{\"key\":\".\",\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1}", "not . or .."},
        {"{\"key\":\"..\",\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1}", "not . or .."},
        {"{\"url\":\"http://a:0/\",\"data\":\"d\",\"delay_ms\":1}", "url: port 0"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"X\":\"  \"}}", "whitespace"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"X\":\"\\t\"}}", "whitespace"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"X\":\" v\"}}", "whitespace"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"headers\":{\"X\":\"v \"}}", "whitespace"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(create(bad[i].body, &c, msg), -1);
        if (strstr(msg, bad[i].word) == NULL)
            fail_msg("%s: message '%s' does not name '%s'", bad[i].body, msg, bad[i].word);
        assert_null(c.spec.url);
    }
}

static void test_when(void **state)
{
    (void)state;
    tr_rest_when w;
    char msg[256];
    json_object *o = json_tokener_parse("{\"at\":\"2001-01-01T00:00:00Z\"}");
    assert_int_equal(tr_rest_parse_when(o, 1795705200000LL, 315360000000LL, &w, msg, sizeof msg), 0);
    assert_int_equal(w.at_ms, 978307200000LL); /* in the past: the store fires it at once */
    json_object_put(o);
    o = json_tokener_parse("{\"delay_ms\":5,\"url\":\"http://a/\"}");
    assert_int_equal(tr_rest_parse_when(o, 0, 1000000, &w, msg, sizeof msg), -1);
    json_object_put(o);
    o = json_tokener_parse("{}");
    assert_int_equal(tr_rest_parse_when(o, 0, 1000000, &w, msg, sizeof msg), -1);
    json_object_put(o);
}

/* Numbers in JSON bodies: beyond int64 (json-c saturates them) and -0. */
static void test_json_numbers(void **state)
{
    (void)state;
    tr_rest_create c;
    char msg[256];
    /* json-c reads -0 as 0, so a tree cannot tell: a request body with -0 never gets
     * here, tr_json_parse_input() refuses it (test_json.c). -0.0 stays a double with
     * its sign: refused for seconds. */
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":-0}", &c, msg), 0);
    assert_int_equal(c.when.delay_ms, 0);
    tr_rest_create_clear(&c);
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":\"d\",\"seconds\":-0.0}", &c, msg), -1);
    assert_non_null(strstr(msg, "seconds: must be a number >= 0"));
    char jmsg[200];
    assert_null(tr_json_parse_input("{\"delay_ms\":-0}", 15, jmsg, sizeof jmsg));
    assert_non_null(strstr(jmsg, "-0 (write 0)"));
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":315360000000}", &c, msg), 0);
    tr_rest_create_clear(&c); /* the bound itself is accepted */
    assert_int_equal(create("{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"until\":253402300799999}", &c, msg), 0);
    assert_int_equal(c.spec.schedule.until_ms, 253402300799999LL);
    tr_rest_create_clear(&c);
    static const struct {
        const char *body, *word;
    } bad[] = {
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":-0}", "every_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":99999999999999999999}", "delay_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":-99999999999999999999}", "delay_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"at\":99999999999999999999}", "at"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"seconds\":1e400}", "seconds"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"until\":99999999999999999999}", "until"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"until\":9223372036854775807}", "until"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"until\":253402300800000}", "until"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"until\":\"9999-12-31T23:59:59-23:59\"}", "until"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":500,\"count\":99999999999999999999}", "count"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":99999999999999999999}", "every_ms"},
        /* Longer than the --max-seconds bound (315360000 s here) a delay may have. */
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"every_ms\":315360000001}", "every_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"timeout_ms\":99999999999999999999}", "timeout_ms"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"retry\":{\"max_attempts\":18446744073709551616}}", "max_attempts"},
        {"{\"url\":\"http://a/\",\"data\":\"d\",\"delay_ms\":1,\"retry\":{\"min_backoff_ms\":-0}}", "min_backoff_ms"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(create(bad[i].body, &c, msg), -1);
        if (strstr(msg, bad[i].word) == NULL)
            fail_msg("%s: message '%s' does not name '%s'", bad[i].body, msg, bad[i].word);
    }
}

/* The list's query string: limit and cursor are bounded decimal numbers. */
static void test_list_query(void **state)
{
    (void)state;
    tr_rest_list_query q;
    char msg[256];
    assert_int_equal(tr_rest_parse_list_query("", &q, msg, sizeof msg), 0);
    assert_int_equal(q.dead, 0);
    assert_int_equal(q.limit, TR_REST_LIST_DEFAULT);
    assert_int_equal(q.has_cursor, 0);
    assert_int_equal(tr_rest_parse_list_query("state=dead&limit=1000&cursor=1795705200000%3Ak-1",
                                              &q, msg, sizeof msg),
                     0);
    assert_int_equal(q.dead, 1);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.has_cursor, 1);
    assert_int_equal(q.after_score, 1795705200000LL);
    assert_string_equal(q.after_key, "k-1");
    assert_int_equal(tr_rest_parse_list_query("cursor=9223372036854775807:k", &q, msg, sizeof msg), 0);
    assert_int_equal(q.after_score, INT64_MAX);
    static const struct {
        const char *query, *word;
    } bad[] = {
        {"cursor=9999999999999999999:abc", "cursor"},  /* beyond int64: was UB */
        {"cursor=9223372036854775808:abc", "cursor"},
        {"cursor=99999999999999999999:abc", "cursor"},
        {"cursor=-0:abc", "cursor"},
        {"cursor=%2B5:abc", "cursor"},
        {"cursor=%205:abc", "cursor"},
        {"cursor=5x:abc", "cursor"},
        {"cursor=:abc", "cursor"},
        {"cursor=5:", "cursor"},
        {"cursor=5:a%20b", "cursor"},
        {"limit=-0", "limit"},
        {"limit=%2B5", "limit"},
        {"limit=%205", "limit"},
        {"limit=5%20", "limit"},
        {"limit=0x10", "limit"},
        {"limit=1e3", "limit"},
        {"limit=", "limit"},
        {"limit=99999999999999999999", "limit"},
        {"limit=1001", "limit"},
        {"state=%+1", "name=value"},  /* a sign is no hex digit */
        {"state=% 1", "name=value"},
        {"state=%4", "name=value"},
        {"state=%00", "name=value"},
        {"nope=1", "nope"},
        {"limit", "name=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tr_rest_parse_list_query(bad[i].query, &q, msg, sizeof msg) != -1)
            fail_msg("%s: accepted", bad[i].query);
        if (strstr(msg, bad[i].word) == NULL)
            fail_msg("%s: message '%s' does not name '%s'", bad[i].query, msg, bad[i].word);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_headers_same_rule_as_scheduler),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_when),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_list_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
