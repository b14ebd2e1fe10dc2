/*
 * runner.c - running a checked pipeline, and resuming one that was stopped.
 *
 * Every stage runs in a thread of its own. The main thread waits for it,
 * watching for the stage's timeout, a stop request (a signal) and a failing
 * background stage; in each case the stage is cancelled (a flag it polls,
 * and host->wait returns early) and given a grace period to return. A stage
 * that ignores cancellation past its grace period is abandoned: its thread
 * is detached and every host call it makes from then on is a no-op.
 *
 * After every stage the context and the stage records are checkpointed
 * (context.json, written atomically) and the journal is fsynced, so a run
 * killed at any instant resumes from the last finished stage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "plugin/host.h"
#include "run/isolate.h"
#include "run/run_db.h"
#include "run/run_impl.h"
#include "run/stage.h"

typedef enum outcome { OUTCOME_OK, OUTCOME_FAILED, OUTCOME_INTERRUPTED } outcome;

static const char *const state_names[] = {"pending", "running",   "succeeded", "failed",
                                          "error",   "timed_out", "cancelled", "skipped"};

const char *sw_stage_state_name(stage_state s)
{
    return state_names[s];
}

int sw_stage_state_parse(const char *name, stage_state *out)
{
    for (size_t i = 0; i < sizeof state_names / sizeof *state_names; i++)
        if (name && strcmp(state_names[i], name) == 0) {
            *out = (stage_state)i;
            return 0;
        }
    return -1;
}

double sw_cancel_grace_ms(void)
{
    const char *env = getenv("SLIPWAY_CANCEL_GRACE_MS");
    double ms = env ? atof(env) : 0;
    return ms > 0 ? ms : 5000;
}

static stage_record *record_of(sw_run *run, const sw_stage_spec *s)
{
    return s->on_failure ? &run->handlers[s->index] : &run->main[s->index];
}

static void set_record(sw_run *run, const sw_stage_spec *s, stage_state state, const char *reason)
{
    pthread_mutex_lock(&run->lock);
    stage_record *r = record_of(run, s);
    r->state = state;
    free(r->reason);
    r->reason = reason ? sw_run_mask_secrets(run, reason) : NULL;
    pthread_mutex_unlock(&run->lock);
}

static void emit(sw_run *run, sw_event ev)
{
    ev.run_id = run->id;
    pthread_mutex_lock(&run->observe_lock);
    sw_engine_emit(run->engine, &ev);
    pthread_mutex_unlock(&run->observe_lock);
}

static void warn(sw_run *run, const char *message)
{
    sw_run_journal_event(
        run, json_pack("{s:s, s:s, s:s}", "event", "log", "level", "warn", "message", message));
    emit(run, (sw_event){.kind = SW_EVENT_LOG, .level = SW_LOG_WARN, .message = message});
}

/* Save the run's progress. -1 (reported) when context.json could not be written:
   the checkpoint on disk is then the previous one. */
static int checkpoint(sw_run *run)
{
    sw_err err;
    int rc = 0;
    if (sw_run_checkpoint(run, &err) != 0) {
        warn(run, err.msg);
        rc = -1;
    }
    if (run->journal && sw_journal_sync(run->journal, &err) != 0)
        warn(run, err.msg);
    return rc;
}

/* ---- one stage ---- */

static void prepare_crash_line(sw_run *run, const char *stage_id)
{
    char ts[32];
    sw_iso8601_now(ts);
    snprintf(run->crash_line, sizeof run->crash_line,
             "{\"event\":\"crash\",\"stage\":\"%s\",\"ts\":\"%s\",\"signal\":", stage_id, ts);
}

static void *stage_thread(void *arg)
{
    sw_stage *st = arg;
    sw_status status = st->spec->isolated ? sw_stage_call_isolated(st) : sw_stage_call(st);
    pthread_mutex_lock(&st->run->lock);
    st->status = status;
    st->finished = 1;
    pthread_cond_broadcast(&st->run->cond);
    pthread_mutex_unlock(&st->run->lock);
    return NULL;
}

