/*
 * stage.h - one stage instance, bound and called: what the runner does for
 * every stage and the test harness (harness.c) does for one, through the same
 * code so a stage behaves the same under both.
 */
#ifndef SW_RUN_STAGE_H
#define SW_RUN_STAGE_H

#include "run/run_impl.h"

/* Find the stage's plugin, copy its declared outputs and bind its `with:`
   against the run's context (under run->lock). *shown (may be NULL) receives
   the bound parameters as JSON, secrets masked. NULL with *reason (malloc'd)
   when the plugin is missing or a parameter does not bind. */
sw_stage *sw_stage_prepare(sw_run *run, const sw_stage_spec *spec, json_t **shown, char **reason);

/* Call init, run and fini on this thread. The status, normalized (init cannot
   fail a candidate, only error; a value that is not an sw_status is an error),
   is returned; st->reason says why when it is not SW_OK. */
sw_status sw_stage_call(sw_stage *st);

/* Free a prepared stage whose callbacks have returned, or never ran. */
void sw_stage_release(sw_stage *st);

#endif
