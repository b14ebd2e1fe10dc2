/*
 * section.c - the eval's section of the run report (report-section.json, the
 * generic structure the core renders into report.json and report.html):
 * summary cards, the cases (FAIL and ERROR first), the flips against the
 * baseline, a latency histogram and the provenance.
 *
 * Memory stays flat whatever the dataset's size: outcomes come from the
 * compact in-memory trials, and only the rows shown are read back from
 * eval.jsonl, by offset; every count in a note is over all the cases.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "report.h"
#include "report_rows.h"
#include "stats/quantile.h"

#define OUTPUT_CHARS  240 /* of an answer in a table cell */
#define MESSAGE_CHARS 480 /* of the failing assertions' messages */
#define HIST_BINS     20  /* at most, before the overflow bin */

/* A JSON string that is never NULL (jansson refuses invalid UTF-8). */
static json_t *str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("(not UTF-8)");
}

/* 1234567 -> "1,234,567": counts people read at a glance. */
static const char *grouped(char *buf, size_t size, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static void item(json_t *summary, const char *label, const char *status, const char *fmt, ...)
    SW_PRINTF(4, 5);
static void item(json_t *summary, const char *label, const char *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:o, s:o}", "label", str(label), "value", str(v));
    if (status)
        json_object_set_new(j, "status", json_string(status));
    json_array_append_new(summary, j);
    free(v);
}

static void count_item(json_t *summary, const char *label, const char *status, uint64_t n)
{
    char b[32];
    item(summary, label, status, "%s", grouped(b, sizeof b, n));
}

static json_t *summary_of(const ev_report_in *in, const ev_metrics *m)
{
    const ev_results *res = in->res;
    json_t *s = json_array();
    char b1[32], b2[32];
    count_item(s, "cases", res->not_run ? "warn" : NULL, (uint64_t)m->cases);
    if (res->not_run)
        item(s, "not run", "warn", "%s of %s", grouped(b1, sizeof b1, res->not_run),
             grouped(b2, sizeof b2, res->planned));
    count_item(s, "passed", m->passed ? "pass" : NULL, (uint64_t)m->passed);
    count_item(s, "failed", m->failed ? "fail" : NULL, (uint64_t)m->failed);
    count_item(s, "errors", m->errors ? "warn" : NULL, (uint64_t)m->errors);
    item(s, "pass rate", NULL, "%.1f%%", m->pass_rate * 100);
    item(s, "error rate", NULL, "%.1f%%", m->error_rate * 100);
    item(s, "score mean", NULL, "%.3f", m->score_mean);
    if (res->k > 1)
        item(s, "pass@k / pass^k", NULL, "%.3f / %.3f (k = %d)", m->pass_at_k, m->pass_all_k,
             res->k);
    /* A mock answers in a millisecond or two: a decimal there says something. */
    item(s, "latency p50", NULL, "%.*f ms", m->latency_p50_ms < 10 ? 1 : 0, m->latency_p50_ms);
    item(s, "latency p95", NULL, "%.*f ms", m->latency_p95_ms < 10 ? 1 : 0, m->latency_p95_ms);
    item(s, "tokens", NULL, "%s in / %s out", grouped(b1, sizeof b1, (uint64_t)m->tokens_in),
         grouped(b2, sizeof b2, (uint64_t)m->tokens_out));
    if (res->side[EV_CAND].cost_unknown)
        item(s, "cost", NULL, "unknown (no price table)");
    else
        item(s, "cost", NULL, "$%.4f ($%.6f per case)", m->cost_usd, m->cost_per_case_usd);
    if (res->sides > 1 || res->judge_calls)
        item(s, "total spend", NULL, "$%.4f (judge and baseline included)", res->total_usd);
    if (res->stop_reason[0])
        item(s, "stopped", "fail", "%s", res->stop_reason);
    /* The ratios are the pipeline's to judge: the cards show them, no verdict. */
    if (m->baseline_ran) {
        if (isfinite(m->cost_ratio))
            item(s, "cost per case vs production", NULL, "x%.3f [%.3f, %.3f] ($%.6f vs $%.6f)",
                 m->cost_ratio, m->cost_ratio_lo, m->cost_ratio_hi, m->cost_per_case_usd,
                 m->base_cost_per_case_usd);
        if (isfinite(m->latency_p95_ratio))
            item(s, "latency p95 vs production", NULL, "x%.3f [%.3f, %.3f] (%.*f ms vs %.*f ms)",
                 m->latency_p95_ratio, m->latency_p95_ratio_lo, m->latency_p95_ratio_hi,
                 m->latency_p95_ms < 10 ? 1 : 0, m->latency_p95_ms,
                 m->base_latency_p95_ms < 10 ? 1 : 0, m->base_latency_p95_ms);
    }
    if (m->has_baseline) {
        const ev_regression *g = &res->reg;
        count_item(s, "regressions", m->regressions ? "fail" : "pass", (uint64_t)m->regressions);
        count_item(s, "improvements", NULL, (uint64_t)m->improvements);
        item(s, "McNemar p", NULL, "%.4g", m->mcnemar_p);
        if (isfinite(g->diff_mean))
            item(s, "score difference", NULL, "%+.4f [%+.4f, %+.4f] at %.0f%%", g->diff_mean,
                 g->ci_lo, g->ci_hi, g->confidence * 100);
        item(s, "non-inferior", m->noninferior ? "pass" : "fail", "%s (margin %.3g)",
             m->noninferior ? "yes" : "no", g->margin);
    }
    return s;
}

