/*
 * bootstrap.h - the percentile bootstrap confidence interval of a mean.
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

#endif
