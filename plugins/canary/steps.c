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
                               "{weight, hold, shadow, rules, min_sessions}");
    }
    plan->steps = sw_xcalloc(json_array_size(a), sizeof *plan->steps);
    size_t i;
    json_t *v;
    double last = 0;
    json_array_foreach(a, i, v)
    {
        sw_canary_step *s = &plan->steps[plan->n++];
        *s = (sw_canary_step){
            .hold_ms = default_hold_ms, .shadow = -1, .min_sessions = default_min_sessions};
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
                else {
                    sw_err_set(err,
                               "steps[%zu]: bad or unknown key '%s' (weight, hold, shadow, "
                               "rules, min_sessions)",
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
