/*
 * proptest.h - comparing two proportions (error rates, task completion):
 * the two-proportion z test for large counts and Fisher's exact test for
 * small ones. "a" is the baseline, "b" the candidate throughout.
 */
#ifndef SW_STATS_PROPTEST_H
#define SW_STATS_PROPTEST_H

#include <stdint.h>

/* P(Z <= z) for the standard normal. */
double sw_normal_cdf(double z);

/*
 * Two-proportion z test with the pooled variance:
 *     p = (xa + xb) / (na + nb),  z = (xb/nb - xa/na) / sqrt(p (1 - p) (1/na + 1/nb)).
 * *z receives z (0 when either n is 0 or p is 0 or 1); returns the two-sided
 * p-value 2 (1 - Phi(|z|)), 1 when undefined. Example: 10/100 vs 20/100 gives
 * z = 1.9803, p = 0.04767.
 */
double sw_two_prop_z(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb, double *z);

/*
 * Fisher's exact test on the 2x2 table
 *     baseline:  xa successes, na - xa failures
 *     candidate: xb successes, nb - xb failures
 * (hypergeometric, margins fixed). *p_greater (may be NULL) receives the
 * one-sided p-value for "the candidate's proportion is higher" (P(X >= xb));
 * returns the two-sided p-value: the sum of the probabilities of every table
 * no more likely than the observed one (R's fisher.test, with a relative
 * tolerance of 1e-7). Example: 9/10 vs 3/14 gives 0.002759.
 */
double sw_fisher_exact(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb, double *p_greater);

#endif
