/*
 * hang - sleeps for `seconds` (default an hour) with nanosleep, deliberately
 * ignoring cancellation, then succeeds. Tests use it to check that a stage
 * timeout stops a plugin that never polls the cancellation flag.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <slipway/plugin.h>

typedef struct hang_config {
    int64_t seconds;
} hang_config;

static const sw_param params[] = {
    {.name = "seconds",
     .type = SW_TYPE_INT,
     .default_value = "3600",
     .offset = offsetof(hang_config, seconds),
     .description = "how long to sleep"},
    {0},
};

static sw_status hang_run(sw_stage *stage, const void *config)
{
    const hang_config *c = config;
    struct timespec left = {.tv_sec = c->seconds > 0 ? (time_t)c->seconds : 0, .tv_nsec = 0};
    /* Signals interrupt nanosleep; sleep on through them for the remaining time. */
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        ;
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "hang",
    .version = "1.0.0",
    .summary = "Sleeps without ever checking for cancellation",
    .params = params,
    .config_size = sizeof(hang_config),
    .run = hang_run,
};

SW_PLUGIN(desc)
