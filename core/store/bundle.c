/* bundle.c - reading and validating an agent bundle: agent.yaml, prompts, tools. */
#include "bundle.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"
#include "model/yamldoc.h"
#include "proto/proto.h"
#include "proto/translate.h"
#include "template.h"
#include "utf8.h"

/* Deeper schemas than this are refused rather than risk the stack. */
#define MAX_SCHEMA_DEPTH 64

typedef struct loader {
    sw_bundle *b;
    sw_diags *d;
    size_t max;   /* byte cap */
    size_t total; /* bytes read so far */
    int over;     /* the cap was hit (reported once) */
} loader;

int sw_agent_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || !isalnum((unsigned char)name[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

static int tool_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

static sw_pos file_pos(const char *file)
{
    return (sw_pos){file, 0, 0};
}

static char *shown_path(const loader *L, const char *rel)
{
    return sw_path_join(L->b->dir, rel);
}

/* A reference must name a file inside the bundle: relative, no "." or ".."
   components, no empty components. */
static int safe_relative(const char *rel)
{
    if (!*rel || rel[0] == '/')
        return 0;
    const char *p = rel;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n + (slash ? 1 : 0);
        if (slash && !*p)
            return 0;
    }
    return 1;
}

/* Read one member file. `ref` is where the reference to it was written (for errors
   about the reference itself). Returns the file (owned by the bundle) or NULL. */
static sw_bundle_file *read_member(loader *L, const char *rel, sw_pos ref)
{
    char *shown = shown_path(L, rel);
    sw_bundle_file *result = NULL;
    char *full = NULL, *real = NULL, *data = NULL;
    if (!safe_relative(rel)) {
        sw_diag_error(L->d, ref,
                      "'%s': path leaves the bundle or is not a plain relative path "
                      "(no absolute paths, '.' or '..')",
                      rel);
        goto out;
    }
    full = sw_path_join(L->b->real_dir, rel);
    struct stat st;
    if (lstat(full, &st) != 0) {
        sw_diag_error(L->d, ref, "%s: %s", shown, strerror(errno));
        goto out;
    }
    sw_err err = {{0}};
    real = sw_path_real(full, &err);
    if (!real) {
        sw_diag_error(L->d, ref, "%s: %s", shown, err.msg);
        goto out;
    }
    size_t rd = strlen(L->b->real_dir);
    if (strncmp(real, L->b->real_dir, rd) != 0 || real[rd] != '/') {
        sw_diag_error(L->d, ref, "%s: a symlink that leads outside the bundle (to %s)", shown,
                      real);
        goto out;
    }
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        sw_diag_error(L->d, ref, "%s: not a regular file", shown);
        goto out;
    }
    if (L->over)
        goto out;
    size_t len;
    size_t left = L->max > L->total ? L->max - L->total : 0;
    if ((unsigned long long)st.st_size > left ||
        !(data = sw_read_file(real, left ? left : 1, &len, &err))) {
        if ((unsigned long long)st.st_size > left || strstr(err.msg, "limit")) {
            sw_diag_error(L->d, file_pos(shown),
                          "the bundle is over its size cap of %zu bytes (max_bundle_bytes)",
                          L->max);
            L->over = 1;
        } else
            sw_diag_error(L->d, file_pos(shown), "%s", err.msg);
        goto out;
    }
    L->total += len;
    size_t nul = memchr(data, '\0', len) ? (size_t)((char *)memchr(data, '\0', len) - data) : len;
    size_t bad = sw_utf8_invalid_at(data, len);
    if (nul < len || bad < len) {
        size_t at = nul < bad ? nul : bad;
        int line, col;
        sw_text_position(data, at, &line, &col);
        sw_diag_error(L->d, (sw_pos){shown, line, col},
                      nul < bad ? "contains a NUL byte: not a text file"
                                : "not valid UTF-8 (byte 0x%02x)",
                      (unsigned char)data[at]);
        goto out;
    }
    sw_bundle *b = L->b;
    for (size_t i = 0; i < b->n_files; i++)
        if (strcmp(b->files[i].path, rel) == 0) { /* two prompts naming one file */
            result = &b->files[i];
            goto out;
        }
    b->files = sw_xrealloc(b->files, (b->n_files + 1) * sizeof *b->files);
    result = &b->files[b->n_files++];
    result->path = sw_xstrdup(rel);
    result->data = data;
    result->len = len;
    sw_sha256_hex(data, len, result->sha256);
    data = NULL;
out:
    free(data);
    free(real);
    free(full);
    free(shown);
    return result;
}

/* ---- agent.yaml ---- */

typedef struct yctx {
    loader *L;
    const sw_ydoc *doc;
} yctx;

static sw_pos ypos(const yctx *y, const sw_ynode *n)
{
    return sw_ynode_pos(y->doc, n);
}

/* Every key of a map must be in `known`; reports unknown ones with a suggestion, after
   "<where>: " (where is NULL at the top level: the position already names the file). */
static void check_keys(const yctx *y, const sw_ynode *map, const char *where,
                       const char *const *known, size_t n_known)
{
    char prefix[96] = "";
    if (where)
        snprintf(prefix, sizeof prefix, "%s: ", where);
    sw_ynode_check_keys(y->doc, map, known, n_known, prefix, y->L->d);
}

