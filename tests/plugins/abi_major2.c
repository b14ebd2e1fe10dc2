/*
 * abi_major2 - a descriptor claiming ABI 2.0, as a plugin built for a future
 * major would: the loader must refuse it, naming both ABI versions.
 */
#include <slipway/plugin.h>

static sw_status abi_major2_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    .abi_major = 2,
    .abi_minor = 0,
    .struct_size = sizeof(sw_stage_desc),
    .name = "abi_major2",
    .version = "2.0.0",
    .summary = "Built for an ABI this host does not speak",
    .run = abi_major2_run,
};

SW_PLUGIN(desc)
