/* schema.c - compiling and checking a JSON Schema subset. */
#include "schema.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "base/regex.h"

struct ev_schema {
    json_t *root;      /* the schema, kept */
    regex_t *patterns; /* every `pattern`, compiled, in the order found */
    json_t *index;     /* pattern text -> index in patterns */
    size_t n_patterns;
};

static const char *const annotations[] = {"$schema",  "$id",       "title",     "description",
                                          "default",  "examples",  "format",    "$comment",
                                          "readOnly", "writeOnly", "deprecated"};
static const char *const keywords[] = {"type",
                                       "enum",
                                       "const",
                                       "properties",
                                       "required",
                                       "items",
                                       "minItems",
                                       "maxItems",
                                       "uniqueItems",
                                       "minLength",
                                       "maxLength",
                                       "pattern",
                                       "minimum",
                                       "maximum",
                                       "exclusiveMinimum",
                                       "exclusiveMaximum",
                                       "multipleOf",
                                       "allOf",
                                       "anyOf",
                                       "oneOf",
                                       "not",
                                       "additionalProperties"};

static int known(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(k, list[i]) == 0)
            return 1;
    return 0;
}

static int compile(ev_schema *s, const json_t *sch, const char *path, sw_err *err)
{
    if (json_is_boolean(sch))
        return 0;
    if (!json_is_object(sch))
        return sw_err_set(err, "schema at %s must be an object or a boolean", path);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sch, k, v)
    {
        if (known(k, annotations, sizeof annotations / sizeof *annotations))
            continue;
        if (!known(k, keywords, sizeof keywords / sizeof *keywords))
            return sw_err_set(err, "schema at %s: keyword '%s' is not supported", path, k);
        int rc = 0;
        if (strcmp(k, "properties") == 0) {
            if (!json_is_object(v))
                return sw_err_set(err, "schema at %s: properties must be an object", path);
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                char *sub = sw_xasprintf("%s.%s", path, pk);
                rc = compile(s, pv, sub, err);
                free(sub);
                if (rc < 0)
                    return -1;
            }
        } else if (strcmp(k, "items") == 0 || strcmp(k, "not") == 0 ||
                   strcmp(k, "additionalProperties") == 0) {
            char *sub = sw_xasprintf("%s/%s", path, k);
            rc = compile(s, v, sub, err);
            free(sub);
        } else if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                return sw_err_set(err, "schema at %s: %s must be a non-empty list", path, k);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                char *sub = sw_xasprintf("%s/%s[%zu]", path, k, i);
                rc = compile(s, x, sub, err);
                free(sub);
                if (rc < 0)
                    return -1;
            }
        } else if (strcmp(k, "pattern") == 0) {
            if (!json_is_string(v))
                return sw_err_set(err, "schema at %s: pattern must be a string", path);
            if (json_object_get(s->index, json_string_value(v)))
                continue;
            int icase = 0;
            char *ere = ev_js_regex(json_string_value(v), &icase, err);
            if (!ere)
                return sw_err_prefix(err, "schema at %s: pattern: ", path);
            s->patterns = sw_xrealloc(s->patterns, (s->n_patterns + 1) * sizeof *s->patterns);
            sw_err why;
            int c = sw_regex_compile(&s->patterns[s->n_patterns], ere,
                                     REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0), &why);
            free(ere);
            if (c < 0)
                return sw_err_set(err, "schema at %s: bad pattern '%s': %s", path,
                                  json_string_value(v), why.msg);
            json_object_set_new(s->index, json_string_value(v),
                                json_integer((json_int_t)s->n_patterns++));
        } else if (strcmp(k, "required") == 0) {
            if (!json_is_array(v))
                return sw_err_set(err, "schema at %s: required must be a list of names", path);
        } else if (strcmp(k, "enum") == 0) {
            if (!json_is_array(v))
                return sw_err_set(err, "schema at %s: enum must be a list", path);
        } else if (strcmp(k, "type") == 0) {
            if (!json_is_string(v) && !json_is_array(v))
                return sw_err_set(err, "schema at %s: type must be a name or a list", path);
        } else if (strcmp(k, "const") != 0 && strcmp(k, "uniqueItems") != 0) {
            if (!json_is_number(v))
                return sw_err_set(err, "schema at %s: %s must be a number", path, k);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

ev_schema *ev_schema_compile(const json_t *schema, sw_err *err)
{
    ev_schema *s = sw_xcalloc(1, sizeof *s);
    s->index = json_object();
    s->root = json_incref((json_t *)schema);
    if (compile(s, schema, "$", err) < 0) {
        ev_schema_free(s);
        return NULL;
    }
    return s;
}

void ev_schema_free(ev_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_patterns; i++)
        regfree(&s->patterns[i]);
    free(s->patterns);
    json_decref(s->index);
    json_decref(s->root);
    free(s);
}

