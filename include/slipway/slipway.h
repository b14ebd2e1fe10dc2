/*
 * slipway/slipway.h - the embedding API of libslipway.
 *
 * The `slipway` command is a thin layer over this header; a program can embed
 * the same engine: load a pipeline, check it, run it, resume it, list runs and
 * plugins.
 *
 * Objects
 *   sw_engine    where plugins are searched and runs are kept; owns loaded plugins
 *   sw_pipeline  a parsed pipeline file, with any --set overrides
 *   sw_run       one run of a pipeline, with its folder under <state>/runs/<id>
 *   sw_diags     the diagnostics of one call ("file:line:col: error: message")
 *
 * Ownership
 *   Every *_new / *_load / *_open result is freed with the matching *_free.
 *   A pipeline must not outlive its engine, nor a run its pipeline or engine.
 *   Functions returning char * return malloc'd text the caller frees with
 *   sw_free; const char * results are owned by the object they came from.
 *
 * Errors
 *   Functions taking an sw_diags * add every problem found to it and return
 *   -1 or NULL when any was an error. The diags may be NULL when the caller
 *   does not want them.
 *
 * Threading
 *   One engine per thread, except sw_engine_request_stop, which may be called
 *   from any thread or a signal handler.
 */
#ifndef SLIPWAY_SLIPWAY_H
#define SLIPWAY_SLIPWAY_H

#include <stddef.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_API SW_EXPORT

typedef struct sw_engine sw_engine;
typedef struct sw_pipeline sw_pipeline;
typedef struct sw_run sw_run;
typedef struct sw_diags sw_diags;

/* Process exit codes of a run, also returned by sw_run_execute. */
typedef enum sw_exit {
    SW_EXIT_OK = 0,     /* every stage and gate passed */
    SW_EXIT_FAILED = 1, /* a stage or gate said no, or a background stage aborted; on_failure ran */
    SW_EXIT_INVALID = 2,    /* invalid input: nothing ran */
    SW_EXIT_INTERRUPTED = 3 /* stopped by a signal or a crash; resumable */
} sw_exit;

SW_API const char *sw_version(void);
SW_API void sw_free(void *p);

/* ---- diagnostics ---- */

typedef enum sw_severity {
    SW_SEVERITY_ERROR = 0,
    SW_SEVERITY_WARNING,
    SW_SEVERITY_NOTE
} sw_severity;

typedef struct sw_diagnostic {
    const char *file; /* may be NULL */
    int line;         /* 1-based; 0 when unknown */
    int col;          /* 1-based; 0 when unknown */
    sw_severity severity;
    const char *message;
} sw_diagnostic;

SW_API sw_diags *sw_diags_new(void);
SW_API void sw_diags_free(sw_diags *d);
SW_API size_t sw_diags_count(const sw_diags *d);
SW_API size_t sw_diags_errors(const sw_diags *d);
/* The i-th diagnostic; its strings live as long as d. */
SW_API const sw_diagnostic *sw_diags_at(const sw_diags *d, size_t i);
/* "file:line:col: error: message" (parts that are unknown are left out); caller frees. */
SW_API char *sw_diags_format(const sw_diags *d, size_t i);

/* ---- engine ---- */

/* What happens during a run, for a front end to show. Strings are borrowed for the call. */
typedef enum sw_event_kind {
    SW_EVENT_RUN_START,
    SW_EVENT_STAGE_START,
    SW_EVENT_STAGE_END, /* status, message (the reason when not SW_OK), elapsed_ms */
    SW_EVENT_GATE,      /* status SW_OK (passed) or SW_FAIL, message: the reason */
    SW_EVENT_LOG,       /* level, message */
    SW_EVENT_PROGRESS,  /* progress in [0,1], message: the note (may be NULL) */
    SW_EVENT_RUN_END    /* status: the sw_exit code, message: a summary */
} sw_event_kind;

typedef struct sw_event {
    sw_event_kind kind;
    const char *run_id;
    const char *stage_id; /* NULL for run events */
    const char *plugin;   /* the stage's `uses:` */
    int background;       /* the stage runs in the background */
    sw_log_level level;
    int status;
    const char *message;
    double progress;
    double elapsed_ms;
} sw_event;

typedef void (*sw_observer_fn)(void *userdata, const sw_event *event);

