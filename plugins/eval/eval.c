/*
 * eval.c - the `eval` stage: run a golden dataset against a release (and the
 * production release beside it), grade every answer, and report.
 *
 * The stage measures; the pipeline decides. It returns SW_OK when the
 * measurement could be made, whatever the pass rate (gates read the
 * outputs), and SW_ERROR when it could not: a bad dataset or release, a
 * budget cap reached, a cancellation, or more errors than max_error_rate
 * allows. See docs/eval.md.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "judge.h"
#include "report.h"
#include "runner.h"
#include "slipway/plugin.h"
#include "slipway/store.h"

typedef struct eval_cfg {
    const char *release; /* ANY: a manifest (JSON) or a release reference */
    const char *dataset;
    const char *target;
    const char *base_url;
    const char *api_key;
    const char *anthropic_base_url;
    const char *anthropic_api_key;
    const char *anthropic_version;
    int64_t max_steps;
    const char *http; /* JSON */
    int64_t concurrency;
    const char *rate_limit; /* ANY */
    int64_t timeout;
    int64_t retries;
    int64_t retry_budget;
    int64_t backoff;
    int64_t max_backoff;
    int64_t repeat;
    const char *judge_model;
    const char *judge_target;
    const char *judge_base_url;
    const char *judge_api_key;
    int64_t judge_concurrency;
    const char *judge_rate_limit; /* ANY */
    const char *judge_pricing;    /* JSON */
    const char *baseline;         /* ANY */
    double margin;
    double confidence;
    int64_t resamples;
    int64_t seed;
    double max_usd;
    int64_t max_tokens;
    double max_error_rate;
    const char *cache;
    const char *cache_dir;
    const char *tags; /* JSON */
    int64_t limit;
} eval_cfg;

#define P(name, type, flags, def, field, desc)                                                     \
    {                                                                                              \
        name, type, flags, def, offsetof(eval_cfg, field), desc                                    \
    }

static const sw_param params[] = {
    P("release", SW_TYPE_ANY, SW_PARAM_REQUIRED, NULL, release,
      "the candidate: a release manifest (${release.manifest}) or a release id/reference"),
    P("dataset", SW_TYPE_STRING, SW_PARAM_REQUIRED | SW_PARAM_PATH, NULL, dataset,
      "the golden dataset: .jsonl (one case per line) or .yaml"),
    P("target", SW_TYPE_STRING, 0, "auto", target,
      "auto (each release over its model.provider's protocol: anthropic -> Anthropic Messages, "
      "any other -> Chat Completions), openai (Chat Completions), openai-responses (the "
      "Responses API), anthropic (Messages), or http (an agent service)"),
    P("base_url", SW_TYPE_STRING, 0, NULL, base_url,
      "API of the model, e.g. http://127.0.0.1:8080/v1 (the protocol's path is added)"),
    P("api_key", SW_TYPE_STRING, SW_PARAM_SECRET, NULL, api_key,
      "the API key, e.g. ${env.OPENAI_API_KEY}; never logged or written"),
    P("anthropic_base_url", SW_TYPE_STRING, 0, NULL, anthropic_base_url,
      "where releases evaluated over Messages go, e.g. https://api.anthropic.com/v1 "
      "(default: base_url)"),
    P("anthropic_api_key", SW_TYPE_STRING, SW_PARAM_SECRET, NULL, anthropic_api_key,
      "their key, sent as x-api-key (default: api_key)"),
    P("anthropic_version", SW_TYPE_STRING, 0, "2023-06-01", anthropic_version,
      "the anthropic-version header of Messages requests"),
    P("max_steps", SW_TYPE_INT, 0, "8", max_steps,
      "model calls per case at most in the agent loop (tool calls answered in between)"),
    P("http", SW_TYPE_JSON, 0, NULL, http,
      "target http: {url, headers, body, answer, tool_calls, finish_reason, usage, "
      "release_header}"),
    P("concurrency", SW_TYPE_INT, 0, "16", concurrency, "target requests in flight at most"),
    P("rate_limit", SW_TYPE_ANY, 0, NULL, rate_limit,
      "target: requests per second, or {requests_per_second, tokens_per_minute}"),
    P("timeout", SW_TYPE_INT, SW_PARAM_DURATION, "60s", timeout, "per request attempt"),
    P("retries", SW_TYPE_INT, 0, "4", retries,
      "retries per request (connect errors, timeouts, 408, 429, 5xx)"),
    P("retry_budget", SW_TYPE_INT, 0, "-1", retry_budget,
      "retries over the whole run; 0: never retry; -1: no cap"),
    P("backoff", SW_TYPE_INT, SW_PARAM_DURATION, "500ms", backoff,
      "first back-off; doubled each retry, jittered; Retry-After is honoured"),
    P("max_backoff", SW_TYPE_INT, SW_PARAM_DURATION, "30s", max_backoff, "longest back-off"),
    P("repeat", SW_TYPE_INT, 0, "1", repeat, "samples per case (pass@k, pass^k)"),
    P("judge_model", SW_TYPE_STRING, 0, NULL, judge_model, "the model grading llm-rubric"),
    P("judge_target", SW_TYPE_STRING, 0, "openai", judge_target,
      "the judge's protocol: openai (Chat Completions), openai-responses or anthropic"),
    P("judge_base_url", SW_TYPE_STRING, 0, NULL, judge_base_url,
      "the judge's API (default: base_url; anthropic_base_url for an anthropic judge)"),
    P("judge_api_key", SW_TYPE_STRING, SW_PARAM_SECRET, NULL, judge_api_key,
      "the judge's API key (default: api_key)"),
    P("judge_concurrency", SW_TYPE_INT, 0, "8", judge_concurrency,
      "judge requests in flight at most (a pool of its own)"),
    P("judge_rate_limit", SW_TYPE_ANY, 0, NULL, judge_rate_limit,
      "judge: requests per second, or {requests_per_second, tokens_per_minute}"),
    P("judge_pricing", SW_TYPE_JSON, 0, NULL, judge_pricing,
      "the judge's prices: {input_per_token, output_per_token} in USD"),
    P("baseline", SW_TYPE_ANY, 0, NULL, baseline,
      "production: ${release.previous} or a release id; null: no comparison"),
    P("margin", SW_TYPE_DOUBLE, 0, "0.05", margin,
      "non-inferiority margin on the mean score difference"),
    P("confidence", SW_TYPE_DOUBLE, 0, "0.95", confidence, "of the bootstrap interval"),
    P("resamples", SW_TYPE_INT, 0, "2000", resamples, "bootstrap resamples"),
    P("seed", SW_TYPE_INT, 0, "1", seed, "seed of the bootstrap and the retry jitter"),
    P("max_usd", SW_TYPE_DOUBLE, 0, "0", max_usd,
      "stop when this much is spent (candidate, baseline and judge); 0: no cap"),
    P("max_tokens", SW_TYPE_INT, 0, "0", max_tokens, "stop after this many tokens; 0: no cap"),
    P("max_error_rate", SW_TYPE_DOUBLE, 0, "0.05", max_error_rate,
      "above this share of ERROR cases the measurement is an error"),
    P("cache", SW_TYPE_STRING, 0, "off", cache, "off, record or replay"),
    P("cache_dir", SW_TYPE_STRING, SW_PARAM_PATH, NULL, cache_dir,
      "where recorded answers live (default: <state dir>/eval-cache)"),
    P("tags", SW_TYPE_JSON, 0, NULL, tags, "run only cases with one of these tags"),
    P("limit", SW_TYPE_INT, 0, "0", limit, "run only the first N selected cases; 0: all"),
    {NULL, 0, 0, NULL, 0, NULL}};

