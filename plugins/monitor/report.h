/*
 * report.h - the monitor's report section (the contract: docs/pipelines.md's
 * report sections): per metric a line chart of candidate and baseline over
 * time with the threshold as a series and a mark at a breach; a summary
 * (verdict, looks, samples per side, hold, extension, evidence); events for each change
 * of a metric's verdict to fail or inconclusive, hold and extend signals, the
 * evidence (evidence.h) turning enough or insufficient, and
 * the breach with its reason. Pure (the stage writes the JSON atomically after
 * every look); bounded: at most SW_MON_REPORT_POINTS points per series (looks
 * are thinned evenly past that) and SW_MON_REPORT_EVENTS events.
 */
#ifndef SW_MONITOR_REPORT_H
#define SW_MONITOR_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SW_MON_REPORT_POINTS 2000
#define SW_MON_REPORT_EVENTS 500

typedef struct sw_mon_point {
    int64_t t;
    double cand, base, threshold; /* NaN: none */
} sw_mon_point;

typedef struct sw_mon_series {
    char *metric;
    sw_mon_point *pts;
    size_t n;
    sw_mon_point last; /* the newest look, shown even when thinning skipped it */
    int have_last;
    int64_t breach_t; /* 0: none */
    char *verdict;    /* the last look's */
} sw_mon_series;

typedef struct sw_mon_report {
    sw_mon_series *s;
    size_t n;
    size_t looks_seen; /* points offered so far, for the thinning stride */
    size_t stride;
    json_t *events;
    int64_t t0;
    const char *evidence; /* enough, insufficient or none (a static string); NULL: not shown */
} sw_mon_report;

void sw_mon_report_init(sw_mon_report *r, const char *const *metrics, size_t n, int64_t t0);
void sw_mon_report_free(sw_mon_report *r);
/* One look at time t: snapshot is metric -> the judge's snapshot; reasons[i] the
   sentence of metric i (NULL: none). */
void sw_mon_report_look(sw_mon_report *r, int64_t t, const json_t *snapshot,
                        const char *const *reasons);
/* An event (status: pass, fail, warn, info). */
void sw_mon_report_event(sw_mon_report *r, int64_t t, const char *status, const char *label);
/* The breach: a mark on the metric's chart (metric NULL: rollback_when) and a fail event. */
void sw_mon_report_breach(sw_mon_report *r, int64_t t, const char *metric, const char *reason);
/* The section: a new reference. */
json_t *sw_mon_report_json(const sw_mon_report *r, const char *title, const char *verdict,
                           int looks, double n_cand, double n_base, int hold, int64_t extend_ms);

#endif