/* A scalar that YAML types as a string (quoted or not a number/bool/null). */
static const char *string_scalar(const yctx *y, const sw_ynode *n, const char *what)
{
    if (n->kind != SW_YAML_SCALAR) {
        sw_diag_error(y->L->d, ypos(y, n), "%s must be a string, not a %s", what,
                      sw_ynode_kind_name(n->kind));
        return NULL;
    }
    sw_value v = SW_VALUE_NULL;
    sw_err err = {{0}};
    if (sw_yaml_scalar_value(n, &v, &err) != 0) {
        sw_diag_error(y->L->d, ypos(y, n), "%s: %s", what, err.msg);
        return NULL;
    }
    int ok = v.type == SW_TYPE_STRING && *v.as.s;
    sw_value_free(&v);
    if (!ok) {
        sw_diag_error(y->L->d, ypos(y, n), "%s must be a non-empty string", what);
        return NULL;
    }
    return n->text;
}

static const sw_ynode *map_value(const yctx *y, const sw_ynode *root, const char *key)
{
    const sw_ynode *n = sw_ynode_get(root, key);
    if (n && n->kind != SW_YAML_MAP) {
        sw_diag_error(y->L->d, ypos(y, n), "'%s' must be a mapping, not a %s", key,
                      sw_ynode_kind_name(n->kind));
        return NULL;
    }
    return n;
}

/* A number in [lo, hi]; ints stay ints. Returns a new reference or NULL. */
static json_t *number_in(const yctx *y, const sw_ynode *n, const char *what, double lo, double hi,
                         int want_int)
{
    sw_err err = {{0}};
    json_t *j = n->kind == SW_YAML_SCALAR ? sw_yaml_to_json(n, &err) : NULL;
    if (!j || !json_is_number(j) || (want_int && !json_is_integer(j))) {
        sw_diag_error(y->L->d, ypos(y, n), "%s must be %s", what,
                      want_int ? "an integer" : "a number");
        json_decref(j);
        return NULL;
    }
    double v = json_number_value(j);
    if (v < lo || v > hi) {
        sw_diag_error(y->L->d, ypos(y, n), "%s must be between %g and %g, not %g", what, lo, hi, v);
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *load_parameters(const yctx *y, const sw_ynode *map)
{
    static const char *const known[] = {"temperature",           "top_p",       "max_tokens",
                                        "max_completion_tokens", "seed",        "frequency_penalty",
                                        "presence_penalty",      "stop",        "reasoning_effort",
                                        "parallel_tool_calls",   "tool_choice", "extra"};
    json_t *out = json_object();
    if (!map)
        return out;
    check_keys(y, map, "parameters", known, sizeof known / sizeof known[0]);
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->text;
        const sw_ynode *v = map->items[i];
        char what[96];
        snprintf(what, sizeof what, "parameter '%s'", k);
        json_t *j = NULL;
        sw_err err = {{0}};
        if (strcmp(k, "temperature") == 0)
            j = number_in(y, v, what, 0, 2, 0);
        else if (strcmp(k, "top_p") == 0)
            j = number_in(y, v, what, 0, 1, 0);
        else if (strcmp(k, "max_tokens") == 0 || strcmp(k, "max_completion_tokens") == 0)
            j = number_in(y, v, what, 1, 1e9, 1);
        else if (strcmp(k, "seed") == 0)
            j = number_in(y, v, what, -9.2e18, 9.2e18, 1);
        else if (strcmp(k, "frequency_penalty") == 0 || strcmp(k, "presence_penalty") == 0)
            j = number_in(y, v, what, -2, 2, 0);
        else if (strcmp(k, "reasoning_effort") == 0 || strcmp(k, "tool_choice") == 0) {
            const char *s = string_scalar(y, v, what);
            j = s ? json_string(s) : NULL;
        } else if (strcmp(k, "parallel_tool_calls") == 0) {
            j = v->kind == SW_YAML_SCALAR ? sw_yaml_to_json(v, &err) : NULL;
            if (!json_is_boolean(j)) {
                sw_diag_error(y->L->d, ypos(y, v), "%s must be true or false", what);
                json_decref(j);
                j = NULL;
            }
        } else if (strcmp(k, "stop") == 0) {
            j = sw_yaml_to_json(v, &err);
            int ok = json_is_string(j);
            if (json_is_array(j)) {
                size_t x;
                json_t *e;
                ok = json_array_size(j) > 0;
                json_array_foreach(j, x, e) ok = ok && json_is_string(e);
            }
            if (!ok) {
                sw_diag_error(y->L->d, ypos(y, v), "%s must be a string or a list of strings",
                              what);
                json_decref(j);
                j = NULL;
            }
        } else if (strcmp(k, "extra") == 0) {
            /* Provider-specific parameters, passed through as they are. */
            j = v->kind == SW_YAML_MAP ? sw_yaml_to_json(v, &err) : NULL;
            if (!j)
                sw_diag_error(y->L->d, ypos(y, v), "'extra' must be a mapping%s%s",
                              err.msg[0] ? ": " : "", err.msg);
        } else
            continue; /* unknown: reported by check_keys */
        if (j)
            json_object_set_new(out, k, j);
    }
    return out;
}

/* A release whose provider speaks Anthropic Messages (sw_proto_of_provider): each parameter
   that Messages has no name for is an error here, at release time, where the router would
   refuse every request with 400 and the eval the whole release (the same table, the
   translator's); and max_tokens, which Messages requires, is asked for. */
static void check_messages_parameters(const yctx *y, const sw_ynode *map, sw_pos at,
                                      const char *provider, const json_t *params)
{
    for (size_t i = 0; map && i < map->n; i++) {
        const char *k = map->keys[i]->text;
        const json_t *v = json_object_get(params, k);
        if (!v || strcmp(k, "extra") == 0)
            continue;
        json_t *one = json_pack("{s:O}", k, v), *body = json_object();
        sw_xlate_err xe = {{0}, {0}};
        if (sw_xlate_chat_params_to_messages(one, body, &xe) < 0)
            sw_diag_error(y->L->d, ypos(y, map->keys[i]),
                          "parameter '%s': provider '%s' speaks Anthropic Messages, which "
                          "refuses it (%s); remove it (a provider-specific field goes under "
                          "parameters.extra)",
                          k, provider, xe.msg);
        json_decref(one);
        json_decref(body);
    }
    if (!json_object_get(params, "max_tokens") && !json_object_get(params, "max_completion_tokens"))
        sw_diag_warning(y->L->d, map ? ypos(y, map) : at,
                        "provider '%s' speaks Anthropic Messages, which requires max_tokens: "
                        "set parameters.max_tokens (the eval refuses the release without it; the "
                        "router falls back to the provider's max_tokens in router.yaml)",
                        provider);
}

static json_t *load_pricing(const yctx *y, const sw_ynode *map)
{
    static const char *const known[] = {"currency", "input_per_token", "output_per_token",
                                        "cached_input_per_token"};
    check_keys(y, map, "pricing", known, sizeof known / sizeof known[0]);
    json_t *out = json_object();
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->text;
        const sw_ynode *v = map->items[i];
        char what[96];
        snprintf(what, sizeof what, "pricing '%s'", k);
        json_t *j = NULL;
        if (strcmp(k, "currency") == 0) {
            const char *s = string_scalar(y, v, what);
            if (s && (strlen(s) != 3 || !isupper((unsigned char)s[0]) ||
                      !isupper((unsigned char)s[1]) || !isupper((unsigned char)s[2])))
                sw_diag_error(y->L->d, ypos(y, v), "%s must be an ISO 4217 code such as USD", what);
            else if (s)
                j = json_string(s);
        } else if (strstr(k, "_per_token"))
            j = number_in(y, v, what, 0, 1e6, 0);
        if (j)
            json_object_set_new(out, k, j);
    }
    static const char *const required[] = {"input_per_token", "output_per_token"};
    for (size_t i = 0; i < 2; i++)
        if (!sw_ynode_get(map, required[i]))
            sw_diag_error(y->L->d, ypos(y, map), "'pricing' is missing '%s'", required[i]);
    if (!json_object_get(out, "currency"))
        json_object_set_new(out, "currency", json_string("USD"));
    return out;
}

