/* report.c - the outputs' values, eval-summary.json and junit.xml. */
#include "report.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "report_rows.h"
#include "stats/quantile.h"

/* A side's 95th percentile latency; 0 when no answer was measured. */
static double side_p95(const ev_side *s)
{
    return s->n_latencies ? sw_quantile_sorted(s->latencies, s->n_latencies, 0.95) : 0;
}

static double side_cost_per_case(const ev_side *s)
{
    return s->cases ? s->cost_usd / (double)s->cases : 0;
}

/* a / b, or NaN when b is 0: a ratio against nothing is no evidence either way. */
static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

void ev_metrics_of(const ev_results *res, ev_metrics *m)
{
    memset(m, 0, sizeof *m);
    const ev_side *s = &res->side[EV_CAND];
    m->cases = (int64_t)s->cases;
    m->passed = (int64_t)s->passed;
    m->failed = (int64_t)s->failed;
    m->errors = (int64_t)s->errors;
    size_t measured = s->passed + s->failed;
    m->pass_rate = measured ? (double)s->passed / (double)measured : 0;
    m->error_rate = s->cases ? (double)s->errors / (double)s->cases : 0;
    m->score_mean = measured ? s->score_sum / (double)measured : 0;
    m->latency_p50_ms = s->n_latencies ? sw_quantile_sorted(s->latencies, s->n_latencies, 0.5) : 0;
    m->latency_p95_ms = side_p95(s);
    m->tokens_in = s->tokens_in;
    m->tokens_out = s->tokens_out;
    m->cost_usd = s->cost_usd;
    m->cost_per_case_usd = side_cost_per_case(s);
    m->pass_at_k = measured ? (double)s->pass_any / (double)measured : 0;
    m->pass_all_k = m->pass_rate;
    m->has_baseline = res->has_reg;
    if (res->has_reg) {
        m->regressions = (int64_t)res->reg.regressions;
        m->improvements = (int64_t)res->reg.improvements;
        m->mcnemar_p = res->reg.mcnemar_p;
        m->noninferior = res->reg.noninferior;
    }
    m->base_cost_per_case_usd = m->base_latency_p95_ms = NAN;
    m->cost_ratio = m->latency_p95_ratio = NAN;
    m->latency_p95_ratio_lo = m->latency_p95_ratio_hi = NAN;
    m->cost_ratio_lo = m->cost_ratio_hi = NAN;
    m->baseline_ran = res->sides > 1;
    if (m->baseline_ran) {
        const ev_side *b = &res->side[EV_BASE];
        m->latency_p95_ratio_lo = res->latency_ratio_lo;
        m->latency_p95_ratio_hi = res->latency_ratio_hi;
        m->cost_ratio_lo = res->cost_ratio_lo;
        m->cost_ratio_hi = res->cost_ratio_hi;
        m->base_cost_per_case_usd = side_cost_per_case(b);
        m->base_latency_p95_ms = side_p95(b);
        m->cost_ratio = ratio(m->cost_per_case_usd, m->base_cost_per_case_usd);
        m->latency_p95_ratio = ratio(m->latency_p95_ms, m->base_latency_p95_ms);
    }
}

static json_t *real_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *side_json(const ev_results *res, int side)
{
    const ev_side *s = &res->side[side];
    size_t measured = s->passed + s->failed;
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:f}", "cases", (json_int_t)s->cases, "passed",
        (json_int_t)s->passed, "failed", (json_int_t)s->failed, "errors", (json_int_t)s->errors,
        "pass_rate", measured ? (double)s->passed / (double)measured : 0.0, "score_mean",
        measured ? s->score_sum / (double)measured : 0.0, "tokens_in", (json_int_t)s->tokens_in,
        "tokens_out", (json_int_t)s->tokens_out, "cost_usd", s->cost_usd);
    json_object_set_new(j, "latency_p50_ms",
                        s->n_latencies
                            ? json_real(sw_quantile_sorted(s->latencies, s->n_latencies, 0.5))
                            : json_null());
    json_object_set_new(j, "latency_p95_ms", s->n_latencies ? json_real(side_p95(s)) : json_null());
    json_object_set_new(j, "cost_per_case_usd", json_real(side_cost_per_case(s)));
    if (s->cost_unknown)
        json_object_set_new(j, "cost_unknown", json_true());
    if (s->usage_missing)
        json_object_set_new(j, "usage_missing", json_true());
    return j;
}

