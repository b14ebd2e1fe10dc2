/*
 * versioning.c - the `versioning` stage: turn an agent bundle into an immutable
 * release in the store, diff it against `stable`, and point `candidate` at it.
 *
 * It never moves `stable`: promotion is the canary stage's decision.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "slipway/plugin.h"
#include "slipway/store.h"
#include "store/canon.h"

typedef struct versioning_cfg {
    const char *bundle;
    int allow_dirty;
    int allow_floating_alias;
    const char *deny_models; /* JSON array */
    int64_t max_bundle_bytes;
    const char *agent;
    const char *vars; /* JSON object */
} versioning_cfg;

static const sw_param params[] = {
    {"bundle", SW_TYPE_STRING, SW_PARAM_REQUIRED | SW_PARAM_PATH, NULL,
     offsetof(versioning_cfg, bundle),
     "the agent bundle folder: agent.yaml, prompts/*.md, tools/*.json"},
    {"allow_dirty", SW_TYPE_BOOL, 0, "false", offsetof(versioning_cfg, allow_dirty),
     "accept a bundle whose git work tree has uncommitted changes"},
    {"allow_floating_alias", SW_TYPE_BOOL, 0, "false",
     offsetof(versioning_cfg, allow_floating_alias),
     "accept a floating model alias (gpt-4o, *-latest); recorded in the manifest"},
    {"deny_models", SW_TYPE_JSON, 0, "[]", offsetof(versioning_cfg, deny_models),
     "more model names to refuse: a list of glob patterns ('*-preview*', 'openai/gpt-3.5-*')"},
    {"max_bundle_bytes", SW_TYPE_INT, 0, "10485760", offsetof(versioning_cfg, max_bundle_bytes),
     "cap on the total size of the bundle's files"},
    {"agent", SW_TYPE_STRING, 0, NULL, offsetof(versioning_cfg, agent),
     "the agent's name, instead of agent.yaml's"},
    {"vars", SW_TYPE_JSON, 0, "{}", offsetof(versioning_cfg, vars),
     "values for the prompts' {{var}} placeholders, over agent.yaml's vars"},
    {NULL, 0, 0, NULL, 0, NULL}};

static const sw_port outputs[] = {
    {"id", SW_TYPE_STRING, 0, "the release id (12 hex digits of the manifest's SHA-256)"},
    {"agent", SW_TYPE_STRING, 0, "the agent's name"},
    {"model", SW_TYPE_STRING, 0, "the pinned model name"},
    {"manifest", SW_TYPE_JSON, 0, "the release manifest"},
    {"previous", SW_TYPE_STRING, 0, "the stable release diffed against; null when none"},
    {"changed", SW_TYPE_BOOL, 0, "false when this content was already released"},
    {"breaking_changes", SW_TYPE_INT, 0, "tool schema changes against stable that break callers"},
    {"diff", SW_TYPE_JSON, 0, "the diff against stable: model, parameters, prompts, tools"},
    {NULL, 0, 0, NULL}};

static const sw_port inputs[] = {{NULL, 0, 0, NULL}};

static sw_status init(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const versioning_cfg *c = config;
    if (c->max_bundle_bytes <= 0)
        return h->error(stage, "max_bundle_bytes must be positive, not %lld",
                        (long long)c->max_bundle_bytes);
    json_t *deny = json_loads(c->deny_models ? c->deny_models : "[]", 0, NULL);
    int ok = json_is_array(deny);
    size_t i;
    json_t *v;
    json_array_foreach(deny, i, v)
    {
        ok = ok && json_is_string(v);
    }
    json_decref(deny);
    if (!ok)
        return h->error(stage, "deny_models must be a list of glob patterns (strings)");
    json_t *vars = json_loads(c->vars ? c->vars : "{}", 0, NULL);
    ok = json_is_object(vars);
    json_decref(vars);
    if (!ok)
        return h->error(stage, "vars must be a map of template values");
    return SW_OK;
}

static void log_diags(sw_stage *stage, sw_diags *d)
{
    const sw_host *h = sw_host_api;
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *t = sw_diags_format(d, i);
        sw_severity sev = sw_diags_at(d, i)->severity;
        h->log(stage,
               sev == SW_SEVERITY_ERROR     ? SW_LOG_ERROR
               : sev == SW_SEVERITY_WARNING ? SW_LOG_WARN
                                            : SW_LOG_INFO,
               "%s", t);
        free(t);
    }
}

