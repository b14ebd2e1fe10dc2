/*
 * metrics.h - what the router counts, per agent and version.
 *
 * Two views of the same facts: running totals and histograms since the router
 * started (Prometheus text at /metrics), and a ring of recent records from
 * which /admin/stats computes windowed aggregates with exact quantiles. The
 * ring holds a fixed number of records; a window older than its oldest record
 * is reported as incomplete rather than silently shortened.
 * Used by the router's event loop thread only. sw_metrics_free releases all.
 */
#ifndef SW_ROUTER_METRICS_H
#define SW_ROUTER_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "hmap.h"

typedef enum sw_errclass {
    SW_ERRC_NONE = 0,
    SW_ERRC_4XX,
    SW_ERRC_5XX,
    SW_ERRC_TIMEOUT,
    SW_ERRC_CONNECT,
    SW_ERRC_STREAM_CUT,
    SW_ERRC_CANCELED, /* the client went away first */
    SW_ERRC_N
} sw_errclass;

const char *sw_errclass_name(sw_errclass c);

#define SW_HIST_N 17 /* finite bounds; one more bucket for +Inf */

typedef struct sw_hist {
    uint64_t counts[SW_HIST_N + 1];
    double sum_ms;
    uint64_t n;
} sw_hist;

typedef struct sw_series {
    char *agent;
    char *version;
    uint32_t id;
    uint64_t requests;
    uint64_t errors[SW_ERRC_N];
    sw_hist latency, ttft;
    uint64_t tokens_in, tokens_out, tool_calls;
    double cost;
    uint64_t shadow_compared, shadow_different, shadow_dropped, shadow_errors;
    uint64_t tasks_completed, tasks_failed, tools_ok, tools_error, feedback_pos, feedback_neg;
} sw_series;

typedef enum sw_event_type { SW_EV_TASK = 0, SW_EV_TOOL, SW_EV_FEEDBACK } sw_event_type;

/* One finished request, as the router measured it. */
typedef struct sw_req_result {
    int status;
    sw_errclass errclass;
    double latency_ms;
    double ttft_ms; /* < 0: no first token (non-streaming: the whole body's time) */
    uint32_t tokens_in, tokens_out, tool_calls;
    double cost;
    uint32_t session; /* a hash of the session key (never 0), for distinct sessions; 0: none */
} sw_req_result;

typedef struct sw_record {
    int64_t t_ms; /* wall clock */
    uint32_t series;
    uint8_t kind; /* 0 request, 1 event, 2 shadow pair, 3 shadow dropped */
    uint8_t errclass;
    int16_t status;
    int8_t value; /* event: task/tool ok 1 or 0, feedback +1/-1; shadow: different 1/0, error -1 */
    uint8_t ev_type;
    uint16_t tool_calls;
    float latency_ms, ttft_ms, cost;
    uint32_t tokens_in, tokens_out;
    uint32_t session; /* request: sw_req_result.session */
} sw_record;

typedef struct sw_metrics {
    sw_hmap by_key;
    sw_series **series;
    size_t n_series;
    sw_record *ring;
    size_t cap, head, count;
    int64_t dropped_before_ms; /* the time of the newest record overwritten (0: none yet) */
} sw_metrics;

void sw_metrics_init(sw_metrics *m, size_t ring_records);
void sw_metrics_free(sw_metrics *m);
sw_series *sw_metrics_series(sw_metrics *m, const char *agent, const char *version);

void sw_metrics_request(sw_metrics *m, sw_series *s, const sw_req_result *r, int64_t now_ms);
/* value: task completed 1 / failed 0; tool ok 1 / error 0; feedback +1 / -1. */
void sw_metrics_event(sw_metrics *m, sw_series *s, sw_event_type type, int value, int64_t now_ms);
/* A compared pair (different 0/1; error 1 when the shadow call failed), counted on the shadow's
 * series. */
void sw_metrics_shadow(sw_metrics *m, sw_series *s, int different, int error, int64_t now_ms);
void sw_metrics_shadow_dropped(sw_metrics *m, sw_series *s, int64_t now_ms);

/* Prometheus text exposition format (version 0.0.4), appended to out. */
void sw_metrics_prometheus(const sw_metrics *m, sw_buf *out);
/* Aggregates for one agent (NULL: all) over records with t >= since_ms:
   {"agent", "since_ms", "until_ms", "complete", "versions": {v: {...}}}. */
json_t *sw_metrics_stats(const sw_metrics *m, const char *agent, int64_t since_ms, int64_t now_ms);

/* The most latency (and TTFT) samples a stats answer carries per version. */
#define SW_STATS_SAMPLES_MAX 5000

/* sw_metrics_stats, and with samples > 0 (capped at SW_STATS_SAMPLES_MAX) each version also
   gets "latency_samples" and "ttft_samples": a uniform random sample without replacement
   (reservoir, seeded from since_ms and the series, so the same window gives the same sample)
   of at most `samples` of the window's values in ms, in time order; and
   "cost_per_session_samples" and "tokens_per_session_samples": as many of the window's
   sessions (chosen the same way, the same sessions for both), each its cost and tokens
   summed over its requests in the window. */
json_t *sw_metrics_stats_ex(const sw_metrics *m, const char *agent, int64_t since_ms,
                            int64_t now_ms, size_t samples);

/* Bucket bounds in milliseconds (SW_HIST_N of them). */
extern const double sw_hist_bounds_ms[SW_HIST_N];

#endif
