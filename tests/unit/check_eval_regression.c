/*
 * check_eval_regression.c - the candidate against the baseline: flips,
 * McNemar's exact p, the paired bootstrap interval and non-inferiority,
 * against values computed by hand (and, for the bootstrap, by an independent
 * reimplementation of the generator in Python).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "../../plugins/eval/common.c"
#include "../../plugins/eval/regression.c"

static void set(ev_pair *p, ev_outcome base, ev_outcome cand, double bs, double cs)
{
    p->done = 1;
    p->base = base;
    p->cand = cand;
    p->base_score = bs;
    p->cand_score = cs;
    p->base_hash = p->cand_hash = 7;
}

START_TEST(test_flips_and_mcnemar)
{
    ev_pair pairs[21] = {{0}};
    for (int i = 0; i < 10; i++)
        set(&pairs[i], EV_PASS, EV_FAIL, 1, 0); /* regressions */
    for (int i = 10; i < 12; i++)
        set(&pairs[i], EV_FAIL, EV_PASS, 0, 1); /* improvements */
    for (int i = 12; i < 18; i++)
        set(&pairs[i], EV_PASS, EV_PASS, 1, 1);
    pairs[12].cand_hash = 8; /* changed while both pass */
    pairs[15].cand_hash = 9;
    set(&pairs[18], EV_FAIL, EV_FAIL, 0, 0);
    set(&pairs[19], EV_PASS, EV_ERROR, 1, 0); /* left out: an ERROR */
    pairs[20].done = 0;                       /* left out: not run */
    ev_regression r;
    sw_err err;
    ck_assert_int_eq(ev_regression_compute(pairs, 21, 0.05, 0.95, 1000, 1, &r, &err), 0);
    ck_assert_uint_eq(r.paired, 19);
    ck_assert_uint_eq(r.excluded, 2);
    ck_assert_uint_eq(r.regressions, 10);
    ck_assert_uint_eq(r.improvements, 2);
    ck_assert_uint_eq(r.both_pass, 6);
    ck_assert_uint_eq(r.both_fail, 1);
    /* 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 */
    ck_assert_double_eq_tol(r.mcnemar_p, 0.03857421875, 1e-12);
    ck_assert_double_eq_tol(r.diff_mean, -8.0 / 19.0, 1e-12);
    ck_assert_double_eq_tol(r.ci_lo, -0.6842105263157895, 1e-12);
    ck_assert_double_eq_tol(r.ci_hi, -0.10526315789473684, 1e-12);
    ck_assert_int_eq(r.noninferior, 0);
    ck_assert_uint_eq(r.regressed[0], 0);
    ck_assert_uint_eq(r.regressed[9], 9);
    ck_assert_uint_eq(r.improved[1], 11);
    ck_assert_uint_eq(r.n_changed, 2);
    ck_assert_uint_eq(r.changed[0], 12);
    ck_assert_uint_eq(r.changed[1], 15);
    ev_regression_clear(&r);
}
END_TEST

START_TEST(test_noninferiority)
{
    /* Graded scores, no flips: the interval decides. */
    static const double d[] = {-0.5, 0.25, 0.0, 0.5, -0.25, 0.0, 0.0, 0.125};
    ev_pair pairs[8] = {{0}};
    for (int i = 0; i < 8; i++)
        set(&pairs[i], EV_PASS, EV_PASS, 0.5, 0.5 + d[i]);
    ev_regression r;
    sw_err err;
    ck_assert_int_eq(ev_regression_compute(pairs, 8, 0.2, 0.9, 2000, 7, &r, &err), 0);
    ck_assert_double_eq_tol(r.mcnemar_p, 1.0, 1e-12);
    ck_assert_double_eq_tol(r.diff_mean, 0.015625, 1e-12);
    ck_assert_double_eq_tol(r.ci_lo, -0.15625, 1e-12);
    ck_assert_double_eq_tol(r.ci_hi, 0.1875, 1e-12);
    ck_assert_int_eq(r.noninferior, 1); /* -0.15625 >= -0.2 */
    ev_regression_clear(&r);
    ck_assert_int_eq(ev_regression_compute(pairs, 8, 0.1, 0.9, 2000, 7, &r, &err), 0);
    ck_assert_int_eq(r.noninferior, 0); /* -0.15625 < -0.1 */
    ev_regression_clear(&r);
}
END_TEST

START_TEST(test_nothing_paired)
{
    ev_pair pairs[2] = {{0}};
    set(&pairs[0], EV_ERROR, EV_PASS, 0, 1);
    ev_regression r;
    sw_err err;
    ck_assert_int_eq(ev_regression_compute(pairs, 2, 0.05, 0.95, 100, 1, &r, &err), 0);
    ck_assert_uint_eq(r.paired, 0);
    ck_assert_uint_eq(r.excluded, 2);
    ck_assert_double_eq_tol(r.mcnemar_p, 1.0, 1e-12);
    ck_assert(isnan(r.diff_mean));
    ck_assert_int_eq(r.noninferior, 0); /* nothing shows it */
    ev_regression_clear(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_regression");
    TCase *tc = tcase_create("regression");
    tcase_add_test(tc, test_flips_and_mcnemar);
    tcase_add_test(tc, test_noninferiority);
    tcase_add_test(tc, test_nothing_paired);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