/* The diff as JSON and as text, beside the run's other artifacts. */
static void write_artifacts(sw_stage *stage, sw_store *s, const json_t *r)
{
    const sw_host *h = sw_host_api;
    const char *dir = h->artifacts_dir(stage);
    if (!dir)
        return;
    const char *agent = json_string_value(json_object_get(r, "agent"));
    const char *id = json_string_value(json_object_get(r, "id"));
    const char *prev = json_string_value(json_object_get(r, "previous"));
    char *json = NULL, *text = NULL;
    sw_store_error err = {0};
    if (sw_store_diff(s, prev ? agent : NULL, prev, agent, id, &json, &text, &err) != SW_STORE_OK) {
        h->log(stage, SW_LOG_WARN, "release diff artifact: %s", err.message);
        return;
    }
    /* Canonical text as the store gives it: jansson's indented form would write
       0.2 as 0.20000000000000001. */
    sw_buf pretty = {0};
    sw_buf_puts(&pretty, json);
    sw_buf_puts(&pretty, "\n");
    char *jpath = sw_path_join(dir, "release-diff.json");
    char *tpath = sw_path_join(dir, "release-diff.txt");
    sw_err e = {{0}};
    if (sw_write_file_atomic(jpath, pretty.data, pretty.len, &e) == 0)
        h->add_artifact(stage, jpath, "release diff against stable (JSON)");
    else
        h->log(stage, SW_LOG_WARN, "%s", e.msg);
    if (sw_write_file_atomic(tpath, text, strlen(text), &e) == 0)
        h->add_artifact(stage, tpath, "release diff against stable");
    else
        h->log(stage, SW_LOG_WARN, "%s", e.msg);
    free(jpath);
    free(tpath);
    sw_buf_free(&pretty);
    free(json);
    free(text);
}

static sw_status set_outputs(sw_stage *stage, const json_t *r)
{
    const sw_host *h = sw_host_api;
    char *manifest = sw_json_text(json_object_get(r, "manifest"));
    char *diff = sw_json_text(json_object_get(r, "diff"));
    const char *prev = json_string_value(json_object_get(r, "previous"));
    sw_status st = SW_OK;
    if (h->set_string(stage, "id", json_string_value(json_object_get(r, "id"))) != SW_OK ||
        h->set_string(stage, "agent", json_string_value(json_object_get(r, "agent"))) != SW_OK ||
        h->set_string(stage, "model", json_string_value(json_object_get(r, "model"))) != SW_OK ||
        h->set_json(stage, "manifest", manifest) != SW_OK ||
        (prev ? h->set_string(stage, "previous", prev) : h->set_null(stage, "previous")) != SW_OK ||
        h->set_bool(stage, "changed", json_is_true(json_object_get(r, "changed"))) != SW_OK ||
        h->set_int(stage, "breaking_changes",
                   json_integer_value(json_object_get(r, "breaking_changes"))) != SW_OK ||
        h->set_json(stage, "diff", diff) != SW_OK)
        st = h->error(stage, "setting outputs: %s", h->last_error(stage));
    free(manifest);
    free(diff);
    return st;
}

static sw_status run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const versioning_cfg *c = config;
    sw_store_error err = {0};
    sw_store *s = sw_store_open(h->store(stage), &err);
    if (!s)
        return h->error(stage, "%s", err.message);

    char *reason = sw_xasprintf("versioning stage '%s'", h->stage_id(stage));
    sw_release_options o = {
        .agent = c->agent,
        .allow_dirty = c->allow_dirty,
        .allow_floating_alias = c->allow_floating_alias,
        .deny_models_json = c->deny_models,
        .vars_json = c->vars,
        .max_bundle_bytes = (size_t)c->max_bundle_bytes,
        .set_candidate = 1,
        .info = {.by = NULL, .reason = reason, .run_id = h->run_id(stage)},
    };
    h->progress(stage, 0.1, "validating the bundle");
    sw_diags *d = sw_diags_new();
    char *res = NULL;
    sw_store_status st = sw_store_create_release(s, c->bundle, &o, d, &res, &err);
    free(reason);
    log_diags(stage, d);
    sw_diags_free(d);
    sw_status rc;
    if (st == SW_STORE_REFUSED) {
        rc = h->fail(stage, "%s", err.message);
    } else if (st != SW_STORE_OK) {
        rc = h->error(stage, "%s", err.message);
    } else {
        json_t *r = json_loads(res, 0, NULL);
        const char *id = json_string_value(json_object_get(r, "id"));
        json_t *diff = json_object_get(r, "diff");
        h->log(stage, SW_LOG_INFO, "release %s of '%s' (%s), candidate: %s", id,
               json_string_value(json_object_get(r, "agent")),
               json_is_true(json_object_get(r, "changed")) ? "new" : "unchanged content", id);
        h->log(stage, SW_LOG_INFO, "against stable: %s",
               json_string_value(json_object_get(diff, "summary")));
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(diff, "tools"), i, t)
        {
            int breaking = json_is_true(json_object_get(t, "breaking"));
            h->log(stage, breaking ? SW_LOG_WARN : SW_LOG_INFO, "%s tool '%s': %s",
                   breaking ? "BREAKING" : "compatible",
                   json_string_value(json_object_get(t, "tool")),
                   json_string_value(json_object_get(t, "message")));
        }
        h->progress(stage, 0.9, "writing the diff");
        write_artifacts(stage, s, r);
        rc = set_outputs(stage, r);
        json_decref(r);
        h->progress(stage, 1.0, NULL);
    }
    free(res);
    sw_store_close(s);
    return rc;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "versioning",
    .version = "1.0.0",
    .summary = "Turn an agent bundle into an immutable, content-addressed release",
    .params = params,
    .config_size = sizeof(versioning_cfg),
    .inputs = inputs,
    .outputs = outputs,
    .init = init,
    .run = run,
    .fini = NULL,
};

SW_PLUGIN(desc)
