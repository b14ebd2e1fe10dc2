/* params.c - `with:` checked against a parameter table, then bound into a config struct. */
#include "params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "pipeline.h"

#define SECRET_TEXT "***"

static int is_duration(const sw_param *p)
{
    return p->type == SW_TYPE_INT && (p->flags & SW_PARAM_DURATION);
}

static const char *param_type_name(const sw_param *p)
{
    if (is_duration(p))
        return "a duration";
    return sw_type_name(p->type);
}

static size_t field_size(sw_type t)
{
    switch (t) {
    case SW_TYPE_BOOL:
        return sizeof(int);
    case SW_TYPE_INT:
        return sizeof(int64_t);
    case SW_TYPE_DOUBLE:
        return sizeof(double);
    case SW_TYPE_STRING:
    case SW_TYPE_JSON:
    case SW_TYPE_ANY:
        return sizeof(char *);
    case SW_TYPE_NULL:
        break;
    }
    return 0;
}

static int holds_text(sw_type t)
{
    return t == SW_TYPE_STRING || t == SW_TYPE_JSON || t == SW_TYPE_ANY;
}

/* A scalar that is written with "${" at all (a reference or an escape) goes
   through the reference resolver; anything else is a plain literal. */
static int has_dollar_brace(const sw_ynode *n)
{
    return n && n->kind == SW_YAML_SCALAR && strstr(n->text, "${") != NULL;
}

/* Seconds (an int or a double) or a duration string, in milliseconds. */
static int duration_ms(const sw_value *v, int64_t *ms, sw_err *err)
{
    switch (v->type) {
    case SW_TYPE_INT:
        if (v->as.i > INT64_MAX / 1000 || v->as.i < INT64_MIN / 1000)
            return sw_err_set(err, "duration of %lld seconds is too long", (long long)v->as.i);
        *ms = v->as.i * 1000;
        break;
    case SW_TYPE_DOUBLE:
        if (!isfinite(v->as.d) || fabs(v->as.d) >= 9.2e15)
            return sw_err_set(err, "duration of %g seconds is out of range", v->as.d);
        *ms = (int64_t)llround(v->as.d * 1000);
        break;
    case SW_TYPE_STRING:
        if (sw_parse_duration(v->as.s, ms, err) < 0)
            return -1;
        break;
    default:
        return sw_err_set(err, "expected a duration, got %s", sw_type_name(v->type));
    }
    if (*ms < 0)
        return sw_err_set(err, "a duration cannot be negative");
    return 0;
}

/* ---- checking literals ---- */

/* Why a literal node (NULL: an empty value) does not fit p, or NULL when it does.
   The message is malloc'd. */
static char *literal_mismatch(const sw_param *p, const sw_ynode *n)
{
    sw_err err;
    if (n && n->kind != SW_YAML_SCALAR) {
        if (p->type != SW_TYPE_JSON && p->type != SW_TYPE_ANY)
            return sw_xasprintf("expects %s, but the value is a %s", param_type_name(p),
                                sw_ynode_kind_name(n->kind));
        json_t *j = sw_yaml_to_json(n, &err);
        if (!j)
            return sw_xstrdup(err.msg);
        json_decref(j);
        return NULL;
    }
    if (!n && p->type == SW_TYPE_STRING)
        return NULL; /* an empty default is the empty string */
    sw_value v = SW_VALUE_NULL;
    if (n && sw_yaml_scalar_value(n, &v, &err) < 0)
        return sw_xstrdup(err.msg);
    const char *text = n ? n->text : "";
    char *why = NULL;
    int64_t ms;
    switch (p->type) {
    case SW_TYPE_ANY:
        break;
    case SW_TYPE_BOOL:
        if (v.type != SW_TYPE_BOOL)
            goto mismatch;
        break;
    case SW_TYPE_INT:
        if (is_duration(p) &&
            (v.type == SW_TYPE_INT || v.type == SW_TYPE_DOUBLE || v.type == SW_TYPE_STRING)) {
            if (duration_ms(&v, &ms, &err) < 0)
                why = sw_xstrdup(err.msg);
        } else if (v.type != SW_TYPE_INT) {
            goto mismatch;
        }
        break;
    case SW_TYPE_DOUBLE:
        if (v.type != SW_TYPE_INT && v.type != SW_TYPE_DOUBLE)
            goto mismatch;
        break;
    case SW_TYPE_STRING:
        if (v.type == SW_TYPE_NULL)
            why = sw_xstrdup("expects string, but the value is null (write \"\" for an empty "
                             "string)");
        break;
    case SW_TYPE_JSON:
        why = sw_xasprintf("expects json (a mapping or a sequence), but '%s' is a scalar", text);
        break;
    case SW_TYPE_NULL:
        why = sw_xstrdup("has no type (null)");
        break;
    }
    sw_value_free(&v);
    return why;
mismatch:
    if (v.type == SW_TYPE_NULL)
        why = sw_xasprintf("expects %s, but the value is null", param_type_name(p));
    else
        why = sw_xasprintf("expects %s, but '%s' is %s %s", param_type_name(p), text,
                           v.type == SW_TYPE_INT ? "an" : "a", sw_type_name(v.type));
    sw_value_free(&v);
    return why;
}

