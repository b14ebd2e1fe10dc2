/*
 * host.c - the function table plugins call, and the stage instances behind it.
 *
 * Every call takes the stage, so the host knows who is asking: writes go under
 * the stage's own id and only to declared outputs; logs carry its prefix.
 * The context is shared with background stages running in other threads, so
 * every access takes run->lock, and strings handed out are per-stage copies
 * that stay valid until the stage ends, whatever other stages write meanwhile.
 */
#include "plugin/host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fsutil.h"
#include "net/http.h"
#include "run/isolate.h"
#include "run/run_impl.h"

#ifndef SLIPWAY_VERSION
#define SLIPWAY_VERSION "0.0.0"
#endif

sw_stage *sw_stage_new(sw_run *run, const sw_stage_spec *spec, const sw_plugin *plugin)
{
    sw_stage *st = sw_xcalloc(1, sizeof *st);
    st->run = run;
    st->spec = spec;
    st->plugin = plugin;
    return st;
}

void sw_stage_free(sw_stage *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_strings; i++)
        free(st->strings[i]);
    free(st->strings);
    sw_ports_free(st->outputs, st->n_outputs);
    free(st->artifacts_dir);
    free(st);
}

static const char *keep_string(sw_stage *st, const char *s)
{
    st->strings = sw_xrealloc(st->strings, (st->n_strings + 1) * sizeof *st->strings);
    return st->strings[st->n_strings++] = sw_xstrdup(s);
}

void sw_run_add_secret(sw_run *run, const char *value)
{
    if (!value || !*value)
        return;
    pthread_mutex_lock(&run->secrets_lock);
    int known = 0;
    for (size_t i = 0; i < run->n_secrets && !known; i++)
        known = strcmp(run->secrets[i], value) == 0;
    if (!known) {
        run->secrets = sw_xrealloc(run->secrets, (run->n_secrets + 1) * sizeof *run->secrets);
        run->secrets[run->n_secrets++] = sw_xstrdup(value);
    }
    pthread_mutex_unlock(&run->secrets_lock);
}

char *sw_run_mask_secrets(sw_run *run, const char *text)
{
    char *out = sw_xstrdup(text);
    pthread_mutex_lock(&run->secrets_lock);
    for (size_t i = 0; i < run->n_secrets; i++) {
        const char *secret = run->secrets[i];
        size_t n = strlen(secret);
        if (n < 4) /* too short to mask without mangling ordinary words */
            continue;
        char *hit;
        while ((hit = strstr(out, secret)) != NULL) {
            sw_buf b = {0};
            sw_buf_append(&b, out, (size_t)(hit - out));
            sw_buf_puts(&b, "***");
            sw_buf_puts(&b, hit + n);
            free(out);
            out = sw_buf_steal(&b);
        }
    }
    pthread_mutex_unlock(&run->secrets_lock);
    return out;
}

/* Replace every string in j holding a known secret with its masked copy. */
/* Masks secrets in j: containers in place; for a string holding a secret, returns its
   masked replacement (a new reference), else NULL. */
static json_t *mask_json(sw_run *run, json_t *j)
{
    if (json_is_string(j)) {
        const char *text = json_string_value(j);
        char *masked = sw_run_mask_secrets(run, text);
        json_t *out = strcmp(masked, text) != 0 ? json_string(masked) : NULL;
        free(masked);
        return out;
    }
    size_t i;
    const char *key;
    json_t *v, *m;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if ((m = mask_json(run, v)))
                json_object_set_new(j, key, m);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if ((m = mask_json(run, v)))
                json_array_set_new(j, i, m);
        }
    }
    return NULL;
}

void sw_run_journal_event(sw_run *run, json_t *event)
{
    if (sw_isolate_in_child()) { /* the parent journals what it relays */
        json_decref(event);
        return;
    }
    /* Whatever a stage wrote, a secret value never reaches the journal. */
    if (run->n_secrets > 0)
        json_decref(mask_json(run, event)); /* an event is an object: masked in place */
    sw_err err;
    if (run->journal && sw_journal_append(run->journal, event, &err) != 0) {
        sw_event ev = {
            .kind = SW_EVENT_LOG, .run_id = run->id, .level = SW_LOG_ERROR, .message = err.msg};
        sw_engine_emit(run->engine, &ev);
    }
    json_decref(event);
}

