/* check_monitor_merge.c - one version's stats over router replicas (plugins/monitor/
   stats_merge.c): counts summed, rates and means from the sums, samples merged in proportion
   to each router's traffic, quantiles from the merged sample; and the Prometheus source's
   built-in queries, which sum over every replica's series. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/monitor/evidence.c"
#include "../../plugins/monitor/judge.c"
#include "../../plugins/monitor/prom_parse.c"
#include "../../plugins/monitor/stats_merge.c"

/* A version's stats as the router writes them (core/router/metrics.c), with n latencies
   of value lat each in latency_samples. */
static json_t *stats(int requests, int e5xx, int e4xx, double cost, int sessions, int failed,
                     int done, double lat, size_t n_samples)
{
    json_t *samples = json_array(), *sess = json_array();
    for (size_t i = 0; i < n_samples; i++) {
        json_array_append_new(samples, json_real(lat + (double)i * 0.001));
        json_array_append_new(sess, json_real(cost / (sessions ? sessions : 1)));
    }
    return json_pack(
        "{s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:f, s:f, s:o, s:o, s:{s:f, s:f, s:f, s:f, s:f, "
        "s:f}, s:n, s:i, s:i, s:f, s:f, s:o, s:o, s:i, s:f, s:f, s:i, s:{s:i, s:i, s:f, s:i, s:i, "
        "s:f, s:i, s:i}, s:{s:i, s:i, s:i, s:i, s:f}}",
        "requests", requests, "errors", "4xx", e4xx, "5xx", e5xx, "timeout", 0, "connect", 0,
        "stream_cut", 0, "canceled", 0, "error_rate", requests ? (double)e5xx / requests : 0,
        "client_error_rate", requests ? (double)e4xx / requests : 0, "latency_samples", samples,
        "ttft_samples", json_array(), "latency_ms", "p50", lat, "p90", lat, "p95", lat, "p99", lat,
        "max", lat + 1, "mean", lat, "ttft_ms", "tokens_in", 10 * requests, "tokens_out",
        20 * requests, "cost", cost, "cost_per_request", requests ? cost / requests : 0,
        "cost_per_session_samples", sess, "tokens_per_session_samples", json_array(), "sessions",
        sessions, "cost_per_session", sessions ? cost / sessions : 0, "tokens_per_session",
        sessions ? 30.0 * requests / sessions : 0, "tool_calls", 0, "events", "tasks_completed",
        done, "tasks_failed", failed, "task_success_rate",
        done + failed ? (double)done / (done + failed) : 0, "tool_calls_ok", 0, "tool_calls_error",
        0, "tool_error_rate", 0.0, "feedback_positive", 0, "feedback_negative", 0, "shadow",
        "compared", 4, "different", 1, "errors", 0, "dropped", 0, "different_rate", 0.25);
}

/* Asked without samples=N, the router writes none. */
static json_t *without_samples(json_t *v)
{
    static const char *const keys[] = {"latency_samples", "ttft_samples",
                                       "cost_per_session_samples", "tokens_per_session_samples"};
    for (size_t i = 0; i < 4; i++)
        json_object_del(v, keys[i]);
    return v;
}

static double num_at(const json_t *o, const char *a, const char *b)
{
    const json_t *j = json_object_get(o, a);
    if (b)
        j = json_object_get(j, b);
    ck_assert_msg(json_is_number(j), "%s.%s is a number", a, b ? b : "");
    return json_number_value(j);
}

