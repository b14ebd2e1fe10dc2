/*
 * assert_text.c - assertions on the answer's text: equals, contains and its
 * variants, starts-with, regex, levenshtein.
 *
 * Case-insensitive comparisons fold ASCII letters only. `regex` takes the
 * JavaScript patterns promptfoo users write and runs them as POSIX extended
 * expressions (glibc): \d \D \w \W \s \S \b are understood, (?:...) is a
 * group, (?i) or config.flags "i" ignore case, and a lazy quantifier (*?) is
 * taken greedily, which does not change whether a match exists. Lookaround
 * and backreferences are refused when the dataset loads.
 */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "base/regex.h"

static const char *out_text(const ev_subject *s)
{
    return s->out && s->out->text ? s->out->text : "";
}

/* ---- equals ---- */

static void eval_equals(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *text = out_text(s);
    if (json_is_object(a->value) || json_is_array(a->value)) {
        json_t *got = json_loads(text, JSON_DECODE_ANY, NULL);
        int eq = got && json_equal(got, a->value);
        json_decref(got);
        char *want = ev_value_text(a->value);
        char *ex = ev_excerpt(text, 120);
        if (eq)
            ev_result_set(r, EV_PASS, 1, "output is the JSON value %s", want);
        else
            ev_result_set(r, EV_FAIL, 0, "expected the JSON value %s, got '%s'", want, ex);
        free(want);
        free(ex);
        return;
    }
    char *want = ev_value_text(a->value);
    char *ex = ev_excerpt(text, 120);
    if (strcmp(text, want) == 0)
        ev_result_set(r, EV_PASS, 1, "output equals '%s'", ex);
    else
        ev_result_set(r, EV_FAIL, 0, "expected '%s', got '%s'", want, ex);
    free(want);
    free(ex);
}

const ev_kind ev_kind_equals = {"equals", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED, NULL,
                                eval_equals, NULL};

/* ---- contains, icontains, starts-with ---- */

static const char *find(const char *hay, const char *needle, int icase)
{
    return icase ? strcasestr(hay, needle) : strstr(hay, needle);
}

static int prepare_scalar(ev_assert *a, sw_err *err)
{
    if (json_is_object(a->value) || json_is_array(a->value))
        return sw_err_set(err, "value must be a string");
    return 0;
}

static void contains(const ev_assert *a, const ev_subject *s, ev_aresult *r, int icase)
{
    char *want = ev_value_text(a->value);
    if (find(out_text(s), want, icase))
        ev_result_set(r, EV_PASS, 1, "output contains '%s'", want);
    else
        ev_result_set(r, EV_FAIL, 0, "output does not contain '%s'%s", want,
                      icase ? " (ignoring case)" : "");
    free(want);
}

static void eval_contains(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    contains(a, s, r, 0);
}

static void eval_icontains(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    contains(a, s, r, 1);
}

const ev_kind ev_kind_contains = {"contains", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                  prepare_scalar, eval_contains, NULL};
const ev_kind ev_kind_icontains = {"icontains", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                   prepare_scalar, eval_icontains, NULL};

static void eval_starts_with(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    char *want = ev_value_text(a->value);
    if (strncmp(out_text(s), want, strlen(want)) == 0)
        ev_result_set(r, EV_PASS, 1, "output starts with '%s'", want);
    else
        ev_result_set(r, EV_FAIL, 0, "output does not start with '%s'", want);
    free(want);
}

const ev_kind ev_kind_starts_with = {"starts-with", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                     prepare_scalar, eval_starts_with, NULL};

/* ---- contains-any, contains-all (and i-) ---- */

/* promptfoo takes a list, or a string of comma-separated items. */
static int prepare_list(ev_assert *a, sw_err *err)
{
    if (json_is_string(a->value)) {
        json_t *arr = json_array();
        const char *p = json_string_value(a->value);
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n && isspace((unsigned char)*p)) {
                p++;
                n--;
            }
            while (n && isspace((unsigned char)p[n - 1]))
                n--;
            if (n) {
                char *item = sw_xstrndup(p, n);
                json_array_append_new(arr, json_string(item));
                free(item);
            }
            p = comma ? comma + 1 : p + strlen(p);
        }
        json_decref(a->value);
        a->value = arr;
    }
    if (!json_is_array(a->value) || json_array_size(a->value) == 0)
        return sw_err_set(err, "value must be a non-empty list of strings");
    size_t i;
    json_t *v;
    json_array_foreach(a->value, i, v)
    {
        if (json_is_object(v) || json_is_array(v) || json_is_null(v))
            return sw_err_set(err, "value[%zu] must be a string", i);
    }
    return 0;
}