static json_t *pool_json(const ev_pool_stats *p)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
                     "requests", (json_int_t)p->requests, "attempts", (json_int_t)p->attempts,
                     "retries", (json_int_t)p->retries, "silent_retries",
                     (json_int_t)p->silent_retries, "ok", (json_int_t)p->ok, "failed",
                     (json_int_t)p->failed, "timeouts", (json_int_t)p->timeouts, "transport_errors",
                     (json_int_t)p->transport, "status_429", (json_int_t)p->status_429,
                     "status_5xx", (json_int_t)p->status_5xx, "cache_hits",
                     (json_int_t)p->cache_hits, "cache_misses", (json_int_t)p->cache_misses,
                     "cache_stored", (json_int_t)p->cache_stored, "backoff_ms", p->wait_ms);
}

static json_t *ids_json(ev_rows *rows, const size_t *idx, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char *id = ev_rows_case_id(rows, idx[i]);
        json_array_append_new(a, json_string(id));
        free(id);
    }
    return a;
}

json_t *ev_summary_json(const ev_report_in *in)
{
    const ev_results *res = in->res;
    ev_metrics m;
    ev_metrics_of(res, &m);
    json_t *out = json_pack(
        "{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:f}", "cases",
        (json_int_t)m.cases, "passed", (json_int_t)m.passed, "failed", (json_int_t)m.failed,
        "errors", (json_int_t)m.errors, "pass_rate", m.pass_rate, "error_rate", m.error_rate,
        "score_mean", m.score_mean, "latency_p50_ms", m.latency_p50_ms, "latency_p95_ms",
        m.latency_p95_ms, "tokens_in", (json_int_t)m.tokens_in, "tokens_out",
        (json_int_t)m.tokens_out, "cost_usd", m.cost_usd, "cost_per_case_usd", m.cost_per_case_usd,
        "pass_at_k", m.pass_at_k, "pass_all_k", m.pass_all_k);
    json_object_set_new(out, "regressions", json_integer(m.regressions));
    json_object_set_new(out, "improvements", json_integer(m.improvements));
    json_object_set_new(out, "mcnemar_p", m.has_baseline ? json_real(m.mcnemar_p) : json_null());
    json_object_set_new(out, "noninferior",
                        m.has_baseline ? json_boolean(m.noninferior) : json_null());
    json_object_set_new(out, "has_baseline", json_boolean(m.baseline_ran));
    json_object_set_new(out, "baseline_cost_per_case_usd", real_or_null(m.base_cost_per_case_usd));
    json_object_set_new(out, "baseline_latency_p95_ms", real_or_null(m.base_latency_p95_ms));
    json_object_set_new(out, "cost_ratio", real_or_null(m.cost_ratio));
    json_object_set_new(out, "cost_ratio_lo", real_or_null(m.cost_ratio_lo));
    json_object_set_new(out, "cost_ratio_hi", real_or_null(m.cost_ratio_hi));
    json_object_set_new(out, "latency_p95_ratio", real_or_null(m.latency_p95_ratio));
    json_object_set_new(out, "latency_p95_ratio_lo", real_or_null(m.latency_p95_ratio_lo));
    json_object_set_new(out, "latency_p95_ratio_hi", real_or_null(m.latency_p95_ratio_hi));

    json_t *j = json_object();
    json_object_set_new(j, "format", json_integer(1));
    json_object_set_new(j, "stage", json_string(in->stage_id ? in->stage_id : "eval"));
    if (in->run_id)
        json_object_set_new(j, "run_id", json_string(in->run_id));
    json_object_set_new(j, "outputs", out);
    json_object_set_new(j, "planned", json_integer((json_int_t)res->planned));
    json_object_set_new(j, "not_run", json_integer((json_int_t)res->not_run));
    json_object_set_new(j, "repeat", json_integer(res->k));
    json_object_set_new(j, "stopped",
                        res->stop_reason[0] ? json_string(res->stop_reason) : json_null());
    json_object_set_new(j, "candidate", side_json(res, EV_CAND));
    if (res->sides > 1)
        json_object_set_new(j, "baseline", side_json(res, EV_BASE));

    const ev_config *cfg = in->cfg;
    json_t *spend =
        json_pack("{s:{s:I, s:I, s:f}, s:{s:I, s:I, s:f, s:I}, s:f, s:I, s:f, s:I, s:{s:o, s:o}}",
                  "candidate", "tokens_in", (json_int_t)res->side[0].tokens_in, "tokens_out",
                  (json_int_t)res->side[0].tokens_out, "cost_usd", res->side[0].cost_usd, "judge",
                  "tokens_in", (json_int_t)res->judge_in, "tokens_out", (json_int_t)res->judge_out,
                  "cost_usd", res->judge_usd, "calls", (json_int_t)res->judge_calls, "total_usd",
                  res->total_usd, "total_tokens", (json_int_t)res->total_tokens, "worst_case_usd",
                  res->worst_usd, "worst_case_tokens", (json_int_t)res->worst_tokens, "caps",
                  "max_usd", cfg->max_usd > 0 ? json_real(cfg->max_usd) : json_null(), "max_tokens",
                  cfg->max_tokens > 0 ? json_integer(cfg->max_tokens) : json_null());
    if (res->sides > 1)
        json_object_set_new(spend, "baseline",
                            json_pack("{s:I, s:I, s:f}", "tokens_in",
                                      (json_int_t)res->side[1].tokens_in, "tokens_out",
                                      (json_int_t)res->side[1].tokens_out, "cost_usd",
                                      res->side[1].cost_usd));
    json_object_set_new(j, "spend", spend);

    if (res->has_reg) {
        const ev_regression *g = &res->reg;
        ev_rows *rows = ev_rows_open(cfg, res);
        json_t *reg = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:[o, o], s:f, s:f, "
            "s:I, s:I, s:b}",
            "paired", (json_int_t)g->paired, "excluded", (json_int_t)g->excluded, "both_pass",
            (json_int_t)g->both_pass, "both_fail", (json_int_t)g->both_fail, "regressions",
            (json_int_t)g->regressions, "improvements", (json_int_t)g->improvements, "mcnemar_p",
            g->mcnemar_p, "diff_mean", real_or_null(g->diff_mean), "ci", real_or_null(g->ci_lo),
            real_or_null(g->ci_hi), "confidence", g->confidence, "margin", g->margin, "resamples",
            (json_int_t)g->resamples, "seed", (json_int_t)g->seed, "noninferior", g->noninferior);
        json_object_set_new(reg, "test",
                            json_string("McNemar exact (two-sided binomial on the "
                                        "discordant pairs); paired percentile "
                                        "bootstrap of the mean score difference"));
        json_object_set_new(reg, "regressed", ids_json(rows, g->regressed, g->regressions));
        json_object_set_new(reg, "improved", ids_json(rows, g->improved, g->improvements));
        json_object_set_new(reg, "changed_both_pass", ids_json(rows, g->changed, g->n_changed));
        ev_rows_close(rows);
        json_object_set_new(j, "regression", reg);
    }
    json_object_set_new(
        j, "http",
        json_pack("{s:o, s:o, s:o}", "target", pool_json(&res->pool[EV_POOL_TARGET]), "judge",
                  pool_json(&res->pool[EV_POOL_JUDGE]), "retry_budget_left",
                  res->retry_budget_left < 0 ? json_null() : json_integer(res->retry_budget_left)));
    json_object_set_new(j, "elapsed_ms", json_real(res->elapsed_ms));
    json_object_set_new(
        j, "cases_per_second",
        json_real(res->elapsed_ms > 0 ? (double)res->side[0].cases * 1000.0 / res->elapsed_ms : 0));
    if (in->provenance)
        json_object_set(j, "provenance", (json_t *)in->provenance);
    if (in->settings)
        json_object_set(j, "settings", (json_t *)in->settings);
    return j;
}

