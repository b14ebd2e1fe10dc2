/* schemadiff.c - walking two JSON Schemas side by side and classifying each difference. */
#include "schemadiff.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "canon.h"

static void add(json_t *changes, sw_diff_counts *c, const char *tool, const char *path,
                const char *change, int breaking, const char *fmt, ...) SW_PRINTF(7, 8);

static void add(json_t *changes, sw_diff_counts *c, const char *tool, const char *path,
                const char *change, int breaking, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(changes,
                          json_pack("{s:s, s:s, s:s, s:b, s:s}", "tool", tool, "path", path,
                                    "change", change, "breaking", breaking, "message", msg));
    free(msg);
    if (breaking)
        c->breaking++;
    else
        c->compatible++;
}

/* json_equal, but two absent values are equal too. */
static int same(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

static void merge(sw_diff_counts *into, sw_diff_counts add_)
{
    into->breaking += add_.breaking;
    into->compatible += add_.compatible;
}

int sw_side_effect_rank(const char *name)
{
    static const char *const ranks[] = {"read_only", "idempotent", "mutating", "irreversible"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, ranks[i]) == 0)
            return i;
    return -1;
}

/* ---- types ---- */

enum {
    T_STRING = 1,
    T_NUMBER = 2,
    T_INTEGER = 4,
    T_BOOLEAN = 8,
    T_OBJECT = 16,
    T_ARRAY = 32,
    T_NULL = 64,
    T_ALL = 127
};

static unsigned type_bit(const char *name)
{
    static const char *const names[] = {"string", "number", "integer", "boolean",
                                        "object", "array",  "null"};
    for (unsigned i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0)
            return 1u << i;
    return 0;
}

static unsigned type_set(const json_t *schema)
{
    const json_t *t = json_object_get(schema, "type");
    if (!t)
        return T_ALL;
    if (json_is_string(t))
        return type_bit(json_string_value(t));
    unsigned set = 0;
    size_t i;
    json_t *v;
    json_array_foreach(t, i, v)
    {
        if (json_is_string(v))
            set |= type_bit(json_string_value(v));
    }
    return set;
}

/* Does the set b accept every value of set a? An integer is a number. */
static int covers(unsigned b, unsigned a)
{
    if (b & T_NUMBER)
        b |= T_INTEGER;
    return (a & ~b) == 0;
}

static char *type_text(const json_t *schema)
{
    const json_t *t = json_object_get(schema, "type");
    if (!t)
        return sw_xstrdup("any");
    if (json_is_string(t))
        return sw_xstrdup(json_string_value(t));
    return json_dumps(t, JSON_COMPACT);
}

/* ---- keyword helpers ---- */

static char *sub_path(const char *path, const char *name)
{
    return *path ? sw_xasprintf("%s.%s", path, name) : sw_xstrdup(name);
}

static const char *shown(const char *path)
{
    return *path ? path : "(parameters)";
}

static int array_contains(const json_t *arr, const json_t *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (same(x, v))
            return 1;
    }
    return 0;
}

/* The allowed values of a schema as an array (enum, or const as one value), or NULL: any. */
static json_t *allowed_values(const json_t *schema)
{
    json_t *e = json_object_get(schema, "enum");
    if (json_is_array(e))
        return json_incref(e);
    json_t *c = json_object_get(schema, "const");
    if (c)
        return json_pack("[O]", c);
    return NULL;
}

static void diff_enum(const char *tool, const char *path, const json_t *o, const json_t *n,
                      json_t *changes, sw_diff_counts *c)
{
    json_t *a = allowed_values(o), *b = allowed_values(n);
    if (!a && b)
        add(changes, c, tool, path, "enum_narrowed", 1, "%s: now restricted to %zu value(s)",
            shown(path), json_array_size(b));
    else if (a && !b)
        add(changes, c, tool, path, "enum_widened", 0, "%s: no longer restricted to listed values",
            shown(path));
    else if (a && b) {
        size_t removed = 0, added = 0;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            removed += !array_contains(b, v);
        }
        json_array_foreach(b, i, v)
        {
            added += !array_contains(a, v);
        }
        if (removed) {
            sw_buf names = {0};
            json_array_foreach(a, i, v)
            {
                if (!array_contains(b, v)) {
                    char *t = sw_json_text(v);
                    sw_buf_printf(&names, "%s%s", names.len ? ", " : "", t);
                    free(t);
                }
            }
            add(changes, c, tool, path, "enum_narrowed", 1, "%s: value(s) %s no longer allowed",
                shown(path), names.data);
            sw_buf_free(&names);
        } else if (added)
            add(changes, c, tool, path, "enum_widened", 0, "%s: %zu value(s) added", shown(path),
                added);
    }
    json_decref(a);
    json_decref(b);
}