static json_t *load_vars(const yctx *y, const sw_ynode *map)
{
    json_t *out = json_object();
    for (size_t i = 0; map && i < map->n; i++) {
        const sw_ynode *v = map->items[i];
        sw_err err = {{0}};
        json_t *j = v->kind == SW_YAML_SCALAR ? sw_yaml_to_json(v, &err) : NULL;
        if (!j || json_is_null(j)) {
            sw_diag_error(y->L->d, ypos(y, v),
                          "var '%s' must be a string, a number or a boolean%s%s",
                          map->keys[i]->text, err.msg[0] ? ": " : "", err.msg);
            json_decref(j);
            continue;
        }
        json_object_set_new(out, map->keys[i]->text, j);
    }
    return out;
}

/* ---- tools ---- */

typedef struct sctx {
    loader *L;
    const sw_ydoc *doc; /* the tool file parsed for positions; may be NULL */
    const char *file;   /* shown path */
    const char *tool;
} sctx;

static sw_pos spos(const sctx *s, const sw_ynode *n)
{
    return n && s->doc ? sw_ynode_pos(s->doc, n) : file_pos(s->file);
}

static const sw_ynode *ychild(const sw_ynode *y, const char *key)
{
    return y && y->kind == SW_YAML_MAP ? sw_ynode_get(y, key) : NULL;
}

static const sw_ynode *ykey(const sw_ynode *y, const char *key)
{
    return y && y->kind == SW_YAML_MAP ? sw_ynode_key(y, key) : NULL;
}

static const sw_ynode *yitem(const sw_ynode *y, size_t i)
{
    return y && y->kind == SW_YAML_SEQ && i < y->n ? y->items[i] : NULL;
}

static const char *const schema_keywords[] = {"type",
                                              "properties",
                                              "required",
                                              "items",
                                              "enum",
                                              "const",
                                              "description",
                                              "title",
                                              "default",
                                              "examples",
                                              "additionalProperties",
                                              "minimum",
                                              "maximum",
                                              "exclusiveMinimum",
                                              "exclusiveMaximum",
                                              "multipleOf",
                                              "minLength",
                                              "maxLength",
                                              "pattern",
                                              "format",
                                              "minItems",
                                              "maxItems",
                                              "uniqueItems",
                                              "minProperties",
                                              "maxProperties",
                                              "anyOf",
                                              "oneOf",
                                              "allOf",
                                              "not",
                                              "$ref",
                                              "$defs",
                                              "definitions",
                                              "$comment",
                                              "nullable",
                                              "deprecated",
                                              "prefixItems",
                                              "contains",
                                              "patternProperties",
                                              "propertyNames",
                                              "dependentRequired",
                                              "readOnly",
                                              "writeOnly"};

static int valid_type_name(const char *t)
{
    static const char *const names[] = {"string", "number", "integer", "boolean",
                                        "object", "array",  "null"};
    for (size_t i = 0; i < 7; i++)
        if (strcmp(t, names[i]) == 0)
            return 1;
    return 0;
}

static void schema_error(const sctx *s, const sw_ynode *at, const char *path, const char *fmt, ...)
    SW_PRINTF(4, 5);

static void schema_error(const sctx *s, const sw_ynode *at, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_diag_error(s->L->d, spos(s, at), "tool '%s': invalid JSON Schema at %s: %s", s->tool, path,
                  msg);
    free(msg);
}

