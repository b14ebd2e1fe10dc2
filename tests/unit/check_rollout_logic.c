/*
 * check_rollout_logic.c - the pure parts of the canary and monitor stages: the
 * canary's plan (steps, durations, where a resumed run starts) and the
 * monitor's judgement of one metric. The plugins' own sources are compiled in,
 * as the stages are plugins outside libslipway.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/canary/steps.c"
#include "../../plugins/monitor/evidence.c"
#include "../../plugins/monitor/judge.c"

START_TEST(test_durations)
{
    ck_assert_int_eq(sw_canary_duration("250ms"), 250);
    ck_assert_int_eq(sw_canary_duration("1.5s"), 1500);
    ck_assert_int_eq(sw_canary_duration("2m"), 120000);
    ck_assert_int_eq(sw_canary_duration("1h"), 3600000);
    ck_assert_int_eq(sw_canary_duration("3"), 3000);
    ck_assert_int_eq(sw_canary_duration("3d"), -1);
    ck_assert_int_eq(sw_canary_duration("-1s"), -1);
    ck_assert_int_eq(sw_canary_duration(""), -1);
}
END_TEST

START_TEST(test_plan_weights)
{
    sw_canary_plan p;
    sw_err e = {{0}};
    ck_assert_int_eq(sw_canary_plan_parse("[5, 25, 50, 100]", 30000, 0, &p, &e), 0);
    ck_assert_uint_eq(p.n, 4);
    ck_assert_double_eq(p.steps[1].weight, 25);
    ck_assert_int_eq(p.steps[3].hold_ms, 30000);
    ck_assert_double_eq(p.steps[0].shadow, -1);
    ck_assert_uint_eq(sw_canary_resume_index(&p, 0), 0);
    ck_assert_uint_eq(sw_canary_resume_index(&p, 25), 1); /* 25% held again */
    ck_assert_uint_eq(sw_canary_resume_index(&p, 30), 2);
    ck_assert_uint_eq(sw_canary_resume_index(&p, 100), 3);
    sw_canary_plan_free(&p);
}
END_TEST

START_TEST(test_plan_objects)
{
    sw_canary_plan p;
    sw_err e = {{0}};
    const char *j = "[{\"weight\": 0, \"shadow\": 100, \"hold\": \"2s\"},"
                    " {\"weight\": 0, \"rules\": [{\"header\": \"x-team\", \"op\": \"eq\","
                    " \"value\": \"a\", \"version\": \"v2\"}], \"hold\": 1},"
                    " {\"weight\": 10, \"min_sessions\": 20}, 100]";
    ck_assert_int_eq(sw_canary_plan_parse(j, 500, 3, &p, &e), 0);
    ck_assert_uint_eq(p.n, 4);
    ck_assert_double_eq(p.steps[0].shadow, 100);
    ck_assert_int_eq(p.steps[0].hold_ms, 2000);
    ck_assert_int_eq(p.steps[1].hold_ms, 1000);
    ck_assert_ptr_nonnull(strstr(p.steps[1].rules, "x-team"));
    ck_assert_int_eq(p.steps[2].min_sessions, 20);
    ck_assert_int_eq(p.steps[3].min_sessions, 3);
    ck_assert_int_eq(p.steps[2].hold_ms, 500);
    sw_canary_plan_free(&p);
}
END_TEST

START_TEST(test_plan_errors)
{
    sw_canary_plan p;
    sw_err e = {{0}};
    ck_assert_int_eq(sw_canary_plan_parse("[]", 1, 0, &p, &e), -1);
    ck_assert_int_eq(sw_canary_plan_parse("[50, 25]", 1, 0, &p, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "only ramps up"));
    ck_assert_int_eq(sw_canary_plan_parse("[5, 101]", 1, 0, &p, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "steps[1]"));
    ck_assert_int_eq(sw_canary_plan_parse("[{\"weigth\": 5}]", 1, 0, &p, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "'weigth'"));
    ck_assert_int_eq(sw_canary_plan_parse("[{\"weight\": 5, \"hold\": \"soon\"}]", 1, 0, &p, &e),
                     -1);
    ck_assert_int_eq(sw_canary_plan_parse("[\"x\"]", 1, 0, &p, &e), -1);
}
END_TEST

