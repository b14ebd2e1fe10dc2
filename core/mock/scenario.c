/* scenario.c - parsing and validating a mock scenario file. */
#include "scenario.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/regex.h"
#include "model/pipeline.h"
#include "model/yamldoc.h"
#include "tmpl.h"

#define MAX_SCENARIO_BYTES       (8u * 1024u * 1024u)
#define MAX_LATENCY_MS           3600e3 /* an hour: anything longer is a typo */
#define DEFAULT_LOGNORMAL_MAX_MS 60e3
#define DEFAULT_STALL_MS         30000
#define DEFAULT_CHUNK_BYTES      16
#define MAX_SCALE                1000.0 /* of a modifier: anything larger is a typo */

static const char *const judge_defaults[] = {"judge", "grader", "grading"};

typedef struct chk {
    const sw_ydoc *doc;
    sw_diags *d;
    int errors;
} chk;

static void bad(chk *c, const sw_ynode *n, const char *fmt, ...) SW_PRINTF(3, 4);

static void bad(chk *c, const sw_ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_diag_error(c->d, sw_ynode_pos(c->doc, n), "%s", msg);
    free(msg);
    c->errors++;
}

static void check_keys(chk *c, const sw_ynode *map, const char *const *known, size_t n,
                       const char *where)
{
    char *prefix = sw_xasprintf("%s: ", where);
    c->errors += sw_ynode_check_keys(c->doc, map, known, n, prefix, c->d);
    free(prefix);
}

#define NKEYS(a) (sizeof(a) / sizeof *(a))

static int want_map(chk *c, const sw_ynode *n, const char *where)
{
    if (n->kind == SW_YAML_MAP)
        return 1;
    bad(c, n, "%s must be a mapping, found %s", where, sw_ynode_describe(n));
    return 0;
}

/* A non-null scalar's text, else an error. */
static const char *want_string(chk *c, const sw_ynode *n, const char *where)
{
    if (n->kind == SW_YAML_SCALAR && !sw_ynode_is_null(n))
        return n->text;
    bad(c, n, "%s must be a string, found %s", where, sw_ynode_describe(n));
    return NULL;
}

static int want_bool(chk *c, const sw_ynode *n, const char *where, int *out)
{
    sw_value v;
    sw_err err;
    if (n->kind == SW_YAML_SCALAR && sw_yaml_scalar_value(n, &v, &err) == 0) {
        int ok = v.type == SW_TYPE_BOOL;
        if (ok)
            *out = v.as.b;
        sw_value_free(&v);
        if (ok)
            return 1;
    }
    bad(c, n, "%s must be true or false, found %s%s%s", where, n->kind == SW_YAML_SCALAR ? "'" : "",
        n->kind == SW_YAML_SCALAR ? n->text : sw_ynode_describe(n),
        n->kind == SW_YAML_SCALAR ? "'" : "");
    return 0;
}

static int want_int(chk *c, const sw_ynode *n, const char *where, int64_t lo, int64_t hi,
                    int64_t *out)
{
    sw_value v;
    sw_err err;
    if (n->kind == SW_YAML_SCALAR && sw_yaml_scalar_value(n, &v, &err) == 0) {
        int ok = v.type == SW_TYPE_INT;
        int64_t i = ok ? v.as.i : 0;
        sw_value_free(&v);
        if (ok && i >= lo && i <= hi) {
            *out = i;
            return 1;
        }
        if (ok) {
            bad(c, n, "%s must be between %lld and %lld, found %lld", where, (long long)lo,
                (long long)hi, (long long)i);
            return 0;
        }
    }
    bad(c, n, "%s must be an integer, found %s%s%s", where, n->kind == SW_YAML_SCALAR ? "'" : "",
        n->kind == SW_YAML_SCALAR ? n->text : sw_ynode_describe(n),
        n->kind == SW_YAML_SCALAR ? "'" : "");
    return 0;
}

static int want_number(chk *c, const sw_ynode *n, const char *where, double *out)
{
    sw_value v;
    sw_err err;
    if (n->kind == SW_YAML_SCALAR && sw_yaml_scalar_value(n, &v, &err) == 0) {
        int ok = v.type == SW_TYPE_INT || v.type == SW_TYPE_DOUBLE;
        double x = v.type == SW_TYPE_INT ? (double)v.as.i : v.type == SW_TYPE_DOUBLE ? v.as.d : 0;
        sw_value_free(&v);
        if (ok && isfinite(x)) {
            *out = x;
            return 1;
        }
    }
    bad(c, n, "%s must be a number, found %s%s%s", where, n->kind == SW_YAML_SCALAR ? "'" : "",
        n->kind == SW_YAML_SCALAR ? n->text : sw_ynode_describe(n),
        n->kind == SW_YAML_SCALAR ? "'" : "");
    return 0;
}

