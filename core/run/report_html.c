/*
 * report_html.c - report.html from the report's JSON.
 *
 * The page is built from the same json_t as report.json, so the two never
 * disagree. It must open anywhere (a CI artifact, a mail attachment, a laptop
 * offline), so everything is inline and nothing points to the network. The
 * only script wires the table filter buttons; without it the page is complete,
 * just unfiltered. Every string from the report passes through sw_html_escape.
 */
#include "run/report_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "run/report.h"
#include "run/svg_chart.h"

/* Bounds on what one page shows, so a runaway section cannot make it unusable. */
#define MAX_TABLE_ROWS    5000
#define MAX_TIMELINE_ROWS 3000
#define MAX_FILTER_VALUES 24

void sw_html_escape(sw_buf *b, const char *text)
{
    if (!text)
        return;
    const char *run = text;
    for (const char *p = text; *p; p++) {
        const char *rep;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        sw_buf_append(b, run, (size_t)(p - run));
        sw_buf_puts(b, rep);
        run = p + 1;
    }
    sw_buf_puts(b, run);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *known_status(const char *s)
{
    static const char *const names[] = {"pass", "fail", "warn", "info"};
    for (size_t i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return names[i];
    return NULL;
}

static const char *state_status(const char *state)
{
    if (strcmp(state, "succeeded") == 0 || strcmp(state, "passed") == 0)
        return "pass";
    if (strcmp(state, "failed") == 0 || strcmp(state, "error") == 0 ||
        strcmp(state, "timed_out") == 0 || strcmp(state, "crashed") == 0)
        return "fail";
    if (strcmp(state, "cancelled") == 0 || strcmp(state, "interrupted") == 0)
        return "warn";
    return "info";
}

/* Cells, summary values: strings as they are, numbers short, anything else as JSON. */
static char *cell_text(const json_t *v)
{
    if (json_is_string(v))
        return sw_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return sw_xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return sw_xasprintf("%.6g", json_real_value(v));
    if (json_is_true(v))
        return sw_xstrdup("true");
    if (json_is_false(v))
        return sw_xstrdup("false");
    if (!v || json_is_null(v))
        return sw_xstrdup("");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = sw_xstrdup(s ? s : "");
    free(s);
    return out;
}

static void fmt_duration(char *out, size_t n, double ms)
{
    if (!(ms >= 0) || !isfinite(ms))
        snprintf(out, n, "-");
    else if (ms < 60000)
        snprintf(out, n, "%.2f s", ms / 1000);
    else if (ms < 3600000)
        snprintf(out, n, "%.0f min %02.0f s", floor(ms / 60000), floor(fmod(ms / 1000, 60)));
    else
        snprintf(out, n, "%.0f h %02.0f min", floor(ms / 3600000), floor(fmod(ms / 60000, 60)));
}

/* A time relative to the run's start: "+12.34 s", "+3 min 05 s". */
static void fmt_rel(char *out, size_t n, double ms)
{
    if (n < 2)
        return;
    out[0] = ms < 0 ? '-' : '+';
    fmt_duration(out + 1, n - 1, fabs(ms));
}

static void badge(sw_buf *b, const char *status, const char *text)
{
    sw_buf_printf(b, "<span class=\"badge s-%s\">", status ? status : "info");
    sw_html_escape(b, text);
    sw_buf_puts(b, "</span>");
}

static void tag(sw_buf *b, const char *open, const char *text, const char *close)
{
    sw_buf_puts(b, open);
    sw_html_escape(b, text);
    sw_buf_puts(b, close);
}

static const char css[] =
    ":root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--info:#57606a;--line:#d0d7de;"
    "--soft:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,Helvetica,Arial,sans-serif;color:#1f2328;background:#fff;max-width:1180px}"
    "h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:32px 0 10px;padding-bottom:4px;"
    "border-bottom:1px solid var(--line)}h3{font-size:17px;margin:0 0 10px}"
    "h4{font-size:14px;margin:18px 0 6px}"
    ".meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}"
    ".meta dt{color:var(--info)}.meta dd{margin:0}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
    "font-weight:600;color:#fff;background:var(--info);vertical-align:middle;white-space:nowrap}"
    ".badge.s-pass{background:var(--pass)}.badge.s-fail{background:var(--fail)}"
    ".badge.s-warn{background:var(--warn)}"
    ".failure{border:1px solid var(--fail);border-left:6px solid var(--fail);"
    "background:#ffebe9;padding:10px 14px;border-radius:6px;margin:16px 0}"
    ".failure b{color:var(--fail)}"
    "table{border-collapse:collapse;width:100%;margin:6px 0 4px;font-size:13px}"
    "th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;"
    "overflow-wrap:break-word}"
    "th{background:var(--soft);font-weight:600;white-space:nowrap}"
    "td.long{overflow-wrap:anywhere;min-width:14em}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr.s-pass td:first-child{border-left:4px solid var(--pass)}"
    "tr.s-fail td:first-child{border-left:4px solid var(--fail)}"
    "tr.s-warn td:first-child{border-left:4px solid var(--warn)}"
    "tr.s-info td:first-child{border-left:4px solid #afb8c1}"
    "tr.s-fail{background:#fff5f5}"
    ".t-pass{color:var(--pass);font-weight:600}.t-fail{color:var(--fail);font-weight:600}"
    ".t-warn{color:var(--warn);font-weight:600}.t-info{color:var(--info)}"
    ".muted{color:var(--info);font-weight:400;font-size:13px}"
    ".section{border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:16px 0}"
    ".unreadable{color:var(--fail)}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 10px}"
    ".card{border:1px solid var(--line);border-top:4px solid #afb8c1;border-radius:6px;"
    "padding:6px 12px;min-width:120px}"
    ".card.s-pass{border-top-color:var(--pass)}.card.s-fail{border-top-color:var(--fail)}"
    ".card.s-warn{border-top-color:var(--warn)}"
    ".card .label{color:var(--info);font-size:12px}.card .value{font-size:18px;font-weight:600}"
    "figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:4px}"
    "svg.chart{width:100%;max-width:760px;height:auto;display:block;background:#fff}"
    "svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#57606a;stroke-width:1}"
    "svg .frame{fill:var(--soft);stroke:var(--line)}"
    "svg .series{fill:none;stroke-width:2;stroke-linejoin:round}"
    "svg .mark{stroke:#24292f;stroke-width:1.2;stroke-dasharray:5 4}"
    "svg text{font:12px system-ui,sans-serif;fill:#1f2328}svg .tick{fill:#57606a}"
    "svg .axis-title{fill:#57606a}svg .mark-label{font-weight:600}"
    "svg .nodata{fill:#57606a;font-size:15px}svg .bar-value{font-size:11px}"
    "svg .row-label{font-size:12px}"
    ".note{color:var(--info);font-size:12px;margin:2px 0 8px}"
    ".text{white-space:pre-wrap}"
    ".clip{max-height:9em;overflow:auto}"
    "details.outputs summary{cursor:pointer;color:var(--info);margin:4px 0}"
    ".filters{display:none;flex-wrap:wrap;gap:6px;margin:6px 0}"
    "body[data-filters=ready] .filters{display:flex}"
    ".filters button{font:inherit;font-size:12px;padding:2px 10px;border:1px solid var(--line);"
    "border-radius:12px;background:#fff;cursor:pointer}"
    ".filters button.on{background:#1f2328;color:#fff;border-color:#1f2328}"
    "footer{margin-top:36px;color:var(--info);font-size:12px}"
    "@media print{body{padding:0;max-width:none}.filters{display:none!important}"
    ".section,figure,table{break-inside:avoid-page}}";

/* Wires the filter buttons; marks the body so the buttons show (and tests can see it ran). */
static const char script[] =
    "(function(){"
    "var bars=document.querySelectorAll('.filters');"
    "for(var i=0;i<bars.length;i++)(function(bar){"
    "var table=document.getElementById(bar.getAttribute('data-table'));"
    "if(!table)return;"
    "bar.addEventListener('click',function(e){"
    "var btn=e.target.closest('button');if(!btn)return;"
    "var all=btn.hasAttribute('data-all'),v=btn.getAttribute('data-value');"
    "var bs=bar.querySelectorAll('button');"
    "for(var k=0;k<bs.length;k++)bs[k].classList.toggle('on',bs[k]===btn);"
    "var rows=table.tBodies[0].rows;"
    "for(var r=0;r<rows.length;r++)rows[r].hidden=!(all||rows[r].getAttribute('data-f')===v);"
    "});"
    "})(bars[i]);"
    "document.body.setAttribute('data-filters','ready');"
    "})();";

typedef struct page {
    sw_buf b;
    double t0; /* the run's start, epoch ms; 0 when unknown */
    int n_tables;
} page;

/* Buttons for the distinct values of a column (texts: its cells as rendered);
   empty_label names the empty value. */
static void filter_bar(page *pg, char **texts, size_t n, const char *table_id,
                       const char *empty_label)
{
    char *vals[MAX_FILTER_VALUES];
    size_t counts[MAX_FILTER_VALUES], n_vals = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < n_vals && strcmp(vals[k], texts[i]) != 0)
            k++;
        if (k < n_vals) {
            counts[k]++;
        } else if (n_vals < MAX_FILTER_VALUES) {
            vals[n_vals] = texts[i];
            counts[n_vals++] = 1;
        }
    }
    sw_buf *b = &pg->b;
    sw_buf_printf(b, "<div class=\"filters\" data-table=\"%s\">", table_id);
    sw_buf_printf(b, "<button type=\"button\" class=\"on\" data-all=\"\">all (%zu)</button>", n);
    for (size_t k = 0; k < n_vals; k++) {
        sw_buf_puts(b, "<button type=\"button\" data-value=\"");
        sw_html_escape(b, vals[k]);
        sw_buf_puts(b, "\">");
        sw_html_escape(b, *vals[k] ? vals[k] : empty_label);
        sw_buf_printf(b, " (%zu)</button>", counts[k]);
    }
    sw_buf_puts(b, "</div>");
}

