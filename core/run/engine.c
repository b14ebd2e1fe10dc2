/*
 * engine.c - the public API's entry points: engines, pipelines, plugin
 * listings and run listings. The runner (runner.c) and the checker
 * (checker.c) do the work; this file wires them to slipway.h.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "lua/lua_stage.h"
#include "plugin/host.h"
#include "run/run_db.h"
#include "run/run_impl.h"
#include "store/store_impl.h"

#ifndef SLIPWAY_VERSION
#define SLIPWAY_VERSION "0.0.0"
#endif
#ifndef SLIPWAY_PLUGIN_INSTALL_DIR
#define SLIPWAY_PLUGIN_INSTALL_DIR "/usr/local/lib/slipway/plugins"
#endif

SW_API const char *sw_version(void)
{
    return SLIPWAY_VERSION;
}

SW_API void sw_free(void *p)
{
    free(p);
}

void sw_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void strv_push_unique(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0)
            return;
    *v = sw_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = sw_xstrdup(s);
}

static char *absolute(const char *path)
{
    if (path[0] == '/')
        return sw_xstrdup(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return sw_xstrdup(path);
    return sw_path_join(cwd, path);
}

SW_API sw_engine *sw_engine_new(void)
{
    sw_engine *e = sw_xcalloc(1, sizeof *e);
    const char *state = getenv("SLIPWAY_STATE_DIR");
    e->state_dir = absolute(state && *state ? state : ".slipway");
    sw_engine_set_store(e, getenv("SLIPWAY_STORE"));
    return e;
}

SW_API void sw_engine_free(sw_engine *e)
{
    if (!e)
        return;
    sw_strv_free(e->plugin_dirs, e->n_plugin_dirs);
    free(e->state_dir);
    free(e->store);
    free(e);
}

SW_API void sw_engine_add_plugin_dir(sw_engine *e, const char *dir)
{
    char *abs = absolute(dir);
    strv_push_unique(&e->plugin_dirs, &e->n_plugin_dirs, abs);
    free(abs);
}

SW_API void sw_engine_set_state_dir(sw_engine *e, const char *dir)
{
    free(e->state_dir);
    e->state_dir = absolute(dir);
}

SW_API const char *sw_engine_state_dir(const sw_engine *e)
{
    return e->state_dir;
}

SW_API void sw_engine_set_store(sw_engine *e, const char *location)
{
    free(e->store);
    e->store = NULL;
    if (!location || !*location)
        return;
    /* A folder is taken against the current folder now, as the state folder is. */
    e->store = sw_store_location_is_url(location) ? sw_xstrdup(location) : absolute(location);
}

SW_API const char *sw_engine_store(const sw_engine *e)
{
    return e->store ? e->store : e->state_dir;
}

SW_API void sw_engine_set_observer(sw_engine *e, sw_observer_fn fn, void *userdata)
{
    e->observer = fn;
    e->observer_ud = userdata;
}

SW_API void sw_engine_request_stop(sw_engine *e)
{
    /* Only async-signal-safe work here: a counter and an atomic flag. */
    e->stop_requests++;
    struct sw_run *run = e->current;
    if (run)
        atomic_store(&run->stop, 1);
}

void sw_engine_emit(sw_engine *e, const sw_event *ev)
{
    if (e->observer)
        e->observer(e->observer_ud, ev);
}

/* The built-in plugins sit beside libslipway: <libdir>/slipway/plugins, in the
   build tree as in an installed tree. */
static char *plugins_beside_library(void)
{
    Dl_info info;
    if (!dladdr((void *)sw_version, &info) || !info.dli_fname)
        return NULL;
    char *real = realpath(info.dli_fname, NULL);
    if (!real)
        return NULL;
    char *libdir = sw_path_dirname(real);
    free(real);
    char *dir = sw_path_join(libdir, "slipway/plugins");
    free(libdir);
    return dir;
}

char **sw_engine_plugin_search_path(const sw_engine *e, const sw_pipeline *p, size_t *n)
{
    char **v = NULL;
    *n = 0;
    for (size_t i = 0; i < e->n_plugin_dirs; i++)
        strv_push_unique(&v, n, e->plugin_dirs[i]);
    const char *env = getenv("SLIPWAY_PLUGIN_PATH");
    if (env && *env) {
        /* A relative entry stays relative: like "." in PATH it names whatever folder
           the command runs in, and the loader refuses it unless insecure paths are
           allowed (plugin/trust.h). */
        char *copy = sw_xstrdup(env), *save = NULL;
        for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            strv_push_unique(&v, n, tok);
        free(copy);
    }
    for (size_t i = 0; p && i < p->n_plugin_paths; i++)
        strv_push_unique(&v, n, p->plugin_paths[i]);
    char *beside = plugins_beside_library();
    if (beside && sw_is_dir(beside))
        strv_push_unique(&v, n, beside);
    free(beside);
    strv_push_unique(&v, n, SLIPWAY_PLUGIN_INSTALL_DIR);
    return v;
}

