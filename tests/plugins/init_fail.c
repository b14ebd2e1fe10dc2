/*
 * init_fail - loads fine, but init refuses to start with the error
 * "missing credentials: set INIT_FAIL_TOKEN", as a stage that checks its
 * configuration in init would. run is never reached.
 */
#include <slipway/plugin.h>

static sw_status init_fail_init(sw_stage *stage, const void *config)
{
    return sw_host_api->error(stage, "missing credentials: set INIT_FAIL_TOKEN");
}

static sw_status init_fail_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "init_fail",    .version = "1.0.0",
    .summary = "Fails in init", .init = init_fail_init, .run = init_fail_run,
};

SW_PLUGIN(desc)