/* Messages one per line become one line: a table cell. */
static char *why_of(const ev_case_rows *cr)
{
    const char *m = cr->messages && *cr->messages ? cr->messages : cr->first_message;
    sw_buf b = {0};
    for (const char *p = m ? m : ""; *p; p++) {
        if (*p != '\n')
            sw_buf_append(&b, p, 1);
        else if (p[1])
            sw_buf_puts(&b, "; ");
    }
    char *joined = sw_buf_steal(&b);
    char *out = ev_excerpt(joined, MESSAGE_CHARS);
    free(joined);
    return out;
}

static double round_to(double x, double unit)
{
    return round(x / unit) * unit;
}

static json_t *case_row(const ev_case_rows *cr)
{
    char *why = why_of(cr);
    char *out = ev_excerpt(cr->output, OUTPUT_CHARS);
    json_t *r = json_array();
    json_array_append_new(r, str(cr->id));
    json_array_append_new(r, json_string(cr->done ? ev_outcome_name(cr->outcome) : "NOT RUN"));
    json_array_append_new(r, cr->done ? json_real(round_to(cr->score, 1e-4)) : json_string(""));
    json_array_append_new(r, cr->done ? json_real(round_to(cr->latency_ms, 0.1)) : json_string(""));
    json_array_append_new(r, cr->done ? json_real(cr->cost_usd) : json_string(""));
    json_array_append_new(r, str(why));
    json_array_append_new(r, str(out));
    free(why);
    free(out);
    return r;
}

/* The tiers a case is shown in: what needs a look first. */
enum { TIER_BAD, TIER_NOTRUN, TIER_PASS, TIERS };

static int tier_of(const ev_results *res, size_t c, ev_outcome *o)
{
    double score;
    if (!ev_case_result(res, EV_CAND, c, o, &score))
        return TIER_NOTRUN;
    return *o == EV_PASS ? TIER_PASS : TIER_BAD;
}

static void left_out(sw_buf *b, const char *what, size_t total, size_t shown)
{
    char n[32];
    if (total <= shown)
        return;
    sw_buf_printf(b, "%s%s %s", b->len ? ", " : "", grouped(n, sizeof n, total - shown), what);
}

static json_t *cases_table(ev_rows *rows, const ev_results *res, size_t max_rows)
{
    /* [outcome or not run]: how many there are, how many are shown */
    enum { K_PASS, K_FAIL, K_ERROR, K_NOTRUN, KINDS };
    size_t total[KINDS] = {0}, shown[KINDS] = {0};
    json_t *list = json_array();
    size_t n = 0;
    for (int tier = 0; tier < TIERS; tier++)
        for (size_t c = 0; c < res->planned; c++) {
            ev_outcome o = EV_PASS;
            if (tier_of(res, c, &o) != tier)
                continue;
            int kind = tier == TIER_NOTRUN ? K_NOTRUN
                       : o == EV_PASS      ? K_PASS
                       : o == EV_FAIL      ? K_FAIL
                                           : K_ERROR;
            total[kind]++;
            if (n >= max_rows)
                continue;
            ev_case_rows cr;
            ev_rows_case(rows, EV_CAND, c, &cr);
            json_array_append_new(list, case_row(&cr));
            ev_case_rows_clear(&cr);
            shown[kind]++;
            n++;
        }
    json_t *t = json_pack("{s:s, s:[s, s, s, s, s, s, s], s:o, s:i}", "title", "Cases", "columns",
                          "case", "outcome", "score", "latency ms", "cost USD", "why", "output",
                          "rows", list, "filter", 1);
    if (n < res->planned) {
        sw_buf lo = {0};
        left_out(&lo, "FAIL", total[K_FAIL], shown[K_FAIL]);
        left_out(&lo, "ERROR", total[K_ERROR], shown[K_ERROR]);
        left_out(&lo, "not run", total[K_NOTRUN], shown[K_NOTRUN]);
        left_out(&lo, "PASS", total[K_PASS], shown[K_PASS]);
        char a[32], b[32];
        char *note =
            sw_xasprintf("showing %s of %s cases (FAIL and ERROR first, then not run, "
                         "then PASS); left out: %s; every sample is in eval.jsonl",
                         grouped(a, sizeof a, n), grouped(b, sizeof b, res->planned), lo.data);
        json_object_set_new(t, "note", str(note));
        free(note);
        sw_buf_free(&lo);
    }
    return t;
}