/* Bind parameters and start the stage's thread. NULL with *reason on failure. */
static sw_stage *start_stage(sw_run *run, const sw_stage_spec *s, char **reason)
{
    json_t *shown = NULL;
    sw_stage *st = sw_stage_prepare(run, s, &shown, reason);
    if (!st)
        return NULL;
    record_of(run, s)->gate_ran = 0;
    sw_iso8601_now(record_of(run, s)->started_at);
    set_record(run, s, STAGE_RUNNING, NULL);
    prepare_crash_line(run, s->id);
    sw_run_journal_event(run, json_pack("{s:s, s:s, s:s, s:b, s:o}", "event", "stage_start",
                                        "stage", s->id, "uses", s->uses, "background",
                                        s->background, "with", shown ? shown : json_object()));
    emit(run, (sw_event){.kind = SW_EVENT_STAGE_START,
                         .stage_id = s->id,
                         .plugin = s->uses,
                         .background = s->background});
    if (pthread_create(&st->thread, NULL, stage_thread, st) != 0) {
        *reason = sw_xstrdup("cannot start a thread for the stage");
        sw_stage_release(st);
        return NULL;
    }
    st->thread_started = 1;
    return st;
}

/* Wait until the stage finished or until_ms (monotonic) passed; 1 when finished. */
static int wait_finished(sw_run *run, sw_stage *st, double until_ms)
{
    pthread_mutex_lock(&run->lock);
    while (!st->finished) {
        double left = until_ms - sw_now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double slice = left < 100 ? left : 100; /* wake to notice stop requests */
        long ns = ts.tv_nsec + (long)(slice * 1e6);
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&run->cond, &run->lock, &ts);
        if (atomic_load(&run->stop))
            break;
    }
    int done = st->finished;
    pthread_mutex_unlock(&run->lock);
    return done;
}

/* Cancel a stage and give it the grace period; 1 when it returned. */
static int cancel_stage(sw_run *run, sw_stage *st)
{
    atomic_store(&st->cancelled, 1);
    double until = sw_now_ms() + sw_cancel_grace_ms();
    while (sw_now_ms() < until) {
        if (wait_finished(run, st, until))
            return 1;
        if (run->engine->stop_requests > 1) /* a second signal: stop now */
            break;
    }
    return st->finished;
}

/* Release a stage whose thread returned; abandon one that did not. */
static void end_stage(sw_run *run, sw_stage *st)
{
    pthread_mutex_lock(&run->lock);
    int finished = st->finished;
    pthread_mutex_unlock(&run->lock);
    if (finished) {
        pthread_join(st->thread, NULL);
        sw_stage_release(st);
        return;
    }
    /* The thread may still touch the stage: leave it allocated and mute. */
    atomic_store(&st->detached, 1);
    pthread_detach(st->thread);
    sw_run_journal_event(run, json_pack("{s:s, s:s, s:s}", "event", "stage_abandoned", "stage",
                                        st->spec->id, "reason",
                                        "did not return within its grace period after being "
                                        "cancelled"));
}

static const sw_stage *failed_background(sw_run *run)
{
    const sw_stage *bad = NULL;
    pthread_mutex_lock(&run->lock);
    for (size_t i = 0; i < run->n_background && !bad; i++) {
        sw_stage *b = run->background[i];
        if (b->finished && b->status != SW_OK && !atomic_load(&b->cancelled))
            bad = b;
    }
    pthread_mutex_unlock(&run->lock);
    return bad;
}

static void fail_run(sw_run *run, const char *stage, const char *reason)
{
    if (run->failure_stage)
        return;
    run->failure_stage = sw_xstrdup(stage);
    run->failure_reason = sw_run_mask_secrets(run, reason);
}

static void finish_record(sw_run *run, const sw_stage_spec *s, stage_state state,
                          const char *reason, double started_ms)
{
    record_of(run, s)->duration_ms = sw_now_ms() - started_ms;
    set_record(run, s, state, reason && *reason ? reason : NULL);
    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:f}", "event", "stage_end", "stage", s->id, "state",
                  sw_stage_state_name(state), "duration_ms", record_of(run, s)->duration_ms);
    if (reason && *reason) {
        char *masked = sw_run_mask_secrets(run, reason);
        json_object_set_new(ev, "reason", json_string(masked));
        free(masked);
    }
    sw_run_journal_event(run, ev);
    int status = state == STAGE_SUCCEEDED ? SW_OK : state == STAGE_FAILED ? SW_FAIL : SW_ERROR;
    emit(run, (sw_event){.kind = SW_EVENT_STAGE_END,
                         .stage_id = s->id,
                         .plugin = s->uses,
                         .background = s->background,
                         .status = status,
                         .message = record_of(run, s)->reason,
                         .elapsed_ms = record_of(run, s)->duration_ms});
}

static stage_state state_of(sw_status status)
{
    return status == SW_OK ? STAGE_SUCCEEDED : status == SW_FAIL ? STAGE_FAILED : STAGE_ERROR;
}

