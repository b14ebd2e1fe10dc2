/* check_router_metrics.c - counters, histograms, windowed stats and the Prometheus text. */
#include <check.h>
#include <string.h>

#include "router/metrics.h"

static sw_req_result req(int status, double ms, sw_errclass ec)
{
    sw_req_result r = {0};
    r.status = status;
    r.latency_ms = ms;
    r.ttft_ms = ms / 2;
    r.errclass = ec;
    r.tokens_in = 10;
    r.tokens_out = 4;
    r.cost = 0.5;
    r.tool_calls = 1;
    return r;
}

START_TEST(stats_over_a_window)
{
    sw_metrics m;
    sw_metrics_init(&m, 1000);
    sw_series *v1 = sw_metrics_series(&m, "a", "v1");
    sw_series *v2 = sw_metrics_series(&m, "a", "v2");
    sw_series *other = sw_metrics_series(&m, "b", "v1");
    ck_assert_ptr_eq(sw_metrics_series(&m, "a", "v1"), v1);
    for (int i = 1; i <= 100; i++) {
        sw_req_result r = req(200, i, SW_ERRC_NONE);
        r.session = 1 + 2 * (uint32_t)(i % 8); /* 100 requests from 8 sessions */
        sw_metrics_request(&m, v1, &r, 1000 + i);
    }
    sw_req_result old = req(200, 5000, SW_ERRC_NONE);
    sw_metrics_request(&m, v2, &old, 10); /* before the window */
    sw_req_result e5 = req(502, 30, SW_ERRC_CONNECT), e4 = req(404, 1, SW_ERRC_4XX);
    sw_metrics_request(&m, v2, &e5, 2000);
    sw_metrics_request(&m, v2, &e4, 2000);
    sw_metrics_request(&m, other, &e4, 2000);
    sw_metrics_event(&m, v2, SW_EV_TASK, 1, 2000);
    sw_metrics_event(&m, v2, SW_EV_TASK, 0, 2000);
    sw_metrics_event(&m, v2, SW_EV_TASK, 1, 2000);
    sw_metrics_event(&m, v2, SW_EV_TOOL, 0, 2000);
    sw_metrics_event(&m, v2, SW_EV_FEEDBACK, -1, 2000);
    sw_metrics_shadow(&m, v2, 1, 0, 2000);
    sw_metrics_shadow(&m, v2, 0, 0, 2000);
    sw_metrics_shadow(&m, v2, 0, 1, 2000);
    sw_metrics_shadow_dropped(&m, v2, 2000);
    json_t *s = sw_metrics_stats(&m, "a", 1000, 3000);
    ck_assert(json_is_true(json_object_get(s, "complete")));
    json_t *a1 = json_object_get(json_object_get(s, "versions"), "v1");
    json_t *a2 = json_object_get(json_object_get(s, "versions"), "v2");
    ck_assert_ptr_null(json_object_get(json_object_get(s, "versions"), "b"));
    ck_assert_int_eq(json_integer_value(json_object_get(a1, "requests")), 100);
    json_t *lat = json_object_get(a1, "latency_ms");
    ck_assert(json_real_value(json_object_get(lat, "p50")) == 50);
    ck_assert(json_real_value(json_object_get(lat, "p95")) == 95);
    ck_assert(json_real_value(json_object_get(lat, "p99")) == 99);
    ck_assert(json_real_value(json_object_get(lat, "max")) == 100);
    ck_assert(json_real_value(json_object_get(json_object_get(a1, "ttft_ms"), "p50")) == 25);
    ck_assert_int_eq(json_integer_value(json_object_get(a1, "tokens_in")), 1000);
    ck_assert(json_real_value(json_object_get(a1, "cost")) == 50);
    ck_assert_int_eq(json_integer_value(json_object_get(a1, "sessions")), 8);
    ck_assert(json_real_value(json_object_get(a1, "cost_per_session")) == 50.0 / 8);
    ck_assert(json_real_value(json_object_get(a1, "tokens_per_session")) == 1400.0 / 8);
    ck_assert_int_eq(json_integer_value(json_object_get(a2, "requests")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(a2, "sessions")), 0); /* none known */
    ck_assert(json_real_value(json_object_get(a2, "cost_per_session")) == 0);
    ck_assert(json_real_value(json_object_get(a2, "error_rate")) == 0.5);
    ck_assert(json_real_value(json_object_get(a2, "client_error_rate")) == 0.5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(a2, "errors"), "connect")),
                     1);
    json_t *ev = json_object_get(a2, "events");
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "tasks_completed")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "tasks_failed")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "tool_calls_error")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "feedback_negative")), 1);
    json_t *sh = json_object_get(a2, "shadow");
    ck_assert_int_eq(json_integer_value(json_object_get(sh, "compared")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(sh, "different")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(sh, "errors")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(sh, "dropped")), 1);
    json_decref(s);
    sw_metrics_free(&m);
}
END_TEST

