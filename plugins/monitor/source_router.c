/* source_router.c - the monitor's metrics from the routers' GET /admin/stats: one router, or
   replicas behind a load balancer, their stats merged per version (stats_merge.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "source.h"
#include "stats_merge.h"

typedef struct router_src {
    sw_mon_source base;
    sw_mon_routers *routers;
    size_t n;
    int64_t samples;
} router_src;

/* Every known stats metric's value, for Lua's m.candidate / m.baseline. */
static void flat(json_t *o, const json_t *version)
{
    double n;
    for (size_t i = 0; sw_monitor_metrics[i]; i++)
        if (!sw_metric_is_shadow_pairs(sw_monitor_metrics[i]))
            json_object_set_new(o, sw_monitor_metrics[i],
                                json_real(sw_metric_value(sw_monitor_metrics[i], version, &n)));
    json_object_set_new(o, "requests",
                        json_integer(json_integer_value(json_object_get(version, "requests"))));
}

static json_t *version_over(router_src *r, json_t *const *stats, const char *version)
{
    const json_t **v = sw_xcalloc(r->n, sizeof *v);
    for (size_t i = 0; i < r->n; i++)
        v[i] = json_object_get(json_object_get(stats[i], "versions"), version);
    json_t *out = sw_stats_merge(v, r->n, (size_t)(r->samples > 0 ? r->samples : 0));
    free(v);
    return out;
}

static int measure(sw_mon_source *s, const sw_mon_env *env, const sw_metric_rule *rules, size_t n,
                   const int *mine, sw_mon_look_data *d, char **err)
{
    router_src *r = (router_src *)s;
    char *path = r->samples > 0
                     ? sw_xasprintf("/admin/stats?agent=%s&since=%lld&samples=%lld", env->agent,
                                    (long long)env->start_ms, (long long)r->samples)
                     : sw_xasprintf("/admin/stats?agent=%s&since=%lld", env->agent,
                                    (long long)env->start_ms);
    json_t **stats = sw_xcalloc(r->n ? r->n : 1, sizeof *stats);
    int rc = sw_mon_routers_get(r->routers, env->stage, path, stats, err);
    free(path);
    json_t *cand = NULL, *base = NULL;
    if (rc == SW_SRC_OK) {
        cand = version_over(r, stats, env->candidate);
        base = version_over(r, stats, env->baseline);
        for (size_t i = 0; i < n; i++) {
            if (!mine[i])
                continue;
            sw_obs_from_stats(rules[i].metric, cand, &d->cand[i], &d->owned[2 * i]);
            sw_obs_from_stats(rules[i].metric, base, &d->base[i], &d->owned[2 * i + 1]);
        }
        flat(d->cand_flat, cand);
        flat(d->base_flat, base);
        d->n_cand = (double)json_integer_value(json_object_get(cand, "requests"));
        d->n_base = (double)json_integer_value(json_object_get(base, "requests"));
    }
    json_decref(cand);
    json_decref(base);
    for (size_t i = 0; i < r->n; i++)
        json_decref(stats[i]);
    free(stats);
    return rc;
}

static void src_free(sw_mon_source *s)
{
    free(s);
}

sw_mon_source *sw_mon_source_router(sw_mon_routers *routers, int64_t samples)
{
    router_src *r = sw_xcalloc(1, sizeof *r);
    r->base = (sw_mon_source){.name = "router", .measure = measure, .free = src_free};
    r->routers = routers;
    r->n = sw_mon_routers_count(routers);
    r->samples = samples;
    return &r->base;
}
