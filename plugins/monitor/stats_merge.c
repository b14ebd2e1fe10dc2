/* stats_merge.c - one version's stats over several routers (stats_merge.h). */
#include "stats_merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static double stat_of(const json_t *o, const char *key)
{
    const json_t *j = json_object_get(o, key);
    return json_is_number(j) ? json_number_value(j) : 0;
}

static double ratio_of(double x, double n)
{
    return n > 0 ? x / n : 0;
}

/* Every number of the objects o[i].key summed, key by key (errors, events, shadow). */
static json_t *sum_object(const json_t *const *v, size_t n, const char *key)
{
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)json_object_get(v[i], key), k, x)
        {
            if (!json_is_number(x))
                continue;
            json_t *have = json_object_get(out, k);
            double sum = (have ? json_number_value(have) : 0) + json_number_value(x);
            json_object_set_new(out, k,
                                json_is_integer(x) && (!have || json_is_integer(have))
                                    ? json_integer((json_int_t)sum)
                                    : json_real(sum));
        }
    }
    return out;
}

static double sum_of(const json_t *const *v, size_t n, const char *key)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += stat_of(v[i], key);
    return s;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One sample of at most cap values from the routers' samples: each router's share in
   proportion to its weight, taken evenly over its sample (which is in time order). */
static json_t *merge_samples(const json_t *const *v, size_t n, const char *key,
                             const char *weight_key, size_t cap)
{
    double total = sum_of(v, n, weight_key);
    json_t *out = json_array();
    for (size_t i = 0; i < n && total > 0; i++) {
        const json_t *s = json_object_get(v[i], key);
        size_t m = json_array_size(s);
        size_t k = (size_t)llround((double)cap * stat_of(v[i], weight_key) / total);
        if (k > m)
            k = m;
        for (size_t j = 0; j < k; j++)
            json_array_append(out, json_array_get(s, j * m / k));
    }
    return out;
}

/* The router's definition (metrics.c): the value at rank ceil(q n) of the sorted values. */
static double quantile_at(const double *x, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    return x[(rank < 1 ? 1 : rank) - 1];
}

static json_t *merge_quantiles(const json_t *const *v, size_t n, const char *key,
                               const json_t *sample)
{
    static const char *const qs[] = {"p50", "p90", "p95", "p99"};
    static const double q[] = {0.5, 0.9, 0.95, 0.99};
    double weight = 0, mean = 0, max = 0, wq[4] = {0};
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_object_get(v[i], key);
        if (!json_is_object(o))
            continue;
        double w = stat_of(v[i], "requests");
        weight += w;
        mean += w * stat_of(o, "mean");
        max = fmax(max, stat_of(o, "max"));
        for (size_t j = 0; j < 4; j++)
            wq[j] += w * stat_of(o, qs[j]);
    }
    if (weight <= 0)
        return json_null();
    size_t m = json_array_size(sample);
    double *sorted = m ? sw_xmalloc(m * sizeof *sorted) : NULL;
    for (size_t i = 0; i < m; i++)
        sorted[i] = json_number_value(json_array_get(sample, i));
    if (m)
        qsort(sorted, m, sizeof *sorted, by_double);
    json_t *out = json_pack("{s:f, s:f}", "max", max, "mean", mean / weight);
    for (size_t j = 0; j < 4; j++)
        json_object_set_new(out, qs[j],
                            json_real(m ? quantile_at(sorted, m, q[j]) : wq[j] / weight));
    free(sorted);
    return out;
}

json_t *sw_stats_merge(const json_t *const *in, size_t n_in, size_t cap)
{
    const json_t **v = sw_xcalloc(n_in ? n_in : 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < n_in; i++)
        if (json_is_object(in[i]))
            v[n++] = in[i];
    json_t *out = NULL;
    if (n == 1)
        out = json_deep_copy(v[0]);
    if (n <= 1) {
        free(v);
        return out;
    }
    double requests = sum_of(v, n, "requests"), sessions = sum_of(v, n, "sessions");
    double cost = sum_of(v, n, "cost"), tin = sum_of(v, n, "tokens_in");
    double tout = sum_of(v, n, "tokens_out");
    json_t *errors = sum_object(v, n, "errors"), *events = sum_object(v, n, "events");
    json_t *shadow = sum_object(v, n, "shadow");
    double server_errors = stat_of(errors, "5xx") + stat_of(errors, "timeout") +
                           stat_of(errors, "connect") + stat_of(errors, "stream_cut");
    out = json_pack("{s:I, s:o, s:f, s:f, s:I, s:I, s:f, s:f, s:I, s:I, s:f, s:f}", "requests",
                    (json_int_t)requests, "errors", errors, "error_rate",
                    ratio_of(server_errors, requests), "client_error_rate",
                    ratio_of(stat_of(errors, "4xx"), requests), "tokens_in", (json_int_t)tin,
                    "tokens_out", (json_int_t)tout, "cost", cost, "cost_per_request",
                    ratio_of(cost, requests), "sessions", (json_int_t)sessions, "tool_calls",
                    (json_int_t)sum_of(v, n, "tool_calls"), "cost_per_session",
                    ratio_of(cost, sessions), "tokens_per_session", ratio_of(tin + tout, sessions));
    double tasks = stat_of(events, "tasks_completed") + stat_of(events, "tasks_failed");
    double tools = stat_of(events, "tool_calls_ok") + stat_of(events, "tool_calls_error");
    json_object_set_new(events, "task_success_rate",
                        json_real(ratio_of(stat_of(events, "tasks_completed"), tasks)));
    json_object_set_new(events, "tool_error_rate",
                        json_real(ratio_of(stat_of(events, "tool_calls_error"), tools)));
    json_object_set_new(out, "events", events);
    json_object_set_new(
        shadow, "different_rate",
        json_real(ratio_of(stat_of(shadow, "different"), stat_of(shadow, "compared"))));
    json_object_set_new(out, "shadow", shadow);
    static const struct {
        const char *samples, *weight, *quantiles;
    } sampled[] = {{"latency_samples", "requests", "latency_ms"},
                   {"ttft_samples", "requests", "ttft_ms"},
                   {"cost_per_session_samples", "sessions", NULL},
                   {"tokens_per_session_samples", "sessions", NULL}};
    int with_samples = json_is_array(json_object_get(v[0], "latency_samples"));
    for (size_t i = 0; i < sizeof sampled / sizeof *sampled; i++) {
        json_t *s =
            with_samples ? merge_samples(v, n, sampled[i].samples, sampled[i].weight, cap) : NULL;
        if (sampled[i].quantiles)
            json_object_set_new(out, sampled[i].quantiles,
                                merge_quantiles(v, n, sampled[i].quantiles, s));
        if (s)
            json_object_set_new(out, sampled[i].samples, s);
    }
    free(v);
    return out;
}
