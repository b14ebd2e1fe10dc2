/*
 * assert_metric.c - latency (ms) and cost (USD) against a threshold, as
 * promptfoo's: the case's answer must have taken at most that long and cost
 * at most that much. A replayed case is judged on its recorded latency.
 */
#include "assertion.h"

static void eval_latency(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    double ms = s->out ? s->out->latency_ms : 0;
    if (ms <= a->threshold)
        ev_result_set(r, EV_PASS, 1, "latency %.1f ms <= %g ms", ms, a->threshold);
    else
        ev_result_set(r, EV_FAIL, 0, "latency %.1f ms > %g ms", ms, a->threshold);
}

static void eval_cost(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    if (!s->out || s->out->cost_unknown) {
        ev_result_set(r, EV_ERROR, 0, "cost unknown: the release has no price table");
        return;
    }
    if (s->out->usage_missing) {
        ev_result_set(r, EV_ERROR, 0, "cost unknown: a response carried no token usage");
        return;
    }
    double usd = s->out->cost_usd;
    if (usd <= a->threshold)
        ev_result_set(r, EV_PASS, 1, "cost $%.6f <= $%g", usd, a->threshold);
    else
        ev_result_set(r, EV_FAIL, 0, "cost $%.6f > $%g", usd, a->threshold);
}

static int prepare_positive(ev_assert *a, sw_err *err)
{
    if (a->value)
        return sw_err_set(err, "takes a threshold, not a value");
    if (a->threshold < 0)
        return sw_err_set(err, "threshold must be at least 0");
    return 0;
}

const ev_kind ev_kind_latency = {"latency", EV_K_THRESHOLD | EV_K_NEED_THR, prepare_positive,
                                 eval_latency, NULL};
const ev_kind ev_kind_cost = {"cost", EV_K_THRESHOLD | EV_K_NEED_THR, prepare_positive, eval_cost,
                              NULL};