static void check_schema(const sctx *s, const json_t *j, const sw_ynode *y, const char *path,
                         int depth);

static void check_subschema(const sctx *s, const json_t *j, const sw_ynode *y, const char *path,
                            const char *step, int depth)
{
    char *p = sw_xasprintf("%s%s", path, step);
    if (json_is_boolean(j)) {
        free(p);
        return;
    }
    check_schema(s, j, y, p, depth + 1);
    free(p);
}

static void check_schema_map(const sctx *s, const json_t *j, const sw_ynode *y, const char *path,
                             const char *kw, int depth)
{
    const json_t *m = json_object_get(j, kw);
    if (!m)
        return;
    const sw_ynode *ym = ychild(y, kw);
    if (!json_is_object(m)) {
        schema_error(s, ym, path, "'%s' must be an object", kw);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        char *step = sw_xasprintf(".%s.%s", kw, k);
        check_subschema(s, v, ychild(ym, k), path, step, depth);
        free(step);
    }
}

static void check_schema_list(const sctx *s, const json_t *j, const sw_ynode *y, const char *path,
                              const char *kw, int depth)
{
    const json_t *a = json_object_get(j, kw);
    if (!a)
        return;
    const sw_ynode *ya = ychild(y, kw);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        schema_error(s, ya, path, "'%s' must be a non-empty array of schemas", kw);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char *step = sw_xasprintf(".%s[%zu]", kw, i);
        check_subschema(s, v, yitem(ya, i), path, step, depth);
        free(step);
    }
}

static void check_schema(const sctx *s, const json_t *j, const sw_ynode *y, const char *path,
                         int depth)
{
    if (depth > MAX_SCHEMA_DEPTH) {
        schema_error(s, y, path, "nested deeper than %d levels", MAX_SCHEMA_DEPTH);
        return;
    }
    if (!json_is_object(j)) {
        schema_error(s, y, path, "a schema must be an object");
        return;
    }
    const size_t nkw = sizeof schema_keywords / sizeof schema_keywords[0];
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        size_t i = 0;
        while (i < nkw && strcmp(schema_keywords[i], k) != 0)
            i++;
        if (i < nkw)
            continue;
        const char *hint = sw_did_you_mean(k, schema_keywords, nkw);
        if (hint)
            schema_error(s, ykey(y, k), path, "unknown keyword '%s' (did you mean '%s'?)", k, hint);
        else
            schema_error(s, ykey(y, k), path, "unknown keyword '%s'", k);
    }

    const json_t *type = json_object_get(j, "type");
    if (type) {
        const sw_ynode *yt = ychild(y, "type");
        if (json_is_string(type)) {
            if (!valid_type_name(json_string_value(type)))
                schema_error(s, yt, path, "unknown type '%s'", json_string_value(type));
        } else if (json_is_array(type) && json_array_size(type) > 0) {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t)
            {
                if (!json_is_string(t) || !valid_type_name(json_string_value(t)))
                    schema_error(s, yitem(yt, i), path, "'type' lists an unknown type");
            }
        } else
            schema_error(s, yt, path, "'type' must be a type name or a non-empty list of them");
    }

    static const char *const strings[] = {"description", "title", "pattern",
                                          "format",      "$ref",  "$comment"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const json_t *x = json_object_get(j, strings[i]);
        if (x && !json_is_string(x))
            schema_error(s, ychild(y, strings[i]), path, "'%s' must be a string", strings[i]);
    }
    static const char *const numbers[] = {"minimum", "maximum", "exclusiveMinimum",
                                          "exclusiveMaximum", "multipleOf"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const json_t *x = json_object_get(j, numbers[i]);
        if (x && !json_is_number(x))
            schema_error(s, ychild(y, numbers[i]), path, "'%s' must be a number", numbers[i]);
    }
    static const char *const counts[] = {"minLength", "maxLength",     "minItems",
                                         "maxItems",  "minProperties", "maxProperties"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const json_t *x = json_object_get(j, counts[i]);
        if (x && (!json_is_integer(x) || json_integer_value(x) < 0))
            schema_error(s, ychild(y, counts[i]), path, "'%s' must be a non-negative integer",
                         counts[i]);
    }
    static const char *const bools[] = {"uniqueItems", "nullable", "deprecated", "readOnly",
                                        "writeOnly"};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        const json_t *x = json_object_get(j, bools[i]);
        if (x && !json_is_boolean(x))
            schema_error(s, ychild(y, bools[i]), path, "'%s' must be true or false", bools[i]);
    }
    const json_t *en = json_object_get(j, "enum");
    if (en && (!json_is_array(en) || json_array_size(en) == 0))
        schema_error(s, ychild(y, "enum"), path, "'enum' must be a non-empty array");

    const json_t *props = json_object_get(j, "properties");
    check_schema_map(s, j, y, path, "properties", depth);
    check_schema_map(s, j, y, path, "$defs", depth);
    check_schema_map(s, j, y, path, "definitions", depth);
    check_schema_map(s, j, y, path, "patternProperties", depth);

    const json_t *req = json_object_get(j, "required");
    if (req) {
        const sw_ynode *yr = ychild(y, "required");
        if (!json_is_array(req))
            schema_error(s, yr, path, "'required' must be an array of property names");
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r)
        {
            if (!json_is_string(r))
                schema_error(s, yitem(yr, i), path, "'required' must list property names");
            else if (json_is_object(props) && !json_object_get(props, json_string_value(r)))
                schema_error(s, yitem(yr, i), path,
                             "required property '%s' is not defined under 'properties'",
                             json_string_value(r));
            else {
                for (size_t k2 = 0; k2 < i; k2++)
                    if (json_equal(json_array_get(req, k2), r)) {
                        schema_error(s, yitem(yr, i), path, "'%s' is listed twice in 'required'",
                                     json_string_value(r));
                        break;
                    }
            }
        }
    }

    const json_t *items = json_object_get(j, "items");
    if (items) {
        if (json_is_array(items))
            schema_error(s, ychild(y, "items"), path,
                         "'items' must be one schema (use 'prefixItems' for tuples)");
        else
            check_subschema(s, items, ychild(y, "items"), path, "[]", depth);
    }
    static const char *const single[] = {"additionalProperties", "not", "contains",
                                         "propertyNames"};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) {
        const json_t *x = json_object_get(j, single[i]);
        if (!x)
            continue;
        if (!json_is_object(x) && !json_is_boolean(x)) {
            schema_error(s, ychild(y, single[i]), path, "'%s' must be a schema or a boolean",
                         single[i]);
            continue;
        }
        char *step = sw_xasprintf(".%s", single[i]);
        check_subschema(s, x, ychild(y, single[i]), path, step, depth);
        free(step);
    }
    check_schema_list(s, j, y, path, "anyOf", depth);
    check_schema_list(s, j, y, path, "oneOf", depth);
    check_schema_list(s, j, y, path, "allOf", depth);
    check_schema_list(s, j, y, path, "prefixItems", depth);
    const json_t *dep = json_object_get(j, "dependentRequired");
    if (dep && !json_is_object(dep))
        schema_error(s, ychild(y, "dependentRequired"), path,
                     "'dependentRequired' must be an object of property-name lists");
}

