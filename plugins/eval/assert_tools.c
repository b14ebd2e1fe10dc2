/*
 * assert_tools.c - how the agent ended and which tools it called:
 * finish-reason, tool-call (a call by name, its arguments matched as a JSON
 * subset), tool-call-count (how many calls of a tool) and tool-sequence
 * (the names in order; exact, ordered or set, scored by F1 over the names).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"

/* ---- finish-reason ---- */

static int prepare_string(ev_assert *a, sw_err *err)
{
    if (!json_is_string(a->value))
        return sw_err_set(err, "value must be a string");
    return 0;
}

static void eval_finish_reason(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *want = json_string_value(a->value);
    const char *got = s->out && s->out->finish_reason ? s->out->finish_reason : "(none)";
    if (strcmp(got, want) == 0)
        ev_result_set(r, EV_PASS, 1, "finish reason is '%s'", got);
    else
        ev_result_set(r, EV_FAIL, 0, "finish reason is '%s', not '%s'", got, want);
}

const ev_kind ev_kind_finish_reason = {"finish-reason", EV_K_NEGATABLE | EV_K_VALUE, prepare_string,
                                       eval_finish_reason, NULL};

/* ---- JSON subset ---- */

/* 1 when every member of want is in got with a matching value (numbers by
   value, arrays element by element, same length). Fills where on mismatch. */
static int subset(const json_t *want, const json_t *got, const char *path, sw_buf *where)
{
    if (json_is_number(want) && json_is_number(got)) {
        if (json_number_value(want) == json_number_value(got))
            return 1;
    } else if (json_is_object(want)) {
        if (json_is_object(got)) {
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)want, k, v)
            {
                char *sub = sw_xasprintf("%s.%s", path, k);
                json_t *g = json_object_get(got, k);
                int ok = g ? subset(v, g, sub, where) : 0;
                if (!g)
                    sw_buf_printf(where, "%s is missing", sub);
                free(sub);
                if (!ok)
                    return 0;
            }
            return 1;
        }
    } else if (json_is_array(want)) {
        if (json_is_array(got) && json_array_size(got) == json_array_size(want)) {
            for (size_t i = 0; i < json_array_size(want); i++) {
                char *sub = sw_xasprintf("%s[%zu]", path, i);
                int ok = subset(json_array_get(want, i), json_array_get(got, i), sub, where);
                free(sub);
                if (!ok)
                    return 0;
            }
            return 1;
        }
    } else if (json_equal((json_t *)want, (json_t *)got)) {
        return 1;
    }
    if (!where->len) {
        char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY),
             *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        sw_buf_printf(where, "%s is %s, expected %s", path, g, w);
        free(w);
        free(g);
    }
    return 0;
}

/* A call's expectation: a name, or {name, arguments}. */
static int spec_of(const json_t *v, const char **name, const json_t **args, sw_err *err)
{
    if (json_is_string(v)) {
        *name = json_string_value(v);
        *args = NULL;
        return 0;
    }
    if (!json_is_object(v))
        return sw_err_set(err, "a tool call is a name or {name, arguments}");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        if (strcmp(k, "name") != 0 && strcmp(k, "arguments") != 0)
            return sw_err_set(err, "a tool call has name and arguments, not '%s'", k);
    }
    *name = json_string_value(json_object_get(v, "name"));
    *args = json_object_get(v, "arguments");
    if (!*name)
        return sw_err_set(err, "a tool call needs a name");
    if (*args && !json_is_object(*args))
        return sw_err_set(err, "a tool call's arguments must be a mapping");
    return 0;
}

/* Whether call c fits (name, args); when only the arguments differ, why goes to where. */
static int call_fits(const ev_call *c, const char *name, const json_t *args, sw_buf *where)
{
    if (strcmp(c->name, name) != 0)
        return 0;
    if (!args)
        return 1;
    if (!c->args) {
        sw_buf_printf(where, "arguments are not a JSON object: %s", c->arguments);
        return 0;
    }
    return subset(args, c->args, "arguments", where);
}

/* ---- tool-call ---- */

static int prepare_tool_call(ev_assert *a, sw_err *err)
{
    const char *name;
    const json_t *args;
    return spec_of(a->value, &name, &args, err);
}