/* A duration ("20ms", "1.5s", a bare number of seconds) in milliseconds. */
static int want_duration(chk *c, const sw_ynode *n, const char *where, double *ms)
{
    if (n->kind != SW_YAML_SCALAR || sw_ynode_is_null(n)) {
        bad(c, n, "%s must be a duration (e.g. 20ms), found %s", where, sw_ynode_describe(n));
        return 0;
    }
    int64_t v;
    sw_err err;
    if (sw_parse_duration(n->text, &v, &err) < 0) {
        bad(c, n, "%s: %s", where, err.msg);
        return 0;
    }
    if (v < 0) {
        bad(c, n, "%s cannot be negative, found '%s'", where, n->text);
        return 0;
    }
    if ((double)v > MAX_LATENCY_MS) {
        bad(c, n, "%s of '%s' is longer than an hour", where, n->text);
        return 0;
    }
    *ms = (double)v;
    return 1;
}

/* latency: 20ms | {fixed: 20ms} | {uniform: [10ms, 50ms]} | {lognormal: {median, sigma, max}} */
static int parse_latency(chk *c, const sw_ynode *n, const char *where, sw_mock_latency *out)
{
    static const char *const kinds[] = {"fixed", "uniform", "lognormal"};
    if (n->kind == SW_YAML_SCALAR) {
        out->kind = SW_MOCK_LAT_FIXED;
        return want_duration(c, n, where, &out->a);
    }
    if (n->kind != SW_YAML_MAP || n->n != 1) {
        bad(c, n,
            "%s must be a duration (20ms) or a mapping with one of fixed, uniform, lognormal, "
            "found %s",
            where,
            n->kind == SW_YAML_MAP ? "a mapping with more than one key" : sw_ynode_describe(n));
        return 0;
    }
    check_keys(c, n, kinds, NKEYS(kinds), where);
    const char *k = n->keys[0]->text;
    const sw_ynode *v = n->items[0];
    char *sub = sw_xasprintf("%s.%s", where, k);
    int ok = 0;
    if (strcmp(k, "fixed") == 0) {
        out->kind = SW_MOCK_LAT_FIXED;
        ok = want_duration(c, v, sub, &out->a);
    } else if (strcmp(k, "uniform") == 0) {
        out->kind = SW_MOCK_LAT_UNIFORM;
        if (v->kind != SW_YAML_SEQ || v->n != 2) {
            bad(c, v, "%s must be a sequence of two durations [low, high], found %s", sub,
                v->kind == SW_YAML_SEQ ? "another length" : sw_ynode_describe(v));
        } else if (want_duration(c, v->items[0], sub, &out->a) &&
                   want_duration(c, v->items[1], sub, &out->b)) {
            ok = out->a <= out->b;
            if (!ok)
                bad(c, v, "%s: low (%s) is above high (%s)", sub, v->items[0]->text,
                    v->items[1]->text);
        }
    } else if (strcmp(k, "lognormal") == 0) {
        static const char *const keys[] = {"median", "sigma", "max"};
        out->kind = SW_MOCK_LAT_LOGNORMAL;
        out->max = DEFAULT_LOGNORMAL_MAX_MS;
        if (want_map(c, v, sub)) {
            check_keys(c, v, keys, NKEYS(keys), sub);
            const sw_ynode *median = sw_ynode_get(v, "median");
            const sw_ynode *sigma = sw_ynode_get(v, "sigma");
            const sw_ynode *max = sw_ynode_get(v, "max");
            ok = 1;
            if (!median || !sigma) {
                bad(c, v, "%s needs median and sigma", sub);
                ok = 0;
            }
            if (median && !want_duration(c, median, sub, &out->a))
                ok = 0;
            else if (median && out->a <= 0) {
                bad(c, median, "%s: median must be positive", sub);
                ok = 0;
            }
            if (sigma && !want_number(c, sigma, sub, &out->b))
                ok = 0;
            else if (sigma && (out->b < 0 || out->b > 10)) {
                bad(c, sigma, "%s: sigma must be between 0 and 10, found %s", sub, sigma->text);
                ok = 0;
            }
            if (max && !want_duration(c, max, sub, &out->max))
                ok = 0;
        }
    }
    free(sub);
    return ok;
}

static int fault_kind(const char *s, sw_mock_fault_kind *out)
{
    for (int k = 0; k < SW_MOCK_FAULT_KINDS; k++)
        if (strcmp(s, sw_mock_fault_name((sw_mock_fault_kind)k)) == 0) {
            *out = (sw_mock_fault_kind)k;
            return 1;
        }
    return 0;
}

const char *sw_mock_fault_name(sw_mock_fault_kind kind)
{
    static const char *const names[] = {"429", "500", "503", "drop", "stall"};
    return kind < SW_MOCK_FAULT_KINDS ? names[kind] : "?";
}

static void free_faults(sw_mock_fault *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].message);
    free(f);
}