/* The gate of a stage that succeeded; 1 when it passes (or there is none). */
static int run_gate(sw_run *run, const sw_stage_spec *s, char **reason)
{
    if (!s->gate)
        return 1;
    sw_err err;
    sw_gate *gate = sw_gate_compile(s->gate, &s->gate_origin, NULL, &err);
    if (!gate) {
        *reason = sw_xasprintf("gate does not compile: %s", err.msg);
        return 0;
    }
    char *why = NULL;
    pthread_mutex_lock(&run->lock);
    sw_gate_result r = sw_gate_eval(gate, run->ctx, &why);
    pthread_mutex_unlock(&run->lock);
    sw_gate_free(gate);
    stage_record *rec = record_of(run, s);
    rec->gate_ran = 1;
    rec->gate_passed = r == SW_GATE_PASS;
    json_t *ev =
        json_pack("{s:s, s:s, s:b}", "event", "gate", "stage", s->id, "passed", r == SW_GATE_PASS);
    if (why)
        json_object_set_new(ev, "reason", json_string(why));
    sw_run_journal_event(run, ev);
    emit(run, (sw_event){.kind = SW_EVENT_GATE,
                         .stage_id = s->id,
                         .plugin = s->uses,
                         .status = r == SW_GATE_PASS ? SW_OK : SW_FAIL,
                         .message = why});
    if (r == SW_GATE_PASS) {
        free(why);
        return 1;
    }
    *reason = sw_xasprintf("gate %s: %s", r == SW_GATE_ERROR ? "error" : "failed",
                           why ? why : "no reason given");
    free(why);
    return 0;
}

/* Run one foreground stage to its end, watching timeout, stop and background failures. */
static outcome run_foreground(sw_run *run, const sw_stage_spec *s)
{
    double started = sw_now_ms();
    char *reason = NULL;
    sw_stage *st = start_stage(run, s, &reason);
    if (!st) {
        finish_record(run, s, STAGE_ERROR, reason, started);
        fail_run(run, s->id, reason);
        free(reason);
        return OUTCOME_FAILED;
    }
    double deadline = s->timeout_ms > 0 ? started + (double)s->timeout_ms : 1e300;
    const sw_stage *bg = NULL;
    int interrupted = 0, timed_out = 0;
    for (;;) {
        double until = sw_now_ms() + 250;
        if (wait_finished(run, st, until < deadline ? until : deadline))
            break;
        if (atomic_load(&run->stop)) {
            interrupted = 1;
            break;
        }
        if (sw_now_ms() >= deadline) {
            timed_out = 1;
            break;
        }
        if ((bg = failed_background(run)) != NULL)
            break;
    }
    if (interrupted || timed_out || bg)
        cancel_stage(run, st);
    /* A stage that gave up because the run is stopping did not fail: it was interrupted. */
    if (!interrupted && st->status != SW_OK && atomic_load(&run->stop))
        interrupted = 1;

    outcome result = OUTCOME_OK;
    if (interrupted) {
        /* Not finished: the checkpoint keeps it pending, so resume runs it again. */
        set_record(run, s, STAGE_PENDING, NULL);
        sw_run_journal_event(run,
                             json_pack("{s:s, s:s}", "event", "stage_interrupted", "stage", s->id));
        result = OUTCOME_INTERRUPTED;
    } else if (timed_out) {
        char *why = sw_xasprintf("timed out after %lld ms%s", (long long)s->timeout_ms,
                                 st->finished ? "" : " (the plugin ignored cancellation)");
        finish_record(run, s, STAGE_TIMED_OUT, why, started);
        fail_run(run, s->id, why);
        free(why);
        result = OUTCOME_FAILED;
    } else if (bg) {
        char *why = sw_xasprintf("stopped: background stage '%s' failed: %s", bg->spec->id,
                                 bg->reason[0] ? bg->reason : "no reason given");
        finish_record(run, s, STAGE_CANCELLED, why, started);
        fail_run(run, bg->spec->id, bg->reason[0] ? bg->reason : "background stage failed");
        free(why);
        result = OUTCOME_FAILED;
    } else if (st->status != SW_OK) {
        const char *why = st->reason[0] ? st->reason : "no reason given";
        finish_record(run, s, state_of(st->status), why, started);
        fail_run(run, s->id, why);
        result = OUTCOME_FAILED;
    } else if (!run_gate(run, s, &reason)) {
        finish_record(run, s, STAGE_FAILED, reason, started);
        fail_run(run, s->id, reason);
        result = OUTCOME_FAILED;
    } else {
        finish_record(run, s, STAGE_SUCCEEDED, NULL, started);
    }
    free(reason);
    end_stage(run, st);
    return result;
}

