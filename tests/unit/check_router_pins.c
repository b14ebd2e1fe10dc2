/* check_router_pins.c - the pin table: pins, idle expiry, session policies, persistence. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
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
    ck_assert(!sw_pins_changed(&p));                /* not tracked */
    sw_pins_track(&p, 1000);
    pin = sw_pins_set(&p, "a", "s1", "v2", SW_REASON_OVERRIDE, 200);
    ck_assert_str_eq(pin->version, "v2");
    ck_assert_int_eq(pin->created_ms, 100);
    ck_assert(sw_pins_changed(&p));
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

static int ttl_calls;

static int64_t ttl_by_agent(void *ud, const char *agent)
{
    (void)ud;
    ttl_calls++;
    return strcmp(agent, "short") == 0 ? 100 : strcmp(agent, "long") == 0 ? 10000 : 0;
}

START_TEST(expiry_goes_by_last_use_per_agent)
{
    sw_pins p;
    sw_pins_init(&p, 0);
    char key[16];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "s%d", i);
        sw_pins_set(&p, "short", key, "v1", SW_REASON_SPLIT, i);
        sw_pins_set(&p, "long", key, "v1", SW_REASON_SPLIT, i);
        sw_pins_set(&p, "never", key, "v1", SW_REASON_SPLIT, i);
    }
    /* The oldest pins of "short", used again, are kept; the rest of its first 40 go. */
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "s%d", i);
        sw_pins_touch(&p, sw_pins_get(&p, "short", key), 100);
    }
    ttl_calls = 0;
    ck_assert_uint_eq(sw_pins_expire(&p, 140, ttl_by_agent, NULL), 35); /* s5..s39 */
    ck_assert_int_eq(ttl_calls, 3); /* once per agent, not per pin */
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "s%d", i);
        ck_assert_msg((sw_pins_get(&p, "short", key) != NULL) == (i < 5 || i >= 40), "%s", key);
        ck_assert_ptr_nonnull(sw_pins_get(&p, "long", key));
    }
    json_t *sum = sw_pins_summary(&p, "short");
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "total")), 15);
    json_decref(sum);
    ck_assert_uint_eq(sw_pins_expire(&p, 1000000, ttl_by_agent, NULL), 65);
    ck_assert_uint_eq(sw_pins_count(&p), 50); /* "never" */
    sw_pins_free(&p);
}
END_TEST