/*
 * The three ways a tool may be written: Chat Completions' nested function, the
 * Responses API's flat function, and Anthropic's client tool with input_schema.
 * Each is read into one canonical definition (Chat Completions'), so the same tool
 * gets the same release id and the same schema diff in any of them, and the
 * router renders it in whatever protocol the release's provider speaks.
 */
typedef enum tool_format { TOOL_CHAT, TOOL_RESPONSES, TOOL_ANTHROPIC } tool_format;

static const char *const chat_keys[] = {"type", "function", "side_effect"};
static const char *const chat_function_keys[] = {"name", "description", "parameters", "strict"};
static const char *const responses_keys[] = {"type",       "name",   "description",
                                             "parameters", "strict", "side_effect"};
static const char *const anthropic_keys[] = {"type", "name", "description", "input_schema",
                                             "side_effect"};

static tool_format tool_format_of(const json_t *j)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    if (json_object_get(j, "function"))
        return TOOL_CHAT;
    if (json_object_get(j, "input_schema") || (type && strcmp(type, "custom") == 0))
        return TOOL_ANTHROPIC;
    return json_object_get(j, "name") ? TOOL_RESPONSES : TOOL_CHAT;
}

/* Each key of obj (at y) that is not among keys, with a did-you-mean. */
static void check_tool_keys(sctx *s, const json_t *obj, const sw_ynode *y, const char *const *keys,
                            size_t n, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(keys[i], k) != 0)
            i++;
        if (i < n)
            continue;
        const char *hint = sw_did_you_mean(k, keys, n);
        sw_diag_error(s->L->d, spos(s, ykey(y, k)), "tool '%s': unknown key '%s'%s%s%s%s", s->tool,
                      k, where, hint ? " (did you mean '" : "", hint ? hint : "",
                      hint ? "'?)" : "");
    }
}

static void check_side_effect(sctx *s, const json_t *j, const sw_ynode *root)
{
    const json_t *se = json_object_get(j, "side_effect");
    if (!se)
        sw_diag_error(s->L->d, spos(s, root),
                      "tool '%s': missing \"side_effect\" (read_only, idempotent, mutating or "
                      "irreversible)",
                      s->tool);
    else if (!json_is_string(se) || !(strcmp(json_string_value(se), "read_only") == 0 ||
                                      strcmp(json_string_value(se), "idempotent") == 0 ||
                                      strcmp(json_string_value(se), "mutating") == 0 ||
                                      strcmp(json_string_value(se), "irreversible") == 0))
        sw_diag_error(s->L->d, spos(s, ychild(root, "side_effect")),
                      "tool '%s': \"side_effect\" must be read_only, idempotent, mutating or "
                      "irreversible",
                      s->tool);
}

/* name, description, strict and the parameters' schema of the function object fn
   (at yfn), whose schema is under schema_key. */
static void check_function(sctx *s, const json_t *fn, const sw_ynode *yfn, const char *schema_key)
{
    const char *name = s->tool;
    const json_t *fname = json_object_get(fn, "name");
    if (!json_is_string(fname))
        sw_diag_error(s->L->d, spos(s, fname ? ychild(yfn, "name") : yfn),
                      "tool '%s': needs a \"name\" string", name);
    else if (strcmp(json_string_value(fname), name) != 0)
        sw_diag_error(s->L->d, spos(s, ychild(yfn, "name")),
                      "tool '%s': the function is named '%s'; the file name and the function "
                      "name must match",
                      name, json_string_value(fname));
    const json_t *desc = json_object_get(fn, "description");
    if (desc && !json_is_string(desc))
        sw_diag_error(s->L->d, spos(s, ychild(yfn, "description")),
                      "tool '%s': \"description\" must be a string", name);
    const json_t *strict = json_object_get(fn, "strict");
    if (strict && !json_is_boolean(strict))
        sw_diag_error(s->L->d, spos(s, ychild(yfn, "strict")),
                      "tool '%s': \"strict\" must be true or false", name);
    const json_t *params = json_object_get(fn, schema_key);
    if (params) {
        const sw_ynode *yp = ychild(yfn, schema_key);
        check_schema(s, params, yp, schema_key, 0);
        const json_t *pt = json_object_get(params, "type");
        if (json_is_object(params) &&
            (!json_is_string(pt) || strcmp(json_string_value(pt), "object") != 0))
            sw_diag_error(s->L->d, spos(s, pt ? ychild(yp, "type") : yp),
                          "tool '%s': \"%s\" must be a schema of \"type\": \"object\"", name,
                          schema_key);
    }
}

