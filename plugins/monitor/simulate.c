/* simulate.c - synthetic canaries through the monitor's judge. */
#include "simulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "judge.h"
#include "stats/rng.h"

/* One arm's stream: rate events, or latency values. */
typedef struct arm {
    double n, x; /* samples, events */
    double *v;   /* latency values */
    size_t cap;
} arm;

static double normal(sw_rng *r)
{
    /* Box-Muller; 1 - u keeps the log finite. */
    double u = 1 - sw_rng_uniform(r), w = sw_rng_uniform(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * w);
}

/* k more samples: rate events with probability value, or values of median value and log-scale
   sigma spread moved by shift (a location shift, the model the Hodges-Lehmann estimate
   assumes). */
static void draw(arm *a, int k, int rate, double value, double shift, double spread, sw_rng *r)
{
    if (rate) {
        for (int i = 0; i < k; i++)
            a->x += sw_rng_uniform(r) < value;
    } else {
        if (a->n + k > (double)a->cap) {
            a->cap = (size_t)(a->n + k) * 2;
            a->v = sw_xrealloc(a->v, a->cap * sizeof *a->v);
        }
        for (int i = 0; i < k; i++)
            a->v[(size_t)a->n + i] = value * exp(spread * normal(r)) + shift;
    }
    a->n += k;
}

static sw_obs observe(const arm *a, int rate)
{
    if (rate)
        return (sw_obs){.value = a->n ? a->x / a->n : 0, .n = a->n, .x = a->x};
    /* The value only labels the reasons; the rank test reads the samples. */
    return (sw_obs){.value = a->n ? a->v[0] : 0,
                    .n = a->n,
                    .x = NAN,
                    .samples = a->v,
                    .n_samples = (size_t)a->n};
}

void sw_sim_run(const sw_sim_plan *p, int runs, uint64_t seed, sw_sim_result *out)
{
    *out = (sw_sim_result){.runs = runs};
    int rate = sw_metric_is_rate(p->metric);
    sw_metric_rule rule = {.metric = p->metric,
                           .max = NAN,
                           .max_increase = p->max_increase,
                           .max_relative_increase =
                               p->max_relative_increase > 0 ? p->max_relative_increase : NAN,
                           .min_effect = p->min_effect > 0 ? p->min_effect : NAN};
    sw_rng r;
    sw_rng_seed(&r, seed);
    double cand_value = rate ? p->base_value + p->effect : p->base_value;
    double cand_shift = rate ? 0 : p->effect * p->base_value;
    double looks = 0;
    int last = p->looks > 0 ? p->looks : p->max_looks;
    double spread = p->spread > 0 ? p->spread : 0.5;
    for (int run = 0; run < runs; run++) {
        arm base = {0}, cand = {0};
        int ended = 0, k;
        for (k = 1; k <= last && !ended; k++) {
            draw(&base, p->per_look_baseline, rate, p->base_value, 0, spread, &r);
            draw(&cand, p->per_look_candidate, rate, cand_value, cand_shift, spread, &r);
            sw_obs oc = observe(&cand, rate), ob = observe(&base, rate);
            sw_judge_opts o = {.alpha = p->alpha,
                               .spending = p->spending,
                               .look = p->naive ? 1 : k,
                               .max_looks = p->naive ? 1 : p->max_looks,
                               .min_samples = 2,
                               .power = p->power};
            json_t *snap = NULL;
            char *why = NULL;
            sw_verdict v = sw_judge_obs(&rule, &oc, &ob, &o, &snap, &why);
            const json_t *e = json_object_get(snap, "evidence");
            if (v == SW_VERDICT_FAIL) {
                out->rolled_back++;
                ended = 1;
            } else if (p->stop_at_evidence && json_is_true(json_object_get(e, "enough"))) {
                out->promoted++;
                ended = 1;
            }
            json_decref(snap);
            free(why);
        }
        if (!ended && p->stop_at_evidence)
            out->inconclusive++;
        looks += k - 1;
        free(base.v);
        free(cand.v);
    }
    out->looks = runs ? looks / runs : 0;
}
