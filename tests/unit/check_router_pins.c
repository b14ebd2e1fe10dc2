/* check_router_pins.c - the pin table: pins, idle expiry, session policies, persistence. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "router/pins.h"

static int64_t ttl_for(void *ud, const char *agent)
{
    return strcmp(agent, "forever") == 0 ? 0 : 1000;
}

START_TEST(set_get_replace_delete)
{
    sw_pins p;
    sw_pins_init(&p, 0);
    ck_assert_ptr_null(sw_pins_get(&p, "a", "s1"));
    sw_pin *pin = sw_pins_set(&p, "a", "s1", "v1", SW_REASON_SPLIT, 100);
    ck_assert_ptr_nonnull(pin);
    ck_assert_ptr_eq(sw_pins_get(&p, "a", "s1"), pin);
    ck_assert_ptr_null(sw_pins_get(&p, "b", "s1")); /* per agent */
    uint64_t d = p.dirty;
    pin = sw_pins_set(&p, "a", "s1", "v2", SW_REASON_OVERRIDE, 200);
    ck_assert_str_eq(pin->version, "v2");
    ck_assert_int_eq(pin->created_ms, 100);
    ck_assert_uint_gt(p.dirty, d);
    ck_assert_uint_eq(sw_pins_count(&p), 1);
    sw_pins_del(&p, "a", "s1");
    ck_assert_uint_eq(sw_pins_count(&p), 0);
    /* Keys longer than the inline buffer. */
    char big[500];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_ptr_nonnull(sw_pins_set(&p, "a", big, "v1", SW_REASON_RULE, 1));
    ck_assert_ptr_nonnull(sw_pins_get(&p, "a", big));
    sw_pins_del(&p, "a", big);
    sw_pins_free(&p);
}
END_TEST

START_TEST(cap_and_expiry)
{
    sw_pins p;
    sw_pins_init(&p, 3);
    ck_assert_ptr_nonnull(sw_pins_set(&p, "a", "1", "v1", SW_REASON_SPLIT, 0));
    ck_assert_ptr_nonnull(sw_pins_set(&p, "a", "2", "v1", SW_REASON_SPLIT, 500));
    ck_assert_ptr_nonnull(sw_pins_set(&p, "forever", "3", "v1", SW_REASON_SPLIT, 0));
    ck_assert_ptr_null(sw_pins_set(&p, "a", "4", "v1", SW_REASON_SPLIT, 0)); /* full */
    ck_assert_ptr_nonnull(
        sw_pins_set(&p, "a", "1", "v2", SW_REASON_SPLIT, 0)); /* replacing is fine */
    sw_pin *two = sw_pins_get(&p, "a", "2");
    sw_pins_touch(&p, two, 1400);
    ck_assert_uint_eq(sw_pins_expire(&p, 1200, ttl_for, NULL), 1); /* "1" idle 1200 > 1000 */
    ck_assert_ptr_null(sw_pins_get(&p, "a", "1"));
    ck_assert_ptr_nonnull(sw_pins_get(&p, "a", "2"));
    ck_assert_ptr_nonnull(sw_pins_get(&p, "forever", "3"));
    ck_assert_uint_eq(sw_pins_expire(&p, 100000, ttl_for, NULL), 1);
    ck_assert_uint_eq(sw_pins_count(&p), 1);
    sw_pins_free(&p);
}
END_TEST

START_TEST(policies)
{
    sw_pins p;
    sw_pins_init(&p, 0);
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "s%d", i);
        sw_pins_set(&p, "a", key, i < 6 ? "v2" : "v1", SW_REASON_SPLIT, 0);
        sw_pins_set(&p, "b", key, "v2", SW_REASON_SPLIT, 0);
    }
    ck_assert_uint_eq(sw_pins_apply(&p, "a", "v2", SW_POLICY_DRAIN, "v1"), 6);
    ck_assert_str_eq(sw_pins_get(&p, "a", "s0")->version, "v2");
    ck_assert_uint_eq(sw_pins_apply(&p, "a", "v2", SW_POLICY_TERMINATE, "v1"), 6);
    ck_assert(sw_pins_get(&p, "a", "s0")->terminated);
    ck_assert(!sw_pins_get(&p, "a", "s7")->terminated);
    ck_assert(!sw_pins_get(&p, "b", "s0")->terminated); /* another agent */
    ck_assert_uint_eq(sw_pins_apply(&p, "b", "v2", SW_POLICY_MIGRATE, "v1"), 10);
    ck_assert_str_eq(sw_pins_get(&p, "b", "s3")->version, "v1");
    ck_assert_int_eq(sw_pins_get(&p, "b", "s3")->reason, SW_REASON_MIGRATE);
    json_t *sum = sw_pins_summary(&p, "a");
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "total")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "terminated")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(sum, "by_version"), "v1")),
                     4);
    json_decref(sum);
    json_t *list = sw_pins_list(&p, "b", 3);
    ck_assert_uint_eq(json_array_size(list), 3);
    json_decref(list);
    sw_pins_free(&p);
}
END_TEST

START_TEST(json_round_trip)
{
    sw_pins p, q;
    sw_pins_init(&p, 0);
    sw_pins_set(&p, "a", "s1", "v1", SW_REASON_RULE, 5);
    sw_pin *t = sw_pins_set(&p, "a", "s2", "v2", SW_REASON_OVERRIDE, 7);
    t->terminated = 1;
    json_t *j = sw_pins_to_json(&p);
    sw_pins_init(&q, 0);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_pins_load_json(&q, j, &err), 0);
    ck_assert_int_eq(sw_pins_get(&q, "a", "s1")->reason, SW_REASON_RULE);
    ck_assert_int_eq(sw_pins_get(&q, "a", "s1")->last_ms, 5);
    ck_assert(sw_pins_get(&q, "a", "s2")->terminated);
    json_t *j2 = sw_pins_to_json(&q);
    ck_assert_uint_eq(json_array_size(j2), 2);
    json_decref(j2);
    /* The direct writer gives the same JSON, odd characters included. */
    sw_pins_set(&p, "a", "quote\" back\\ ctl\x01 utf8 \xc3\xa9", "v1", SW_REASON_MIGRATE, 9);
    json_t *want = sw_pins_to_json(&p);
    sw_buf b = {0};
    sw_pins_dump(&p, &b);
    json_error_t je;
    json_t *got = json_loads(b.data, 0, &je);
    ck_assert_msg(got != NULL, "%s: %s", je.text, b.data);
    ck_assert(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    sw_buf_free(&b);
    json_decref(j);
    /* Bad input is refused with the pin's number. */
    json_t *bad = json_loads("[{\"agent\": \"a\", \"session\": \"s\", \"version\": \"v\", "
                             "\"reason\": \"whim\"}]",
                             0, NULL);
    ck_assert_int_eq(sw_pins_load_json(&q, bad, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "pin 1"));
    json_decref(bad);
    ck_assert_int_eq(sw_pins_load_json(&q, json_object_get(NULL, "x"), &err), -1);
    sw_pins_free(&p);
    sw_pins_free(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_pins");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, set_get_replace_delete);
    tcase_add_test(tc, cap_and_expiry);
    tcase_add_test(tc, policies);
    tcase_add_test(tc, json_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
