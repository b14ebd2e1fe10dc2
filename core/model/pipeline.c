/* pipeline.c - the pipeline file's structure validated into an sw_pipeline. */
#include "pipeline.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"

#define SCHEMA_VERSION 1
#define MAX_STAGE_ID   64

static const char *const top_keys[] = {"version", "name",   "description", "vars",
                                       "plugins", "stages", "on_failure"};
static const char *const stage_keys[] = {"id",         "uses",    "with",        "gate",
                                         "background", "timeout", "description", "isolation"};
static const char *const plugins_keys[] = {"path", "allow_insecure_path", "pins"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One validation pass: every problem is reported, and counted here because the
   caller's diags may be NULL. */
typedef struct chk {
    sw_diags *d;
    const sw_ydoc *doc;
    int errors;
} chk;

static void bad(chk *c, const sw_ynode *at, const char *fmt, ...) SW_PRINTF(3, 4);

static void bad(chk *c, const sw_ynode *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_pos pos = sw_ynode_pos(c->doc, at);
    if (!at)
        pos.line = pos.col = 1;
    sw_diag_error(c->d, pos, "%s", msg);
    free(msg);
    c->errors++;
}

static int is_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Unknown keys of a mapping, each at its key's position. */
static void check_keys(chk *c, const sw_ynode *map, const char *const *known, size_t n,
                       const char *prefix)
{
    c->errors += sw_ynode_check_keys(c->doc, map, known, n, prefix, c->d);
}

/* What a node is, for "found ..." in messages: 'text' for scalars. Caller frees. */
static char *describe(const sw_ynode *n)
{
    if (n->kind == SW_YAML_SCALAR)
        return sw_xasprintf("'%s'", n->text);
    return sw_xstrdup(sw_ynode_describe(n));
}

/* A scalar's text; null, mappings and sequences are not strings. */
static char *string_of(chk *c, const sw_ynode *n, const char *prefix, const char *key)
{
    if (n->kind != SW_YAML_SCALAR || sw_ynode_is_null(n)) {
        bad(c, n, "%s'%s' must be a string, found %s", prefix, key, sw_ynode_describe(n));
        return NULL;
    }
    return sw_xstrdup(n->text);
}

/* ---- durations and ids ---- */

int sw_parse_duration(const char *text, int64_t *ms, sw_err *err)
{
    const char *s = text ? text : "";
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    double total = 0;
    int parts = 0;
    if (!*s)
        goto invalid;
    while (*s) {
        const char *start = s;
        size_t digits = 0;
        while (isdigit((unsigned char)*s))
            s++, digits++;
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s))
                s++, digits++;
        }
        if (!digits)
            goto invalid;
        char num[64];
        if ((size_t)(s - start) >= sizeof num)
            goto invalid;
        memcpy(num, start, (size_t)(s - start));
        num[s - start] = '\0';
        double unit;
        if (strncmp(s, "ms", 2) == 0)
            unit = 1, s += 2;
        else if (*s == 'h')
            unit = 3600e3, s++;
        else if (*s == 'm')
            unit = 60e3, s++;
        else if (*s == 's')
            unit = 1e3, s++;
        else if (!*s && parts == 0)
            unit = 1e3; /* a bare number is seconds */
        else
            goto invalid;
        total += strtod(num, NULL) * unit;
        parts++;
    }
    if (total >= 9.2e18)
        return sw_err_set(err, "duration '%s' is too long", text);
    *ms = (int64_t)llround(neg ? -total : total);
    return 0;
invalid:
    return sw_err_set(err,
                      "invalid duration '%s' (write e.g. 250ms, 30s, 5m, 1h, 1h30m or a number "
                      "of seconds)",
                      text ? text : "");
}

