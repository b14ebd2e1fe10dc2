/* report.c - the monitor's report section. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void sw_mon_report_init(sw_mon_report *r, const char *const *metrics, size_t n, int64_t t0)
{
    memset(r, 0, sizeof *r);
    r->s = sw_xcalloc(n ? n : 1, sizeof *r->s);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        r->s[i].metric = sw_xstrdup(metrics[i]);
        r->s[i].pts = sw_xmalloc(SW_MON_REPORT_POINTS * sizeof *r->s[i].pts);
    }
    r->stride = 1;
    r->events = json_array();
    r->t0 = t0;
}

void sw_mon_report_free(sw_mon_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->s[i].metric);
        free(r->s[i].pts);
        free(r->s[i].verdict);
    }
    free(r->s);
    json_decref(r->events);
    memset(r, 0, sizeof *r);
}

void sw_mon_report_event(sw_mon_report *r, int64_t t, const char *status, const char *label)
{
    /* Past the cap the first events stay (they say how it started) and the breach still gets in
       through the one slot kept for it. */
    if (json_array_size(r->events) >= SW_MON_REPORT_EVENTS - 1 && strcmp(status, "fail") != 0)
        return;
    if (json_array_size(r->events) >= SW_MON_REPORT_EVENTS)
        return;
    json_array_append_new(r->events, json_pack("{s:I, s:s, s:s}", "t", (json_int_t)t, "label",
                                               label, "status", status));
}

static double num_or_nan(const json_t *o, const char *k)
{
    const json_t *j = json_object_get(o, k);
    return json_is_number(j) ? json_number_value(j) : NAN;
}

void sw_mon_report_look(sw_mon_report *r, int64_t t, const json_t *snapshot,
                        const char *const *reasons)
{
    int keep = r->looks_seen % r->stride == 0;
    r->looks_seen++;
    int full = keep && r->n && r->s[0].n == SW_MON_REPORT_POINTS;
    for (size_t i = 0; i < r->n; i++) {
        sw_mon_series *s = &r->s[i];
        const json_t *snap = json_object_get(snapshot, s->metric);
        if (!snap)
            continue;
        sw_mon_point p = {t, num_or_nan(snap, "candidate"), num_or_nan(snap, "baseline"),
                          num_or_nan(snap, "threshold")};
        s->last = p;
        s->have_last = 1;
        if (full) { /* every other point goes and the stride doubles: still evenly spaced */
            for (size_t k = 0; k < s->n / 2; k++)
                s->pts[k] = s->pts[2 * k];
            s->n /= 2;
        }
        if (keep)
            s->pts[s->n++] = p;
        const char *v = json_string_value(json_object_get(snap, "verdict"));
        if (!v)
            continue;
        if (strcmp(v, "pass") != 0 && (!s->verdict || strcmp(s->verdict, v) != 0)) {
            char *label =
                sw_xasprintf("%s %s: %s", s->metric, v, reasons && reasons[i] ? reasons[i] : "");
            sw_mon_report_event(r, t, strcmp(v, "fail") == 0 ? "fail" : "warn", label);
            free(label);
        } else if (strcmp(v, "pass") == 0 && s->verdict && strcmp(s->verdict, "pass") != 0) {
            char *label = sw_xasprintf("%s pass again", s->metric);
            sw_mon_report_event(r, t, "pass", label);
            free(label);
        }
        free(s->verdict);
        s->verdict = sw_xstrdup(v);
    }
    if (full)
        r->stride *= 2;
}

void sw_mon_report_breach(sw_mon_report *r, int64_t t, const char *metric, const char *reason)
{
    for (size_t i = 0; metric && i < r->n; i++)
        if (strcmp(r->s[i].metric, metric) == 0 && !r->s[i].breach_t)
            r->s[i].breach_t = t;
    char *label = sw_xasprintf("breach: %s", reason);
    sw_mon_report_event(r, t, "fail", label);
    free(label);
}

static json_t *jnum(double v)
{
    return isnan(v) || isinf(v) ? NULL : json_real(v);
}

static void add_point(json_t *points, int64_t t, double v)
{
    json_t *y = jnum(v);
    if (y)
        json_array_append_new(points, json_pack("[I, o]", (json_int_t)t, y));
}

static json_t *series(const sw_mon_series *s, int which)
{
    json_t *pts = json_array();
    for (size_t k = 0; k < s->n; k++) {
        const sw_mon_point *p = &s->pts[k];
        add_point(pts, p->t, which == 0 ? p->cand : which == 1 ? p->base : p->threshold);
    }
    if (s->have_last && (!s->n || s->pts[s->n - 1].t != s->last.t)) {
        const sw_mon_point *p = &s->last;
        add_point(pts, p->t, which == 0 ? p->cand : which == 1 ? p->base : p->threshold);
    }
    return pts;
}

static const char *unit_of(const char *m)
{
    if (strncmp(m, "latency_", 8) == 0 || strncmp(m, "ttft_", 5) == 0)
        return "ms";
    size_t n = strlen(m);
    return n > 5 && strcmp(m + n - 5, "_rate") == 0 ? "ratio" : "";
}

json_t *sw_mon_report_json(const sw_mon_report *r, const char *title, const char *verdict,
                           int looks, double n_cand, double n_base, int hold, int64_t extend_ms)
{
    const char *st = strcmp(verdict, "pass") == 0   ? "pass"
                     : strcmp(verdict, "fail") == 0 ? "fail"
                                                    : "warn";
    char nc[32], nb[32], ext[32], lk[32];
    snprintf(lk, sizeof lk, "%d", looks);
    snprintf(nc, sizeof nc, "%.0f", n_cand);
    snprintf(nb, sizeof nb, "%.0f", n_base);
    snprintf(ext, sizeof ext, "%lld ms", (long long)extend_ms);
    json_t *summary = json_pack(
        "[{s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}]",
        "label", "verdict", "value", verdict, "status", st, "label", "looks", "value", lk, "label",
        "candidate samples", "value", nc, "label", "baseline samples", "value", nb, "label", "hold",
        "value", hold ? "yes" : "no", "status", hold ? "warn" : "info", "label", "extension",
        "value", ext);
    if (r->evidence)
        json_array_append_new(summary,
                              json_pack("{s:s, s:s, s:s}", "label", "evidence", "value",
                                        r->evidence, "status",
                                        strcmp(r->evidence, "enough") == 0         ? "pass"
                                        : strcmp(r->evidence, "insufficient") == 0 ? "warn"
                                                                                   : "info"));
    json_t *charts = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const sw_mon_series *s = &r->s[i];
        json_t *ser = json_pack("[{s:s, s:o}, {s:s, s:o}, {s:s, s:o}]", "name", "candidate",
                                "points", series(s, 0), "name", "baseline", "points", series(s, 1),
                                "name", "threshold", "points", series(s, 2));
        json_t *c = json_pack("{s:s, s:s, s:s, s:o}", "title", s->metric, "kind", "line", "x",
                              "time", "series", ser);
        if (*unit_of(s->metric))
            json_object_set_new(c, "unit", json_string(unit_of(s->metric)));
        if (s->breach_t)
            json_object_set_new(
                c, "marks",
                json_pack("[{s:I, s:s}]", "x", (json_int_t)s->breach_t, "label", "breach"));
        json_array_append_new(charts, c);
    }
    return json_pack("{s:i, s:s, s:s, s:o, s:O, s:o}", "format", 1, "title", title, "status", st,
                     "summary", summary, "events", r->events, "charts", charts);
}