/* errors: [{kind, rate, retry_after, message, for}] */
static int parse_faults(chk *c, const sw_ynode *n, sw_mock_fault **out, size_t *n_out)
{
    static const char *const keys[] = {"kind", "rate", "retry_after", "message", "for"};
    static const char *const kinds[] = {"429", "500", "503", "drop", "stall"};
    if (n->kind != SW_YAML_SEQ) {
        bad(c, n, "'errors' must be a sequence of {kind, rate}, found %s", sw_ynode_describe(n));
        return 0;
    }
    int before = c->errors;
    sw_mock_fault *f = sw_xcalloc(n->n ? n->n : 1, sizeof *f);
    double total = 0;
    for (size_t i = 0; i < n->n; i++) {
        const sw_ynode *e = n->items[i];
        char *where = sw_xasprintf("errors[%zu]", i);
        f[i].retry_after = -1;
        f[i].stall_ms = DEFAULT_STALL_MS;
        if (!want_map(c, e, where)) {
            free(where);
            continue;
        }
        check_keys(c, e, keys, NKEYS(keys), where);
        const sw_ynode *kind = sw_ynode_get(e, "kind");
        const sw_ynode *rate = sw_ynode_get(e, "rate");
        if (!kind)
            bad(c, e, "%s needs a kind (429, 500, 503, drop or stall)", where);
        else if (kind->kind != SW_YAML_SCALAR || !fault_kind(kind->text, &f[i].kind)) {
            const char *hint = kind->kind == SW_YAML_SCALAR
                                   ? sw_did_you_mean(kind->text, kinds, NKEYS(kinds))
                                   : NULL;
            if (hint)
                bad(c, kind, "%s: unknown kind '%s' (did you mean '%s'?)", where, kind->text, hint);
            else
                bad(c, kind, "%s: kind must be one of 429, 500, 503, drop, stall", where);
            kind = NULL;
        }
        if (!rate)
            bad(c, e, "%s needs a rate between 0 and 1", where);
        else if (want_number(c, rate, where, &f[i].rate) && (f[i].rate < 0 || f[i].rate > 1))
            bad(c, rate, "%s: rate must be between 0 and 1, found %s", where, rate->text);
        else
            total += f[i].rate;
        if (kind && f[i].kind == SW_MOCK_FAULT_429)
            f[i].retry_after = 1;
        const sw_ynode *ra = sw_ynode_get(e, "retry_after");
        if (ra) {
            int64_t secs;
            if (kind && f[i].kind != SW_MOCK_FAULT_429 && f[i].kind != SW_MOCK_FAULT_503)
                bad(c, sw_ynode_key(e, "retry_after"), "%s: retry_after is for 429 and 503 only",
                    where);
            else if (want_int(c, ra, where, 0, 86400, &secs))
                f[i].retry_after = (int)secs;
        }
        const sw_ynode *msg = sw_ynode_get(e, "message");
        if (msg) {
            if (kind && (f[i].kind == SW_MOCK_FAULT_DROP || f[i].kind == SW_MOCK_FAULT_STALL))
                bad(c, sw_ynode_key(e, "message"), "%s: a %s sends no message", where, kind->text);
            else if (want_string(c, msg, where))
                f[i].message = sw_xstrdup(msg->text);
        }
        const sw_ynode *hold = sw_ynode_get(e, "for");
        if (hold) {
            double ms;
            if (kind && f[i].kind != SW_MOCK_FAULT_STALL)
                bad(c, sw_ynode_key(e, "for"), "%s: 'for' is for stall only", where);
            else if (want_duration(c, hold, where, &ms))
                f[i].stall_ms = (int64_t)ms;
        }
        free(where);
    }
    if (total > 1.0 + 1e-9)
        bad(c, n, "the error rates add up to %g, more than 1", total);
    if (c->errors != before) {
        free_faults(f, n->n);
        return 0;
    }
    *out = f;
    *n_out = n->n;
    return 1;
}

/* Expand \d \w \s (and \D \W \S outside brackets), which POSIX lacks. */
static char *translate_regex(const char *src, sw_err *err)
{
    sw_buf b = {0};
    int in_bracket = 0;
    for (const char *p = src; *p; p++) {
        if (in_bracket && *p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            char close[3] = {p[1], ']', 0};
            const char *end = strstr(p + 2, close);
            if (!end)
                break;
            sw_buf_append(&b, p, (size_t)(end + 2 - p));
            p = end + 1;
            continue;
        }
        if (*p == '\\' && p[1]) {
            const char *rep = NULL;
            char e = p[1];
            if (!in_bracket) {
                rep = e == 'd'   ? "[0-9]"
                      : e == 'D' ? "[^0-9]"
                      : e == 'w' ? "[[:alnum:]_]"
                      : e == 'W' ? "[^[:alnum:]_]"
                      : e == 's' ? "[[:space:]]"
                      : e == 'S' ? "[^[:space:]]"
                                 : NULL;
            } else {
                rep = e == 'd' ? "0-9" : e == 'w' ? "[:alnum:]_" : e == 's' ? "[:space:]" : NULL;
                if (!rep && (e == 'D' || e == 'W' || e == 'S')) {
                    sw_buf_free(&b);
                    sw_err_set(err, "'\\%c' inside [...] is not supported", e);
                    return NULL;
                }
            }
            if (rep) {
                sw_buf_puts(&b, rep);
            } else {
                sw_buf_append(&b, p, 2);
            }
            p++;
            continue;
        }
        if (!in_bracket && *p == '[') {
            in_bracket = 1;
            sw_buf_append(&b, p, 1);
            /* A ']' right after '[' or '[^' is a member, not the end. */
            if (p[1] == '^')
                sw_buf_append(&b, ++p, 1);
            if (p[1] == ']')
                sw_buf_append(&b, ++p, 1);
            continue;
        }
        if (in_bracket && *p == ']')
            in_bracket = 0;
        sw_buf_append(&b, p, 1);
    }
    return sw_buf_steal(&b);
}