static void start_background(sw_run *run, const sw_stage_spec *s)
{
    char *reason = NULL;
    sw_stage *st = start_stage(run, s, &reason);
    if (!st) {
        finish_record(run, s, STAGE_ERROR, reason, sw_now_ms());
        fail_run(run, s->id, reason);
        free(reason);
        return;
    }
    pthread_mutex_lock(&run->lock);
    run->background = sw_xrealloc(run->background, (run->n_background + 1) * sizeof(sw_stage *));
    run->background[run->n_background++] = st;
    pthread_mutex_unlock(&run->lock);
}

/* End every background stage: cancel those still running (the run is ending) and
   record how each ended. A stage that failed on its own before being cancelled
   fails the run. */
static void stop_background(sw_run *run)
{
    for (size_t i = 0; i < run->n_background; i++) {
        sw_stage *b = run->background[i];
        const sw_stage_spec *s = b->spec;
        int failed_alone = b->finished && b->status != SW_OK;
        if (!b->finished)
            cancel_stage(run, b);
        stage_state state;
        const char *why = b->reason[0] ? b->reason : NULL;
        if (failed_alone) {
            state = state_of(b->status);
            fail_run(run, s->id, why ? why : "background stage failed");
        } else if (!b->finished) {
            state = STAGE_CANCELLED;
            why = "did not stop within its grace period";
        } else if (b->status == SW_FAIL) {
            /* It judged the candidate as the run ended: that verdict counts. */
            state = STAGE_FAILED;
            fail_run(run, s->id, why ? why : "background stage failed");
        } else {
            state = b->status == SW_OK ? STAGE_SUCCEEDED : STAGE_CANCELLED;
        }
        finish_record(run, s, state, why, b->started_ms);
        end_stage(run, b);
    }
    free(run->background);
    run->background = NULL;
    run->n_background = 0;
}

static void skip_rest(sw_run *run, size_t from)
{
    for (size_t i = from; i < run->pipeline->n_stages; i++)
        if (run->main[i].state == STAGE_PENDING)
            run->main[i].state = STAGE_SKIPPED;
}

static void set_failure_context(sw_run *run)
{
    sw_value v = sw_value_string(run->failure_stage ? run->failure_stage : "");
    pthread_mutex_lock(&run->lock);
    sw_context_set(run->ctx, "failure.stage", &v, "failure", 0);
    sw_value_free(&v);
    v = sw_value_string(run->failure_reason ? run->failure_reason : "");
    sw_context_set(run->ctx, "failure.reason", &v, "failure", 0);
    sw_value_free(&v);
    pthread_mutex_unlock(&run->lock);
}

static sw_exit interrupted(sw_run *run)
{
    for (size_t i = 0; i < run->n_background; i++)
        atomic_store(&run->background[i]->cancelled, 1);
    for (size_t i = 0; i < run->n_background; i++) {
        sw_stage *b = run->background[i];
        cancel_stage(run, b);
        set_record(run, b->spec, STAGE_PENDING, NULL); /* resume restarts it */
        end_stage(run, b);
    }
    free(run->background);
    run->background = NULL;
    run->n_background = 0;
    sw_run_journal_event(run, json_pack("{s:s}", "event", "run_interrupted"));
    run->exit_code = SW_EXIT_INTERRUPTED;
    checkpoint(run);
    return SW_EXIT_INTERRUPTED;
}

/* Progress that cannot be saved (a full or read-only disk) stops the run: going on
   would do work no checkpoint records. It stops as an interrupted run does, so
   that once the disk is fixed `slipway resume` continues from the last saved
   checkpoint (the stage after it runs again, as after kill -9). */
static sw_exit unsaved(sw_run *run)
{
    char *msg = sw_xasprintf("the run's progress cannot be saved (see above); stopped: fix the "
                             "state folder or the database, then 'slipway resume %s'",
                             run->id);
    sw_run_journal_event(
        run, json_pack("{s:s, s:s, s:s}", "event", "log", "level", "error", "message", msg));
    emit(run, (sw_event){.kind = SW_EVENT_LOG, .level = SW_LOG_ERROR, .message = msg});
    free(msg);
    return interrupted(run);
}

