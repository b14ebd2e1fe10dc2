/*
 * dup_b - one of two files (dup_a.so, dup_b.so) that both declare the plugin
 * name "dup": loading both must be refused as a duplicate.
 */
#include <slipway/plugin.h>

static sw_status dup_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "dup",
    .version = "1.0.0",
    .summary = "Declares the name dup (file dup_b.so)",
    .run = dup_run,
};

SW_PLUGIN(desc)