/* A substring, or /regex/ with optional flag i. */
static int parse_textmatch(chk *c, const sw_ynode *n, const char *where, sw_mock_textmatch *m)
{
    const char *s = want_string(c, n, where);
    if (!s)
        return 0;
    const char *last = strrchr(s, '/');
    size_t len = strlen(s);
    if (s[0] != '/' || last == s || len < 2) {
        m->kind = SW_MOCK_TEXT_SUBSTR;
        m->text = sw_xstrdup(s);
        return 1;
    }
    int cflags = REG_EXTENDED;
    for (const char *f = last + 1; *f; f++) {
        if (*f == 'i') {
            cflags |= REG_ICASE;
        } else {
            bad(c, n, "%s: unknown regex flag '%c' in '%s' (only i is known)", where, *f, s);
            return 0;
        }
    }
    char *pattern = sw_xstrndup(s + 1, (size_t)(last - s - 1));
    sw_err err;
    char *posix = translate_regex(pattern, &err);
    free(pattern);
    if (!posix) {
        bad(c, n, "%s: invalid regex '%s': %s", where, s, err.msg);
        return 0;
    }
    int rc = sw_regex_compile(&m->re, posix, cflags, &err);
    free(posix);
    if (rc < 0) {
        bad(c, n, "%s: invalid regex '%s': %s", where, s, err.msg);
        return 0;
    }
    m->kind = SW_MOCK_TEXT_REGEX;
    m->text = sw_xstrdup(s);
    m->groups = m->re.re_nsub;
    if (m->groups >= SW_MOCK_MAX_GROUPS)
        m->groups = SW_MOCK_MAX_GROUPS - 1;
    return 1;
}

static void free_textmatch(sw_mock_textmatch *m)
{
    if (m->kind == SW_MOCK_TEXT_REGEX)
        regfree(&m->re);
    free(m->text);
    m->kind = SW_MOCK_TEXT_ANY;
    m->text = NULL;
}

static void parse_match(chk *c, const sw_ynode *n, sw_mock_match *m)
{
    static const char *const keys[] = {"model", "system", "user", "tools", "tool_result", "judge"};
    if (!want_map(c, n, "match"))
        return;
    check_keys(c, n, keys, NKEYS(keys), "match");
    const sw_ynode *v;
    if ((v = sw_ynode_get(n, "model"))) {
        const char *s = want_string(c, v, "match.model");
        if (s)
            m->model = sw_xstrdup(s);
    }
    if ((v = sw_ynode_get(n, "system")))
        parse_textmatch(c, v, "match.system", &m->system);
    if ((v = sw_ynode_get(n, "user")))
        parse_textmatch(c, v, "match.user", &m->user);
    if ((v = sw_ynode_get(n, "tools")))
        want_bool(c, v, "match.tools", &m->tools);
    if ((v = sw_ynode_get(n, "judge")))
        want_bool(c, v, "match.judge", &m->judge);
    if ((v = sw_ynode_get(n, "tool_result"))) {
        sw_value val = SW_VALUE_NULL;
        sw_err err;
        if (v->kind == SW_YAML_SCALAR && !v->quoted && sw_yaml_scalar_value(v, &val, &err) == 0 &&
            val.type == SW_TYPE_BOOL) {
            m->tool_result = val.as.b;
        } else if (v->kind == SW_YAML_SCALAR && !sw_ynode_is_null(v)) {
            m->tool_result = 1;
            m->tool_name = sw_xstrdup(v->text);
        } else {
            bad(c, v, "match.tool_result must be true, false or a tool name, found %s",
                sw_ynode_describe(v));
        }
        sw_value_free(&val);
    }
}