START_TEST(a_full_ring_says_the_window_is_incomplete)
{
    sw_metrics m;
    sw_metrics_init(&m, 10);
    sw_series *s = sw_metrics_series(&m, "a", "v1");
    for (int i = 0; i < 25; i++) {
        sw_req_result r = req(200, 1, SW_ERRC_NONE);
        sw_metrics_request(&m, s, &r, i * 100);
    }
    json_t *all = sw_metrics_stats(&m, NULL, 0, 3000);
    ck_assert(json_is_false(json_object_get(all, "complete")));
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(json_object_get(all, "versions"), "v1"), "requests")),
                     10);
    json_decref(all);
    json_t *recent = sw_metrics_stats(&m, NULL, 1500, 3000);
    ck_assert(json_is_true(json_object_get(recent, "complete")));
    json_decref(recent);
    ck_assert_uint_eq(s->requests, 25); /* totals keep counting */
    sw_metrics_free(&m);
}
END_TEST

START_TEST(prometheus_text)
{
    sw_metrics m;
    sw_metrics_init(&m, 100);
    sw_series *s = sw_metrics_series(&m, "sup\"port", "v1");
    sw_req_result r = req(200, 3, SW_ERRC_NONE);
    sw_metrics_request(&m, s, &r, 1);
    r = req(200, 700, SW_ERRC_STREAM_CUT);
    sw_metrics_request(&m, s, &r, 2);
    sw_buf b = {0};
    sw_metrics_prometheus(&m, &b);
    const char *want[] = {
        "# TYPE slipway_requests_total counter\n",
        "slipway_requests_total{agent=\"sup\\\"port\",version=\"v1\"} 2\n",
        "slipway_request_errors_total{agent=\"sup\\\"port\",version=\"v1\",class=\"stream_cut\"} "
        "1\n",
        "# TYPE slipway_request_duration_seconds histogram\n",
        "slipway_request_duration_seconds_bucket{agent=\"sup\\\"port\",version=\"v1\",le=\"0.005\"}"
        " 1\n",
        "slipway_request_duration_seconds_bucket{agent=\"sup\\\"port\",version=\"v1\",le=\"1\"} "
        "2\n",
        "slipway_request_duration_seconds_bucket{agent=\"sup\\\"port\",version=\"v1\",le=\"+Inf\"} "
        "2\n",
        "slipway_request_duration_seconds_count{agent=\"sup\\\"port\",version=\"v1\"} 2\n",
        "slipway_tokens_total{agent=\"sup\\\"port\",version=\"v1\",direction=\"out\"} 8\n",
        "slipway_time_to_first_token_seconds_count",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(b.data, want[i]) != NULL, "missing: %s", want[i]);
    sw_buf_free(&b);
    ck_assert_str_eq(sw_errclass_name(SW_ERRC_TIMEOUT), "timeout");
    sw_metrics_free(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, stats_over_a_window);
    tcase_add_test(tc, a_full_ring_says_the_window_is_incomplete);
    tcase_add_test(tc, prometheus_text);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