static const sw_port outputs[] = {
    {"cases", SW_TYPE_INT, 0, "cases evaluated (every sample finished)"},
    {"passed", SW_TYPE_INT, 0, "cases that passed (every sample)"},
    {"failed", SW_TYPE_INT, 0, "cases that failed"},
    {"errors", SW_TYPE_INT, 0, "cases that could not be measured (ERROR)"},
    {"pass_rate", SW_TYPE_DOUBLE, 0, "passed / (passed + failed)"},
    {"error_rate", SW_TYPE_DOUBLE, 0, "errors / cases"},
    {"score_mean", SW_TYPE_DOUBLE, 0, "mean case score over measured cases"},
    {"latency_p50_ms", SW_TYPE_DOUBLE, 0, "median answer latency (linear interpolation)"},
    {"latency_p95_ms", SW_TYPE_DOUBLE, 0, "95th percentile answer latency"},
    {"tokens_in", SW_TYPE_INT, 0, "prompt tokens of the candidate"},
    {"tokens_out", SW_TYPE_INT, 0, "completion tokens of the candidate"},
    {"cost_usd", SW_TYPE_DOUBLE, 0, "the candidate's cost"},
    {"cost_per_case_usd", SW_TYPE_DOUBLE, 0, "cost_usd / cases"},
    {"regressions", SW_TYPE_INT, 0, "cases passing on the baseline, failing on the candidate"},
    {"improvements", SW_TYPE_INT, 0, "cases failing on the baseline, passing on the candidate"},
    {"mcnemar_p", SW_TYPE_DOUBLE, 0, "McNemar exact p of the flips; null without baseline"},
    {"noninferior", SW_TYPE_BOOL, 0,
     "no worse than the baseline by more than margin; null "
     "without baseline"},
    {"report", SW_TYPE_STRING, 0,
     "path of the run's report.html (written when the run ends), the eval's section in it"},
    {"pass_at_k", SW_TYPE_DOUBLE, 0, "measured cases with at least one passing sample"},
    {"pass_all_k", SW_TYPE_DOUBLE, 0, "measured cases whose every sample passed (pass^k)"},
    {"has_baseline", SW_TYPE_BOOL, 0,
     "production ran beside the candidate; false on a first release (the comparisons are null)"},
    {"baseline_cost_per_case_usd", SW_TYPE_DOUBLE, 0,
     "production's cost per case in the same run; null without baseline"},
    {"baseline_latency_p95_ms", SW_TYPE_DOUBLE, 0,
     "production's 95th percentile latency in the same run; null without baseline"},
    {"cost_ratio", SW_TYPE_DOUBLE, 0,
     "cost_per_case_usd / production's; null without baseline or when production's is 0"},
    {"cost_ratio_lo", SW_TYPE_DOUBLE, 0,
     "lower bound of the paired bootstrap interval of the cost ratio; null without baseline"},
    {"cost_ratio_hi", SW_TYPE_DOUBLE, 0,
     "upper bound of that interval (null when unbounded: production's cost can be 0)"},
    {"latency_p95_ratio", SW_TYPE_DOUBLE, 0,
     "latency_p95_ms / production's; null without baseline or when production's is 0"},
    {"latency_p95_ratio_lo", SW_TYPE_DOUBLE, 0,
     "lower bound of its paired bootstrap interval at confidence; null without baseline"},
    {"latency_p95_ratio_hi", SW_TYPE_DOUBLE, 0,
     "upper bound of that interval (null when unbounded: production's p95 can be 0)"},
    {NULL, 0, 0, NULL}};

