/*
 * report_html.c - eval-report.html: one self-contained <section> (inline
 * CSS, JS and SVG, nothing fetched) that the run's HTML report can embed or
 * a browser can open as it is.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "report.h"
#include "report_rows.h"
#include "stats/quantile.h"

#define MAX_TABLE_ROWS 5000 /* cases listed; the rest are in eval.jsonl */
#define HIST_BINS      24

static const char style[] =
    "<style>\n"
    ".sw-eval{font:14px/1.4 system-ui,sans-serif;color:#1d2330;max-width:1200px}\n"
    ".sw-eval h2{font-size:20px;margin:16px 0 8px}.sw-eval h3{font-size:16px;margin:20px 0 6px}\n"
    ".sw-eval .tiles{display:flex;flex-wrap:wrap;gap:8px}\n"
    ".sw-eval .tile{border:1px solid #d7dbe3;border-radius:6px;padding:8px 12px;min-width:110px}\n"
    ".sw-eval .tile b{display:block;font-size:20px}\n"
    ".sw-eval table{border-collapse:collapse;width:100%;margin:6px 0}\n"
    ".sw-eval th,.sw-eval td{border-bottom:1px solid #e6e9ef;padding:4px 6px;text-align:left;"
    "vertical-align:top}\n"
    ".sw-eval td.msg,.sw-eval td.out{font-family:ui-monospace,monospace;font-size:12px;"
    "white-space:pre-wrap;max-width:460px;overflow-wrap:anywhere}\n"
    ".sw-eval .PASS{color:#176b2c;font-weight:600}.sw-eval .FAIL{color:#a4161a;font-weight:600}\n"
    ".sw-eval .ERROR{color:#8a5a00;font-weight:600}.sw-eval .NOTRUN{color:#666}\n"
    ".sw-eval .filters button{margin-right:4px}.sw-eval .filters button.on{font-weight:700}\n"
    ".sw-eval .note{color:#555}\n"
    "</style>\n";

static const char script[] =
    "<script>\n"
    "(function(){var s=document.currentScript.closest('.sw-eval');\n"
    "var rows=s.querySelectorAll('tr[data-outcome]'),want='ALL',q='';\n"
    "function apply(){rows.forEach(function(r){var ok=(want==='ALL'||r.dataset.outcome===want)"
    "&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);r.style.display=ok?'':'none';});}\n"
    "s.querySelectorAll('.filters button').forEach(function(b){b.addEventListener('click',"
    "function(){want=b.dataset.f;s.querySelectorAll('.filters button').forEach(function(x){"
    "x.classList.toggle('on',x===b);});apply();});});\n"
    "var i=s.querySelector('.filters input');if(i)i.addEventListener('input',function(){"
    "q=i.value.toLowerCase();apply();});})();\n"
    "</script>\n";

static void esc(sw_buf *b, const char *s)
{
    ev_xml_escape(b, s);
}

static void tile(sw_buf *b, const char *label, const char *fmt, ...) SW_PRINTF(3, 4);
static void tile(sw_buf *b, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_buf_puts(b, "<div class=\"tile\"><b>");
    esc(b, v);
    sw_buf_puts(b, "</b>");
    esc(b, label);
    sw_buf_puts(b, "</div>\n");
    free(v);
}

static void histogram(sw_buf *b, const ev_side *s, double p50, double p95)
{
    if (s->n_latencies == 0) {
        sw_buf_puts(b, "<p class=\"note\">No latency to show.</p>\n");
        return;
    }
    double edges[HIST_BINS + 1];
    uint64_t counts[HIST_BINS];
    sw_histogram(s->latencies, s->n_latencies, HIST_BINS, edges, counts);
    uint64_t max = 1;
    for (int i = 0; i < HIST_BINS; i++)
        if (counts[i] > max)
            max = counts[i];
    const double W = 720, H = 200, L = 50, B = 30, bw = (W - L - 10) / HIST_BINS;
    double lo = edges[0], hi = edges[HIST_BINS];
    double span = hi > lo ? hi - lo : 1;
    sw_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                  "role=\"img\" aria-label=\"latency histogram\">\n",
                  W, H + B);
    for (int i = 0; i < HIST_BINS; i++) {
        double h = (double)counts[i] / (double)max * (H - 10);
        sw_buf_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"#5b7bd5\"><title>%.1f-%.1f ms: %llu</title></rect>\n",
                      L + i * bw + 1, H - h, bw - 2, h, edges[i], edges[i + 1],
                      (unsigned long long)counts[i]);
    }
    double marks[2] = {p50, p95};
    const char *names[2] = {"p50", "p95"};
    for (int m = 0; m < 2; m++) {
        double x = L + (marks[m] - lo) / span * (W - L - 10);
        sw_buf_printf(b,
                      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%.0f\" stroke=\"#a4161a\" "
                      "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"12\" font-size=\"11\" "
                      "fill=\"#a4161a\">%s %.1f ms</text>\n",
                      x, x, H, x + 3, names[m], marks[m]);
    }
    sw_buf_printf(b, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", L,
                  W - 10, H, H);
    sw_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%.1f ms</text>\n", L, H + 16,
                  lo);
    sw_buf_printf(b,
                  "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%.1f "
                  "ms</text>\n",
                  W - 10, H + 16, hi);
    sw_buf_printf(b, "<text x=\"0\" y=\"12\" font-size=\"11\">%llu</text>\n",
                  (unsigned long long)max);
    sw_buf_puts(b, "</svg>\n");
}

