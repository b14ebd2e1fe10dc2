/*
 * isolate.h - `isolation: process`: a stage's callbacks run in a forked child.
 *
 * A plugin that crashes, leaks or hangs then costs only its stage: a crash is
 * a stage error (on_failure still runs), and a cancelled child that does not
 * stop is killed rather than abandoned. The child works on a copy of the run
 * (fork); what it does that the run must keep — outputs, logs, progress,
 * artifacts, its reason — travels to the parent as JSON lines on a pipe and is
 * applied there through the same host functions as in-process calls.
 */
#ifndef SW_RUN_ISOLATE_H
#define SW_RUN_ISOLATE_H

#include <jansson.h>

#include "run/run_impl.h"

/* Run init, run and fini of st in a child process; returns the stage's status
   (SW_ERROR with st->reason when the child crashed or was killed). */
sw_status sw_stage_call_isolated(sw_stage *st);

/* Inside a stage's child process: nonzero. Host functions then send what the
   parent must apply with sw_isolate_send instead of writing it themselves. */
int sw_isolate_in_child(void);
/* Send one message to the parent (takes the reference). */
void sw_isolate_send(json_t *message);

#endif