/* A numeric bound. lower: a larger new value narrows; upper: a smaller one does. */
static void diff_bound(const char *tool, const char *path, const char *kw, int lower,
                       const json_t *o, const json_t *n, json_t *changes, sw_diff_counts *c)
{
    const json_t *a = json_object_get(o, kw), *b = json_object_get(n, kw);
    if (!a && !b)
        return;
    if (a && b && json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        if (x == y)
            return;
        int narrowed = lower ? y > x : y < x;
        add(changes, c, tool, path, narrowed ? "constraint_narrowed" : "constraint_widened",
            narrowed, "%s: %s changed from %g to %g", shown(path), kw, x, y);
        return;
    }
    if (!a && json_is_number(b))
        add(changes, c, tool, path, "constraint_narrowed", 1, "%s: %s %g added", shown(path), kw,
            json_number_value(b));
    else if (a && !b)
        add(changes, c, tool, path, "constraint_widened", 0, "%s: %s removed", shown(path), kw);
    else
        add(changes, c, tool, path, "keyword_changed", 1, "%s: %s changed", shown(path), kw);
}

/* A keyword whose any addition or change narrows (pattern, format, multipleOf). */
static void diff_restricting(const char *tool, const char *path, const char *kw, const json_t *o,
                             const json_t *n, json_t *changes, sw_diff_counts *c)
{
    const json_t *a = json_object_get(o, kw), *b = json_object_get(n, kw);
    if (!a && !b)
        return;
    if (same(a, b))
        return;
    if (a && !b)
        add(changes, c, tool, path, "constraint_widened", 0, "%s: %s removed", shown(path), kw);
    else
        add(changes, c, tool, path, "constraint_narrowed", 1, "%s: %s %s", shown(path), kw,
            a ? "changed" : "added");
}

