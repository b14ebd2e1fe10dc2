/*
 * slipway/harness.h - run one stage plugin in-process, for its tests.
 *
 * The harness loads a plugin, gives it `with:` parameters (YAML text, as a
 * pipeline would write them) and an initial context, runs init, run and fini
 * as the runner does, and lets a test inspect what happened: the status, the
 * reason, the outputs by type, the log lines. No pipeline file, no run
 * folder: artifacts go to a temporary folder the harness removes.
 *
 * It is the runner's own code underneath: parameters are checked and bound by
 * the same functions (unknown keys, types, defaults, ${...} references against
 * the initial context), the plugin calls the same host table, outputs must be
 * declared and typed as in a run, and init/run/fini run on a thread of their
 * own. What passes here behaves the same in a pipeline.
 *
 *     sw_harness *h = sw_harness_new();
 *     sw_harness_load(h, "./build/greeter.so");
 *     sw_harness_set_with(h, "greeting: hello\nwho: ${vars.user}");
 *     sw_harness_set_string(h, "vars.user", "ada");
 *     if (sw_harness_run(h) != SW_OK) printf("%s\n", sw_harness_reason(h));
 *     const char *text;
 *     sw_harness_get_string(h, "message", &text);      // "hello, ada"
 *     sw_harness_free(h);
 *
 * Link with libslipway (CMake: Slipway::slipway; pkg-config: slipway).
 *
 * Ownership
 *   sw_harness_new's result is freed with sw_harness_free, which also removes
 *   the temporary folder. Strings passed in are copied. const char * results
 *   are owned by the harness and stay valid until the next sw_harness_run,
 *   setter of the same kind, or sw_harness_free. char * results are freed
 *   with sw_free.
 *
 * Errors
 *   Setters and getters return 0, or -1 with a message read by
 *   sw_harness_error. sw_harness_run returns the stage's status; a stage that
 *   could not start (no plugin, bad parameters, a missing input) is SW_ERROR
 *   with the reason, as the runner would record it.
 *
 * Threading
 *   One harness per thread, except sw_harness_cancel, which may be called
 *   from any thread while sw_harness_run runs.
 */
#ifndef SLIPWAY_HARNESS_H
#define SLIPWAY_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "slipway.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_harness sw_harness;

SW_API sw_harness *sw_harness_new(void);
SW_API void sw_harness_free(sw_harness *h);
/* The message of the last setter or getter that returned -1, or "". */
SW_API const char *sw_harness_error(const sw_harness *h);

/* ---- the plugin ---- */

/* Search dir for plugins named by name, before SLIPWAY_PLUGIN_PATH and the
   installed plugin folder. Call before sw_harness_load. */
SW_API void sw_harness_add_plugin_dir(sw_harness *h, const char *dir);
/* Load a plugin by name ("eval": eval.so on the search path) or by path
   (anything with a '/' or ending in ".so", relative to the base folder).
   The ABI checks are the loader's: another major, a bad descriptor, a name
   that differs from the file's are errors. */
SW_API int sw_harness_load(sw_harness *h, const char *plugin);
/* The loaded plugin's descriptor (zero-extended to this host's size), or NULL. */
SW_API const sw_stage_desc *sw_harness_desc(const sw_harness *h);

/* ---- the stage ---- */

/* The stage id (outputs are written as "<id>.<name>"). Default: the plugin's
   name with '-' written '_'. */
SW_API int sw_harness_set_stage_id(sw_harness *h, const char *id);
/* Where SW_PARAM_PATH parameters and plugin paths resolve (the pipeline's
   folder in a run). Default: the current folder. */
SW_API int sw_harness_set_base_dir(sw_harness *h, const char *dir);
/* The stage's `with:` as YAML text, a mapping ("threshold: 0.9\nsteps: [5, 25]").
   Checked against the parameter table when the stage runs. */
SW_API int sw_harness_set_with(sw_harness *h, const char *yaml);

