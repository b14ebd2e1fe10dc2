/*
 * check_rollback_section.c - the rollback stage's section of the run report:
 * red with its summary and three timeline events when it rolled back, grey
 * when there was nothing to do, red with the message when it failed; and the
 * file written atomically where the core looks for it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/rollback/section.c"

static const char *value(json_t *sec, const char *label)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(sec, "summary"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "label")), label) == 0)
            return json_string_value(json_object_get(it, "value"));
    }
    return NULL;
}

static const char *event_label(json_t *sec, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(sec, "events"), i), "label"));
}

static json_int_t event_t(json_t *sec, size_t i)
{
    return json_integer_value(
        json_object_get(json_array_get(json_object_get(sec, "events"), i), "t"));
}

static const rb_section_in rolled = {.agent = "support-agent",
                                     .to = "aaa111",
                                     .candidate = "bbb222",
                                     .sessions = "migrate",
                                     .monitor = "watch",
                                     .reason = "tool_error_rate: candidate 0.5 vs baseline 0",
                                     .affected = 3,
                                     .detection_ms = 6599.4,
                                     .switch_ms = 12.2,
                                     .breach_to_zero_ms = 217,
                                     .breach_at = 1764150000000,
                                     .switched_at = 1764150000210,
                                     .cleared_at = 1764150000217,
                                     .ended_at = 1764150000217};

START_TEST(test_rolled_back)
{
    json_t *s = rb_section_json(&rolled);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "format")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(s, "title")), "Rollback");
    ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "fail");
    ck_assert_str_eq(value(s, "agent"), "support-agent");
    ck_assert_str_eq(value(s, "candidate"), "bbb222");
    ck_assert_str_eq(value(s, "rolled back to"), "aaa111");
    ck_assert_str_eq(value(s, "session policy"), "migrate");
    ck_assert_str_eq(value(s, "sessions migrated"), "3");
    ck_assert_str_eq(value(s, "detection time"), "6599 ms");
    ck_assert_str_eq(value(s, "switch time"), "12 ms");
    ck_assert_str_eq(value(s, "breach to 0% candidate"), "217 ms");
    ck_assert_uint_eq(json_array_size(json_object_get(s, "events")), 3);
    ck_assert_str_eq(event_label(s, 0), "breach detected by 'watch'");
    ck_assert_int_eq(event_t(s, 0), 1764150000000);
    ck_assert_str_eq(event_label(s, 1), "route switched to stable aaa111 (sessions migrate)");
    ck_assert_int_eq(event_t(s, 1), 1764150000210);
    ck_assert_str_eq(event_label(s, 2), "candidate channel cleared (bbb222)");
    ck_assert_int_eq(event_t(s, 2), 1764150000217);
    ck_assert_str_eq(json_string_value(json_object_get(s, "text")),
                     "Rolled back because: tool_error_rate: candidate 0.5 vs baseline 0");
    json_decref(s);

    /* Without a monitor: no breach on the timeline, the detection time unknown. */
    rb_section_in in = rolled;
    in.monitor = NULL;
    in.breach_at = 0;
    in.detection_ms = -1;
    in.cleared_at = 0; /* the store was left alone */
    s = rb_section_json(&in);
    ck_assert_str_eq(value(s, "detection time"), "unknown");
    ck_assert_ptr_null(value(s, "breach to 0% candidate"));
    ck_assert_uint_eq(json_array_size(json_object_get(s, "events")), 1);
    ck_assert_str_eq(event_label(s, 0), "route switched to stable aaa111 (sessions migrate)");
    json_decref(s);
}
END_TEST

START_TEST(test_nothing_to_do_and_failure)
{
    rb_section_in in = rolled;
    in.already = 1;
    in.affected = 0;
    in.breach_at = 0;
    in.switched_at = 0;
    in.cleared_at = 0;
    in.sessions = "drain";
    json_t *s = rb_section_json(&in);
    ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "info");
    ck_assert_str_eq(value(s, "sessions drained"), "0");
    ck_assert_uint_eq(json_array_size(json_object_get(s, "events")), 1);
    ck_assert_str_eq(event_label(s, 0), "rollback: nothing left to do");
    ck_assert_str_eq(json_string_value(json_object_get(s, "text")),
                     "support-agent already served only aaa111: nothing was left to roll back.");
    json_decref(s);

    in = rolled;
    in.error = "router: POST /admin/agents/support-agent/rollback: HTTP 503: down";
    in.to = NULL;
    s = rb_section_json(&in);
    ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "fail");
    ck_assert_str_eq(value(s, "rolled back to"), "unknown");
    ck_assert_uint_eq(json_array_size(json_object_get(s, "events")), 2);
    ck_assert_str_eq(event_label(s, 1),
                     "rollback failed: router: POST /admin/agents/support-agent/rollback: HTTP "
                     "503: down");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s, "text")), "HTTP 503"));
    json_decref(s);
}
END_TEST

START_TEST(test_written)
{
    char dir[] = "/tmp/check_rollback_section.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *path = sw_xasprintf("%s/report-section.json", dir);
    sw_err err;
    ck_assert_int_eq(rb_write_section(&rolled, path, &err), 0);
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(value(s, "rolled back to"), "aaa111");
    json_decref(s);
    unlink(path);
    free(path);
    ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left beside it */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rollback_section");
    TCase *tc = tcase_create("section");
    tcase_add_test(tc, test_rolled_back);
    tcase_add_test(tc, test_nothing_to_do_and_failure);
    tcase_add_test(tc, test_written);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