static void list_match(const ev_assert *a, const ev_subject *s, ev_aresult *r, int icase, int all)
{
    sw_buf found = {0}, missing = {0};
    size_t n_found = 0, n = json_array_size(a->value);
    for (size_t i = 0; i < n; i++) {
        char *item = ev_value_text(json_array_get(a->value, i));
        sw_buf *b = find(out_text(s), item, icase) ? &found : &missing;
        if (b == &found)
            n_found++;
        sw_buf_printf(b, "%s'%s'", b->len ? ", " : "", item);
        free(item);
    }
    if (all) {
        if (n_found == n)
            ev_result_set(r, EV_PASS, 1, "output contains all of %s", found.data);
        else
            ev_result_set(r, EV_FAIL, 0, "output lacks %s", missing.data);
    } else {
        if (n_found)
            ev_result_set(r, EV_PASS, 1, "output contains %s", found.data);
        else
            ev_result_set(r, EV_FAIL, 0, "output contains none of %s", missing.data);
    }
    sw_buf_free(&found);
    sw_buf_free(&missing);
}

static void eval_contains_any(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    list_match(a, s, r, 0, 0);
}

static void eval_contains_all(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    list_match(a, s, r, 0, 1);
}

static void eval_icontains_any(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    list_match(a, s, r, 1, 0);
}

static void eval_icontains_all(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    list_match(a, s, r, 1, 1);
}

const ev_kind ev_kind_contains_any = {"contains-any", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                      prepare_list, eval_contains_any, NULL};
const ev_kind ev_kind_contains_all = {"contains-all", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                      prepare_list, eval_contains_all, NULL};
const ev_kind ev_kind_icontains_any = {"icontains-any", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                       prepare_list, eval_icontains_any, NULL};
const ev_kind ev_kind_icontains_all = {"icontains-all", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED,
                                       prepare_list, eval_icontains_all, NULL};

/* ---- regex ---- */

char *ev_js_regex(const char *p, int *icase, sw_err *err)
{
    sw_buf b = {0};
    int in_class = 0;
    if (strncmp(p, "(?i)", 4) == 0) {
        *icase = 1;
        p += 4;
    }
    for (; *p; p++) {
        char c = *p;
        if (c == '\\' && p[1]) {
            char e = *++p;
            const char *rep = NULL;
            switch (e) {
            case 'd':
                rep = in_class ? "0-9" : "[0-9]";
                break;
            case 'D':
                rep = in_class ? NULL : "[^0-9]";
                break;
            case 's':
                rep = in_class ? "[:space:]" : "[[:space:]]";
                break;
            case 'S':
                rep = in_class ? NULL : "[^[:space:]]";
                break;
            case 'w':
                rep = in_class ? "[:alnum:]_" : "[[:alnum:]_]";
                break;
            case 'W':
                rep = in_class ? NULL : "[^[:alnum:]_]";
                break;
            case 'b':
            case 'B':
                if (in_class)
                    break;
                sw_buf_append(&b, p - 1, 2);
                continue;
            case 'n':
                rep = "\n";
                break;
            case 't':
                rep = "\t";
                break;
            case 'r':
                rep = "\r";
                break;
            default:
                if (e >= '1' && e <= '9' && !in_class) {
                    sw_buf_free(&b);
                    sw_err_set(err, "backreferences are not supported");
                    return NULL;
                }
                if (in_class) {
                    /* Inside brackets POSIX has no escapes: the character itself. */
                    sw_buf_append(&b, &e, 1);
                } else if (strchr(".[]()*+?{}|^$\\/-", e)) {
                    if (e != '/' && e != '-')
                        sw_buf_append(&b, "\\", 1);
                    sw_buf_append(&b, &e, 1);
                } else {
                    sw_buf_append(&b, &e, 1);
                }
                continue;
            }
            if (!rep) {
                sw_buf_free(&b);
                sw_err_set(err, "\\%c inside [...] is not supported", e);
                return NULL;
            }
            sw_buf_puts(&b, rep);
            continue;
        }
        if (in_class) {
            if (c == ']')
                in_class = 0;
            sw_buf_append(&b, &c, 1);
            continue;
        }
        if (c == '[') {
            in_class = 1;
            sw_buf_append(&b, &c, 1);
            if (p[1] == '^')
                sw_buf_append(&b, ++p, 1);
            if (p[1] == ']') /* a leading ] is literal */
                sw_buf_append(&b, ++p, 1);
            continue;
        }
        if (c == '(' && p[1] == '?') {
            if (p[2] == ':') {
                sw_buf_append(&b, "(", 1);
                p += 2;
                continue;
            }
            sw_buf_free(&b);
            sw_err_set(err, "lookaround and named groups ('(?%c') are not supported", p[2]);
            return NULL;
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && p[1] == '?') {
            sw_buf_append(&b, &c, 1);
            p++; /* lazy: whether a match exists does not depend on it */
            continue;
        }
        sw_buf_append(&b, &c, 1);
    }
    return sw_buf_steal(&b);
}