/* Texts that read as a verdict get its colour, whatever plugin wrote them. */
static const char *verdict_class(const char *text)
{
    static const struct {
        const char *word, *cls;
    } words[] = {{"pass", "t-pass"}, {"passed", "t-pass"}, {"ok", "t-pass"},
                 {"fail", "t-fail"}, {"failed", "t-fail"}, {"error", "t-fail"},
                 {"warn", "t-warn"}, {"timeout", "t-fail"}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(text, words[i].word) == 0)
            return words[i].cls;
    return NULL;
}

/* ---- the run ---- */

static void header(page *pg, const json_t *r)
{
    sw_buf *b = &pg->b;
    const char *status = str(r, "status");
    tag(b, "<header><h1>", *str(r, "name") ? str(r, "name") : "run", " ");
    badge(b, state_status(status), status);
    sw_buf_puts(b, "</h1><dl class=\"meta\">");
    tag(b, "<dt>run</dt><dd>", str(r, "run_id"), "</dd>");
    tag(b, "<dt>pipeline</dt><dd>", str(r, "pipeline"), "</dd>");
    tag(b, "<dt>started</dt><dd>", str(r, "started_at"), "</dd>");
    tag(b, "<dt>finished</dt><dd>", str(r, "finished_at"), "</dd>");
    int64_t t1 = sw_report_time_ms(str(r, "finished_at"));
    double took = pg->t0 > 0 && t1 > 0 ? (double)t1 - pg->t0
                                       : json_number_value(json_object_get(r, "duration_ms"));
    char d[48];
    fmt_duration(d, sizeof d, took);
    tag(b, "<dt>duration</dt><dd>", d, "</dd>");
    if (json_is_true(json_object_get(r, "resumed")))
        sw_buf_puts(b, "<dt>resumed</dt><dd>yes: this run was interrupted and resumed</dd>");
    sw_buf_printf(b, "<dt>exit code</dt><dd>%lld</dd>",
                  (long long)json_integer_value(json_object_get(r, "exit_code")));
    sw_buf_puts(b, "</dl></header>");

    json_t *failure = json_object_get(r, "failure");
    if (json_is_object(failure)) {
        tag(b, "<div class=\"failure\"><b>Failed</b> at stage <b>", str(failure, "stage"),
            "</b>: ");
        tag(b, "<span class=\"reason\">", str(failure, "reason"), "</span></div>");
    }
}

