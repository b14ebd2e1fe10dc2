/*
 * prom.h - the pure parts of the monitor's Prometheus source: PromQL templates
 * and the answer of Prometheus' instant query API (GET /api/v1/query).
 * No I/O; the parser is fuzzed (tests/fuzz/fuzz_prom.c).
 */
#ifndef SW_MONITOR_PROM_H
#define SW_MONITOR_PROM_H

#include <stddef.h>

#include "base/util.h"

/*
 * Parse an answer of /api/v1/query, strictly:
 *   {"status": "success", "data": {"resultType": "vector",
 *     "result": [{"metric": {...}, "value": [1700000000.123, "0.25"]}]}}
 * or resultType "scalar" with "result": [ts, "0.25"]. The value is a string:
 * a decimal number, "NaN", "+Inf", "-Inf" or "Inf".
 * Returns 1 with *value (NaN and infinities included), 0 when the vector is
 * empty (no data), -1 with err: {"status": "error", "errorType", "error"}
 * (Prometheus' own message), a vector of more than one series (aggregate it),
 * a matrix or string result, or any malformed part.
 */
int sw_prom_parse(const char *body, size_t len, double *value, sw_err *err);

/* The template with {{agent}}, {{version}} and {{window}} replaced (agent and
   version escaped for a PromQL string literal); another {{...}} is an error.
   NULL with err. */
char *sw_prom_expand(const char *tmpl, const char *agent, const char *version, const char *window,
                     sw_err *err);

/* base + "/api/v1/query?query=" + the query, percent-encoded (malloc'd). */
char *sw_prom_query_url(const char *base, const char *query);

/* The built-in query of a metric (value, or with samples set the count of
   samples behind it), or NULL when there is none. */
const char *sw_prom_default_query(const char *metric, int samples);

#endif
