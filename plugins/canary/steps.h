/*
 * steps.h - the canary's plan: `steps:` parsed and checked, with no I/O, so it
 * is unit-tested on its own.
 */
#ifndef SW_CANARY_STEPS_H
#define SW_CANARY_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef struct sw_canary_step {
    double weight;        /* percent of new sessions to the candidate, 0..100 */
    int64_t hold_ms;      /* how long to hold it */
    double shadow;        /* percent of sessions mirrored to the candidate; < 0: leave as is */
    char *rules;          /* JSON array of targeting rules, or NULL */
    int64_t min_sessions; /* sessions the candidate must have reached before the step is done */
} sw_canary_step;

typedef struct sw_canary_plan {
    sw_canary_step *steps;
    size_t n;
} sw_canary_plan;

/* A duration: a number of seconds, or "250ms", "1.5s", "2m", "1h". -1 when not one. */
int64_t sw_canary_duration(const char *text);

/*
 * Parse `steps` (JSON text): a list of weights, or of objects {weight, hold,
 * shadow, rules, min_sessions}; a number or a missing key takes the defaults.
 * Weights must be in [0, 100] and never go down (a ramp only adds sessions); a
 * shadow step has weight 0. -1 with the reason in err.
 */
int sw_canary_plan_parse(const char *steps_json, int64_t default_hold_ms,
                         int64_t default_min_sessions, sw_canary_plan *plan, sw_err *err);
void sw_canary_plan_free(sw_canary_plan *plan);

/* The first step to run when the route already sends `current` percent to this
   candidate (a resumed run): steps below it are done, the one equal to it is
   held again. 0 when current is 0. */
size_t sw_canary_resume_index(const sw_canary_plan *plan, double current);

#endif