static void stages_table(page *pg, const json_t *r)
{
    sw_buf *b = &pg->b;
    sw_buf_puts(b, "<h2>Stages</h2><table class=\"stages\"><thead><tr><th>stage</th><th>uses</th>"
                   "<th>state</th><th>duration</th><th>gate</th><th>reason</th></tr></thead>"
                   "<tbody>");
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(r, "stages"), i, st)
    {
        const char *state = str(st, "state");
        sw_buf_printf(b, "<tr class=\"s-%s\">", state_status(state));
        tag(b, "<td>", str(st, "id"), "");
        if (strcmp(str(st, "list"), "on_failure") == 0)
            sw_buf_puts(b, " <span class=\"muted\">on_failure</span>");
        else if (json_is_true(json_object_get(st, "background")))
            sw_buf_puts(b, " <span class=\"muted\">background</span>");
        tag(b, "</td><td>", str(st, "uses"), "</td><td>");
        badge(b, state_status(state), state);
        json_t *ms = json_object_get(st, "duration_ms");
        char d[48] = "";
        if (json_is_number(ms))
            fmt_duration(d, sizeof d, json_number_value(ms));
        tag(b, "</td><td class=\"num\">", d, "</td><td>");
        const char *gate = str(st, "gate");
        if (*gate)
            badge(b, strcmp(gate, "passed") == 0 ? "pass" : "fail", gate);
        tag(b, "</td><td class=\"long\">", str(st, "reason"), "</td></tr>");
    }
    sw_buf_puts(b, "</tbody></table>");
}

