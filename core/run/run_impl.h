/*
 * run_impl.h - the private shape of engines, runs and stage instances,
 * shared by the runner, the checker, the engine and the host table.
 *
 * Locking: run->lock guards the context, the stage records and the journal's
 * ordering with them; run->cond signals the main thread when a stage thread
 * finishes. Stage threads never hold run->lock while calling plugin code.
 */
#ifndef SW_RUN_RUN_IMPL_H
#define SW_RUN_RUN_IMPL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "lua/gate.h"
#include "model/context.h"
#include "model/pipeline.h"
#include "plugin/loader.h"
#include "run/journal.h"

struct sw_engine {
    char **plugin_dirs; /* sw_engine_add_plugin_dir, in order */
    size_t n_plugin_dirs;
    char *state_dir;
    char *store; /* the release store's location; NULL: the state folder */
    sw_observer_fn observer;
    void *observer_ud;
    volatile sig_atomic_t stop_requests; /* raised by sw_engine_request_stop */
    struct sw_run *volatile current;     /* the run executing now, for stop and crash notes */
};

/* Where a stage stands. Values are written to checkpoints and reports by name. */
typedef enum stage_state {
    STAGE_PENDING = 0,
    STAGE_RUNNING,
    STAGE_SUCCEEDED,
    STAGE_FAILED,    /* the stage said SW_FAIL, or its gate said no */
    STAGE_ERROR,     /* SW_ERROR, init failure, bad parameters */
    STAGE_TIMED_OUT, /* its timeout passed */
    STAGE_CANCELLED, /* a background stage stopped because the run ended */
    STAGE_SKIPPED    /* never ran because an earlier stage failed */
} stage_state;

const char *sw_stage_state_name(stage_state s);
int sw_stage_state_parse(const char *name, stage_state *out);

/* One stage of one run: what the plugin sees as sw_stage. */
struct sw_stage {
    struct sw_run *run;
    const sw_stage_spec *spec;
    const sw_plugin *plugin;
    sw_port *outputs; /* declared outputs (the plugin's, or a lua stage's own) */
    size_t n_outputs;
    void *config;
    void *data;
    char *artifacts_dir;
    char last_error[SW_ERR_MAX];
    char reason[SW_ERR_MAX]; /* what error()/fail() recorded */
    char **strings;          /* copies handed out by getters, freed with the stage */
    size_t n_strings;
    atomic_int cancelled;
    atomic_int detached; /* abandoned after a timeout: host calls become no-ops */
    double started_ms;
    pthread_t thread;
    int thread_started;
    int finished; /* guarded by run->lock */
    sw_status status;
};

typedef struct stage_record {
    stage_state state;
    char *reason;
    char started_at[32];
    double duration_ms;
    int gate_ran;
    int gate_passed;
} stage_record;

typedef enum run_phase { PHASE_MAIN = 0, PHASE_ON_FAILURE, PHASE_DONE } run_phase;

struct sw_run {
    sw_engine *engine;
    sw_pipeline *pipeline;
    int owns_pipeline;
    char *id;
    char *dir;
    sw_context *ctx;
    sw_journal *journal;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_mutex_t observe_lock;
    /* records for stages then on_failure stages, indexed as in the pipeline */
    stage_record *main;
    stage_record *handlers;
    sw_stage **background; /* running background stages */
    size_t n_background;
    run_phase phase;
    size_t next; /* first stage of the current phase not yet finished */
    char *failure_stage;
    char *failure_reason;
    char started_at[32];
    double started_ms;
    sw_exit exit_code;
    int resumed;
    char **secrets; /* secret values to mask in logs and reasons; guarded by secrets_lock */
    size_t n_secrets;
    pthread_mutex_t secrets_lock;
    json_t *artifacts;
    char crash_line[512]; /* prepared journal line written by the crash note */
    atomic_int stop;      /* the engine asked the run to stop */
    struct sw_run_db *db; /* its record in a database store (run_db.h), or NULL */
};

/* runner.c: how long a cancelled stage may take to return (SLIPWAY_CANCEL_GRACE_MS). */
double sw_cancel_grace_ms(void);
/* runner.c: the env.* values the pipeline references, into the context as secrets. */
void sw_run_load_env(struct sw_run *run);

/* checker.c */
int sw_check_pipeline(sw_engine *engine, sw_pipeline *p, sw_diags *d);
/* The declared outputs of a stage (plugin or lua stage); malloc'd copy. */
int sw_stage_outputs(const sw_pipeline *p, const sw_stage_spec *spec, const sw_plugin *plugin,
                     sw_port **out, size_t *n, sw_diags *d);
void sw_ports_free(sw_port *ports, size_t n);

/* engine.c */
void sw_engine_emit(sw_engine *engine, const sw_event *ev);
/* The folders searched for plugins, in order, for this pipeline (or none). */
char **sw_engine_plugin_search_path(const sw_engine *engine, const sw_pipeline *p, size_t *n);
void sw_strv_free(char **v, size_t n);

/* host.c */
sw_stage *sw_stage_new(struct sw_run *run, const sw_stage_spec *spec, const sw_plugin *plugin);
void sw_stage_free(sw_stage *st);
/* Remember a secret value (an env.* value, a SW_PARAM_SECRET parameter) so that
   it is masked wherever it would be written. Thread-safe. */
void sw_run_add_secret(struct sw_run *run, const char *value);
/* A copy of text with every known secret value replaced by "***"; caller frees. */
char *sw_run_mask_secrets(struct sw_run *run, const char *text);
void sw_run_journal_event(struct sw_run *run, json_t *event);

/* report.c */
json_t *sw_run_report(struct sw_run *run);
int sw_run_checkpoint(struct sw_run *run, sw_err *err);
int sw_run_write_report(struct sw_run *run, sw_err *err);

#endif
