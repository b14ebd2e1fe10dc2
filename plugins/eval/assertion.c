/* assertion.c - parsing assertions, negation, weights and a case's outcome. */
#include "assertion.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store/template.h"

static const ev_kind *const kinds[] = {
    &ev_kind_equals,        &ev_kind_contains,
    &ev_kind_icontains,     &ev_kind_contains_any,
    &ev_kind_contains_all,  &ev_kind_icontains_any,
    &ev_kind_icontains_all, &ev_kind_starts_with,
    &ev_kind_regex,         &ev_kind_is_json,
    &ev_kind_contains_json, &ev_kind_levenshtein,
    &ev_kind_finish_reason, &ev_kind_tool_call,
    &ev_kind_tool_sequence, &ev_kind_latency,
    &ev_kind_cost,          &ev_kind_llm_rubric,
    &ev_kind_lua,           &ev_kind_tool_call_count,
};

/* Other spellings accepted for carried-over datasets: name -> what it means. */
static const struct {
    const char *alias, *type;
} aliases[] = {{"tool-called", "tool-call"}, {"tool-not-called", "not-tool-call"}};
#define N_KINDS (sizeof kinds / sizeof *kinds)

const ev_kind *ev_kind_find(const char *name)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const char *const *ev_kind_names(void)
{
    static const char *names[N_KINDS + 1];
    if (!names[0])
        for (size_t i = 0; i < N_KINDS; i++)
            names[i] = kinds[i]->name;
    return names;
}

void ev_result_set(ev_aresult *r, ev_outcome o, double score, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(r->message);
    r->message = sw_xvasprintf(fmt, ap);
    va_end(ap);
    r->outcome = o;
    r->score = score < 0 ? 0 : score > 1 ? 1 : score;
}

char *ev_value_text(const json_t *v)
{
    if (json_is_string(v))
        return sw_xstrdup(json_string_value(v));
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *r = sw_xstrdup(t ? t : "");
    free(t);
    return r;
}

char *ev_excerpt(const char *text, size_t max)
{
    if (!text)
        return sw_xstrdup("");
    size_t len = strlen(text), cut = len;
    if (len > max) {
        cut = max;
        /* Never cut inside a UTF-8 sequence. */
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;
    }
    char *out = sw_xmalloc(cut + 4);
    for (size_t i = 0; i < cut; i++)
        out[i] = (text[i] == '\n' || text[i] == '\r' || text[i] == '\t') ? ' ' : text[i];
    strcpy(out + cut, cut < len ? "..." : "");
    return out;
}

int ev_has_placeholder(const char *s)
{
    const char *open = strstr(s, "{{");
    return open && strstr(open + 2, "}}") != NULL;
}

int ev_missing_var(const char *text, const json_t *vars, char *name, size_t size)
{
    for (const char *p = strstr(text, "{{"); p; p = strstr(p + 2, "{{")) {
        if (p > text && p[-1] == '\\')
            continue;
        const char *a = p + 2, *z = strstr(a, "}}");
        if (!z)
            return 0;
        while (a < z && *a == ' ')
            a++;
        while (z > a && z[-1] == ' ')
            z--;
        size_t n = (size_t)(z - a);
        char *key = sw_xstrndup(a, n);
        int missing = !json_object_get(vars, key);
        free(key);
        if (missing) {
            snprintf(name, size, "%.*s", (int)n, a);
            return 1;
        }
    }
    return 0;
}

/* Replace {{var}} in every string of v with the case's vars. New reference or NULL with err. */
static json_t *render(const json_t *v, const json_t *vars, sw_err *err)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!ev_has_placeholder(s))
            return json_incref((json_t *)v);
        char name[128];
        if (ev_missing_var(s, vars, name, sizeof name)) {
            sw_err_set(err, "'{{%s}}' has no value in the case's vars", name);
            return NULL;
        }
        sw_diags *d = sw_diags_new();
        char *out = sw_template_render(s, "assert", vars, NULL, d);
        if (!out) {
            const sw_diagnostic *first = sw_diags_count(d) ? sw_diags_at(d, 0) : NULL;
            sw_err_set(err, "value '%s': %s", s, first ? first->message : "bad placeholder");
            sw_diags_free(d);
            return NULL;
        }
        sw_diags_free(d);
        json_t *r = json_string(out);
        free(out);
        return r;
    }
    if (json_is_array(v)) {
        json_t *arr = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            json_t *y = render(x, vars, err);
            if (!y) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, y);
        }
        return arr;
    }
    if (json_is_object(v)) {
        json_t *obj = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            json_t *y = render(x, vars, err);
            if (!y) {
                json_decref(obj);
                return NULL;
            }
            json_object_set_new(obj, k, y);
        }
        return obj;
    }
    return json_incref((json_t *)v);
}

