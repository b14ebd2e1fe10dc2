/*
 * rollback.c - the `rollback` stage, normally in on_failure: route the agent's
 * traffic back to stable with a session policy and clear the store's
 * candidate (sw_rollback_execute, the code `slipway rollback` runs too), then
 * report what it did and how long the candidate kept serving after the breach,
 * in its outputs and in its section of the run report (section.h).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_client.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "section.h"
#include "slipway/plugin.h"
#include "slipway/rollback.h"

typedef struct rollback_cfg {
    const char *agent;
    const char *router;
    const char *token_file;
    const char *to;
    const char *candidate;
    const char *sessions;
    const char *router_to;
    const char *monitor;
    int store;
} rollback_cfg;

static const sw_param params[] = {
    {"agent", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(rollback_cfg, agent),
     "the agent rolled back"},
    {"router", SW_TYPE_STRING, 0, NULL, offsetof(rollback_cfg, router),
     "the router's base URL; absent: the store only"},
    {"token_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(rollback_cfg, token_file),
     "a file holding the router's admin token"},
    {"to", SW_TYPE_STRING, 0, NULL, offsetof(rollback_cfg, to),
     "the release stable holds afterwards; default: stable as it is (or the one before, when "
     "the candidate was already promoted)"},
    {"candidate", SW_TYPE_STRING, 0, NULL, offsetof(rollback_cfg, candidate),
     "the release rolled back; default: the store's candidate"},
    {"sessions", SW_TYPE_STRING, 0, "drain", offsetof(rollback_cfg, sessions),
     "pinned sessions on the candidate: drain, migrate or terminate"},
    {"router_to", SW_TYPE_STRING, 0, NULL, offsetof(rollback_cfg, router_to),
     "the router version to route to, when it is not the store's release (service mode)"},
    {"monitor", SW_TYPE_STRING, 0, NULL, offsetof(rollback_cfg, monitor),
     "the id of the monitor stage whose breach time is reported"},
    {"store", SW_TYPE_BOOL, 0, "true", offsetof(rollback_cfg, store),
     "also roll back the release store's channels"},
    {NULL, 0, 0, NULL, 0, NULL}};

static const sw_port inputs[] = {{NULL, 0, 0, NULL}};
static const sw_port outputs[] = {
    {"to", SW_TYPE_STRING, 0, "the version the router serves now"},
    {"sessions_policy", SW_TYPE_STRING, 0, "drain, migrate or terminate"},
    {"sessions_affected", SW_TYPE_INT, 0, "pinned sessions drained, migrated or terminated"},
    {"already", SW_TYPE_BOOL, 0, "true when nothing was left to roll back"},
    {"switch_ms", SW_TYPE_DOUBLE, 0, "the rollback's own time, start to 0% candidate"},
    {"breach_to_zero_ms", SW_TYPE_DOUBLE, 0,
     "from the monitor's breach (or the failure, else this stage's start) to 0% candidate"},
    {"detection_ms", SW_TYPE_DOUBLE, 0, "the monitor's detection time; -1 when unknown"},
    {"result", SW_TYPE_JSON, 0, "what was done to the router and the store"},
    {NULL, 0, 0, NULL}};

static sw_status init(sw_stage *stage, const void *config)
{
    const rollback_cfg *c = config;
    const char *ok[] = {"drain", "migrate", "terminate"};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(c->sessions, ok[i]) == 0)
            return SW_OK;
    return sw_host_api->error(stage, "sessions must be drain, migrate or terminate, not '%s'",
                              c->sessions);
}

/* A number the monitor wrote, or def. */
static double monitor_value(sw_stage *stage, const char *monitor, const char *name, double def)
{
    const sw_host *h = sw_host_api;
    if (!monitor || !*monitor)
        return def;
    char *key = sw_xasprintf("%s.%s", monitor, name);
    double v = def;
    if (h->has(stage, key) && h->get_double(stage, key, &v) != SW_OK)
        v = def;
    free(key);
    return v;
}

/* The admin client, timed: when the router answered its first call and when it
   confirmed the switch, for the report's timeline. */
typedef struct timed_client {
    sw_admin_client *ac;
    int64_t first_at, switched_at;
} timed_client;

static int timed_call(void *userdata, const char *method, const char *path, const char *body,
                      int *status, char **response, char *errbuf, size_t errsize)
{
    timed_client *t = userdata;
    if (!t->first_at)
        t->first_at = sw_wall_ms();
    int rc = sw_admin_client_call(t->ac, method, path, body, status, response, errbuf, errsize);
    if (rc == 0 && *status == 200 && strcmp(method, "POST") == 0)
        t->switched_at = sw_wall_ms();
    return rc;
}

static void write_section(sw_stage *stage, const rb_section_in *in)
{
    const sw_host *h = sw_host_api;
    const char *art = h->artifacts_dir(stage);
    if (!art) {
        h->log(stage, SW_LOG_WARN, "no report section: %s", h->last_error(stage));
        return;
    }
    char *path = sw_path_join(art, "report-section.json");
    sw_err err;
    /* The report is not the rollback: a section that cannot be written is only a warning. */
    if (rb_write_section(in, path, &err) < 0)
        h->log(stage, SW_LOG_WARN, "no report section: %s", err.msg);
    free(path);
}

