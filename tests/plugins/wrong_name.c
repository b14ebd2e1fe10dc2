/*
 * wrong_name - the file is wrong_name.so but the descriptor says "other_name":
 * found by name, the loader must refuse it; loaded by path, it is "other_name".
 */
#include <slipway/plugin.h>

static sw_status wrong_name_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "other_name",
    .version = "1.0.0",         .summary = "Declares a name other than its file's",
    .run = wrong_name_run,
};

SW_PLUGIN(desc)
