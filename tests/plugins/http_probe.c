/*
 * http_probe - calls host->http only when the host table has it, as a plugin
 * that must also run under an older host would. Checking SW_HAS_FIELD on the
 * host table, not the plugin's own header, is the point: the header it was
 * built with always has the field.
 *
 * run: when the host has http, GETs `url` (when set) and writes has_http=true,
 * status and body; else writes has_http=false and logs why. A failed request
 * is SW_ERROR with the host's message.
 */
#include <slipway/plugin.h>

typedef struct probe_config {
    const char *url;
} probe_config;

static const sw_param params[] = {
    {.name = "url",
     .type = SW_TYPE_STRING,
     .offset = offsetof(probe_config, url),
     .description = "the URL to GET when the host has an HTTP client"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "has_http", .type = SW_TYPE_BOOL, .description = "the host table has http"},
    {.name = "status", .type = SW_TYPE_INT, .description = "the response status"},
    {.name = "body", .type = SW_TYPE_STRING, .description = "the response body"},
    {0},
};

static sw_status probe_run(sw_stage *stage, const void *config)
{
    const probe_config *c = config;
    const sw_host *h = sw_host_api;
    if (!SW_HAS_FIELD(h, sw_host, http_response_free)) { /* http comes with it */
        h->log(stage, SW_LOG_WARN, "this host has no HTTP client (ABI %u.%u)",
               (unsigned)h->abi_major, (unsigned)h->abi_minor);
        return h->set_bool(stage, "has_http", 0);
    }
    h->set_bool(stage, "has_http", 1);
    if (!c->url)
        return SW_OK;
    sw_http_request req = {SW_ABI_INIT(sw_http_request), .url = c->url};
    sw_http_response resp = {SW_ABI_INIT(sw_http_response)};
    if (h->http(stage, &req, &resp) != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));
    h->set_int(stage, "status", resp.status);
    h->set_string(stage, "body", resp.body);
    h->http_response_free(stage, &resp);
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "http_probe",
    .version = "1.0.0",         .summary = "Uses host->http when the host has it",
    .params = params,           .config_size = sizeof(probe_config),
    .outputs = outputs,         .run = probe_run,
};

SW_PLUGIN(desc)