static const sw_port inputs[] = {{NULL, 0, 0, NULL}};

/* ---- checking the parameters ---- */

static int parse_rate(const char *text, ev_pool_opts *p, const char *name, sw_err *err)
{
    p->rps = p->tpm = 0;
    if (!text)
        return 0;
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    int rc = 0;
    if (!j || json_is_null(j)) {
        rc = 0;
    } else if (json_is_number(j)) {
        p->rps = json_number_value(j);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (strcmp(k, "requests_per_second") == 0 && json_is_number(v))
                p->rps = json_number_value(v);
            else if (strcmp(k, "tokens_per_minute") == 0 && json_is_number(v))
                p->tpm = json_number_value(v);
            else
                rc = sw_err_set(err,
                                "%s: '%s' is not requests_per_second or tokens_per_minute "
                                "(a number)",
                                name, k);
        }
    } else {
        rc = sw_err_set(err, "%s must be a number of requests per second or a mapping", name);
    }
    json_decref(j);
    if (rc == 0 && (p->rps < 0 || p->tpm < 0))
        rc = sw_err_set(err, "%s cannot be negative", name);
    return rc;
}

/* A target's name: its protocol, -1 for auto (each release's provider) and http; -1 when
   unknown. */
static int target_proto(const char *name, int *proto)
{
    static const struct {
        const char *name;
        int proto;
    } names[] = {{"auto", -1},
                 {"http", -1},
                 {"openai", SW_PROTO_CHAT},
                 {"openai-responses", SW_PROTO_RESPONSES},
                 {"anthropic", SW_PROTO_MESSAGES}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *proto = names[i].proto;
            return 0;
        }
    return -1;
}

static int check_config(const eval_cfg *c, sw_err *err)
{
    int proto;
    if (target_proto(c->target, &proto) < 0)
        return sw_err_set(err,
                          "target '%s': expected auto, openai, openai-responses, anthropic or "
                          "http",
                          c->target);
    if (strcmp(c->target, "http") == 0 && !c->http)
        return sw_err_set(err, "target http needs the `http` parameter");
    if (strcmp(c->target, "http") != 0 && !c->base_url)
        return sw_err_set(err,
                          "target %s needs base_url (the model's API, e.g. "
                          "http://127.0.0.1:8080/v1)",
                          c->target);
    if (target_proto(c->judge_target, &proto) < 0 || proto < 0)
        return sw_err_set(err, "judge_target '%s': expected openai, openai-responses or anthropic",
                          c->judge_target);
    if (c->max_steps < 1 || c->max_steps > 100)
        return sw_err_set(err, "max_steps must be in 1..100, not %lld", (long long)c->max_steps);
    if (c->concurrency < 1 || c->concurrency > 4096)
        return sw_err_set(err, "concurrency must be in 1..4096");
    if (c->judge_concurrency < 1 || c->judge_concurrency > 4096)
        return sw_err_set(err, "judge_concurrency must be in 1..4096");
    if (c->retries < 0 || c->retries > 10)
        return sw_err_set(err, "retries must be in 0..10");
    if (c->retry_budget < -1)
        return sw_err_set(err, "retry_budget must be -1 (no cap) or at least 0");
    if (c->timeout < 1)
        return sw_err_set(err, "timeout must be positive");
    if (c->repeat < 1 || c->repeat > 100)
        return sw_err_set(err, "repeat must be in 1..100");
    if (!(c->margin >= 0 && c->margin <= 1))
        return sw_err_set(err, "margin must be in [0, 1]");
    if (!(c->confidence > 0 && c->confidence < 1))
        return sw_err_set(err, "confidence must be in (0, 1)");
    if (c->resamples < 100 || c->resamples > 1000000)
        return sw_err_set(err, "resamples must be in 100..1000000");
    if (c->max_usd < 0 || c->max_tokens < 0)
        return sw_err_set(err, "max_usd and max_tokens cannot be negative");
    if (!(c->max_error_rate >= 0 && c->max_error_rate <= 1))
        return sw_err_set(err, "max_error_rate must be in [0, 1]");
    if (c->limit < 0)
        return sw_err_set(err, "limit cannot be negative");
    ev_cache_mode m;
    if (ev_cache_mode_parse(c->cache, &m) < 0)
        return sw_err_set(err, "cache '%s': expected off, record or replay", c->cache);
    ev_pool_opts p;
    if (parse_rate(c->rate_limit, &p, "rate_limit", err) < 0 ||
        parse_rate(c->judge_rate_limit, &p, "judge_rate_limit", err) < 0)
        return -1;
    if (c->tags) {
        json_t *t = json_loads(c->tags, 0, NULL);
        int ok = json_is_array(t);
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v)
        {
            ok = ok && json_is_string(v);
        }
        json_decref(t);
        if (!ok)
            return sw_err_set(err, "tags must be a list of strings");
    }
    if (c->judge_pricing) {
        json_t *jp = json_loads(c->judge_pricing, 0, NULL);
        ev_pricing pr;
        int rc = ev_pricing_parse(jp, &pr, err);
        json_decref(jp);
        if (rc < 0)
            return sw_err_prefix(err, "judge_");
    }
    return 0;
}