static int prepare_regex(ev_assert *a, sw_err *err)
{
    if (!json_is_string(a->value))
        return sw_err_set(err, "value must be a regular expression (a string)");
    int icase = 0;
    const char *flags = json_string_value(json_object_get(a->config, "flags"));
    if (flags && strchr(flags, 'i'))
        icase = 1;
    char *ere = ev_js_regex(json_string_value(a->value), &icase, err);
    if (!ere)
        return -1;
    regex_t *re = sw_xmalloc(sizeof *re);
    sw_err why;
    int rc = sw_regex_compile(re, ere, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0), &why);
    free(ere);
    if (rc < 0) {
        free(re);
        return sw_err_set(err, "bad regular expression '%s': %s", json_string_value(a->value),
                          why.msg);
    }
    a->priv = re;
    return 0;
}

static void eval_regex(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *pat = json_string_value(a->value);
    if (regexec(a->priv, out_text(s), 0, NULL, 0) == 0)
        ev_result_set(r, EV_PASS, 1, "output matches /%s/", pat);
    else
        ev_result_set(r, EV_FAIL, 0, "output does not match /%s/", pat);
}

static void release_regex(ev_assert *a)
{
    if (a->priv)
        regfree(a->priv);
    free(a->priv);
    a->priv = NULL;
}

const ev_kind ev_kind_regex = {"regex", EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED, prepare_regex,
                               eval_regex, release_regex};

/* ---- levenshtein ---- */

/* Edit distance over bytes, two rows. */
static size_t distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    size_t *prev = sw_xmalloc((m + 1) * sizeof *prev), *cur = sw_xmalloc((m + 1) * sizeof *cur);
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1,
                   sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            cur[j] = del < ins ? (del < sub ? del : sub) : (ins < sub ? ins : sub);
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[m];
    free(prev);
    free(cur);
    return d;
}

static int prepare_levenshtein(ev_assert *a, sw_err *err)
{
    if (!json_is_string(a->value))
        return sw_err_set(err, "value must be a string");
    if (!a->has_threshold) {
        a->has_threshold = 1;
        a->threshold = 5; /* promptfoo's default */
    }
    if (a->threshold < 0)
        return sw_err_set(err, "threshold is a maximum distance, at least 0");
    return 0;
}

static void eval_levenshtein(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    size_t d = distance(out_text(s), json_string_value(a->value));
    if ((double)d <= a->threshold)
        ev_result_set(r, EV_PASS, 1, "edit distance %zu <= %g", d, a->threshold);
    else
        ev_result_set(r, EV_FAIL, 0, "edit distance %zu > %g", d, a->threshold);
}

const ev_kind ev_kind_levenshtein = {"levenshtein",
                                     EV_K_NEGATABLE | EV_K_VALUE | EV_K_EXPECTED | EV_K_THRESHOLD,
                                     prepare_levenshtein, eval_levenshtein, NULL};
