/*
 * bad_param - declares a parameter that is both required and defaulted, a
 * contradiction the loader must refuse.
 */
#include <slipway/plugin.h>

typedef struct bad_param_config {
    const char *target;
} bad_param_config;

static const sw_param params[] = {
    {.name = "target",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_REQUIRED,
     .default_value = "prod",
     .offset = offsetof(bad_param_config, target),
     .description = "required, yet defaulted"},
    {0},
};

static sw_status bad_param_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "bad_param",
    .version = "1.0.0",         .summary = "Declares a required parameter with a default",
    .params = params,           .config_size = sizeof(bad_param_config),
    .run = bad_param_run,
};

SW_PLUGIN(desc)
