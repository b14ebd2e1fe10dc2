/* reldiff.c - comparing two manifests section by section. */
#include "reldiff.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "canon.h"
#include "schemadiff.h"
#include "textdiff.h"

static int same(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

static int cmp_str(const void *a, const void *b)
{
    return sw_canon_keycmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **sorted_union(const json_t *a, const json_t *b, size_t *n)
{
    size_t k = 0;
    const char **keys = sw_xmalloc((json_object_size(a) + json_object_size(b) + 1) * sizeof *keys);
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

/* [{"name", "from", "to"}] for every key whose value differs. */
static json_t *diff_values(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    size_t n;
    const char **keys = sorted_union(a, b, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
        if (!same(x, y))
            json_array_append_new(
                out, json_pack("{s:s, s:O?, s:O?}", "name", keys[i], "from", x, "to", y));
    }
    free(keys);
    return out;
}

static const char *prompt_text(const json_t *prompts, const char *name)
{
    return json_string_value(json_object_get(json_object_get(prompts, name), "text"));
}

static json_t *diff_prompts(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    size_t n;
    const char **keys = sorted_union(a, b, &n);
    for (size_t i = 0; i < n; i++) {
        const char *x = prompt_text(a, keys[i]), *y = prompt_text(b, keys[i]);
        if (x && y && strcmp(x, y) == 0)
            continue;
        const char *change = !x ? "added" : !y ? "removed" : "modified";
        char *la = sw_xasprintf("a/%s", keys[i]), *lb = sw_xasprintf("b/%s", keys[i]);
        size_t added, removed;
        char *d = sw_text_diff(x ? x : "", y ? y : "", la, lb, &added, &removed);
        if (!*d) {
            free(d);
            d = sw_xstrdup("(only whitespace at the end of the text differs)\n");
        }
        json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:I, s:s}", "name", keys[i], "change",
                                             change, "added_lines", (json_int_t)added,
                                             "removed_lines", (json_int_t)removed, "diff", d));
        free(d);
        free(la);
        free(lb);
    }
    free(keys);
    return out;
}

static char *model_text(const json_t *model)
{
    if (!json_is_object(model))
        return sw_xstrdup("(none)");
    return sw_xasprintf("%s/%s", json_string_value(json_object_get(model, "provider")),
                        json_string_value(json_object_get(model, "name")));
}

static void summarize(json_t *d, int first)
{
    sw_buf s = {0};
    json_t *to_model = json_object_get(json_object_get(d, "model"), "to");
    if (first) {
        char *m = model_text(to_model);
        sw_buf_printf(&s, "first release: model %s", m);
        free(m);
    } else if (json_is_true(json_object_get(d, "identical"))) {
        json_object_set_new(d, "summary", json_string("no changes"));
        return;
    } else {
        const char *sep = "";
        json_t *model = json_object_get(d, "model");
        if (json_is_object(model)) {
            char *a = model_text(json_object_get(model, "from")), *b = model_text(to_model);
            sw_buf_printf(&s, "model %s -> %s", a, b);
            sep = "; ";
            free(a);
            free(b);
        }
        size_t np = json_array_size(json_object_get(d, "parameters"));
        if (np) {
            sw_buf_printf(&s, "%s%zu parameter(s) changed", sep, np);
            sep = "; ";
        }
        if (json_array_size(json_object_get(d, "pricing"))) {
            sw_buf_printf(&s, "%spricing changed", sep);
            sep = "; ";
        }
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(d, "prompts"), i, p)
        {
            sw_buf_printf(&s, "%sprompt '%s' %s (+%lld -%lld lines)", sep,
                          json_string_value(json_object_get(p, "name")),
                          json_string_value(json_object_get(p, "change")),
                          (long long)json_integer_value(json_object_get(p, "added_lines")),
                          (long long)json_integer_value(json_object_get(p, "removed_lines")));
            sep = "; ";
        }
        if (json_is_object(json_object_get(d, "source"))) {
            sw_buf_printf(&s, "%ssource changed", sep);
            sep = "; ";
        }
    }
    sw_buf_printf(&s, "%stools: %lld breaking, %lld compatible change(s)", s.len ? "; " : "",
                  (long long)json_integer_value(json_object_get(d, "breaking_changes")),
                  (long long)json_integer_value(json_object_get(d, "compatible_changes")));
    json_object_set_new(d, "summary", json_string(s.data));
    sw_buf_free(&s);
}

