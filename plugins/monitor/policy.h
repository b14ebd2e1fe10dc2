/*
 * policy.h - what the monitor does about one look's verdicts, by each metric's
 * policy for `fail` and `inconclusive` (judge.h). Pure, unit-tested.
 *
 *   continue  report only.
 *   hold      the output `hold` is true while the metric has that outcome: the canary
 *             reading `<monitor>.hold` does not take its next step.
 *   extend    every look that ends with that outcome adds one interval to the output
 *             `extend_ms` (once per look, whatever the number of metrics), up to
 *             `max_extend`: the canary observes its current step that much longer.
 *   rollback  a `fail` fails the stage at once; an `inconclusive` fails it when
 *             `duration` ends with the metric still inconclusive.
 * A dry-run metric is judged and reported, never acted on.
 */
#ifndef SW_MONITOR_POLICY_H
#define SW_MONITOR_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"

typedef struct sw_policy_decision {
    int hold;          /* some metric under `hold` is failing or inconclusive */
    int hold_rule;     /* the first such rule, -1: none */
    int64_t extend_ms; /* the total extension after this look (capped) */
    int extended;      /* this look asked for more time */
    int breach;        /* the first rule whose `fail` rolls back now, -1: none */
    int end_rollback;  /* at the end: the first inconclusive rule under `rollback`, -1: none */
} sw_policy_decision;

/* The rule's policy for outcome v (SW_POLICY_CONTINUE for a pass or a dry run). */
sw_mon_policy sw_policy_for(const sw_metric_rule *rule, sw_verdict v, sw_mon_policy default_fail,
                            sw_mon_policy default_inconclusive);

/* Decide for one look: v[i] is rules[i]'s verdict; extend_ms the extension so far;
   at_end: `duration` (with its extension) is over. */
void sw_policy_decide(const sw_metric_rule *rules, const sw_verdict *v, size_t n,
                      sw_mon_policy default_fail, sw_mon_policy default_inconclusive,
                      int64_t interval_ms, int64_t extend_ms, int64_t max_extend_ms, int at_end,
                      sw_policy_decision *out);

#endif
