/*
 * noop - the smallest valid plugin: no parameters, no outputs, run succeeds.
 * Used by loader and runner tests as the "known good" stage.
 */
#include <slipway/plugin.h>

static sw_status noop_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "noop",
    .version = "1.0.0",
    .summary = "Does nothing and succeeds",
    .run = noop_run,
};

SW_PLUGIN(desc)