static void eval_tool_call(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *name;
    const json_t *args;
    sw_err err;
    spec_of(a->value, &name, &args, &err);
    sw_buf why = {0};
    size_t named = 0;
    for (size_t i = 0; s->out && i < s->out->n_calls; i++) {
        sw_buf w = {0};
        if (call_fits(&s->out->calls[i], name, args, &w)) {
            ev_result_set(r, EV_PASS, 1, "called '%s'%s", name,
                          args ? " with matching arguments" : "");
            sw_buf_free(&w);
            sw_buf_free(&why);
            return;
        }
        if (strcmp(s->out->calls[i].name, name) == 0 && named++ == 0)
            sw_buf_puts(&why, w.data ? w.data : "");
        sw_buf_free(&w);
    }
    if (named)
        ev_result_set(r, EV_FAIL, 0, "called '%s' %zu time(s), never with matching arguments: %s",
                      name, named, why.data ? why.data : "");
    else
        ev_result_set(r, EV_FAIL, 0, "never called '%s'", name);
    sw_buf_free(&why);
}

const ev_kind ev_kind_tool_call = {"tool-call", EV_K_NEGATABLE | EV_K_VALUE | EV_K_TOOL_KEYS,
                                   prepare_tool_call, eval_tool_call, NULL};

/* ---- tool-call-count ---- */

static int prepare_count(ev_assert *a, sw_err *err)
{
    json_t *count = json_object_get(a->value, "count");
    if (!json_is_object(a->value) || !json_is_string(json_object_get(a->value, "name")) ||
        !json_is_integer(count) || json_integer_value(count) < 0)
        return sw_err_set(err, "needs a tool name and a count: {name, count}, or name: and "
                               "value: N");
    return 0;
}

static void eval_count(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *name = json_string_value(json_object_get(a->value, "name"));
    json_int_t want = json_integer_value(json_object_get(a->value, "count"));
    json_int_t got = 0;
    for (size_t i = 0; s->out && i < s->out->n_calls; i++)
        got += strcmp(s->out->calls[i].name, name) == 0;
    if (got == want)
        ev_result_set(r, EV_PASS, 1, "called '%s' %lld time(s)", name, (long long)got);
    else
        ev_result_set(r, EV_FAIL, 0, "called '%s' %lld time(s), expected %lld", name,
                      (long long)got, (long long)want);
}

const ev_kind ev_kind_tool_call_count = {"tool-call-count",
                                         EV_K_NEGATABLE | EV_K_VALUE | EV_K_TOOL_KEYS,
                                         prepare_count, eval_count, NULL};

/* ---- tool-sequence ---- */

typedef enum seq_mode { SEQ_EXACT, SEQ_ORDERED, SEQ_SET, SEQ_F1 } seq_mode;

static int prepare_sequence(ev_assert *a, sw_err *err)
{
    if (!json_is_array(a->value))
        return sw_err_set(err, "value must be a list of tool names (or {name, arguments})");
    size_t i;
    json_t *v;
    json_array_foreach(a->value, i, v)
    {
        const char *name;
        const json_t *args;
        if (spec_of(v, &name, &args, err) < 0)
            return sw_err_prefix(err, "value[%zu]: ", i);
    }
    const char *mode = json_string_value(json_object_get(a->config, "mode"));
    json_t *mv = json_object_get(a->config, "mode");
    if (mv && !mode)
        return sw_err_set(err, "config.mode must be exact, ordered or set");
    seq_mode m = SEQ_EXACT;
    if (mode && strcmp(mode, "ordered") == 0)
        m = SEQ_ORDERED;
    else if (mode && strcmp(mode, "set") == 0)
        m = SEQ_SET;
    else if (mode && strcmp(mode, "exact") != 0)
        return sw_err_set(err, "config.mode '%s': expected exact, ordered or set", mode);
    if (a->has_threshold) {
        if (mode)
            return sw_err_set(err, "give config.mode or a threshold on the F1 score, not both");
        if (a->threshold < 0 || a->threshold > 1)
            return sw_err_set(err, "threshold is an F1 score in [0, 1]");
        m = SEQ_F1;
    }
    a->priv = sw_xmalloc(sizeof(seq_mode));
    *(seq_mode *)a->priv = m;
    return 0;
}