static sw_status init(sw_stage *stage, const void *config)
{
    sw_err err;
    if (check_config(config, &err) < 0)
        return sw_host_api->error(stage, "%s", err.msg);
    return SW_OK;
}

/* ---- releases ---- */

/* A release from the parameter's JSON text: a manifest object, or a reference
   resolved in the store (for agent `agent` when known). 1 loaded, 0 null, -1 error. */
static int load_release(sw_stage *stage, const char *text, const char *agent, ev_release *out,
                        sw_err *err)
{
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (!j || json_is_null(j)) {
        json_decref(j);
        return 0;
    }
    int rc;
    if (json_is_object(j)) {
        rc = ev_release_from_manifest(j, out, err);
        json_decref(j);
        return rc < 0 ? -1 : 1;
    }
    if (!json_is_string(j)) {
        json_decref(j);
        return sw_err_set(err, "expected a release manifest or a release id");
    }
    sw_store_error se = {0};
    sw_store *s = sw_store_open(sw_host_api->store(stage), &se);
    if (!s) {
        json_decref(j);
        return sw_err_set(err, "%s", se.message);
    }
    char *ag = NULL, *id = NULL, *manifest = NULL;
    rc = -1;
    if (sw_store_resolve(s, agent, json_string_value(j), &ag, &id, &se) != SW_STORE_OK ||
        sw_store_manifest(s, ag, id, &manifest, &se) != SW_STORE_OK) {
        sw_err_set(err, "release '%s': %s", json_string_value(j), se.message);
    } else {
        json_t *m = json_loads(manifest, 0, NULL);
        rc = m && ev_release_from_manifest(m, out, err) == 0 ? 1 : -1;
        if (!m)
            sw_err_set(err, "release '%s': its manifest is not JSON", id);
        json_decref(m);
    }
    free(ag);
    free(id);
    free(manifest);
    sw_store_close(s);
    json_decref(j);
    return rc;
}

/* ---- host callbacks for the runner ---- */

static void host_log(void *ud, int level, const char *message)
{
    sw_host_api->log(ud, (sw_log_level)level, "%s", message);
}

static void host_progress(void *ud, double fraction, const char *note)
{
    sw_host_api->progress(ud, fraction, note);
}

static int host_cancelled(void *ud)
{
    return sw_host_api->cancelled(ud);
}

/* ---- the run ---- */

static json_t *provenance(const ev_config *cfg, const eval_cfg *c)
{
    json_t *p = json_object();
    json_object_set_new(p, "dataset", json_string(ev_dataset_path(cfg->ds)));
    json_object_set_new(p, "dataset_sha256", json_string(ev_dataset_sha256(cfg->ds)));
    json_object_set_new(p, "dataset_cases", json_integer((json_int_t)ev_dataset_total(cfg->ds)));
    json_object_set_new(p, "selected_cases", json_integer((json_int_t)ev_dataset_count(cfg->ds)));
    for (int s = 0; s < 2; s++) {
        const ev_release *r = &cfg->rel[s];
        int have = s == 0 || cfg->has_baseline;
        json_object_set_new(p, s ? "baseline_release" : "candidate_release",
                            have && r->id ? json_string(r->id) : json_null());
        json_object_set_new(p, s ? "baseline_model" : "candidate_model",
                            have ? json_string(r->model) : json_null());
        /* The protocol each release was called in (auto: its provider's). */
        json_object_set_new(p, s ? "baseline_protocol" : "candidate_protocol",
                            have && cfg->target.kind == EV_TARGET_MODEL
                                ? json_string(sw_proto_get(ev_target_proto(&cfg->target, r))->name)
                                : json_null());
    }
    json_object_set_new(p, "judge_model",
                        cfg->judge_model ? json_string(cfg->judge_model) : json_null());
    json_object_set_new(p, "judge_protocol",
                        cfg->judge_model ? json_string(sw_proto_get(cfg->judge_proto)->name)
                                         : json_null());
    json_object_set_new(p, "judge_prompt_sha256", json_string(ev_judge_prompt_hash()));
    json_t *prices = json_object();
    json_object_set(prices, "candidate",
                    cfg->rel[0].pricing_json ? cfg->rel[0].pricing_json : json_null());
    if (cfg->has_baseline)
        json_object_set(prices, "baseline",
                        cfg->rel[1].pricing_json ? cfg->rel[1].pricing_json : json_null());
    json_t *jp = c->judge_pricing ? json_loads(c->judge_pricing, 0, NULL) : json_null();
    json_object_set_new(prices, "judge", jp ? jp : json_null());
    json_object_set_new(p, "pricing", prices);
    return p;
}