SW_API sw_exit sw_run_execute(sw_run *run)
{
    sw_pipeline *p = run->pipeline;
    run->engine->current = run;
    if (run->engine->stop_requests > 0) /* a signal while the run was being made */
        atomic_store(&run->stop, 1);
    run->started_ms = sw_now_ms();
    sw_run_journal_event(run, json_pack("{s:s, s:s, s:s, s:s}", "event",
                                        run->resumed ? "run_resume" : "run_start", "run_id",
                                        run->id, "pipeline", p->path, "name", p->name));
    emit(run,
         (sw_event){.kind = SW_EVENT_RUN_START, .message = run->resumed ? "resumed" : "started"});
    sw_exit code = SW_EXIT_OK;

    if (run->phase == PHASE_MAIN) {
        /* Background stages that had started before an interruption start again. */
        for (size_t i = 0; i < run->next && i < p->n_stages; i++)
            if (p->stages[i].background && run->main[i].state != STAGE_SUCCEEDED)
                start_background(run, &p->stages[i]);
        while (run->next < p->n_stages && !run->failure_stage) {
            if (atomic_load(&run->stop)) {
                code = interrupted(run);
                goto out;
            }
            const sw_stage *bg = failed_background(run);
            if (bg) {
                fail_run(run, bg->spec->id, bg->reason[0] ? bg->reason : "background stage failed");
                break;
            }
            const sw_stage_spec *s = &p->stages[run->next];
            if (s->background) {
                start_background(run, s);
                run->next++;
                if (checkpoint(run) != 0) {
                    code = unsaved(run);
                    goto out;
                }
                continue;
            }
            outcome o = run_foreground(run, s);
            if (o == OUTCOME_INTERRUPTED) {
                code = interrupted(run);
                goto out;
            }
            run->next++; /* finished, whether it passed or not */
            if (o == OUTCOME_OK && checkpoint(run) != 0) {
                code = unsaved(run);
                goto out;
            }
        }
        stop_background(run);
        skip_rest(run, run->next);
        run->phase = run->failure_stage ? PHASE_ON_FAILURE : PHASE_DONE;
        run->next = 0;
        if (checkpoint(run) != 0) {
            code = unsaved(run);
            goto out;
        }
    }
    if (run->phase == PHASE_ON_FAILURE) {
        set_failure_context(run);
        for (; run->next < p->n_on_failure; run->next++) {
            if (atomic_load(&run->stop)) {
                code = interrupted(run);
                goto out;
            }
            char *saved_stage = run->failure_stage, *saved_reason = run->failure_reason;
            /* A failing handler is recorded but does not replace the original failure. */
            run->failure_stage = NULL;
            run->failure_reason = NULL;
            outcome o = run_foreground(run, &p->on_failure[run->next]);
            free(run->failure_stage);
            free(run->failure_reason);
            run->failure_stage = saved_stage;
            run->failure_reason = saved_reason;
            if (o == OUTCOME_INTERRUPTED) {
                code = interrupted(run);
                goto out;
            }
            if (checkpoint(run) != 0) {
                code = unsaved(run);
                goto out;
            }
        }
        run->phase = PHASE_DONE;
    }
    code = run->failure_stage ? SW_EXIT_FAILED : SW_EXIT_OK;
    run->exit_code = code;
    sw_err err;
    /* Without its report a finished run is resumed to write it. */
    if (checkpoint(run) != 0) {
        code = unsaved(run);
        goto out;
    }
    if (sw_run_write_report(run, &err) != 0) {
        warn(run, err.msg);
        code = unsaved(run);
        goto out;
    }
    sw_run_journal_event(run, json_pack("{s:s, s:s, s:i}", "event", "run_end", "status",
                                        code == SW_EXIT_OK ? "succeeded" : "failed", "exit_code",
                                        (int)code));
    if (run->journal)
        sw_journal_sync(run->journal, NULL);
    /* The run_end line too; the report is recorded already, so failing here only warns. */
    if (sw_run_db_save(run, &err) != 0)
        emit(run, (sw_event){.kind = SW_EVENT_LOG, .level = SW_LOG_WARN, .message = err.msg});
out:
    if (code == SW_EXIT_INTERRUPTED) {
        sw_err werr;
        if (sw_run_write_report(run, &werr) != 0)
            warn(run, werr.msg);
    }
    {
        char *summary = run->failure_stage
                            ? sw_xasprintf("stage '%s': %s", run->failure_stage,
                                           run->failure_reason ? run->failure_reason : "")
                            : sw_xstrdup(code == SW_EXIT_INTERRUPTED ? "interrupted" : "ok");
        emit(run, (sw_event){.kind = SW_EVENT_RUN_END,
                             .status = (int)code,
                             .message = summary,
                             .elapsed_ms = sw_now_ms() - run->started_ms});
        free(summary);
    }
    run->engine->current = NULL;
    return code;
}

/* ---- creating and reopening runs ---- */

static sw_run *run_alloc(sw_engine *e, sw_pipeline *p)
{
    sw_run *run = sw_xcalloc(1, sizeof *run);
    run->engine = e;
    run->pipeline = p;
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->cond, NULL);
    pthread_mutex_init(&run->observe_lock, NULL);
    pthread_mutex_init(&run->secrets_lock, NULL);
    run->main = sw_xcalloc(p->n_stages + 1, sizeof *run->main);
    run->handlers = sw_xcalloc(p->n_on_failure + 1, sizeof *run->handlers);
    run->artifacts = json_array();
    return run;
}