START_TEST(counts_summed_rates_recomputed)
{
    json_t *a = without_samples(stats(300, 30, 3, 3.0, 100, 6, 94, 100, 0));
    json_t *b = without_samples(stats(100, 2, 1, 2.0, 50, 4, 46, 200, 0));
    const json_t *v[] = {a, NULL, b}; /* the middle router never served the version */
    json_t *m = sw_stats_merge(v, 3, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "requests")), 400);
    ck_assert_double_eq(num_at(m, "errors", "5xx"), 32);
    ck_assert_double_eq(num_at(m, "errors", "4xx"), 4);
    ck_assert_double_eq_tol(num_at(m, "error_rate", NULL), 32.0 / 400, 1e-12);
    ck_assert_double_eq_tol(num_at(m, "client_error_rate", NULL), 4.0 / 400, 1e-12);
    ck_assert_double_eq_tol(num_at(m, "cost", NULL), 5.0, 1e-12);
    ck_assert_double_eq_tol(num_at(m, "cost_per_request", NULL), 5.0 / 400, 1e-12);
    ck_assert_double_eq(num_at(m, "sessions", NULL), 150);
    ck_assert_double_eq_tol(num_at(m, "cost_per_session", NULL), 5.0 / 150, 1e-12);
    ck_assert_double_eq(num_at(m, "tokens_in", NULL), 4000);
    ck_assert_double_eq_tol(num_at(m, "tokens_per_session", NULL), 12000.0 / 150, 1e-9);
    ck_assert_double_eq(num_at(m, "events", "tasks_failed"), 10);
    ck_assert_double_eq_tol(num_at(m, "events", "task_success_rate"), 140.0 / 150, 1e-12);
    ck_assert_double_eq(num_at(m, "shadow", "compared"), 8);
    ck_assert_double_eq_tol(num_at(m, "shadow", "different_rate"), 0.25, 1e-12);
    /* Without samples, quantiles are the request-weighted mean of the routers'. */
    ck_assert_double_eq_tol(num_at(m, "latency_ms", "p95"), (300 * 100.0 + 100 * 200.0) / 400,
                            1e-9);
    ck_assert_double_eq(num_at(m, "latency_ms", "max"), 201);
    ck_assert(json_is_null(json_object_get(m, "ttft_ms")));
    ck_assert_ptr_null(json_object_get(m, "latency_samples"));
    json_decref(m);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(samples_in_proportion)
{
    /* Router a served 3 times b's requests: of a merged sample of 100, 75 come from a. */
    json_t *a = stats(300, 0, 0, 3.0, 100, 0, 0, 100, 100);
    json_t *b = stats(100, 0, 0, 3.0, 300, 0, 0, 200, 100);
    const json_t *v[] = {a, b};
    json_t *m = sw_stats_merge(v, 2, 100);
    const json_t *lat = json_object_get(m, "latency_samples");
    ck_assert_int_eq(json_array_size(lat), 100);
    size_t from_a = 0;
    for (size_t i = 0; i < json_array_size(lat); i++)
        from_a += json_number_value(json_array_get(lat, i)) < 150;
    ck_assert_int_eq(from_a, 75);
    /* The quantiles come from the merged sample: p50 is a's, p90 b's. */
    ck_assert_double_eq_tol(num_at(m, "latency_ms", "p50"), 100, 0.1);
    ck_assert_double_eq_tol(num_at(m, "latency_ms", "p90"), 200, 0.1);
    /* Per-session samples go by sessions: b had 3 times a's sessions. */
    const json_t *cps = json_object_get(m, "cost_per_session_samples");
    ck_assert_int_eq(json_array_size(cps), 100);
    size_t from_b = 0;
    for (size_t i = 0; i < json_array_size(cps); i++)
        from_b += json_number_value(json_array_get(cps, i)) < 0.02; /* b: 3/300 a session */
    ck_assert_int_eq(from_b, 75);
    json_decref(m);
    /* A router with fewer samples than its share gives all it has. */
    json_t *c = stats(900, 0, 0, 1.0, 10, 0, 0, 100, 5);
    const json_t *w[] = {c, b};
    m = sw_stats_merge(w, 2, 100);
    ck_assert_int_eq(json_array_size(json_object_get(m, "latency_samples")), 5 + 10);
    json_decref(m);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}
END_TEST

START_TEST(one_router_as_it_is)
{
    json_t *a = stats(42, 1, 0, 1.0, 7, 0, 3, 120, 10);
    const json_t *v[] = {NULL, a};
    json_t *m = sw_stats_merge(v, 2, 100);
    ck_assert(json_equal(m, a));
    json_decref(m);
    const json_t *none[] = {NULL, NULL};
    ck_assert_ptr_null(sw_stats_merge(none, 2, 100));
    ck_assert_ptr_null(sw_stats_merge(none, 0, 100));
    json_decref(a);
}
END_TEST

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

/* Each replica exports its own series (another `instance`): a query that did not sum them
   would answer one series per replica, or one replica's alone. */
START_TEST(prometheus_queries_sum_over_replicas)
{
    size_t checked = 0;
    for (size_t i = 0; sw_monitor_metrics[i]; i++)
        for (int samples = 0; samples < 2; samples++) {
            const char *q = sw_prom_default_query(sw_monitor_metrics[i], samples);
            if (!q)
                continue;
            size_t inc = count(q, "increase(");
            ck_assert_msg(inc > 0, "%s", q);
            ck_assert_msg(count(q, "sum(increase(") + count(q, "sum by (le) (increase(") == inc,
                          "every increase() of %s is summed over the series: %s",
                          sw_monitor_metrics[i], q);
            checked++;
        }
    ck_assert_int_ge(checked, 20);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitor_merge");
    TCase *tc = tcase_create("merge");
    tcase_add_test(tc, counts_summed_rates_recomputed);
    tcase_add_test(tc, samples_in_proportion);
    tcase_add_test(tc, one_router_as_it_is);
    tcase_add_test(tc, prometheus_queries_sum_over_replicas);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
