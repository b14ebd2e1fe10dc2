/* source_pairs.c - shadow disagreement from the routers' recorded pairs (GET /admin/shadow),
   over every replica: each pair is recorded by the one that made the shadow call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "source.h"

typedef struct pairs_src {
    sw_mon_source base;
    sw_mon_routers *routers;
    int64_t limit;
} pairs_src;

static int measure(sw_mon_source *s, const sw_mon_env *env, const sw_metric_rule *rules, size_t n,
                   const int *mine, sw_mon_look_data *d, char **err)
{
    pairs_src *p = (pairs_src *)s;
    char *path = sw_xasprintf("/admin/shadow?agent=%s&since=%lld&limit=%lld", env->agent,
                              (long long)env->start_ms, (long long)p->limit);
    size_t n_routers = sw_mon_routers_count(p->routers);
    json_t **answers = sw_xcalloc(n_routers ? n_routers : 1, sizeof *answers);
    int rc = sw_mon_routers_get(p->routers, env->stage, path, answers, err);
    free(path);
    /* Pairs whose shadow is the candidate and answered: a failed shadow call says nothing
       about whether it agrees. */
    double compared = 0, text = 0, tools = 0, either = 0;
    for (size_t r = 0; r < n_routers; r++) {
        size_t i;
        const json_t *pair;
        json_array_foreach(json_object_get(answers[r], "pairs"), i, pair)
        {
            const char *sv =
                json_string_value(json_object_get(json_object_get(pair, "shadow"), "version"));
            if (!sv || strcmp(sv, env->candidate) != 0 ||
                json_is_true(json_object_get(pair, "shadow_failed")))
                continue;
            int t = json_is_true(json_object_get(pair, "text_differs"));
            int c = json_is_true(json_object_get(pair, "tool_calls_differ"));
            compared++;
            text += t;
            tools += c;
            either += t || c;
        }
        json_decref(answers[r]);
    }
    free(answers);
    if (rc != SW_SRC_OK)
        return rc;
    for (size_t k = 0; k < n; k++) {
        if (!mine[k])
            continue;
        const char *m = rules[k].metric;
        double x = strcmp(m, "shadow_text_disagreement_rate") == 0   ? text
                   : strcmp(m, "shadow_tool_disagreement_rate") == 0 ? tools
                                                                     : either;
        d->cand[k] = (sw_obs){.value = compared > 0 ? x / compared : NAN, .n = compared, .x = x};
        /* No baseline: the candidate is held against an absolute threshold. */
        d->base[k] = (sw_obs){.value = 0, .n = 0, .x = 0};
        json_object_set_new(d->cand_flat, m, json_real(compared > 0 ? x / compared : 0));
    }
    json_object_set_new(d->cand_flat, "shadow_pairs", json_integer((json_int_t)compared));
    return SW_SRC_OK;
}

static void src_free(sw_mon_source *s)
{
    free(s);
}

sw_mon_source *sw_mon_source_pairs(sw_mon_routers *routers, int64_t limit)
{
    pairs_src *p = sw_xcalloc(1, sizeof *p);
    p->base = (sw_mon_source){.name = "pairs", .measure = measure, .free = src_free};
    p->routers = routers;
    p->limit = limit;
    return &p->base;
}
