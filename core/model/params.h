/*
 * params.h - a stage's `with:` checked and bound against its parameter table.
 *
 * Checking (before anything runs): unknown keys (with did-you-mean), missing
 * required parameters, literal values of the wrong type, bad durations, and
 * references whose type does not fit. Binding (at run time): references
 * resolved against the context, values converted, defaults applied, and the
 * plugin's config struct filled as plugin.h describes.
 */
#ifndef SW_MODEL_PARAMS_H
#define SW_MODEL_PARAMS_H

#include <jansson.h>

#include "context.h"
#include "refs.h"

/* Check a stage's with: (a MAP node or NULL) against params (NULL-name terminated).
   stage_id names the stage in messages; a missing parameter is reported at `with`,
   or at stage (the stage's node, may be NULL) when there is no `with`. Returns the
   number of errors added. */
int sw_params_check(const sw_param *params, const sw_ydoc *doc, const sw_ynode *stage,
                    const sw_ynode *with, const char *stage_id, sw_scope_fn scope, void *ud,
                    sw_diags *d);

/* Check a default_value against its parameter (used when loading a plugin). */
int sw_param_default_valid(const sw_param *param, sw_err *err);

/* Allocate (calloc config_size) and fill a config struct. pipeline_dir resolves
   SW_PARAM_PATH values. *shown (may be NULL) receives the bound parameters as a
   JSON object for the journal, secret ones (SW_PARAM_SECRET, or derived from a
   secret) written as "***". Returns NULL with err naming the parameter. */
void *sw_params_bind(const sw_param *params, size_t config_size, const sw_ynode *with,
                     const char *pipeline_dir, const sw_context *ctx, json_t **shown, sw_err *err);
/* Free the strings bind allocated, and the struct. */
void sw_params_free(const sw_param *params, void *config);

#endif
