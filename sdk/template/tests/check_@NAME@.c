/*
 * check_@NAME@ - the stage run in-process through Slipway's test harness:
 * parameters checked and bound as in a pipeline, the context seeded, outputs,
 * logs and reasons inspected. No pipeline file, no run folder.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <slipway/harness.h>

#ifndef PLUGIN_PATH
#error "PLUGIN_PATH must name the built @NAME@.so"
#endif

static sw_harness *harness(const char *with)
{
    sw_harness *h = sw_harness_new();
    ck_assert_msg(sw_harness_load(h, PLUGIN_PATH) == 0, "%s", sw_harness_error(h));
    ck_assert_msg(sw_harness_set_with(h, with) == 0, "%s", sw_harness_error(h));
    return h;
}

START_TEST(test_passes_with_defaults)
{
    sw_harness *h = harness("");
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    int passed = 0;
    double score = 0;
    ck_assert_int_eq(sw_harness_get_bool(h, "passed", &passed), 0);
    ck_assert_int_eq(passed, 1);
    ck_assert_int_eq(sw_harness_get_double(h, "score", &score), 0);
    ck_assert(score == 1.0);
    ck_assert_int_ge(sw_harness_log_find(h, "judging candidate"), 0);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_fails_below_threshold)
{
    sw_harness *h = harness("min_score: 0.9\nlabel: nightly");
    ck_assert_int_eq(sw_harness_set_double(h, "vars.score", 0.75), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_FAIL);
    ck_assert_str_eq(sw_harness_reason(h), "nightly failed: score 0.750 (min 0.900)");
    const char *message;
    ck_assert_int_eq(sw_harness_get_string(h, "message", &message), 0);
    ck_assert_str_eq(message, sw_harness_reason(h));
    sw_harness_free(h);
}
END_TEST

START_TEST(test_references_resolve)
{
    sw_harness *h = harness("label: \"build ${vars.build}\"");
    ck_assert_int_eq(sw_harness_set_int(h, "vars.build", 42), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    const char *message;
    ck_assert_int_eq(sw_harness_get_string(h, "message", &message), 0);
    ck_assert_ptr_nonnull(strstr(message, "build 42 passed"));
    sw_harness_free(h);
}
END_TEST

START_TEST(test_bad_parameters)
{
    sw_harness *h = harness("min_scor: 0.9");
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_ptr_nonnull(strstr(sw_harness_reason(h), "did you mean 'min_score'?"));
    sw_harness_free(h);

    h = harness("min_score: 2");
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "min_score must be within [0, 1], not 2");
    sw_harness_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("@NAME@");
    TCase *tc = tcase_create("stage");
    tcase_add_test(tc, test_passes_with_defaults);
    tcase_add_test(tc, test_fails_below_threshold);
    tcase_add_test(tc, test_references_resolve);
    tcase_add_test(tc, test_bad_parameters);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
