/*
 * harness.c - the stage test harness (slipway/harness.h).
 *
 * A harness is a run of one stage without the run's files: a pipeline built
 * in memory (the `with:` document, the stage spec, a loader), an sw_run with
 * no journal whose folder is a temporary one, and the engine's observer
 * capturing log lines. Checking and binding parameters, calling the plugin
 * and writing outputs go through the checker's, runner's and host's own
 * functions (sw_params_check, sw_stage_prepare, sw_stage_call, the host
 * table), so nothing here re-implements a rule a run enforces.
 */
#include "slipway/harness.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "lua/lua_stage.h"
#include "model/params.h"
#include "model/yamldoc.h"
#include "plugin/host.h"
#include "run/run_impl.h"
#include "run/stage.h"

#define WITH_FILE "with" /* how `with:` errors name their "file": with:2:7: error: ... */

typedef struct log_line {
    sw_log_level level;
    char *message;
} log_line;

struct sw_harness {
    sw_engine *engine;
    sw_loader *loader;
    const sw_plugin *plugin;
    sw_pipeline pipe; /* one stage, never parsed from a file */
    sw_stage_spec spec;
    sw_ydoc *with_doc;
    char *stage_id; /* NULL: from the plugin's name */
    sw_context *seed;
    char **secret_keys;
    size_t n_secret_keys;
    sw_run run;
    char *tmp; /* the run's folder; created at the first run */
    char *artifacts_dir;
    int64_t cancel_after_ms;
    int ran;
    int cancelled;
    sw_status status;
    char reason[SW_ERR_MAX];
    char error[SW_ERR_MAX];
    log_line *logs;
    size_t n_logs;
    double progress;
};

static int fail(sw_harness *h, const char *fmt, ...) SW_PRINTF(2, 3);
static int fail(sw_harness *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->error, sizeof h->error, fmt, ap);
    va_end(ap);
    return -1;
}

static void observe(void *ud, const sw_event *ev)
{
    sw_harness *h = ud;
    if (ev->kind == SW_EVENT_LOG && ev->stage_id) {
        h->logs = sw_xrealloc(h->logs, (h->n_logs + 1) * sizeof *h->logs);
        h->logs[h->n_logs].level = ev->level;
        h->logs[h->n_logs].message = sw_xstrdup(ev->message ? ev->message : "");
        h->n_logs++;
    } else if (ev->kind == SW_EVENT_PROGRESS) {
        h->progress = ev->progress;
    }
}

static void clear_logs(sw_harness *h)
{
    for (size_t i = 0; i < h->n_logs; i++)
        free(h->logs[i].message);
    free(h->logs);
    h->logs = NULL;
    h->n_logs = 0;
}

static sw_ydoc *parse_yaml(sw_harness *h, const char *text, const char *file)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_string(text, strlen(text), file, d);
    if (!doc) {
        char *msg = sw_diags_count(d) ? sw_diags_format(d, 0) : sw_xstrdup("not YAML");
        fail(h, "%s", msg);
        free(msg);
    }
    sw_diags_free(d);
    return doc;
}