static void release_sequence(ev_assert *a)
{
    free(a->priv);
    a->priv = NULL;
}

static double f1(const json_t *want, const ev_output *o)
{
    size_t nw = json_array_size(want), ng = o ? o->n_calls : 0;
    if (nw == 0 && ng == 0)
        return 1;
    if (nw == 0 || ng == 0)
        return 0;
    /* Multiset intersection: each expected name consumes one unused call of that name. */
    char *used = sw_xcalloc(ng, 1);
    size_t tp = 0;
    for (size_t i = 0; i < nw; i++) {
        const char *name;
        const json_t *args;
        sw_err err;
        spec_of(json_array_get(want, i), &name, &args, &err);
        for (size_t k = 0; k < ng; k++)
            if (!used[k] && strcmp(o->calls[k].name, name) == 0) {
                used[k] = 1;
                tp++;
                break;
            }
    }
    free(used);
    double p = (double)tp / (double)ng, rc = (double)tp / (double)nw;
    return tp ? 2 * p * rc / (p + rc) : 0;
}

static int fits_at(const json_t *spec, const ev_call *c)
{
    const char *name;
    const json_t *args;
    sw_err err;
    spec_of(spec, &name, &args, &err);
    sw_buf w = {0};
    int ok = call_fits(c, name, args, &w);
    sw_buf_free(&w);
    return ok;
}

static int in_set(const char *name, const json_t *want)
{
    for (size_t i = 0; i < json_array_size(want); i++) {
        const char *n;
        const json_t *args;
        sw_err err;
        spec_of(json_array_get(want, i), &n, &args, &err);
        if (strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static void eval_sequence(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const ev_output *o = s->out;
    size_t nw = json_array_size(a->value), ng = o ? o->n_calls : 0;
    seq_mode m = *(const seq_mode *)a->priv;
    double score = f1(a->value, o);
    int ok = 0;
    const char *how = "";
    switch (m) {
    case SEQ_EXACT:
        ok = nw == ng;
        for (size_t i = 0; ok && i < nw; i++)
            ok = fits_at(json_array_get(a->value, i), &o->calls[i]);
        how = "exactly";
        break;
    case SEQ_ORDERED: {
        size_t i = 0;
        for (size_t k = 0; i < nw && k < ng; k++)
            if (fits_at(json_array_get(a->value, i), &o->calls[k]))
                i++;
        ok = i == nw;
        how = "in order";
        break;
    }
    case SEQ_SET:
        ok = 1;
        for (size_t k = 0; ok && k < ng; k++)
            ok = in_set(o->calls[k].name, a->value);
        for (size_t i = 0; ok && i < nw; i++) {
            int seen = 0;
            for (size_t k = 0; !seen && k < ng; k++)
                seen = fits_at(json_array_get(a->value, i), &o->calls[k]);
            ok = seen;
        }
        how = "as a set";
        break;
    case SEQ_F1:
        ok = score >= a->threshold;
        break;
    }
    sw_buf got = {0};
    for (size_t k = 0; k < ng; k++)
        sw_buf_printf(&got, "%s%s", k ? ", " : "", o->calls[k].name);
    char *want = ev_value_text(a->value);
    if (m == SEQ_F1)
        ev_result_set(r, ok ? EV_PASS : EV_FAIL, score, "tool F1 %.3f %s %g (calls: [%s])", score,
                      ok ? ">=" : "<", a->threshold, got.data ? got.data : "");
    else if (ok)
        ev_result_set(r, EV_PASS, score, "tool calls match %s %s (F1 %.3f)", want, how, score);
    else
        ev_result_set(r, EV_FAIL, score, "tool calls [%s] do not match %s %s (F1 %.3f)",
                      got.data ? got.data : "", want, how, score);
    free(want);
    sw_buf_free(&got);
}

const ev_kind ev_kind_tool_sequence = {"tool-sequence",
                                       EV_K_NEGATABLE | EV_K_VALUE | EV_K_THRESHOLD,
                                       prepare_sequence, eval_sequence, release_sequence};
