/*
 * report.h - the canary's report section (report-section.json, the generic
 * structure the run report renders for any stage): a step chart of the candidate's weight (and of
 * the shadow share when a step used shadow), key figures, and the events of the rollout. Built in
 * memory with no I/O but the final atomic write, so it is unit-tested on its own. Times are
 * wall-clock ms since the epoch, given by the caller.
 */
#ifndef SW_CANARY_REPORT_H
#define SW_CANARY_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "slipway/plugin.h"

/* Bounds from the contract: more events or points than this are left out (and counted). */
#define SW_CANARY_REPORT_MAX_EVENTS 1000
#define SW_CANARY_REPORT_MAX_POINTS 2000

typedef struct sw_canary_report {
    json_t *events; /* [{"t", "label", "status"}] */
    json_t *weight; /* [[t, percent]] */
    json_t *shadow; /* [[t, percent]]; shown only when a step used shadow */
    json_t *marks;  /* [{"x", "label"}] */
    int any_shadow;
    size_t dropped; /* events and points left out */
} sw_canary_report;

/* The figures of the summary, as the stage knows them at the time of a write. */
typedef struct sw_canary_summary {
    int64_t steps_done;
    size_t steps_total;
    double weight;
    int promoted;
    int64_t sessions;     /* pinned to the candidate; < 0: not known */
    const char *approval; /* how promotion was (or is to be) approved */
    const char *status;   /* the section's status: pass, fail, warn, info */
    const char *text;     /* a closing sentence, or NULL */
} sw_canary_summary;

void sw_canary_report_init(sw_canary_report *r);
void sw_canary_report_free(sw_canary_report *r);

/* An event for the run's timeline; status is pass, fail, warn or info. */
void sw_canary_report_event(sw_canary_report *r, int64_t t, const char *status, const char *fmt,
                            ...) SW_PRINTF(4, 5);
/* The weight from t on; shadow_percent < 0: the shadow share did not change. */
void sw_canary_report_weight(sw_canary_report *r, int64_t t, double weight, double shadow_percent);
/* A vertical marker on the chart (promotion, cancel). */
void sw_canary_report_mark(sw_canary_report *r, int64_t t, const char *label);

/* The section as a new JSON object; now_ms extends the step lines to the present. */
json_t *sw_canary_report_json(const sw_canary_report *r, const sw_canary_summary *s,
                              int64_t now_ms);
/* Write it to <dir>/report-section.json atomically. -1 with err. */
int sw_canary_report_write(const sw_canary_report *r, const sw_canary_summary *s, const char *dir,
                           int64_t now_ms, sw_err *err);

#endif
