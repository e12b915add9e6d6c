/* test_sched_deliver.c - request headers of a delivery, the meta JSON of a failure,
 * the firing's due time, and the pending list's ownership of its copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tr_deliver.h"
#include "tr_outcome.h"
#include "tr_pending.h"


/* The claim token of the tests' claims (the fence of every outcome). */
#define TOK "test/1/1"
static void test_headers(void **state)
{
    (void)state;
    struct curl_slist *h = tr_deliver_headers("0b6f1b6e-1111-4222-8333-444455556666", 3,
                                              1795703817260LL);
    assert_non_null(h);
    const char *want[] = {"Content-Type: application/json", "User-Agent: TimeRush/1.0",
                          "Expect:", "X-TimeRush-Key: 0b6f1b6e-1111-4222-8333-444455556666",
                          "X-TimeRush-Attempt: 3", "X-TimeRush-Due-Ms: 1795703817260"};
    size_t i = 0;
    for (struct curl_slist *p = h; p != NULL; p = p->next, i++) {
        assert_true(i < sizeof want / sizeof want[0]);
        assert_string_equal(p->data, want[i]);
    }
    assert_int_equal(i, sizeof want / sizeof want[0]);
    curl_slist_free_all(h);

    /* A key longer than any the API accepts still makes a whole header. */
    char longkey[600];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    h = tr_deliver_headers(longkey, 1, 0);
    assert_non_null(h);
    assert_int_equal(strlen(h->next->next->next->data), strlen("X-TimeRush-Key: ") + 599);
    curl_slist_free_all(h);
}

static void test_meta(void **state)
{
    (void)state;
    char *meta = NULL;
    assert_int_equal(tr_outcome_meta(1000, 4, 503, "HTTP 503 \"busy\"", 1234, &meta), 0);
    json_object *o = json_tokener_parse(meta);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "due", &v));
    assert_int_equal(json_object_get_int64(v), 1000);
    assert_true(json_object_object_get_ex(o, "attempts", &v));
    assert_int_equal(json_object_get_int64(v), 4);
    assert_true(json_object_object_get_ex(o, "status", &v));
    assert_int_equal(json_object_get_int64(v), 503);
    assert_true(json_object_object_get_ex(o, "error", &v));
    assert_string_equal(json_object_get_string(v), "HTTP 503 \"busy\"");
    assert_true(json_object_object_get_ex(o, "at", &v));
    assert_int_equal(json_object_get_int64(v), 1234);
    json_object_put(o);

    /* The firing's due time comes back from the meta; otherwise the claim's. */
    assert_int_equal(tr_outcome_fire_due(meta, strlen(meta), 99999), 1000);
    assert_int_equal(tr_outcome_fire_due(NULL, 0, 99999), 99999);
    assert_int_equal(tr_outcome_fire_due("not json", 8, 5), 5);
    assert_int_equal(tr_outcome_fire_due("{\"due\":\"x\"}", 11, 5), 5);
    free(meta);
}

static void test_pending_copies(void **state)
{
    (void)state;
    tr_pending *p = tr_pending_new();
    assert_non_null(p);
    char id[] = "key-1", meta[] = "{\"due\":1}", cid[] = "key-2", rec[] = "{\"u\":\"x\"}";
    char tok[] = TOK;
    tr_finish f = {.kind = TR_FINISH_RETRY, .id = id, .token = tok, .attempt = 2, .delay_ms = 50,
                   .meta = meta};
    assert_int_equal(tr_pending_add(p, &f), 0);
    tr_finish g = {.kind = TR_FINISH_ACK, .id = cid, .token = TOK, .attempt = 1, .chain_id = cid,
                   .chain_record = rec, .chain_record_len = strlen(rec), .chain_delay_ms = 1000};
    assert_int_equal(tr_pending_add(p, &g), 0);
    /* Many more: the list grows. */
    for (int i = 0; i < 200; i++)
        assert_int_equal(tr_pending_add(p, &f), 0);
    memset(id, 'X', sizeof id - 1); /* the caller's buffers may change: copies kept */
    memset(rec, 'Y', sizeof rec - 1);
    memset(tok, 'Z', sizeof tok - 1);
    assert_int_equal(tr_pending_count(p), 202);
    assert_string_equal(tr_pending_item(p, 0)->id, "key-1");
    assert_string_equal(tr_pending_item(p, 0)->token, TOK);
    assert_string_equal(tr_pending_item(p, 0)->meta, "{\"due\":1}");
    assert_int_equal(tr_pending_item(p, 0)->delay_ms, 50);
    assert_string_equal(tr_pending_item(p, 1)->chain_record, "{\"u\":\"x\"}");
    assert_int_equal(tr_pending_item(p, 1)->chain_delay_ms, 1000);
    assert_null(tr_pending_item(p, 1)->meta);
    tr_pending_free(p); /* frees every copy (ASan checks) */
    tr_pending_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_pending_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