/* Environment values the pipeline references enter the context as secrets. */
void sw_run_load_env(sw_run *run)
{
    for (size_t i = 0; i < run->pipeline->n_env_keys; i++) {
        const char *name = run->pipeline->env_keys[i];
        const char *text = getenv(name);
        if (!text)
            continue;
        char *key = sw_xasprintf("env.%s", name);
        sw_value v = sw_value_string(text);
        sw_context_set(run->ctx, key, &v, "env", SW_CTX_SECRET);
        sw_value_free(&v);
        sw_run_add_secret(run, text);
        free(key);
    }
}

/* Ids sort by creation time (to the millisecond), then by a random suffix. */
static char *new_run_id(void)
{
    unsigned char rnd[3] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        unsigned long x = (unsigned long)getpid() ^ (unsigned long)time(NULL);
        memcpy(rnd, &x, sizeof rnd);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return sw_xasprintf("%s-%03ld-%02x%02x%02x", stamp, now.tv_nsec / 1000000L, rnd[0], rnd[1],
                        rnd[2]);
}

static int write_run_meta(sw_run *run, sw_err *err)
{
    sw_pipeline *p = run->pipeline;
    size_t len;
    char *text = sw_read_file(p->path, 0, &len, err);
    if (!text)
        return -1;
    char *snap = sw_path_join(run->dir, "pipeline.yaml");
    int rc = sw_write_file_atomic(snap, text, len, err);
    free(snap);
    free(text);
    if (rc != 0)
        return -1;
    json_t *sets = json_array(), *dirs = json_array();
    for (size_t i = 0; i < p->n_sets; i++)
        json_array_append_new(sets, json_string(p->sets[i]));
    for (size_t i = 0; i < run->engine->n_plugin_dirs; i++)
        json_array_append_new(dirs, json_string(run->engine->plugin_dirs[i]));
    json_t *meta = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:o}", "format", 1, "run_id", run->id,
                             "pipeline", p->path, "pipeline_dir", p->dir, "created_at",
                             run->started_at, "sets", sets, "plugin_dirs", dirs);
    /* A release store named apart from the state folder: a resume must use it too. */
    if (run->engine->store)
        json_object_set_new(meta, "store", json_string(run->engine->store));
    char *body = json_dumps(meta, JSON_INDENT(2));
    json_decref(meta);
    char *path = sw_path_join(run->dir, "run.json");
    rc = sw_write_file_atomic(path, body, strlen(body), err);
    free(path);
    free(body);
    return rc;
}

static int open_journal(sw_run *run, sw_err *err)
{
    char *path = sw_path_join(run->dir, "journal.jsonl");
    run->journal = sw_journal_open(path, err);
    free(path);
    return run->journal ? 0 : -1;
}

/* A run folder that could not be made whole is removed (only the files
   sw_run_new writes; a folder holding anything else stays), so that
   `slipway runs` never lists a run without a checkpoint. */
static void discard_run(sw_run *run)
{
    static const char *const files[] = {"pipeline.yaml", "run.json", "journal.jsonl",
                                        "context.json"};
    char *dir = sw_xstrdup(run->dir);
    sw_run_free(run);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *path = sw_path_join(dir, files[i]);
        unlink(path);
        free(path);
    }
    rmdir(dir);
    free(dir);
}

SW_API sw_run *sw_run_new(sw_engine *e, sw_pipeline *p, sw_diags *d)
{
    if (!p->checked && sw_pipeline_check(e, p, d) != 0)
        return NULL;
    sw_run *run = run_alloc(e, p);
    run->id = new_run_id();
    run->dir = sw_xasprintf("%s/runs/%s", e->state_dir, run->id);
    sw_iso8601_now(run->started_at);
    sw_err err;
    if (sw_mkdir_p(run->dir, 0755, &err) != 0 || write_run_meta(run, &err) != 0 ||
        open_journal(run, &err) != 0) {
        sw_diag_error(d, (sw_pos){0}, "cannot create the run folder: %s", err.msg);
        discard_run(run);
        return NULL;
    }
    int failed = 0;
    run->db = sw_run_db_claim(e, run->id, &failed, &err);
    if (failed) {
        sw_diag_error(d, (sw_pos){0}, "cannot record the run: %s", err.msg);
        discard_run(run);
        return NULL;
    }
    run->ctx = sw_context_new();
    for (size_t i = 0; i < p->n_vars; i++) {
        char *key = sw_xasprintf("vars.%s", p->vars[i].name);
        sw_context_set(run->ctx, key, &p->vars[i].value, "vars", 0);
        free(key);
    }
    sw_run_load_env(run);
    if (sw_run_checkpoint(run, &err) != 0) {
        sw_diag_error(d, (sw_pos){0}, "cannot create the run folder: %s", err.msg);
        discard_run(run);
        return NULL;
    }
    sw_run_db_heartbeat(run->db, run);
    return run;
}

