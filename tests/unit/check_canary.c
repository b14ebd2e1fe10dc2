/*
 * check_canary.c - the canary's decisions that need no router: how an answer of
 * approve_url is read, when the monitor's hold lets a step go on, how much its
 * extend_ms lengthens a hold, and the report section. The plugin's sources are
 * compiled in, as the stage is a plugin outside libslipway.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/canary/report.c"
#include "../../plugins/canary/steps.c"
#include "base/fsutil.h"

static sw_canary_approval read_answer(long status, const char *body, char **why)
{
    return sw_canary_approval_read(status, body, body ? strlen(body) : 0, why);
}

START_TEST(test_approval_answers)
{
    char *why = NULL;
    ck_assert_int_eq(read_answer(200, "{\"approved\": true}", &why), SW_CANARY_APPROVED);
    free(why);
    ck_assert_int_eq(read_answer(200, "{\"approved\": false, \"reason\": \"freeze week\"}", &why),
                     SW_CANARY_REJECTED);
    ck_assert_str_eq(why, "freeze week");
    free(why);
    ck_assert_int_eq(read_answer(200, "{\"approved\": false}", &why), SW_CANARY_REJECTED);
    ck_assert_str_eq(why, "rejected (no reason given)");
    free(why);
    ck_assert_int_eq(read_answer(403, "{\"reason\": \"not on call\"}", &why), SW_CANARY_REJECTED);
    ck_assert_str_eq(why, "not on call");
    free(why);
    ck_assert_int_eq(read_answer(403, "forbidden", &why), SW_CANARY_REJECTED);
    ck_assert_str_eq(why, "HTTP 403");
    free(why);
}
END_TEST

START_TEST(test_approval_waits_and_errors)
{
    char *why = NULL;
    long waits[] = {404, 408, 429, 500, 502, 503};
    for (size_t i = 0; i < sizeof waits / sizeof *waits; i++) {
        ck_assert_int_eq(read_answer(waits[i], "nope", &why), SW_CANARY_PENDING);
        char want[16];
        snprintf(want, sizeof want, "HTTP %ld", waits[i]);
        ck_assert_str_eq(why, want);
        free(why);
    }
    /* A 200 that is not the expected JSON is a mistake to report, not a wait. */
    ck_assert_int_eq(read_answer(200, "yes please", &why), SW_CANARY_BAD);
    ck_assert_ptr_nonnull(strstr(why, "read 'yes please'"));
    free(why);
    ck_assert_int_eq(read_answer(200, "{\"approved\": \"yes\"}", &why), SW_CANARY_BAD);
    ck_assert_ptr_nonnull(strstr(why, "boolean \"approved\""));
    free(why);
    ck_assert_int_eq(read_answer(200, "[true]", &why), SW_CANARY_BAD);
    free(why);
    ck_assert_int_eq(read_answer(200, NULL, &why), SW_CANARY_BAD);
    ck_assert_ptr_nonnull(strstr(why, "an empty body"));
    free(why);
    ck_assert_int_eq(read_answer(401, "{\"error\": \"token\"}", &why), SW_CANARY_BAD);
    ck_assert_ptr_nonnull(strstr(why, "unexpected HTTP 401"));
    free(why);
    /* What was read is quoted short and printable. */
    char body[300];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    body[3] = '\n';
    ck_assert_int_eq(read_answer(200, body, &why), SW_CANARY_BAD);
    ck_assert_ptr_nonnull(strstr(why, "'xxx.xxx"));
    ck_assert_ptr_nonnull(strstr(why, "'..."));
    ck_assert_uint_lt(strlen(why), 200);
    free(why);
}
END_TEST

START_TEST(test_hold_decisions)
{
    /* No signal yet, or false: go on. */
    ck_assert_int_eq(sw_canary_hold_decide(-1, 0, 1000), SW_CANARY_GO);
    ck_assert_int_eq(sw_canary_hold_decide(0, 5000, 1000), SW_CANARY_GO);
    /* Held: wait until hold_max, then give up. */
    ck_assert_int_eq(sw_canary_hold_decide(1, 0, 1000), SW_CANARY_WAIT);
    ck_assert_int_eq(sw_canary_hold_decide(1, 999, 1000), SW_CANARY_WAIT);
    ck_assert_int_eq(sw_canary_hold_decide(1, 1000, 1000), SW_CANARY_GIVE_UP);
    ck_assert_int_eq(sw_canary_hold_decide(1, 0, 0), SW_CANARY_GIVE_UP);
}
END_TEST