/* The summary from running counts equals one counted from the pins themselves. */
static void check_summary(sw_pins *p, const char *agent)
{
    json_t *all = sw_pins_list(p, agent, 0), *pin;
    json_t *by = json_object();
    json_int_t terminated = 0;
    size_t i;
    json_array_foreach(all, i, pin)
    {
        if (json_is_true(json_object_get(pin, "terminated"))) {
            terminated++;
            continue;
        }
        const char *v = json_string_value(json_object_get(pin, "version"));
        json_t *c = json_object_get(by, v);
        json_object_set_new(by, v, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    json_t *want = json_pack("{s:I, s:o, s:I}", "total", (json_int_t)json_array_size(all),
                             "by_version", by, "terminated", terminated);
    json_t *got = sw_pins_summary(p, agent);
    char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
    ck_assert_str_eq(g, w);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
    json_decref(all);
}

/* Every pin as JSON text, sorted: the table and its copy compare equal when these do. */
static char *sorted_rows(const char *json_array_text)
{
    json_t *a = json_loads(json_array_text, 0, NULL), *pin;
    ck_assert_ptr_nonnull(a);
    size_t i, n = json_array_size(a);
    char **rows = calloc(n ? n : 1, sizeof *rows);
    json_array_foreach(a, i, pin) rows[i] = json_dumps(pin, JSON_SORT_KEYS | JSON_COMPACT);
    for (size_t x = 1; x < n; x++) /* insertion sort: a few hundred rows */
        for (size_t y = x; y > 0 && strcmp(rows[y - 1], rows[y]) > 0; y--) {
            char *t = rows[y];
            rows[y] = rows[y - 1];
            rows[y - 1] = t;
        }
    sw_buf b = {0};
    for (i = 0; i < n; i++) {
        sw_buf_puts(&b, rows[i]);
        sw_buf_puts(&b, "\n");
        free(rows[i]);
    }
    free(rows);
    json_decref(a);
    return sw_buf_steal(&b);
}

static void check_copy(sw_pins *p, sw_pin_rows *rows)
{
    sw_buf log = sw_pins_take_changes(p), mine = {0}, copy = {0};
    ck_assert(!sw_pins_changed(p));
    sw_err err = {{0}};
    ck_assert_int_eq(sw_pin_rows_apply(rows, log.data, log.len, &err), 0);
    sw_pins_dump(p, &mine);
    sw_pin_rows_dump(rows, &copy);
    char *a = sorted_rows(mine.data), *b = sorted_rows(copy.data);
    size_t at = 0;
    while (a[at] && a[at] == b[at])
        at++;
    ck_assert_msg(!a[at] && !b[at], "the copy differs at byte %zu: %.120s | %.120s", at, a + at,
                  b + at);
    ck_assert_uint_eq(sw_pin_rows_count(rows), sw_pins_count(p));
    free(a);
    free(b);
    sw_buf_free(&log);
    sw_buf_free(&mine);
    sw_buf_free(&copy);
}

START_TEST(change_log_keeps_a_copy_and_counts_in_step)
{
    sw_pins p;
    sw_pin_rows rows;
    sw_pins_init(&p, 0);
    sw_pins_track(&p, 0); /* every use logged: the copy must equal the table */
    sw_pin_rows_init(&rows);
    const char *agents[] = {"a", "b", "short"}, *versions[] = {"v1", "v2", "v3"};
    uint32_t x = 12345;
    char key[32];
    for (int step = 0; step < 2000; step++) {
        x = x * 1103515245u + 12345u;
        const char *agent = agents[(x >> 8) % 3];
        snprintf(key, sizeof key, "s%u", (x >> 12) % 60);
        int64_t now = step;
        switch ((x >> 20) % 8) {
        case 0:
        case 1:
        case 2:
            sw_pins_set(&p, agent, key, versions[(x >> 4) % 3], SW_REASON_SPLIT, now);
            break;
        case 3:
            sw_pins_del(&p, agent, key);
            break;
        case 4:
        case 5: {
            sw_pin *pin = sw_pins_get(&p, agent, key);
            if (pin)
                sw_pins_touch(&p, pin, now);
            break;
        }
        case 6:
            sw_pins_apply(&p, agent, versions[(x >> 4) % 3],
                          (sw_policy)((x >> 2) % 3 == 0   ? SW_POLICY_MIGRATE
                                      : (x >> 2) % 3 == 1 ? SW_POLICY_TERMINATE
                                                          : SW_POLICY_DRAIN),
                          "v1");
            break;
        default:
            sw_pins_expire(&p, now, ttl_by_agent, NULL);
        }
        /* A count gone wrong stays wrong: checking every few steps finds it. */
        for (size_t i = 0; step % 7 == 0 && i < 3; i++)
            check_summary(&p, agents[i]);
        if (step % 97 == 0)
            check_copy(&p, &rows);
    }
    check_copy(&p, &rows);
    /* A pin merely used is logged again only once touch_ms has passed. */
    sw_pins_track(&p, 1000);
    sw_pin *pin = sw_pins_set(&p, "a", "fresh", "v1", SW_REASON_SPLIT, 5000);
    check_copy(&p, &rows);
    sw_pins_touch(&p, pin, 5999);
    ck_assert(!sw_pins_changed(&p));
    sw_pins_touch(&p, pin, 6000);
    ck_assert(sw_pins_changed(&p));
    check_copy(&p, &rows);
    sw_pin_rows_free(&rows);
    sw_pins_free(&p);
}
END_TEST

START_TEST(change_log_cut_is_refused)
{
    sw_pins p;
    sw_pins_init(&p, 0);
    sw_pins_track(&p, 1000);
    sw_pins_set(&p, "a", "s1", "v1", SW_REASON_SPLIT, 1);
    sw_pins_set(&p, "a", "s2", "v1", SW_REASON_SPLIT, 1);
    sw_buf log = sw_pins_take_changes(&p);
    sw_pin_rows rows;
    sw_pin_rows_init(&rows);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_pin_rows_apply(&rows, log.data, log.len - 3, &err), -1);
    ck_assert_msg(strstr(err.msg, "is cut") != NULL, "%s", err.msg);
    ck_assert_int_eq(sw_pin_rows_apply(&rows, log.data, 2, &err), -1);
    sw_buf_free(&log);
    sw_pin_rows_free(&rows);
    sw_pins_free(&p);
}
END_TEST

START_TEST(load_orders_by_last_use)
{
    /* Saved in no particular order: loaded oldest first, so a sweep finds every idle pin. */
    json_t *arr = json_loads("[{\"agent\":\"short\",\"session\":\"new\",\"version\":\"v1\","
                             "\"reason\":\"split\",\"last_ms\":500,\"created_ms\":1},"
                             "{\"agent\":\"short\",\"session\":\"old\",\"version\":\"v1\","
                             "\"reason\":\"split\",\"last_ms\":10,\"created_ms\":1,"
                             "\"terminated\":true}]",
                             0, NULL);
    sw_pins p;
    sw_pins_init(&p, 0);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_pins_load_json(&p, arr, &err), 0);
    check_summary(&p, "short");
    ck_assert_uint_eq(sw_pins_expire(&p, 200, ttl_by_agent, NULL), 1);
    ck_assert_ptr_null(sw_pins_get(&p, "short", "old"));
    ck_assert_ptr_nonnull(sw_pins_get(&p, "short", "new"));
    json_decref(arr);
    sw_pins_free(&p);
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
    tcase_add_test(tc, expiry_goes_by_last_use_per_agent);
    tcase_add_test(tc, change_log_keeps_a_copy_and_counts_in_step);
    tcase_add_test(tc, change_log_cut_is_refused);
    tcase_add_test(tc, load_orders_by_last_use);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
