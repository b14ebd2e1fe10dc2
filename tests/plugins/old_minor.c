/*
 * old_minor - a plugin built against an older, smaller sw_stage_desc.
 *
 * Fields are only ever appended to sw_stage_desc within ABI major 1, so a
 * plugin compiled against an older minor hands the host a shorter struct and
 * says so in struct_size. This plugin declares its own copy of the descriptor
 * as ABI 1.0 shipped it (everything up to and including fini) and returns it
 * cast to the current type; the host must read only struct_size bytes and see
 * the fields appended since as zero. ABI 1.0 is the first, so today the old
 * struct is exactly the 1.0 minimum; once a field is appended, this plugin is
 * what keeps the append-only rule honest.
 */
#include <slipway/plugin.h>

/* sw_stage_desc as of ABI 1.0. */
typedef struct old_stage_desc {
    SW_ABI_HEADER;
    const char *name;
    const char *version;
    const char *summary;
    const sw_param *params;
    size_t config_size;
    const sw_port *inputs;
    const sw_port *outputs;
    sw_status (*init)(sw_stage *stage, const void *config);
    sw_status (*run)(sw_stage *stage, const void *config);
    void (*fini)(sw_stage *stage);
} old_stage_desc;

_Static_assert(sizeof(old_stage_desc) == offsetof(sw_stage_desc, fini) + sizeof(void (*)(void)),
               "the ABI 1.0 descriptor is a prefix of sw_stage_desc ending with fini");

static const sw_port outputs[] = {
    {.name = "ok", .type = SW_TYPE_BOOL, .description = "always true"},
    {0},
};

static sw_status old_minor_run(sw_stage *stage, const void *config)
{
    return sw_host_api->set_bool(stage, "ok", 1);
}

static const old_stage_desc desc = {
    .abi_major = 1,
    .abi_minor = 0,
    .struct_size = sizeof(old_stage_desc),
    .name = "old_minor",
    .version = "1.0.0",
    .summary = "Built against the ABI 1.0 descriptor",
    .outputs = outputs,
    .run = old_minor_run,
};

SW_HIDDEN const sw_host *sw_host_api;

/* Written out rather than with SW_PLUGIN, which expects an sw_stage_desc. */
SW_EXPORT sw_status sw_plugin_entry(const sw_host *host, const sw_stage_desc **out, char *err,
                                    size_t errsize);

SW_EXPORT sw_status sw_plugin_entry(const sw_host *host, const sw_stage_desc **out, char *err,
                                    size_t errsize)
{
    sw_host_api = host;
    *out = (const sw_stage_desc *)&desc;
    return SW_OK;
}