START_TEST(test_evidence_decisions)
{
    /* no signal, none (nothing guarded) and enough all go on; insufficient waits, then is
       inconclusive once the step's evidence_wait is over */
    ck_assert_int_eq(sw_canary_evidence_decide(NULL, 0, 1000), SW_CANARY_EVIDENCE_GO);
    ck_assert_int_eq(sw_canary_evidence_decide("none", 0, 1000), SW_CANARY_EVIDENCE_GO);
    ck_assert_int_eq(sw_canary_evidence_decide("enough", 5000, 1000), SW_CANARY_EVIDENCE_GO);
    ck_assert_int_eq(sw_canary_evidence_decide("insufficient", 999, 1000), SW_CANARY_EVIDENCE_WAIT);
    ck_assert_int_eq(sw_canary_evidence_decide("insufficient", 1000, 1000),
                     SW_CANARY_EVIDENCE_INCONCLUSIVE);
    sw_canary_on_inconclusive p;
    ck_assert_int_eq(sw_canary_on_inconclusive_parse("promote", &p), 0);
    ck_assert_int_eq(p, SW_CANARY_INCONCLUSIVE_PROMOTE);
    ck_assert_int_eq(sw_canary_on_inconclusive_parse("hold", &p), 0);
    ck_assert_int_eq(p, SW_CANARY_INCONCLUSIVE_HOLD);
    ck_assert_int_eq(sw_canary_on_inconclusive_parse("pass", &p), -1);
    /* a step's own evidence_wait; without one, the stage's (-1) */
    sw_canary_plan plan;
    sw_err e = {{0}};
    ck_assert_int_eq(sw_canary_plan_parse("[5, {\"weight\": 50, \"evidence_wait\": \"2m\"}]", 1000,
                                          0, &plan, &e),
                     0);
    ck_assert_int_eq(plan.steps[0].evidence_wait_ms, -1);
    ck_assert_int_eq(plan.steps[1].evidence_wait_ms, 120000);
    sw_canary_plan_free(&plan);
    ck_assert_int_eq(
        sw_canary_plan_parse("[{\"weight\": 5, \"evidence_wait\": true}]", 1000, 0, &plan, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "bad or unknown key 'evidence_wait'"));
}
END_TEST

START_TEST(test_extensions)
{
    ck_assert_int_eq(sw_canary_extension(-1, -1), 0);
    ck_assert_int_eq(sw_canary_extension(-1, 500), 500); /* absent at the start: from 0 */
    ck_assert_int_eq(sw_canary_extension(200, 700), 500);
    ck_assert_int_eq(sw_canary_extension(700, 700), 0);
    ck_assert_int_eq(sw_canary_extension(700, 200), 0); /* a monitor that started over */
    ck_assert_int_eq(sw_canary_extension(300, -1), 0);

    ck_assert_int_eq(sw_canary_hold_left(1000, 0, 0, 60000), 1000);
    ck_assert_int_eq(sw_canary_hold_left(1000, 400, 0, 60000), 600);
    ck_assert_int_eq(sw_canary_hold_left(1000, 1000, 0, 60000), 0);
    ck_assert_int_eq(sw_canary_hold_left(1000, 1000, 500, 60000), 500);
    ck_assert_int_eq(sw_canary_hold_left(1000, 1600, 500, 60000), 0);
    ck_assert_int_eq(sw_canary_hold_left(1000, 0, 5000, 2000), 3000); /* capped */
    ck_assert_int_eq(sw_canary_hold_left(1000, 0, -5, 2000), 1000);
}
END_TEST

static json_t *section(const sw_canary_report *r, const sw_canary_summary *s, int64_t now)
{
    json_t *j = sw_canary_report_json(r, s, now);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *summary_value(const json_t *j, const char *label)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(j, "summary"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "label")), label) == 0)
            return json_string_value(json_object_get(it, "value"));
    }
    return NULL;
}