static const char *const spec_keys[] = {"type",   "value", "weight", "threshold", "config",
                                        "metric", "name",  "args",   "arguments"};
#define N_SPEC_KEYS (sizeof spec_keys / sizeof *spec_keys)

/* The value of a tool assertion written with `name` and `args` beside the type:
   tool-call -> {name, arguments}; tool-call-count -> {name, count}. New reference,
   NULL without those keys; NULL with err set when they are misused. */
static json_t *tool_shorthand(const ev_kind *k, const json_t *spec, const json_t *value,
                              const char *written, sw_err *err)
{
    json_t *name = json_object_get(spec, "name");
    json_t *args = json_object_get(spec, "args");
    if (!args)
        args = json_object_get(spec, "arguments");
    err->msg[0] = '\0';
    if (!name && !args)
        return NULL;
    if (!(k->flags & EV_K_TOOL_KEYS)) {
        sw_err_set(err, "%s: 'name' and 'args' belong to tool-call assertions", written);
        return NULL;
    }
    if (!json_is_string(name)) {
        sw_err_set(err, "%s: name must be a tool name", written);
        return NULL;
    }
    if (k == &ev_kind_tool_call) {
        if (value) {
            sw_err_set(err, "%s: give name and args, or a value, not both", written);
            return NULL;
        }
        json_t *v = json_pack("{s:O}", "name", name);
        if (args)
            json_object_set(v, "arguments", args);
        return v;
    }
    if (args) {
        sw_err_set(err, "%s: takes a name and a count (the value)", written);
        return NULL;
    }
    json_t *v = json_pack("{s:O}", "name", name);
    json_object_set_new(v, "count", value ? json_incref((json_t *)value) : json_integer(1));
    return v;
}

