/*
 * check_stats.c - statistics against hand-computed values.
 *
 * Expected values were computed independently (exact binomial sums with
 * integer arithmetic, and a reimplementation of the generator and the
 * bootstrap in Python) and are hard-coded here.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/binom.h"
#include "stats/bootstrap.h"
#include "stats/quantile.h"
#include "stats/rng.h"

#define TOL 1e-12

START_TEST(test_rng_sequence)
{
    sw_rng r;
    sw_rng_seed(&r, 1);
    ck_assert_uint_eq(sw_rng_next(&r), 0xb3f2af6d0fc710c5ULL);
    ck_assert_uint_eq(sw_rng_next(&r), 0x853b559647364ceaULL);
    ck_assert_uint_eq(sw_rng_next(&r), 0x92f89756082a4514ULL);
    static const uint64_t want[] = {0, 3, 6, 9, 9, 7, 7, 8, 7, 5};
    sw_rng_seed(&r, 42);
    for (size_t i = 0; i < 10; i++)
        ck_assert_uint_eq(sw_rng_below(&r, 10), want[i]);
    sw_rng_seed(&r, 9);
    for (int i = 0; i < 1000; i++) {
        double u = sw_rng_uniform(&r);
        ck_assert(u >= 0 && u < 1);
    }
}
END_TEST

START_TEST(test_mcnemar_known_tables)
{
    /* 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 * 79 / 4096 */
    ck_assert_double_eq_tol(sw_mcnemar_exact(10, 2), 0.03857421875, TOL);
    ck_assert_double_eq_tol(sw_mcnemar_exact(2, 10), 0.03857421875, TOL);
    /* Up to 60 discordant pairs the sum is exact, to the bit. */
    ck_assert(sw_mcnemar_exact(10, 2) == 0.03857421875);
    ck_assert(sw_mcnemar_exact(30, 30) == 1.0);
    ck_assert_double_eq_tol(sw_mcnemar_exact(0, 0), 1.0, TOL);
    ck_assert_double_eq_tol(sw_mcnemar_exact(5, 5), 1.0, TOL);
    ck_assert_double_eq_tol(sw_mcnemar_exact(1, 0), 1.0, TOL);
    /* 2 / 2^7 */
    ck_assert_double_eq_tol(sw_mcnemar_exact(0, 7), 0.015625, TOL);
    /* 2 * (1 + 15 + 105 + 455) / 2^15 */
    ck_assert_double_eq_tol(sw_mcnemar_exact(3, 12), 0.03515625, TOL);
    ck_assert_double_eq_tol(sw_mcnemar_exact(25, 10), 0.01667384780012071, 1e-10);
    ck_assert_double_eq_tol(sw_mcnemar_exact(100, 80), 0.1565314695781511, 1e-10);
    /* Large counts stay finite and exact to double precision. */
    ck_assert_double_eq_tol(sw_mcnemar_exact(2000, 2100), 0.12206497999113813, 1e-9);
}
END_TEST

START_TEST(test_binom_cdf)
{
    ck_assert_double_eq_tol(sw_binom_cdf(3, 10, 0.3), 0.6496107183999996, 1e-12);
    ck_assert_double_eq_tol(sw_binom_cdf(0, 5, 0.5), 0.03125, TOL);
    ck_assert_double_eq_tol(sw_binom_cdf(5, 5, 0.5), 1.0, TOL);
    ck_assert_double_eq_tol(sw_binom_cdf(2, 5, 0.0), 1.0, TOL);
    ck_assert_double_eq_tol(sw_binom_cdf(2, 5, 1.0), 0.0, TOL);
}
END_TEST

START_TEST(test_normal_quantile_and_wilson)
{
    ck_assert_double_eq_tol(sw_normal_quantile(0.975), 1.9599639845400536, 1e-9);
    ck_assert_double_eq_tol(sw_normal_quantile(0.01), -2.3263478740408408, 1e-9);
    ck_assert_double_eq_tol(sw_normal_quantile(0.999), 3.090232306167813, 1e-9);
    ck_assert_double_eq_tol(sw_normal_quantile(0.5), 0.0, 1e-12);
    ck_assert(isnan(sw_normal_quantile(0)));
    ck_assert(isnan(sw_normal_quantile(1.5)));
    double lo, hi;
    sw_wilson_interval(8, 10, 0.95, &lo, &hi);
    ck_assert_double_eq_tol(lo, 0.49016247153664183, 1e-9);
    ck_assert_double_eq_tol(hi, 0.9433178485456247, 1e-9);
    sw_wilson_interval(0, 20, 0.95, &lo, &hi);
    ck_assert_double_eq_tol(lo, 0.0, 1e-9);
    ck_assert_double_eq_tol(hi, 0.1611251580528193, 1e-9);
    sw_wilson_interval(0, 0, 0.95, &lo, &hi);
    ck_assert_double_eq_tol(lo, 0.0, TOL);
    ck_assert_double_eq_tol(hi, 1.0, TOL);
}
END_TEST