SW_API sw_harness *sw_harness_new(void)
{
    sw_harness *h = sw_xcalloc(1, sizeof *h);
    h->engine = sw_engine_new();
    sw_engine_set_observer(h->engine, observe, h);
    h->seed = sw_context_new();
    h->with_doc = sw_yaml_parse_string("{}", 2, WITH_FILE, NULL);
    char cwd[4096];
    h->pipe.dir = sw_xstrdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
    h->pipe.path = sw_path_join(h->pipe.dir, "(harness)");
    h->pipe.name = sw_xstrdup("harness");
    h->pipe.version = 1;
    h->progress = -1;
    pthread_mutex_init(&h->run.lock, NULL);
    pthread_cond_init(&h->run.cond, NULL);
    pthread_mutex_init(&h->run.observe_lock, NULL);
    pthread_mutex_init(&h->run.secrets_lock, NULL);
    return h;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void reset_run(sw_harness *h)
{
    sw_context_free(h->run.ctx);
    h->run.ctx = NULL;
    sw_strv_free(h->run.secrets, h->run.n_secrets);
    h->run.secrets = NULL;
    h->run.n_secrets = 0;
    json_decref(h->run.artifacts);
    h->run.artifacts = NULL;
    sw_strv_free(h->pipe.env_keys, h->pipe.n_env_keys);
    h->pipe.env_keys = NULL;
    h->pipe.n_env_keys = 0;
}

SW_API void sw_harness_free(sw_harness *h)
{
    if (!h)
        return;
    reset_run(h);
    if (h->tmp)
        nftw(h->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(h->tmp);
    free(h->artifacts_dir);
    free(h->run.id);
    pthread_mutex_destroy(&h->run.lock);
    pthread_cond_destroy(&h->run.cond);
    pthread_mutex_destroy(&h->run.observe_lock);
    pthread_mutex_destroy(&h->run.secrets_lock);
    clear_logs(h);
    sw_strv_free(h->secret_keys, h->n_secret_keys);
    sw_context_free(h->seed);
    sw_ydoc_free(h->with_doc);
    free(h->stage_id);
    free(h->spec.id);
    free(h->spec.uses);
    free(h->pipe.dir);
    free(h->pipe.path);
    free(h->pipe.name);
    sw_loader_free(h->loader);
    sw_engine_free(h->engine);
    free(h);
}

SW_API const char *sw_harness_error(const sw_harness *h)
{
    return h->error;
}

/* ---- the plugin ---- */

SW_API void sw_harness_add_plugin_dir(sw_harness *h, const char *dir)
{
    sw_engine_add_plugin_dir(h->engine, dir);
}

/* The loader a pipeline of this engine would get (engine.c's new_loader). */
static sw_loader *make_loader(sw_harness *h)
{
    sw_loader *loader = sw_loader_new(sw_host_table());
    size_t n;
    char **dirs = sw_engine_plugin_search_path(h->engine, NULL, &n);
    for (size_t i = 0; i < n; i++)
        sw_loader_add_dir(loader, dirs[i]);
    sw_strv_free(dirs, n);
    sw_loader_add_builtin(loader, sw_lua_stage_desc());
    return loader;
}

SW_API int sw_harness_load(sw_harness *h, const char *plugin)
{
    if (!plugin || !*plugin)
        return fail(h, "no plugin named");
    if (!h->loader)
        h->loader = make_loader(h);
    sw_err err;
    const sw_plugin *p = sw_loader_find(h->loader, plugin, h->pipe.dir, &err);
    if (!p)
        return fail(h, "%s", err.msg);
    h->plugin = p;
    free(h->spec.uses);
    /* The runner finds the plugin again by `uses:`: a name finds this very object
       in the loader's cache; a path is kept as the loader resolved it, so a later
       sw_harness_set_base_dir does not change which file it names. */
    size_t n = strlen(plugin);
    int by_path = strchr(plugin, '/') || (n > 3 && strcmp(plugin + n - 3, ".so") == 0);
    h->spec.uses = sw_xstrdup(by_path && !p->builtin ? p->path : p->name);
    return 0;
}

SW_API const sw_stage_desc *sw_harness_desc(const sw_harness *h)
{
    return h->plugin ? &h->plugin->desc : NULL;
}

/* ---- the stage ---- */

SW_API int sw_harness_set_stage_id(sw_harness *h, const char *id)
{
    sw_err err;
    if (!id || sw_stage_id_valid(id, &err) != 0)
        return fail(h, "%s", id ? err.msg : "stage id is NULL");
    free(h->stage_id);
    h->stage_id = sw_xstrdup(id);
    return 0;
}

SW_API int sw_harness_set_base_dir(sw_harness *h, const char *dir)
{
    sw_err err;
    char *real = dir ? sw_path_real(dir, &err) : NULL;
    if (!real)
        return fail(h, "base folder: %s", dir ? err.msg : "NULL");
    free(h->pipe.dir);
    h->pipe.dir = real;
    return 0;
}

SW_API int sw_harness_set_with(sw_harness *h, const char *yaml)
{
    sw_ydoc *doc = parse_yaml(h, yaml ? yaml : "", WITH_FILE);
    if (!doc)
        return -1;
    if (!doc->root) { /* an empty text: no parameters */
        sw_ydoc_free(doc);
        doc = sw_yaml_parse_string("{}", 2, WITH_FILE, NULL);
    } else if (doc->root->kind != SW_YAML_MAP) {
        sw_ydoc_free(doc);
        return fail(h, "with: must be a mapping of parameter names to values");
    }
    sw_ydoc_free(h->with_doc);
    h->with_doc = doc;
    return 0;
}

/* ---- the initial context ---- */

static int check_key(sw_harness *h, const char *key)
{
    const char *dot = key ? strchr(key, '.') : NULL;
    if (!dot || dot == key || !dot[1])
        return fail(h, "context key '%s': expected OWNER.NAME", key ? key : "(null)");
    return 0;
}

/* Store v (consumed) under key, converted to type when that is lossless. */
static int seed(sw_harness *h, const char *key, sw_type type, sw_value v)
{
    if (type == SW_TYPE_DOUBLE && v.type == SW_TYPE_INT)
        v = sw_value_double((double)v.as.i);
    if (type != SW_TYPE_ANY && v.type != type) {
        fail(h, "context key '%s': the value is %s, not %s", key, sw_type_name(v.type),
             sw_type_name(type));
        sw_value_free(&v);
        return -1;
    }
    sw_context_set(h->seed, key, &v, "harness", 0);
    sw_value_free(&v);
    return 0;
}

SW_API int sw_harness_set_value(sw_harness *h, const char *key, sw_type type, const char *json_text)
{
    if (check_key(h, key) != 0)
        return -1;
    json_error_t jerr;
    json_t *j = json_text ? json_loads(json_text, JSON_DECODE_ANY, &jerr) : NULL;
    if (!j)
        return fail(h, "context key '%s': not JSON: %s", key, json_text ? jerr.text : "NULL");
    sw_value v;
    sw_err err;
    int rc = sw_value_from_json(j, &v, &err);
    json_decref(j);
    if (rc != 0)
        return fail(h, "context key '%s': %s", key, err.msg);
    return seed(h, key, type, v);
}

SW_API int sw_harness_set_value_yaml(sw_harness *h, const char *key, const char *yaml)
{
    if (check_key(h, key) != 0)
        return -1;
    sw_ydoc *doc = parse_yaml(h, yaml ? yaml : "", key);
    if (!doc)
        return -1;
    sw_value v = SW_VALUE_NULL;
    sw_err err;
    int rc = 0;
    if (doc->root && doc->root->kind == SW_YAML_SCALAR) {
        rc = sw_yaml_scalar_value(doc->root, &v, &err);
    } else if (doc->root) {
        json_t *j = sw_yaml_to_json(doc->root, &err);
        if (j) {
            char *text = json_dumps(j, JSON_COMPACT);
            v = sw_value_json_text(text);
            free(text);
            json_decref(j);
        } else {
            rc = -1;
        }
    }
    sw_ydoc_free(doc);
    if (rc != 0)
        return fail(h, "context key '%s': %s", key, err.msg);
    return seed(h, key, SW_TYPE_ANY, v);
}

SW_API int sw_harness_set_bool(sw_harness *h, const char *key, int value)
{
    return check_key(h, key) != 0 ? -1 : seed(h, key, SW_TYPE_BOOL, sw_value_bool(value != 0));
}

SW_API int sw_harness_set_int(sw_harness *h, const char *key, int64_t value)
{
    return check_key(h, key) != 0 ? -1 : seed(h, key, SW_TYPE_INT, sw_value_int(value));
}

SW_API int sw_harness_set_double(sw_harness *h, const char *key, double value)
{
    return check_key(h, key) != 0 ? -1 : seed(h, key, SW_TYPE_DOUBLE, sw_value_double(value));
}

SW_API int sw_harness_set_string(sw_harness *h, const char *key, const char *value)
{
    if (check_key(h, key) != 0)
        return -1;
    if (!value)
        return fail(h, "context key '%s': string is NULL", key);
    return seed(h, key, SW_TYPE_STRING, sw_value_string(value));
}

SW_API int sw_harness_set_secret(sw_harness *h, const char *key)
{
    if (!key || !sw_context_get(h->seed, key))
        return fail(h, "context key '%s' is not set", key ? key : "(null)");
    h->secret_keys = sw_xrealloc(h->secret_keys, (h->n_secret_keys + 1) * sizeof *h->secret_keys);
    h->secret_keys[h->n_secret_keys++] = sw_xstrdup(key);
    return 0;
}

/* ---- running ---- */

SW_API void sw_harness_cancel_after(sw_harness *h, int64_t ms)
{
    h->cancel_after_ms = ms > 0 ? ms : 0;
}

SW_API void sw_harness_cancel(sw_harness *h)
{
    atomic_store(&h->run.stop, 1);
}

/* A fresh context from the seeds; secrets marked as a run marks env.* values. */
static void fresh_context(sw_harness *h)
{
    h->run.ctx = sw_context_new();
    for (size_t i = 0; i < sw_context_count(h->seed); i++) {
        const char *key = sw_context_key_at(h->seed, i);
        const sw_value *v = sw_context_value_at(h->seed, i);
        unsigned flags = 0;
        for (size_t k = 0; k < h->n_secret_keys; k++)
            if (strcmp(h->secret_keys[k], key) == 0)
                flags = SW_CTX_SECRET;
        if (flags && v->type == SW_TYPE_STRING)
            sw_run_add_secret(&h->run, v->as.s);
        sw_context_set(h->run.ctx, key, v, "harness", flags);
    }
}

/* What `with:` may reference: the initial context, and the environment. */
static int scope_lookup(void *ud, const char *key, sw_type *type, const char **why)
{
    sw_harness *h = ud;
    if (strncmp(key, "env.", 4) == 0) {
        sw_pipeline *p = &h->pipe;
        p->env_keys = sw_xrealloc(p->env_keys, (p->n_env_keys + 1) * sizeof *p->env_keys);
        p->env_keys[p->n_env_keys++] = sw_xstrdup(key + 4);
        *type = SW_TYPE_STRING;
        return 1;
    }
    const sw_value *v = sw_context_get(h->seed, key);
    if (!v) {
        *why = "not set in the harness's initial context";
        return 0;
    }
    *type = v->type;
    return 1;
}

/* The declared inputs, against the initial context, as `slipway check` does against
   earlier stages' outputs. */
static int check_inputs(sw_harness *h, sw_buf *why)
{
    int bad = 0;
    for (const sw_port *in = h->plugin->desc.inputs; in && in->name; in++) {
        const sw_value *v = sw_context_get(h->run.ctx, in->name);
        if (!v && !(in->flags & SW_PORT_OPTIONAL)) {
            sw_buf_printf(why,
                          "%splugin '%s' needs input '%s' (%s): not set in the initial context",
                          bad++ ? "; " : "", h->plugin->name, in->name, sw_type_name(in->type));
        } else if (v && in->type != SW_TYPE_ANY && !sw_type_compatible(v->type, in->type)) {
            sw_buf_printf(why, "%splugin '%s' needs input '%s' as %s, but it is %s",
                          bad++ ? "; " : "", h->plugin->name, in->name, sw_type_name(in->type),
                          sw_type_name(v->type));
        }
    }
    return bad;
}

static int check_params(sw_harness *h, sw_buf *why)
{
    sw_diags *d = sw_diags_new();
    sw_params_check(h->plugin->desc.params, h->with_doc, h->with_doc->root, h->with_doc->root,
                    h->spec.id, scope_lookup, h, d);
    size_t errors = 0;
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        if (sw_diags_at(d, i)->severity != SW_SEVERITY_ERROR)
            continue;
        char *line = sw_diags_format(d, i);
        sw_buf_printf(why, "%s%s", errors++ ? "; " : "bad parameters: ", line);
        free(line);
    }
    sw_diags_free(d);
    return errors > 0;
}

static void *stage_thread(void *arg)
{
    sw_stage *st = arg;
    sw_status status = sw_stage_call(st);
    pthread_mutex_lock(&st->run->lock);
    st->status = status;
    st->finished = 1;
    pthread_cond_broadcast(&st->run->cond);
    pthread_mutex_unlock(&st->run->lock);
    return NULL;
}

/* Wait for the stage, cancelling it once cancel_after_ms has passed. */
static void wait_stage(sw_harness *h, sw_stage *st)
{
    double cancel_at = h->cancel_after_ms ? sw_now_ms() + (double)h->cancel_after_ms : 0;
    pthread_mutex_lock(&h->run.lock);
    while (!st->finished) {
        if (cancel_at && sw_now_ms() >= cancel_at) {
            atomic_store(&st->cancelled, 1);
            cancel_at = 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + 10 * 1000000L; /* wake to notice the cancel deadline */
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&h->run.cond, &h->run.lock, &ts);
    }
    pthread_mutex_unlock(&h->run.lock);
    pthread_join(st->thread, NULL);
    h->cancelled = atomic_load(&st->cancelled) || atomic_load(&h->run.stop);
}

static sw_status not_started(sw_harness *h, const char *reason)
{
    h->status = SW_ERROR;
    snprintf(h->reason, sizeof h->reason, "%s", reason);
    return SW_ERROR;
}

static int make_tmp(sw_harness *h)
{
    if (h->tmp)
        return 0;
    const char *base = getenv("TMPDIR");
    char *templ = sw_xasprintf("%s/slipway-harness.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(templ)) {
        free(templ);
        return -1;
    }
    h->tmp = templ;
    char *state = sw_path_join(h->tmp, "state");
    sw_engine_set_state_dir(h->engine, state);
    free(state);
    return 0;
}

SW_API sw_status sw_harness_run(sw_harness *h)
{
    reset_run(h);
    clear_logs(h);
    h->ran = 1;
    h->cancelled = 0;
    h->progress = -1;
    h->reason[0] = '\0';
    atomic_store(&h->run.stop, 0);
    h->run.ctx = sw_context_new(); /* so getters work whatever happens below */
    h->run.artifacts = json_array();
    if (!h->plugin)
        return not_started(h, "no plugin loaded (sw_harness_load)");
    if (make_tmp(h) != 0)
        return not_started(h, "cannot create a temporary folder");

    free(h->spec.id);
    h->spec.id = sw_xstrdup(h->stage_id ? h->stage_id : h->plugin->name);
    for (char *c = h->spec.id; *c; c++)
        if (*c == '-')
            *c = '_';
    h->spec.with = h->with_doc->root;
    h->spec.node = h->with_doc->root;
    h->pipe.doc = h->with_doc;
    h->pipe.loader = h->loader;
    h->pipe.engine = h->engine;
    h->pipe.stages = &h->spec;
    h->pipe.n_stages = 1;
    if (!h->run.id)
        h->run.id = sw_xstrdup("harness");
    h->run.engine = h->engine;
    h->run.pipeline = &h->pipe;
    h->run.dir = h->tmp;
    sw_context_free(h->run.ctx);
    fresh_context(h);
    free(h->artifacts_dir);
    h->artifacts_dir = sw_xasprintf("%s/artifacts/%s", h->tmp, h->spec.id);

    sw_buf why = {0};
    int bad = check_params(h, &why);
    sw_run_load_env(&h->run);
    if (!bad)
        bad = check_inputs(h, &why);
    if (bad) {
        char *text = sw_buf_steal(&why);
        char *masked = sw_run_mask_secrets(&h->run, text);
        not_started(h, masked);
        free(masked);
        free(text);
        return SW_ERROR;
    }
    sw_buf_free(&why);

    char *reason = NULL;
    sw_stage *st = sw_stage_prepare(&h->run, &h->spec, NULL, &reason);
    if (!st) {
        char *masked = sw_run_mask_secrets(&h->run, reason);
        not_started(h, masked);
        free(masked);
        free(reason);
        return SW_ERROR;
    }
    if (pthread_create(&st->thread, NULL, stage_thread, st) != 0) {
        sw_stage_release(st);
        return not_started(h, "cannot start a thread for the stage");
    }
    wait_stage(h, st);
    h->status = st->status;
    if (st->status != SW_OK) {
        char *masked = sw_run_mask_secrets(&h->run, st->reason[0] ? st->reason : "no reason given");
        snprintf(h->reason, sizeof h->reason, "%s", masked);
        free(masked);
    }
    sw_stage_release(st);
    return h->status;
}

/* ---- results ---- */

SW_API sw_status sw_harness_status(const sw_harness *h)
{
    return h->ran ? h->status : SW_ERROR;
}

SW_API const char *sw_harness_reason(const sw_harness *h)
{
    return h->ran ? h->reason : "the stage has not run";
}

SW_API int sw_harness_was_cancelled(const sw_harness *h)
{
    return h->cancelled;
}

/* The context key of an output name (a name with a '.' is a key already). */
static char *key_of(const sw_harness *h, const char *name)
{
    if (strchr(name, '.') || !h->spec.id)
        return sw_xstrdup(name);
    return sw_xasprintf("%s.%s", h->spec.id, name);
}

static const sw_value *lookup(const sw_harness *h, const char *name)
{
    if (!name || !h->run.ctx)
        return NULL;
    char *key = key_of(h, name);
    const sw_value *v = sw_context_get(h->run.ctx, key);
    free(key);
    return v;
}

SW_API int sw_harness_has(const sw_harness *h, const char *name)
{
    return lookup(h, name) != NULL;
}

SW_API sw_type sw_harness_type(const sw_harness *h, const char *name)
{
    const sw_value *v = lookup(h, name);
    return v ? v->type : SW_TYPE_NULL;
}

/* The output as type want, with the host getters' rules and messages. */
static const sw_value *get_typed(sw_harness *h, const char *name, sw_type want)
{
    if (!name) {
        fail(h, "output name is NULL");
        return NULL;
    }
    if (!h->run.ctx) {
        fail(h, "the stage has not run");
        return NULL;
    }
    char *key = key_of(h, name);
    const sw_value *v;
    sw_err err;
    int rc = sw_context_get_typed(h->run.ctx, key, want, &v, &err);
    free(key);
    if (rc != 0) {
        fail(h, "%s", err.msg);
        return NULL;
    }
    return v;
}

SW_API int sw_harness_get_bool(sw_harness *h, const char *name, int *out)
{
    const sw_value *v = get_typed(h, name, SW_TYPE_BOOL);
    if (!v)
        return -1;
    *out = v->as.b;
    return 0;
}

SW_API int sw_harness_get_int(sw_harness *h, const char *name, int64_t *out)
{
    const sw_value *v = get_typed(h, name, SW_TYPE_INT);
    if (!v)
        return -1;
    *out = v->as.i;
    return 0;
}

SW_API int sw_harness_get_double(sw_harness *h, const char *name, double *out)
{
    const sw_value *v = get_typed(h, name, SW_TYPE_DOUBLE);
    if (!v)
        return -1;
    *out = v->type == SW_TYPE_INT ? (double)v->as.i : v->as.d;
    return 0;
}

SW_API int sw_harness_get_string(sw_harness *h, const char *name, const char **out)
{
    const sw_value *v = get_typed(h, name, SW_TYPE_STRING);
    if (!v)
        return -1;
    *out = v->as.s;
    return 0;
}

SW_API int sw_harness_get_json(sw_harness *h, const char *name, const char **out)
{
    const sw_value *v = get_typed(h, name, SW_TYPE_JSON);
    if (!v)
        return -1;
    *out = v->as.s;
    return 0;
}

SW_API char *sw_harness_outputs_json(const sw_harness *h)
{
    json_t *all = json_object();
    for (size_t i = 0; h->run.ctx && h->spec.id && i < sw_context_count(h->run.ctx); i++) {
        const char *key = sw_context_key_at(h->run.ctx, i);
        const char *writer = sw_context_writer(h->run.ctx, key);
        if (!writer || strcmp(writer, h->spec.id) != 0)
            continue;
        const sw_value *v = sw_context_value_at(h->run.ctx, i);
        json_object_set_new(
            all, key + strlen(h->spec.id) + 1,
            json_pack("{s:s, s:o}", "type", sw_type_name(v->type), "value", sw_value_to_json(v)));
    }
    char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

SW_API size_t sw_harness_log_count(const sw_harness *h)
{
    return h->n_logs;
}

SW_API sw_log_level sw_harness_log_level(const sw_harness *h, size_t i)
{
    return i < h->n_logs ? h->logs[i].level : SW_LOG_DEBUG;
}

SW_API const char *sw_harness_log_message(const sw_harness *h, size_t i)
{
    return i < h->n_logs ? h->logs[i].message : NULL;
}

SW_API long sw_harness_log_find(const sw_harness *h, const char *text)
{
    for (size_t i = 0; text && i < h->n_logs; i++)
        if (strstr(h->logs[i].message, text))
            return (long)i;
    return -1;
}

SW_API double sw_harness_progress(const sw_harness *h)
{
    return h->progress;
}

SW_API const char *sw_harness_artifacts_dir(const sw_harness *h)
{
    return h->artifacts_dir;
}