/* The Chat Completions function object of a tool written flat (Responses, Anthropic). */
static json_t *canonical_function(const json_t *j, const char *schema_key)
{
    json_t *fn = json_object();
    static const char *const copied[] = {"name", "description", "strict"};
    for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
        json_t *v = json_object_get(j, copied[i]);
        if (v)
            json_object_set(fn, copied[i], v);
    }
    json_t *schema = json_object_get(j, schema_key);
    if (schema)
        json_object_set(fn, "parameters", schema);
    return fn;
}

/* Validate one tools/<name>.json; returns the manifest entry or NULL. */
static json_t *load_tool(loader *L, const char *name, const sw_bundle_file *f)
{
    char *shown = shown_path(L, f->path);
    json_error_t je;
    json_t *j = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        sw_diag_error(L->d,
                      (sw_pos){shown, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0},
                      "invalid JSON: %s", je.text);
        free(shown);
        return NULL;
    }
    /* JSON is YAML too: parsing it again gives every node a line and column for
       the errors below. When that fails, errors name the file alone. */
    sw_diags *scratch = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_string(f->data, f->len, shown, scratch);
    sw_diags_free(scratch);
    sctx s = {L, doc, shown, name};
    const sw_ynode *root = doc ? doc->root : NULL;
    size_t errors_before = sw_diags_errors(L->d);
    json_t *entry = NULL, *fn = NULL;

    if (!json_is_object(j)) {
        sw_diag_error(L->d, spos(&s, root), "tool '%s': the file must hold a JSON object", name);
        goto out;
    }
    tool_format format = tool_format_of(j);
    const json_t *type = json_object_get(j, "type");
    const char *type_text = json_string_value(type);
    check_side_effect(&s, j, root);
    if (format == TOOL_ANTHROPIC) {
        check_tool_keys(&s, j, root, anthropic_keys, sizeof anthropic_keys / sizeof *anthropic_keys,
                        " (an Anthropic tool has name, description and input_schema)");
        if (type && (!type_text || strcmp(type_text, "custom") != 0))
            sw_diag_error(L->d, spos(&s, ychild(root, "type")),
                          "tool '%s': an Anthropic tool's \"type\" may only be \"custom\" "
                          "(server tools are not tools of the agent's own)",
                          name);
        check_function(&s, j, root, "input_schema");
        fn = canonical_function(j, "input_schema");
    } else {
        if (!type_text || strcmp(type_text, "function") != 0)
            sw_diag_error(L->d, spos(&s, type ? ychild(root, "type") : root),
                          "tool '%s': \"type\" must be \"function\"", name);
        if (format == TOOL_RESPONSES) {
            check_tool_keys(&s, j, root, responses_keys,
                            sizeof responses_keys / sizeof *responses_keys, "");
            check_function(&s, j, root, "parameters");
            fn = canonical_function(j, "parameters");
        } else {
            check_tool_keys(&s, j, root, chat_keys, sizeof chat_keys / sizeof *chat_keys, "");
            json_t *nested = json_object_get(j, "function");
            const sw_ynode *yfn = ychild(root, "function");
            if (!json_is_object(nested)) {
                sw_diag_error(L->d, spos(&s, nested ? yfn : root),
                              "tool '%s': missing \"function\" object (or write the tool flat, "
                              "as the Responses API or Anthropic do)",
                              name);
                goto out;
            }
            check_tool_keys(&s, nested, yfn, chat_function_keys,
                            sizeof chat_function_keys / sizeof *chat_function_keys,
                            " in \"function\"");
            check_function(&s, nested, yfn, "parameters");
            fn = json_incref(nested);
        }
    }
    if (sw_diags_errors(L->d) == errors_before) {
        json_t *def = json_pack("{s:s, s:O}", "type", "function", "function", fn);
        entry = json_pack("{s:s, s:O, s:s, s:o}", "name", name, "side_effect",
                          json_object_get(j, "side_effect"), "file", f->path, "definition", def);
    }
out:
    json_decref(fn);
    sw_ydoc_free(doc);
    json_decref(j);
    free(shown);
    return entry;
}