static void emit_stage_event(sw_stage *st, sw_event ev)
{
    if (sw_isolate_in_child()) /* the parent shows what it relays */
        return;
    ev.run_id = st->run->id;
    ev.stage_id = st->spec->id;
    ev.plugin = st->spec->uses;
    ev.background = st->spec->background;
    pthread_mutex_lock(&st->run->observe_lock);
    sw_engine_emit(st->run->engine, &ev);
    pthread_mutex_unlock(&st->run->observe_lock);
}

static int gone(sw_stage *st)
{
    return st == NULL || atomic_load(&st->detached);
}

/* ---- logging, errors, progress ---- */

static const char *level_name(sw_log_level level)
{
    switch (level) {
    case SW_LOG_DEBUG:
        return "debug";
    case SW_LOG_INFO:
        return "info";
    case SW_LOG_WARN:
        return "warn";
    default:
        return "error";
    }
}

static void vlog(sw_stage *st, sw_log_level level, const char *fmt, va_list ap) SW_PRINTF(3, 0);
static void vlog(sw_stage *st, sw_log_level level, const char *fmt, va_list ap)
{
    char *raw = sw_xvasprintf(fmt, ap);
    if (sw_isolate_in_child()) {
        sw_isolate_send(
            json_pack("{s:s, s:i, s:s}", "op", "log", "level", (int)level, "message", raw));
        free(raw);
        return;
    }
    char *msg = sw_run_mask_secrets(st->run, raw);
    free(raw);
    sw_run_journal_event(st->run,
                         json_pack("{s:s, s:s, s:s, s:s}", "event", "log", "stage", st->spec->id,
                                   "level", level_name(level), "message", msg));
    emit_stage_event(st, (sw_event){.kind = SW_EVENT_LOG, .level = level, .message = msg});
    free(msg);
}

static void host_log(sw_stage *st, sw_log_level level, const char *fmt, ...) SW_PRINTF(3, 4);
static void host_log(sw_stage *st, sw_log_level level, const char *fmt, ...)
{
    if (gone(st))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(st, level, fmt, ap);
    va_end(ap);
}

static void record_reason(sw_stage *st, const char *fmt, va_list ap) SW_PRINTF(2, 0);
static void record_reason(sw_stage *st, const char *fmt, va_list ap)
{
    char *raw = sw_xvasprintf(fmt, ap);
    char *msg = sw_run_mask_secrets(st->run, raw);
    snprintf(st->reason, sizeof st->reason, "%s", msg);
    snprintf(st->last_error, sizeof st->last_error, "%s", msg);
    free(raw);
    free(msg);
}

static sw_status host_error(sw_stage *st, const char *fmt, ...) SW_PRINTF(2, 3);
static sw_status host_error(sw_stage *st, const char *fmt, ...)
{
    if (gone(st))
        return SW_ERROR;
    va_list ap;
    va_start(ap, fmt);
    record_reason(st, fmt, ap);
    va_end(ap);
    return SW_ERROR;
}

static sw_status host_fail(sw_stage *st, const char *fmt, ...) SW_PRINTF(2, 3);
static sw_status host_fail(sw_stage *st, const char *fmt, ...)
{
    if (gone(st))
        return SW_FAIL;
    va_list ap;
    va_start(ap, fmt);
    record_reason(st, fmt, ap);
    va_end(ap);
    return SW_FAIL;
}

static const char *host_last_error(sw_stage *st)
{
    return st ? st->last_error : "";
}

/* A call failed for a reason the plugin may pass on: keep the message, return SW_ERROR. */
static sw_status call_failed(sw_stage *st, const char *fmt, ...) SW_PRINTF(2, 3);
static sw_status call_failed(sw_stage *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->last_error, sizeof st->last_error, fmt, ap);
    va_end(ap);
    return SW_ERROR;
}

