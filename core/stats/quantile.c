/* quantile.c - linear-interpolation quantiles, means, equal-width histograms. */
#include "quantile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sw_sort_doubles(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_double);
}

double sw_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return sorted[0];
    if (q >= 1)
        return sorted[n - 1];
    double h = (double)(n - 1) * q;
    size_t i = (size_t)floor(h);
    if (i + 1 >= n)
        return sorted[n - 1];
    return sorted[i] + (h - (double)i) * (sorted[i + 1] - sorted[i]);
}

double sw_quantile(const double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double *copy = sw_xmalloc(n * sizeof *copy);
    memcpy(copy, v, n * sizeof *copy);
    sw_sort_doubles(copy, n);
    double r = sw_quantile_sorted(copy, n, q);
    free(copy);
    return r;
}

double sw_mean(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

/* Hoare's selection, middle pivot: no quadratic case on sorted input. */
double sw_select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        /* Now v[lo..j] <= pivot <= v[i..hi], and what lies between equals it. */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

double sw_quantile_select(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double h = q <= 0 ? 0 : q >= 1 ? (double)(n - 1) : (double)(n - 1) * q;
    size_t i = (size_t)floor(h);
    sw_select_kth(v, n, i);
    if (i + 1 >= n || h == (double)i)
        return v[i];
    double next = v[i + 1]; /* the smallest of what lies above v[i] */
    for (size_t j = i + 2; j < n; j++)
        if (v[j] < next)
            next = v[j];
    return v[i] + (h - (double)i) * (next - v[i]);
}

void sw_histogram(const double *sorted, size_t n, size_t n_bins, double *edges, uint64_t *counts)
{
    if (n_bins == 0)
        return;
    memset(counts, 0, n_bins * sizeof *counts);
    double lo = n ? sorted[0] : 0, hi = n ? sorted[n - 1] : 0;
    double w = (hi - lo) / (double)n_bins;
    for (size_t i = 0; i <= n_bins; i++)
        edges[i] = lo + w * (double)i;
    edges[n_bins] = hi;
    if (n == 0)
        return;
    if (w <= 0) {
        counts[0] = n;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)((sorted[i] - lo) / w);
        counts[b >= n_bins ? n_bins - 1 : b]++;
    }
}
