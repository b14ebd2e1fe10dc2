/* source_prom.c - the monitor's metrics from Prometheus' instant query API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "prom.h"
#include "source.h"

typedef struct prom_src {
    sw_mon_source base;
    char *url;
    size_t n;
    char **value_q, **samples_q; /* per rule; NULL for rules of other sources */
} prom_src;

#define REQUESTS_Q                                                                                 \
    "sum(increase(slipway_requests_total{agent=\"{{agent}}\",version=\"{{version}}\"}[{{window}}]" \
    "))"

typedef enum { Q_OK = 0, Q_NODATA, Q_RETRY, Q_ERROR } qres;

/* One instant query for one side; *err names the query on failure. */
static qres query(prom_src *p, const sw_mon_env *env, const char *tmpl, const char *version,
                  const char *window, double *value, char **err, char **shown)
{
    const sw_host *h = sw_host_api;
    sw_err e = {{0}};
    char *q = sw_prom_expand(tmpl, env->agent, version, window, &e);
    if (!q) {
        *err = sw_xasprintf("prometheus: query '%s': %s", tmpl, e.msg);
        return Q_ERROR;
    }
    char *url = sw_prom_query_url(p->url, q);
    const char *headers[] = {"Accept: application/json", NULL};
    sw_http_request rq = {
        SW_ABI_INIT(sw_http_request), .method = "GET",  .url = url,       .headers = headers,
        .timeout_ms = 10000,          .max_retries = 2, .backoff_ms = 100};
    sw_http_response rs = {SW_ABI_INIT(sw_http_response)};
    sw_status st = h->http(env->stage, &rq, &rs);
    free(url);
    qres r = Q_OK;
    if (st != SW_OK) {
        *err =
            sw_xasprintf("prometheus at %s: %s (query '%s')", p->url, h->last_error(env->stage), q);
        r = Q_RETRY;
    } else if (rs.status >= 500 || rs.status == 429) {
        *err = sw_xasprintf("prometheus at %s: HTTP %ld (query '%s')", p->url, rs.status, q);
        r = Q_RETRY;
    } else {
        /* 400 and 422 carry Prometheus' own error: parsed like any answer. */
        int pr = sw_prom_parse(rs.body, rs.body_len, value, &e);
        if (pr < 0) {
            *err = sw_xasprintf("prometheus: query '%s' for version '%s' (HTTP %ld): %s", q,
                                version, rs.status, e.msg);
            r = Q_ERROR;
        } else if (pr == 0 || !isfinite(*value)) {
            r = Q_NODATA; /* an empty vector, or NaN / Inf from a division by zero */
        }
    }
    h->http_response_free(env->stage, &rs);
    if (shown && !*shown)
        *shown = q;
    else
        free(q);
    return r;
}

/* value and count of one side of one metric into o. */
static int side(prom_src *p, const sw_mon_env *env, size_t i, const char *version,
                const char *window, sw_obs *o, char **err, char **shown)
{
    double v = NAN, n = NAN;
    qres r = query(p, env, p->value_q[i], version, window, &v, err, shown);
    if (r == Q_RETRY || r == Q_ERROR)
        return r == Q_RETRY ? SW_SRC_RETRY : SW_SRC_ERROR;
    qres rn = query(p, env, p->samples_q[i], version, window, &n, err, NULL);
    if (rn == Q_RETRY || rn == Q_ERROR)
        return rn == Q_RETRY ? SW_SRC_RETRY : SW_SRC_ERROR;
    /* increase() extrapolates to the window's ends: counts come back fractional. */
    *o = (sw_obs){.value = r == Q_OK ? v : NAN, .n = rn == Q_OK && n > 0 ? round(n) : 0, .x = NAN};
    return SW_SRC_OK;
}

