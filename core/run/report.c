/*
 * report.c - what a run leaves on disk besides its journal:
 *   context.json  the checkpoint: context values (secrets left out), where the
 *                 run stands (phase, next stage), every stage's record;
 *   report.json   the summary a person or a CI system reads.
 * Both are written atomically; the checkpoint after every stage.
 */
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
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
    return rc;
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
    return j;
}

int sw_run_write_report(sw_run *run, sw_err *err)
{
    json_t *j = sw_run_report(run);
    int rc = write_json(run, "report.json", j, err);
    json_decref(j);
    return rc;
}