static json_t *settings(const eval_cfg *c, const ev_config *cfg)
{
    json_t *s = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:f, s:I, "
        "s:f, s:f, s:f, s:I, s:I, s:f}",
        "target", c->target, "max_steps", (json_int_t)c->max_steps, "concurrency",
        (json_int_t)c->concurrency, "judge_concurrency", (json_int_t)c->judge_concurrency,
        "timeout_ms", (json_int_t)c->timeout, "retries", (json_int_t)c->retries, "retry_budget",
        (json_int_t)c->retry_budget, "backoff_ms", (json_int_t)c->backoff, "max_backoff_ms",
        (json_int_t)c->max_backoff, "repeat", (json_int_t)c->repeat, "cache", c->cache, "max_usd",
        c->max_usd, "max_tokens", (json_int_t)c->max_tokens, "margin", c->margin, "confidence",
        c->confidence, "max_error_rate", c->max_error_rate, "resamples", (json_int_t)c->resamples,
        "seed", (json_int_t)c->seed, "rate_limit_rps", cfg->sched.pools[0].rps);
    if (c->base_url)
        json_object_set_new(s, "base_url", json_string(c->base_url));
    json_object_set_new(s, "rate_limit_tpm", json_real(cfg->sched.pools[0].tpm));
    json_object_set_new(s, "judge_rate_limit_rps", json_real(cfg->sched.pools[1].rps));
    json_object_set_new(s, "judge_rate_limit_tpm", json_real(cfg->sched.pools[1].tpm));
    if (c->tags)
        json_object_set_new(s, "tags", json_loads(c->tags, 0, NULL));
    json_object_set_new(s, "limit", json_integer((json_int_t)c->limit));
    return s;
}

static void log_diags(sw_stage *stage, sw_diags *d)
{
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *t = sw_diags_format(d, i);
        sw_severity sev = sw_diags_at(d, i)->severity;
        sw_host_api->log(stage, sev == SW_SEVERITY_ERROR ? SW_LOG_ERROR : SW_LOG_WARN, "%s", t);
        free(t);
    }
}

static void config_clear(ev_config *cfg)
{
    ev_dataset_close(cfg->ds);
    ev_target_clear(&cfg->target);
    ev_release_clear(&cfg->rel[0]);
    ev_release_clear(&cfg->rel[1]);
    free(cfg->judge_model);
    ev_target_clear(&cfg->judge);
    ev_cache_close(cfg->sched.cache);
    free(cfg->out_path[0]);
    free(cfg->out_path[1]);
}