static void host_progress(sw_stage *st, double fraction, const char *note)
{
    if (gone(st))
        return;
    if (fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    if (sw_isolate_in_child()) {
        json_t *m = json_pack("{s:s, s:f}", "op", "progress", "fraction", fraction);
        if (note)
            json_object_set_new(m, "note", json_string(note));
        sw_isolate_send(m);
        return;
    }
    char *masked = note ? sw_run_mask_secrets(st->run, note) : NULL;
    json_t *ev = json_pack("{s:s, s:s, s:f}", "event", "progress", "stage", st->spec->id,
                           "fraction", fraction);
    if (masked)
        json_object_set_new(ev, "note", json_string(masked));
    sw_run_journal_event(st->run, ev);
    emit_stage_event(
        st, (sw_event){.kind = SW_EVENT_PROGRESS, .progress = fraction, .message = masked});
    free(masked);
}

/* ---- cancellation ---- */

static int host_cancelled(sw_stage *st)
{
    return st == NULL || atomic_load(&st->cancelled) || atomic_load(&st->run->stop);
}

static int host_wait(sw_stage *st, int64_t ms)
{
    /* Poll in short slices: cancellation is a flag, and 20 ms is well below any
       hold a pipeline would ask for while keeping the wake-up prompt. */
    double end = sw_now_ms() + (double)ms;
    while (!host_cancelled(st)) {
        double left = end - sw_now_ms();
        if (left <= 0)
            return 0;
        double slice = left < 20 ? left : 20;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(slice * 1e6)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    return 1;
}

/* ---- identity and places ---- */

static const char *host_stage_id(sw_stage *st)
{
    return st->spec->id;
}

static sw_status host_param_origin(sw_stage *st, const char *name, sw_origin *out)
{
    const sw_ynode *v = name ? sw_ynode_get(st->spec->with, name) : NULL;
    const sw_ydoc *doc = st->run->pipeline ? st->run->pipeline->doc : NULL;
    if (!v || !doc)
        return call_failed(st, "with.%s: not written in the pipeline file", name ? name : "");
    /* A value built from references is not the text at this position. */
    if (v->kind == SW_YAML_SCALAR && strstr(v->text, "${"))
        return call_failed(st, "with.%s: built from ${...} references", name);
    *out = sw_ynode_origin(doc, v);
    return SW_OK;
}

static const char *host_run_id(sw_stage *st)
{
    return st->run->id;
}

static const char *host_state_dir(sw_stage *st)
{
    return st->run->engine->state_dir;
}

static const char *host_store(sw_stage *st)
{
    return sw_engine_store(st->run->engine);
}

static const char *host_artifacts_dir(sw_stage *st)
{
    if (!st->artifacts_dir) {
        char *dir = sw_xasprintf("%s/artifacts/%s", st->run->dir, st->spec->id);
        sw_err err;
        if (sw_mkdir_p(dir, 0755, &err) != 0) {
            free(dir);
            call_failed(st, "%s", err.msg);
            return NULL;
        }
        st->artifacts_dir = dir;
    }
    return st->artifacts_dir;
}

static void host_set_data(sw_stage *st, void *data)
{
    st->data = data;
}

static void *host_data(sw_stage *st)
{
    return st->data;
}

/* ---- context reads ---- */

/* env.* values are read from the environment on first use, as secrets. */
static const sw_value *lookup(sw_stage *st, const char *key)
{
    const sw_value *v = sw_context_get(st->run->ctx, key);
    if (!v && strncmp(key, "env.", 4) == 0) {
        const char *text = getenv(key + 4);
        if (text) {
            sw_value s = sw_value_string(text);
            sw_context_set(st->run->ctx, key, &s, "env", SW_CTX_SECRET);
            sw_value_free(&s);
            v = sw_context_get(st->run->ctx, key);
        }
    }
    return v;
}

static sw_type host_type_of(sw_stage *st, const char *key)
{
    pthread_mutex_lock(&st->run->lock);
    const sw_value *v = lookup(st, key);
    sw_type t = v ? v->type : SW_TYPE_NULL;
    pthread_mutex_unlock(&st->run->lock);
    return t;
}

static int host_has(sw_stage *st, const char *key)
{
    pthread_mutex_lock(&st->run->lock);
    int found = lookup(st, key) != NULL;
    pthread_mutex_unlock(&st->run->lock);
    return found;
}

/* Read key as type want into *out (a copy the caller reads after the lock is released). */
static sw_status get_typed(sw_stage *st, const char *key, sw_type want, sw_value *out)
{
    if (gone(st))
        return SW_ERROR;
    if (!key)
        return call_failed(st, "context key is NULL");
    sw_err err;
    const sw_value *v;
    pthread_mutex_lock(&st->run->lock);
    lookup(st, key);
    int rc = sw_context_get_typed(st->run->ctx, key, want, &v, &err);
    if (rc == 0)
        *out = sw_value_copy(v);
    pthread_mutex_unlock(&st->run->lock);
    if (rc != 0)
        return call_failed(st, "%s", err.msg);
    return SW_OK;
}

static sw_status host_get_bool(sw_stage *st, const char *key, int *out)
{
    sw_value v;
    sw_status s = get_typed(st, key, SW_TYPE_BOOL, &v);
    if (s == SW_OK)
        *out = v.as.b;
    return s;
}

static sw_status host_get_int(sw_stage *st, const char *key, int64_t *out)
{
    sw_value v;
    sw_status s = get_typed(st, key, SW_TYPE_INT, &v);
    if (s == SW_OK)
        *out = v.as.i;
    return s;
}

static sw_status host_get_double(sw_stage *st, const char *key, double *out)
{
    sw_value v;
    sw_status s = get_typed(st, key, SW_TYPE_DOUBLE, &v);
    if (s == SW_OK)
        *out = v.type == SW_TYPE_INT ? (double)v.as.i : v.as.d;
    return s;
}

static sw_status get_text(sw_stage *st, const char *key, sw_type want, const char **out)
{
    sw_value v;
    sw_status s = get_typed(st, key, want, &v);
    if (s == SW_OK) {
        *out = keep_string(st, v.as.s);
        sw_value_free(&v);
    }
    return s;
}

static sw_status host_get_string(sw_stage *st, const char *key, const char **out)
{
    return get_text(st, key, SW_TYPE_STRING, out);
}

static sw_status host_get_json(sw_stage *st, const char *key, const char **out)
{
    return get_text(st, key, SW_TYPE_JSON, out);
}

/* ---- context writes ---- */

static const sw_port *declared_output(sw_stage *st, const char *name)
{
    for (size_t i = 0; i < st->n_outputs; i++)
        if (strcmp(st->outputs[i].name, name) == 0)
            return &st->outputs[i];
    return NULL;
}

sw_status sw_stage_set_value(sw_stage *st, const char *name, const sw_value *value)
{
    if (gone(st))
        return SW_ERROR;
    if (!name)
        return call_failed(st, "output name is NULL");
    const sw_port *port = declared_output(st, name);
    if (!port)
        return call_failed(st, "stage '%s' (%s) has no declared output '%s'", st->spec->id,
                           st->spec->uses, name);
    /* null is how a stage says "no value" for any output (release.previous on a first release). */
    if (value->type != SW_TYPE_NULL && port->type != SW_TYPE_ANY && value->type != port->type)
        return call_failed(st, "output '%s.%s' is declared %s, not %s", st->spec->id, name,
                           sw_type_name(port->type), sw_type_name(value->type));
    char *key = sw_xasprintf("%s.%s", st->spec->id, name);
    json_t *shown = sw_value_to_json(value);
    pthread_mutex_lock(&st->run->lock);
    sw_context_set(st->run->ctx, key, value, st->spec->id, 0);
    pthread_mutex_unlock(&st->run->lock);
    if (sw_isolate_in_child()) /* kept here for the child's own reads, and sent */
        sw_isolate_send(json_pack("{s:s, s:s, s:O}", "op", "set", "name", name, "value", shown));
    sw_run_journal_event(st->run, json_pack("{s:s, s:s, s:s, s:s, s:o}", "event", "set", "stage",
                                            st->spec->id, "key", key, "type",
                                            sw_type_name(value->type), "value", shown));
    free(key);
    return SW_OK;
}

static sw_status set_owned(sw_stage *st, const char *name, sw_value v)
{
    sw_status s = sw_stage_set_value(st, name, &v);
    sw_value_free(&v);
    return s;
}

static sw_status host_set_null(sw_stage *st, const char *name)
{
    return set_owned(st, name, SW_VALUE_NULL);
}

static sw_status host_set_bool(sw_stage *st, const char *name, int value)
{
    return set_owned(st, name, sw_value_bool(value != 0));
}

static sw_status host_set_int(sw_stage *st, const char *name, int64_t value)
{
    return set_owned(st, name, sw_value_int(value));
}

static sw_status host_set_double(sw_stage *st, const char *name, double value)
{
    return set_owned(st, name, sw_value_double(value));
}

static sw_status host_set_string(sw_stage *st, const char *name, const char *value)
{
    if (!value)
        return call_failed(st, "output '%s': string is NULL (use set_null)", name ? name : "?");
    return set_owned(st, name, sw_value_string(value));
}

static sw_status host_set_json(sw_stage *st, const char *name, const char *json_text)
{
    json_error_t jerr;
    json_t *j = json_text ? json_loads(json_text, 0, &jerr) : NULL;
    if (!j)
        return call_failed(st, "output '%s': not JSON: %s", name ? name : "?",
                           json_text ? jerr.text : "NULL");
    if (!json_is_object(j) && !json_is_array(j)) {
        json_decref(j);
        return call_failed(st, "output '%s': a json value must be an object or an array",
                           name ? name : "?");
    }
    char *compact = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    sw_status s = set_owned(st, name, sw_value_json_text(compact));
    free(compact);
    return s;
}

static sw_status host_add_artifact(sw_stage *st, const char *path, const char *description)
{
    if (gone(st))
        return SW_ERROR;
    if (!path || !sw_file_exists(path))
        return call_failed(st, "artifact '%s' does not exist", path ? path : "(null)");
    if (sw_isolate_in_child()) {
        sw_isolate_send(json_pack("{s:s, s:s, s:s}", "op", "artifact", "path", path, "description",
                                  description ? description : ""));
        return SW_OK;
    }
    json_t *a = json_pack("{s:s, s:s, s:s}", "stage", st->spec->id, "path", path, "description",
                          description ? description : "");
    pthread_mutex_lock(&st->run->lock);
    json_array_append(st->run->artifacts, a);
    pthread_mutex_unlock(&st->run->lock);
    json_object_set_new(a, "event", json_string("artifact"));
    sw_run_journal_event(st->run, a);
    return SW_OK;
}

/* ---- HTTP ---- */

static int http_cancelled(void *ud)
{
    return host_cancelled(ud) || gone(ud);
}

static int http_sleep(void *ud, int64_t ms)
{
    return host_wait(ud, ms);
}

static void http_log(void *ud, sw_log_level level, const char *message)
{
    host_log(ud, level, "%s", message);
}

static sw_status host_http(sw_stage *st, const sw_http_request *request, sw_http_response *response)
{
    if (gone(st))
        return SW_ERROR;
    sw_http_ctl ctl = {.cancelled = http_cancelled, .sleep = http_sleep, .log = http_log, .ud = st};
    sw_err err;
    if (sw_http_perform(request, response, &ctl, &err) != 0)
        return call_failed(st, "%s", err.msg);
    return SW_OK;
}

static void host_http_response_free(sw_stage *st, sw_http_response *response)
{
    sw_http_response_free(response);
}

/* ---- for built-in stages ---- */

const sw_context *sw_stage_lock_context(sw_stage *st)
{
    pthread_mutex_lock(&st->run->lock);
    return st->run->ctx;
}

void sw_stage_unlock_context(sw_stage *st)
{
    pthread_mutex_unlock(&st->run->lock);
}

const char *sw_stage_pipeline_dir(sw_stage *st)
{
    return st->run->pipeline->dir;
}

const char *sw_stage_pipeline_file(sw_stage *st)
{
    return st->run->pipeline->doc ? st->run->pipeline->doc->file : NULL;
}

static const sw_host host_table = {
    SW_ABI_INIT(sw_host),
    .host_version = SLIPWAY_VERSION,
    .log = host_log,
    .error = host_error,
    .fail = host_fail,
    .last_error = host_last_error,
    .progress = host_progress,
    .cancelled = host_cancelled,
    .wait = host_wait,
    .stage_id = host_stage_id,
    .run_id = host_run_id,
    .artifacts_dir = host_artifacts_dir,
    .state_dir = host_state_dir,
    .set_data = host_set_data,
    .data = host_data,
    .type_of = host_type_of,
    .has = host_has,
    .get_bool = host_get_bool,
    .get_int = host_get_int,
    .get_double = host_get_double,
    .get_string = host_get_string,
    .get_json = host_get_json,
    .set_null = host_set_null,
    .set_bool = host_set_bool,
    .set_int = host_set_int,
    .set_double = host_set_double,
    .set_string = host_set_string,
    .set_json = host_set_json,
    .add_artifact = host_add_artifact,
    .http = host_http,
    .http_response_free = host_http_response_free,
    .param_origin = host_param_origin,
    .store = host_store,
};

const sw_host *sw_host_table(void)
{
    return &host_table;
}
