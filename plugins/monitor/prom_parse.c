/* prom_parse.c - Prometheus query answers and PromQL templates. */
#include "prom.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A sample value as Prometheus writes it (Go's strconv.FormatFloat plus its
   special values): decimal digits, sign, point and exponent only, so strtod's
   hex floats and "nan(...)" are refused. */
static int sample_value(const char *s, double *out)
{
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Inf") == 0) {
        *out = -INFINITY;
        return 0;
    }
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s)
        return -1;
    *out = v;
    return 0;
}

/* [ts, "value"] */
static int pair(const json_t *p, const char *where, double *value, sw_err *err)
{
    if (!json_is_array(p) || json_array_size(p) != 2)
        return sw_err_set(err, "%s: expected [timestamp, \"value\"]", where);
    if (!json_is_number(json_array_get(p, 0)))
        return sw_err_set(err, "%s: the timestamp is not a number", where);
    const char *s = json_string_value(json_array_get(p, 1));
    if (!s)
        return sw_err_set(err, "%s: the value is not a string", where);
    if (sample_value(s, value) < 0)
        return sw_err_set(err, "%s: '%.40s' is not a sample value", where, s);
    return 0;
}

int sw_prom_parse(const char *body, size_t len, double *value, sw_err *err)
{
    *value = NAN;
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!j) {
        sw_err_set(err, "the answer is not JSON (line %d: %s)", je.line, je.text);
        return -1;
    }
    const char *status = json_string_value(json_object_get(j, "status"));
    const json_t *data = json_object_get(j, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    const json_t *res = json_object_get(data, "result");
    if (!json_is_object(j) || !status) {
        sw_err_set(err, "the answer has no \"status\"");
    } else if (strcmp(status, "error") == 0) {
        const char *et = json_string_value(json_object_get(j, "errorType"));
        const char *e = json_string_value(json_object_get(j, "error"));
        sw_err_set(err, "Prometheus error (%s): %s", et ? et : "unknown", e ? e : "no message");
    } else if (strcmp(status, "success") != 0) {
        sw_err_set(err, "unknown status '%.40s'", status);
    } else if (!json_is_object(data) || !type) {
        sw_err_set(err, "the answer has no \"data\" with a \"resultType\"");
    } else if (strcmp(type, "scalar") == 0) {
        rc = pair(res, "scalar result", value, err) < 0 ? -1 : 1;
    } else if (strcmp(type, "vector") == 0) {
        if (!json_is_array(res)) {
            sw_err_set(err, "the vector result is not a list");
        } else if (json_array_size(res) == 0) {
            rc = 0;
        } else if (json_array_size(res) > 1) {
            sw_err_set(err, "the query returns %zu series, not one: aggregate it (e.g. with sum())",
                       json_array_size(res));
        } else {
            const json_t *s = json_array_get(res, 0);
            if (!json_is_object(s) || !json_is_object(json_object_get(s, "metric")))
                sw_err_set(err, "the vector's sample has no \"metric\" object");
            else
                rc = pair(json_object_get(s, "value"), "the vector's sample", value, err) < 0 ? -1
                                                                                              : 1;
        }
    } else {
        sw_err_set(err, "resultType '%.20s': the query must give an instant vector or a scalar",
                   type);
    }
    json_decref(j);
    return rc;
}

static void literal(sw_buf *b, const char *s)
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

char *sw_prom_expand(const char *tmpl, const char *agent, const char *version, const char *window,
                     sw_err *err)
{
    sw_buf b = {0};
    for (const char *p = tmpl; *p;) {
        if (p[0] != '{' || p[1] != '{') {
            sw_buf_append(&b, p++, 1);
            continue;
        }
        const char *end = strstr(p + 2, "}}");
        size_t n = end ? (size_t)(end - p - 2) : 0;
        if (end && n == 5 && strncmp(p + 2, "agent", 5) == 0)
            literal(&b, agent);
        else if (end && n == 7 && strncmp(p + 2, "version", 7) == 0)
            literal(&b, version);
        else if (end && n == 6 && strncmp(p + 2, "window", 6) == 0)
            sw_buf_puts(&b, window);
        else {
            sw_err_set(err, "unknown placeholder '%.*s' (use {{agent}}, {{version}}, {{window}})",
                       end ? (int)(n + 4) : 2, p);
            sw_buf_free(&b);
            return NULL;
        }
        p = end + 2;
    }
    return sw_buf_steal(&b);
}

