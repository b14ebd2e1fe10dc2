/* report.c - the canary's report section. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

void sw_canary_report_init(sw_canary_report *r)
{
    *r = (sw_canary_report){.events = json_array(),
                            .weight = json_array(),
                            .shadow = json_array(),
                            .marks = json_array()};
}

void sw_canary_report_free(sw_canary_report *r)
{
    json_decref(r->events);
    json_decref(r->weight);
    json_decref(r->shadow);
    json_decref(r->marks);
    *r = (sw_canary_report){0};
}

void sw_canary_report_event(sw_canary_report *r, int64_t t, const char *status, const char *fmt,
                            ...)
{
    if (json_array_size(r->events) >= SW_CANARY_REPORT_MAX_EVENTS) {
        r->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *label = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(r->events, json_pack("{s:I, s:s, s:s}", "t", (json_int_t)t, "label",
                                               label, "status", status));
    free(label);
}

static void point(sw_canary_report *r, json_t *series, int64_t t, double v)
{
    size_t n = json_array_size(series);
    /* A step line needs only the changes. */
    if (n && json_number_value(json_array_get(json_array_get(series, n - 1), 1)) == v)
        return;
    if (n >= SW_CANARY_REPORT_MAX_POINTS) {
        r->dropped++;
        return;
    }
    json_array_append_new(series, json_pack("[I, f]", (json_int_t)t, v));
}

void sw_canary_report_weight(sw_canary_report *r, int64_t t, double weight, double shadow_percent)
{
    point(r, r->weight, t, weight);
    if (shadow_percent > 0)
        r->any_shadow = 1;
    if (shadow_percent >= 0)
        point(r, r->shadow, t, shadow_percent);
}

void sw_canary_report_mark(sw_canary_report *r, int64_t t, const char *label)
{
    if (json_array_size(r->marks) < SW_CANARY_REPORT_MAX_EVENTS)
        json_array_append_new(r->marks,
                              json_pack("{s:I, s:s}", "x", (json_int_t)t, "label", label));
}

/* The series with its last value carried to now, so the step reaches the present. */
static json_t *series(const char *name, const json_t *points, int64_t now_ms)
{
    json_t *p = json_deep_copy(points);
    size_t n = json_array_size(p);
    if (n) {
        const json_t *last = json_array_get(p, n - 1);
        if (json_integer_value(json_array_get(last, 0)) < now_ms)
            json_array_append_new(p,
                                  json_pack("[I, O]", (json_int_t)now_ms, json_array_get(last, 1)));
    }
    return json_pack("{s:s, s:o}", "name", name, "points", p);
}

json_t *sw_canary_report_json(const sw_canary_report *r, const sw_canary_summary *s, int64_t now_ms)
{
    char steps[64], weight[32], sessions[32];
    snprintf(steps, sizeof steps, "%lld of %zu", (long long)s->steps_done, s->steps_total);
    snprintf(weight, sizeof weight, "%g%%", s->weight);
    if (s->sessions >= 0)
        snprintf(sessions, sizeof sessions, "%lld", (long long)s->sessions);
    else
        snprintf(sessions, sizeof sessions, "unknown");
    json_t *summary =
        json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "label",
                  "steps done", "value", steps, "label", "final weight", "value", weight, "label",
                  "promoted", "value", s->promoted ? "yes" : "no", "status",
                  s->promoted ? "pass" : "info", "label", "sessions on candidate", "value",
                  sessions, "label", "approval", "value", s->approval ? s->approval : "none");
    json_t *ser = json_array();
    json_array_append_new(ser, series("candidate weight", r->weight, now_ms));
    if (r->any_shadow)
        json_array_append_new(ser, series("shadow", r->shadow, now_ms));
    json_t *chart = json_pack("{s:s, s:s, s:s, s:s, s:o, s:O}", "title", "Candidate weight", "kind",
                              "step", "x", "time", "unit", "%", "series", ser, "marks", r->marks);
    json_t *j = json_pack("{s:i, s:s, s:s, s:o, s:O, s:[o]}", "format", 1, "title", "Canary",
                          "status", s->status ? s->status : "info", "summary", summary, "events",
                          r->events, "charts", chart);
    char *text = NULL;
    if (r->dropped)
        text = sw_xasprintf("%s%s%zu events or points were left out (over the section's bounds).",
                            s->text ? s->text : "", s->text ? " " : "", r->dropped);
    else if (s->text)
        text = sw_xstrdup(s->text);
    if (text)
        json_object_set_new(j, "text", json_string(text));
    free(text);
    return j;
}

int sw_canary_report_write(const sw_canary_report *r, const sw_canary_summary *s, const char *dir,
                           int64_t now_ms, sw_err *err)
{
    json_t *j = sw_canary_report_json(r, s, now_ms);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *path = sw_path_join(dir, "report-section.json");
    int rc = sw_write_file_atomic(path, text, strlen(text), err);
    free(path);
    free(text);
    return rc;
}