static json_t *load_json(const char *dir, const char *name, sw_diags *d)
{
    char *path = sw_path_join(dir, name);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        sw_diag_error(d,
                      (sw_pos){.file = path,
                               .line = jerr.line > 0 ? jerr.line : 0,
                               .col = jerr.column > 0 ? jerr.column : 0},
                      "%s", jerr.text);
    free(path);
    return j;
}

static int restore_records(sw_run *run, json_t *stages, sw_diags *d)
{
    size_t i;
    json_t *row;
    json_array_foreach(stages, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "id"));
        const sw_stage_spec *s = id ? sw_pipeline_find_stage(run->pipeline, id) : NULL;
        stage_state state;
        if (!s ||
            sw_stage_state_parse(json_string_value(json_object_get(row, "state")), &state) != 0) {
            sw_diag_error(d, (sw_pos){0},
                          "checkpoint of run '%s' does not match its pipeline (stage '%s')",
                          run->id, id ? id : "?");
            return -1;
        }
        stage_record *r = record_of(run, s);
        r->state = state == STAGE_RUNNING ? STAGE_PENDING : state;
        const char *reason = json_string_value(json_object_get(row, "reason"));
        r->reason = reason ? sw_xstrdup(reason) : NULL;
        r->duration_ms = json_number_value(json_object_get(row, "duration_ms"));
        const char *started = json_string_value(json_object_get(row, "started_at"));
        snprintf(r->started_at, sizeof r->started_at, "%s", started ? started : "");
    }
    return 0;
}

SW_API sw_run *sw_run_open(sw_engine *e, const char *run_id, sw_diags *d)
{
    char *show = sw_run_show_json(e, run_id, d); /* validates the id; the folder or the db */
    if (!show)
        return NULL;
    free(show);
    char *dir = sw_xasprintf("%s/runs/%s", e->state_dir, run_id);
    /* With a database store: the lease first (one process resumes a run), then the
       folder from the database when it holds more of the run (resumed elsewhere). */
    sw_err derr;
    int failed = 0;
    sw_run_db *db = sw_run_db_claim(e, run_id, &failed, &derr);
    if (failed || (db && sw_run_db_restore(db, run_id, dir, &derr) != 0)) {
        sw_diag_error(d, (sw_pos){0}, "cannot resume run '%s': %s", run_id, derr.msg);
        sw_run_db_release(db);
        free(dir);
        return NULL;
    }
    json_t *meta = load_json(dir, "run.json", d);
    json_t *ckpt = meta ? load_json(dir, "context.json", d) : NULL;
    json_t *report = NULL;
    char *report_path = sw_path_join(dir, "report.json");
    if (sw_file_exists(report_path))
        report = load_json(dir, "report.json", NULL);
    free(report_path);
    sw_run *run = NULL;
    sw_pipeline *p = NULL;
    if (!meta || !ckpt)
        goto fail;
    const char *status = json_string_value(json_object_get(report, "status"));
    if (status && strcmp(status, "interrupted") != 0) {
        sw_diag_error(d, (sw_pos){0}, "run '%s' already finished (%s); nothing to resume", run_id,
                      status);
        goto fail;
    }
    size_t len;
    sw_err err;
    char *snap_path = sw_path_join(dir, "pipeline.yaml");
    char *text = sw_read_file(snap_path, 0, &len, &err);
    free(snap_path);
    if (!text) {
        sw_diag_error(d, (sw_pos){0}, "%s", err.msg);
        goto fail;
    }
    p = sw_pipeline_parse_string(text, len, json_string_value(json_object_get(meta, "pipeline")),
                                 json_string_value(json_object_get(meta, "pipeline_dir")), d);
    free(text);
    if (!p)
        goto fail;
    p->engine = e;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(meta, "sets"), i, v)
    {
        if (sw_pipeline_set(p, json_string_value(v), d) != 0)
            goto fail;
    }
    json_array_foreach(json_object_get(meta, "plugin_dirs"), i, v)
    {
        sw_engine_add_plugin_dir(e, json_string_value(v));
    }
    /* The run's own release store, unless the resume names one. */
    const char *store = json_string_value(json_object_get(meta, "store"));
    if (store && !e->store)
        sw_engine_set_store(e, store);
    if (sw_pipeline_check(e, p, d) != 0)
        goto fail;
    run = run_alloc(e, p);
    run->owns_pipeline = 1;
    run->resumed = 1;
    run->id = sw_xstrdup(run_id);
    run->dir = dir;
    dir = NULL;
    run->db = db;
    db = NULL;
    const char *started = json_string_value(json_object_get(ckpt, "started_at"));
    snprintf(run->started_at, sizeof run->started_at, "%s", started ? started : "");
    run->ctx = sw_context_from_json(json_object_get(ckpt, "values"), &err);
    if (!run->ctx) {
        sw_diag_error(d, (sw_pos){0}, "context.json of run '%s': %s", run_id, err.msg);
        goto fail;
    }
    const char *phase = json_string_value(json_object_get(ckpt, "phase"));
    run->phase = phase && strcmp(phase, "on_failure") == 0 ? PHASE_ON_FAILURE
                 : phase && strcmp(phase, "done") == 0     ? PHASE_DONE
                                                           : PHASE_MAIN;
    run->next = (size_t)json_integer_value(json_object_get(ckpt, "next"));
    json_t *failure = json_object_get(ckpt, "failure");
    if (json_is_object(failure)) {
        run->failure_stage = sw_xstrdup(json_string_value(json_object_get(failure, "stage")));
        run->failure_reason = sw_xstrdup(json_string_value(json_object_get(failure, "reason")));
    }
    json_t *arts = json_object_get(ckpt, "artifacts");
    if (json_is_array(arts))
        json_array_extend(run->artifacts, arts);
    if (restore_records(run, json_object_get(ckpt, "stages"), d) != 0)
        goto fail;
    sw_run_load_env(run);
    if (open_journal(run, &err) != 0) {
        sw_diag_error(d, (sw_pos){0}, "%s", err.msg);
        goto fail;
    }
    json_decref(meta);
    json_decref(ckpt);
    json_decref(report);
    sw_run_db_heartbeat(run->db, run);
    return run;
