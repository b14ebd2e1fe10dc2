/*
 * desc_small - a descriptor whose struct_size (16) is smaller than any ABI
 * 1.x descriptor: the loader must refuse it rather than read past it.
 */
#include <slipway/plugin.h>

static sw_status desc_small_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_stage_desc desc = {
    .abi_major = SW_ABI_MAJOR,
    .abi_minor = SW_ABI_MINOR,
    .struct_size = 16,
    .name = "desc_small",
    .version = "1.0.0",
    .summary = "Declares a truncated descriptor",
    .run = desc_small_run,
};

SW_PLUGIN(desc)
