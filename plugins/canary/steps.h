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
    double weight;            /* percent of new sessions to the candidate, 0..100 */
    int64_t hold_ms;          /* how long to hold it */
    double shadow;            /* percent of sessions mirrored to the candidate; < 0: leave as is */
    char *rules;              /* JSON array of targeting rules, or NULL */
    int64_t min_sessions;     /* sessions the candidate must have reached before the step is done */
    int64_t evidence_wait_ms; /* the longest, from the step's start, it waits for the monitor's
                                 evidence; < 0: the stage's evidence_wait */
} sw_canary_step;

typedef struct sw_canary_plan {
    sw_canary_step *steps;
    size_t n;
} sw_canary_plan;

/* A duration: a number of seconds, or "250ms", "1.5s", "2m", "1h". -1 when not one. */
int64_t sw_canary_duration(const char *text);

/*
 * Parse `steps` (JSON text): a list of weights, or of objects {weight, hold,
 * shadow, rules, min_sessions, evidence_wait}; a number or a missing key takes the
 * defaults (evidence_wait: -1, the caller's).
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

/* One answer of the approval URL (approve_url). */
typedef enum sw_canary_approval {
    SW_CANARY_APPROVED, /* 200 {"approved": true} */
    SW_CANARY_REJECTED, /* 200 {"approved": false, "reason"} or 403: fail at once */
    SW_CANARY_PENDING,  /* 404, 408, 429, 5xx: ask again later */
    SW_CANARY_BAD       /* anything else (a non-JSON 200, 401, ...): the stage errors */
} sw_canary_approval;

/* Classify an answer of the approval URL: HTTP status and body (len bytes, may be NULL).
   *why (malloc'd, never NULL) gets the rejection's reason, what is being waited for
   ("HTTP 404"), or what was wrong with the answer, quoting what was read. */
sw_canary_approval sw_canary_approval_read(long status, const char *body, size_t len, char **why);

/* The monitor's hold signal before a weight goes up. */
typedef enum sw_canary_hold_action {
    SW_CANARY_GO,     /* no hold (false, or no signal yet) */
    SW_CANARY_WAIT,   /* hold is true: wait and look again */
    SW_CANARY_GIVE_UP /* hold still true after hold_max: the stage fails */
} sw_canary_hold_action;

/* hold: 1 true, 0 false, -1 absent (the monitor has not said anything yet). */
sw_canary_hold_action sw_canary_hold_decide(int hold, int64_t waited_ms, int64_t hold_max_ms);

/* The growth of the monitor's extend_ms during a step: `at_start` read when the step
   began, `now` read since (-1: absent; an absent start counts as 0). Never negative:
   a counter that went down (a monitor that started over) extends nothing. */
int64_t sw_canary_extension(int64_t at_start, int64_t now);

/* How much longer a step holds after held_ms: its own hold_ms plus the extension
   asked for during the step, the extension capped at max_extension_ms. 0: done. */
int64_t sw_canary_hold_left(int64_t hold_ms, int64_t held_ms, int64_t extension_ms,
                            int64_t max_extension_ms);

/* The monitor's evidence after a step's hold: does the step end? */
typedef enum sw_canary_evidence_action {
    SW_CANARY_EVIDENCE_GO,          /* enough, none (no guarded metric), or no signal */
    SW_CANARY_EVIDENCE_WAIT,        /* insufficient: wait and look again */
    SW_CANARY_EVIDENCE_INCONCLUSIVE /* still insufficient after the step's evidence_wait */
} sw_canary_evidence_action;

/* evidence: the monitor's <id>.evidence, NULL when absent. */
sw_canary_evidence_action sw_canary_evidence_decide(const char *evidence, int64_t waited_ms,
                                                    int64_t wait_max_ms);

/* What an inconclusive step does (`on_inconclusive`). */
typedef enum sw_canary_on_inconclusive {
    SW_CANARY_INCONCLUSIVE_HOLD,     /* wait for a human (approve_file, approve_url) */
    SW_CANARY_INCONCLUSIVE_ROLLBACK, /* the stage fails: on_failure rolls back */
    SW_CANARY_INCONCLUSIVE_PROMOTE   /* go on, with a warning in the log and the report */
} sw_canary_on_inconclusive;

/* "hold", "rollback" or "promote"; -1 otherwise. */
int sw_canary_on_inconclusive_parse(const char *name, sw_canary_on_inconclusive *out);

/* Whether a plan can keep max_exposure: the cap holds until the monitor's evidence, so it
   needs a monitor, and the first step above 0% must leave stable traffic to compare with (the
   canary never leaves that step before the evidence, so every later step comes after it).
   -1 with err saying why not. */
int sw_canary_exposure_check(const sw_canary_plan *plan, int has_monitor, sw_err *err);

#endif