int sw_stage_id_valid(const char *id, sw_err *err)
{
    static const char *const reserved[] = {
        "vars",   "env", "failure", "slipway", "run",      "and",  "break", "do",    "else",
        "elseif", "end", "false",   "for",     "function", "goto", "if",    "in",    "local",
        "nil",    "not", "or",      "repeat",  "return",   "then", "true",  "until", "while"};
    if (!id || !*id)
        return sw_err_set(err, "stage id is empty");
    if (!(islower((unsigned char)id[0]) || id[0] == '_'))
        goto invalid;
    for (const char *s = id; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            goto invalid;
    if (strlen(id) > MAX_STAGE_ID)
        return sw_err_set(err, "stage id '%s' is longer than %d characters", id, MAX_STAGE_ID);
    for (size_t i = 0; i < COUNT(reserved); i++)
        if (strcmp(id, reserved[i]) == 0)
            return sw_err_set(err, "stage id '%s' is reserved", id);
    return 0;
invalid:
    return sw_err_set(err,
                      "stage id '%s' is not valid (use lowercase letters, digits and '_', not "
                      "starting with a digit)",
                      id);
}

/* ---- stages ---- */

static const sw_ynode *id_node(const sw_stage_spec *s)
{
    return sw_ynode_get(s->node, "id");
}

/* The first stage (in stages, then on_failure) that already took id. */
static const sw_stage_spec *first_with_id(const sw_pipeline *p, const char *id)
{
    for (size_t i = 0; i < p->n_stages; i++)
        if (p->stages[i].id && strcmp(p->stages[i].id, id) == 0)
            return &p->stages[i];
    for (size_t i = 0; i < p->n_on_failure; i++)
        if (p->on_failure[i].id && strcmp(p->on_failure[i].id, id) == 0)
            return &p->on_failure[i];
    return NULL;
}

static void parse_timeout(chk *c, const sw_ynode *n, const char *prefix, int64_t *out)
{
    sw_value v;
    sw_err err;
    int64_t ms = 0;
    if (n->kind != SW_YAML_SCALAR || sw_ynode_is_null(n)) {
        bad(c, n, "%s'timeout' must be a duration (e.g. 30s), found %s", prefix,
            sw_ynode_describe(n));
        return;
    }
    if (sw_yaml_scalar_value(n, &v, &err) < 0) {
        bad(c, n, "%stimeout: %s", prefix, err.msg);
        return;
    }
    int ok = 1;
    if (v.type == SW_TYPE_INT) {
        if (v.as.i > INT64_MAX / 1000 || v.as.i < INT64_MIN / 1000)
            ok = 0;
        else
            ms = v.as.i * 1000;
    } else if (v.type == SW_TYPE_DOUBLE) {
        if (!isfinite(v.as.d) || fabs(v.as.d) >= 9.2e15)
            ok = 0;
        else
            ms = (int64_t)llround(v.as.d * 1000);
    } else if (v.type == SW_TYPE_STRING) {
        if (sw_parse_duration(v.as.s, &ms, &err) < 0) {
            bad(c, n, "%stimeout: %s", prefix, err.msg);
            sw_value_free(&v);
            return;
        }
    } else {
        ok = 0;
    }
    sw_value_free(&v);
    if (!ok)
        bad(c, n, "%s'timeout' must be a duration (e.g. 30s), found '%s'", prefix, n->text);
    else if (ms <= 0)
        bad(c, n, "%s'timeout' must be positive, found '%s'", prefix, n->text);
    else
        *out = ms;
}

static void parse_stage(chk *c, sw_pipeline *p, const sw_ynode *n, int on_failure, size_t index,
                        sw_stage_spec *s)
{
    *s = (sw_stage_spec){.node = n, .on_failure = on_failure, .index = index};
    const char *list = on_failure ? "on_failure" : "stages";
    if (n->kind != SW_YAML_MAP) {
        bad(c, n, "%s[%zu]: a stage must be a mapping, found %s", list, index,
            sw_ynode_describe(n));
        return;
    }

    char prefix[160];
    const sw_ynode *id = sw_ynode_get(n, "id");
    if (id && id->kind == SW_YAML_SCALAR && !sw_ynode_is_null(id))
        snprintf(prefix, sizeof prefix, "stage '%.100s': ", id->text);
    else
        snprintf(prefix, sizeof prefix, "%s[%zu]: ", list, index);

    check_keys(c, n, stage_keys, COUNT(stage_keys), prefix);

    if (!id) {
        bad(c, n, "%smissing required key 'id'", prefix);
    } else if ((s->id = string_of(c, id, prefix, "id")) != NULL) {
        sw_err err;
        const sw_stage_spec *first;
        if (sw_stage_id_valid(s->id, &err) < 0) {
            bad(c, id, "%s", err.msg);
        } else if ((first = first_with_id(p, s->id)) != NULL) {
            bad(c, id, "duplicate stage id '%s' (first at line %d)", s->id, id_node(first)->line);
        }
    }

    const sw_ynode *uses = sw_ynode_get(n, "uses");
    if (!uses)
        bad(c, n, "%smissing required key 'uses'", prefix);
    else
        s->uses = string_of(c, uses, prefix, "uses");

    const sw_ynode *with = sw_ynode_get(n, "with");
    if (with && with->kind == SW_YAML_MAP)
        s->with = with;
    else if (with && !sw_ynode_is_null(with))
        bad(c, with, "%s'with' must be a mapping, found %s", prefix, sw_ynode_describe(with));

    const sw_ynode *gate = sw_ynode_get(n, "gate");
    if (gate && (s->gate = string_of(c, gate, prefix, "gate")) != NULL) {
        s->gate_pos = sw_ynode_pos(c->doc, gate);
        s->gate_origin = sw_ynode_origin(c->doc, gate);
    }

    const sw_ynode *bg = sw_ynode_get(n, "background");
    if (bg) {
        sw_value v = SW_VALUE_NULL;
        if (bg->kind != SW_YAML_SCALAR || sw_yaml_scalar_value(bg, &v, NULL) < 0 ||
            v.type != SW_TYPE_BOOL) {
            char *what = describe(bg);
            bad(c, bg, "%s'background' must be true or false, found %s", prefix, what);
            free(what);
        } else {
            s->background = v.as.b;
        }
        sw_value_free(&v);
        if (s->background && on_failure)
            bad(c, bg, "%sa stage in on_failure cannot run in the background", prefix);
    }

    const sw_ynode *timeout = sw_ynode_get(n, "timeout");
    if (timeout)
        parse_timeout(c, timeout, prefix, &s->timeout_ms);

    const sw_ynode *isolation = sw_ynode_get(n, "isolation");
    if (isolation) {
        char *mode = string_of(c, isolation, prefix, "isolation");
        if (mode && strcmp(mode, "process") == 0)
            s->isolated = 1;
        else if (mode && strcmp(mode, "thread") != 0)
            bad(c, isolation, "%s'isolation' must be thread or process, found '%s'", prefix, mode);
        free(mode);
    }

    const sw_ynode *desc = sw_ynode_get(n, "description");
    if (desc)
        free(string_of(c, desc, prefix, "description"));
}

static void parse_stages(chk *c, sw_pipeline *p, const sw_ynode *list, int on_failure)
{
    const char *key = on_failure ? "on_failure" : "stages";
    if (list->kind != SW_YAML_SEQ) {
        if (on_failure && sw_ynode_is_null(list))
            return;
        bad(c, list, "'%s' must be a sequence of stages, found %s", key, sw_ynode_describe(list));
        return;
    }
    if (list->n == 0 && !on_failure) {
        bad(c, list, "'stages' must list at least one stage");
        return;
    }
    sw_stage_spec *specs = sw_xcalloc(list->n, sizeof *specs);
    if (on_failure)
        p->on_failure = specs;
    else
        p->stages = specs;
    for (size_t i = 0; i < list->n; i++) {
        /* Counted as they are added so duplicate ids only see earlier stages. */
        parse_stage(c, p, list->items[i], on_failure, i, &specs[i]);
        if (on_failure)
            p->n_on_failure++;
        else
            p->n_stages++;
    }
}

/* ---- vars and plugins ---- */

static int node_value(const sw_ynode *n, sw_value *out, sw_err *err)
{
    if (n->kind == SW_YAML_SCALAR)
        return sw_yaml_scalar_value(n, out, err);
    json_t *j = sw_yaml_to_json(n, err);
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

static void parse_vars(chk *c, sw_pipeline *p, const sw_ynode *vars)
{
    if (vars->kind != SW_YAML_MAP) {
        if (!sw_ynode_is_null(vars))
            bad(c, vars, "'vars' must be a mapping of names to values, found %s",
                sw_ynode_describe(vars));
        return;
    }
    p->vars = sw_xcalloc(vars->n, sizeof *p->vars);
    for (size_t i = 0; i < vars->n; i++) {
        const sw_ynode *k = vars->keys[i];
        sw_value v;
        sw_err err;
        if (!is_name(k->text)) {
            bad(c, k,
                "variable name '%s' is not valid (use letters, digits and '_', not starting "
                "with a digit)",
                k->text);
            continue;
        }
        if (node_value(vars->items[i], &v, &err) < 0) {
            bad(c, vars->items[i], "vars.%s: %s", k->text, err.msg);
            continue;
        }
        p->vars[p->n_vars++] =
            (sw_var){.name = sw_xstrdup(k->text), .value = v, .pos = sw_ynode_pos(c->doc, k)};
    }
}

static void add_plugin_path(chk *c, sw_pipeline *p, const sw_ynode *n)
{
    char *s = string_of(c, n, "plugins: ", "path");
    if (!s)
        return;
    p->plugin_paths[p->n_plugin_paths++] = sw_path_resolve(p->dir, s);
    free(s);
}

/* "sha256:" and 64 hex digits -> the digits in lowercase; NULL when malformed. */
static char *pin_digest(const char *text)
{
    if (strncmp(text, "sha256:", 7) != 0)
        return NULL;
    const char *hex = text + 7;
    size_t n = strlen(hex);
    if (n != 64)
        return NULL;
    char *out = sw_xstrdup(hex);
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)hex[i])) {
            free(out);
            return NULL;
        }
        out[i] = (char)tolower((unsigned char)hex[i]);
    }
    return out;
}

