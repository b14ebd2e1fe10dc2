/*
 * secret_sink - a stage that does everything a careless plugin could do with a
 * secret parameter, so tests/integration/secrets.sh can check that none of it
 * reaches an artifact of the run: it logs the token and a note (which may hold
 * it too), reports progress with it, writes the token's length as an output,
 * and with fail: true fails with a reason that quotes the token.
 */
#include <stdint.h>
#include <string.h>

#include <slipway/plugin.h>

typedef struct sink_config {
    const char *token;
    const char *note;
    int fail;
} sink_config;

static const sw_param params[] = {
    {.name = "token",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_SECRET | SW_PARAM_REQUIRED,
     .offset = offsetof(sink_config, token),
     .description = "a secret: logged, reported and quoted in a failure anyway"},
    {.name = "note",
     .type = SW_TYPE_STRING,
     .default_value = "",
     .offset = offsetof(sink_config, note),
     .description = "logged as it is"},
    {.name = "fail",
     .type = SW_TYPE_BOOL,
     .default_value = "false",
     .offset = offsetof(sink_config, fail),
     .description = "fail with a reason that quotes the token"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "token_len", .type = SW_TYPE_INT, .description = "the token's length"},
    {0},
};

static sw_status sink_run(sw_stage *stage, const void *config)
{
    const sink_config *c = config;
    const sw_host *h = sw_host_api;
    h->log(stage, SW_LOG_INFO, "using token %s", c->token);
    h->log(stage, SW_LOG_WARN, "note: %s", c->note);
    h->progress(stage, 0.5, c->token);
    sw_status st = h->set_int(stage, "token_len", (int64_t)strlen(c->token));
    if (st != SW_OK)
        return st;
    if (c->fail)
        return h->fail(stage, "token %s was rejected", c->token);
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "secret_sink",
    .version = "1.0.0",         .summary = "Misuses a secret parameter every way a plugin can",
    .params = params,           .config_size = sizeof(sink_config),
    .outputs = outputs,         .run = sink_run,
};

SW_PLUGIN(desc)