static const sw_param *find_param(const sw_param *params, const char *name)
{
    for (const sw_param *p = params; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static size_t errors_of(const sw_diags *d)
{
    return sw_diags_errors(d);
}

/* The errors sw_refs_check_node added (at least one when it failed, even
   without diags to count in). */
static int ref_errors(const sw_diags *d, size_t before, int rc)
{
    int added = (int)(errors_of(d) - before);
    return rc < 0 && added == 0 ? 1 : added;
}

static int check_value(const sw_param *p, const sw_ydoc *doc, const sw_ynode *v,
                       const char *stage_id, sw_scope_fn scope, void *ud, sw_diags *d)
{
    sw_pos pos = sw_ynode_pos(doc, v);
    int errors = 0;
    if (has_dollar_brace(v) && sw_refs_has_any(v->text)) {
        size_t before = errors_of(d);
        sw_type t;
        int rc = sw_refs_check_node(doc, v, scope, ud, &t, d);
        if (rc < 0)
            return ref_errors(d, before, rc);
        if (!sw_type_compatible(t, p->type) && !(is_duration(p) && t == SW_TYPE_STRING)) {
            sw_diag_error(d, pos, "stage '%s': parameter '%s' expects %s, but '%s' is %s %s",
                          stage_id, p->name, param_type_name(p), v->text,
                          t == SW_TYPE_INT ? "an" : "a", sw_type_name(t));
            errors++;
        }
        return errors;
    }
    char *why = literal_mismatch(p, v);
    if (why) {
        /* "parameter 'x' expects int, but ..." reads as a sentence; other reasons follow a colon.
         */
        const char *sep = strncmp(why, "expects", 7) == 0 ? " " : ": ";
        sw_diag_error(d, pos, "stage '%s': parameter '%s'%s%s", stage_id, p->name, sep, why);
        free(why);
        errors++;
    }
    if (v->kind != SW_YAML_SCALAR) {
        size_t before = errors_of(d);
        int rc = sw_refs_check_node(doc, v, scope, ud, NULL, d);
        errors += rc < 0 ? ref_errors(d, before, rc) : 0;
    }
    return errors;
}

int sw_params_check(const sw_param *params, const sw_ydoc *doc, const sw_ynode *stage,
                    const sw_ynode *with, const char *stage_id, sw_scope_fn scope, void *ud,
                    sw_diags *d)
{
    int errors = 0;
    size_t n_params = 0;
    while (params && params[n_params].name)
        n_params++;
    const char **names = sw_xcalloc(n_params + 1, sizeof *names);
    for (size_t i = 0; i < n_params; i++)
        names[i] = params[i].name;

    if (with && with->kind != SW_YAML_MAP) {
        sw_diag_error(d, sw_ynode_pos(doc, with), "stage '%s': 'with' must be a mapping", stage_id);
        free(names);
        return 1;
    }
    for (size_t i = 0; with && i < with->n; i++) {
        const sw_ynode *key = with->keys[i];
        const sw_param *p = find_param(params, key->text);
        if (!p) {
            const char *hint = sw_did_you_mean(key->text, names, n_params);
            if (hint)
                sw_diag_error(d, sw_ynode_pos(doc, key),
                              "stage '%s': unknown parameter '%s' (did you mean '%s'?)", stage_id,
                              key->text, hint);
            else
                sw_diag_error(d, sw_ynode_pos(doc, key), "stage '%s': unknown parameter '%s'",
                              stage_id, key->text);
            errors++;
            continue;
        }
        errors += check_value(p, doc, with->items[i], stage_id, scope, ud, d);
    }
    const sw_ynode *at = with ? with : stage;
    sw_pos where = at ? sw_ynode_pos(doc, at) : (sw_pos){doc ? doc->file : NULL, 0, 0};
    for (size_t i = 0; i < n_params; i++) {
        if ((params[i].flags & SW_PARAM_REQUIRED) && !sw_ynode_get(with, params[i].name)) {
            sw_diag_error(d, where, "stage '%s': missing required parameter '%s'", stage_id,
                          params[i].name);
            errors++;
        }
    }
    free(names);
    return errors;
}

int sw_param_default_valid(const sw_param *param, sw_err *err)
{
    if (field_size(param->type) == 0)
        return sw_err_set(err, "parameter '%s' has no usable type", param->name);
    if (!param->default_value)
        return 0;
    if (param->flags & SW_PARAM_REQUIRED)
        return sw_err_set(err, "parameter '%s' is required, so it cannot have a default",
                          param->name);
    const char *text = param->default_value;
    sw_ydoc *doc = sw_yaml_parse_string(text, strlen(text), "default", NULL);
    if (!doc)
        return sw_err_set(err, "parameter '%s': default '%s' is not valid YAML", param->name, text);
    char *why = literal_mismatch(param, doc->root);
    sw_ydoc_free(doc);
    if (why) {
        sw_err_set(err, "parameter '%s': default '%s' does not fit: %s", param->name, text, why);
        free(why);
        return -1;
    }
    return 0;
}

/* ---- binding ---- */

static json_t *resolved_json(const sw_ynode *n, const sw_context *ctx, int resolve, int *secret,
                             sw_err *err);

/* One scalar as a value: references resolved (when resolve) and escapes undone;
   as_text keeps a literal's text as written, so `5` given to a string stays "5". */
static int scalar_value(const sw_ynode *n, const sw_context *ctx, int resolve, int as_text,
                        sw_value *out, int *secret, sw_err *err)
{
    if (!n) {
        *out = as_text ? sw_value_string("") : SW_VALUE_NULL;
        return 0;
    }
    if (resolve && has_dollar_brace(n)) {
        sw_value typed;
        if (sw_yaml_scalar_value(n, &typed, err) < 0)
            return -1;
        int is_string = typed.type == SW_TYPE_STRING;
        sw_value_free(&typed);
        if (is_string) {
            int s = 0;
            if (sw_refs_resolve_string(n->text, ctx, out, &s, err) < 0)
                return -1;
            *secret |= s;
            return 0;
        }
    }
    if (as_text) {
        *out = sw_value_string(n->text);
        return 0;
    }
    return sw_yaml_scalar_value(n, out, err);
}

static json_t *resolved_json(const sw_ynode *n, const sw_context *ctx, int resolve, int *secret,
                             sw_err *err)
{
    if (!n)
        return json_null();
    if (n->kind == SW_YAML_SCALAR) {
        sw_value v;
        if (scalar_value(n, ctx, resolve, 0, &v, secret, err) < 0)
            return NULL;
        if (v.type == SW_TYPE_DOUBLE && !isfinite(v.as.d)) {
            sw_value_free(&v);
            sw_err_set(err, "'%s' at line %d has no JSON form", n->text, n->line);
            return NULL;
        }
        json_t *j = sw_value_to_json(&v);
        sw_value_free(&v);
        return j;
    }
    json_t *out = n->kind == SW_YAML_MAP ? json_object() : json_array();
    for (size_t i = 0; i < n->n; i++) {
        json_t *item = resolved_json(n->items[i], ctx, resolve, secret, err);
        if (!item) {
            json_decref(out);
            return NULL;
        }
        if (n->kind == SW_YAML_MAP)
            json_object_set_new(out, n->keys[i]->text, item);
        else
            json_array_append_new(out, item);
    }
    return out;
}

static int node_value(const sw_param *p, const sw_ynode *n, const sw_context *ctx, int resolve,
                      sw_value *out, int *secret, sw_err *err)
{
    if (!n || n->kind == SW_YAML_SCALAR)
        return scalar_value(n, ctx, resolve, p->type == SW_TYPE_STRING, out, secret, err);
    json_t *j = resolved_json(n, ctx, resolve, secret, err);
    if (!j)
        return -1;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return sw_err_set(err, "cannot write the value as JSON");
    *out = sw_value_json_text(text);
    free(text);
    return 0;
}

static int mismatch(const sw_param *p, const sw_value *v, sw_err *err)
{
    return sw_err_set(err, "expected %s, got %s", param_type_name(p), sw_type_name(v->type));
}

/* Write v into the field of p; *shown receives the value as the journal shows it. */
static int store(const sw_param *p, char *cfg, const sw_value *v, const char *dir, json_t **shown,
                 sw_err *err)
{
    char *s = NULL;
    switch (p->type) {
    case SW_TYPE_BOOL: {
        if (v->type != SW_TYPE_BOOL)
            return mismatch(p, v, err);
        int b = v->as.b ? 1 : 0;
        memcpy(cfg + p->offset, &b, sizeof b);
        *shown = json_boolean(b);
        return 0;
    }
    case SW_TYPE_INT: {
        int64_t i;
        if (is_duration(p)) {
            if (duration_ms(v, &i, err) < 0)
                return -1;
        } else if (v->type == SW_TYPE_INT) {
            i = v->as.i;
        } else {
            return mismatch(p, v, err);
        }
        memcpy(cfg + p->offset, &i, sizeof i);
        *shown = json_integer((json_int_t)i);
        return 0;
    }
    case SW_TYPE_DOUBLE: {
        sw_value dv;
        if (v->type == SW_TYPE_INT)
            dv = sw_value_double((double)v->as.i);
        else if (v->type == SW_TYPE_DOUBLE)
            dv = *v;
        else
            return mismatch(p, v, err);
        memcpy(cfg + p->offset, &dv.as.d, sizeof dv.as.d);
        *shown = sw_value_to_json(&dv);
        return 0;
    }
    case SW_TYPE_STRING:
        if (v->type == SW_TYPE_STRING || v->type == SW_TYPE_BOOL || v->type == SW_TYPE_INT ||
            v->type == SW_TYPE_DOUBLE)
            s = sw_value_to_text(v);
        else
            return mismatch(p, v, err);
        if (p->flags & SW_PARAM_PATH) {
            char *r = sw_path_resolve(dir, s);
            free(s);
            s = r;
        }
        *shown = json_string(s);
        break;
    case SW_TYPE_JSON:
        if (v->type != SW_TYPE_JSON)
            return mismatch(p, v, err);
        s = sw_xstrdup(v->as.s);
        *shown = json_loads(s, 0, NULL);
        break;
    case SW_TYPE_ANY: {
        json_t *j = sw_value_to_json(v);
        char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            json_decref(j);
            return sw_err_set(err, "cannot write the value as JSON");
        }
        s = sw_xstrdup(text);
        free(text);
        *shown = j;
        break;
    }
    case SW_TYPE_NULL:
        return sw_err_set(err, "has no usable type");
    }
    memcpy(cfg + p->offset, &s, sizeof s);
    return 0;
}

static int bind_one(const sw_param *p, char *cfg, size_t config_size, const sw_ynode *with,
                    const char *dir, const sw_context *ctx, json_t *shown, sw_err *err)
{
    size_t size = field_size(p->type);
    if (size == 0 || p->offset > config_size || config_size - p->offset < size)
        return sw_err_set(err, "its field (offset %zu) does not fit the config struct of %zu bytes",
                          p->offset, config_size);

    const sw_ynode *n = sw_ynode_get(with, p->name);
    sw_ydoc *def = NULL;
    int resolve = 1;
    if (!n && p->default_value) {
        def = sw_yaml_parse_string(p->default_value, strlen(p->default_value), "default", NULL);
        if (!def)
            return sw_err_set(err, "default '%s' is not valid YAML", p->default_value);
        n = def->root;
        resolve = 0; /* a default is a literal */
    } else if (!n) {
        if (p->flags & SW_PARAM_REQUIRED)
            return sw_err_set(err, "required but not set");
        return 0;
    }

    sw_value v;
    int secret = (p->flags & SW_PARAM_SECRET) != 0;
    json_t *show = NULL;
    int rc = node_value(p, n, ctx, resolve, &v, &secret, err);
    sw_ydoc_free(def);
    if (rc < 0)
        return -1;
    rc = store(p, cfg, &v, dir, &show, err);
    sw_value_free(&v);
    if (rc < 0)
        return -1;
    if (shown)
        json_object_set_new(shown, p->name,
                            secret ? json_string(SECRET_TEXT)
                            : show ? json_incref(show)
                                   : json_null());
    json_decref(show);
    return 0;
}

/* The text fields of params before `end`: those bind has filled. */
static void free_fields(const sw_param *params, const sw_param *end, char *cfg)
{
    for (const sw_param *p = params; p < end; p++) {
        if (!holds_text(p->type))
            continue;
        char *s;
        memcpy(&s, cfg + p->offset, sizeof s);
        free(s);
    }
}

void *sw_params_bind(const sw_param *params, size_t config_size, const sw_ynode *with,
                     const char *pipeline_dir, const sw_context *ctx, json_t **shown, sw_err *err)
{
    char *cfg = sw_xcalloc(1, config_size);
    json_t *obj = shown ? json_object() : NULL;
    for (const sw_param *p = params; p && p->name; p++) {
        if (bind_one(p, cfg, config_size, with, pipeline_dir, ctx, obj, err) < 0) {
            sw_err_prefix(err, "parameter '%s': ", p->name);
            json_decref(obj);
            /* The failing parameter's own offset may be out of range: free only those before. */
            free_fields(params, p, cfg);
            free(cfg);
            return NULL;
        }
    }
    if (shown)
        *shown = obj;
    return cfg;
}

void sw_params_free(const sw_param *params, void *config)
{
    if (!config)
        return;
    const sw_param *end = params;
    while (end && end->name)
        end++;
    free_fields(params, end, config);
    free(config);
}