static void parse_pins(chk *c, sw_pipeline *p, const sw_ynode *pins)
{
    if (pins->kind != SW_YAML_MAP) {
        if (!sw_ynode_is_null(pins))
            bad(c, pins, "plugins: 'pins' must map plugin names to \"sha256:<digest>\", found %s",
                sw_ynode_describe(pins));
        return;
    }
    p->plugin_pins = sw_xcalloc(pins->n, sizeof *p->plugin_pins);
    for (size_t i = 0; i < pins->n; i++) {
        const sw_ynode *k = pins->keys[i], *v = pins->items[i];
        char *digest = NULL;
        if (v->kind != SW_YAML_SCALAR || !(digest = pin_digest(v->text))) {
            char *what = describe(v);
            bad(c, v, "plugins: pins: '%s' must be \"sha256:\" and 64 hexadecimal digits, found %s",
                k->text, what);
            free(what);
            continue;
        }
        p->plugin_pins[p->n_plugin_pins++] = (sw_plugin_pin){
            .name = sw_xstrdup(k->text), .sha256 = digest, .pos = sw_ynode_pos(c->doc, k)};
    }
}

static void parse_plugins(chk *c, sw_pipeline *p, const sw_ynode *plugins)
{
    if (plugins->kind != SW_YAML_MAP) {
        if (!sw_ynode_is_null(plugins))
            bad(c, plugins, "'plugins' must be a mapping, found %s", sw_ynode_describe(plugins));
        return;
    }
    check_keys(c, plugins, plugins_keys, COUNT(plugins_keys), "plugins: ");
    const sw_ynode *allow = sw_ynode_get(plugins, "allow_insecure_path");
    if (allow) {
        sw_value v = SW_VALUE_NULL;
        if (allow->kind != SW_YAML_SCALAR || sw_yaml_scalar_value(allow, &v, NULL) < 0 ||
            v.type != SW_TYPE_BOOL) {
            char *what = describe(allow);
            bad(c, allow, "plugins: 'allow_insecure_path' must be true or false, found %s", what);
            free(what);
        } else {
            p->allow_insecure_plugin_path = v.as.b;
        }
        sw_value_free(&v);
    }
    const sw_ynode *pins = sw_ynode_get(plugins, "pins");
    if (pins)
        parse_pins(c, p, pins);
    const sw_ynode *path = sw_ynode_get(plugins, "path");
    if (!path || sw_ynode_is_null(path))
        return;
    if (path->kind == SW_YAML_SEQ) {
        p->plugin_paths = sw_xcalloc(path->n, sizeof *p->plugin_paths);
        for (size_t i = 0; i < path->n; i++)
            add_plugin_path(c, p, path->items[i]);
    } else {
        p->plugin_paths = sw_xcalloc(1, sizeof *p->plugin_paths);
        add_plugin_path(c, p, path);
    }
}

