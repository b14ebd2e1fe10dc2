/*
 * report.c - what a run leaves on disk besides its journal:
 *   context.json  the checkpoint: context values (secrets left out), where the
 *                 run stands (phase, next stage), every stage's record;
 *   report.json   the summary a person or a CI system reads, with the run's
 *                 timeline and the sections stages wrote (docs/reports.md);
 *   report.html   the same report as one self-contained page (report_html.c).
 * All are written atomically; the checkpoint after every stage.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fsutil.h"
#include "run/report.h"
#include "run/report_html.h"
#include "run/run_db.h"
#include "run/run_impl.h"

static const char *phase_name(run_phase phase)
{
    return phase == PHASE_MAIN ? "main" : phase == PHASE_ON_FAILURE ? "on_failure" : "done";
}

static json_t *record_json(const sw_stage_spec *s, const stage_record *r)
{
    json_t *row = json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", s->id, "uses", s->uses, "list",
                            s->on_failure ? "on_failure" : "stages", "background", s->background,
                            "state", sw_stage_state_name(r->state));
    if (r->reason)
        json_object_set_new(row, "reason", json_string(r->reason));
    if (r->started_at[0])
        json_object_set_new(row, "started_at", json_string(r->started_at));
    if (r->state != STAGE_PENDING && r->state != STAGE_SKIPPED)
        json_object_set_new(row, "duration_ms", json_real(r->duration_ms));
    if (r->gate_ran)
        json_object_set_new(row, "gate", json_string(r->gate_passed ? "passed" : "failed"));
    return row;
}

static json_t *records_json(sw_run *run)
{
    json_t *arr = json_array();
    const sw_pipeline *p = run->pipeline;
    for (size_t i = 0; i < p->n_stages; i++)
        json_array_append_new(arr, record_json(&p->stages[i], &run->main[i]));
    for (size_t i = 0; i < p->n_on_failure; i++)
        json_array_append_new(arr, record_json(&p->on_failure[i], &run->handlers[i]));
    return arr;
}

static json_t *failure_json(sw_run *run)
{
    if (!run->failure_stage)
        return json_null();
    return json_pack("{s:s, s:s}", "stage", run->failure_stage, "reason",
                     run->failure_reason ? run->failure_reason : "");
}

static int write_json(sw_run *run, const char *name, json_t *j, sw_err *err)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    char *path = sw_path_join(run->dir, name);
    int rc = sw_write_file_atomic(path, text, strlen(text), err);
    free(path);
    free(text);
    return rc;
}

int sw_run_checkpoint(sw_run *run, sw_err *err)
{
    pthread_mutex_lock(&run->lock);
    json_t *j =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:O, s:o}", "format", 1, "run_id",
                  run->id, "pipeline", run->pipeline->path, "name", run->pipeline->name,
                  "started_at", run->started_at, "phase", phase_name(run->phase), "next",
                  (json_int_t)run->next, "failure", failure_json(run), "stages", records_json(run),
                  "artifacts", run->artifacts, "values", sw_context_to_json(run->ctx));
    pthread_mutex_unlock(&run->lock);
    int rc = write_json(run, "context.json", j, err);
    json_decref(j);
    /* The database's copy is part of the checkpoint: a run that cannot record it stops. */
    return rc == 0 ? sw_run_db_save(run, err) : rc;
}

static const char *status_name(sw_exit code)
{
    switch (code) {
    case SW_EXIT_OK:
        return "succeeded";
    case SW_EXIT_FAILED:
        return "failed";
    case SW_EXIT_INTERRUPTED:
        return "interrupted";
    default:
        return "invalid";
    }
}

/* ---- times ---- */