static const char *type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static int is_type(const json_t *v, const char *t)
{
    if (strcmp(t, "number") == 0)
        return json_is_number(v);
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v) ||
               (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
    return strcmp(type_of(v), t) == 0;
}

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int check(const ev_schema *s, const json_t *sch, const json_t *v, const char *path,
                 sw_err *why);

static int invalid(sw_err *why, const char *path, const char *fmt, ...) SW_PRINTF(3, 4);
static int invalid(sw_err *why, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sw_err_set(why, "%s: %s", path, msg);
    return 1;
}

static int check_object(const ev_schema *s, const json_t *sch, const json_t *v, const char *path,
                        sw_err *why)
{
    json_t *props = json_object_get(sch, "properties");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(sch, "required"), i, x)
    {
        if (json_is_string(x) && !json_object_get(v, json_string_value(x)))
            return invalid(why, path, "required property '%s' is missing", json_string_value(x));
    }
    json_t *extra = json_object_get(sch, "additionalProperties");
    const char *k;
    json_object_foreach((json_t *)v, k, x)
    {
        char *sub = sw_xasprintf("%s.%s", path, k);
        json_t *ps = json_object_get(props, k);
        int rc = 0;
        if (ps)
            rc = check(s, ps, x, sub, why);
        else if (json_is_false(extra))
            rc = invalid(why, path, "property '%s' is not allowed", k);
        else if (json_is_object(extra))
            rc = check(s, extra, x, sub, why);
        free(sub);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_array(const ev_schema *s, const json_t *sch, const json_t *v, const char *path,
                       sw_err *why)
{
    size_t n = json_array_size(v);
    json_t *lim;
    if ((lim = json_object_get(sch, "minItems")) && (double)n < json_number_value(lim))
        return invalid(why, path, "%zu items, fewer than %g", n, json_number_value(lim));
    if ((lim = json_object_get(sch, "maxItems")) && (double)n > json_number_value(lim))
        return invalid(why, path, "%zu items, more than %g", n, json_number_value(lim));
    if (json_is_true(json_object_get(sch, "uniqueItems")))
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (json_equal(json_array_get(v, i), json_array_get(v, j)))
                    return invalid(why, path, "items %zu and %zu are equal", i, j);
    json_t *items = json_object_get(sch, "items");
    if (items)
        for (size_t i = 0; i < n; i++) {
            char *sub = sw_xasprintf("%s[%zu]", path, i);
            int rc = check(s, items, json_array_get(v, i), sub, why);
            free(sub);
            if (rc)
                return rc;
        }
    return 0;
}

static int check_number(const json_t *sch, const json_t *v, const char *path, sw_err *why)
{
    double x = json_number_value(v);
    json_t *lim;
    if ((lim = json_object_get(sch, "minimum")) && x < json_number_value(lim))
        return invalid(why, path, "%g is less than the minimum %g", x, json_number_value(lim));
    if ((lim = json_object_get(sch, "maximum")) && x > json_number_value(lim))
        return invalid(why, path, "%g is more than the maximum %g", x, json_number_value(lim));
    if ((lim = json_object_get(sch, "exclusiveMinimum")) && x <= json_number_value(lim))
        return invalid(why, path, "%g is not more than %g", x, json_number_value(lim));
    if ((lim = json_object_get(sch, "exclusiveMaximum")) && x >= json_number_value(lim))
        return invalid(why, path, "%g is not less than %g", x, json_number_value(lim));
    if ((lim = json_object_get(sch, "multipleOf")) && json_number_value(lim) > 0) {
        double q = x / json_number_value(lim);
        if (fabs(q - round(q)) > 1e-9)
            return invalid(why, path, "%g is not a multiple of %g", x, json_number_value(lim));
    }
    return 0;
}

static int check_string(const ev_schema *s, const json_t *sch, const json_t *v, const char *path,
                        sw_err *why)
{
    const char *t = json_string_value(v);
    size_t n = code_points(t);
    json_t *lim;
    if ((lim = json_object_get(sch, "minLength")) && (double)n < json_number_value(lim))
        return invalid(why, path, "%zu characters, fewer than %g", n, json_number_value(lim));
    if ((lim = json_object_get(sch, "maxLength")) && (double)n > json_number_value(lim))
        return invalid(why, path, "%zu characters, more than %g", n, json_number_value(lim));
    json_t *pat = json_object_get(sch, "pattern");
    if (pat) {
        size_t idx = (size_t)json_integer_value(json_object_get(s->index, json_string_value(pat)));
        if (regexec(&s->patterns[idx], t, 0, NULL, 0) != 0)
            return invalid(why, path, "'%s' does not match /%s/", t, json_string_value(pat));
    }
    return 0;
}

static int check(const ev_schema *s, const json_t *sch, const json_t *v, const char *path,
                 sw_err *why)
{
    if (json_is_true(sch))
        return 0;
    if (json_is_false(sch))
        return invalid(why, path, "no value is allowed here");
    json_t *type = json_object_get(sch, "type");
    if (type) {
        int ok = 0;
        if (json_is_string(type)) {
            ok = is_type(v, json_string_value(type));
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t)
            {
                ok = ok || (json_is_string(t) && is_type(v, json_string_value(t)));
            }
        }
        if (!ok) {
            char *want = ev_value_text(type);
            invalid(why, path, "expected %s, got %s", want, type_of(v));
            free(want);
            return 1;
        }
    }
    json_t *en = json_object_get(sch, "enum");
    if (en) {
        int ok = 0;
        size_t i;
        json_t *x;
        json_array_foreach(en, i, x)
        {
            ok = ok || json_equal(x, (json_t *)v);
        }
        if (!ok) {
            char *got = ev_value_text(v);
            invalid(why, path, "%s is not one of the enum values", got);
            free(got);
            return 1;
        }
    }
    json_t *cn = json_object_get(sch, "const");
    if (cn && !json_equal(cn, (json_t *)v))
        return invalid(why, path, "value differs from const");
    int rc = 0;
    if (json_is_object(v))
        rc = check_object(s, sch, v, path, why);
    else if (json_is_array(v))
        rc = check_array(s, sch, v, path, why);
    else if (json_is_number(v))
        rc = check_number(sch, v, path, why);
    else if (json_is_string(v))
        rc = check_string(s, sch, v, path, why);
    if (rc)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(sch, "allOf"), i, x)
    {
        if ((rc = check(s, x, v, path, why)))
            return rc;
    }
    json_t *any = json_object_get(sch, "anyOf");
    if (any) {
        int ok = 0;
        sw_err tmp;
        json_array_foreach(any, i, x)
        {
            ok = ok || check(s, x, v, path, &tmp) == 0;
        }
        if (!ok)
            return invalid(why, path, "matches none of anyOf");
    }
    json_t *one = json_object_get(sch, "oneOf");
    if (one) {
        size_t ok = 0;
        sw_err tmp;
        json_array_foreach(one, i, x)
        {
            ok += check(s, x, v, path, &tmp) == 0;
        }
        if (ok != 1)
            return invalid(why, path, "matches %zu of oneOf, not exactly one", ok);
    }
    json_t *not = json_object_get(sch, "not");
    if (not ) {
        sw_err tmp;
        if (check(s, not, v, path, &tmp) == 0)
            return invalid(why, path, "matches the schema under 'not'");
    }
    return 0;
}

int ev_schema_validate(const ev_schema *s, const json_t *v, sw_err *why)
{
    return check(s, s->root, v, "$", why);
}