/* A warning for each JSON file under tools/ that agent.yaml does not list. */
static void warn_unlisted_tools(loader *L, const json_t *listed)
{
    char *tools_dir = sw_path_join(L->b->real_dir, "tools");
    DIR *dir = opendir(tools_dir);
    free(tools_dir);
    if (!dir)
        return;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        char *name = sw_xstrndup(e->d_name, len - 5);
        if (json_object_get(listed, name)) {
            free(name);
            continue;
        }
        names = sw_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = name;
    }
    closedir(dir);
    /* readdir's order is the file system's: sort so the warnings are stable. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        char *rel = sw_xasprintf("tools/%s.json", names[i]);
        char *shown = shown_path(L, rel);
        sw_diag_warning(L->d, file_pos(shown),
                        "tool '%s' is not listed under 'tools:' in agent.yaml; it is not part "
                        "of the release",
                        names[i]);
        free(shown);
        free(rel);
        free(names[i]);
    }
    free(names);
}

static json_t *load_tools(loader *L, const yctx *y, const sw_ynode *seq)
{
    json_t *tools = json_array();
    json_t *seen = json_object();
    if (seq && seq->kind != SW_YAML_SEQ) {
        sw_diag_error(L->d, ypos(y, seq), "'tools' must be a list of tool names, not a %s",
                      sw_ynode_kind_name(seq->kind));
        seq = NULL;
    }
    for (size_t i = 0; seq && i < seq->n; i++) {
        const sw_ynode *item = seq->items[i];
        const char *name = string_scalar(y, item, "a tool name");
        if (!name)
            continue;
        if (!tool_name_valid(name)) {
            sw_diag_error(L->d, ypos(y, item),
                          "tool name '%s': use 1 to 64 letters, digits, '_' or '-'", name);
            continue;
        }
        if (json_object_get(seen, name)) {
            sw_diag_error(L->d, ypos(y, item), "tool '%s' is listed twice", name);
            continue;
        }
        json_object_set_new(seen, name, json_true());
        char *rel = sw_xasprintf("tools/%s.json", name);
        char *full = sw_path_join(L->b->real_dir, rel);
        struct stat st;
        if (lstat(full, &st) != 0 && errno == ENOENT) {
            sw_diag_error(L->d, ypos(y, item),
                          "tool '%s' is referenced but not defined (no %s in the bundle)", name,
                          rel);
        } else {
            sw_bundle_file *f = read_member(L, rel, ypos(y, item));
            json_t *entry = f ? load_tool(L, name, f) : NULL;
            if (entry)
                json_array_append_new(tools, entry);
        }
        free(full);
        free(rel);
    }
    warn_unlisted_tools(L, seen);
    json_decref(seen);
    return tools;
}

/* ---- prompts ---- */

static json_t *load_prompts(loader *L, const yctx *y, const sw_ynode *map, const json_t *vars,
                            json_t *used)
{
    json_t *prompts = json_object();
    if (!map)
        return prompts;
    for (size_t i = 0; i < map->n; i++) {
        const char *name = map->keys[i]->text;
        const sw_ynode *v = map->items[i];
        if (!tool_name_valid(name)) {
            sw_diag_error(L->d, ypos(y, map->keys[i]),
                          "prompt name '%s': use letters, digits, '_' or '-'", name);
            continue;
        }
        char what[96];
        snprintf(what, sizeof what, "prompt '%s'", name);
        const char *rel = string_scalar(y, v, what);
        if (!rel)
            continue;
        size_t n = strlen(rel);
        if (!safe_relative(rel)) {
            sw_diag_error(L->d, ypos(y, v),
                          "prompt '%s': '%s' leaves the bundle or is not a plain relative path "
                          "(no absolute paths, '.' or '..')",
                          name, rel);
            continue;
        }
        if (strncmp(rel, "prompts/", 8) != 0 || n < 12 || strcmp(rel + n - 3, ".md") != 0) {
            sw_diag_error(L->d, ypos(y, v), "prompt '%s': '%s' must be a .md file under prompts/",
                          name, rel);
            continue;
        }
        sw_bundle_file *f = read_member(L, rel, ypos(y, v));
        if (!f)
            continue;
        char *shown = shown_path(L, rel);
        char *text = sw_template_render(f->data, shown, vars, used, L->d);
        if (text)
            json_object_set_new(
                prompts, name,
                json_pack("{s:s, s:s, s:s}", "file", rel, "sha256", f->sha256, "text", text));
        free(text);
        free(shown);
    }
    return prompts;
}

/* ---- the whole bundle ---- */

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const sw_bundle_file *)a)->path, ((const sw_bundle_file *)b)->path);
}

void sw_bundle_free(sw_bundle *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_files; i++) {
        free(b->files[i].path);
        free(b->files[i].data);
    }
    free(b->files);
    free(b->dir);
    free(b->real_dir);
    free(b->agent);
    free(b->provider);
    free(b->model);
    free(b->agent_file);
    json_decref(b->manifest);
    free(b);
}