int ev_write_summary(const ev_report_in *in, const char *path, sw_err *err)
{
    json_t *j = ev_summary_json(in);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    json_decref(j);
    sw_buf b = {0};
    sw_buf_puts(&b, text);
    sw_buf_puts(&b, "\n");
    free(text);
    int rc = sw_write_file_atomic(path, b.data, b.len, err);
    sw_buf_free(&b);
    return rc;
}

/* ---- junit.xml ---- */

void ev_xml_escape(sw_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&':
            sw_buf_puts(b, "&amp;");
            break;
        case '<':
            sw_buf_puts(b, "&lt;");
            break;
        case '>':
            sw_buf_puts(b, "&gt;");
            break;
        case '"':
            sw_buf_puts(b, "&quot;");
            break;
        case '\'':
            sw_buf_puts(b, "&apos;");
            break;
        default:
            /* XML 1.0 has no place for other control characters, even escaped. */
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                sw_buf_puts(b, "?");
            else
                sw_buf_append(b, (const char *)p, 1);
        }
    }
}

static void prop(sw_buf *b, const char *name, const char *value)
{
    sw_buf_puts(b, "      <property name=\"");
    ev_xml_escape(b, name);
    sw_buf_puts(b, "\" value=\"");
    ev_xml_escape(b, value);
    sw_buf_puts(b, "\"/>\n");
}