START_TEST(test_quantiles_linear)
{
    double a[] = {4, 1, 3, 2};
    ck_assert_double_eq_tol(sw_quantile(a, 4, 0.5), 2.5, TOL);
    ck_assert_double_eq_tol(a[0], 4, TOL); /* sw_quantile leaves its input alone */
    double h[100];
    for (int i = 0; i < 100; i++)
        h[i] = 100 - i;
    ck_assert_double_eq_tol(sw_quantile(h, 100, 0.95), 95.05, 1e-9);
    ck_assert_double_eq_tol(sw_quantile(h, 100, 0.5), 50.5, 1e-9);
    double t[] = {10, 20, 30};
    ck_assert_double_eq_tol(sw_quantile_sorted(t, 3, 0.95), 29.0, 1e-9);
    ck_assert_double_eq_tol(sw_quantile_sorted(t, 3, 0.0), 10.0, TOL);
    ck_assert_double_eq_tol(sw_quantile_sorted(t, 3, 1.0), 30.0, TOL);
    double one[] = {5};
    ck_assert_double_eq_tol(sw_quantile_sorted(one, 1, 0.95), 5.0, TOL);
    double f[] = {3.0, 1.0, 2.0, 10.0, 7.0};
    ck_assert_double_eq_tol(sw_quantile(f, 5, 0.9), 8.8, 1e-9);
    ck_assert(isnan(sw_quantile(NULL, 0, 0.5)));
    ck_assert(isnan(sw_mean(NULL, 0)));
    ck_assert_double_eq_tol(sw_mean(t, 3), 20.0, TOL);
}
END_TEST

/* Selection gives exactly what sorting gives, on random, sorted, reversed and
   constant inputs (with ties), for the quantiles the eval takes. */
START_TEST(test_quantile_select)
{
    static const double qs[] = {0, 0.05, 0.5, 0.9, 0.95, 0.99, 1};
    sw_rng r;
    sw_rng_seed(&r, 99);
    for (size_t n = 1; n <= 60; n++) {
        for (int shape = 0; shape < 4; shape++) {
            double v[60], sorted[60], work[60];
            for (size_t i = 0; i < n; i++)
                v[i] = shape == 0   ? (double)sw_rng_below(&r, 10) /* ties */
                       : shape == 1 ? (double)i
                       : shape == 2 ? (double)(n - i)
                                    : 7.0;
            memcpy(sorted, v, n * sizeof *v);
            sw_sort_doubles(sorted, n);
            for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
                memcpy(work, v, n * sizeof *v);
                double got = sw_quantile_select(work, n, qs[k]);
                double want = sw_quantile_sorted(sorted, n, qs[k]);
                ck_assert_msg(got == want, "n %zu shape %d q %g: %g, want %g", n, shape, qs[k], got,
                              want);
            }
        }
    }
    ck_assert(isnan(sw_quantile_select(NULL, 0, 0.5)));
}
END_TEST

static double p95_of(double *v, size_t n, const void *arg)
{
    (void)arg;
    return sw_quantile_select(v, n, 0.95);
}

/* The ratio interval: exact when every pair has the same ratio, whatever is
   drawn; pairs stay together; seeded; +infinity when the baseline's
   statistic can be 0. */