static sw_loader *new_loader(const sw_engine *e, const sw_pipeline *p)
{
    sw_loader *loader = sw_loader_new(sw_host_table());
    size_t n;
    char **dirs = sw_engine_plugin_search_path(e, p, &n);
    for (size_t i = 0; i < n; i++)
        sw_loader_add_dir(loader, dirs[i]);
    sw_strv_free(dirs, n);
    sw_loader_add_builtin(loader, sw_lua_stage_desc());
    if (p) {
        sw_loader_allow_insecure(loader, p->allow_insecure_plugin_path);
        /* Digests were validated when the pipeline was parsed. */
        for (size_t i = 0; i < p->n_plugin_pins; i++)
            sw_loader_pin(loader, p->plugin_pins[i].name, p->plugin_pins[i].sha256, NULL);
    }
    return loader;
}

/* ---- plugins ---- */

SW_API char *sw_plugins_json(sw_engine *e, sw_diags *d)
{
    sw_loader *loader = new_loader(e, NULL);
    sw_loader_scan(loader, d);
    json_t *arr = json_array();
    for (size_t i = 0; i < sw_loader_count(loader); i++)
        json_array_append_new(arr, sw_plugin_describe(sw_loader_at(loader, i)));
    char *text = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    sw_loader_free(loader);
    return text;
}

SW_API char *sw_plugin_json(sw_engine *e, const char *name, sw_diags *d)
{
    sw_loader *loader = new_loader(e, NULL);
    char cwd[4096];
    sw_err err;
    const sw_plugin *p = sw_loader_find(loader, name, getcwd(cwd, sizeof cwd) ? cwd : ".", &err);
    char *text = NULL;
    if (p) {
        json_t *j = sw_plugin_describe(p);
        text = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
    } else {
        sw_diag_error(d, (sw_pos){0}, "%s", err.msg);
    }
    sw_loader_free(loader);
    return text;
}

/* ---- pipelines ---- */

SW_API sw_pipeline *sw_pipeline_load(sw_engine *e, const char *path, sw_diags *d)
{
    sw_pipeline *p = sw_pipeline_parse(path, d);
    if (p)
        p->engine = e;
    return p;
}

SW_API void sw_pipeline_free(sw_pipeline *p)
{
    if (!p)
        return;
    if (p->loader)
        sw_loader_free(p->loader);
    sw_strv_free(p->env_keys, p->n_env_keys);
    p->loader = NULL;
    p->env_keys = NULL;
    sw_pipeline_destroy(p);
}

SW_API const char *sw_pipeline_name(const sw_pipeline *p)
{
    return p->name;
}

SW_API int sw_pipeline_set(sw_pipeline *p, const char *assignment, sw_diags *d)
{
    sw_err err;
    if (sw_pipeline_apply_set(p, assignment, &err) != 0) {
        sw_diag_error(d, (sw_pos){0}, "%s", err.msg);
        return -1;
    }
    return 0;
}

SW_API int sw_pipeline_check(sw_engine *e, sw_pipeline *p, sw_diags *d)
{
    if (p->loader)
        sw_loader_free(p->loader);
    sw_strv_free(p->env_keys, p->n_env_keys);
    p->env_keys = NULL;
    p->n_env_keys = 0;
    p->loader = new_loader(e, p);
    int rc = sw_check_pipeline(e, p, d);
    p->checked = rc == 0;
    return rc;
}

/* ---- run listings ---- */