sw_bundle *sw_bundle_load(const char *dir, const sw_bundle_opts *opts, sw_diags *d)
{
    sw_bundle_opts none = {0};
    if (!opts)
        opts = &none;
    /* Errors are counted in d, so one is needed even when the caller wants none. */
    sw_diags *own = d ? NULL : sw_diags_new();
    if (own)
        d = own;
    sw_bundle *b = sw_xcalloc(1, sizeof *b);
    b->dir = sw_xstrdup(dir);
    loader L = {b, d, opts->max_bytes ? opts->max_bytes : SW_BUNDLE_DEFAULT_MAX, 0, 0};
    size_t errors_before = sw_diags_errors(d);
    sw_ydoc *doc = NULL;
    json_t *vars = NULL, *used = json_object(), *m = NULL;

    sw_err err = {{0}};
    if (!sw_is_dir(dir)) {
        if (sw_file_exists(dir))
            sw_diag_error(d, file_pos(dir), "bundle '%s' is not a folder", dir);
        else
            sw_diag_error(d, file_pos(dir), "bundle '%s' does not exist", dir);
        goto fail;
    }
    b->real_dir = sw_path_real(dir, &err);
    if (!b->real_dir) {
        sw_diag_error(d, file_pos(dir), "bundle: %s", err.msg);
        goto fail;
    }
    b->agent_file = shown_path(&L, "agent.yaml");
    sw_bundle_file *af = read_member(&L, "agent.yaml", file_pos(b->agent_file));
    if (!af)
        goto fail;
    doc = sw_yaml_parse_string(af->data, af->len, b->agent_file, d);
    if (!doc)
        goto fail;
    yctx y = {&L, doc};
    const sw_ynode *root = doc->root;
    if (!root || root->kind != SW_YAML_MAP) {
        sw_diag_error(d, root ? ypos(&y, root) : file_pos(b->agent_file),
                      "agent.yaml must be a mapping with name, model, prompts and tools");
        goto fail;
    }
    static const char *const top[] = {"name",    "description", "model", "parameters",
                                      "pricing", "prompts",     "vars",  "tools"};
    check_keys(&y, root, NULL, top, sizeof top / sizeof top[0]);
    sw_pos root_pos = {b->agent_file, 1, 1};

    /* name */
    const sw_ynode *name = sw_ynode_get(root, "name");
    const char *agent = name ? string_scalar(&y, name, "'name'") : NULL;
    if (opts->agent)
        agent = opts->agent;
    if (!agent && !name)
        sw_diag_error(d, root_pos, "missing 'name' (the agent's name)");
    else if (agent && !sw_agent_name_valid(agent))
        sw_diag_error(d, opts->agent ? file_pos(b->agent_file) : ypos(&y, name),
                      "agent name '%s': use up to 64 letters, digits, '.', '_' or '-', starting "
                      "with a letter or digit",
                      agent);
    else if (agent)
        b->agent = sw_xstrdup(agent);

    const sw_ynode *desc = sw_ynode_get(root, "description");
    const char *description = desc ? string_scalar(&y, desc, "'description'") : NULL;

    /* model */
    const sw_ynode *model = sw_ynode_get(root, "model");
    if (!model)
        sw_diag_error(d, root_pos,
                      "missing 'model' (a mapping with 'provider' and the exact 'name', e.g. "
                      "gpt-4o-2024-08-06)");
    else if (model->kind != SW_YAML_MAP)
        sw_diag_error(d, ypos(&y, model),
                      "'model' must be a mapping with 'provider' and 'name', not a %s",
                      sw_ynode_kind_name(model->kind));
    else {
        static const char *const mk[] = {"provider", "name"};
        check_keys(&y, model, "model", mk, 2);
        const sw_ynode *prov = sw_ynode_get(model, "provider");
        const sw_ynode *mname = sw_ynode_get(model, "name");
        if (!prov)
            sw_diag_error(d, ypos(&y, model), "'model' is missing 'provider' (e.g. openai)");
        if (!mname)
            sw_diag_error(d, ypos(&y, model),
                          "'model' is missing 'name' (the exact model version)");
        const char *ps = prov ? string_scalar(&y, prov, "'model.provider'") : NULL;
        const char *ns = mname ? string_scalar(&y, mname, "'model.name'") : NULL;
        if (ps && ns) {
            b->provider = sw_xstrdup(ps);
            b->model = sw_xstrdup(ns);
            b->model_line = mname->line;
            b->model_col = mname->col;
        }
    }

    const sw_ynode *params_node = map_value(&y, root, "parameters");
    json_t *parameters = load_parameters(&y, params_node);
    if (b->provider && sw_proto_of_provider(b->provider) == SW_PROTO_MESSAGES)
        check_messages_parameters(&y, params_node, root_pos, b->provider, parameters);
    const sw_ynode *pricing_node = map_value(&y, root, "pricing");
    json_t *pricing = pricing_node ? load_pricing(&y, pricing_node) : NULL;

    vars = load_vars(&y, map_value(&y, root, "vars"));
    if (opts->vars) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)opts->vars, k, v)
        {
            json_object_set(vars, k, v);
        }
    }

    const sw_ynode *prompts_node = map_value(&y, root, "prompts");
    if (!sw_ynode_get(root, "prompts"))
        sw_diag_error(d, root_pos, "missing 'prompts' (at least 'system: prompts/system.md')");
    else if (prompts_node && !sw_ynode_get(prompts_node, "system"))
        sw_diag_error(d, ypos(&y, prompts_node), "'prompts' has no 'system' prompt");
    json_t *prompts = load_prompts(&L, &y, prompts_node, vars, used);
    json_t *tools = load_tools(&L, &y, sw_ynode_get(root, "tools"));

    m = json_object();
    json_object_set_new(m, "format", json_integer(SW_MANIFEST_FORMAT));
    json_object_set_new(m, "agent", json_string(b->agent ? b->agent : ""));
    if (description)
        json_object_set_new(m, "description", json_string(description));
    json_object_set_new(m, "model",
                        json_pack("{s:s?, s:s?}", "provider", b->provider, "name", b->model));
    json_object_set_new(m, "parameters", parameters);
    if (pricing)
        json_object_set_new(m, "pricing", pricing);
    json_object_set_new(m, "prompts", prompts);
    json_object_set(m, "vars", used);
    json_object_set_new(m, "tools", tools);

    if (sw_diags_errors(d) != errors_before)
        goto fail;
    qsort(b->files, b->n_files, sizeof *b->files, cmp_files);
    json_t *files = json_object();
    for (size_t i = 0; i < b->n_files; i++)
        json_object_set_new(files, b->files[i].path,
                            json_pack("{s:s, s:I}", "sha256", b->files[i].sha256, "bytes",
                                      (json_int_t)b->files[i].len));
    json_object_set_new(m, "files", files);
    b->manifest = m;
    sw_ydoc_free(doc);
    json_decref(vars);
    json_decref(used);
    sw_diags_free(own);
    return b;

fail:
    /* A failure must say why, even if a step forgot to. */
    if (sw_diags_errors(d) == errors_before)
        sw_diag_error(d, file_pos(dir), "bundle '%s' is not valid", dir);
    json_decref(m);
    sw_ydoc_free(doc);
    json_decref(vars);
    json_decref(used);
    sw_bundle_free(b);
    sw_diags_free(own);
    return NULL;
}