static sw_status run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const rollback_cfg *c = config;
    double t0 = (double)sw_wall_ms();
    sw_admin_client ac = {0};
    timed_client tc = {.ac = &ac};
    if (c->router && *c->router &&
        sw_admin_client_init(&ac, stage, c->router, c->token_file) != SW_OK)
        return SW_ERROR;
    sw_store *s = NULL;
    if (c->store) {
        sw_store_error e = {0};
        s = sw_store_open(h->store(stage), &e);
        if (!s) {
            sw_admin_client_fini(&ac);
            return h->error(stage, "%s", e.message);
        }
    }
    const char *why = NULL;
    if (h->has(stage, "failure.reason"))
        h->get_string(stage, "failure.reason", &why);
    char *reason = sw_xasprintf("rollback stage '%s'%s%s", h->stage_id(stage), why ? ": " : "",
                                why ? why : "");
    sw_rollback_request q = {.agent = c->agent,
                             .to = c->to && *c->to ? c->to : NULL,
                             .bad = c->candidate && *c->candidate ? c->candidate : NULL,
                             .sessions = c->sessions,
                             .router_to = c->router_to && *c->router_to ? c->router_to : NULL,
                             .info = {.reason = reason, .run_id = h->run_id(stage)},
                             .store = s,
                             .call = c->router && *c->router ? timed_call : NULL,
                             .call_userdata = &tc};
    char *res = NULL;
    char msg[1024] = "";
    int rc = sw_rollback_execute(&q, &res, msg, sizeof msg);
    double t1 = (double)sw_wall_ms();
    free(reason);
    sw_store_close(s);
    sw_admin_client_fini(&ac);
    double breach = monitor_value(stage, c->monitor, "breach_at_ms", 0);
    double detection = monitor_value(stage, c->monitor, "detection_ms", -1);
    double since = breach > 0 ? breach : t0;
    rb_section_in sec = {.agent = c->agent,
                         .sessions = c->sessions,
                         .monitor = c->monitor && *c->monitor ? c->monitor : NULL,
                         .reason = why,
                         .detection_ms = detection,
                         .switch_ms = t1 - t0,
                         .breach_to_zero_ms = t1 - since,
                         .breach_at = (int64_t)breach,
                         .ended_at = (int64_t)t1};
    if (rc != 0) {
        sec.error = msg;
        sec.candidate = q.bad;
        write_section(stage, &sec);
        return h->error(stage, "%s", msg);
    }

    json_t *r = json_loads(res, 0, NULL);
    json_t *rt = json_object_get(r, "router"), *st = json_object_get(r, "store");
    int already = (json_is_null(rt) || json_is_true(json_object_get(rt, "already"))) &&
                  (json_is_null(st) || json_is_true(json_object_get(st, "already")));
    const char *to = json_string_value(json_object_get(rt, "to"));
    if (!to)
        to = json_string_value(json_object_get(st, "to"));
    json_int_t affected = json_integer_value(json_object_get(rt, "pins_affected"));
    const char *cleared = json_string_value(json_object_get(st, "candidate_cleared"));
    const char *left = json_string_value(json_object_get(rt, "left_candidate"));
    if (!left)
        left = json_string_value(json_object_get(st, "left_candidate"));
    if (left)
        h->log(stage, SW_LOG_INFO,
               "left candidate %s alone: another rollout made it candidate after this run's", left);
    const char *from_cand =
        json_string_value(json_object_get(json_object_get(rt, "from"), "candidate"));
    sec.to = to;
    sec.candidate = cleared                                            ? cleared
                    : from_cand && !(left && !strcmp(left, from_cand)) ? from_cand
                                                                       : NULL;
    if (!sec.candidate)
        sec.candidate = q.bad;
    sec.already = already;
    sec.affected = affected;
    sec.switched_at = tc.switched_at;
    if (cleared) {
        /* When stable moves the store goes first, before the router's first call. */
        const char *from = json_string_value(json_object_get(st, "from"));
        const char *st_to = json_string_value(json_object_get(st, "to"));
        int moved = from && st_to && strcmp(from, st_to) != 0;
        sec.cleared_at = moved && tc.first_at ? tc.first_at : (int64_t)t1;
    }
    write_section(stage, &sec);
    h->log(stage, SW_LOG_INFO,
           "%s: %s, sessions %s (%lld pinned sessions affected); candidate at 0%% %.0f ms after "
           "the %s",
           c->agent, already ? "already rolled back" : "rolled back", c->sessions,
           (long long)affected, t1 - since, breach > 0 ? "breach" : "rollback began");
    if (detection >= 0)
        h->log(stage, SW_LOG_INFO, "the monitor detected the breach in %.0f ms", detection);
    sw_status out = SW_OK;
    if ((to ? h->set_string(stage, "to", to) : h->set_null(stage, "to")) != SW_OK ||
        h->set_string(stage, "sessions_policy", c->sessions) != SW_OK ||
        h->set_int(stage, "sessions_affected", affected) != SW_OK ||
        h->set_bool(stage, "already", already) != SW_OK ||
        h->set_double(stage, "switch_ms", t1 - t0) != SW_OK ||
        h->set_double(stage, "breach_to_zero_ms", t1 - since) != SW_OK ||
        h->set_double(stage, "detection_ms", detection) != SW_OK ||
        h->set_json(stage, "result", res) != SW_OK)
        out = h->error(stage, "setting outputs: %s", h->last_error(stage));
    json_decref(r);
    free(res);
    return out;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "rollback",
    .version = "1.0.0",
    .summary = "Route an agent back to stable with a session policy and clear its candidate",
    .params = params,
    .config_size = sizeof(rollback_cfg),
    .inputs = inputs,
    .outputs = outputs,
    .init = init,
    .run = run,
    .fini = NULL,
};

SW_PLUGIN(desc)
