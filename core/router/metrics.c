/* metrics.c - per-version counters, histograms, the record ring and its aggregates. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/rng.h"

const double sw_hist_bounds_ms[SW_HIST_N] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000, 30000, 60000, 120000};

static const char *const errclass_names[] = {"none",    "4xx",        "5xx",     "timeout",
                                             "connect", "stream_cut", "canceled"};

const char *sw_errclass_name(sw_errclass c)
{
    return (unsigned)c < SW_ERRC_N ? errclass_names[c] : "?";
}

void sw_metrics_init(sw_metrics *m, size_t ring_records)
{
    memset(m, 0, sizeof *m);
    sw_hmap_init(&m->by_key);
    m->cap = ring_records ? ring_records : 1;
    m->ring = sw_xcalloc(m->cap, sizeof *m->ring);
}

void sw_metrics_free(sw_metrics *m)
{
    for (size_t i = 0; i < m->n_series; i++) {
        free(m->series[i]->agent);
        free(m->series[i]->version);
        free(m->series[i]);
    }
    free(m->series);
    free(m->ring);
    sw_hmap_free(&m->by_key);
    memset(m, 0, sizeof *m);
}

sw_series *sw_metrics_series(sw_metrics *m, const char *agent, const char *version)
{
    char small[256];
    size_t al = strlen(agent), vl = strlen(version);
    char *key = al + vl + 2 <= sizeof small ? small : sw_xmalloc(al + vl + 2);
    memcpy(key, agent, al);
    key[al] = '\x1f';
    memcpy(key + al + 1, version, vl + 1);
    sw_series *s = sw_hmap_get(&m->by_key, key);
    if (!s) {
        s = sw_xcalloc(1, sizeof *s);
        s->agent = sw_xstrdup(agent);
        s->version = sw_xstrdup(version);
        s->id = (uint32_t)m->n_series;
        m->series = sw_xrealloc(m->series, (m->n_series + 1) * sizeof *m->series);
        m->series[m->n_series++] = s;
        sw_hmap_put(&m->by_key, key, s);
    }
    if (key != small)
        free(key);
    return s;
}

static void hist_add(sw_hist *h, double ms)
{
    size_t i = 0;
    while (i < SW_HIST_N && ms > sw_hist_bounds_ms[i])
        i++;
    h->counts[i]++;
    h->sum_ms += ms;
    h->n++;
}

static sw_record *push(sw_metrics *m, int64_t now_ms)
{
    sw_record *r = &m->ring[m->head];
    if (m->count == m->cap)
        m->dropped_before_ms = r->t_ms;
    else
        m->count++;
    m->head = (m->head + 1) % m->cap;
    memset(r, 0, sizeof *r);
    r->t_ms = now_ms;
    return r;
}

void sw_metrics_request(sw_metrics *m, sw_series *s, const sw_req_result *res, int64_t now_ms)
{
    s->requests++;
    if (res->errclass != SW_ERRC_NONE)
        s->errors[res->errclass]++;
    hist_add(&s->latency, res->latency_ms);
    if (res->ttft_ms >= 0)
        hist_add(&s->ttft, res->ttft_ms);
    s->tokens_in += res->tokens_in;
    s->tokens_out += res->tokens_out;
    s->tool_calls += res->tool_calls;
    s->cost += res->cost;
    sw_record *r = push(m, now_ms);
    r->series = s->id;
    r->kind = 0;
    r->errclass = (uint8_t)res->errclass;
    r->status = (int16_t)res->status;
    r->latency_ms = (float)res->latency_ms;
    r->ttft_ms = (float)res->ttft_ms;
    r->tokens_in = res->tokens_in;
    r->tokens_out = res->tokens_out;
    r->tool_calls = (uint16_t)(res->tool_calls > 65535 ? 65535 : res->tool_calls);
    r->cost = (float)res->cost;
    r->session = res->session;
}

void sw_metrics_event(sw_metrics *m, sw_series *s, sw_event_type type, int value, int64_t now_ms)
{
    switch (type) {
    case SW_EV_TASK:
        (*(value ? &s->tasks_completed : &s->tasks_failed))++;
        break;
    case SW_EV_TOOL:
        (*(value ? &s->tools_ok : &s->tools_error))++;
        break;
    case SW_EV_FEEDBACK:
        (*(value > 0 ? &s->feedback_pos : &s->feedback_neg))++;
        break;
    }
    sw_record *r = push(m, now_ms);
    r->series = s->id;
    r->kind = 1;
    r->ev_type = (uint8_t)type;
    r->value = (int8_t)value;
}

void sw_metrics_shadow(sw_metrics *m, sw_series *s, int different, int error, int64_t now_ms)
{
    if (error)
        s->shadow_errors++;
    else {
        s->shadow_compared++;
        if (different)
            s->shadow_different++;
    }
    sw_record *r = push(m, now_ms);
    r->series = s->id;
    r->kind = 2;
    r->value = (int8_t)(error ? -1 : different ? 1 : 0);
}

void sw_metrics_shadow_dropped(sw_metrics *m, sw_series *s, int64_t now_ms)
{
    s->shadow_dropped++;
    sw_record *r = push(m, now_ms);
    r->series = s->id;
    r->kind = 3;
}

/* ---- Prometheus ---- */

