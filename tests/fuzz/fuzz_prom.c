/*
 * fuzz_prom.c - any bytes as an answer of Prometheus' instant query API
 * (plugins/monitor/prom_parse.c): the parser returns a value, no data, or an
 * error with a message, and never crashes or leaks. The input is also used as
 * a PromQL template and expanded, and its first line as a query to URL-encode.
 * Needs plugins/monitor/prom_parse.c compiled in and plugins/monitor on the
 * include path (besides slipway_fuzz_lib for core/base).
 */
#include <math.h>

#include "fuzz_util.h"
#include "prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    double v = 0;
    sw_err err = {{0}};
    int rc = sw_prom_parse((const char *)data, size, &v, &err);
    if (rc < -1 || rc > 1)
        abort();
    if (rc < 0 && !err.msg[0])
        abort(); /* a refused answer always says why */
    if (rc == 0 && !isnan(v))
        abort(); /* no data is NaN */
    char *s = fz_cstr(data, size);
    char *q = sw_prom_expand(s, "agent\"x", "v\\1", "30s", &err);
    if (q) {
        if (strstr(q, "{{agent}}") || strstr(q, "{{version}}"))
            abort(); /* every placeholder was replaced */
        char *u = sw_prom_query_url("http://127.0.0.1:9090", q);
        for (const char *p = strchr(u, '?'); *p; p++)
            if (*p == ' ' || *p == '"' || *p == '{' || *p == '\n')
                abort(); /* percent-encoded */
        free(u);
        free(q);
    } else if (!err.msg[0]) {
        abort();
    }
    free(s);
    return 0;
}
