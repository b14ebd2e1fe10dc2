/* regression.c - flips, McNemar, the bootstrap interval and non-inferiority. */
#include "regression.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/binom.h"
#include "stats/bootstrap.h"

int ev_regression_compute(const ev_pair *pairs, size_t n, double margin, double confidence,
                          size_t resamples, uint64_t seed, ev_regression *out, sw_err *err)
{
    memset(out, 0, sizeof *out);
    out->margin = margin;
    out->confidence = confidence;
    out->resamples = resamples;
    out->seed = seed;
    out->diff_mean = out->ci_lo = out->ci_hi = NAN;
    out->regressed = sw_xcalloc(n + 1, sizeof *out->regressed);
    out->improved = sw_xcalloc(n + 1, sizeof *out->improved);
    out->changed = sw_xcalloc(n + 1, sizeof *out->changed);
    double *diffs = sw_xcalloc(n + 1, sizeof *diffs);
    for (size_t i = 0; i < n; i++) {
        const ev_pair *p = &pairs[i];
        if (!p->done || p->cand == EV_ERROR || p->base == EV_ERROR) {
            out->excluded++;
            continue;
        }
        diffs[out->paired++] = p->cand_score - p->base_score;
        if (p->cand == EV_PASS && p->base == EV_PASS) {
            out->both_pass++;
            if (p->cand_hash != p->base_hash)
                out->changed[out->n_changed++] = i;
        } else if (p->cand == EV_FAIL && p->base == EV_FAIL) {
            out->both_fail++;
        } else if (p->base == EV_PASS) {
            out->regressed[out->regressions++] = i;
        } else {
            out->improved[out->improvements++] = i;
        }
    }
    out->mcnemar_p = sw_mcnemar_exact(out->regressions, out->improvements);
    int rc = 0;
    if (out->paired) {
        double s = 0;
        for (size_t i = 0; i < out->paired; i++)
            s += diffs[i];
        out->diff_mean = s / (double)out->paired;
        rc = sw_bootstrap_mean_ci(diffs, out->paired, resamples, confidence, seed, &out->ci_lo,
                                  &out->ci_hi, err);
        out->noninferior = rc == 0 && out->ci_lo >= -margin;
    }
    free(diffs);
    if (rc < 0)
        ev_regression_clear(out);
    return rc;
}

void ev_regression_clear(ev_regression *r)
{
    free(r->regressed);
    free(r->improved);
    free(r->changed);
    memset(r, 0, sizeof *r);
}