START_TEST(test_bootstrap_ratio)
{
    double a[12], b[12];
    for (int i = 0; i < 12; i++) {
        b[i] = 10 + i * 3;
        a[i] = 3 * b[i];
    }
    double lo, hi, lo2, hi2;
    sw_err err;
    ck_assert_int_eq(sw_bootstrap_ratio_ci(a, b, 12, 1, p95_of, NULL, 500, 0.95, 1, &lo, &hi, &err),
                     0);
    ck_assert_double_eq_tol(lo, 3, 1e-12);
    ck_assert_double_eq_tol(hi, 3, 1e-12);
    /* Groups of 3 samples: 4 cases, still a constant ratio. */
    ck_assert_int_eq(sw_bootstrap_ratio_ci(a, b, 4, 3, p95_of, NULL, 500, 0.95, 1, &lo, &hi, &err),
                     0);
    ck_assert_double_eq_tol(lo, 3, 1e-12);
    ck_assert_double_eq_tol(hi, 3, 1e-12);
    /* The same values on both sides, shuffled against each other: pairs do not
       stay together, so the ratio spreads around 1 and the interval holds it. */
    double c[12];
    for (int i = 0; i < 12; i++)
        c[i] = b[(i * 5) % 12];
    ck_assert_int_eq(
        sw_bootstrap_ratio_ci(c, b, 12, 1, p95_of, NULL, 2000, 0.95, 3, &lo, &hi, &err), 0);
    ck_assert(lo < 1 && hi > 1);
    sw_bootstrap_ratio_ci(c, b, 12, 1, p95_of, NULL, 2000, 0.95, 3, &lo2, &hi2, &err);
    ck_assert(lo == lo2 && hi == hi2); /* seeded */
    /* A baseline of zeros: every round is +infinity. */
    double z[3] = {0, 0, 0};
    ck_assert_int_eq(sw_bootstrap_ratio_ci(a, z, 3, 1, p95_of, NULL, 100, 0.9, 1, &lo, &hi, &err),
                     0);
    ck_assert(isinf(lo) && isinf(hi));
    ck_assert_int_eq(sw_bootstrap_ratio_ci(a, b, 0, 1, p95_of, NULL, 10, 0.9, 1, &lo, &hi, &err),
                     -1);
    ck_assert_int_eq(sw_bootstrap_ratio_ci(a, b, 3, 0, p95_of, NULL, 10, 0.9, 1, &lo, &hi, &err),
                     -1);
}
END_TEST

START_TEST(test_histogram)
{
    double v[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10};
    double edges[6];
    uint64_t counts[5];
    sw_histogram(v, 10, 5, edges, counts);
    /* width 2: [0,2) [2,4) [4,6) [6,8) [8,10] */
    ck_assert_double_eq_tol(edges[0], 0, TOL);
    ck_assert_double_eq_tol(edges[1], 2, TOL);
    ck_assert_double_eq_tol(edges[5], 10, TOL);
    uint64_t want[] = {2, 2, 2, 2, 2};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(counts[i], want[i]);
    double same[] = {3, 3, 3};
    sw_histogram(same, 3, 5, edges, counts);
    ck_assert_uint_eq(counts[0], 3);
    ck_assert_uint_eq(counts[4], 0);
}
END_TEST

START_TEST(test_bootstrap)
{
    sw_err err;
    double lo, hi;
    double c[] = {0.5, 0.5, 0.5, 0.5, 0.5};
    ck_assert_int_eq(sw_bootstrap_mean_ci(c, 5, 100, 0.95, 7, &lo, &hi, &err), 0);
    ck_assert_double_eq_tol(lo, 0.5, TOL);
    ck_assert_double_eq_tol(hi, 0.5, TOL);
    double s[] = {1.0, 0.0, -1.0, 0.0, 1.0, 0.5};
    ck_assert_int_eq(sw_bootstrap_mean_ci(s, 6, 1000, 0.95, 1, &lo, &hi, &err), 0);
    ck_assert_double_eq_tol(lo, -0.3333333333333333, 1e-12);
    ck_assert_double_eq_tol(hi, 0.75, 1e-12);
    double t[] = {0.0, 0.25, 0.5, 1.0, -0.5, 0.0, 0.0, 1.0, -1.0, 0.5};
    ck_assert_int_eq(sw_bootstrap_mean_ci(t, 10, 500, 0.90, 12345, &lo, &hi, &err), 0);
    ck_assert_double_eq_tol(lo, -0.125, 1e-12);
    ck_assert_double_eq_tol(hi, 0.475, 1e-12);
    /* Same seed, same interval; the mean lies inside. */
    double lo2, hi2;
    sw_bootstrap_mean_ci(t, 10, 500, 0.90, 12345, &lo2, &hi2, &err);
    ck_assert_double_eq(lo, lo2);
    ck_assert_double_eq(hi, hi2);
    ck_assert(lo <= sw_mean(t, 10) && sw_mean(t, 10) <= hi);
    ck_assert_int_eq(sw_bootstrap_mean_ci(t, 0, 500, 0.9, 1, &lo, &hi, &err), -1);
    ck_assert_int_eq(sw_bootstrap_mean_ci(t, 10, 0, 0.9, 1, &lo, &hi, &err), -1);
    ck_assert_int_eq(sw_bootstrap_mean_ci(t, 10, 10, 1.0, 1, &lo, &hi, &err), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rng_sequence);
    tcase_add_test(tc, test_mcnemar_known_tables);
    tcase_add_test(tc, test_binom_cdf);
    tcase_add_test(tc, test_normal_quantile_and_wilson);
    tcase_add_test(tc, test_quantiles_linear);
    tcase_add_test(tc, test_quantile_select);
    tcase_add_test(tc, test_bootstrap_ratio);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_bootstrap);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
