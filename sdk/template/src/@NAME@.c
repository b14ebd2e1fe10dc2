/*
 * @NAME@ - a Slipway stage plugin.
 *
 * It judges a score against a threshold: a starting point that shows every
 * part of a stage. Replace the work in run() with your own; keep the shape.
 *
 *   - stages:
 *       - id: judge
 *         uses: @NAME@
 *         with: { min_score: 0.9, label: "nightly" }
 *
 * Parameters (`with:`) are declared in a table: the host parses, validates
 * and documents them (`slipway plugins show @NAME@`) and fills the config
 * struct. Inputs name the context keys the stage reads, outputs the values it
 * writes, so `slipway check` type-checks a pipeline before anything runs.
 */
#include <stdint.h>
#include <stdio.h>

#include <slipway/plugin.h>

typedef struct config {
    double min_score;   /* min_score: double */
    const char *label;  /* label: string */
    int64_t timeout_ms; /* timeout: duration, in milliseconds */
} config;

static const sw_param params[] = {
    {.name = "min_score",
     .type = SW_TYPE_DOUBLE,
     .default_value = "0.5",
     .offset = offsetof(config, min_score),
     .description = "the lowest passing score"},
    {.name = "label",
     .type = SW_TYPE_STRING,
     .default_value = "candidate",
     .offset = offsetof(config, label),
     .description = "what is being judged, for the message"},
    {.name = "timeout",
     .type = SW_TYPE_INT,
     .flags = SW_PARAM_DURATION,
     .default_value = "30s",
     .offset = offsetof(config, timeout_ms),
     .description = "how long the work may take"},
    {0},
};

/* Inputs are full context keys: another stage's output ("eval.pass_rate") or a variable. */
static const sw_port inputs[] = {
    {.name = "vars.score",
     .type = SW_TYPE_DOUBLE,
     .flags = SW_PORT_OPTIONAL,
     .description = "the score to judge (1.0 when the pipeline sets none)"},
    {0},
};

/* Outputs are plain names, written as "<stage-id>.<name>". */
static const sw_port outputs[] = {
    {.name = "score", .type = SW_TYPE_DOUBLE, .description = "the score judged"},
    {.name = "passed", .type = SW_TYPE_BOOL, .description = "score >= min_score"},
    {.name = "message", .type = SW_TYPE_STRING, .description = "one line about the verdict"},
    {0},
};

/* Validate what types cannot say. SW_ERROR with a message stops the stage before run. */
static sw_status stage_init(sw_stage *stage, const void *cfg)
{
    const config *c = cfg;
    if (c->min_score < 0 || c->min_score > 1)
        return sw_host_api->error(stage, "min_score must be within [0, 1], not %g", c->min_score);
    if (c->timeout_ms <= 0)
        return sw_host_api->error(stage, "timeout must be positive");
    return SW_OK;
}

static sw_status stage_run(sw_stage *stage, const void *cfg)
{
    const config *c = cfg;
    const sw_host *h = sw_host_api;

    double score = 1.0;
    if (h->has(stage, "vars.score") && h->get_double(stage, "vars.score", &score) != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));
    h->log(stage, SW_LOG_INFO, "judging %s: score %.3f, needs %.3f", c->label, score, c->min_score);

    /* Long work polls h->cancelled(stage) and sleeps with h->wait(stage, ms). */
    if (h->cancelled(stage))
        return h->error(stage, "cancelled");

    int passed = score >= c->min_score;
    char message[256];
    snprintf(message, sizeof message, "%s %s: score %.3f (min %.3f)", c->label,
             passed ? "passed" : "failed", score, c->min_score);
    if (h->set_double(stage, "score", score) != SW_OK ||
        h->set_bool(stage, "passed", passed) != SW_OK ||
        h->set_string(stage, "message", message) != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));

    /* SW_FAIL: the candidate is not good enough. SW_ERROR: the stage could not do its job. */
    if (!passed)
        return h->fail(stage, "%s", message);
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "@NAME@", /* what `uses:` says; must match the file name, @NAME@.so */
    .version = "0.1.0",
    .summary = "Judges a score against a threshold",
    .params = params,
    .config_size = sizeof(config),
    .inputs = inputs,
    .outputs = outputs,
    .init = stage_init,
    .run = stage_run,
};

SW_PLUGIN(desc)