static int is_handled(const char *kw)
{
    static const char *const handled[] = {"type",
                                          "enum",
                                          "const",
                                          "properties",
                                          "required",
                                          "items",
                                          "additionalProperties",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum",
                                          "minLength",
                                          "maxLength",
                                          "minItems",
                                          "maxItems",
                                          "minProperties",
                                          "maxProperties",
                                          "pattern",
                                          "format",
                                          "multipleOf",
                                          "uniqueItems",
                                          "description",
                                          "title",
                                          "examples",
                                          "default",
                                          "$comment",
                                          "deprecated"};
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
        if (strcmp(kw, handled[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return sw_canon_keycmp(*(const char *const *)a, *(const char *const *)b);
}

/* The union of the keys of two objects (either may be NULL), sorted so that
   reports are the same on every run. */
static const char **key_union(const json_t *a, const json_t *b, size_t *n)
{
    size_t cap = json_object_size(a) + json_object_size(b) + 1, k = 0;
    const char **keys = sw_xmalloc(cap * sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v)
    {
        keys[k++] = key;
    }
    json_object_foreach((json_t *)b, key, v)
    {
        if (!json_object_get(a, key))
            keys[k++] = key;
    }
    qsort(keys, k, sizeof *keys, cmp_str);
    *n = k;
    return keys;
}

static int required_has(const json_t *schema, const char *name)
{
    json_t *req = json_object_get(schema, "required");
    size_t i;
    json_t *v;
    json_array_foreach(req, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}

static void diff_properties(const char *tool, const char *path, const json_t *o, const json_t *n,
                            json_t *changes, sw_diff_counts *c)
{
    const json_t *po = json_object_get(o, "properties"), *pn = json_object_get(n, "properties");
    size_t nk;
    const char **keys = key_union(po, pn, &nk);
    for (size_t i = 0; i < nk; i++) {
        const char *name = keys[i];
        json_t *a = json_object_get(po, name), *b = json_object_get(pn, name);
        char *p = sub_path(path, name);
        int req_o = required_has(o, name), req_n = required_has(n, name);
        if (a && !b)
            add(changes, c, tool, p, "property_removed", 1, "property '%s' removed", p);
        else if (!a && b) {
            if (req_n)
                add(changes, c, tool, p, "required_property_added", 1, "new required property '%s'",
                    p);
            else
                add(changes, c, tool, p, "property_added", 0, "new optional property '%s'", p);
        } else {
            if (!req_o && req_n)
                add(changes, c, tool, p, "property_now_required", 1,
                    "property '%s' is now required", p);
            else if (req_o && !req_n)
                add(changes, c, tool, p, "property_now_optional", 0,
                    "property '%s' is now optional", p);
            merge(c, sw_schema_diff(tool, p, a, b, changes));
        }
        free(p);
    }
    free(keys);
    /* "required" naming a property that no schema defines still binds callers. */
    json_t *ro = json_object_get(o, "required"), *rn = json_object_get(n, "required");
    size_t i;
    json_t *v;
    json_array_foreach(rn, i, v)
    {
        const char *name = json_string_value(v);
        if (name && !json_object_get(pn, name) && !array_contains(ro, v)) {
            char *p = sub_path(path, name);
            add(changes, c, tool, p, "property_now_required", 1, "property '%s' is now required",
                p);
            free(p);
        }
    }
}

static void diff_additional(const char *tool, const char *path, const json_t *o, const json_t *n,
                            json_t *changes, sw_diff_counts *c)
{
    const json_t *a = json_object_get(o, "additionalProperties");
    const json_t *b = json_object_get(n, "additionalProperties");
    int open_a = !a || json_is_true(a), open_b = !b || json_is_true(b);
    if (open_a && open_b)
        return;
    if (json_is_object(a) && json_is_object(b)) {
        char *p = sw_xasprintf("%s{*}", path);
        merge(c, sw_schema_diff(tool, p, a, b, changes));
        free(p);
    } else if (same(a, b))
        return;
    else if (open_a)
        add(changes, c, tool, path, "additional_properties_narrowed", 1,
            "%s: additional properties no longer accepted", shown(path));
    else if (open_b)
        add(changes, c, tool, path, "additional_properties_widened", 0,
            "%s: additional properties now accepted", shown(path));
    else
        add(changes, c, tool, path, "keyword_changed", 1, "%s: additionalProperties changed",
            shown(path));
}

sw_diff_counts sw_schema_diff(const char *tool, const char *path, const json_t *o, const json_t *n,
                              json_t *changes)
{
    sw_diff_counts c = {0, 0};
    if (same(o, n))
        return c;
    /* Boolean schemas and other non-objects: compare as a whole. */
    if (!json_is_object(o) || !json_is_object(n)) {
        add(changes, &c, tool, path, "keyword_changed", 1, "%s: schema changed", shown(path));
        return c;
    }

    unsigned to = type_set(o), tn = type_set(n);
    if (to != tn) {
        char *a = type_text(o), *b = type_text(n);
        if (covers(tn, to))
            add(changes, &c, tool, path, "type_widened", 0, "%s: type widened from %s to %s",
                shown(path), a, b);
        else if (covers(to, tn))
            add(changes, &c, tool, path, "type_narrowed", 1, "%s: type narrowed from %s to %s",
                shown(path), a, b);
        else
            add(changes, &c, tool, path, "type_changed", 1, "%s: type changed from %s to %s",
                shown(path), a, b);
        free(a);
        free(b);
    }
    diff_enum(tool, path, o, n, changes, &c);
    diff_bound(tool, path, "minimum", 1, o, n, changes, &c);
    diff_bound(tool, path, "exclusiveMinimum", 1, o, n, changes, &c);
    diff_bound(tool, path, "minLength", 1, o, n, changes, &c);
    diff_bound(tool, path, "minItems", 1, o, n, changes, &c);
    diff_bound(tool, path, "minProperties", 1, o, n, changes, &c);
    diff_bound(tool, path, "maximum", 0, o, n, changes, &c);
    diff_bound(tool, path, "exclusiveMaximum", 0, o, n, changes, &c);
    diff_bound(tool, path, "maxLength", 0, o, n, changes, &c);
    diff_bound(tool, path, "maxItems", 0, o, n, changes, &c);
    diff_bound(tool, path, "maxProperties", 0, o, n, changes, &c);
    diff_restricting(tool, path, "pattern", o, n, changes, &c);
    diff_restricting(tool, path, "format", o, n, changes, &c);
    diff_restricting(tool, path, "multipleOf", o, n, changes, &c);
    if (!json_is_true(json_object_get(o, "uniqueItems")) &&
        json_is_true(json_object_get(n, "uniqueItems")))
        add(changes, &c, tool, path, "constraint_narrowed", 1, "%s: items must now be unique",
            shown(path));
    else if (json_is_true(json_object_get(o, "uniqueItems")) &&
             !json_is_true(json_object_get(n, "uniqueItems")))
        add(changes, &c, tool, path, "constraint_widened", 0, "%s: items no longer need be unique",
            shown(path));

    diff_properties(tool, path, o, n, changes, &c);
    diff_additional(tool, path, o, n, changes, &c);

    const json_t *io = json_object_get(o, "items"), *in = json_object_get(n, "items");
    if (io || in) {
        char *p = sw_xasprintf("%s[]", path);
        if (io && in)
            merge(&c, sw_schema_diff(tool, p, io, in, changes));
        else if (!io)
            add(changes, &c, tool, p, "constraint_narrowed", 1, "%s: item schema added", p);
        else
            add(changes, &c, tool, p, "constraint_widened", 0, "%s: item schema removed", p);
        free(p);
    }

    if (!same(json_object_get(o, "description"), json_object_get(n, "description")))
        add(changes, &c, tool, path, "description_changed", 0, "%s: description changed",
            shown(path));
    static const char *const annotations[] = {"title", "examples", "default", "$comment",
                                              "deprecated"};
    for (size_t i = 0; i < sizeof annotations / sizeof annotations[0]; i++)
        if (!same(json_object_get(o, annotations[i]), json_object_get(n, annotations[i])))
            add(changes, &c, tool, path, "annotation_changed", 0, "%s: %s changed", shown(path),
                annotations[i]);

    /* Keywords whose effect on the accepted calls cannot be judged here. */
    size_t nk;
    const char **keys = key_union(o, n, &nk);
    for (size_t i = 0; i < nk; i++) {
        if (is_handled(keys[i]))
            continue;
        if (!same(json_object_get(o, keys[i]), json_object_get(n, keys[i])))
            add(changes, &c, tool, path, "keyword_changed", 1,
                "%s: '%s' changed (cannot tell whether calls still validate)", shown(path),
                keys[i]);
    }
    free(keys);
    return c;
}

static const json_t *find_tool(const json_t *tools, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *tn = json_string_value(json_object_get(t, "name"));
        if (tn && strcmp(tn, name) == 0)
            return t;
    }
    return NULL;
}

static const json_t *function_of(const json_t *tool)
{
    return json_object_get(json_object_get(tool, "definition"), "function");
}

static void diff_tool(const json_t *a, const json_t *b, json_t *changes, sw_diff_counts *c)
{
    const char *name = json_string_value(json_object_get(a, "name"));
    const char *se_a = json_string_value(json_object_get(a, "side_effect"));
    const char *se_b = json_string_value(json_object_get(b, "side_effect"));
    if (se_a && se_b && strcmp(se_a, se_b) != 0) {
        int up = sw_side_effect_rank(se_b) > sw_side_effect_rank(se_a);
        add(changes, c, name, "", "side_effect_changed", up, "side effect %s from %s to %s",
            up ? "escalated" : "reduced", se_a, se_b);
    }
    const json_t *fa = function_of(a), *fb = function_of(b);
    if (!same(json_object_get(fa, "description"), json_object_get(fb, "description")))
        add(changes, c, name, "", "description_changed", 0, "tool description changed");
    if (!same(json_object_get(fa, "strict"), json_object_get(fb, "strict")))
        add(changes, c, name, "", "annotation_changed", 0, "strict mode changed");
    const json_t *pa = json_object_get(fa, "parameters"), *pb = json_object_get(fb, "parameters");
    if (!pa && !pb)
        return;
    if (pa && pb) {
        merge(c, sw_schema_diff(name, "", pa, pb, changes));
        return;
    }
    /* No parameters means no arguments: adding a schema restricts, dropping it widens. */
    if (!pa) {
        json_t *none = json_object();
        merge(c, sw_schema_diff(name, "", none, pb, changes));
        json_decref(none);
    } else
        add(changes, c, name, "", "keyword_changed", 1, "parameters schema removed");
}

sw_diff_counts sw_tools_diff(const json_t *old_tools, const json_t *new_tools, json_t *changes)
{
    sw_diff_counts c = {0, 0};
    size_t i;
    json_t *t;
    json_array_foreach(old_tools, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name)
            continue;
        const json_t *u = find_tool(new_tools, name);
        if (!u)
            add(changes, &c, name, "", "tool_removed", 1, "tool removed");
        else
            diff_tool(t, u, changes, &c);
    }
    json_array_foreach(new_tools, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name && !find_tool(old_tools, name))
            add(changes, &c, name, "", "tool_added", 0, "tool added");
    }
    return c;
}