START_TEST(test_report_section)
{
    sw_canary_report r;
    sw_canary_report_init(&r);
    sw_canary_report_weight(&r, 1000, 0, 0);
    sw_canary_report_event(&r, 1000, "info", "step %d/%d: %g%%, hold %d ms", 1, 2, 5.0, 400);
    sw_canary_report_weight(&r, 1000, 5, -1);
    sw_canary_report_weight(&r, 1500, 5, -1); /* no change: no point */
    sw_canary_report_weight(&r, 2000, 100, -1);
    sw_canary_report_mark(&r, 2500, "promoted");
    sw_canary_summary s = {.steps_done = 2,
                           .steps_total = 2,
                           .weight = 100,
                           .promoted = 1,
                           .sessions = 7,
                           .approval = "Lua condition + URL",
                           .status = "pass"};
    json_t *j = section(&r, &s, 3000);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "format")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "Canary");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "pass");
    ck_assert_str_eq(summary_value(j, "steps done"), "2 of 2");
    ck_assert_str_eq(summary_value(j, "final weight"), "100%");
    ck_assert_str_eq(summary_value(j, "promoted"), "yes");
    ck_assert_str_eq(summary_value(j, "sessions on candidate"), "7");
    ck_assert_str_eq(summary_value(j, "approval"), "Lua condition + URL");
    const json_t *ev = json_array_get(json_object_get(j, "events"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "t")), 1000);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "label")), "step 1/2: 5%, hold 400 ms");
    const json_t *chart = json_array_get(json_object_get(j, "charts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(chart, "kind")), "step");
    ck_assert_str_eq(json_string_value(json_object_get(chart, "x")), "time");
    const json_t *series = json_object_get(chart, "series");
    ck_assert_uint_eq(json_array_size(series), 1); /* no step used shadow */
    const json_t *pts = json_object_get(json_array_get(series, 0), "points");
    /* 0, 5, 100, and 100 carried to now. */
    ck_assert_uint_eq(json_array_size(pts), 4);
    ck_assert_double_eq(json_number_value(json_array_get(json_array_get(pts, 1), 1)), 5);
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(pts, 3), 0)), 3000);
    ck_assert_double_eq(json_number_value(json_array_get(json_array_get(pts, 3), 1)), 100);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(chart, "marks"), 0), "label")),
                     "promoted");
    ck_assert_ptr_null(json_object_get(j, "text"));
    json_decref(j);

    /* A shadow step adds the shadow series. */
    sw_canary_report_weight(&r, 2600, 100, 50);
    j = section(&r, &s, 3000);
    series = json_object_get(json_array_get(json_object_get(j, "charts"), 0), "series");
    ck_assert_uint_eq(json_array_size(series), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(series, 1), "name")),
                     "shadow");
    json_decref(j);
    sw_canary_report_free(&r);
}
END_TEST

START_TEST(test_report_bounds_and_write)
{
    sw_canary_report r;
    sw_canary_report_init(&r);
    for (int i = 0; i < SW_CANARY_REPORT_MAX_EVENTS + 5; i++)
        sw_canary_report_event(&r, i, "info", "e%d", i);
    sw_canary_summary s = {.steps_total = 3, .sessions = -1, .status = "fail", .text = "stopped"};
    json_t *j = section(&r, &s, 10);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "events")), SW_CANARY_REPORT_MAX_EVENTS);
    ck_assert_str_eq(summary_value(j, "sessions on candidate"), "unknown");
    ck_assert_str_eq(summary_value(j, "approval"), "none");
    const char *text = json_string_value(json_object_get(j, "text"));
    ck_assert_ptr_nonnull(strstr(text, "stopped 5 events or points were left out"));
    json_decref(j);

    char dir[] = "/tmp/check_canary.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sw_err e = {{0}};
    ck_assert_int_eq(sw_canary_report_write(&r, &s, dir, 10, &e), 0);
    ck_assert_int_eq(sw_canary_report_write(&r, &s, dir, 20, &e), 0); /* rewritten in place */
    char *path = sw_path_join(dir, "report-section.json");
    json_error_t je;
    j = json_load_file(path, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "fail");
    json_decref(j);
    unlink(path);
    free(path);
    ck_assert_int_eq(rmdir(dir), 0); /* nothing else (no temporary file) was left */
    /* A folder that does not exist: an error, not a crash. */
    ck_assert_int_eq(sw_canary_report_write(&r, &s, "/nonexistent/dir", 10, &e), -1);
    ck_assert_str_ne(e.msg, "");
    sw_canary_report_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("canary");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_approval_answers);
    tcase_add_test(tc, test_approval_waits_and_errors);
    tcase_add_test(tc, test_hold_decisions);
    tcase_add_test(tc, test_extensions);
    tcase_add_test(tc, test_evidence_decisions);
    tcase_add_test(tc, test_report_section);
    tcase_add_test(tc, test_report_bounds_and_write);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
