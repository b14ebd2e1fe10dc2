/*
 * signal - stands in for a monitor's hold/extend signals, so the canary's handling
 * of them is tested without a monitor: a background stage writing `hold` (bool) and
 * `extend_ms` (int) the way the monitor does while it runs.
 *
 * run:
 *   sets hold := `hold` and extend_ms := 0;
 *   then, every 20 ms until cancelled (the run ending cancels a background stage):
 *     once release_file exists, or release_after has passed (when > 0): hold := false;
 *     once extend_file exists: extend_ms := `extend`;
 *   returns SW_OK when cancelled.
 */
#include <stdint.h>
#include <unistd.h>

#include <slipway/plugin.h>

typedef struct signal_config {
    int hold;
    const char *release_file;
    int64_t release_after_ms;
    int64_t extend;
    const char *extend_file;
} signal_config;

static const sw_param params[] = {
    {.name = "hold",
     .type = SW_TYPE_BOOL,
     .default_value = "true",
     .offset = offsetof(signal_config, hold),
     .description = "the first value of output hold"},
    {.name = "release_file",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_PATH,
     .offset = offsetof(signal_config, release_file),
     .description = "hold becomes false once this file exists"},
    {.name = "release_after",
     .type = SW_TYPE_INT,
     .flags = SW_PARAM_DURATION,
     .default_value = "0",
     .offset = offsetof(signal_config, release_after_ms),
     .description = "hold becomes false after this long (0: never by time)"},
    {.name = "extend",
     .type = SW_TYPE_INT,
     .default_value = "0",
     .offset = offsetof(signal_config, extend),
     .description = "the value extend_ms takes once extend_file exists"},
    {.name = "extend_file",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_PATH,
     .offset = offsetof(signal_config, extend_file),
     .description = "extend_ms becomes `extend` once this file exists"},
    {0},
};

static const sw_port outputs[] = {
    {"hold", SW_TYPE_BOOL, 0, "true while the ramp must wait"},
    {"extend_ms", SW_TYPE_INT, 0, "extra observation time asked for so far"},
    {NULL, 0, 0, NULL},
};

static int exists(const char *path)
{
    return path && *path && access(path, F_OK) == 0;
}

static sw_status signal_run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const signal_config *c = config;
    int hold = c->hold != 0, extended = 0;
    if (h->set_bool(stage, "hold", hold) != SW_OK || h->set_int(stage, "extend_ms", 0) != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));
    h->log(stage, SW_LOG_INFO, "hold=%s", hold ? "true" : "false");
    int64_t elapsed = 0;
    while (!h->wait(stage, 20)) {
        elapsed += 20;
        if (hold && (exists(c->release_file) ||
                     (c->release_after_ms > 0 && elapsed >= c->release_after_ms))) {
            hold = 0;
            if (h->set_bool(stage, "hold", 0) != SW_OK)
                return h->error(stage, "%s", h->last_error(stage));
            h->log(stage, SW_LOG_INFO, "hold=false");
        }
        if (!extended && exists(c->extend_file)) {
            extended = 1;
            if (h->set_int(stage, "extend_ms", c->extend) != SW_OK)
                return h->error(stage, "%s", h->last_error(stage));
            h->log(stage, SW_LOG_INFO, "extend_ms=%lld", (long long)c->extend);
        }
    }
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "signal",
    .version = "1.0.0",
    .summary = "Writes hold and extend_ms as a monitor would, driven by files",
    .params = params,
    .config_size = sizeof(signal_config),
    .outputs = outputs,
    .run = signal_run,
};

SW_PLUGIN(desc)