static json_t *flips_table(ev_rows *rows, const ev_results *res, size_t max_rows)
{
    const ev_regression *g = &res->reg;
    const struct {
        const char *label;
        const size_t *idx;
        size_t n;
    } flips[] = {{"pass→fail", g->regressed, g->regressions},
                 {"fail→pass", g->improved, g->improvements},
                 {"changed while both pass", g->changed, g->n_changed}};
    json_t *list = json_array();
    size_t n = 0, all = 0;
    sw_buf lo = {0};
    for (size_t k = 0; k < 3; k++) {
        size_t i = 0;
        for (; i < flips[k].n && n < max_rows; i++, n++) {
            ev_case_rows cand, base;
            ev_rows_case(rows, EV_CAND, flips[k].idx[i], &cand);
            ev_rows_case(rows, EV_BASE, flips[k].idx[i], &base);
            char *bo = ev_excerpt(base.output, OUTPUT_CHARS);
            char *co = ev_excerpt(cand.output, OUTPUT_CHARS);
            /* What failed: the candidate's, or for fail->pass the baseline's. */
            char *failed = why_of(cand.messages[0] ? &cand : &base);
            char *why = cand.messages[0] || !*failed ? sw_xstrdup(failed)
                                                     : sw_xasprintf("baseline: %s", failed);
            free(failed);
            json_array_append_new(list, json_pack("[o, s, o, o, o]", str(cand.id), flips[k].label,
                                                  str(bo), str(co), str(why)));
            free(bo);
            free(co);
            free(why);
            ev_case_rows_clear(&cand);
            ev_case_rows_clear(&base);
        }
        left_out(&lo, flips[k].label, flips[k].n, i);
        all += flips[k].n;
    }
    json_t *t = json_pack("{s:s, s:[s, s, s, s, s], s:o, s:i}", "title", "Flips against production",
                          "columns", "case", "flip", "baseline answer", "candidate answer", "why",
                          "rows", list, "filter", 1);
    if (n < all) {
        char a[32], b[32];
        char *note = sw_xasprintf("showing %s of %s (pass→fail first); left out: %s; every id is "
                                  "in eval-summary.json",
                                  grouped(a, sizeof a, n), grouped(b, sizeof b, all), lo.data);
        json_object_set_new(t, "note", str(note));
        free(note);
    }
    sw_buf_free(&lo);
    return t;
}

