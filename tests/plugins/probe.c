/*
 * probe - reads one context key with the typed getter its `type` names and
 * reports what happened, so tests can check the host's getters and the rule
 * that a stage writes only the outputs it declared.
 *
 * Outputs:
 *   found      host->has(key)
 *   text       the value read, as text (bools true/false, ints in decimal,
 *              doubles in the shortest form that reads back the same, strings
 *              and JSON as they are), or the getter's error (host->last_error)
 *   set_error  the error host->set_int(stage, "undeclared", 1) records; that
 *              call must fail, and the stage errors if it does not
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slipway/plugin.h>

typedef struct probe_config {
    const char *key;
    const char *type;
} probe_config;

static const sw_param params[] = {
    {.name = "key",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_REQUIRED,
     .offset = offsetof(probe_config, key),
     .description = "the full context key to read"},
    {.name = "type",
     .type = SW_TYPE_STRING,
     .default_value = "string",
     .offset = offsetof(probe_config, type),
     .description = "the getter to use: bool, int, double, string or json"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "found", .type = SW_TYPE_BOOL, .description = "whether the key is set"},
    {.name = "text",
     .type = SW_TYPE_STRING,
     .description = "the value as text, or the getter's error message"},
    {.name = "set_error",
     .type = SW_TYPE_STRING,
     .description = "the error from writing an undeclared output"},
    {0},
};

static void shortest_double(double v, char *out, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Read key as `type` into text (size bytes); on a getter failure, text is its message. */
static sw_status read_as(sw_stage *stage, const char *key, const char *type, char *text,
                         size_t size)
{
    const sw_host *h = sw_host_api;
    sw_status st;
    if (strcmp(type, "bool") == 0) {
        int v = 0;
        if ((st = h->get_bool(stage, key, &v)) == SW_OK)
            snprintf(text, size, "%s", v ? "true" : "false");
    } else if (strcmp(type, "int") == 0) {
        int64_t v = 0;
        if ((st = h->get_int(stage, key, &v)) == SW_OK)
            snprintf(text, size, "%" PRId64, v);
    } else if (strcmp(type, "double") == 0) {
        double v = 0;
        if ((st = h->get_double(stage, key, &v)) == SW_OK)
            shortest_double(v, text, size);
    } else if (strcmp(type, "string") == 0 || strcmp(type, "json") == 0) {
        const char *v = NULL;
        st = type[0] == 's' ? h->get_string(stage, key, &v) : h->get_json(stage, key, &v);
        if (st == SW_OK)
            snprintf(text, size, "%s", v ? v : "");
    } else {
        return h->error(stage, "unknown type '%s' (expected bool, int, double, string or json)",
                        type);
    }
    if (st != SW_OK)
        snprintf(text, size, "%s", h->last_error(stage));
    return SW_OK;
}

static sw_status probe_run(sw_stage *stage, const void *config)
{
    const probe_config *c = config;
    const sw_host *h = sw_host_api;
    /* Copies, because the host may reuse the buffer last_error points into. */
    char text[4096], set_error[1024];

    int found = h->has(stage, c->key);
    if (read_as(stage, c->key, c->type, text, sizeof text) != SW_OK)
        return SW_ERROR;
    if (h->set_int(stage, "undeclared", 1) == SW_OK)
        return h->error(stage, "writing the undeclared output 'undeclared' was accepted");
    snprintf(set_error, sizeof set_error, "%s", h->last_error(stage));

    if (h->set_bool(stage, "found", found) != SW_OK ||
        h->set_string(stage, "text", text) != SW_OK ||
        h->set_string(stage, "set_error", set_error) != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "probe",
    .version = "1.0.0",
    .summary = "Reads a context key with a typed getter and reports the result",
    .params = params,
    .config_size = sizeof(probe_config),
    .outputs = outputs,
    .run = probe_run,
};

SW_PLUGIN(desc)