static int valid_tool_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static void free_respond(sw_mock_respond *r)
{
    free(r->text);
    for (size_t i = 0; i < r->n_calls; i++) {
        free(r->calls[i].name);
        json_decref(r->calls[i].arguments);
    }
    free(r->calls);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static void copy_respond(sw_mock_respond *to, const sw_mock_respond *from)
{
    to->text = sw_xstrdup(from->text);
    to->n_calls = from->n_calls;
    to->calls = from->n_calls ? sw_xcalloc(from->n_calls, sizeof *to->calls) : NULL;
    for (size_t i = 0; i < from->n_calls; i++) {
        to->calls[i].name = sw_xstrdup(from->calls[i].name);
        to->calls[i].arguments = json_incref(from->calls[i].arguments);
    }
    to->json = json_incref(from->json);
}

static void check_template(chk *c, const sw_ynode *n, const char *text, const sw_mock_match *m,
                           const char *where)
{
    sw_err err;
    long ug = m && m->user.kind == SW_MOCK_TEXT_REGEX ? (long)m->user.groups : -1;
    long sg = m && m->system.kind == SW_MOCK_TEXT_REGEX ? (long)m->system.groups : -1;
    if (sw_mock_tmpl_check(text, ug, sg, &err) < 0)
        bad(c, n, "%s: %s", where, err.msg);
}

static void check_template_json(chk *c, const sw_ynode *n, const json_t *j, const sw_mock_match *m,
                                const char *where)
{
    sw_err err;
    long ug = m && m->user.kind == SW_MOCK_TEXT_REGEX ? (long)m->user.groups : -1;
    long sg = m && m->system.kind == SW_MOCK_TEXT_REGEX ? (long)m->system.groups : -1;
    if (sw_mock_tmpl_check_json(j, ug, sg, &err) < 0)
        bad(c, n, "%s: %s", where, err.msg);
}

/* respond: {text} | {tool_calls: [{name, arguments}]} | {text, tool_calls} | {json} */
static int parse_respond(chk *c, const sw_ynode *n, const sw_mock_match *m, sw_mock_respond *r)
{
    static const char *const keys[] = {"text", "tool_calls", "json"};
    if (!want_map(c, n, "respond"))
        return 0;
    int before = c->errors;
    check_keys(c, n, keys, NKEYS(keys), "respond");
    const sw_ynode *text = sw_ynode_get(n, "text");
    const sw_ynode *calls = sw_ynode_get(n, "tool_calls");
    const sw_ynode *json = sw_ynode_get(n, "json");
    if (!text && !calls && !json)
        bad(c, n, "respond needs text, tool_calls or json");
    if (json && (text || calls))
        bad(c, sw_ynode_key(n, "json"), "respond: json is the whole answer; it cannot go with %s",
            text ? "text" : "tool_calls");
    if (text) {
        if (text->kind != SW_YAML_SCALAR) {
            bad(c, text, "respond.text must be a string, found %s", sw_ynode_describe(text));
        } else {
            r->text = sw_xstrdup(text->text);
            check_template(c, text, r->text, m, "respond.text");
        }
    }
    if (calls) {
        if (calls->kind != SW_YAML_SEQ || calls->n == 0) {
            bad(c, calls, "respond.tool_calls must be a non-empty sequence of {name, arguments}");
        } else {
            r->calls = sw_xcalloc(calls->n, sizeof *r->calls);
            for (size_t i = 0; i < calls->n; i++) {
                static const char *const ckeys[] = {"name", "arguments"};
                const sw_ynode *call = calls->items[i];
                char *where = sw_xasprintf("respond.tool_calls[%zu]", i);
                if (!want_map(c, call, where)) {
                    free(where);
                    continue;
                }
                r->n_calls = i + 1;
                check_keys(c, call, ckeys, NKEYS(ckeys), where);
                const sw_ynode *name = sw_ynode_get(call, "name");
                const sw_ynode *args = sw_ynode_get(call, "arguments");
                if (!name)
                    bad(c, call, "%s needs a name", where);
                else if (want_string(c, name, where)) {
                    if (!valid_tool_name(name->text))
                        bad(c, name, "%s: '%s' is not a tool name ([A-Za-z0-9_-], 1 to 64)", where,
                            name->text);
                    r->calls[i].name = sw_xstrdup(name->text);
                }
                sw_err err;
                if (!args || sw_ynode_is_null(args)) {
                    r->calls[i].arguments = json_object();
                } else if (args->kind == SW_YAML_MAP) {
                    r->calls[i].arguments = sw_yaml_to_json(args, &err);
                    if (!r->calls[i].arguments)
                        bad(c, args, "%s.arguments: %s", where, err.msg);
                } else if (args->kind == SW_YAML_SCALAR) {
                    json_error_t je;
                    r->calls[i].arguments = json_loads(args->text, 0, &je);
                    if (!json_is_object(r->calls[i].arguments)) {
                        bad(c, args, "%s.arguments must be a mapping or a JSON object text%s%s",
                            where, r->calls[i].arguments ? "" : ": ",
                            r->calls[i].arguments ? "" : je.text);
                        json_decref(r->calls[i].arguments);
                        r->calls[i].arguments = NULL;
                    }
                } else {
                    bad(c, args, "%s.arguments must be a mapping, found %s", where,
                        sw_ynode_describe(args));
                }
                if (r->calls[i].arguments)
                    check_template_json(c, args, r->calls[i].arguments, m, where);
                free(where);
            }
        }
    }
    if (json) {
        sw_err err;
        r->json = sw_yaml_to_json(json, &err);
        if (!r->json)
            bad(c, json, "respond.json: %s", err.msg);
        else
            check_template_json(c, json, r->json, m, "respond.json");
    }
    if (c->errors != before) {
        free_respond(r);
        return 0;
    }
    return 1;
}

/* usage: auto | {prompt_tokens, completion_tokens} */
static void parse_usage(chk *c, const sw_ynode *n, sw_mock_rule *r)
{
    static const char *const keys[] = {"prompt_tokens", "completion_tokens"};
    if (n->kind == SW_YAML_SCALAR && strcmp(n->text, "auto") == 0) {
        r->prompt_tokens = r->completion_tokens = -1;
        return;
    }
    if (n->kind != SW_YAML_MAP) {
        bad(c, n, "usage must be 'auto' or a mapping {prompt_tokens, completion_tokens}, found %s",
            sw_ynode_describe(n));
        return;
    }
    check_keys(c, n, keys, NKEYS(keys), "usage");
    const sw_ynode *v;
    if ((v = sw_ynode_get(n, "prompt_tokens")))
        want_int(c, v, "usage.prompt_tokens", 0, INT32_MAX, &r->prompt_tokens);
    if ((v = sw_ynode_get(n, "completion_tokens")))
        want_int(c, v, "usage.completion_tokens", 0, INT32_MAX, &r->completion_tokens);
}

/* The settings a rule shares with `defaults`. Returns 1 when key was one. */
static int parse_setting(chk *c, const char *key, const sw_ynode *v, sw_mock_rule *r)
{
    if (strcmp(key, "latency") == 0) {
        parse_latency(c, v, "latency", &r->latency);
    } else if (strcmp(key, "ttft") == 0) {
        if (parse_latency(c, v, "ttft", &r->ttft))
            r->has_ttft = 1;
    } else if (strcmp(key, "usage") == 0) {
        parse_usage(c, v, r);
    } else if (strcmp(key, "errors") == 0) {
        sw_mock_fault *f;
        size_t n;
        if (parse_faults(c, v, &f, &n)) {
            free_faults(r->faults, r->n_faults);
            r->faults = f;
            r->n_faults = n;
        }
    } else if (strcmp(key, "chunk_bytes") == 0) {
        int64_t bytes;
        if (want_int(c, v, "chunk_bytes", 1, 65536, &bytes))
            r->chunk_bytes = (int)bytes;
    } else {
        return 0;
    }
    return 1;
}

static void free_match(sw_mock_match *m)
{
    free(m->model);
    free(m->tool_name);
    free_textmatch(&m->system);
    free_textmatch(&m->user);
}

static void free_rule(sw_mock_rule *r)
{
    free(r->name);
    free_match(&r->match);
    free_respond(&r->respond);
    free_faults(r->faults, r->n_faults);
    memset(r, 0, sizeof *r);
}

/* A rule starts as a copy of the defaults' settings (not their match or name). */
static void inherit(sw_mock_rule *r, const sw_mock_rule *def)
{
    r->latency = def->latency;
    r->ttft = def->ttft;
    r->has_ttft = def->has_ttft;
    r->prompt_tokens = def->prompt_tokens;
    r->completion_tokens = def->completion_tokens;
    r->chunk_bytes = def->chunk_bytes;
    r->n_faults = def->n_faults;
    r->faults = def->n_faults ? sw_xcalloc(def->n_faults, sizeof *r->faults) : NULL;
    for (size_t i = 0; i < def->n_faults; i++) {
        r->faults[i] = def->faults[i];
        r->faults[i].message = sw_xstrdup(def->faults[i].message);
    }
    r->match.tools = r->match.tool_result = r->match.judge = -1;
}

static void parse_defaults(chk *c, const sw_ynode *n, sw_mock_rule *def)
{
    static const char *const keys[] = {"latency", "ttft",        "usage",
                                       "errors",  "chunk_bytes", "respond"};
    if (!want_map(c, n, "defaults"))
        return;
    check_keys(c, n, keys, NKEYS(keys), "defaults");
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->text;
        if (strcmp(k, "respond") == 0) {
            sw_mock_respond r = {0};
            if (parse_respond(c, n->items[i], NULL, &r)) {
                free_respond(&def->respond);
                def->respond = r;
            }
        } else {
            parse_setting(c, k, n->items[i], def);
        }
    }
}