static void timeline(page *pg, const json_t *r)
{
    sw_buf *b = &pg->b;
    const json_t *stages = json_object_get(r, "stages");
    const json_t *events = json_object_get(r, "timeline");
    sw_buf_puts(b, "<h2>Timeline</h2>");

    size_t n_st = json_array_size(stages), n_ev = json_array_size(events);
    sw_svg_span *spans = sw_xcalloc(n_st + 1, sizeof *spans);
    size_t n_spans = 0, i;
    int64_t t1 = sw_report_time_ms(str(r, "finished_at"));
    json_t *st;
    json_array_foreach(stages, i, st)
    {
        int64_t start = sw_report_time_ms(str(st, "started_at"));
        json_t *ms = json_object_get(st, "duration_ms");
        if (start < 0)
            continue;
        double end = json_is_number(ms) ? (double)start + json_number_value(ms)
                     : t1 > start       ? (double)t1
                                        : (double)start;
        spans[n_spans++] = (sw_svg_span){.label = str(st, "id"),
                                         .start = (double)start,
                                         .end = end,
                                         .status = state_status(str(st, "state"))};
    }
    size_t n_dots = n_ev < MAX_TIMELINE_ROWS ? n_ev : MAX_TIMELINE_ROWS;
    sw_svg_dot *dots = sw_xcalloc(n_dots + 1, sizeof *dots);
    char **titles = sw_xcalloc(n_dots + 1, sizeof *titles);
    for (i = 0; i < n_dots; i++) {
        json_t *ev = json_array_get(events, i);
        double t = json_number_value(json_object_get(ev, "t"));
        char rel[48];
        fmt_rel(rel, sizeof rel, t - pg->t0);
        titles[i] = sw_xasprintf("%s %s%s%s", rel, str(ev, "stage"), *str(ev, "stage") ? ": " : "",
                                 str(ev, "label"));
        const char *s = known_status(str(ev, "status"));
        dots[i] = (sw_svg_dot){.t = t, .status = s ? s : "info", .title = titles[i]};
    }
    if (pg->t0 > 0 && (n_spans || n_dots))
        sw_svg_gantt(b, spans, n_spans, dots, n_dots, pg->t0, t1 > 0 ? (double)t1 : pg->t0);
    for (i = 0; i < n_dots; i++)
        free(titles[i]);
    free(titles);
    free(dots);
    free(spans);

    if (n_ev == 0) {
        sw_buf_puts(b, "<p class=\"note\">no events</p>");
        return;
    }
    size_t shown = n_ev < MAX_TIMELINE_ROWS ? n_ev : MAX_TIMELINE_ROWS;
    char id[32];
    snprintf(id, sizeof id, "t%d", pg->n_tables++);
    char **stage_names = sw_xcalloc(shown + 1, sizeof *stage_names);
    for (i = 0; i < shown; i++)
        stage_names[i] = (char *)str(json_array_get(events, i), "stage");
    filter_bar(pg, stage_names, shown, id, "(run)");
    free(stage_names);
    sw_buf_printf(b,
                  "<table class=\"timeline\" id=\"%s\"><thead><tr><th>time</th><th>stage</th>"
                  "<th>event</th></tr></thead><tbody>",
                  id);
    for (i = 0; i < shown; i++) {
        json_t *ev = json_array_get(events, i);
        const char *s = known_status(str(ev, "status"));
        char rel[48];
        fmt_rel(rel, sizeof rel, json_number_value(json_object_get(ev, "t")) - pg->t0);
        sw_buf_printf(b, "<tr class=\"s-%s\" data-f=\"", s ? s : "info");
        sw_html_escape(b, str(ev, "stage"));
        tag(b, "\"><td class=\"num\">", rel, "</td>");
        tag(b, "<td>", str(ev, "stage"), "</td>");
        sw_buf_printf(b, "<td class=\"long t-%s\">", s ? s : "info");
        sw_html_escape(b, str(ev, "label"));
        sw_buf_puts(b, "</td></tr>");
    }
    sw_buf_puts(b, "</tbody></table>");
    if (shown < n_ev)
        sw_buf_printf(b, "<p class=\"note\">showing the first %zu of %zu events</p>", shown, n_ev);
}

