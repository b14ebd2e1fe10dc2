/* bootstrap.c - the percentile bootstrap interval of a mean, seeded. */
#include "bootstrap.h"

#include <stdlib.h>

#include "quantile.h"
#include "rng.h"

int sw_bootstrap_mean_ci(const double *values, size_t n, size_t resamples, double confidence,
                         uint64_t seed, double *lo, double *hi, sw_err *err)
{
    if (n == 0)
        return sw_err_set(err, "bootstrap: no values");
    if (resamples == 0)
        return sw_err_set(err, "bootstrap: resamples must be at least 1");
    if (!(confidence > 0 && confidence < 1))
        return sw_err_set(err, "bootstrap: confidence %g is not in (0, 1)", confidence);
    sw_rng r;
    sw_rng_seed(&r, seed);
    double *means = sw_xmalloc(resamples * sizeof *means);
    for (size_t b = 0; b < resamples; b++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += values[sw_rng_below(&r, n)];
        means[b] = s / (double)n;
    }
    sw_sort_doubles(means, resamples);
    double tail = (1 - confidence) / 2;
    *lo = sw_quantile_sorted(means, resamples, tail);
    *hi = sw_quantile_sorted(means, resamples, 1 - tail);
    free(means);
    return 0;
}