static void case_row(sw_buf *b, const ev_case_rows *cr)
{
    const char *o = cr->done ? ev_outcome_name(cr->outcome) : "NOTRUN";
    sw_buf_printf(b, "<tr data-outcome=\"%s\"><td>", o);
    esc(b, cr->id);
    sw_buf_printf(b,
                  "</td><td class=\"%s\">%s</td><td>%.3f</td><td>%.1f</td><td>%.6f</td>"
                  "<td class=\"msg\">",
                  o, cr->done ? o : "not run", cr->score, cr->latency_ms, cr->cost_usd);
    esc(b, cr->messages);
    sw_buf_puts(b, "</td><td class=\"out\">");
    char *ex = ev_excerpt(cr->output, 400);
    esc(b, ex);
    free(ex);
    sw_buf_puts(b, "</td></tr>\n");
}

static void cases_table(ev_sink *sink, ev_rows *rows, const ev_results *res)
{
    sw_buf *b = &sink->b;
    sw_buf_puts(b, "<h3>Cases</h3>\n<div class=\"filters\">"
                   "<button data-f=\"ALL\" class=\"on\">all</button>"
                   "<button data-f=\"PASS\">pass</button><button data-f=\"FAIL\">fail</button>"
                   "<button data-f=\"ERROR\">error</button><button data-f=\"NOTRUN\">not "
                   "run</button> <input type=\"search\" placeholder=\"filter by text\"></div>\n");
    sw_buf_puts(b, "<table class=\"cases\"><thead><tr><th>case</th><th>outcome</th>"
                   "<th>score</th><th>latency ms</th><th>cost USD</th><th>why</th>"
                   "<th>output</th></tr></thead><tbody>\n");
    /* What needs a look first: everything not passing, then the passes. */
    size_t shown = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t c = 0; c < res->planned && shown < MAX_TABLE_ROWS; c++) {
            ev_outcome o;
            double sc;
            int done = ev_case_result(res, EV_CAND, c, &o, &sc);
            if ((pass == 0) == (done && o == EV_PASS))
                continue;
            ev_case_rows cr;
            ev_rows_case(rows, EV_CAND, c, &cr);
            case_row(b, &cr);
            ev_case_rows_clear(&cr);
            ev_sink_spill(sink);
            shown++;
        }
    sw_buf_puts(b, "</tbody></table>\n");
    if (shown < res->planned)
        sw_buf_printf(b,
                      "<p class=\"note\">%zu of %zu cases shown; every sample is in "
                      "eval.jsonl.</p>\n",
                      shown, res->planned);
}

static void flips(ev_sink *sink, ev_rows *rows, const ev_results *res)
{
    sw_buf *b = &sink->b;
    const ev_regression *g = &res->reg;
    sw_buf_puts(b, "<h3>Against the baseline</h3>\n<table><tbody>\n");
    sw_buf_printf(b,
                  "<tr><th>paired cases</th><td>%zu (%zu left out: an ERROR or not run on "
                  "a side)</td></tr>\n",
                  g->paired, g->excluded);
    sw_buf_printf(b,
                  "<tr><th>pass &rarr; fail (regressions)</th><td>%zu</td></tr>\n"
                  "<tr><th>fail &rarr; pass (improvements)</th><td>%zu</td></tr>\n"
                  "<tr><th>both pass / both fail</th><td>%zu / %zu</td></tr>\n",
                  g->regressions, g->improvements, g->both_pass, g->both_fail);
    sw_buf_printf(b, "<tr><th>McNemar exact p (two-sided)</th><td>%.4g</td></tr>\n", g->mcnemar_p);
    if (isfinite(g->diff_mean))
        sw_buf_printf(b,
                      "<tr><th>score difference (candidate - baseline)</th><td>%+.4f, "
                      "%.0f%% bootstrap CI [%+.4f, %+.4f] (%zu resamples, seed %llu)</td>"
                      "</tr>\n",
                      g->diff_mean, g->confidence * 100, g->ci_lo, g->ci_hi, g->resamples,
                      (unsigned long long)g->seed);
    sw_buf_printf(b, "<tr><th>non-inferior at margin %.3g</th><td class=\"%s\">%s</td></tr>\n",
                  g->margin, g->noninferior ? "PASS" : "FAIL", g->noninferior ? "yes" : "no");
    sw_buf_puts(b, "</tbody></table>\n");
    const struct {
        const char *title;
        const size_t *idx;
        size_t n;
    } lists[] = {{"Flips: pass &rarr; fail", g->regressed, g->regressions},
                 {"Flips: fail &rarr; pass", g->improved, g->improvements},
                 {"Changed while both pass (for review)", g->changed, g->n_changed}};
    for (size_t l = 0; l < 3; l++) {
        sw_buf_printf(b, "<h3>%s (%zu)</h3>\n", lists[l].title, lists[l].n);
        if (!lists[l].n)
            continue;
        sw_buf_puts(b, "<table><thead><tr><th>case</th><th>baseline</th><th>candidate</th>"
                       "<th>why</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < lists[l].n && i < MAX_TABLE_ROWS; i++) {
            ev_case_rows cand, base;
            ev_rows_case(rows, EV_CAND, lists[l].idx[i], &cand);
            ev_rows_case(rows, EV_BASE, lists[l].idx[i], &base);
            sw_buf_puts(b, "<tr><td>");
            esc(b, cand.id);
            sw_buf_puts(b, "</td><td class=\"out\">");
            char *ex = ev_excerpt(base.output, 400);
            esc(b, ex);
            free(ex);
            sw_buf_puts(b, "</td><td class=\"out\">");
            ex = ev_excerpt(cand.output, 400);
            esc(b, ex);
            free(ex);
            sw_buf_puts(b, "</td><td class=\"msg\">");
            esc(b, cand.messages[0] ? cand.messages : base.messages);
            sw_buf_puts(b, "</td></tr>\n");
            ev_case_rows_clear(&cand);
            ev_case_rows_clear(&base);
            ev_sink_spill(sink);
        }
        sw_buf_puts(b, "</tbody></table>\n");
    }
}