json_t *sw_release_diff(const json_t *old_m, const json_t *new_m)
{
    json_t *d = json_object();
    json_object_set(d, "from", old_m ? json_object_get(old_m, "id") : json_null());
    json_object_set(d, "to", json_object_get(new_m, "id"));
    if (!json_object_get(d, "from"))
        json_object_set_new(d, "from", json_null());
    if (!json_object_get(d, "to"))
        json_object_set_new(d, "to", json_null());

    const json_t *om = old_m ? json_object_get(old_m, "model") : NULL;
    const json_t *nm = json_object_get(new_m, "model");
    json_object_set_new(
        d, "model", same(om, nm) ? json_null() : json_pack("{s:O?, s:O?}", "from", om, "to", nm));
    json_object_set_new(d, "parameters",
                        diff_values(old_m ? json_object_get(old_m, "parameters") : NULL,
                                    json_object_get(new_m, "parameters")));
    json_object_set_new(d, "pricing",
                        diff_values(old_m ? json_object_get(old_m, "pricing") : NULL,
                                    json_object_get(new_m, "pricing")));
    json_object_set_new(d, "prompts",
                        diff_prompts(old_m ? json_object_get(old_m, "prompts") : NULL,
                                     json_object_get(new_m, "prompts")));
    json_t *tools = json_array();
    sw_diff_counts c = sw_tools_diff(old_m ? json_object_get(old_m, "tools") : NULL,
                                     json_object_get(new_m, "tools"), tools);
    json_object_set_new(d, "tools", tools);
    const json_t *os = old_m ? json_object_get(old_m, "source") : NULL;
    const json_t *ns = json_object_get(new_m, "source");
    json_object_set_new(d, "source",
                        !old_m || same(os, ns) ? json_null()
                                               : json_pack("{s:O?, s:O?}", "from", os, "to", ns));
    json_object_set_new(d, "breaking_changes", json_integer((json_int_t)c.breaking));
    json_object_set_new(d, "compatible_changes", json_integer((json_int_t)c.compatible));

    /* Identical content: everything but the release record itself. */
    int identical = 0;
    if (old_m) {
        const char *dig_a = json_string_value(json_object_get(old_m, "digest"));
        const char *dig_b = json_string_value(json_object_get(new_m, "digest"));
        identical = dig_a && dig_b && strcmp(dig_a, dig_b) == 0;
    }
    json_object_set_new(d, "identical", json_boolean(identical));
    summarize(d, old_m == NULL);
    return d;
}

static void text_value(sw_buf *b, const json_t *v)
{
    if (!v || json_is_null(v)) {
        sw_buf_puts(b, "(unset)");
        return;
    }
    char *t = sw_canon_json(v, NULL);
    sw_buf_puts(b, t);
    free(t);
}

char *sw_release_diff_text(const json_t *d)
{
    sw_buf b = {0};
    const char *from = json_string_value(json_object_get(d, "from"));
    const char *to = json_string_value(json_object_get(d, "to"));
    sw_buf_printf(&b, "release %s -> %s\n%s\n", from ? from : "(none)", to ? to : "(none)",
                  json_string_value(json_object_get(d, "summary")));
    json_t *model = json_object_get(d, "model");
    if (json_is_object(model)) {
        char *a = model_text(json_object_get(model, "from"));
        char *c = model_text(json_object_get(model, "to"));
        sw_buf_printf(&b, "\nmodel: %s -> %s\n", a, c);
        free(a);
        free(c);
    }
    static const char *const sections[] = {"parameters", "pricing"};
    for (size_t s = 0; s < 2; s++) {
        json_t *list = json_object_get(d, sections[s]);
        if (!json_array_size(list))
            continue;
        sw_buf_printf(&b, "\n%s:\n", sections[s]);
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p)
        {
            sw_buf_printf(&b, "  %s: ", json_string_value(json_object_get(p, "name")));
            text_value(&b, json_object_get(p, "from"));
            sw_buf_puts(&b, " -> ");
            text_value(&b, json_object_get(p, "to"));
            sw_buf_puts(&b, "\n");
        }
    }
    json_t *tools = json_object_get(d, "tools");
    if (json_array_size(tools)) {
        sw_buf_puts(&b, "\ntools:\n");
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t)
        {
            sw_buf_printf(&b, "  %-10s %s: %s\n",
                          json_is_true(json_object_get(t, "breaking")) ? "BREAKING" : "compatible",
                          json_string_value(json_object_get(t, "tool")),
                          json_string_value(json_object_get(t, "message")));
        }
    }
    json_t *src = json_object_get(d, "source");
    if (json_is_object(src)) {
        sw_buf_puts(&b, "\nsource: ");
        text_value(&b, json_object_get(src, "from"));
        sw_buf_puts(&b, " -> ");
        text_value(&b, json_object_get(src, "to"));
        sw_buf_puts(&b, "\n");
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(d, "prompts"), i, p)
    {
        sw_buf_printf(&b, "\nprompt '%s' (%s):\n%s", json_string_value(json_object_get(p, "name")),
                      json_string_value(json_object_get(p, "change")),
                      json_string_value(json_object_get(p, "diff")));
    }
    return sw_buf_steal(&b);
}
