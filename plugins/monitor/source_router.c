/* source_router.c - the monitor's metrics from the router's GET /admin/stats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "source.h"

typedef struct router_src {
    sw_mon_source base;
    sw_admin_client *ac;
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

static int measure(sw_mon_source *s, const sw_mon_env *env, const sw_metric_rule *rules, size_t n,
                   const int *mine, sw_mon_look_data *d, char **err)
{
    router_src *r = (router_src *)s;
    char *path = r->samples > 0
                     ? sw_xasprintf("/admin/stats?agent=%s&since=%lld&samples=%lld", env->agent,
                                    (long long)env->start_ms, (long long)r->samples)
                     : sw_xasprintf("/admin/stats?agent=%s&since=%lld", env->agent,
                                    (long long)env->start_ms);
    json_t *stats = NULL;
    char msg[1024];
    int rc = sw_admin_client_json(r->ac, "GET", path, NULL, &stats, NULL, msg, sizeof msg);
    free(path);
    if (rc) {
        /* A router restart or a blip is not a verdict on the candidate. */
        *err = sw_xstrdup(msg);
        return SW_SRC_RETRY;
    }
    const json_t *versions = json_object_get(stats, "versions");
    const json_t *cand = json_object_get(versions, env->candidate);
    const json_t *base = json_object_get(versions, env->baseline);
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
    json_decref(stats);
    return SW_SRC_OK;
}

static void src_free(sw_mon_source *s)
{
    free(s);
}

sw_mon_source *sw_mon_source_router(sw_admin_client *ac, int64_t samples)
{
    router_src *r = sw_xcalloc(1, sizeof *r);
    r->base = (sw_mon_source){.name = "router", .measure = measure, .free = src_free};
    r->ac = ac;
    r->samples = samples;
    return &r->base;
}
