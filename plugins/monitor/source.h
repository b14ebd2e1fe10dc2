/*
 * source.h - where the monitor's numbers come from. A source measures, at each
 * look, the candidate and the baseline of the metrics that are its own:
 *   router      the routers' GET /admin/stats over the window since the monitor
 *               started, with a bounded sample of raw latencies: one router, or the
 *               replicas behind a load balancer, merged per version (source_router.c);
 *   prometheus  one PromQL instant query per metric and side (source_prom.c);
 *   pairs       the routers' shadow pairs, GET /admin/shadow: how often the
 *               candidate, as the shadow, answers differently (source_pairs.c).
 * Both router sources read every replica alike (source_replicas.c).
 * Each source is one file (source.c has the look data they fill); monitor.c picks router or
 * prometheus for the ordinary metrics and the pairs source for the shadow_*_disagreement_rate ones.
 */
#ifndef SW_MONITOR_SOURCE_H
#define SW_MONITOR_SOURCE_H

#include <jansson.h>

#include "../rollback/admin_client.h"
#include "judge.h"
#include "slipway/plugin.h"

/* What a source is told at a look. */
typedef struct sw_mon_env {
    sw_stage *stage;
    const char *agent, *candidate, *baseline;
    int64_t start_ms, now_ms; /* the window: [start_ms, now_ms] */
} sw_mon_env;

/* What the sources measured at one look; the rules' order throughout. */
typedef struct sw_mon_look_data {
    size_t n;
    sw_obs *cand, *base;
    double **owned;    /* per rule and side: sample buffers to free (2 n) */
    json_t *cand_flat; /* metric -> value and "requests", for rollback_when */
    json_t *base_flat;
    double n_cand, n_base; /* requests per side: a look counts once both have min_samples */
    char **note;           /* per rule: where the value came from (a query), or NULL */
} sw_mon_look_data;

void sw_mon_look_data_init(sw_mon_look_data *d, size_t n);
void sw_mon_look_data_free(sw_mon_look_data *d);

/* Results of measure: */
#define SW_SRC_OK    0
#define SW_SRC_RETRY (-1) /* not now (unreachable, restarting): the look is skipped */
#define SW_SRC_ERROR (-2) /* the configuration is wrong (a bad query): the stage errs */

typedef struct sw_mon_source sw_mon_source;
struct sw_mon_source {
    const char *name;
    /* Measure rules[i] for which mine[i] is set into d; *err (malloc'd) says why not. */
    int (*measure)(sw_mon_source *s, const sw_mon_env *env, const sw_metric_rule *rules, size_t n,
                   const int *mine, sw_mon_look_data *d, char **err);
    void (*free)(sw_mon_source *s);
};

/* The router replicas a source reads (source_replicas.c): n borrowed admin clients. */
typedef struct sw_mon_routers sw_mon_routers;
sw_mon_routers *sw_mon_routers_new(sw_admin_client *ac, size_t n);
void sw_mon_routers_free(sw_mon_routers *r);
size_t sw_mon_routers_count(const sw_mon_routers *r);
/* GET path (a JSON answer) on every router: answers[i] a new reference, NULL for a router left
   out because it failed 3 looks in a row (logged once). SW_SRC_RETRY with *err (every answer
   NULL) while one that is not left out fails, or when none answers. */
int sw_mon_routers_get(sw_mon_routers *r, sw_stage *stage, const char *path, json_t **answers,
                       char **err);

/* The routers' stats summed per version (stats_merge.h); samples: raw latencies asked per
   version of each (0: none), and the size of the merged sample. */
sw_mon_source *sw_mon_source_router(sw_mon_routers *routers, int64_t samples);
/* queries: metric -> "PromQL" or {"value": PromQL, "samples": PromQL} (may be NULL).
   NULL with err when a query names an unknown metric or a bad placeholder, or a
   metric of rules has no default query. */
sw_mon_source *sw_mon_source_prometheus(const char *base_url, const json_t *queries,
                                        const sw_metric_rule *rules, size_t n, sw_err *err);
/* The shadow pairs of every router (each pair is recorded by the one replica that made it). */
sw_mon_source *sw_mon_source_pairs(sw_mon_routers *routers, int64_t limit);

#endif