/* A stats version object as the router's /admin/stats gives it. */
static json_t *version(int requests, int errors_5xx, double p95)
{
    return json_pack("{s:i, s:{s:i, s:i, s:i, s:i}, s:{s:f, s:f, s:f}, s:f, s:i, s:i,"
                     " s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:{s:i, s:i}}",
                     "requests", requests, "errors", "5xx", errors_5xx, "timeout", 0, "connect", 0,
                     "stream_cut", 0, "latency_ms", "p50", p95 / 2, "p95", p95, "p99", p95 * 1.5,
                     "cost", 0.5, "tokens_in", 100, "tokens_out", 100, "events", "tool_calls_error",
                     0, "tool_calls_ok", 0, "tasks_failed", 0, "tasks_completed", 0,
                     "feedback_negative", 0, "feedback_positive", 0, "shadow", "compared", 0,
                     "different", 0);
}

static sw_metric_rule rule(const char *m)
{
    return (sw_metric_rule){
        .metric = m, .max = NAN, .max_increase = NAN, .max_relative_increase = NAN};
}

START_TEST(test_judge_rates)
{
    /* One look, at 0.05: the planned looks spend all but the tail (sequential.h). */
    sw_judge_opts o = {.alpha = 0.05 / (1 - SW_SPEND_TAIL),
                       .spending = SW_SPEND_BONFERRONI,
                       .look = 1,
                       .max_looks = 1,
                       .min_samples = 30};
    sw_metric_rule r = rule("error_rate");
    json_t *snap;
    char *why;
    /* 30/100 vs 1/100: every expected cell is at least 5, so the z test */
    json_t *c = version(100, 30, 100), *b = version(100, 1, 100);
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "error_rate"));
    ck_assert_ptr_nonnull(strstr(why, "candidate 0.3 (30/100)"));
    ck_assert_ptr_nonnull(strstr(why, "baseline 0.01 (1/100)"));
    ck_assert_ptr_nonnull(strstr(why, "two-proportion z test"));
    ck_assert_ptr_nonnull(strstr(why, "alpha 0.05"));
    ck_assert_ptr_nonnull(strstr(why, "max_increase 0"));
    ck_assert_str_eq(json_string_value(json_object_get(snap, "verdict")), "fail");
    json_decref(snap);
    free(why);
    json_decref(c);
    json_decref(b);
    /* small counts: Fisher's exact test, 8/40 vs 0/40: P(X >= 8) = C(40,8)/C(80,8) */
    c = version(40, 8, 100);
    b = version(40, 0, 100);
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "Fisher's exact test"));
    double p = json_real_value(json_object_get(snap, "p"));
    double want = exp(lgamma(41) - lgamma(9) - lgamma(33) - (lgamma(81) - lgamma(9) - lgamma(73)));
    ck_assert_double_eq_tol(p, want, 1e-12);
    json_decref(snap);
    free(why);
    /* the same counts with an allowed increase of 0.25: pass */
    r.max_increase = 0.25;
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_PASS);
    json_decref(snap);
    free(why);
    json_decref(c);
    json_decref(b);
    /* too few samples: inconclusive */
    r = rule("error_rate");
    c = version(10, 9, 100);
    b = version(100, 0, 100);
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_INCONCLUSIVE);
    ck_assert_ptr_nonnull(strstr(why, "too few samples"));
    json_decref(snap);
    free(why);
    json_decref(c);
    json_decref(b);
    /* equal rates pass; a better candidate passes */
    c = version(200, 2, 100);
    b = version(200, 10, 100);
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_PASS);
    json_decref(snap);
    free(why);
    json_decref(c);
    json_decref(b);
}
END_TEST