int ev_assert_parse(const json_t *spec, const json_t *vars, const json_t *expected,
                    const sw_origin *value_at, ev_assert *a, sw_err *err)
{
    memset(a, 0, sizeof *a);
    a->weight = 1;
    if (value_at)
        a->value_origin = *value_at;
    if (!json_is_object(spec))
        return sw_err_set(err, "an assertion must be a mapping with a type");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v)
    {
        size_t i = 0;
        while (i < N_SPEC_KEYS && strcmp(key, spec_keys[i]) != 0)
            i++;
        if (i < N_SPEC_KEYS)
            continue;
        const char *hint = sw_did_you_mean(key, spec_keys, N_SPEC_KEYS);
        if (hint)
            return sw_err_set(err, "assertion: unknown key '%s' (did you mean '%s'?)", key, hint);
        return sw_err_set(err, "assertion: unknown key '%s'", key);
    }
    const char *written = json_string_value(json_object_get(spec, "type"));
    if (!written)
        return sw_err_set(err, "assertion: 'type' is required (a string such as 'contains')");
    const char *type = written;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(type, aliases[i].alias) == 0)
            type = aliases[i].type;
    const char *base = type;
    int negate = 0;
    if (strncmp(type, "not-", 4) == 0) {
        base = type + 4;
        negate = 1;
    }
    const ev_kind *k = ev_kind_find(base);
    if (!k) {
        const char *hint = sw_did_you_mean(base, ev_kind_names(), N_KINDS);
        if (hint)
            return sw_err_set(err, "unknown assertion type '%s' (did you mean '%s%s'?)", written,
                              negate ? "not-" : "", hint);
        return sw_err_set(err, "unknown assertion type '%s'", written);
    }
    if (negate && !(k->flags & EV_K_NEGATABLE))
        return sw_err_set(err, "'%s' cannot be negated: its threshold already says which way",
                          written);

    json_t *w = json_object_get(spec, "weight");
    double weight = 1;
    if (w) {
        if (!json_is_number(w) || json_number_value(w) < 0 || !isfinite(json_number_value(w)))
            return sw_err_set(err, "%s: weight must be a number of at least 0", written);
        weight = json_number_value(w);
    }
    json_t *t = json_object_get(spec, "threshold");
    if (t && !json_is_null(t)) {
        if (!(k->flags & EV_K_THRESHOLD))
            return sw_err_set(err, "%s: threshold does not apply to this assertion", written);
        if (!json_is_number(t) || !isfinite(json_number_value(t)))
            return sw_err_set(err, "%s: threshold must be a number", written);
        a->has_threshold = 1;
        a->threshold = json_number_value(t);
    } else if (k->flags & EV_K_NEED_THR) {
        return sw_err_set(err, "%s: threshold is required", written);
    }
    json_t *config = json_object_get(spec, "config");
    if (config && !json_is_object(config) && !json_is_null(config))
        return sw_err_set(err, "%s: config must be a mapping", written);
    json_t *metric = json_object_get(spec, "metric");
    if (metric && !json_is_string(metric))
        return sw_err_set(err, "%s: metric must be a string", written);

    json_t *value = json_object_get(spec, "value");
    if (value && json_is_null(value))
        value = NULL;
    json_t *built = tool_shorthand(k, spec, value, written, err);
    if (!built && err->msg[0])
        return -1;
    if (built)
        value = built;
    if (!value && (k->flags & EV_K_EXPECTED))
        value = (json_t *)expected;
    if (!value && (k->flags & EV_K_VALUE))
        return sw_err_set(err, "%s: needs a value%s", written,
                          (k->flags & EV_K_EXPECTED) ? " (or the case's 'expected')" : "");

    a->kind = k;
    a->type = sw_xstrdup(written);
    a->negate = negate;
    a->weight = weight;
    a->config = config && json_is_object(config) ? json_incref(config) : NULL;
    a->metric = sw_xstrdup(json_string_value(metric));
    if (value) {
        a->value = render(value, vars, err);
        json_decref(built);
        if (!a->value) {
            sw_err_prefix(err, "%s: ", written);
            ev_assert_clear(a);
            return -1;
        }
    }
    if (k->prepare && k->prepare(a, err) < 0) {
        sw_err_prefix(err, "%s: ", written);
        ev_assert_clear(a);
        return -1;
    }
    return 0;
}

void ev_assert_clear(ev_assert *a)
{
    if (a->kind && a->kind->release)
        a->kind->release(a);
    free(a->type);
    free(a->metric);
    json_decref(a->value);
    json_decref(a->config);
    memset(a, 0, sizeof *a);
}

void ev_assert_negate(const ev_assert *a, ev_aresult *r)
{
    if (!a->negate || r->outcome == EV_ERROR)
        return;
    /* Messages state facts ("output contains 'x'"), which explain the negated
       outcome as well as the plain one. */
    r->outcome = r->outcome == EV_PASS ? EV_FAIL : EV_PASS;
    r->score = 1 - r->score;
}

void ev_assert_eval(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    memset(r, 0, sizeof *r);
    if (!a->kind->eval) {
        ev_result_set(r, EV_ERROR, 0, "%s is graded by the judge", a->type);
        return;
    }
    a->kind->eval(a, s, r);
    if (!r->message)
        r->message = sw_xstrdup("");
    ev_assert_negate(a, r);
}

void ev_aresult_clear(ev_aresult *r)
{
    free(r->message);
    memset(r, 0, sizeof *r);
}

ev_outcome ev_case_outcome(const ev_assert *as, const ev_aresult *rs, size_t n, int has_threshold,
                           double threshold, double *score)
{
    double wsum = 0, ssum = 0;
    int failed = 0, errored = 0;
    for (size_t i = 0; i < n; i++) {
        if (as[i].weight <= 0)
            continue;
        if (rs[i].outcome == EV_ERROR) {
            errored = 1;
            continue;
        }
        if (rs[i].outcome == EV_FAIL)
            failed = 1;
        wsum += as[i].weight;
        ssum += as[i].weight * rs[i].score;
    }
    *score = wsum > 0 ? ssum / wsum : (errored ? 0 : 1);
    if (errored)
        return EV_ERROR;
    if (has_threshold)
        return *score >= threshold ? EV_PASS : EV_FAIL;
    return failed ? EV_FAIL : EV_PASS;
}
