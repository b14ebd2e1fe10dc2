/*
 * bad_desc - one plugin file that returns a different broken descriptor for
 * each value of the environment variable SW_TEST_BAD_DESC, so the loader's
 * unit test can check every descriptor rule without a .so per rule. The
 * variable is read in the entry point, which the loader calls on every load.
 *
 *   refuse          the entry returns SW_ERROR with a reason
 *   null            SW_OK but no descriptor
 *   no_name, bad_name, long_name, no_run, no_version, no_summary
 *   param_name, param_dup, param_type, param_null, param_offset,
 *   param_default   (an int parameter defaulting to "abc")
 *   input_empty, output_name, output_dup, output_type, output_any
 *   valid           a correct descriptor
 * Unset or anything else: refused, asking for SW_TEST_BAD_DESC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slipway/plugin.h>

typedef struct bad_config {
    int64_t n;
    const char *s;
} bad_config;

static sw_status bad_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_param good_params[] = {
    {.name = "n", .type = SW_TYPE_INT, .default_value = "1", .offset = offsetof(bad_config, n)},
    {.name = "s", .type = SW_TYPE_STRING, .offset = offsetof(bad_config, s)},
    {0},
};

static const sw_port good_inputs[] = {
    {.name = "vars.x", .type = SW_TYPE_ANY, .flags = SW_PORT_OPTIONAL},
    {0},
};

static const sw_port good_outputs[] = {
    {.name = "a", .type = SW_TYPE_INT},
    {.name = "b", .type = SW_TYPE_STRING},
    {0},
};

static const sw_stage_desc good = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "bad_desc",
    .version = "1.0.0",
    .summary = "A descriptor broken on request",
    .params = good_params,
    .config_size = sizeof(bad_config),
    .inputs = good_inputs,
    .outputs = good_outputs,
    .run = bad_run,
};

/* Mutable copies the cases break; the loader reads them after the entry returns. */
static sw_stage_desc desc;
static sw_param params[3];
static sw_port inputs[2];
static sw_port outputs[3];

SW_HIDDEN const sw_host *sw_host_api;

SW_EXPORT sw_status sw_plugin_entry(const sw_host *host, const sw_stage_desc **out, char *err,
                                    size_t errsize);

SW_EXPORT sw_status sw_plugin_entry(const sw_host *host, const sw_stage_desc **out, char *err,
                                    size_t errsize)
{
    sw_host_api = host;
    desc = good;
    memcpy(params, good_params, sizeof params);
    memcpy(inputs, good_inputs, sizeof inputs);
    memcpy(outputs, good_outputs, sizeof outputs);
    desc.params = params;
    desc.inputs = inputs;
    desc.outputs = outputs;

    const char *c = getenv("SW_TEST_BAD_DESC");
    if (!c)
        c = "";
    if (strcmp(c, "refuse") == 0) {
        snprintf(err, errsize, "this host is too old: bad_desc needs ABI 1.%d", 99);
        return SW_ERROR;
    } else if (strcmp(c, "null") == 0) {
        *out = NULL;
        return SW_OK;
    } else if (strcmp(c, "no_name") == 0) {
        desc.name = NULL;
    } else if (strcmp(c, "bad_name") == 0) {
        desc.name = "Bad Name";
    } else if (strcmp(c, "long_name") == 0) {
        desc.name = "a123456789012345678901234567890123456789012345678901234567890123456789";
    } else if (strcmp(c, "no_run") == 0) {
        desc.run = NULL;
    } else if (strcmp(c, "no_version") == 0) {
        desc.version = NULL;
    } else if (strcmp(c, "no_summary") == 0) {
        desc.summary = NULL;
    } else if (strcmp(c, "param_name") == 0) {
        params[1].name = "Threshold";
    } else if (strcmp(c, "param_dup") == 0) {
        params[1].name = "n";
    } else if (strcmp(c, "param_type") == 0) {
        params[1].type = (sw_type)42;
    } else if (strcmp(c, "param_null") == 0) {
        params[1].type = SW_TYPE_NULL;
    } else if (strcmp(c, "param_offset") == 0) {
        params[1].offset = sizeof(bad_config) - 4;
    } else if (strcmp(c, "param_default") == 0) {
        params[0].default_value = "abc";
    } else if (strcmp(c, "input_empty") == 0) {
        inputs[0].name = "";
    } else if (strcmp(c, "output_name") == 0) {
        outputs[1].name = "pass-rate";
    } else if (strcmp(c, "output_dup") == 0) {
        outputs[1].name = "a";
    } else if (strcmp(c, "output_type") == 0) {
        outputs[1].type = (sw_type)-1;
    } else if (strcmp(c, "output_any") == 0) {
        outputs[1].type = SW_TYPE_ANY;
    } else if (strcmp(c, "valid") != 0) {
        snprintf(err, errsize, "set SW_TEST_BAD_DESC to choose a broken descriptor");
        return SW_ERROR;
    }
    *out = &desc;
    return SW_OK;
}
