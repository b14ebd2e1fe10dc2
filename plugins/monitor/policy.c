/* policy.c - per-metric policies for fail and inconclusive outcomes. */
#include "policy.h"

sw_mon_policy sw_policy_for(const sw_metric_rule *r, sw_verdict v, sw_mon_policy default_fail,
                            sw_mon_policy default_inconclusive)
{
    if (v == SW_VERDICT_PASS || r->dry_run)
        return SW_POLICY_CONTINUE;
    sw_mon_policy p = v == SW_VERDICT_FAIL ? r->on_fail : r->on_inconclusive;
    if (p == SW_POLICY_DEFAULT)
        p = v == SW_VERDICT_FAIL ? default_fail : default_inconclusive;
    return p == SW_POLICY_DEFAULT ? SW_POLICY_CONTINUE : p;
}

void sw_policy_decide(const sw_metric_rule *rules, const sw_verdict *v, size_t n,
                      sw_mon_policy default_fail, sw_mon_policy default_inconclusive,
                      int64_t interval_ms, int64_t extend_ms, int64_t max_extend_ms, int at_end,
                      sw_policy_decision *out)
{
    *out = (sw_policy_decision){.hold_rule = -1, .breach = -1, .end_rollback = -1};
    int extend = 0;
    for (size_t i = 0; i < n; i++) {
        sw_mon_policy p = sw_policy_for(&rules[i], v[i], default_fail, default_inconclusive);
        if (p == SW_POLICY_HOLD && !out->hold) {
            out->hold = 1;
            out->hold_rule = (int)i;
        } else if (p == SW_POLICY_EXTEND) {
            extend = 1;
        } else if (p == SW_POLICY_ROLLBACK && v[i] == SW_VERDICT_FAIL && out->breach < 0) {
            out->breach = (int)i;
        } else if (p == SW_POLICY_ROLLBACK && at_end && out->end_rollback < 0) {
            out->end_rollback = (int)i;
        }
    }
    out->extend_ms = extend_ms < 0 ? 0 : extend_ms;
    if (extend && out->extend_ms < max_extend_ms) {
        out->extend_ms += interval_ms;
        if (out->extend_ms > max_extend_ms)
            out->extend_ms = max_extend_ms;
        out->extended = 1;
    }
}