/* Everything the runner needs, from the parameters. */
static sw_status prepare(sw_stage *stage, const eval_cfg *c, ev_config *cfg)
{
    const sw_host *h = sw_host_api;
    sw_err err;
    cfg->log = host_log;
    cfg->progress = host_progress;
    cfg->cancelled = host_cancelled;
    cfg->ud = stage;
    if (load_release(stage, c->release, NULL, &cfg->rel[0], &err) != 1)
        return h->error(stage, "release: %s", c->release ? err.msg : "missing");
    int b = load_release(stage, c->baseline, cfg->rel[0].agent, &cfg->rel[1], &err);
    if (b < 0)
        return h->error(stage, "baseline: %s", err.msg);
    cfg->has_baseline = b == 1;
    if (cfg->has_baseline && cfg->rel[0].id && cfg->rel[1].id &&
        strcmp(cfg->rel[0].id, cfg->rel[1].id) == 0)
        h->log(stage, SW_LOG_WARN,
               "the baseline is the candidate (%s): every case pairs with "
               "itself",
               cfg->rel[0].id);

    ev_target_opts to = {.kind = strcmp(c->target, "http") == 0 ? EV_TARGET_HTTP : EV_TARGET_MODEL,
                         .base_url = c->base_url,
                         .api_key = c->api_key,
                         .anthropic_base_url = c->anthropic_base_url,
                         .anthropic_api_key = c->anthropic_api_key,
                         .anthropic_version = c->anthropic_version,
                         .max_steps = (int)c->max_steps,
                         .http_json = c->http};
    target_proto(c->target, &to.proto);
    if (ev_target_init(&cfg->target, &to, &err) < 0)
        return h->error(stage, "%s", err.msg);
    for (int side = 0; side < 1 + cfg->has_baseline; side++)
        if (ev_target_check(&cfg->target, &cfg->rel[side], &err) < 0)
            return h->error(stage, "%s%s", side ? "baseline: " : "", err.msg);

    sw_diags *d = sw_diags_new();
    json_t *tags = c->tags ? json_loads(c->tags, 0, NULL) : NULL;
    ev_dataset_opts dopts = {.tags = tags, .limit = (size_t)c->limit};
    cfg->ds = ev_dataset_open(c->dataset, &dopts, d);
    json_decref(tags);
    log_diags(stage, d);
    size_t nerr = sw_diags_errors(d);
    char *first = nerr ? sw_diags_format(d, 0) : NULL;
    sw_diags_free(d);
    if (!cfg->ds) {
        sw_status st = h->error(stage, "dataset: %zu error%s; the first: %s", nerr,
                                nerr == 1 ? "" : "s", first ? first : "?");
        free(first);
        return st;
    }
    free(first);
    if (ev_dataset_count(cfg->ds) == 0)
        return h->error(stage, "dataset %s: no case selected", c->dataset);

    if (c->judge_model) {
        int jproto;
        target_proto(c->judge_target, &jproto);
        int own = jproto == SW_PROTO_MESSAGES;
        const char *jb = c->judge_base_url              ? c->judge_base_url
                         : own && c->anthropic_base_url ? c->anthropic_base_url
                                                        : c->base_url;
        if (!jb)
            return h->error(stage, "judge_model needs judge_base_url (or base_url)");
        const char *key = c->judge_api_key              ? c->judge_api_key
                          : own && c->anthropic_api_key ? c->anthropic_api_key
                                                        : c->api_key;
        /* The judge is called like a model target of its protocol. */
        ev_target_opts jo = {.kind = EV_TARGET_MODEL,
                             .proto = jproto,
                             .base_url = jb,
                             .api_key = key,
                             .anthropic_version = c->anthropic_version,
                             .max_steps = 1};
        if (ev_target_init(&cfg->judge, &jo, &err) < 0)
            return h->error(stage, "judge: %s", err.msg);
        cfg->judge_model = sw_xstrdup(c->judge_model);
        cfg->judge_proto = (sw_proto_id)jproto;
        if (c->judge_pricing) {
            json_t *jp = json_loads(c->judge_pricing, 0, NULL);
            ev_pricing_parse(jp, &cfg->judge_pricing, &err);
            json_decref(jp);
        }
    } else if (ev_dataset_judged(cfg->ds)) {
        return h->error(stage, "the dataset has llm-rubric assertions: set judge_model");
    }
    if (c->max_usd > 0) {
        if (!cfg->rel[0].pricing.known || (cfg->has_baseline && !cfg->rel[1].pricing.known))
            return h->error(stage, "max_usd needs prices: the release manifest has no pricing");
        if (ev_dataset_judged(cfg->ds) && !cfg->judge_pricing.known)
            return h->error(stage, "max_usd needs the judge's prices: set judge_pricing");
    }

    cfg->repeat = (int)c->repeat;
    cfg->margin = c->margin;
    cfg->confidence = c->confidence;
    cfg->resamples = (size_t)c->resamples;
    cfg->seed = (uint64_t)c->seed;
    cfg->max_usd = c->max_usd;
    cfg->max_tokens = c->max_tokens;
    ev_sched_opts *so = &cfg->sched;
    so->pools[EV_POOL_TARGET].concurrency = (int)c->concurrency;
    so->pools[EV_POOL_JUDGE].concurrency = (int)c->judge_concurrency;
    parse_rate(c->rate_limit, &so->pools[EV_POOL_TARGET], "rate_limit", &err);
    parse_rate(c->judge_rate_limit, &so->pools[EV_POOL_JUDGE], "judge_rate_limit", &err);
    so->max_retries = (int)c->retries;
    so->retry_budget = c->retry_budget;
    so->timeout_ms = c->timeout;
    so->backoff_ms = c->backoff > 0 ? c->backoff : 1;
    so->max_backoff_ms = c->max_backoff > so->backoff_ms ? c->max_backoff : so->backoff_ms;
    so->seed = (uint64_t)c->seed;
    so->log = host_log;
    so->log_ud = stage;
    ev_cache_mode mode;
    ev_cache_mode_parse(c->cache, &mode);
    if (mode != EV_CACHE_OFF) {
        char *dir = c->cache_dir ? sw_xstrdup(c->cache_dir)
                                 : sw_path_join(h->state_dir(stage), "eval-cache");
        so->cache = ev_cache_open(dir, mode, &err);
        free(dir);
        if (!so->cache)
            return h->error(stage, "%s", err.msg);
        cfg->target.keyed = 1;
    }
    const char *art = h->artifacts_dir(stage);
    if (!art)
        return h->error(stage, "artifacts: %s", h->last_error(stage));
    cfg->out_path[0] = sw_path_join(art, "eval.jsonl");
    cfg->out_path[1] = sw_path_join(art, "eval-baseline.jsonl");
    return SW_OK;
}

/* A comparison with nothing to compare against is null, for gates to tell
   apart from a measured value (see report.h). 1 when set. */
static int set_double_or_null(sw_stage *stage, const char *name, double v)
{
    return (isfinite(v) ? sw_host_api->set_double(stage, name, v)
                        : sw_host_api->set_null(stage, name)) == SW_OK;
}