static void parse_rule(chk *c, const sw_ynode *n, size_t index, const sw_mock_rule *def,
                       sw_mock_rule *r)
{
    static const char *const keys[] = {"name", "match", "respond", "latency",
                                       "ttft", "usage", "errors",  "chunk_bytes"};
    inherit(r, def);
    r->index = index;
    r->line = n->line;
    r->col = n->col;
    if (!want_map(c, n, "a rule")) {
        r->name = sw_xasprintf("rule-%zu", index + 1);
        return;
    }
    check_keys(c, n, keys, NKEYS(keys), "rule");
    const sw_ynode *name = sw_ynode_get(n, "name");
    const char *s = name ? want_string(c, name, "rule name") : NULL;
    r->name = s ? sw_xstrdup(s) : sw_xasprintf("rule-%zu", index + 1);
    if (s && strcmp(s, "defaults") == 0)
        bad(c, name, "the rule name 'defaults' is reserved for the answer to unmatched requests");
    const sw_ynode *match = sw_ynode_get(n, "match");
    if (match && !sw_ynode_is_null(match))
        parse_match(c, match, &r->match);
    for (size_t i = 0; i < n->n; i++)
        parse_setting(c, n->keys[i]->text, n->items[i], r);
    const sw_ynode *respond = sw_ynode_get(n, "respond");
    if (respond)
        parse_respond(c, respond, &r->match, &r->respond);
    else
        copy_respond(&r->respond, &def->respond);
}

