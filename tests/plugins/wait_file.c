/*
 * wait_file - waits until `path` exists, then succeeds; cancelled, it fails. Tests use it
 * to hold a run between two stages until the test lets it go on.
 */
#include <stdint.h>
#include <unistd.h>

#include <slipway/plugin.h>

typedef struct wait_file_config {
    const char *path;
} wait_file_config;

static const sw_param params[] = {
    {.name = "path",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_REQUIRED,
     .offset = offsetof(wait_file_config, path),
     .description = "the file to wait for"},
    {0},
};

static sw_status wait_file_run(sw_stage *stage, const void *config)
{
    const wait_file_config *c = config;
    while (access(c->path, F_OK) != 0)
        if (sw_host_api->wait(stage, 50))
            return sw_host_api->error(stage, "cancelled while waiting for %s", c->path);
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "wait_file",
    .version = "1.0.0",         .summary = "Waits until a file exists",
    .params = params,           .config_size = sizeof(wait_file_config),
    .run = wait_file_run,
};

SW_PLUGIN(desc)