int ev_write_junit(const ev_report_in *in, const char *path, sw_err *err)
{
    const ev_results *res = in->res;
    ev_metrics m;
    ev_metrics_of(res, &m);
    const char *stage = in->stage_id ? in->stage_id : "eval";
    ev_sink sink;
    if (ev_sink_open(&sink, path, err) < 0)
        return -1;
    sw_buf *b = &sink.b;
    ev_rows *rows = ev_rows_open(in->cfg, res);
    size_t skipped = res->planned - res->side[0].cases;
    char t[64];
    snprintf(t, sizeof t, "%.3f", res->elapsed_ms / 1000.0);
    sw_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sw_buf_printf(b,
                  "<testsuites name=\"slipway eval\" tests=\"%zu\" failures=\"%lld\" "
                  "errors=\"%lld\" skipped=\"%zu\" time=\"%s\">\n",
                  res->planned, (long long)m.failed, (long long)m.errors, skipped, t);
    sw_buf_puts(b, "  <testsuite name=\"");
    ev_xml_escape(b, stage);
    sw_buf_printf(b,
                  "\" tests=\"%zu\" failures=\"%lld\" errors=\"%lld\" skipped=\"%zu\" "
                  "time=\"%s\">\n",
                  res->planned, (long long)m.failed, (long long)m.errors, skipped, t);
    sw_buf_puts(b, "    <properties>\n");
    const json_t *prov = in->provenance;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)prov, k, v)
    {
        char *text = ev_value_text(v);
        prop(b, k, text);
        free(text);
    }
    sw_buf_puts(b, "    </properties>\n");
    const char *base = sw_path_basename(ev_dataset_path(in->cfg->ds));
    for (size_t c = 0; c < res->planned; c++) {
        ev_case_rows cr;
        ev_rows_case(rows, EV_CAND, c, &cr);
        sw_buf_puts(b, "    <testcase classname=\"");
        ev_xml_escape(b, stage);
        sw_buf_puts(b, ".");
        ev_xml_escape(b, base);
        sw_buf_puts(b, "\" name=\"");
        ev_xml_escape(b, cr.id);
        sw_buf_printf(b, "\" time=\"%.3f\"", cr.latency_ms / 1000.0);
        if (!cr.done) {
            sw_buf_puts(b, ">\n      <skipped message=\"");
            ev_xml_escape(b, res->stop_reason[0] ? res->stop_reason : "not run");
            sw_buf_puts(b, "\"/>\n    </testcase>\n");
        } else if (cr.outcome == EV_PASS) {
            sw_buf_puts(b, "/>\n");
        } else {
            const char *tag = cr.outcome == EV_ERROR ? "error" : "failure";
            sw_buf_printf(b, ">\n      <%s type=\"%s\" message=\"", tag,
                          ev_outcome_name(cr.outcome));
            ev_xml_escape(b, cr.first_message);
            sw_buf_puts(b, "\">");
            ev_xml_escape(b, cr.messages);
            sw_buf_printf(b, "</%s>\n      <system-out>", tag);
            ev_xml_escape(b, cr.output);
            sw_buf_puts(b, "</system-out>\n    </testcase>\n");
        }
        ev_case_rows_clear(&cr);
        ev_sink_spill(&sink);
    }
    sw_buf_puts(b, "  </testsuite>\n</testsuites>\n");
    ev_rows_close(rows);
    return ev_sink_close(&sink, err);
}
