/*
 * crash - dies with SIGSEGV in run, after logging "crashing now". Tests use
 * it to check that a crashing plugin leaves the journal and the checkpoint of
 * earlier stages intact and the run resumable.
 */
#include <slipway/plugin.h>

/* Exempt from UBSan's null check, which would report and exit before the fault:
   the point is a real SIGSEGV, sanitizers or not. */
__attribute__((no_sanitize("null"))) static sw_status crash_run(sw_stage *stage, const void *config)
{
    sw_host_api->log(stage, SW_LOG_INFO, "crashing now");
    /* The pointer itself is volatile, so the compiler cannot see it is NULL and
       turn the access into a trap instruction (SIGILL) or drop it. */
    volatile int *volatile p = NULL;
    *p = 42;
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "crash",
    .version = "1.0.0",         .summary = "Dereferences a NULL pointer",
    .run = crash_run,
};

SW_PLUGIN(desc)
