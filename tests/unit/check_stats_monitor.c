/* check_stats_monitor.c - the monitor's statistics against hand-computed values. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "stats/power.h"
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
    /* The planned looks spend 90% of alpha in the plan's shape. */
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 2, 4), 0.9 * 0.0054860,
                            1e-7);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 3, 4), 0.9 * 0.0180505,
                            1e-7);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 4, 4), 0.9 * 0.0263749,
                            1e-7);
    double sum = 0;
    for (int k = 1; k <= 10; k++)
        sum += sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, k, 10);
    ck_assert_double_eq_tol(sum, 0.05 * (1 - SW_SPEND_TAIL), 1e-12);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_BONFERRONI, 0.05, 3, 10), 0.0045, 1e-15);
    /* Past the plan: the tail, 0.005, over 1/(j(j+1)); never 0, never more than alpha. */
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_BONFERRONI, 0.05, 11, 10), 0.0025, 1e-15);
    ck_assert_double_eq_tol(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 12, 10), 0.005 / 6, 1e-15);
    const sw_spending both[] = {SW_SPEND_BONFERRONI, SW_SPEND_OBRIEN_FLEMING};
    for (int i = 0; i < 2; i++) {
        double all = 0;
        for (int k = 1; k <= 100000; k++) {
            double a = sw_look_alpha(both[i], 0.05, k, 60);
            ck_assert_msg(a > 0, "look %d tests at %g", k, a);
            all += a;
        }
        ck_assert_msg(all <= 0.05 && all > 0.05 - 1e-7, "%s: %.12f spent over 100,000 looks",
                      sw_spending_name(both[i]), all);
    }
    ck_assert_double_eq(sw_look_alpha(SW_SPEND_OBRIEN_FLEMING, 0.05, 0, 10), 0);
}
END_TEST

/* Sample sizes against the textbook: Fleiss' formula as R's power.prop.test, and the
   two-sample z test's 2 ((z_a + z_b) sigma / delta)^2. */
START_TEST(test_power)
{
    /* 2% vs 5%, 0.05 two-sided (0.025 one-sided), 80%: 587.9 per arm; one-sided 0.05: 463.0 */
    ck_assert_double_eq(sw_power_two_prop_n(0.02, 0.03, 0, 0.025, 0.8), 588);
    ck_assert_double_eq(sw_power_two_prop_n(0.02, 0.03, 0, 0.05, 0.8), 463);
    ck_assert(sw_power_two_prop(0.02, 0.03, 0, 588, 588, 0.025) >= 0.8);
    ck_assert(sw_power_two_prop(0.02, 0.03, 0, 587, 587, 0.025) < 0.8);
    /* the detectable effect at 588 per arm is the 3 points the size was computed for */
    double mde = sw_power_two_prop_mde(0.02, 0, 588, 588, 0.025, 0.8);
    ck_assert(mde > 0.0299 && mde <= 0.03);
    ck_assert_double_eq_tol(sw_power_two_prop(0.02, mde, 0, 588, 588, 0.025), 0.8, 1e-9);
    /* fewer samples, a larger detectable effect; more, smaller */
    ck_assert(sw_power_two_prop_mde(0.02, 0, 100, 100, 0.025, 0.8) > 0.05);
    ck_assert(sw_power_two_prop_mde(0.02, 0, 10000, 10000, 0.025, 0.8) < 0.01);
    /* a large baseline arm lowers what the candidate needs: with the baseline known
       exactly, (1.96 sqrt(0.02 0.98) + 0.8416 sqrt(0.05 0.95))^2 / 0.03^2 = 232.9 */
    double given = sw_power_two_prop_n_given(0.02, 0.03, 0, 1e7, 0.025, 0.8);
    ck_assert_double_eq(given, 233);
    ck_assert(sw_power_two_prop(0.02, 0.03, 0, 1e7, given, 0.025) >= 0.8);
    ck_assert(sw_power_two_prop(0.02, 0.03, 0, 1e7, given - 1, 0.025) < 0.8);
    /* ten baseline samples are too few for any number of candidate samples */
    ck_assert(isinf(sw_power_two_prop_n_given(0.02, 0.03, 0, 10, 0.025, 0.8)));
    /* no effect, a rate past 1, an empty arm */
    ck_assert(isinf(sw_power_two_prop_n(0.02, 0, 0, 0.025, 0.8)));
    ck_assert(isinf(sw_power_two_prop_n(0.99, 0.03, 0, 0.025, 0.8)));
    ck_assert_double_eq(sw_power_two_prop(0.02, 0.03, 0, 0, 100, 0.025), 0);
    ck_assert(sw_power_two_prop_mde(0.02, 0, 5, 5, 0.025, 0.8) > 0.3);
    ck_assert(isinf(sw_power_two_prop_mde(0.02, 0, 0, 5, 0.025, 0.8)));
    /* a margin (max_increase) the observed difference must also clear: one point is under
       the z test's own bar at 588 (1.96 x 1.07 points), two and a half points are not */
    ck_assert_double_eq(sw_power_two_prop_n(0.02, 0.03, 0.01, 0.025, 0.8), 588);
    ck_assert(sw_power_two_prop_n(0.02, 0.03, 0.025, 0.025, 0.8) > 588);
    ck_assert(isinf(sw_power_two_prop_n(0.02, 0.03, 0.03, 0.025, 0.8)));
    ck_assert(sw_power_two_prop_mde(0.02, 0.025, 588, 588, 0.025, 0.8) > 0.03);

    /* sigma 1, delta 0.5, 0.025 one-sided, 80%: 62.79 per arm */
    ck_assert_double_eq(sw_power_shift_n(0.5, 0, 1, 0.025, 0.8), 63);
    ck_assert_double_eq_tol(sw_power_shift(0.5, 0, 1, 62.79104, 62.79104, 0.025), 0.8, 1e-6);
    ck_assert_double_eq_tol(sw_power_shift_mde(0, 1, 63, 63, 0.025, 0.8),
                            2.8015852 * sqrt(2.0 / 63), 1e-6);
    /* a margin counts against the effect: 0.5 over a margin of 0.25 is 0.25 to see */
    ck_assert_double_eq(sw_power_shift_n(0.5, 0.25, 1, 0.025, 0.8),
                        sw_power_shift_n(0.25, 0, 1, 0.025, 0.8));
    ck_assert(isinf(sw_power_shift_n(0.2, 0.2, 1, 0.025, 0.8)));
    /* 1000 baseline samples: (0.5 / 2.8016)^2 - 1/1000 = 1 / 32.4 */
    ck_assert_double_eq(sw_power_shift_n_given(0.5, 0, 1, 1000, 0.025, 0.8), 33);
    ck_assert(isinf(sw_power_shift_n_given(0.5, 0, 1, 20, 0.025, 0.8)));
    /* power at the detectable effect is the power asked for */
    double d = sw_power_shift_mde(0.1, 2, 40, 400, 0.01, 0.9);
    ck_assert_double_eq_tol(sw_power_shift(d, 0.1, 2, 40, 400, 0.01), 0.9, 1e-9);
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
    tcase_add_test(tc, test_power);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