/* The name a pin for the plugin of `uses` has: the name itself, or for a path
   ("./x/eval.so") the file name without ".so". Caller frees. */
static char *pin_name_of(const char *uses)
{
    size_t n = strlen(uses);
    if (!strchr(uses, '/') && !(n >= 3 && strcmp(uses + n - 3, ".so") == 0))
        return sw_xstrdup(uses);
    const char *b = sw_path_basename(uses);
    n = strlen(b);
    if (n >= 3 && strcmp(b + n - 3, ".so") == 0)
        n -= 3;
    return sw_xstrndup(b, n);
}

/* A pin names a plugin some stage uses: a pin nothing uses is a typo or stale. */
static void check_pins(chk *c, const sw_pipeline *p)
{
    size_t n_used = 0;
    char **used = sw_xcalloc(p->n_stages + p->n_on_failure + 1, sizeof *used);
    for (size_t i = 0; i < p->n_stages + p->n_on_failure; i++) {
        const sw_stage_spec *s = i < p->n_stages ? &p->stages[i] : &p->on_failure[i - p->n_stages];
        if (s->uses && *s->uses)
            used[n_used++] = pin_name_of(s->uses);
    }
    for (size_t i = 0; i < p->n_plugin_pins; i++) {
        const sw_plugin_pin *pin = &p->plugin_pins[i];
        size_t j = 0;
        while (j < n_used && strcmp(used[j], pin->name) != 0)
            j++;
        if (j < n_used && strcmp(pin->name, "lua") == 0) {
            sw_diag_error(c->d, pin->pos,
                          "plugins: pins: 'lua' is built into Slipway: there is no file to pin");
            c->errors++;
        } else if (j == n_used) {
            const char *hint = sw_did_you_mean(pin->name, (const char *const *)used, n_used);
            if (hint)
                sw_diag_error(c->d, pin->pos,
                              "plugins: pins: no stage uses plugin '%s' (did you mean '%s'?)",
                              pin->name, hint);
            else
                sw_diag_error(c->d, pin->pos, "plugins: pins: no stage uses plugin '%s'",
                              pin->name);
            c->errors++;
        }
    }
    for (size_t i = 0; i < n_used; i++)
        free(used[i]);
    free(used);
}

