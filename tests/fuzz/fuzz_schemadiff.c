/*
 * fuzz_schemadiff.c - two tool schemas, the input split at "\n===\n": the old
 * one before, the new one after. Each side is a tool definition (the JSON of
 * tools/<name>.json) or a bare JSON Schema.
 */
#include "fuzz_util.h"
#include "store/schemadiff.h"

#define SEP "\n===\n"

static json_t *parse(const char *text, size_t len)
{
    json_error_t jerr;
    return json_loadb(text, len, JSON_DECODE_ANY, &jerr);
}

/* A tool file as the manifest holds it: [{"name", "side_effect", "definition"}].
   def is borrowed. */
static json_t *as_tools(json_t *def)
{
    json_t *arr = json_array();
    if (!json_is_object(def))
        return arr;
    json_t *fn = json_object_get(def, "function");
    json_t *name = json_object_get(fn, "name");
    json_t *se = json_object_get(def, "side_effect");
    json_t *t = json_object();
    json_object_set_new(t, "name", json_is_string(name) ? json_incref(name) : json_string("t"));
    json_object_set_new(t, "side_effect", se ? json_incref(se) : json_string("read_only"));
    json_object_set(t, "definition", def);
    json_array_append_new(arr, t);
    return arr;
}

static void check_changes(const json_t *changes, sw_diff_counts c)
{
    size_t breaking = 0, compatible = 0, i;
    json_t *ch;
    json_array_foreach(changes, i, ch)
    {
        if (!json_is_object(ch) || !json_is_string(json_object_get(ch, "message")) ||
            !json_is_boolean(json_object_get(ch, "breaking")))
            abort();
        if (json_is_true(json_object_get(ch, "breaking")))
            breaking++;
        else
            compatible++;
    }
    if (breaking != c.breaking || compatible != c.compatible)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    char *a, *b;
    size_t alen, blen;
    fz_split(data, size, SEP, &a, &alen, &b, &blen);
    json_t *old = parse(a, alen), *new = parse(b, blen);
    free(a);
    free(b);

    json_t *changes = json_array();
    sw_diff_counts c = sw_schema_diff("t", "", old, new, changes);
    check_changes(changes, c);
    json_decref(changes);

    /* A schema compared with itself has nothing breaking. */
    if (old) {
        changes = json_array();
        c = sw_schema_diff("t", "", old, old, changes);
        check_changes(changes, c);
        if (c.breaking != 0) {
            char *t = json_dumps(changes, JSON_COMPACT);
            fprintf(stderr, "a schema is breaking against itself: %s\n", t);
            free(t);
            abort();
        }
        json_decref(changes);
    }

    json_t *ot = old ? as_tools(old) : NULL;
    json_t *nt = new ? as_tools(new) : NULL;
    changes = json_array();
    c = sw_tools_diff(ot, nt, changes);
    check_changes(changes, c);
    json_decref(changes);
    json_decref(ot);
    json_decref(nt);
    json_decref(old);
    json_decref(new);
    return 0;
}
