/*
 * bootstrap.h - percentile bootstrap confidence intervals: of a mean, and
 * of a ratio of statistics over paired samples.
 *
 * For a paired comparison, pass the per-case differences (candidate score
 * minus baseline score): the interval is then the paired difference of
 * means. Each of `resamples` rounds draws n indexes with replacement from a
 * seeded sw_rng (sw_rng_below(n), in order), averages the drawn values, and
 * the interval is the (1 - confidence) / 2 and (1 + confidence) / 2
 * quantiles (linear interpolation, see quantile.h) of the round means. The
 * same values, resamples and seed give the same interval everywhere.
 */
#ifndef SW_STATS_BOOTSTRAP_H
#define SW_STATS_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* 0 with [*lo, *hi]; -1 with err when n is 0, resamples is 0, or confidence
   is outside (0, 1). */
int sw_bootstrap_mean_ci(const double *values, size_t n, size_t resamples, double confidence,
                         uint64_t seed, double *lo, double *hi, sw_err *err);

/* A statistic of n values, which it may reorder (a quantile by selection). */
typedef double (*sw_bootstrap_stat)(double *values, size_t n, const void *arg);

/*
 * The percentile bootstrap interval of stat(a) / stat(b) over n paired
 * groups: group i is a[i*group .. i*group + group - 1] and the same of b (a
 * case's samples on two releases). Each round draws n group indexes with
 * replacement, the same for a and b so that pairs stay together (drawn from
 * a seeded sw_rng as sw_bootstrap_mean_ci draws), and takes the ratio of
 * the statistics over the drawn values; a round whose stat(b) is not above 0
 * counts as +infinity. The interval is the (1 - confidence) / 2 and
 * (1 + confidence) / 2 quantiles of the rounds' ratios (+infinity when the
 * quantile falls among such rounds). 0 with [*lo, *hi]; -1 with err when n,
 * group or resamples is 0, or confidence is outside (0, 1).
 */
int sw_bootstrap_ratio_ci(const double *a, const double *b, size_t n, size_t group,
                          sw_bootstrap_stat stat, const void *arg, size_t resamples,
                          double confidence, uint64_t seed, double *lo, double *hi, sw_err *err);

#endif
