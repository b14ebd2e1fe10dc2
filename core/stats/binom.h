/*
 * binom.h - tests and intervals on counts: the binomial distribution,
 * McNemar's exact test for paired pass/fail outcomes, Wilson's interval.
 *
 * Probabilities are summed in log space (lgamma), so they stay exact to
 * double precision for counts in the millions, where direct products of
 * binomial coefficients would overflow.
 */
#ifndef SW_STATS_BINOM_H
#define SW_STATS_BINOM_H

#include <stdint.h>

/* P(X <= k) for X ~ Binomial(n, p), p in [0, 1]. 1 when k >= n. */
double sw_binom_cdf(uint64_t k, uint64_t n, double p);

/*
 * McNemar's exact test (two-sided) on the discordant pairs of a paired
 * comparison: b pairs went one way (e.g. pass -> fail), c the other. Under
 * the null hypothesis each discordant pair goes either way with probability
 * 1/2, so min(b, c) is a Binomial(b + c, 1/2) tail:
 *     p = min(1, 2 * P(X <= min(b, c))),  X ~ Binomial(b + c, 1/2).
 * b = c = 0 gives 1. Example: b = 10, c = 2 gives 2 * 79 / 4096 = 0.0386. Up to
 * 60 discordant pairs the sum is exact (64-bit binomial coefficients).
 */
double sw_mcnemar_exact(uint64_t b, uint64_t c);

/* The standard normal quantile: z with P(Z <= z) = p, p in (0, 1)
   (Acklam's rational approximation refined by one Halley step; |error| < 1e-12).
   NaN outside (0, 1). */
double sw_normal_quantile(double p);

/* Wilson's score interval for k successes in n trials at the given
   confidence (e.g. 0.95). n = 0 gives [0, 1]. */
void sw_wilson_interval(uint64_t k, uint64_t n, double confidence, double *lo, double *hi);

#endif