static void provenance(sw_buf *b, const json_t *prov)
{
    sw_buf_puts(b, "<h3>Provenance</h3>\n<table><tbody>\n");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)prov, k, v)
    {
        sw_buf_puts(b, "<tr><th>");
        esc(b, k);
        sw_buf_puts(b, "</th><td class=\"msg\">");
        char *t = json_is_string(v) ? sw_xstrdup(json_string_value(v))
                                    : json_dumps(v, JSON_INDENT(1) | JSON_ENCODE_ANY);
        esc(b, t);
        free(t);
        sw_buf_puts(b, "</td></tr>\n");
    }
    sw_buf_puts(b, "</tbody></table>\n");
}

int ev_write_html(const ev_report_in *in, const char *path, sw_err *err)
{
    const ev_results *res = in->res;
    ev_metrics m;
    ev_metrics_of(res, &m);
    ev_sink sink;
    if (ev_sink_open(&sink, path, err) < 0)
        return -1;
    sw_buf *b = &sink.b;
    ev_rows *rows = ev_rows_open(in->cfg, res);
    sw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<title>eval</title></head><body>\n");
    sw_buf_printf(b, "<section class=\"sw-eval\" id=\"eval-");
    esc(b, in->stage_id ? in->stage_id : "eval");
    sw_buf_puts(b, "\">\n");
    sw_buf_puts(b, style);
    sw_buf_puts(b, "<h2>Eval: ");
    esc(b, in->stage_id ? in->stage_id : "eval");
    sw_buf_puts(b, "</h2>\n");
    if (res->stop_reason[0]) {
        sw_buf_puts(b, "<p class=\"ERROR\">Stopped early: ");
        esc(b, res->stop_reason);
        sw_buf_printf(b, " (%zu of %zu cases not run)</p>\n", res->not_run, res->planned);
    }
    sw_buf_puts(b, "<div class=\"tiles\">\n");
    tile(b, "cases", "%lld", (long long)m.cases);
    tile(b, "pass rate", "%.1f%%", m.pass_rate * 100);
    tile(b, "passed / failed", "%lld / %lld", (long long)m.passed, (long long)m.failed);
    tile(b, "errors", "%lld (%.1f%%)", (long long)m.errors, m.error_rate * 100);
    tile(b, "mean score", "%.3f", m.score_mean);
    tile(b, "latency p50 / p95", "%.0f / %.0f ms", m.latency_p50_ms, m.latency_p95_ms);
    tile(b, "cost (per case)", "$%.4f ($%.6f)", m.cost_usd, m.cost_per_case_usd);
    if (res->k > 1)
        tile(b, "pass@k / pass^k", "%.3f / %.3f", m.pass_at_k, m.pass_all_k);
    if (m.has_baseline) {
        tile(b, "regressions / improvements", "%lld / %lld", (long long)m.regressions,
             (long long)m.improvements);
        tile(b, "McNemar p", "%.4g", m.mcnemar_p);
        tile(b, "non-inferior", "%s", m.noninferior ? "yes" : "no");
    }
    sw_buf_puts(b, "</div>\n");
    if (res->has_reg)
        flips(&sink, rows, res);
    sw_buf_puts(b, "<h3>Latency (candidate, per sample)</h3>\n");
    histogram(b, &res->side[EV_CAND], m.latency_p50_ms, m.latency_p95_ms);
    cases_table(&sink, rows, res);
    if (in->provenance)
        provenance(b, in->provenance);
    sw_buf_puts(b, script);
    sw_buf_puts(b, "</section>\n</body></html>\n");
    ev_rows_close(rows);
    return ev_sink_close(&sink, err);
}