char *sw_prom_query_url(const char *base, const char *query)
{
    sw_buf b = {0};
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    sw_buf_append(&b, base, bl);
    sw_buf_puts(&b, "/api/v1/query?query=");
    for (const unsigned char *p = (const unsigned char *)query; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            sw_buf_append(&b, (const char *)p, 1);
        else
            sw_buf_printf(&b, "%%%02X", *p);
    }
    return sw_buf_steal(&b);
}

#define SEL           "agent=\"{{agent}}\",version=\"{{version}}\""
#define INC(m, extra) "sum(increase(" m "{" SEL extra "}[{{window}}]))"
#define QUANT(q, h)                                                                                \
    "histogram_quantile(" q ", sum by (le) (increase(" h "_bucket{" SEL "}[{{window}}]))) * 1000"

static const struct {
    const char *metric, *value, *samples;
} defaults[] = {
    {"error_rate",
     INC("slipway_request_errors_total",
         ",class=~\"5xx|timeout|connect|stream_cut\"") " / " INC("slipway_requests_total", ""),
     INC("slipway_requests_total", "")},
    {"tool_error_rate",
     INC("slipway_events_total", ",type=\"tool_call\",outcome=\"error\"") " / " INC(
         "slipway_events_total", ",type=\"tool_call\""),
     INC("slipway_events_total", ",type=\"tool_call\"")},
    {"task_failure_rate",
     INC("slipway_events_total",
         ",type=\"task\",outcome=\"failed\"") " / " INC("slipway_events_total", ",type=\"task\""),
     INC("slipway_events_total", ",type=\"task\"")},
    {"feedback_negative_rate",
     INC("slipway_events_total", ",type=\"feedback\",outcome=\"negative\"") " / " INC(
         "slipway_events_total", ",type=\"feedback\""),
     INC("slipway_events_total", ",type=\"feedback\"")},
    {"latency_p50", QUANT("0.5", "slipway_request_duration_seconds"),
     INC("slipway_request_duration_seconds_count", "")},
    {"latency_p95", QUANT("0.95", "slipway_request_duration_seconds"),
     INC("slipway_request_duration_seconds_count", "")},
    {"latency_p99", QUANT("0.99", "slipway_request_duration_seconds"),
     INC("slipway_request_duration_seconds_count", "")},
    {"ttft_p50", QUANT("0.5", "slipway_time_to_first_token_seconds"),
     INC("slipway_time_to_first_token_seconds_count", "")},
    {"ttft_p95", QUANT("0.95", "slipway_time_to_first_token_seconds"),
     INC("slipway_time_to_first_token_seconds_count", "")},
    {"cost_per_request", INC("slipway_cost_total", "") " / " INC("slipway_requests_total", ""),
     INC("slipway_requests_total", "")},
    {"tokens_per_request", INC("slipway_tokens_total", "") " / " INC("slipway_requests_total", ""),
     INC("slipway_requests_total", "")},
    {"shadow_different_rate",
     INC("slipway_shadow_pairs_total", ",result=\"different\"") " / " INC(
         "slipway_shadow_pairs_total", ",result=~\"same|different\""),
     INC("slipway_shadow_pairs_total", ",result=~\"same|different\"")},
};

const char *sw_prom_default_query(const char *metric, int samples)
{
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(defaults[i].metric, metric) == 0)
            return samples ? defaults[i].samples : defaults[i].value;
    return NULL;
}