/* ---- sections ---- */

static void summary_cards(page *pg, const json_t *summary)
{
    if (!json_is_array(summary) || json_array_size(summary) == 0)
        return;
    sw_buf *b = &pg->b;
    sw_buf_puts(b, "<div class=\"cards\">");
    size_t i;
    json_t *item;
    json_array_foreach(summary, i, item)
    {
        if (!json_is_object(item))
            continue;
        const char *s = known_status(str(item, "status"));
        char *value = cell_text(json_object_get(item, "value"));
        sw_buf_printf(b, "<div class=\"card s-%s\">", s ? s : "none");
        tag(b, "<div class=\"label\">", str(item, "label"), "</div>");
        sw_buf_printf(b, "<div class=\"value%s%s\">", s ? " t-" : "", s ? s : "");
        sw_html_escape(b, value);
        sw_buf_puts(b, "</div></div>");
        free(value);
    }
    sw_buf_puts(b, "</div>");
}

static void section_table(page *pg, const json_t *t)
{
    sw_buf *b = &pg->b;
    const json_t *cols = json_object_get(t, "columns"), *rows = json_object_get(t, "rows");
    size_t n_cols = json_array_size(cols);
    size_t n_rows = json_array_size(rows);
    size_t shown = n_rows < MAX_TABLE_ROWS ? n_rows : MAX_TABLE_ROWS;
    if (json_is_string(json_object_get(t, "title")))
        tag(b, "<h4>", str(t, "title"), "</h4>");
    /* Column count: the header's, or the widest row when there is no header. */
    size_t width = n_cols;
    for (size_t i = 0; i < shown && !n_cols; i++)
        if (json_array_size(json_array_get(rows, i)) > width)
            width = json_array_size(json_array_get(rows, i));
    json_t *jf = json_object_get(t, "filter");
    long long fcol = json_is_integer(jf) ? (long long)json_integer_value(jf) : -1;
    int filtered = fcol >= 0 && (size_t)fcol < width && shown > 0;

    char id[32];
    snprintf(id, sizeof id, "t%d", pg->n_tables++);
    char **ftexts = filtered ? sw_xcalloc(shown + 1, sizeof *ftexts) : NULL;
    if (filtered) {
        for (size_t i = 0; i < shown; i++)
            ftexts[i] = cell_text(json_array_get(json_array_get(rows, i), (size_t)fcol));
        filter_bar(pg, ftexts, shown, id, "(empty)");
    }
    sw_buf_printf(b, "<table class=\"data\" id=\"%s\">", id);
    if (n_cols) {
        sw_buf_puts(b, "<thead><tr>");
        size_t i;
        json_t *c;
        json_array_foreach(cols, i, c)
        {
            char *text = cell_text(c);
            tag(b, "<th>", text, "</th>");
            free(text);
        }
        sw_buf_puts(b, "</tr></thead>");
    }
    sw_buf_puts(b, "<tbody>");
    for (size_t i = 0; i < shown; i++) {
        json_t *row = json_array_get(rows, i);
        if (filtered) {
            sw_buf_puts(b, "<tr data-f=\"");
            sw_html_escape(b, ftexts[i]);
            sw_buf_puts(b, "\">");
        } else {
            sw_buf_puts(b, "<tr>");
        }
        for (size_t k = 0; k < width; k++) {
            json_t *cell = json_array_get(row, k);
            char *text = cell_text(cell);
            /* Long texts may break anywhere; short ones keep their words whole. */
            const char *cls = json_is_number(cell) ? "num"
                              : strlen(text) > 40  ? "long"
                                                   : verdict_class(text);
            if (cls)
                sw_buf_printf(b, "<td class=\"%s\">", cls);
            else
                sw_buf_puts(b, "<td>");
            sw_html_escape(b, text);
            sw_buf_puts(b, "</td>");
            free(text);
        }
        sw_buf_puts(b, "</tr>");
    }
    sw_buf_puts(b, "</tbody></table>");
    if (ftexts) {
        for (size_t i = 0; i < shown; i++)
            free(ftexts[i]);
        free(ftexts);
    }
    if (shown < n_rows)
        sw_buf_printf(b, "<p class=\"note\">the page shows the first %zu of %zu rows</p>", shown,
                      n_rows);
    if (json_is_string(json_object_get(t, "note")))
        tag(b, "<p class=\"note\">", str(t, "note"), "</p>");
}