START_TEST(test_judge_spending)
{
    /* 12/200 vs 4/200: one-sided z p ~ 0.0217: fails at 0.05 in one look, but is only
       inconclusive on the first of 10 O'Brien-Fleming looks (level ~ 1e-10). */
    sw_metric_rule r = rule("error_rate");
    json_t *c = version(200, 12, 100), *b = version(200, 4, 100), *snap;
    char *why;
    sw_judge_opts o = {.alpha = 0.05,
                       .spending = SW_SPEND_BONFERRONI,
                       .look = 1,
                       .max_looks = 1,
                       .min_samples = 30};
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_FAIL);
    json_decref(snap);
    free(why);
    o.spending = SW_SPEND_OBRIEN_FLEMING;
    o.max_looks = 10;
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_INCONCLUSIVE);
    ck_assert_ptr_nonnull(strstr(why, "not below this look's alpha"));
    json_decref(snap);
    free(why);
    json_decref(c);
    json_decref(b);
}
END_TEST

START_TEST(test_judge_latency_and_max)
{
    sw_judge_opts o = {.alpha = 0.05,
                       .spending = SW_SPEND_BONFERRONI,
                       .look = 1,
                       .max_looks = 1,
                       .min_samples = 30};
    sw_metric_rule r = rule("latency_p95");
    json_t *c = version(100, 0, 130), *b = version(100, 0, 100), *snap;
    char *why;
    /* +30% over the default allowed +20% */
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "+30.0%"));
    ck_assert_ptr_nonnull(strstr(why, "max_relative_increase +20.0%"));
    json_decref(snap);
    free(why);
    r.max_relative_increase = 0.5;
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_PASS);
    json_decref(snap);
    free(why);
    /* an absolute max fails whatever the baseline */
    r = rule("error_rate");
    r.max = 0.05;
    json_decref(c);
    c = version(100, 6, 100);
    json_decref(b);
    b = version(100, 6, 100);
    ck_assert_int_eq(sw_judge_metric(&r, c, b, &o, &snap, &why), SW_VERDICT_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "threshold max 0.05"));
    json_decref(snap);
    free(why);
    json_decref(c);
    json_decref(b);
}
END_TEST

START_TEST(test_rules_parse)
{
    sw_metric_rule *rules;
    size_t n;
    char *err = NULL;
    ck_assert_int_eq(
        sw_monitor_rules_parse("[\"error_rate\", \"latency_p95\"]",
                               "{\"latency_p95\": {\"max_relative_increase\": 0.5,"
                               " \"dry_run\": true}, \"tool_error_rate\": {\"max\": 0.1}}",
                               &rules, &n, &err),
        0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(rules[1].metric, "latency_p95");
    ck_assert_int_eq(rules[1].dry_run, 1);
    ck_assert_double_eq(rules[1].max_relative_increase, 0.5);
    ck_assert_str_eq(rules[2].metric, "tool_error_rate");
    ck_assert_double_eq(rules[2].max, 0.1);
    sw_monitor_rules_free(rules, n);
    ck_assert_int_eq(sw_monitor_rules_parse("[\"eror_rate\"]", "{}", &rules, &n, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "eror_rate"));
    free(err);
    ck_assert_int_eq(
        sw_monitor_rules_parse("[]", "{\"error_rate\": {\"maximum\": 1}}", &rules, &n, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'maximum'"));
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rollout_logic");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_plan_weights);
    tcase_add_test(tc, test_plan_objects);
    tcase_add_test(tc, test_plan_errors);
    tcase_add_test(tc, test_judge_rates);
    tcase_add_test(tc, test_judge_spending);
    tcase_add_test(tc, test_judge_latency_and_max);
    tcase_add_test(tc, test_rules_parse);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