static int newest_first(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

static json_t *read_json_file(const char *path)
{
    json_error_t jerr;
    return json_load_file(path, 0, &jerr);
}

/* The row of a run in `slipway runs`, from its summary. */
static json_t *list_row(const char *id, const char *show)
{
    json_t *report = show ? json_loads(show, 0, NULL) : NULL;
    if (!report)
        return NULL;
    json_t *row = json_pack("{s:s}", "run_id", id);
    static const char *const keys[] = {"pipeline",   "name",        "status",      "exit_code",
                                       "started_at", "finished_at", "duration_ms", "failure"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        json_t *v = json_object_get(report, keys[k]);
        if (v)
            json_object_set(row, keys[k], v);
    }
    json_decref(report);
    return row;
}

SW_API char *sw_runs_json(sw_engine *e, sw_diags *d)
{
    char *runs_dir = sw_path_join(e->state_dir, "runs");
    json_t *arr = json_array();
    char **ids = NULL;
    size_t n = 0;
    DIR *dir = opendir(runs_dir);
    if (dir) {
        struct dirent *ent;
        while ((ent = readdir(dir)) != NULL)
            if (ent->d_name[0] != '.')
                strv_push_unique(&ids, &n, ent->d_name);
        closedir(dir);
    } else if (sw_file_exists(runs_dir)) {
        sw_diag_error(d, (sw_pos){.file = runs_dir}, "cannot read the runs folder");
    }
    /* With a database store, the runs of every runner too. */
    int failed = 0;
    sw_err err;
    json_t *stored = sw_run_db_ids(e, &failed, &err);
    if (failed)
        sw_diag_error(d, (sw_pos){0}, "runs in the database: %s", err.msg);
    size_t k;
    json_t *v;
    json_array_foreach(stored, k, v)
    {
        strv_push_unique(&ids, &n, json_string_value(v));
    }
    json_decref(stored);
    qsort(ids, n, sizeof *ids, newest_first);
    for (size_t i = 0; i < n; i++) {
        char *show = sw_run_show_json(e, ids[i], NULL);
        json_t *row = list_row(ids[i], show);
        free(show);
        if (row)
            json_array_append_new(arr, row);
    }
    sw_strv_free(ids, n);
    free(runs_dir);
    char *text = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    return text;
}

static int valid_run_id(const char *id)
{
    if (!id || !*id || strlen(id) > 128)
        return 0;
    for (const char *c = id; *c; c++)
        if (!(*c == '-' || *c == '_' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
              (*c >= 'A' && *c <= 'Z')))
            return 0;
    return 1;
}

/* A run's summary: its report, else one rebuilt from its checkpoint and journal (an
   interrupted or crashed run may have no report). Takes the references. */
static json_t *summarize(const char *run_id, json_t *report, json_t *ckpt, json_t *events)
{
    if (report) {
        json_decref(ckpt);
        json_decref(events);
        return report;
    }
    report = json_pack("{s:s, s:s}", "run_id", run_id, "status", "interrupted");
    if (ckpt) {
        json_object_set(report, "stages", json_object_get(ckpt, "stages"));
        json_object_set(report, "pipeline", json_object_get(ckpt, "pipeline"));
        json_object_set(report, "name", json_object_get(ckpt, "name"));
        json_object_set(report, "started_at", json_object_get(ckpt, "started_at"));
        json_decref(ckpt);
    }
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *kind = json_string_value(json_object_get(ev, "event"));
        if (kind && strcmp(kind, "crash") == 0) {
            json_object_set_new(report, "status", json_string("crashed"));
            json_object_set(report, "crash", ev);
        }
    }
    json_decref(events);
    return report;
}

SW_API char *sw_run_show_json(sw_engine *e, const char *run_id, sw_diags *d)
{
    if (!valid_run_id(run_id)) {
        sw_diag_error(d, (sw_pos){0}, "'%s' is not a run id", run_id ? run_id : "");
        return NULL;
    }
    char *dir = sw_xasprintf("%s/runs/%s", e->state_dir, run_id);
    json_t *report = NULL;
    if (sw_is_dir(dir)) {
        char *path = sw_path_join(dir, "report.json");
        json_t *rep = read_json_file(path);
        free(path);
        json_t *ckpt = NULL, *events = NULL;
        if (!rep) {
            path = sw_path_join(dir, "context.json");
            ckpt = read_json_file(path);
            free(path);
            path = sw_path_join(dir, "journal.jsonl");
            events = sw_journal_read(path, NULL, NULL);
            free(path);
        }
        report = summarize(run_id, rep, ckpt, events);
    } else {
        /* Not run here: a database store may hold it (run on another machine). */
        json_t *rep, *ckpt, *events;
        sw_err err;
        int found = sw_run_db_load(e, run_id, &rep, &ckpt, &events, &err);
        if (found == 1)
            report = summarize(run_id, rep, ckpt, events);
        else if (found < 0)
            sw_diag_error(d, (sw_pos){0}, "run '%s': %s", run_id, err.msg);
        else if (e->store && sw_store_location_is_url(e->store))
            sw_diag_error(d, (sw_pos){0}, "no run '%s' in %s/runs or in %s", run_id, e->state_dir,
                          e->store);
        else
            sw_diag_error(d, (sw_pos){0}, "no run '%s' in %s/runs", run_id, e->state_dir);
    }
    free(dir);
    if (!report)
        return NULL;
    char *text = json_dumps(report, JSON_INDENT(2));
    json_decref(report);
    return text;
}
