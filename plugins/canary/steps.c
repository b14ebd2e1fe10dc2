/* steps.c - the canary's plan. */
#include "steps.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t sw_canary_duration(const char *t)
{
    if (!t || !*t)
        return -1;
    char *end;
    double v = strtod(t, &end);
    if (end == t || v < 0 || !isfinite(v))
        return -1;
    double mult = 1000;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return -1;
    return (int64_t)llround(v * mult);
}

static int64_t json_duration(const json_t *j)
{
    if (json_is_number(j))
        return json_number_value(j) < 0 ? -1 : (int64_t)llround(json_number_value(j) * 1000);
    return sw_canary_duration(json_string_value(j));
}

int sw_canary_plan_parse(const char *steps_json, int64_t default_hold_ms,
                         int64_t default_min_sessions, sw_canary_plan *plan, sw_err *err)
{
    plan->steps = NULL;
    plan->n = 0;
    json_t *a = steps_json ? json_loads(steps_json, JSON_DECODE_ANY, NULL) : NULL;
    if (!json_is_array(a) || json_array_size(a) == 0) {
        json_decref(a);
        return sw_err_set(err, "steps must be a non-empty list of weights or of "
                               "{weight, hold, shadow, rules, min_sessions, evidence_wait}");
    }
    plan->steps = sw_xcalloc(json_array_size(a), sizeof *plan->steps);
    size_t i;
    json_t *v;
    double last = 0;
    json_array_foreach(a, i, v)
    {
        sw_canary_step *s = &plan->steps[plan->n++];
        *s = (sw_canary_step){.hold_ms = default_hold_ms,
                              .shadow = -1,
                              .min_sessions = default_min_sessions,
                              .evidence_wait_ms = -1};
        if (json_is_number(v)) {
            s->weight = json_number_value(v);
        } else if (json_is_object(v)) {
            const char *key;
            json_t *x;
            json_object_foreach(v, key, x)
            {
                if (strcmp(key, "weight") == 0 && json_is_number(x))
                    s->weight = json_number_value(x);
                else if (strcmp(key, "hold") == 0 && json_duration(x) >= 0)
                    s->hold_ms = json_duration(x);
                else if (strcmp(key, "shadow") == 0 && json_is_number(x) &&
                         json_number_value(x) >= 0 && json_number_value(x) <= 100)
                    s->shadow = json_number_value(x);
                else if (strcmp(key, "rules") == 0 && json_is_array(x))
                    s->rules = json_dumps(x, JSON_COMPACT);
                else if (strcmp(key, "min_sessions") == 0 && json_is_integer(x) &&
                         json_integer_value(x) >= 0)
                    s->min_sessions = json_integer_value(x);
                else if (strcmp(key, "evidence_wait") == 0 && json_duration(x) >= 0)
                    s->evidence_wait_ms = json_duration(x);
                else {
                    sw_err_set(err,
                               "steps[%zu]: bad or unknown key '%s' (weight, hold, shadow, "
                               "rules, min_sessions, evidence_wait)",
                               i, key);
                    goto bad;
                }
            }
        } else {
            sw_err_set(err, "steps[%zu]: expected a weight or an object", i);
            goto bad;
        }
        if (!(s->weight >= 0 && s->weight <= 100)) {
            sw_err_set(err, "steps[%zu]: weight %g is not in [0, 100]", i, s->weight);
            goto bad;
        }
        if (s->weight < last) {
            sw_err_set(err,
                       "steps[%zu]: weight %g is below the step before (%g): a canary only "
                       "ramps up",
                       i, s->weight, last);
            goto bad;
        }
        last = s->weight;
    }
    json_decref(a);
    return 0;
bad:
    json_decref(a);
    sw_canary_plan_free(plan);
    return -1;
}

void sw_canary_plan_free(sw_canary_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++)
        free(plan->steps[i].rules);
    free(plan->steps);
    plan->steps = NULL;
    plan->n = 0;
}

size_t sw_canary_resume_index(const sw_canary_plan *plan, double current)
{
    if (current <= 0)
        return 0;
    size_t i = 0;
    while (i < plan->n && plan->steps[i].weight < current)
        i++;
    return i;
}

