/*
 * assert_json.c - is-json (the whole answer is JSON) and contains-json (the
 * answer holds a JSON object or array somewhere), each with an optional
 * JSON Schema as the value (see schema.h).
 */
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "schema.h"

static int prepare_schema(ev_assert *a, sw_err *err)
{
    if (!a->value)
        return 0;
    if (!json_is_object(a->value) && !json_is_boolean(a->value))
        return sw_err_set(err, "value must be a JSON Schema (a mapping)");
    a->priv = ev_schema_compile(a->value, err);
    return a->priv ? 0 : -1;
}

static void release_schema(ev_assert *a)
{
    ev_schema_free(a->priv);
    a->priv = NULL;
}

static void eval_is_json(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *text = s->out && s->out->text ? s->out->text : "";
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j) {
        ev_result_set(r, EV_FAIL, 0, "output is not JSON: %s (column %d)", je.text, je.column);
        return;
    }
    sw_err why;
    if (a->priv && ev_schema_validate(a->priv, j, &why))
        ev_result_set(r, EV_FAIL, 0, "output is JSON but does not fit the schema: %s", why.msg);
    else
        ev_result_set(r, EV_PASS, 1,
                      a->priv ? "output is JSON that fits the schema" : "output is JSON");
    json_decref(j);
}

#define MAX_STARTS 256 /* candidate '{' or '[' positions tried */

static void eval_contains_json(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const char *text = s->out && s->out->text ? s->out->text : "";
    size_t len = strlen(text), tried = 0;
    int found = 0;
    sw_err why = {{0}};
    for (const char *p = text; *p && tried < MAX_STARTS; p++) {
        if (*p != '{' && *p != '[')
            continue;
        tried++;
        json_error_t je;
        json_t *j = json_loadb(p, len - (size_t)(p - text), JSON_DISABLE_EOF_CHECK, &je);
        if (!j)
            continue;
        found = 1;
        int ok = !a->priv || ev_schema_validate(a->priv, j, &why) == 0;
        json_decref(j);
        if (ok) {
            ev_result_set(r, EV_PASS, 1, "output contains JSON%s",
                          a->priv ? " that fits the schema" : "");
            return;
        }
    }
    if (found)
        ev_result_set(r, EV_FAIL, 0, "output contains JSON, none of it fits the schema: %s",
                      why.msg);
    else
        ev_result_set(r, EV_FAIL, 0, "output contains no JSON object or array");
}

const ev_kind ev_kind_is_json = {"is-json", EV_K_NEGATABLE, prepare_schema, eval_is_json,
                                 release_schema};
const ev_kind ev_kind_contains_json = {"contains-json", EV_K_NEGATABLE, prepare_schema,
                                       eval_contains_json, release_schema};