static sw_status set_outputs(sw_stage *stage, const ev_metrics *m, const char *report)
{
    const sw_host *h = sw_host_api;
    int ok = h->set_int(stage, "cases", m->cases) == SW_OK &&
             h->set_int(stage, "passed", m->passed) == SW_OK &&
             h->set_int(stage, "failed", m->failed) == SW_OK &&
             h->set_int(stage, "errors", m->errors) == SW_OK &&
             h->set_double(stage, "pass_rate", m->pass_rate) == SW_OK &&
             h->set_double(stage, "error_rate", m->error_rate) == SW_OK &&
             h->set_double(stage, "score_mean", m->score_mean) == SW_OK &&
             h->set_double(stage, "latency_p50_ms", m->latency_p50_ms) == SW_OK &&
             h->set_double(stage, "latency_p95_ms", m->latency_p95_ms) == SW_OK &&
             h->set_int(stage, "tokens_in", m->tokens_in) == SW_OK &&
             h->set_int(stage, "tokens_out", m->tokens_out) == SW_OK &&
             h->set_double(stage, "cost_usd", m->cost_usd) == SW_OK &&
             h->set_double(stage, "cost_per_case_usd", m->cost_per_case_usd) == SW_OK &&
             h->set_int(stage, "regressions", m->regressions) == SW_OK &&
             h->set_int(stage, "improvements", m->improvements) == SW_OK &&
             (m->has_baseline ? h->set_double(stage, "mcnemar_p", m->mcnemar_p)
                              : h->set_null(stage, "mcnemar_p")) == SW_OK &&
             (m->has_baseline ? h->set_bool(stage, "noninferior", m->noninferior)
                              : h->set_null(stage, "noninferior")) == SW_OK &&
             h->set_string(stage, "report", report) == SW_OK &&
             h->set_double(stage, "pass_at_k", m->pass_at_k) == SW_OK &&
             h->set_double(stage, "pass_all_k", m->pass_all_k) == SW_OK &&
             h->set_bool(stage, "has_baseline", m->baseline_ran) == SW_OK &&
             set_double_or_null(stage, "baseline_cost_per_case_usd", m->base_cost_per_case_usd) &&
             set_double_or_null(stage, "baseline_latency_p95_ms", m->base_latency_p95_ms) &&
             set_double_or_null(stage, "cost_ratio", m->cost_ratio) &&
             set_double_or_null(stage, "cost_ratio_lo", m->cost_ratio_lo) &&
             set_double_or_null(stage, "cost_ratio_hi", m->cost_ratio_hi) &&
             set_double_or_null(stage, "latency_p95_ratio", m->latency_p95_ratio) &&
             set_double_or_null(stage, "latency_p95_ratio_lo", m->latency_p95_ratio_lo) &&
             set_double_or_null(stage, "latency_p95_ratio_hi", m->latency_p95_ratio_hi);
    return ok ? SW_OK : h->error(stage, "setting outputs: %s", h->last_error(stage));
}

/* The run's report.html: the artifacts folder is <run>/artifacts/<stage>, and the
   core writes the report, this stage's section in it, when the run ends. */
static char *run_report_path(const char *art)
{
    char *stage_dir = sw_path_dirname(art);
    char *run_dir = sw_path_dirname(stage_dir);
    char *path = sw_path_join(run_dir, "report.html");
    free(stage_dir);
    free(run_dir);
    return path;
}

static sw_status write_reports(sw_stage *stage, const ev_config *cfg, const eval_cfg *c,
                               const ev_results *res, const char *failure)
{
    const sw_host *h = sw_host_api;
    const char *art = h->artifacts_dir(stage);
    json_t *prov = provenance(cfg, c);
    json_t *set = settings(c, cfg);
    ev_report_in in = {.cfg = cfg,
                       .res = res,
                       .provenance = prov,
                       .settings = set,
                       .stage_id = h->stage_id(stage),
                       .run_id = h->run_id(stage),
                       .failure = failure};
    char *summary = sw_path_join(art, "eval-summary.json");
    char *junit = sw_path_join(art, "junit.xml");
    char *section = sw_path_join(art, "report-section.json");
    sw_err err;
    sw_status st = SW_OK;
    h->add_artifact(stage, cfg->out_path[0], "every sample's answer and grades (JSON lines)");
    if (cfg->has_baseline)
        h->add_artifact(stage, cfg->out_path[1], "the baseline's answers and grades");
    if (ev_write_summary(&in, summary, &err) < 0)
        st = h->error(stage, "writing the reports: %s", err.msg);
    else
        h->add_artifact(stage, summary, "eval summary: outputs, spend, statistics, provenance");
    if (ev_write_junit(&in, junit, &err) < 0) {
        if (st == SW_OK)
            st = h->error(stage, "writing the reports: %s", err.msg);
    } else {
        h->add_artifact(stage, junit, "eval cases as JUnit XML");
    }
    /* The core finds the section by its name; it is no artifact of its own. */
    if (ev_write_section(&in, section, &err) < 0 && st == SW_OK)
        st = h->error(stage, "writing the reports: %s", err.msg);
    free(summary);
    free(junit);
    free(section);
    json_decref(prov);
    json_decref(set);
    return st;
}

/* Why the measurement could not be made, or NULL (the verdict is the gates'). */
static char *failure_of(const ev_results *res, const ev_metrics *m, const eval_cfg *c, size_t n,
                        int rc, const sw_err *err)
{
    if (rc < 0)
        return sw_xstrdup(err->msg);
    if (res->cancelled)
        return sw_xasprintf("cancelled after %lld of %zu cases", (long long)m->cases, n);
    if (res->budget_hit)
        return sw_xasprintf("%s after %lld of %zu cases; %zu not run", res->stop_reason,
                            (long long)m->cases, n, res->not_run);
    if (m->cases == 0)
        return sw_xstrdup("no case could be evaluated");
    if (m->error_rate > c->max_error_rate)
        return sw_xasprintf("%lld of %lld cases could not be measured (error rate %.1f%% above "
                            "max_error_rate %.1f%%); see eval.jsonl",
                            (long long)m->errors, (long long)m->cases, m->error_rate * 100,
                            c->max_error_rate * 100);
    return NULL;
}