static void section(page *pg, const json_t *entry)
{
    sw_buf *b = &pg->b;
    const char *stage = str(entry, "stage");
    const json_t *sec = json_object_get(entry, "section");
    const char *title = json_is_string(json_object_get(sec, "title")) ? str(sec, "title") : stage;
    sw_buf_puts(b, "<section class=\"section\" data-stage=\"");
    sw_html_escape(b, stage);
    tag(b, "\"><h3>", title, " ");
    const char *s = known_status(str(sec, "status"));
    if (s)
        badge(b, s, s);
    tag(b, " <span class=\"muted\">stage ", stage, "");
    if (*str(entry, "uses"))
        tag(b, " (", str(entry, "uses"), ")");
    sw_buf_puts(b, "</span></h3>");
    if (!json_is_object(sec)) {
        tag(b, "<p class=\"unreadable\">section unreadable: ",
            *str(entry, "error") ? str(entry, "error") : "no section", "</p></section>");
        return;
    }
    summary_cards(pg, json_object_get(sec, "summary"));
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(sec, "charts"), i, item)
    {
        if (!json_is_object(item))
            continue;
        tag(b, "<figure><figcaption>", str(item, "title"), "</figcaption>");
        sw_svg_chart(b, item, pg->t0);
        sw_buf_puts(b, "</figure>");
    }
    json_array_foreach(json_object_get(sec, "tables"), i, item)
    {
        if (json_is_object(item))
            section_table(pg, item);
    }
    if (json_is_string(json_object_get(sec, "text")))
        tag(b, "<p class=\"text\">", str(sec, "text"), "</p>");
    sw_buf_puts(b, "</section>");
}