int64_t sw_report_time_ms(const char *text)
{
    if (!text)
        return -1;
    struct tm tm = {0};
    int n = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
        tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return -1;
    const char *p = text + n;
    int64_t ms = 0;
    if (*p == '.') {
        int64_t scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (strcmp(p, "Z") != 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t secs = timegm(&tm);
    if (secs == (time_t)-1)
        return -1;
    return (int64_t)secs * 1000 + ms;
}

/* ---- sections ---- */

static json_t *section_error(const char *id, const char *uses, const char *why)
{
    json_t *row = json_pack("{s:s, s:s}", "stage", id, "error", why);
    if (uses)
        json_object_set_new(row, "uses", json_string(uses));
    return row;
}

static json_t *read_section(const char *run_dir, const char *id, const char *uses)
{
    char *rel = sw_xasprintf("artifacts/%s/report-section.json", id);
    char *path = sw_path_join(run_dir, rel);
    json_t *row = NULL;
    if (!sw_file_exists(path))
        goto out;
    sw_err err;
    size_t len;
    char *text = sw_read_file(path, SW_REPORT_SECTION_MAX, &len, &err);
    if (!text) {
        /* Messages start with the full path; the run-relative one reads better. */
        size_t n = strlen(path);
        char *why = strncmp(err.msg, path, n) == 0 ? sw_xasprintf("%s%s", rel, err.msg + n)
                                                   : sw_xasprintf("%s: %s", rel, err.msg);
        row = section_error(id, uses, why);
        free(why);
        goto out;
    }
    json_error_t jerr;
    json_t *section = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!section) {
        char *why = sw_xasprintf("%s: line %d: %s", rel, jerr.line, jerr.text);
        row = section_error(id, uses, why);
        free(why);
    } else if (!json_is_object(section)) {
        char *why = sw_xasprintf("%s: not a JSON object", rel);
        row = section_error(id, uses, why);
        free(why);
        json_decref(section);
    } else {
        row = json_pack("{s:s, s:o}", "stage", id, "section", section);
        if (uses)
            json_object_set_new(row, "uses", json_string(uses));
    }
out:
    free(path);
    free(rel);
    return row;
}

json_t *sw_report_sections(const char *run_dir, const json_t *stages)
{
    json_t *out = json_array();
    size_t i;
    json_t *st;
    json_array_foreach(stages, i, st)
    {
        const char *id = json_string_value(json_object_get(st, "id"));
        /* Stage ids are [a-z_][a-z0-9_]*; anything else must not become a path. */
        if (!id || !*id || strchr(id, '/') || strcmp(id, "..") == 0)
            continue;
        json_t *row = read_section(run_dir, id, json_string_value(json_object_get(st, "uses")));
        if (row)
            json_array_append_new(out, row);
    }
    return out;
}

/* ---- timeline ---- */

static const char *status_of_state(const char *state)
{
    if (strcmp(state, "succeeded") == 0)
        return "pass";
    if (strcmp(state, "failed") == 0 || strcmp(state, "error") == 0 ||
        strcmp(state, "timed_out") == 0)
        return "fail";
    if (strcmp(state, "cancelled") == 0)
        return "warn";
    return "info";
}

static int is_handler(const json_t *stages, const char *id)
{
    size_t i;
    json_t *st;
    json_array_foreach(stages, i, st)
    {
        const char *sid = json_string_value(json_object_get(st, "id"));
        const char *list = json_string_value(json_object_get(st, "list"));
        if (sid && strcmp(sid, id) == 0)
            return list && strcmp(list, "on_failure") == 0;
    }
    return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The label and status a journal event shows as, or NULL for events left out
   (context writes, progress, info logs: too many to read). */
static char *journal_label(const json_t *ev, const json_t *stages, const char **status)
{
    const char *kind = jstr(ev, "event");
    const char *stage = jstr(ev, "stage");
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    *status = "info";
    if (strcmp(kind, "run_start") == 0)
        return sw_xstrdup("run started");
    if (strcmp(kind, "run_resume") == 0)
        return sw_xstrdup("run resumed");
    if (strcmp(kind, "stage_start") == 0) {
        int bg = json_is_true(json_object_get(ev, "background"));
        return sw_xasprintf("%s (%s)%s",
                            is_handler(stages, stage) ? "on_failure handler started" : "started",
                            jstr(ev, "uses"), bg ? " in the background" : "");
    }
    if (strcmp(kind, "stage_end") == 0) {
        const char *state = jstr(ev, "state");
        *status = status_of_state(state);
        double secs = json_number_value(json_object_get(ev, "duration_ms")) / 1000.0;
        return reason ? sw_xasprintf("%s after %.2f s: %s", state, secs, reason)
                      : sw_xasprintf("%s after %.2f s", state, secs);
    }
    if (strcmp(kind, "gate") == 0) {
        int passed = json_is_true(json_object_get(ev, "passed"));
        *status = passed ? "pass" : "fail";
        if (passed)
            return sw_xstrdup("gate passed");
        return sw_xasprintf("gate failed: %s", reason ? reason : "no reason given");
    }
    if (strcmp(kind, "log") == 0) {
        const char *level = jstr(ev, "level");
        if (strcmp(level, "warn") != 0 && strcmp(level, "error") != 0)
            return NULL;
        *status = strcmp(level, "warn") == 0 ? "warn" : "fail";
        return sw_xasprintf("%s: %s", level, jstr(ev, "message"));
    }
    if (strcmp(kind, "stage_abandoned") == 0) {
        *status = "warn";
        return sw_xasprintf("abandoned: %s", reason ? reason : "no reason given");
    }
    if (strcmp(kind, "stage_interrupted") == 0) {
        *status = "warn";
        return sw_xstrdup("interrupted");
    }
    if (strcmp(kind, "run_interrupted") == 0) {
        *status = "warn";
        return sw_xstrdup("run interrupted (resumable)");
    }
    if (strcmp(kind, "crash") == 0) {
        *status = "fail";
        return sw_xasprintf("crashed (signal %lld)",
                            (long long)json_integer_value(json_object_get(ev, "signal")));
    }
    if (strcmp(kind, "run_end") == 0) {
        const char *st = jstr(ev, "status");
        *status = strcmp(st, "succeeded") == 0 ? "pass"
                  : strcmp(st, "failed") == 0  ? "fail"
                                               : "info";
        return sw_xasprintf("run %s", st);
    }
    return NULL;
}

typedef struct entry {
    double t;
    size_t seq;
    json_t *item;
} entry;

static int by_time(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_entry(entry **v, size_t *n, size_t *cap, double t, json_t *item)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = sw_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[*n] = (entry){.t = t, .seq = *n, .item = item};
    (*n)++;
}

static const char *known_status(const char *s)
{
    static const char *const names[] = {"pass", "fail", "warn", "info"};
    for (size_t i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return names[i];
    return "info";
}

json_t *sw_report_timeline(const json_t *journal, const json_t *stages, const json_t *sections)
{
    entry *v = NULL;
    size_t n = 0, cap = 0, i;
    json_t *ev;
    json_array_foreach(journal, i, ev)
    {
        int64_t t = sw_report_time_ms(json_string_value(json_object_get(ev, "ts")));
        const char *status;
        char *label = t >= 0 ? journal_label(ev, stages, &status) : NULL;
        if (!label)
            continue;
        json_t *item = json_pack("{s:I, s:s, s:s, s:s}", "t", (json_int_t)t, "event",
                                 jstr(ev, "event"), "label", label, "status", status);
        const char *stage = json_string_value(json_object_get(ev, "stage"));
        if (stage)
            json_object_set_new(item, "stage", json_string(stage));
        free(label);
        add_entry(&v, &n, &cap, (double)t, item);
    }
    json_t *sec;
    json_array_foreach(sections, i, sec)
    {
        const char *stage = json_string_value(json_object_get(sec, "stage"));
        size_t k;
        json_array_foreach(json_object_get(json_object_get(sec, "section"), "events"), k, ev)
        {
            json_t *t = json_object_get(ev, "t");
            const char *label = json_string_value(json_object_get(ev, "label"));
            double ms = json_number_value(t);
            /* Epoch ms until the year 33658: anything else is no time (and no int). */
            if (!json_is_number(t) || !label || !(fabs(ms) < 1e15))
                continue;
            json_t *item = json_pack(
                "{s:I, s:s, s:s, s:s}", "t", (json_int_t)ms, "event", "section", "label", label,
                "status", known_status(json_string_value(json_object_get(ev, "status"))));
            if (stage)
                json_object_set_new(item, "stage", json_string(stage));
            add_entry(&v, &n, &cap, (double)(json_int_t)ms, item);
        }
    }
    if (n > 1)
        qsort(v, n, sizeof *v, by_time);
    json_t *out = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(out, v[i].item);
    free(v);
    return out;
}

/* ---- report.json and report.html ---- */

/* Whatever a section holds, a secret value never reaches the report. */
static void mask_strings(sw_run *run, json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if (json_is_string(v)) {
                char *masked = sw_run_mask_secrets(run, json_string_value(v));
                if (strcmp(masked, json_string_value(v)) != 0)
                    json_object_set_new(j, key, json_string(masked));
                free(masked);
            } else {
                mask_strings(run, v);
            }
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (json_is_string(v)) {
                char *masked = sw_run_mask_secrets(run, json_string_value(v));
                if (strcmp(masked, json_string_value(v)) != 0)
                    json_array_set_new(j, i, json_string(masked));
                free(masked);
            } else {
                mask_strings(run, v);
            }
        }
    }
}

/* The timeline and sections: read from files, outside the run's lock. */
static void add_files(sw_run *run, json_t *report, const char *finished)
{
    json_t *stages = json_object_get(report, "stages");
    json_t *sections = sw_report_sections(run->dir, stages);
    pthread_mutex_lock(&run->secrets_lock);
    size_t n_secrets = run->n_secrets;
    pthread_mutex_unlock(&run->secrets_lock);
    if (n_secrets > 0)
        mask_strings(run, sections);

    sw_err err;
    char *path = sw_path_join(run->dir, "journal.jsonl");
    json_t *journal = sw_journal_read(path, NULL, &err);
    free(path);
    if (!journal) {
        json_object_set_new(report, "timeline_error", json_string(err.msg));
        journal = json_array();
    }
    /* The report is written before run_end is journaled: the end is known already. */
    const char *status = json_string_value(json_object_get(report, "status"));
    if (run->phase == PHASE_DONE && status &&
        (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0))
        json_array_append_new(journal, json_pack("{s:s, s:s, s:s}", "event", "run_end", "status",
                                                 status, "ts", finished));
    json_object_set_new(report, "timeline", sw_report_timeline(journal, stages, sections));
    json_object_set_new(report, "sections", sections);
    json_decref(journal);
}

json_t *sw_run_report(sw_run *run)
{
    char finished[32];
    sw_iso8601_now(finished);
    pthread_mutex_lock(&run->lock);
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:f, s:b, s:o, s:o, s:O, s:o}",
                          "format", 1, "run_id", run->id, "pipeline", run->pipeline->path, "name",
                          run->pipeline->name, "status", status_name(run->exit_code), "exit_code",
                          (int)run->exit_code, "started_at", run->started_at, "finished_at",
                          finished, "duration_ms", sw_now_ms() - run->started_ms, "resumed",
                          run->resumed, "failure", failure_json(run), "stages", records_json(run),
                          "artifacts", run->artifacts, "outputs", sw_context_to_json(run->ctx));
    pthread_mutex_unlock(&run->lock);
    add_files(run, j, finished);
    return j;
}

int sw_run_write_report(sw_run *run, sw_err *err)
{
    json_t *j = sw_run_report(run);
    int rc = write_json(run, "report.json", j, err);
    /* The page is a convenience over report.json: failing to write it is a warning. */
    char *html = sw_report_html(j);
    char *path = sw_path_join(run->dir, "report.html");
    sw_err herr;
    if (sw_write_file_atomic(path, html, strlen(html), &herr) != 0) {
        char *msg = sw_xasprintf("report.html not written: %s", herr.msg);
        sw_run_journal_event(
            run, json_pack("{s:s, s:s, s:s}", "event", "log", "level", "warn", "message", msg));
        free(msg);
    }
    free(path);
    free(html);
    json_decref(j);
    return rc == 0 ? sw_run_db_save(run, err) : rc;
}
