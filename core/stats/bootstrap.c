/* bootstrap.c - percentile bootstrap intervals (a mean, a ratio of paired statistics), seeded. */
#include "bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quantile.h"
#include "rng.h"

static int check_args(size_t n, size_t resamples, double confidence, sw_err *err)
{
    if (n == 0)
        return sw_err_set(err, "bootstrap: no values");
    if (resamples == 0)
        return sw_err_set(err, "bootstrap: resamples must be at least 1");
    if (!(confidence > 0 && confidence < 1))
        return sw_err_set(err, "bootstrap: confidence %g is not in (0, 1)", confidence);
    return 0;
}

/* The interval of the rounds' values, which it sorts. */
static void percentile_interval(double *rounds, size_t resamples, double confidence, double *lo,
                                double *hi)
{
    sw_sort_doubles(rounds, resamples);
    double tail = (1 - confidence) / 2;
    *lo = sw_quantile_sorted(rounds, resamples, tail);
    *hi = sw_quantile_sorted(rounds, resamples, 1 - tail);
}

int sw_bootstrap_mean_ci(const double *values, size_t n, size_t resamples, double confidence,
                         uint64_t seed, double *lo, double *hi, sw_err *err)
{
    if (check_args(n, resamples, confidence, err) < 0)
        return -1;
    sw_rng r;
    sw_rng_seed(&r, seed);
    double *means = sw_xmalloc(resamples * sizeof *means);
    for (size_t b = 0; b < resamples; b++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += values[sw_rng_below(&r, n)];
        means[b] = s / (double)n;
    }
    percentile_interval(means, resamples, confidence, lo, hi);
    free(means);
    return 0;
}

/* Interpolating between +infinity and itself gives NaN: it is +infinity. */
static double inf_if_nan(double x)
{
    return isnan(x) ? INFINITY : x;
}

int sw_bootstrap_ratio_ci(const double *a, const double *b, size_t n, size_t group,
                          sw_bootstrap_stat stat, const void *arg, size_t resamples,
                          double confidence, uint64_t seed, double *lo, double *hi, sw_err *err)
{
    if (check_args(n, resamples, confidence, err) < 0)
        return -1;
    if (group == 0)
        return sw_err_set(err, "bootstrap: a group holds at least 1 value");
    sw_rng r;
    sw_rng_seed(&r, seed);
    size_t m = n * group;
    double *da = sw_xmalloc(m * sizeof *da), *db = sw_xmalloc(m * sizeof *db);
    double *ratios = sw_xmalloc(resamples * sizeof *ratios);
    for (size_t round = 0; round < resamples; round++) {
        for (size_t i = 0; i < n; i++) {
            size_t g = (size_t)sw_rng_below(&r, n);
            memcpy(da + i * group, a + g * group, group * sizeof *da);
            memcpy(db + i * group, b + g * group, group * sizeof *db);
        }
        double sa = stat(da, m, arg), sb = stat(db, m, arg);
        ratios[round] = sb > 0 ? sa / sb : INFINITY;
    }
    percentile_interval(ratios, resamples, confidence, lo, hi);
    *lo = inf_if_nan(*lo);
    *hi = inf_if_nan(*hi);
    free(da);
    free(db);
    free(ratios);
    return 0;
}
