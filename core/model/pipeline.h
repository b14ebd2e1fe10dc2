/*
 * pipeline.h - the pipeline file (schema version 1) as a validated model.
 *
 * sw_pipeline_parse checks structure only: known keys (with did-you-mean),
 * field types, stage ids ([a-z_][a-z0-9_]*, unique across stages and
 * on_failure, not a reserved name), `uses:` present, durations. Plugin
 * parameters, references and gates are checked later by the checker, which
 * knows the plugins. The pipeline owns its document; `with` nodes point into it.
 */
#ifndef SW_MODEL_PIPELINE_H
#define SW_MODEL_PIPELINE_H

#include "base/diag.h"
#include "value.h"
#include "yamldoc.h"

typedef struct sw_stage_spec {
    char *id;
    char *uses;
    const sw_ynode *node;  /* the stage's mapping */
    const sw_ynode *with;  /* a MAP, or NULL when absent */
    char *gate;            /* Lua source, or NULL */
    sw_origin gate_origin; /* where gate's text starts (for Lua's positions) */
    sw_pos gate_pos;
    int background;
    int64_t timeout_ms; /* 0: none */
    int isolated;       /* isolation: process — init/run/fini in a forked child */
    int on_failure;     /* listed under on_failure: */
    size_t index;       /* position in its list */
} sw_stage_spec;

typedef struct sw_var {
    char *name; /* without "vars." */
    sw_value value;
    sw_pos pos;
} sw_var;

/* plugins.pins: the plugin `uses:` reaches as name must have this SHA-256. */
typedef struct sw_plugin_pin {
    char *name;   /* a `uses:` name, or a path's file name without ".so" */
    char *sha256; /* 64 lowercase hex digits (the "sha256:" prefix dropped) */
    sw_pos pos;   /* of the pin's key */
} sw_plugin_pin;

/* The public sw_pipeline (slipway.h) is this struct. */
struct sw_pipeline {
    sw_ydoc *doc;
    char *path; /* absolute */
    char *dir;  /* absolute folder of path: relative references resolve here */
    char *name;
    int version;
    sw_var *vars;
    size_t n_vars;
    char **plugin_paths; /* plugins.path, absolute */
    size_t n_plugin_paths;
    int allow_insecure_plugin_path; /* plugins.allow_insecure_path (see plugin/trust.h) */
    sw_plugin_pin *plugin_pins;     /* plugins.pins, each naming a plugin some stage uses */
    size_t n_plugin_pins;
    sw_stage_spec *stages;
    size_t n_stages;
    sw_stage_spec *on_failure;
    size_t n_on_failure;
    char **sets; /* "vars.k=v" overrides applied, kept so a resumed run re-applies them */
    size_t n_sets;
    struct sw_engine *engine; /* set by sw_pipeline_load */
    struct sw_loader *loader; /* set by the checker; freed by sw_pipeline_free */
    char **env_keys;          /* env.NAME keys the pipeline references (set by the checker) */
    size_t n_env_keys;
    int checked;
};

/* Parse and validate structure. NULL when any error was added to d. */
sw_pipeline *sw_pipeline_parse(const char *path, sw_diags *d);
/* Same from text (tests, resume from a snapshot); dir is where relative paths resolve. */
sw_pipeline *sw_pipeline_parse_string(const char *text, size_t len, const char *path,
                                      const char *dir, sw_diags *d);
void sw_pipeline_destroy(sw_pipeline *p);
/* Apply "vars.key=value" (YAML scalar typing); adds or replaces the var. */
int sw_pipeline_apply_set(sw_pipeline *p, const char *assignment, sw_err *err);
/* Find a stage by id in stages or on_failure. */
const sw_stage_spec *sw_pipeline_find_stage(const sw_pipeline *p, const char *id);
/* A stage id is valid: [a-z_][a-z0-9_]*, at most 64 chars, and not reserved
   (vars, env, failure, slipway, run, and Lua keywords). */
int sw_stage_id_valid(const char *id, sw_err *err);
/* "30s", "250ms", "5m", "1h", or a bare number of seconds -> milliseconds. */
int sw_parse_duration(const char *text, int64_t *ms, sw_err *err);

#endif