static void outputs(page *pg, const json_t *r)
{
    sw_buf *b = &pg->b;
    const json_t *outs = json_object_get(r, "outputs");
    const json_t *arts = json_object_get(r, "artifacts");
    if (json_object_size(outs) == 0 && json_array_size(arts) == 0)
        return;
    /* Outputs can be long (whole manifests): folded, a click away. */
    sw_buf_printf(b,
                  "<h2>Outputs</h2><details class=\"outputs\"><summary>%zu context values, "
                  "%zu artifacts</summary>",
                  json_object_size(outs), json_array_size(arts));
    if (json_object_size(outs) > 0) {
        sw_buf_puts(b, "<table class=\"outputs\"><thead><tr><th>key</th><th>type</th><th>value"
                       "</th></tr></thead><tbody>");
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)outs, key, v)
        {
            char *text = cell_text(json_object_get(v, "value"));
            tag(b, "<tr><td>", key, "</td>");
            tag(b, "<td>", str(v, "type"), "</td>");
            tag(b, strlen(text) > 40 ? "<td class=\"long\"><div class=\"clip\">" : "<td><div>",
                text, "</div></td></tr>");
            free(text);
        }
        sw_buf_puts(b, "</tbody></table>");
    }
    if (json_array_size(arts) > 0) {
        sw_buf_puts(b, "<h4>Artifacts</h4><ul class=\"artifacts\">");
        size_t i;
        json_t *a;
        json_array_foreach(arts, i, a)
        {
            tag(b, "<li><code>", str(a, "path"), "</code>");
            if (*str(a, "description"))
                tag(b, " &mdash; ", str(a, "description"), "");
            tag(b, " <span class=\"muted\">(", str(a, "stage"), ")</span></li>");
        }
        sw_buf_puts(b, "</ul>");
    }
    sw_buf_puts(b, "</details>");
}

char *sw_report_html(const json_t *r)
{
    page pg = {.t0 = 0};
    int64_t t0 = sw_report_time_ms(str(r, "started_at"));
    pg.t0 = t0 > 0 ? (double)t0 : 0;
    sw_buf *b = &pg.b;
    sw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<title>");
    sw_html_escape(b, str(r, "name"));
    sw_buf_puts(b, " &middot; ");
    sw_html_escape(b, str(r, "status"));
    sw_buf_puts(b, " &middot; run ");
    sw_html_escape(b, str(r, "run_id"));
    sw_buf_printf(b, "</title><style>%s</style></head>\n<body>", css);
    header(&pg, r);
    stages_table(&pg, r);
    timeline(&pg, r);
    if (json_is_string(json_object_get(r, "timeline_error")))
        tag(b, "<p class=\"unreadable\">journal unreadable: ", str(r, "timeline_error"), "</p>");

    const json_t *sections = json_object_get(r, "sections");
    if (json_array_size(sections) > 0) {
        sw_buf_puts(b, "<h2>Sections</h2>");
        size_t i;
        json_t *entry;
        json_array_foreach(sections, i, entry)
        {
            section(&pg, entry);
        }
    }
    outputs(&pg, r);
    tag(b,
        "<footer>Slipway run report &middot; report.json in the same folder holds the same "
        "data &middot; run ",
        str(r, "run_id"), "</footer>\n");
    sw_buf_printf(b, "<script>%s</script>\n</body></html>\n", script);
    return sw_buf_steal(b);
}