static sw_status run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const eval_cfg *c = config;
    ev_config cfg;
    memset(&cfg, 0, sizeof cfg);
    sw_status st = prepare(stage, c, &cfg);
    if (st != SW_OK) {
        config_clear(&cfg);
        return st;
    }
    size_t n = ev_dataset_count(cfg.ds);
    double wusd;
    int64_t wtok;
    ev_worst_case(&cfg, &wusd, &wtok);
    h->log(stage, SW_LOG_INFO,
           "%zu case%s x %lld sample%s%s against %s (%s)%s%s%s; worst case %lld tokens, $%.4f%s", n,
           n == 1 ? "" : "s", (long long)c->repeat, c->repeat == 1 ? "" : "s",
           cfg.has_baseline ? " x 2 releases" : "", cfg.rel[0].id ? cfg.rel[0].id : "candidate",
           cfg.rel[0].model, cfg.has_baseline ? ", baseline " : "",
           cfg.has_baseline && cfg.rel[1].id ? cfg.rel[1].id : "",
           cfg.sched.cache ? (ev_cache_get_mode(cfg.sched.cache) == EV_CACHE_REPLAY ? ", replaying"
                                                                                    : ", recording")
                           : "",
           (long long)wtok, wusd,
           c->max_usd > 0 ? " (capped by max_usd)" : (c->max_tokens > 0 ? " (capped)" : ""));
    if (!cfg.rel[0].pricing.known)
        h->log(stage, SW_LOG_WARN, "the release has no pricing: costs are reported as 0");

    ev_results res;
    sw_err err;
    int rc = ev_run(&cfg, &res, &err);
    if (rc < 0 && res.trials == NULL) {
        config_clear(&cfg);
        return h->error(stage, "%s", err.msg);
    }
    ev_metrics m;
    ev_metrics_of(&res, &m);
    char *why = failure_of(&res, &m, c, n, rc, &err);
    sw_status rst = write_reports(stage, &cfg, c, &res, why);
    char *report = run_report_path(h->artifacts_dir(stage));
    sw_status ost = set_outputs(stage, &m, report);
    free(report);
    h->log(stage, SW_LOG_INFO,
           "%lld case%s: %lld passed, %lld failed, %lld error%s; pass rate %.1f%%; latency p50 "
           "%.0f ms, p95 %.0f ms; $%.4f ($%.6f per case); %.0f cases/s",
           (long long)m.cases, m.cases == 1 ? "" : "s", (long long)m.passed, (long long)m.failed,
           (long long)m.errors, m.errors == 1 ? "" : "s", m.pass_rate * 100, m.latency_p50_ms,
           m.latency_p95_ms, m.cost_usd, m.cost_per_case_usd,
           res.elapsed_ms > 0 ? (double)m.cases * 1000 / res.elapsed_ms : 0.0);
    if (m.has_baseline)
        h->log(stage, SW_LOG_INFO,
               "against %s: %lld regression%s, %lld improvement%s, McNemar p = %.4g; score "
               "difference %+.4f [%+.4f, %+.4f]; %s at margin %.3g",
               cfg.rel[1].id ? cfg.rel[1].id : "the baseline", (long long)m.regressions,
               m.regressions == 1 ? "" : "s", (long long)m.improvements,
               m.improvements == 1 ? "" : "s", m.mcnemar_p, res.reg.diff_mean, res.reg.ci_lo,
               res.reg.ci_hi, m.noninferior ? "non-inferior" : "NOT shown non-inferior",
               res.reg.margin);
    if (m.baseline_ran)
        h->log(stage, SW_LOG_INFO,
               "against %s in the same run: cost per case $%.6f vs $%.6f (ratio %.3f [%.3f, "
               "%.3f]), latency p95 %.0f ms vs %.0f ms (ratio %.3f [%.3f, %.3f])",
               cfg.rel[1].id ? cfg.rel[1].id : "the baseline", m.cost_per_case_usd,
               m.base_cost_per_case_usd, m.cost_ratio, m.cost_ratio_lo, m.cost_ratio_hi,
               m.latency_p95_ms, m.base_latency_p95_ms, m.latency_p95_ratio, m.latency_p95_ratio_lo,
               m.latency_p95_ratio_hi);

    sw_status out;
    if (rc < 0)
        out = h->error(stage, "%s", why);
    else if (rst != SW_OK)
        out = rst;
    else if (ost != SW_OK)
        out = ost;
    else if (why)
        out = h->error(stage, "%s", why);
    else
        out = SW_OK;
    free(why);
    ev_results_clear(&res);
    config_clear(&cfg);
    return out;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "eval",
    .version = "1.0.0",
    .summary = "Grade a release on a golden dataset, against production, with cost and latency",
    .params = params,
    .config_size = sizeof(eval_cfg),
    .inputs = inputs,
    .outputs = outputs,
    .init = init,
    .run = run,
    .fini = NULL,
};

SW_PLUGIN(desc)
