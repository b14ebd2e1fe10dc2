/* value.c - typed values and their JSON and text forms. */
#include "value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sw_value sw_value_bool(int b)
{
    return (sw_value){.type = SW_TYPE_BOOL, .as.b = b ? 1 : 0};
}

sw_value sw_value_int(int64_t i)
{
    return (sw_value){.type = SW_TYPE_INT, .as.i = i};
}

sw_value sw_value_double(double d)
{
    return (sw_value){.type = SW_TYPE_DOUBLE, .as.d = d};
}

sw_value sw_value_string(const char *s)
{
    return (sw_value){.type = SW_TYPE_STRING, .as.s = sw_xstrdup(s ? s : "")};
}

sw_value sw_value_json_text(const char *text)
{
    return (sw_value){.type = SW_TYPE_JSON, .as.s = sw_xstrdup(text ? text : "{}")};
}

void sw_value_free(sw_value *v)
{
    if (!v)
        return;
    if (v->type == SW_TYPE_STRING || v->type == SW_TYPE_JSON)
        free(v->as.s);
    *v = SW_VALUE_NULL;
}

sw_value sw_value_copy(const sw_value *v)
{
    if (!v)
        return SW_VALUE_NULL;
    sw_value c = *v;
    if (v->type == SW_TYPE_STRING || v->type == SW_TYPE_JSON)
        c.as.s = sw_xstrdup(v->as.s);
    return c;
}

static int json_text_equal(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return 1;
    /* Different text may still be the same document ({"a":1,"b":2} vs {"b":2,"a":1}). */
    json_t *ja = json_loads(a, 0, NULL);
    json_t *jb = json_loads(b, 0, NULL);
    int eq = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return eq;
}

/* Doubles are equal when they are the same value: NaN equals NaN and -0.0 differs
   from 0.0, so a round trip that loses either is caught. */
int sw_value_equal(const sw_value *a, const sw_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case SW_TYPE_NULL:
        return 1;
    case SW_TYPE_BOOL:
        return !a->as.b == !b->as.b;
    case SW_TYPE_INT:
        return a->as.i == b->as.i;
    case SW_TYPE_DOUBLE:
        if (isnan(a->as.d) || isnan(b->as.d))
            return isnan(a->as.d) && isnan(b->as.d);
        return a->as.d == b->as.d && !signbit(a->as.d) == !signbit(b->as.d);
    case SW_TYPE_STRING:
        return strcmp(a->as.s, b->as.s) == 0;
    case SW_TYPE_JSON:
        return json_text_equal(a->as.s, b->as.s);
    case SW_TYPE_ANY:
        break;
    }
    return 0;
}

static const char *const type_names[] = {
    [SW_TYPE_NULL] = "null",     [SW_TYPE_BOOL] = "bool",     [SW_TYPE_INT] = "int",
    [SW_TYPE_DOUBLE] = "double", [SW_TYPE_STRING] = "string", [SW_TYPE_JSON] = "json",
    [SW_TYPE_ANY] = "any",
};

const char *sw_type_name(sw_type t)
{
    if ((unsigned)t < sizeof type_names / sizeof type_names[0])
        return type_names[t];
    return "unknown";
}

int sw_type_parse(const char *name, sw_type *out)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (sw_type)i;
            return 0;
        }
    }
    if (strcmp(name, "boolean") == 0) {
        *out = SW_TYPE_BOOL;
        return 0;
    }
    return -1;
}

/* JSON has no NaN or infinities; these spellings are what the checkpoint uses. */
static const char *nonfinite_name(double d)
{
    if (isnan(d))
        return "nan";
    return d < 0 ? "-inf" : "inf";
}

json_t *sw_value_to_json(const sw_value *v)
{
    switch (v->type) {
    case SW_TYPE_BOOL:
        return json_boolean(v->as.b);
    case SW_TYPE_INT:
        return json_integer((json_int_t)v->as.i);
    case SW_TYPE_DOUBLE:
        if (!isfinite(v->as.d))
            return json_string(nonfinite_name(v->as.d));
        return json_real(v->as.d);
    case SW_TYPE_STRING:
        return json_string(v->as.s);
    case SW_TYPE_JSON: {
        /* Without JSON_DECODE_ANY only an object or an array parses. */
        json_t *j = json_loads(v->as.s, 0, NULL);
        /* The text was promised valid; null beats returning NULL to a caller that cannot check. */
        return j ? j : json_null();
    }
    case SW_TYPE_NULL:
    case SW_TYPE_ANY:
        break;
    }
    return json_null();
}

int sw_value_from_json(const json_t *j, sw_value *out, sw_err *err)
{
    if (!j)
        return sw_err_set(err, "no JSON value");
    switch (json_typeof(j)) {
    case JSON_NULL:
        *out = SW_VALUE_NULL;
        return 0;
    case JSON_TRUE:
        *out = sw_value_bool(1);
        return 0;
    case JSON_FALSE:
        *out = sw_value_bool(0);
        return 0;
    case JSON_INTEGER:
        *out = sw_value_int((int64_t)json_integer_value(j));
        return 0;
    case JSON_REAL:
        *out = sw_value_double(json_real_value(j));
        return 0;
    case JSON_STRING: {
        const char *s = json_string_value(j);
        /* A C string cannot carry U+0000; refuse rather than silently truncate. */
        if (strlen(s) != json_string_length(j))
            return sw_err_set(err, "string contains a NUL character (\\u0000)");
        *out = sw_value_string(s);
        return 0;
    }
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *text = json_dumps(j, JSON_COMPACT);
        if (!text)
            return sw_err_set(err, "cannot serialize JSON value");
        *out = (sw_value){.type = SW_TYPE_JSON, .as.s = sw_xstrdup(text)};
        free(text);
        return 0;
    }
    }
    return sw_err_set(err, "unsupported JSON value");
}

static char *double_text(double d)
{
    if (!isfinite(d))
        return sw_xstrdup(nonfinite_name(d));
    char buf[40];
    /* The shortest of these that reads back to the same double; %.17g always does. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return sw_xstrdup(buf);
}

char *sw_value_to_text(const sw_value *v)
{
    switch (v->type) {
    case SW_TYPE_BOOL:
        return sw_xstrdup(v->as.b ? "true" : "false");
    case SW_TYPE_INT:
        return sw_xasprintf("%" PRId64, v->as.i);
    case SW_TYPE_DOUBLE:
        return double_text(v->as.d);
    case SW_TYPE_STRING:
    case SW_TYPE_JSON:
        return sw_xstrdup(v->as.s);
    case SW_TYPE_NULL:
    case SW_TYPE_ANY:
        break;
    }
    return sw_xstrdup("");
}