fail:
    if (run)
        sw_run_free(run);
    else
        sw_pipeline_free(p);
    sw_run_db_release(db);
    free(dir);
    json_decref(meta);
    json_decref(ckpt);
    json_decref(report);
    return NULL;
}

SW_API void sw_run_free(sw_run *run)
{
    if (!run)
        return;
    for (size_t i = 0; i < run->pipeline->n_stages; i++)
        free(run->main[i].reason);
    for (size_t i = 0; i < run->pipeline->n_on_failure; i++)
        free(run->handlers[i].reason);
    free(run->main);
    free(run->handlers);
    free(run->background);
    sw_strv_free(run->secrets, run->n_secrets);
    free(run->failure_stage);
    free(run->failure_reason);
    json_decref(run->artifacts);
    sw_context_free(run->ctx);
    sw_run_db_release(run->db); /* before the journal: the heartbeat may stop the run */
    sw_journal_close(run->journal);
    pthread_mutex_destroy(&run->lock);
    pthread_cond_destroy(&run->cond);
    pthread_mutex_destroy(&run->observe_lock);
    pthread_mutex_destroy(&run->secrets_lock);
    if (run->owns_pipeline)
        sw_pipeline_free(run->pipeline);
    free(run->id);
    free(run->dir);
    free(run);
}

SW_API const char *sw_run_id(const sw_run *run)
{
    return run->id;
}

SW_API const char *sw_run_dir(const sw_run *run)
{
    return run->dir;
}

SW_API char *sw_run_report_json(const sw_run *run)
{
    json_t *r = sw_run_report((sw_run *)run);
    char *text = json_dumps(r, JSON_INDENT(2));
    json_decref(r);
    return text;
}

SW_API void sw_engine_note_crash(sw_engine *e, int sig)
{
    /* Called from a signal handler: write(2) of a line prepared at stage start. */
    sw_run *run = e->current;
    if (!run || !run->journal || !run->crash_line[0])
        return;
    char line[600];
    size_t n = strlen(run->crash_line);
    memcpy(line, run->crash_line, n);
    char digits[12];
    int k = 0;
    int s = sig;
    do {
        digits[k++] = (char)('0' + s % 10);
        s /= 10;
    } while (s && k < 11);
    while (k)
        line[n++] = digits[--k];
    line[n++] = '}';
    line[n++] = '\n';
    ssize_t w = write(sw_journal_fd(run->journal), line, n);
    (void)w;
    fsync(sw_journal_fd(run->journal));
}
