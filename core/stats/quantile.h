/*
 * quantile.h - quantiles and histograms of samples (latencies, scores).
 *
 * Quantiles use linear interpolation between order statistics, the
 * definition numpy (method "linear"), R (type 7) and Excel's PERCENTILE.INC
 * share: with the n values sorted ascending as x[0..n-1] and h = (n - 1) q,
 *     Q(q) = x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)]).
 * So p50 of {1, 2, 3, 4} is 2.5 and p95 of 1..100 is 95.05.
 */
#ifndef SW_STATS_QUANTILE_H
#define SW_STATS_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

/* Sort ascending, in place. NaNs are not expected. */
void sw_sort_doubles(double *v, size_t n);
/* Q(q) of already sorted values, q in [0, 1]; NaN when n is 0. */
double sw_quantile_sorted(const double *sorted, size_t n, double q);
/* Q(q) of unsorted values: sorts a copy. NaN when n is 0. */
double sw_quantile(const double *v, size_t n, double q);
double sw_mean(const double *v, size_t n); /* NaN when n is 0 */
/* The same Q(q) as sw_quantile_sorted, in O(n) on average by selection
   (quickselect), for callers that take many quantiles of fresh samples (the
   bootstrap). Reorders v. NaN when n is 0. */
double sw_quantile_select(double *v, size_t n, double q);
/* The k-th smallest of n > k values (0-based), in O(n) on average: puts it at v[k], smaller
   ones before it and larger ones after. */
double sw_select_kth(double *v, size_t n, size_t k);

/*
 * A histogram of sorted values with n_bins equal-width bins over
 * [sorted[0], sorted[n-1]]; bin i covers [lo + i w, lo + (i + 1) w), the last
 * one closed. edges receives n_bins + 1 values, counts n_bins. When every
 * value is the same, one bin [v, v] holds them all and the others are empty.
 */
void sw_histogram(const double *sorted, size_t n, size_t n_bins, double *edges, uint64_t *counts);

#endif