/* ---- the whole file ---- */

static void parse_top(chk *c, sw_pipeline *p)
{
    const sw_ynode *root = c->doc->root;
    if (!root) {
        bad(c, NULL, "the pipeline file is empty");
        return;
    }
    if (root->kind != SW_YAML_MAP) {
        bad(c, root, "a pipeline must be a mapping (version, name, stages, ...), found %s",
            sw_ynode_describe(root));
        return;
    }
    check_keys(c, root, top_keys, COUNT(top_keys), "");

    const sw_ynode *version = sw_ynode_get(root, "version");
    if (!version) {
        bad(c, root, "missing required key 'version' (write 'version: %d')", SCHEMA_VERSION);
    } else {
        sw_value v = SW_VALUE_NULL;
        if (version->kind != SW_YAML_SCALAR || sw_yaml_scalar_value(version, &v, NULL) < 0 ||
            v.type != SW_TYPE_INT) {
            char *what = describe(version);
            bad(c, version, "'version' must be an integer, found %s", what);
            free(what);
        } else if (v.as.i != SCHEMA_VERSION) {
            bad(c, version, "unsupported pipeline version %lld (this Slipway reads version %d)",
                (long long)v.as.i, SCHEMA_VERSION);
        } else {
            p->version = (int)v.as.i;
        }
        sw_value_free(&v);
    }

    const sw_ynode *name = sw_ynode_get(root, "name");
    if (!name)
        bad(c, root, "missing required key 'name'");
    else
        p->name = string_of(c, name, "", "name");

    const sw_ynode *desc = sw_ynode_get(root, "description");
    if (desc)
        free(string_of(c, desc, "", "description"));

    const sw_ynode *vars = sw_ynode_get(root, "vars");
    if (vars)
        parse_vars(c, p, vars);

    const sw_ynode *plugins = sw_ynode_get(root, "plugins");
    if (plugins)
        parse_plugins(c, p, plugins);

    const sw_ynode *stages = sw_ynode_get(root, "stages");
    if (!stages)
        bad(c, root, "missing required key 'stages'");
    else
        parse_stages(c, p, stages, 0);

    const sw_ynode *on_failure = sw_ynode_get(root, "on_failure");
    if (on_failure)
        parse_stages(c, p, on_failure, 1);

    check_pins(c, p);
}

/* Takes ownership of doc, path and dir. */
static sw_pipeline *build(sw_ydoc *doc, char *path, char *dir, sw_diags *d)
{
    sw_pipeline *p = sw_xcalloc(1, sizeof *p);
    p->doc = doc;
    p->path = path;
    p->dir = dir;
    chk c = {.d = d, .doc = doc};
    parse_top(&c, p);
    if (c.errors) {
        sw_pipeline_destroy(p);
        return NULL;
    }
    return p;
}

sw_pipeline *sw_pipeline_parse(const char *path, sw_diags *d)
{
    sw_ydoc *doc = sw_yaml_parse_file(path, 0, d);
    if (!doc)
        return NULL;
    sw_err err;
    char *real = sw_path_real(path, &err);
    if (!real) {
        sw_diag_error(d, (sw_pos){path, 0, 0}, "%s", err.msg);
        sw_ydoc_free(doc);
        return NULL;
    }
    return build(doc, real, sw_path_dirname(real), d);
}