static void label(sw_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sw_buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            sw_buf_puts(b, "\\n");
        else
            sw_buf_append(b, s, 1);
    }
}

static void labels(sw_buf *b, const sw_series *s)
{
    sw_buf_puts(b, "agent=\"");
    label(b, s->agent);
    sw_buf_puts(b, "\",version=\"");
    label(b, s->version);
    sw_buf_puts(b, "\"");
}

static void head(sw_buf *b, const char *name, const char *type, const char *help)
{
    sw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(const sw_metrics *m, sw_buf *b, const char *name, const char *help,
                    size_t offset)
{
    head(b, name, "counter", help);
    for (size_t i = 0; i < m->n_series; i++) {
        const sw_series *s = m->series[i];
        sw_buf_printf(b, "%s{", name);
        labels(b, s);
        sw_buf_printf(b, "} %llu\n",
                      (unsigned long long)*(const uint64_t *)((const char *)s + offset));
    }
}

static void histogram(const sw_metrics *m, sw_buf *b, const char *name, const char *help, int ttft)
{
    head(b, name, "histogram", help);
    for (size_t i = 0; i < m->n_series; i++) {
        const sw_series *s = m->series[i];
        const sw_hist *h = ttft ? &s->ttft : &s->latency;
        uint64_t cum = 0;
        for (size_t k = 0; k <= SW_HIST_N; k++) {
            cum += h->counts[k];
            sw_buf_printf(b, "%s_bucket{", name);
            labels(b, s);
            if (k < SW_HIST_N)
                sw_buf_printf(b, ",le=\"%g\"} %llu\n", sw_hist_bounds_ms[k] / 1000,
                              (unsigned long long)cum);
            else
                sw_buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        sw_buf_printf(b, "%s_sum{", name);
        labels(b, s);
        sw_buf_printf(b, "} %.6f\n%s_count{", h->sum_ms / 1000, name);
        labels(b, s);
        sw_buf_printf(b, "} %llu\n", (unsigned long long)h->n);
    }
}

void sw_metrics_prometheus(const sw_metrics *m, sw_buf *b)
{
    counter(m, b, "slipway_requests_total", "Requests routed to an agent version.",
            offsetof(sw_series, requests));
    head(b, "slipway_request_errors_total", "counter",
         "Failed requests by class: 4xx, 5xx, timeout, connect, stream_cut, canceled.");
    for (size_t i = 0; i < m->n_series; i++)
        for (int c = 1; c < SW_ERRC_N; c++) {
            sw_buf_puts(b, "slipway_request_errors_total{");
            labels(b, m->series[i]);
            sw_buf_printf(b, ",class=\"%s\"} %llu\n", errclass_names[c],
                          (unsigned long long)m->series[i]->errors[c]);
        }
    histogram(m, b, "slipway_request_duration_seconds",
              "Time from the request to its last byte, seconds.", 0);
    histogram(m, b, "slipway_time_to_first_token_seconds",
              "Time from the request to the first streamed event, seconds.", 1);
    head(b, "slipway_tokens_total", "counter",
         "Tokens by direction (in: prompt, out: completion).");
    for (size_t i = 0; i < m->n_series; i++) {
        sw_buf_puts(b, "slipway_tokens_total{");
        labels(b, m->series[i]);
        sw_buf_printf(b, ",direction=\"in\"} %llu\n", (unsigned long long)m->series[i]->tokens_in);
        sw_buf_puts(b, "slipway_tokens_total{");
        labels(b, m->series[i]);
        sw_buf_printf(b, ",direction=\"out\"} %llu\n",
                      (unsigned long long)m->series[i]->tokens_out);
    }
    head(b, "slipway_cost_total", "counter", "Cost from the price table, in its currency.");
    for (size_t i = 0; i < m->n_series; i++) {
        sw_buf_puts(b, "slipway_cost_total{");
        labels(b, m->series[i]);
        sw_buf_printf(b, "} %.9g\n", m->series[i]->cost);
    }
    counter(m, b, "slipway_tool_calls_total", "Tool calls emitted by the model.",
            offsetof(sw_series, tool_calls));
    head(b, "slipway_shadow_pairs_total", "counter",
         "Shadow pairs by result (same, different, error), on the shadow version.");
    for (size_t i = 0; i < m->n_series; i++) {
        const sw_series *s = m->series[i];
        const char *res[] = {"same", "different", "error"};
        uint64_t v[] = {s->shadow_compared - s->shadow_different, s->shadow_different,
                        s->shadow_errors};
        for (int k = 0; k < 3; k++) {
            sw_buf_puts(b, "slipway_shadow_pairs_total{");
            labels(b, s);
            sw_buf_printf(b, ",result=\"%s\"} %llu\n", res[k], (unsigned long long)v[k]);
        }
    }
    counter(m, b, "slipway_shadow_dropped_total",
            "Shadow copies dropped because the queue was full.",
            offsetof(sw_series, shadow_dropped));
    head(b, "slipway_events_total", "counter", "Outcomes reported by the application.");
    for (size_t i = 0; i < m->n_series; i++) {
        const sw_series *s = m->series[i];
        const char *kinds[] = {"task", "task", "tool_call", "tool_call", "feedback", "feedback"};
        const char *outs[] = {"completed", "failed", "ok", "error", "positive", "negative"};
        uint64_t v[] = {s->tasks_completed, s->tasks_failed, s->tools_ok,
                        s->tools_error,     s->feedback_pos, s->feedback_neg};
        for (int k = 0; k < 6; k++) {
            sw_buf_puts(b, "slipway_events_total{");
            labels(b, s);
            sw_buf_printf(b, ",type=\"%s\",outcome=\"%s\"} %llu\n", kinds[k], outs[k],
                          (unsigned long long)v[k]);
        }
    }
}

/* ---- windowed aggregates ---- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of sorted values. */
static double quantile(const float *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

static json_t *quantiles(float *v, size_t n)
{
    if (n == 0)
        return json_null();
    qsort(v, n, sizeof *v, cmp_float);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "p50", quantile(v, n, 0.5), "p90",
                     quantile(v, n, 0.9), "p95", quantile(v, n, 0.95), "p99", quantile(v, n, 0.99),
                     "max", (double)v[n - 1], "mean", sum / (double)n);
}

/* One request's share of its session: summed per session into the cost and tokens
   samples a rank test compares. */
typedef struct sess_req {
    uint32_t hash;
    float cost, tokens;
} sess_req;

typedef struct agg {
    uint64_t requests, errors[SW_ERRC_N], tokens_in, tokens_out, tool_calls;
    double cost;
    uint64_t ev[6]; /* task ok/fail, tool ok/err, feedback +/- */
    uint64_t sh_same, sh_diff, sh_err, sh_drop;
    float *lat, *ttft;
    size_t n_lat, n_ttft, cap_lat, cap_ttft;
    sess_req *sess; /* the requests' sessions, for distinct sessions and per-session sums */
    size_t n_sess, cap_sess;
} agg;

static void add_sample(float **v, size_t *n, size_t *cap, float x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = sw_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = x;
}

static void add_session(agg *g, uint32_t h, float cost, float tokens)
{
    if (g->n_sess == g->cap_sess) {
        g->cap_sess = g->cap_sess ? g->cap_sess * 2 : 64;
        g->sess = sw_xrealloc(g->sess, g->cap_sess * sizeof *g->sess);
    }
    g->sess[g->n_sess++] = (sess_req){h, cost, tokens};
}

/* By session hash (the order of one session's requests does not matter to its sums). */
static int cmp_sess(const void *a, const void *b)
{
    uint32_t x = ((const sess_req *)a)->hash, y = ((const sess_req *)b)->hash;
    return (x > y) - (x < y);
}

/* Distinct sessions among the window's requests (by their 32-bit hashes: two sessions
   colliding count once, which at the window's size is rare and only lowers the count),
   and each one's cost and tokens in the window into cost[] and tokens[] (g->n_sess long;
   NULL: not wanted). The sessions are in hash order, an order unrelated to cost. */
static uint64_t distinct_sessions(agg *g, float *cost, float *tokens)
{
    if (!g->n_sess)
        return 0;
    qsort(g->sess, g->n_sess, sizeof *g->sess, cmp_sess);
    uint64_t n = 0;
    for (size_t i = 0; i < g->n_sess; i++) {
        if (i == 0 || g->sess[i].hash != g->sess[i - 1].hash) {
            if (cost) {
                cost[n] = 0;
                tokens[n] = 0;
            }
            n++;
        }
        if (cost) {
            cost[n - 1] += g->sess[i].cost;
            tokens[n - 1] += g->sess[i].tokens;
        }
    }
    return n;
}

static double rate(uint64_t a, uint64_t n)
{
    return n ? (double)a / (double)n : 0.0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Algorithm R over v[0..n): at most k values, uniformly chosen, kept in time order. */
static json_t *reservoir(const float *v, size_t n, size_t k, uint64_t seed)
{
    size_t keep = n < k ? n : k;
    size_t *idx = sw_xmalloc((keep ? keep : 1) * sizeof *idx);
    for (size_t i = 0; i < keep; i++)
        idx[i] = i;
    sw_rng r;
    sw_rng_seed(&r, seed);
    for (size_t i = keep; i < n; i++) {
        uint64_t j = sw_rng_below(&r, (uint64_t)i + 1);
        if (j < keep)
            idx[j] = i;
    }
    /* Replacements land anywhere: sort the chosen indexes back into time order. */
    qsort(idx, keep, sizeof *idx, cmp_size);
    json_t *out = json_array();
    for (size_t i = 0; i < keep; i++)
        json_array_append_new(out, json_real(v[idx[i]]));
    free(idx);
    return out;
}

json_t *sw_metrics_stats(const sw_metrics *m, const char *agent, int64_t since_ms, int64_t now_ms)
{
    return sw_metrics_stats_ex(m, agent, since_ms, now_ms, 0);
}

json_t *sw_metrics_stats_ex(const sw_metrics *m, const char *agent, int64_t since_ms,
                            int64_t now_ms, size_t samples)
{
    if (samples > SW_STATS_SAMPLES_MAX)
        samples = SW_STATS_SAMPLES_MAX;
    agg *a = sw_xcalloc(m->n_series ? m->n_series : 1, sizeof *a);
    for (size_t k = 0; k < m->count; k++) {
        const sw_record *r = &m->ring[(m->head + m->cap - m->count + k) % m->cap];
        if (r->t_ms < since_ms || r->series >= m->n_series)
            continue;
        const sw_series *s = m->series[r->series];
        if (agent && strcmp(s->agent, agent) != 0)
            continue;
        agg *g = &a[r->series];
        switch (r->kind) {
        case 0:
            g->requests++;
            g->errors[r->errclass]++;
            g->tokens_in += r->tokens_in;
            g->tokens_out += r->tokens_out;
            g->tool_calls += r->tool_calls;
            g->cost += r->cost;
            add_sample(&g->lat, &g->n_lat, &g->cap_lat, r->latency_ms);
            if (r->ttft_ms >= 0)
                add_sample(&g->ttft, &g->n_ttft, &g->cap_ttft, r->ttft_ms);
            if (r->session)
                add_session(g, r->session, (float)r->cost, (float)(r->tokens_in + r->tokens_out));
            break;
        case 1: {
            int idx = r->ev_type * 2 +
                      (r->ev_type == SW_EV_FEEDBACK ? (r->value > 0 ? 0 : 1) : (r->value ? 0 : 1));
            if (idx >= 0 && idx < 6)
                g->ev[idx]++;
            break;
        }
        case 2:
            if (r->value < 0)
                g->sh_err++;
            else if (r->value)
                g->sh_diff++;
            else
                g->sh_same++;
            break;
        case 3:
            g->sh_drop++;
            break;
        }
    }
    json_t *versions = json_object();
    for (size_t i = 0; i < m->n_series; i++) {
        const sw_series *s = m->series[i];
        agg *g = &a[i];
        if (agent && strcmp(s->agent, agent) != 0) {
            free(g->lat);
            free(g->ttft);
            free(g->sess);
            continue;
        }
        uint64_t server_err = g->errors[SW_ERRC_5XX] + g->errors[SW_ERRC_TIMEOUT] +
                              g->errors[SW_ERRC_CONNECT] + g->errors[SW_ERRC_STREAM_CUT];
        json_t *errs = json_object();
        for (int c = 1; c < SW_ERRC_N; c++)
            json_object_set_new(errs, errclass_names[c], json_integer((json_int_t)g->errors[c]));
        uint64_t tasks = g->ev[0] + g->ev[1], tools = g->ev[2] + g->ev[3];
        uint64_t compared = g->sh_same + g->sh_diff;
        json_t *v = json_object();
        json_object_set_new(v, "requests", json_integer((json_int_t)g->requests));
        json_object_set_new(v, "errors", errs);
        json_object_set_new(v, "error_rate", json_real(rate(server_err, g->requests)));
        json_object_set_new(v, "client_error_rate",
                            json_real(rate(g->errors[SW_ERRC_4XX], g->requests)));
        if (samples) {
            uint64_t seed = (uint64_t)since_ms * 1000003u + s->id;
            json_object_set_new(v, "latency_samples", reservoir(g->lat, g->n_lat, samples, seed));
            json_object_set_new(v, "ttft_samples",
                                reservoir(g->ttft, g->n_ttft, samples, seed ^ 0x9e3779b97f4a7c15u));
        }
        json_object_set_new(v, "latency_ms", quantiles(g->lat, g->n_lat));
        json_object_set_new(v, "ttft_ms", quantiles(g->ttft, g->n_ttft));
        json_object_set_new(v, "tokens_in", json_integer((json_int_t)g->tokens_in));
        json_object_set_new(v, "tokens_out", json_integer((json_int_t)g->tokens_out));
        json_object_set_new(v, "cost", json_real(g->cost));
        json_object_set_new(v, "cost_per_request",
                            json_real(g->requests ? g->cost / (double)g->requests : 0));
        float *sc = samples ? sw_xmalloc((g->n_sess ? g->n_sess : 1) * sizeof *sc) : NULL;
        float *st = samples ? sw_xmalloc((g->n_sess ? g->n_sess : 1) * sizeof *st) : NULL;
        uint64_t sessions = distinct_sessions(g, sc, st);
        if (samples) {
            uint64_t seed = (uint64_t)since_ms * 1000003u + s->id + 0x51ed27u;
            json_object_set_new(v, "cost_per_session_samples",
                                reservoir(sc, (size_t)sessions, samples, seed));
            json_object_set_new(v, "tokens_per_session_samples",
                                reservoir(st, (size_t)sessions, samples, seed));
            free(sc);
            free(st);
        }
        json_object_set_new(v, "sessions", json_integer((json_int_t)sessions));
        json_object_set_new(v, "cost_per_session",
                            json_real(sessions ? g->cost / (double)sessions : 0));
        json_object_set_new(
            v, "tokens_per_session",
            json_real(sessions ? (double)(g->tokens_in + g->tokens_out) / (double)sessions : 0));
        json_object_set_new(v, "tool_calls", json_integer((json_int_t)g->tool_calls));
        json_object_set_new(
            v, "events",
            json_pack("{s:I, s:I, s:f, s:I, s:I, s:f, s:I, s:I}", "tasks_completed",
                      (json_int_t)g->ev[0], "tasks_failed", (json_int_t)g->ev[1],
                      "task_success_rate", rate(g->ev[0], tasks), "tool_calls_ok",
                      (json_int_t)g->ev[2], "tool_calls_error", (json_int_t)g->ev[3],
                      "tool_error_rate", rate(g->ev[3], tools), "feedback_positive",
                      (json_int_t)g->ev[4], "feedback_negative", (json_int_t)g->ev[5]));
        json_object_set_new(v, "shadow",
                            json_pack("{s:I, s:I, s:I, s:I, s:f}", "compared", (json_int_t)compared,
                                      "different", (json_int_t)g->sh_diff, "errors",
                                      (json_int_t)g->sh_err, "dropped", (json_int_t)g->sh_drop,
                                      "different_rate", rate(g->sh_diff, compared)));
        json_object_set_new(versions, s->version, v);
        free(g->lat);
        free(g->ttft);
        free(g->sess);
    }
    free(a);
    json_t *out = json_object();
    json_object_set_new(out, "agent", agent ? json_string(agent) : json_null());
    json_object_set_new(out, "since_ms", json_integer(since_ms));
    json_object_set_new(out, "until_ms", json_integer(now_ms));
    /* Records older than the oldest kept may have fallen in the window. */
    json_object_set_new(out, "complete", json_boolean(m->dropped_before_ms < since_ms));
    json_object_set_new(out, "versions", versions);
    return out;
}