/* What was read, for a message: at most 80 bytes, control characters shown as '.'. */
static char *quote(const char *body, size_t len)
{
    if (!body || len == 0)
        return sw_xstrdup("an empty body");
    size_t n = len < 80 ? len : 80;
    char *q = sw_xmalloc(n + 8);
    size_t k = 0;
    q[k++] = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)body[i];
        q[k++] = ch < 0x20 || ch == 0x7f ? '.' : (char)ch;
    }
    q[k++] = '\'';
    if (n < len) {
        memcpy(q + k, "...", 3);
        k += 3;
    }
    q[k] = '\0';
    return q;
}

/* The "reason" of a JSON answer, or NULL. */
static char *reason_of(const json_t *j)
{
    const char *r = json_string_value(json_object_get(j, "reason"));
    return r && *r ? sw_xstrdup(r) : NULL;
}

sw_canary_approval sw_canary_approval_read(long status, const char *body, size_t len, char **why)
{
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    sw_canary_approval a;
    if (status == 200) {
        const json_t *ok = json_object_get(j, "approved");
        if (json_is_true(ok)) {
            a = SW_CANARY_APPROVED;
            *why = sw_xstrdup("approved");
        } else if (json_is_false(ok)) {
            a = SW_CANARY_REJECTED;
            *why = reason_of(j);
            if (!*why)
                *why = sw_xstrdup("rejected (no reason given)");
        } else {
            a = SW_CANARY_BAD;
            char *q = quote(body, len);
            *why = sw_xasprintf("HTTP 200 but not a JSON object with a boolean \"approved\": "
                                "read %s",
                                q);
            free(q);
        }
    } else if (status == 403) {
        a = SW_CANARY_REJECTED;
        char *r = reason_of(j);
        *why = r ? r : sw_xstrdup("HTTP 403");
    } else if (status == 404 || status == 408 || status == 429 || (status >= 500 && status < 600)) {
        a = SW_CANARY_PENDING;
        *why = sw_xasprintf("HTTP %ld", status);
    } else {
        a = SW_CANARY_BAD;
        char *q = quote(body, len);
        *why = sw_xasprintf("unexpected HTTP %ld: read %s", status, q);
        free(q);
    }
    json_decref(j);
    return a;
}

sw_canary_hold_action sw_canary_hold_decide(int hold, int64_t waited_ms, int64_t hold_max_ms)
{
    if (hold != 1)
        return SW_CANARY_GO;
    return waited_ms >= hold_max_ms ? SW_CANARY_GIVE_UP : SW_CANARY_WAIT;
}

int64_t sw_canary_extension(int64_t at_start, int64_t now)
{
    if (now < 0)
        return 0;
    if (at_start < 0)
        at_start = 0;
    return now > at_start ? now - at_start : 0;
}

int64_t sw_canary_hold_left(int64_t hold_ms, int64_t held_ms, int64_t extension_ms,
                            int64_t max_extension_ms)
{
    if (extension_ms < 0)
        extension_ms = 0;
    if (max_extension_ms >= 0 && extension_ms > max_extension_ms)
        extension_ms = max_extension_ms;
    int64_t left = hold_ms + extension_ms - held_ms;
    return left > 0 ? left : 0;
}

sw_canary_evidence_action sw_canary_evidence_decide(const char *evidence, int64_t waited_ms,
                                                    int64_t wait_max_ms)
{
    /* Only "insufficient" waits: an absent output is no signal, as for hold. */
    if (!evidence || strcmp(evidence, "insufficient") != 0)
        return SW_CANARY_EVIDENCE_GO;
    return waited_ms >= wait_max_ms ? SW_CANARY_EVIDENCE_INCONCLUSIVE : SW_CANARY_EVIDENCE_WAIT;
}

int sw_canary_on_inconclusive_parse(const char *name, sw_canary_on_inconclusive *out)
{
    static const char *const names[] = {"hold", "rollback", "promote"};
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (sw_canary_on_inconclusive)i;
            return 0;
        }
    return -1;
}

int sw_canary_exposure_check(const sw_canary_plan *plan, int has_monitor, sw_err *err)
{
    if (!has_monitor)
        return sw_err_set(err, "needs monitor: the exposure is capped until the monitor's "
                               "evidence, and without one there is none");
    for (size_t i = 0; i < plan->n; i++) {
        if (plan->steps[i].weight <= 0)
            continue;
        if (plan->steps[i].weight >= 100)
            return sw_err_set(err,
                              "steps[%zu] is the first step above 0%% and sends every session to "
                              "the candidate: the monitor compares it with stable's traffic, so "
                              "it cannot have its evidence before everyone has seen the "
                              "candidate; put a smaller step first (e.g. steps: [10, 50, 100])",
                              i);
        return 0;
    }
    return 0;
}