/* The smallest 1, 2 or 5 x 10^k at least raw: bin edges a person reads. */
static double nice_step(double raw)
{
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void edge_text(sw_buf *b, double v, int decimals)
{
    sw_buf_printf(b, "%.*f", decimals, v);
}

static json_t *hist_series(const char *name, const ev_side *s, double start, double step,
                           size_t bins, int overflow, int decimals)
{
    uint64_t *counts = sw_xcalloc(bins + 1, sizeof *counts);
    for (size_t i = 0; i < s->n_latencies; i++) {
        double b = floor((s->latencies[i] - start) / step + 1e-9);
        size_t at = b < 0 ? 0 : b >= (double)bins ? bins : (size_t)b;
        counts[at]++;
    }
    json_t *points = json_array();
    for (size_t i = 0; i < bins + (overflow ? 1 : 0); i++) {
        sw_buf label = {0};
        if (i == bins) {
            sw_buf_puts(&label, "≥ ");
            edge_text(&label, start + (double)bins * step, decimals);
        } else {
            edge_text(&label, start + (double)i * step, decimals);
            sw_buf_puts(&label, "-");
            edge_text(&label, start + (double)(i + 1) * step, decimals);
        }
        sw_buf_puts(&label, " ms");
        json_array_append_new(points, json_pack("[s, I]", label.data, (json_int_t)counts[i]));
        sw_buf_free(&label);
    }
    free(counts);
    return json_pack("{s:s, s:o}", "name", name, "points", points);
}

/*
 * Equal bins of a round width (1, 2 or 5 x 10^k ms) from the fastest sample
 * to the 99th percentile, and one more for the slowest 1% when it reaches
 * further: a single slow outlier would otherwise squash every bar into one.
 */
static json_t *latency_chart(const ev_results *res)
{
    json_t *series = json_array();
    double lo = INFINITY, hi = -INFINITY, p99 = -INFINITY;
    size_t n = 0;
    for (int side = 0; side < res->sides; side++) {
        const ev_side *s = &res->side[side];
        if (!s->n_latencies)
            continue;
        n += s->n_latencies;
        lo = fmin(lo, s->latencies[0]);
        hi = fmax(hi, s->latencies[s->n_latencies - 1]);
        p99 = fmax(p99, sw_quantile_sorted(s->latencies, s->n_latencies, 0.99));
    }
    const char *names[2] = {"candidate", "baseline"};
    if (n == 0) {
        json_array_append_new(series, json_pack("{s:s, s:[]}", "name", names[0], "points"));
    } else {
        double top = n >= 100 && p99 < hi ? p99 : hi;
        double step = nice_step(top > lo ? (top - lo) / HIST_BINS : 1);
        /* The epsilon: 0.5 / 0.05 is 9.999... in binary. */
        double start = floor(lo / step + 1e-9) * step;
        size_t bins = (size_t)floor((top - start) / step) + 1;
        int overflow = hi >= start + (double)bins * step;
        int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        for (int side = 0; side < res->sides; side++)
            json_array_append_new(series, hist_series(names[side], &res->side[side], start, step,
                                                      bins, overflow, decimals));
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "title", "Latency per sample (answers, not ERROR)",
                     "kind", "bar", "unit", "samples", "series", series);
}

static char *prov_text(const json_t *v)
{
    if (json_is_null(v) || !v)
        return sw_xstrdup("none");
    if (json_is_string(v))
        return sw_xstrdup(json_string_value(v));
    /* Prices per token: 2e-06, not 1.9999999999999999e-06. */
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    return t ? t : sw_xstrdup("?");
}

static json_t *provenance_table(const json_t *prov)
{
    json_t *rows = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)prov, k, v)
    {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2)
            {
                char *label = sw_xasprintf("%s: %s", k, k2);
                char *t = prov_text(v2);
                json_array_append_new(rows, json_pack("[o, o]", str(label), str(t)));
                free(label);
                free(t);
            }
            continue;
        }
        char *t = prov_text(v);
        json_array_append_new(rows, json_pack("[o, o]", str(k), str(t)));
        free(t);
    }
    return json_pack("{s:s, s:[s, s], s:o}", "title", "Provenance", "columns", "item", "value",
                     "rows", rows);
}

json_t *ev_section_json(const ev_report_in *in, size_t max_rows)
{
    const ev_results *res = in->res;
    ev_metrics m;
    ev_metrics_of(res, &m);
    int failed = in->failure || (m.has_baseline && !m.noninferior);
    char *title = sw_xasprintf("Eval: %s", in->stage_id ? in->stage_id : "eval");
    json_t *j = json_pack("{s:i, s:o, s:s, s:o}", "format", 1, "title", str(title), "status",
                          failed ? "fail" : "pass", "summary", summary_of(in, &m));
    free(title);
    ev_rows *rows = ev_rows_open(in->cfg, res);
    json_t *tables = json_array();
    json_array_append_new(tables, cases_table(rows, res, max_rows));
    if (res->has_reg)
        json_array_append_new(tables, flips_table(rows, res, max_rows));
    if (in->provenance)
        json_array_append_new(tables, provenance_table(in->provenance));
    ev_rows_close(rows);
    json_object_set_new(j, "tables", tables);
    json_object_set_new(j, "charts", json_pack("[o]", latency_chart(res)));
    if (in->failure) {
        char *text = sw_xasprintf("The measurement failed: %s", in->failure);
        json_object_set_new(j, "text", str(text));
        free(text);
    }
    return j;
}

int ev_write_section(const ev_report_in *in, const char *path, sw_err *err)
{
    json_t *j = ev_section_json(in, EV_SECTION_MAX_ROWS);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!text)
        return sw_err_set(err, "%s: the section could not be encoded", path);
    int rc = sw_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}