/* latency_scale / usage_scale: a factor, more than 0 and at most MAX_SCALE. */
static void want_scale(chk *c, const sw_ynode *n, const char *where, double *out)
{
    double x;
    if (!want_number(c, n, where, &x))
        return;
    if (!(x > 0 && x <= MAX_SCALE))
        bad(c, n, "%s must be more than 0 and at most %g, found %s", where, MAX_SCALE, n->text);
    else
        *out = x;
}

static void parse_modifier(chk *c, const sw_ynode *n, size_t index, sw_mock_modifier *mod)
{
    static const char *const keys[] = {"name", "match", "latency_scale", "usage_scale"};
    mod->latency_scale = mod->usage_scale = 1;
    mod->match.tools = mod->match.tool_result = mod->match.judge = -1;
    mod->line = n->line;
    mod->col = n->col;
    const char *s = NULL;
    if (want_map(c, n, "a modifier")) {
        check_keys(c, n, keys, NKEYS(keys), "modifier");
        const sw_ynode *v;
        if ((v = sw_ynode_get(n, "name")))
            s = want_string(c, v, "modifier name");
        if ((v = sw_ynode_get(n, "match")) && !sw_ynode_is_null(v))
            parse_match(c, v, &mod->match);
        if ((v = sw_ynode_get(n, "latency_scale")))
            want_scale(c, v, "latency_scale", &mod->latency_scale);
        if ((v = sw_ynode_get(n, "usage_scale")))
            want_scale(c, v, "usage_scale", &mod->usage_scale);
    }
    mod->name = s ? sw_xstrdup(s) : sw_xasprintf("modifier-%zu", index + 1);
}

static char **string_list(chk *c, const sw_ynode *n, const char *where, size_t *count)
{
    if (n->kind != SW_YAML_SEQ) {
        bad(c, n, "'%s' must be a sequence of strings, found %s", where, sw_ynode_describe(n));
        return NULL;
    }
    char **out = sw_xcalloc(n->n + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++) {
        const char *s = want_string(c, n->items[i], where);
        if (s)
            out[k++] = sw_xstrdup(s);
    }
    *count = k;
    return out;
}

static void add_model(sw_mock_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->n_models; i++)
        if (strcmp(sc->models[i], name) == 0)
            return;
    sc->models = sw_xrealloc(sc->models, (sc->n_models + 1) * sizeof *sc->models);
    sc->models[sc->n_models++] = sw_xstrdup(name);
}

