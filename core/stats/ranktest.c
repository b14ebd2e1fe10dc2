/* ranktest.c - Mann-Whitney U and the Hodges-Lehmann shift. */
#include "ranktest.h"

#include <math.h>
#include <stdlib.h>

#include "base/util.h"
#include "binom.h"
#include "proptest.h"
#include "quantile.h"

typedef struct tagged {
    double v;
    int from_b;
} tagged;

static int cmp_tagged(const void *x, const void *y)
{
    double a = ((const tagged *)x)->v, b = ((const tagged *)y)->v;
    return (a > b) - (a < b);
}

int sw_mann_whitney(const double *a, size_t na, const double *b, size_t nb, sw_mwu_result *out)
{
    *out = (sw_mwu_result){.u = 0, .z = 0, .p = 1, .p_greater = 1};
    if (na == 0 || nb == 0)
        return -1;
    size_t n = na + nb;
    tagged *t = sw_xmalloc(n * sizeof *t);
    for (size_t i = 0; i < na; i++)
        t[i] = (tagged){a[i], 0};
    for (size_t j = 0; j < nb; j++)
        t[na + j] = (tagged){b[j], 1};
    qsort(t, n, sizeof *t, cmp_tagged);
    double rank_b = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && t[j].v == t[i].v)
            j++;
        double mid = ((double)i + 1 + (double)j) / 2; /* mean of ranks i+1..j */
        double g = (double)(j - i);
        ties += g * g * g - g;
        for (size_t k = i; k < j; k++)
            if (t[k].from_b)
                rank_b += mid;
        i = j;
    }
    free(t);
    double fa = (double)na, fb = (double)nb, fn = (double)n;
    out->u = rank_b - fb * (fb + 1) / 2;
    double mean = fa * fb / 2;
    double var = fa * fb / 12 * ((fn + 1) - ties / (fn * (fn - 1)));
    if (var <= 0)
        return -1;
    double d = out->u - mean;
    double cc = d > 0 ? 0.5 : d < 0 ? -0.5 : 0;
    out->z = (d - cc) / sqrt(var);
    out->p = 2 * sw_normal_cdf(-fabs(out->z));
    if (out->p > 1)
        out->p = 1;
    out->p_greater = sw_normal_cdf(-(d - 0.5) / sqrt(var));
    return 0;
}

int sw_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double confidence,
                      double *shift, double *lo, double *hi)
{
    if (na == 0 || nb == 0 || na > SW_HL_MAX_PAIRS / nb)
        return -1;
    size_t m = na * nb;
    double *d = sw_xmalloc(m * sizeof *d);
    for (size_t j = 0; j < nb; j++)
        for (size_t i = 0; i < na; i++)
            d[j * na + i] = b[j] - a[i];
    /* Three order statistics of the n x m differences: selections, not a sort (a monitor
       judges tens of thousands of pairs at every look). */
    *shift = sw_quantile_select(d, m, 0.5);
    double z = sw_normal_quantile(1 - (1 - confidence) / 2);
    double fa = (double)na, fb = (double)nb;
    double c = floor(fa * fb / 2 - z * sqrt(fa * fb * (fa + fb + 1) / 12));
    size_t k = c < 1 ? 1 : (size_t)c;
    if (k > m)
        k = m;
    *lo = sw_select_kth(d, m, k - 1);
    *hi = sw_select_kth(d, m, m - k);
    free(d);
    return 0;
}
