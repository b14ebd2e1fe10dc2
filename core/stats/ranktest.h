/*
 * ranktest.h - comparing two samples of a continuous metric (latencies, time
 * to first token, tokens per session) without assuming a distribution, as
 * Kayenta's canary judge does: the Mann-Whitney U test, and the
 * Hodges-Lehmann estimate of the shift with a confidence interval, so a
 * verdict can say "p95 moved by +120 ms [80, 160]" and not only "p < 0.01".
 * "a" is the baseline, "b" the candidate; a positive shift means the
 * candidate is larger (slower).
 */
#ifndef SW_STATS_RANKTEST_H
#define SW_STATS_RANKTEST_H

#include <stddef.h>

typedef struct sw_mwu_result {
    double u;         /* U of the candidate: pairs (a_i, b_j) with b_j > a_i, ties counting 1/2 */
    double z;         /* normal approximation, tie-corrected, with continuity correction 1/2 */
    double p;         /* two-sided */
    double p_greater; /* one-sided: the candidate tends to be larger */
} sw_mwu_result;

/*
 * Mann-Whitney U with the normal approximation:
 *     mean = na nb / 2,
 *     var  = na nb / 12 ((n + 1) - sum(t^3 - t) / (n (n - 1))),  n = na + nb,
 * t running over the sizes of groups of tied values; z = (U - mean -+ 1/2) / sqrt(var).
 * Returns -1 (result p = 1) when a sample is empty or every value is tied.
 * Example: a = {1, 2, 3, 4}, b = {3, 5, 6, 7}: U = 14.5, z = 1.7425, p = 0.0814.
 */
int sw_mann_whitney(const double *a, size_t na, const double *b, size_t nb, sw_mwu_result *out);

/* The most pairs the Hodges-Lehmann estimate builds (na * nb differences in memory). */
#define SW_HL_MAX_PAIRS 4000000u

/*
 * Hodges-Lehmann shift: the median of the na nb differences b_j - a_i, and the
 * distribution-free confidence interval from the same sorted differences:
 * k = floor(na nb / 2 - z sqrt(na nb (n + 1) / 12)) (at least 1), interval
 * [D(k), D(na nb + 1 - k)] with D 1-based. Example: the samples above give a
 * shift of 3 and the 95% interval [-1, 6]. Returns -1 when a sample is empty
 * or na nb > SW_HL_MAX_PAIRS.
 */
int sw_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double confidence,
                      double *shift, double *lo, double *hi);

#endif