/* A new engine. Reads SLIPWAY_PLUGIN_PATH, SLIPWAY_STATE_DIR and SLIPWAY_STORE from the
   environment. */
SW_API sw_engine *sw_engine_new(void);
SW_API void sw_engine_free(sw_engine *engine);
/* Add a plugin folder, searched before SLIPWAY_PLUGIN_PATH, pipeline paths and the
   install folder. Folders added first are searched first. */
SW_API void sw_engine_add_plugin_dir(sw_engine *engine, const char *dir);
/* Where runs and releases are kept (default: $SLIPWAY_STATE_DIR, else ./.slipway). */
SW_API void sw_engine_set_state_dir(sw_engine *engine, const char *dir);
SW_API const char *sw_engine_state_dir(const sw_engine *engine);
/* The release store (slipway/store.h): a folder, or a postgres:// URL. Default:
   $SLIPWAY_STORE, else the state folder. NULL goes back to that default. */
SW_API void sw_engine_set_store(sw_engine *engine, const char *location);
SW_API const char *sw_engine_store(const sw_engine *engine);
SW_API void sw_engine_set_observer(sw_engine *engine, sw_observer_fn fn, void *userdata);
/* Ask the running run to stop (cancellation, then exit 3, resumable).
   Async-signal-safe. A second call while stopping makes the stop immediate. */
SW_API void sw_engine_request_stop(sw_engine *engine);
/* Record in the running run's journal that the process is dying of signal sig
   (from a SIGSEGV/SIGBUS/SIGABRT handler; async-signal-safe). A later
   `resume` starts again at the stage that crashed. */
SW_API void sw_engine_note_crash(sw_engine *engine, int sig);

/* ---- plugins ---- */

/* Every plugin on the search path (pipeline paths excluded) as a JSON array of
   descriptors: name, version, summary, file, abi, params, inputs, outputs. */
SW_API char *sw_plugins_json(sw_engine *engine, sw_diags *diags);
/* One plugin's descriptor as a JSON object, or NULL (with a diagnostic). */
SW_API char *sw_plugin_json(sw_engine *engine, const char *name, sw_diags *diags);

/* ---- pipelines ---- */

/* Parse and validate the file's structure. No plugin is loaded yet. */
SW_API sw_pipeline *sw_pipeline_load(sw_engine *engine, const char *path, sw_diags *diags);
SW_API void sw_pipeline_free(sw_pipeline *pipeline);
SW_API const char *sw_pipeline_name(const sw_pipeline *pipeline);
/* Override a variable: "vars.key=value", the value typed as a YAML scalar. */
SW_API int sw_pipeline_set(sw_pipeline *pipeline, const char *assignment, sw_diags *diags);
/* Everything `slipway check` does: load every plugin, validate every `with:`,
   resolve every ${...} against earlier outputs with types, compile every Lua
   snippet. A pipeline that passes fails at run time only for run-time reasons. */
SW_API int sw_pipeline_check(sw_engine *engine, sw_pipeline *pipeline, sw_diags *diags);

/* ---- runs ---- */

/* A new run of a checked pipeline: creates <state>/runs/<id>/. */
SW_API sw_run *sw_run_new(sw_engine *engine, sw_pipeline *pipeline, sw_diags *diags);
/* Reopen an interrupted run to resume it; loads its pipeline snapshot and checkpoint. */
SW_API sw_run *sw_run_open(sw_engine *engine, const char *run_id, sw_diags *diags);
/* Run (or resume) to the end. Returns the exit code. */
SW_API sw_exit sw_run_execute(sw_run *run);
SW_API void sw_run_free(sw_run *run);
SW_API const char *sw_run_id(const sw_run *run);
SW_API const char *sw_run_dir(const sw_run *run);
/* The run's report (report.json's content) as JSON text. */
SW_API char *sw_run_report_json(const sw_run *run);

/* Every run under the state folder, newest first, as a JSON array of summaries. */
SW_API char *sw_runs_json(sw_engine *engine, sw_diags *diags);
/* One run's report, read from its folder (works for finished and interrupted runs). */
SW_API char *sw_run_show_json(sw_engine *engine, const char *run_id, sw_diags *diags);

#ifdef __cplusplus
}
#endif

#endif /* SLIPWAY_SLIPWAY_H */
