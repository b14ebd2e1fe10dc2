/* evidence.c - what a metric's samples could have detected. */
#include "evidence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "stats/binom.h"
#include "stats/power.h"

/* The evidence is enough either way: see evidence.h. */
static void ev_decide(sw_evidence *e)
{
    e->ruled_out = !isnan(e->upper) && e->upper < e->min_effect;
    e->enough = e->detectable <= e->min_effect || e->ruled_out;
}

/* Newcombe's hybrid score bound (method 10 of Newcombe 1998) for pc - pb, one-sided at
   level: each arm's Wilson interval at confidence 1 - 2 level. */
static double rate_diff_upper(double xb, double nb, double xc, double nc, double level)
{
    double lb, ub, lc, uc, pb = xb / nb, pc = xc / nc;
    sw_wilson_interval((uint64_t)xb, (uint64_t)nb, 1 - 2 * level, &lb, &ub);
    sw_wilson_interval((uint64_t)xc, (uint64_t)nc, 1 - 2 * level, &lc, &uc);
    return pc - pb + sqrt((uc - pc) * (uc - pc) + (pb - lb) * (pb - lb));
}

static void ev_start(sw_evidence *e, double min_effect, double power, double level, int relative,
                     const char *test)
{
    *e = (sw_evidence){.relative = relative,
                       .min_effect = min_effect,
                       .power = power,
                       .level = level,
                       .detectable = INFINITY,
                       .observed = NAN,
                       .upper = NAN,
                       .required = INFINITY,
                       .required_candidate = INFINITY,
                       .test = test};
}

void sw_evidence_rate(double min_effect, double power, double level, double margin, double xb,
                      double nb, double xc, double nc, sw_evidence *out)
{
    ev_start(out, min_effect, power, level, 0, "two-proportion z test");
    out->n_candidate = nc;
    out->n_baseline = nb;
    if (nb > 0 && nc > 0)
        out->observed = xc / nc - xb / nb;
    if (!(nb > 0)) {
        out->why = sw_xstrdup("no baseline samples yet");
        return;
    }
    double lo, hi;
    sw_wilson_interval((uint64_t)xb, (uint64_t)nb, 0.95, &lo, &hi);
    double p = fmin(fmax(0.5 - min_effect / 2, lo), hi);
    if (p + min_effect > 1)
        p = 1 - min_effect;
    double m = isnan(margin) ? 0 : margin;
    out->required = sw_power_two_prop_n(p, min_effect, m, level, power);
    out->required_candidate = sw_power_two_prop_n_given(p, min_effect, m, nb, level, power);
    if (nc > 0)
        out->detectable = sw_power_two_prop_mde(p, m, nb, nc, level, power);
    if (nc > 0 && level > 0 && level < 0.5)
        out->upper = rate_diff_upper(xb, nb, xc, nc, level);
    ev_decide(out);
}

void sw_evidence_shift(double min_effect, double power, double level, double shift, double lo,
                       double hi, double median, double allowed, double nb, double nc,
                       sw_evidence *out)
{
    ev_start(out, min_effect, power, level, 1, "Hodges-Lehmann shift");
    out->n_candidate = nc;
    out->n_baseline = nb;
    if (!(median > 0)) {
        out->why = sw_xstrdup("the baseline's median is not above 0");
        return;
    }
    out->observed = shift / median;
    double z = level > 0 && level < 0.5 ? -sw_normal_quantile(level) : NAN;
    if (!(z > 0) || !(nb > 0 && nc > 0) || isnan(lo) || isnan(hi)) {
        out->why = sw_xstrdup(level > 0 ? "no interval yet" : "no level left to test at");
        return;
    }
    double sigma = (hi - lo) / (2 * z) / sqrt(1 / nb + 1 / nc);
    double effect = min_effect * median;
    out->required = sw_power_shift_n(effect, allowed, sigma, level, power);
    out->required_candidate = sw_power_shift_n_given(effect, allowed, sigma, nb, level, power);
    out->detectable = sw_power_shift_mde(allowed, sigma, nb, nc, level, power) / median;
    out->upper = hi / median;
    ev_decide(out);
}

void sw_evidence_none(double min_effect, double power, int relative, const char *why,
                      sw_evidence *out)
{
    ev_start(out, min_effect, power, NAN, relative, "none");
    out->why = sw_xstrdup(why);
}

void sw_evidence_free(sw_evidence *e)
{
    free(e->why);
    e->why = NULL;
}

static json_t *ev_num(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

json_t *sw_evidence_json(const char *metric, const sw_evidence *e)
{
    char *line = sw_evidence_line(metric, e);
    json_t *j = json_pack(
        "{s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "enough",
        e->enough, "ruled_out", e->ruled_out, "min_effect", ev_num(e->min_effect), "power",
        ev_num(e->power), "level", ev_num(e->level), "detectable", ev_num(e->detectable),
        "observed", ev_num(e->observed), "upper", ev_num(e->upper), "required", ev_num(e->required),
        "required_candidate", ev_num(e->required_candidate), "n_candidate", ev_num(e->n_candidate),
        "n_baseline", ev_num(e->n_baseline), "unit", e->relative ? "relative" : "absolute", "test",
        e->test, "line", line);
    if (e->why)
        json_object_set_new(j, "why", json_string(e->why));
    free(line);
    return j;
}

/* +3.0 points (absolute rates), or +50% and +4.2% (relative: a decimal below 10%, so a small
   observed change of cost is not shown as +0%), into buf. */
static const char *effect_text(char *buf, size_t size, double v, int relative)
{
    if (relative)
        snprintf(buf, size, fabs(v) < 0.095 ? "%+.1f%%" : "%+.0f%%", v * 100);
    else
        snprintf(buf, size, "%+.1f points", v * 100);
    return buf;
}

char *sw_evidence_line(const char *metric, const sw_evidence *e)
{
    char name[64];
    snprintf(name, sizeof name, "%s", metric);
    for (char *c = name; *c; c++)
        if (*c == '_')
            *c = ' ';
    char det[48], want[48], obs[48] = "none yet";
    effect_text(want, sizeof want, e->min_effect, e->relative);
    if (!isnan(e->observed))
        effect_text(obs, sizeof obs, e->observed, e->relative);
    if (e->enough && !(e->detectable <= e->min_effect)) {
        char up[48];
        return sw_xasprintf("%s: ruled out %s (upper bound %s, one-sided at level %.2g); "
                            "observed %s",
                            name, want, effect_text(up, sizeof up, e->upper, e->relative), e->level,
                            obs);
    }
    if (e->enough)
        return sw_xasprintf("%s: could detect %s with %.0f%% power; observed %s", name,
                            effect_text(det, sizeof det, e->detectable, e->relative),
                            e->power * 100, obs);
    char need[96] = "";
    if (!isinf(e->required_candidate))
        snprintf(need, sizeof need, "; about %.0f candidate samples needed, %.0f seen",
                 e->required_candidate, e->n_candidate);
    if (isinf(e->detectable))
        return sw_xasprintf("%s: could not yet detect %s with %.0f%% power (%s%s); observed %s",
                            name, want, e->power * 100, e->why ? e->why : "too few samples", need,
                            obs);
    return sw_xasprintf("%s: could detect %s with %.0f%% power, not yet %s%s; observed %s", name,
                        effect_text(det, sizeof det, e->detectable, e->relative), e->power * 100,
                        want, need, obs);
}