static void build(chk *c, const sw_ynode *root, sw_mock_scenario *sc)
{
    static const char *const keys[] = {"seed",  "models",        "defaults",
                                       "rules", "judge_markers", "modifiers"};
    sw_mock_rule *def = &sc->fallback;
    def->name = sw_xstrdup("defaults");
    def->match.tools = def->match.tool_result = def->match.judge = -1;
    def->prompt_tokens = def->completion_tokens = -1;
    def->chunk_bytes = DEFAULT_CHUNK_BYTES;
    def->respond.text = sw_xstrdup(SW_MOCK_DEFAULT_TEXT);
    if (root && !sw_ynode_is_null(root) && !want_map(c, root, "a scenario"))
        return;
    if (root && root->kind == SW_YAML_MAP)
        check_keys(c, root, keys, NKEYS(keys), "scenario");
    const sw_ynode *v;
    if ((v = sw_ynode_get(root, "seed"))) {
        int64_t seed;
        if (want_int(c, v, "seed", 0, INT64_MAX, &seed))
            sc->seed = (uint64_t)seed;
    }
    if ((v = sw_ynode_get(root, "models"))) {
        size_t n = 0;
        char **list = string_list(c, v, "models", &n);
        for (size_t i = 0; i < n; i++) {
            add_model(sc, list[i]);
            free(list[i]);
        }
        free(list);
    }
    if ((v = sw_ynode_get(root, "judge_markers"))) {
        sc->judge_markers = string_list(c, v, "judge_markers", &sc->n_judge_markers);
        for (size_t i = 0; i < sc->n_judge_markers; i++)
            if (!*sc->judge_markers[i])
                bad(c, v, "judge_markers: an empty marker would make every request a judge call");
    }
    if ((v = sw_ynode_get(root, "defaults")))
        parse_defaults(c, v, def);
    if ((v = sw_ynode_get(root, "rules"))) {
        if (v->kind != SW_YAML_SEQ) {
            bad(c, v, "'rules' must be a sequence of rules, found %s", sw_ynode_describe(v));
        } else {
            sc->rules = sw_xcalloc(v->n ? v->n : 1, sizeof *sc->rules);
            for (size_t i = 0; i < v->n; i++) {
                sw_mock_rule *r = &sc->rules[i];
                parse_rule(c, v->items[i], i, def, r);
                sc->n_rules = i + 1;
                for (size_t j = 0; j < i; j++)
                    if (strcmp(sc->rules[j].name, r->name) == 0) {
                        const sw_ynode *name = sw_ynode_get(v->items[i], "name");
                        bad(c, name ? name : v->items[i],
                            "rule name '%s' is used twice (first at line %d)", r->name,
                            sc->rules[j].line);
                        break;
                    }
                const char *m = r->match.model;
                if (m && !strpbrk(m, "*?["))
                    add_model(sc, m);
            }
        }
    }
    if ((v = sw_ynode_get(root, "modifiers"))) {
        if (v->kind != SW_YAML_SEQ) {
            bad(c, v, "'modifiers' must be a sequence of modifiers, found %s",
                sw_ynode_describe(v));
        } else {
            sc->modifiers = sw_xcalloc(v->n ? v->n : 1, sizeof *sc->modifiers);
            for (size_t i = 0; i < v->n; i++) {
                parse_modifier(c, v->items[i], i, &sc->modifiers[i]);
                sc->n_modifiers = i + 1;
            }
        }
    }
    def->index = sc->n_rules;
    add_model(sc, SW_MOCK_DEFAULT_MODEL);
    if (!sc->judge_markers) {
        sc->n_judge_markers = NKEYS(judge_defaults);
        sc->judge_markers = sw_xcalloc(sc->n_judge_markers + 1, sizeof *sc->judge_markers);
        for (size_t i = 0; i < sc->n_judge_markers; i++)
            sc->judge_markers[i] = sw_xstrdup(judge_defaults[i]);
    }
}

static sw_mock_scenario *from_doc(sw_ydoc *doc, sw_diags *d)
{
    sw_mock_scenario *sc = sw_xcalloc(1, sizeof *sc);
    sc->file = sw_xstrdup(doc->file);
    chk c = {doc, d, 0};
    build(&c, doc->root, sc);
    sw_ydoc_free(doc);
    if (c.errors) {
        sw_mock_scenario_free(sc);
        return NULL;
    }
    return sc;
}

sw_mock_scenario *sw_mock_scenario_load(const char *path, sw_diags *d)
{
    sw_ydoc *doc = sw_yaml_parse_file(path, MAX_SCENARIO_BYTES, d);
    return doc ? from_doc(doc, d) : NULL;
}

sw_mock_scenario *sw_mock_scenario_parse(const char *text, size_t len, const char *filename,
                                         sw_diags *d)
{
    sw_ydoc *doc = sw_yaml_parse_string(text, len, filename ? filename : "<scenario>", d);
    return doc ? from_doc(doc, d) : NULL;
}

sw_mock_scenario *sw_mock_scenario_default(void)
{
    static const char text[] = "seed: 0\n"
                               "models: [" SW_MOCK_DEFAULT_MODEL "]\n"
                               "defaults:\n"
                               "  respond: {text: \"" SW_MOCK_DEFAULT_TEXT "\"}\n";
    sw_mock_scenario *sc = sw_mock_scenario_parse(text, sizeof text - 1, "<built-in>", NULL);
    if (!sc)
        abort(); /* the built-in text is a constant: failing to parse it is a bug */
    return sc;
}

void sw_mock_scenario_free(sw_mock_scenario *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->n_rules; i++)
        free_rule(&sc->rules[i]);
    free(sc->rules);
    free_rule(&sc->fallback);
    for (size_t i = 0; i < sc->n_modifiers; i++) {
        free(sc->modifiers[i].name);
        free_match(&sc->modifiers[i].match);
    }
    free(sc->modifiers);
    for (size_t i = 0; i < sc->n_models; i++)
        free(sc->models[i]);
    free(sc->models);
    for (size_t i = 0; i < sc->n_judge_markers; i++)
        free(sc->judge_markers[i]);
    free(sc->judge_markers);
    free(sc->file);
    free(sc);
}

size_t sw_mock_scenario_rule_count(const sw_mock_scenario *sc)
{
    return sc ? sc->n_rules : 0;
}

const sw_mock_rule *sw_mock_scenario_rule(const sw_mock_scenario *sc, size_t i)
{
    if (i < sc->n_rules)
        return &sc->rules[i];
    return i == sc->n_rules ? &sc->fallback : NULL;
}