static int measure(sw_mon_source *s, const sw_mon_env *env, const sw_metric_rule *rules, size_t n,
                   const int *mine, sw_mon_look_data *d, char **err)
{
    prom_src *p = (prom_src *)s;
    /* increase() over the monitor's window; a range needs two scrapes in it. */
    int64_t secs = (env->now_ms - env->start_ms + 999) / 1000;
    char window[32];
    snprintf(window, sizeof window, "%llds", (long long)(secs < 2 ? 2 : secs));
    for (size_t i = 0; i < n && i < p->n; i++) {
        if (!mine[i])
            continue;
        /* The reasons name the candidate's query as Prometheus ran it. */
        int rc = side(p, env, i, env->candidate, window, &d->cand[i], err, &d->note[i]);
        if (rc == SW_SRC_OK)
            rc = side(p, env, i, env->baseline, window, &d->base[i], err, NULL);
        if (rc != SW_SRC_OK)
            return rc;
        const sw_obs *c = &d->cand[i], *b = &d->base[i];
        json_object_set_new(d->cand_flat, rules[i].metric,
                            isnan(c->value) ? json_null() : json_real(c->value));
        json_object_set_new(d->base_flat, rules[i].metric,
                            isnan(b->value) ? json_null() : json_real(b->value));
    }
    double rc_ = 0, rb = 0;
    const char *vs[2] = {env->candidate, env->baseline};
    double *out[2] = {&rc_, &rb};
    for (int k = 0; k < 2; k++) {
        double v = 0;
        qres r = query(p, env, REQUESTS_Q, vs[k], window, &v, err, NULL);
        if (r == Q_RETRY || r == Q_ERROR)
            return r == Q_RETRY ? SW_SRC_RETRY : SW_SRC_ERROR;
        *out[k] = r == Q_OK && v > 0 ? round(v) : 0;
    }
    d->n_cand = rc_;
    d->n_base = rb;
    json_object_set_new(d->cand_flat, "requests", json_integer((json_int_t)rc_));
    json_object_set_new(d->base_flat, "requests", json_integer((json_int_t)rb));
    return SW_SRC_OK;
}

static void src_free(sw_mon_source *s)
{
    prom_src *p = (prom_src *)s;
    for (size_t i = 0; i < p->n; i++) {
        free(p->value_q[i]);
        free(p->samples_q[i]);
    }
    free(p->value_q);
    free(p->samples_q);
    free(p->url);
    free(p);
}

static int check_template(const char *metric, const char *q, sw_err *err)
{
    sw_err e = {{0}};
    char *x = sw_prom_expand(q, "a", "v", "60s", &e);
    if (!x)
        return sw_err_set(err, "queries.%s: %s", metric, e.msg);
    free(x);
    return 0;
}

sw_mon_source *sw_mon_source_prometheus(const char *base_url, const json_t *queries,
                                        const sw_metric_rule *rules, size_t n, sw_err *err)
{
    if (!base_url || strncmp(base_url, "http", 4) != 0) {
        sw_err_set(err, "prometheus: '%s' is not an http:// URL", base_url ? base_url : "");
        return NULL;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)queries, key, v)
    {
        int ok = sw_monitor_metric_known(key) && !sw_metric_is_shadow_pairs(key) &&
                 (json_is_string(v) ||
                  (json_is_object(v) && json_is_string(json_object_get(v, "value")) &&
                   json_object_size(v) ==
                       1u + (json_is_string(json_object_get(v, "samples")) ? 1u : 0u)));
        if (!ok) {
            sw_err_set(err,
                       "queries.%s: a known metric (not a shadow pair one) with a PromQL "
                       "string or {value: PromQL, samples: PromQL}",
                       key);
            return NULL;
        }
    }
    prom_src *p = sw_xcalloc(1, sizeof *p);
    p->base = (sw_mon_source){.name = "prometheus", .measure = measure, .free = src_free};
    p->url = sw_xstrdup(base_url);
    p->n = n;
    p->value_q = sw_xcalloc(n ? n : 1, sizeof *p->value_q);
    p->samples_q = sw_xcalloc(n ? n : 1, sizeof *p->samples_q);
    for (size_t i = 0; i < n; i++) {
        const char *m = rules[i].metric;
        if (sw_metric_is_shadow_pairs(m))
            continue;
        const json_t *q = json_object_get(queries, m);
        const char *vq = json_is_string(q) ? json_string_value(q)
                                           : json_string_value(json_object_get(q, "value"));
        const char *sq = json_string_value(json_object_get(q, "samples"));
        if (!vq)
            vq = sw_prom_default_query(m, 0);
        if (!sq)
            sq = sw_prom_default_query(m, 1);
        if (!sq)
            sq = REQUESTS_Q;
        if (!vq) {
            sw_err_set(err, "prometheus: metric '%s' has no default query: give one in queries", m);
            src_free(&p->base);
            return NULL;
        }
        if (check_template(m, vq, err) < 0 || check_template(m, sq, err) < 0) {
            src_free(&p->base);
            return NULL;
        }
        p->value_q[i] = sw_xstrdup(vq);
        p->samples_q[i] = sw_xstrdup(sq);
    }
    return &p->base;
}