/* ---- the initial context ---- */

/* Set a context key ("release.id", "vars.router") that the stage reads or
   that `with:` references. json_text is the value as JSON ("5", "2.5",
   "\"text\"", "{\"a\": 1}", "null"); type is what it must be (an integer
   given for SW_TYPE_DOUBLE is widened; SW_TYPE_ANY takes it as it comes). */
SW_API int sw_harness_set_value(sw_harness *h, const char *key, sw_type type,
                                const char *json_text);
/* The same with the value typed as YAML types it ("5", "true", "{a: 1}", "x"). */
SW_API int sw_harness_set_value_yaml(sw_harness *h, const char *key, const char *yaml);
SW_API int sw_harness_set_bool(sw_harness *h, const char *key, int value);
SW_API int sw_harness_set_int(sw_harness *h, const char *key, int64_t value);
SW_API int sw_harness_set_double(sw_harness *h, const char *key, double value);
SW_API int sw_harness_set_string(sw_harness *h, const char *key, const char *value);
/* Mark a key set above as a secret: masked in logs and reasons, as env.* is in a run. */
SW_API int sw_harness_set_secret(sw_harness *h, const char *key);

/* ---- running ---- */

/* Cancel the stage ms milliseconds after it starts (0: never), as a run
   stopping would: host->cancelled turns true and host->wait returns early. */
SW_API void sw_harness_cancel_after(sw_harness *h, int64_t ms);
/* Cancel the running stage now (any thread). */
SW_API void sw_harness_cancel(sw_harness *h);
/* Check and bind the parameters, then call init, run and fini. The context
   starts afresh from the values set above at every call. Waits for the
   plugin to return, however long it ignores a cancellation. */
SW_API sw_status sw_harness_run(sw_harness *h);

/* ---- results of the last run ---- */

SW_API sw_status sw_harness_status(const sw_harness *h);
/* Why the stage did not return SW_OK (what host->fail or host->error said,
   or why it could not start), or "". */
SW_API const char *sw_harness_reason(const sw_harness *h);
/* Whether the stage was cancelled (sw_harness_cancel or cancel_after). */
SW_API int sw_harness_was_cancelled(const sw_harness *h);

/* Outputs by name ("pass_rate"); a name with a '.' is any context key. */
SW_API int sw_harness_has(const sw_harness *h, const char *name);
/* SW_TYPE_NULL when absent (or set to null). */
SW_API sw_type sw_harness_type(const sw_harness *h, const char *name);
SW_API int sw_harness_get_bool(sw_harness *h, const char *name, int *out);
SW_API int sw_harness_get_int(sw_harness *h, const char *name, int64_t *out);
/* An int output is read as a double on request, as host->get_double does. */
SW_API int sw_harness_get_double(sw_harness *h, const char *name, double *out);
SW_API int sw_harness_get_string(sw_harness *h, const char *name, const char **out);
SW_API int sw_harness_get_json(sw_harness *h, const char *name, const char **out);
/* Every output the stage wrote, as {"name": {"type": "int", "value": 5}, ...}. */
SW_API char *sw_harness_outputs_json(const sw_harness *h);

/* The stage's log lines, in order (HTTP retries included). */
SW_API size_t sw_harness_log_count(const sw_harness *h);
SW_API sw_log_level sw_harness_log_level(const sw_harness *h, size_t i);
SW_API const char *sw_harness_log_message(const sw_harness *h, size_t i);
/* The index of the first line containing text, or -1. */
SW_API long sw_harness_log_find(const sw_harness *h, const char *text);
/* The last progress fraction reported, or -1 when none was. */
SW_API double sw_harness_progress(const sw_harness *h);

/* The stage's artifacts folder (inside the temporary folder), or NULL before a run. */
SW_API const char *sw_harness_artifacts_dir(const sw_harness *h);

#ifdef __cplusplus
}
#endif

#endif /* SLIPWAY_HARNESS_H */