/* An absolute folder for dir, or for path's folder when dir is NULL. */
static char *absolute_dir(const char *path, const char *dir)
{
    char *d = dir ? sw_xstrdup(dir) : sw_path_dirname(path ? path : ".");
    if (d[0] == '/')
        return d;
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return d;
    char *abs = strcmp(d, ".") == 0 ? sw_xstrdup(cwd) : sw_path_join(cwd, d);
    free(cwd);
    free(d);
    return abs;
}

sw_pipeline *sw_pipeline_parse_string(const char *text, size_t len, const char *path,
                                      const char *dir, sw_diags *d)
{
    const char *name = path ? path : "<string>";
    sw_ydoc *doc = sw_yaml_parse_string(text, len, name, d);
    if (!doc)
        return NULL;
    return build(doc, sw_xstrdup(name), absolute_dir(path, dir), d);
}

static void free_specs(sw_stage_spec *specs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(specs[i].id);
        free(specs[i].uses);
        free(specs[i].gate);
    }
    free(specs);
}

/* The loader, env_keys and checked fields belong to the checker and engine, which
   release them in sw_pipeline_free before calling this. */
void sw_pipeline_destroy(sw_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_vars; i++) {
        free(p->vars[i].name);
        sw_value_free(&p->vars[i].value);
    }
    free(p->vars);
    for (size_t i = 0; i < p->n_plugin_paths; i++)
        free(p->plugin_paths[i]);
    free(p->plugin_paths);
    for (size_t i = 0; i < p->n_plugin_pins; i++) {
        free(p->plugin_pins[i].name);
        free(p->plugin_pins[i].sha256);
    }
    free(p->plugin_pins);
    free_specs(p->stages, p->n_stages);
    free_specs(p->on_failure, p->n_on_failure);
    for (size_t i = 0; i < p->n_sets; i++)
        free(p->sets[i]);
    free(p->sets);
    free(p->name);
    free(p->path);
    free(p->dir);
    sw_ydoc_free(p->doc);
    free(p);
}

/* A --set value typed as YAML, as if written in the file's vars: a scalar, or a flow
   sequence or mapping ("[5, 25, 100]", "{a: 1}"). */
static int set_value(const char *text, sw_value *out, sw_err *err)
{
    const char *s = text + strspn(text, " \t");
    if (*s != '[' && *s != '{')
        return sw_yaml_text_value(text, out, err);
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_string(s, strlen(s), "value", d);
    int rc;
    if (!doc) {
        char *msg = sw_diags_count(d) ? sw_diags_format(d, 0) : NULL;
        rc = sw_err_set(err, "%s", msg ? msg : "not valid YAML");
        free(msg); /* within the library: plain malloc */
    } else {
        rc = node_value(doc->root, out, err);
        sw_ydoc_free(doc);
    }
    sw_diags_free(d);
    return rc;
}

int sw_pipeline_apply_set(sw_pipeline *p, const char *assignment, sw_err *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || strncmp(assignment, "vars.", 5) != 0)
        return sw_err_set(err, "--set '%s': expected vars.NAME=VALUE", assignment);
    char *name = sw_xstrndup(assignment + 5, (size_t)(eq - assignment - 5));
    if (!is_name(name)) {
        free(name);
        return sw_err_set(err, "--set '%s': expected vars.NAME=VALUE", assignment);
    }
    sw_value v;
    if (set_value(eq + 1, &v, err) < 0) {
        free(name);
        return sw_err_prefix(err, "--set '%s': ", assignment);
    }
    size_t i = 0;
    while (i < p->n_vars && strcmp(p->vars[i].name, name) != 0)
        i++;
    if (i < p->n_vars) {
        free(name);
        sw_value_free(&p->vars[i].value);
        p->vars[i].value = v;
        p->vars[i].pos = (sw_pos){0};
    } else {
        p->vars = sw_xrealloc(p->vars, (p->n_vars + 1) * sizeof *p->vars);
        p->vars[p->n_vars++] = (sw_var){.name = name, .value = v};
    }
    p->sets = sw_xrealloc(p->sets, (p->n_sets + 1) * sizeof *p->sets);
    p->sets[p->n_sets++] = sw_xstrdup(assignment);
    return 0;
}

const sw_stage_spec *sw_pipeline_find_stage(const sw_pipeline *p, const char *id)
{
    return id ? first_with_id(p, id) : NULL;
}
