/* check_stats_monitor.c - the monitor's statistics against hand-computed values. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "stats/proptest.h"
#include "stats/ranktest.h"
#include "stats/sequential.h"

START_TEST(test_two_prop_z)
{
    double z;
    /* pooled 0.15: z = 0.1 / sqrt(0.15 * 0.85 * 0.02) */
    double p = sw_two_prop_z(10, 100, 20, 100, &z);
    ck_assert_double_eq_tol(z, 1.980295, 1e-6);
    ck_assert_double_eq_tol(p, 0.047670, 1e-6);
    /* the sign follows the candidate */
    sw_two_prop_z(20, 100, 10, 100, &z);
    ck_assert_double_eq_tol(z, -1.980295, 1e-6);
    /* undefined cases: p = 1 */
    ck_assert_double_eq(sw_two_prop_z(0, 0, 1, 10, &z), 1);
    ck_assert_double_eq(sw_two_prop_z(0, 50, 0, 50, &z), 1);
    ck_assert_double_eq(z, 0);
    ck_assert_double_eq(sw_two_prop_z(5, 5, 7, 7, &z), 1);
    /* far in the tail the p-value stays positive (no 1 - Phi(z) cancellation): z = 10 */
    ck_assert_double_eq_tol(sw_normal_cdf(-10), 7.6198530241605e-24, 1e-35);
    p = sw_two_prop_z(0, 1000, 100, 1000, &z);
    ck_assert(p > 0 && p < 1e-20);
}
END_TEST

START_TEST(test_fisher)
{
    double g;
    /* 9/10 vs 3/14 */
    ck_assert_double_eq_tol(sw_fisher_exact(9, 10, 3, 14, &g), 0.0027595, 1e-7);
    /* 1/10 vs 8/10: P(X >= 8) = (C(10,8) C(10,1) + C(10,9) C(10,0)) / C(20,9) = 460 / 167960,
       and the table is symmetric, so two-sided is twice that. */
    double two = sw_fisher_exact(1, 10, 8, 10, &g);
    ck_assert_double_eq_tol(g, 460.0 / 167960.0, 1e-12);
    ck_assert_double_eq_tol(two, 920.0 / 167960.0, 1e-12);
    /* equal tables: 1 */
    ck_assert_double_eq_tol(sw_fisher_exact(3, 10, 3, 10, &g), 1.0, 1e-12);
    /* nothing at all */
    ck_assert_double_eq(sw_fisher_exact(0, 0, 0, 0, &g), 1);
    ck_assert_double_eq(g, 1);
    /* no successes anywhere: the only table */
    ck_assert_double_eq_tol(sw_fisher_exact(0, 10, 0, 10, NULL), 1.0, 1e-12);
}
END_TEST

START_TEST(test_mann_whitney)
{
    const double a[] = {1, 2, 3, 4}, b[] = {3, 5, 6, 7};
    sw_mwu_result r;
    ck_assert_int_eq(sw_mann_whitney(a, 4, b, 4, &r), 0);
    /* ranks 1 2 3.5 3.5 5 6 7 8: R_b = 24.5, U = 24.5 - 10; var = 16/12 (9 - 6/56) */
    ck_assert_double_eq_tol(r.u, 14.5, 1e-12);
    ck_assert_double_eq_tol(r.z, 1.742454, 1e-6);
    ck_assert_double_eq_tol(r.p, 0.081429, 1e-6);
    ck_assert_double_eq_tol(r.p_greater, 0.040715, 1e-6);
    /* swapped: the same p, negative z */
    ck_assert_int_eq(sw_mann_whitney(b, 4, a, 4, &r), 0);
    ck_assert_double_eq_tol(r.u, 1.5, 1e-12);
    ck_assert_double_eq_tol(r.z, -1.742454, 1e-6);
    ck_assert_double_eq_tol(r.p, 0.081429, 1e-6);
    ck_assert(r.p_greater > 0.9);
    /* every value tied, or an empty sample: no test */
    const double c[] = {5, 5, 5};
    ck_assert_int_eq(sw_mann_whitney(c, 3, c, 3, &r), -1);
    ck_assert_double_eq(r.p, 1);
    ck_assert_int_eq(sw_mann_whitney(a, 0, b, 4, &r), -1);
}
END_TEST

START_TEST(test_hodges_lehmann)
{
    const double a[] = {1, 2, 3, 4}, b[] = {3, 5, 6, 7};
    double s, lo, hi;
    ck_assert_int_eq(sw_hodges_lehmann(a, 4, b, 4, 0.95, &s, &lo, &hi), 0);
    /* 16 differences: -1 0 1 1 2 2 2 3 3 3 4 4 4 5 5 6; k = floor(8 - 1.96 sqrt(12)) = 1 */
    ck_assert_double_eq(s, 3);
    ck_assert_double_eq(lo, -1);
    ck_assert_double_eq(hi, 6);
    /* a pure shift of 10 on 30 points: estimate 10, interval around it */
    double x[30], y[30];
    for (int i = 0; i < 30; i++) {
        x[i] = i * 1.5;
        y[i] = i * 1.5 + 10;
    }
    ck_assert_int_eq(sw_hodges_lehmann(x, 30, y, 30, 0.95, &s, &lo, &hi), 0);
    ck_assert_double_eq_tol(s, 10, 1e-12);
    ck_assert(lo < 10 && hi > 10 && lo > 0);
    ck_assert_int_eq(sw_hodges_lehmann(x, 0, y, 30, 0.95, &s, &lo, &hi), -1);
}
END_TEST

START_TEST(test_spending)
{
    sw_spending sp;
    ck_assert_int_eq(sw_spending_parse("obrien-fleming", &sp), 0);
    ck_assert_int_eq(sp, SW_SPEND_OBRIEN_FLEMING);
    ck_assert_int_eq(sw_spending_parse("pocock", &sp), -1);
    /* alpha(t) = 2 - 2 Phi(1.959964 / sqrt(t)) */
    ck_assert_double_eq_tol(sw_alpha_spent(SW_SPEND_OBRIEN_FLEMING, 0.05, 0.25), 8.857544e-5,
                            1e-10);
    ck_assert_double_eq_tol(sw_alpha_spent(SW_SPEND_OBRIEN_FLEMING, 0.05, 0.5), 0.0055746, 1e-7);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 2, 4), 0.0054860, 1e-7);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 3, 4), 0.0180505, 1e-7);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 4, 4), 0.0263749, 1e-7);
    double sum = 0;
    for (int k = 1; k <= 10; k++)
        sum += sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, k, 10);
    ck_assert_double_eq_tol(sum, 0.05, 1e-12);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_BONFERRONI, 0.05, 3, 10), 0.005, 1e-15);
    ck_assert_double_eq(sw_look_alpha(SW_SPEND_BONFERRONI, 0.05, 11, 10), 0);
    ck_assert_double_eq(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 0, 10), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats_monitor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_two_prop_z);
    tcase_add_test(tc, test_fisher);
    tcase_add_test(tc, test_mann_whitney);
    tcase_add_test(tc, test_hodges_lehmann);
    tcase_add_test(tc, test_spending);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
