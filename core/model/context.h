/*
 * context.h - the typed key/value context passed between stages.
 *
 * Keys are "<owner>.<name>" (stage outputs "release.id", variables "vars.x",
 * environment "env.HOME", failure info "failure.reason"). Values are copied in
 * and owned by the context; pointers returned by getters stay valid until the
 * key is written again or the context is freed. Iteration follows insertion
 * order, so serialization is deterministic.
 *
 * Not thread-safe: the runner serializes access.
 */
#ifndef SW_MODEL_CONTEXT_H
#define SW_MODEL_CONTEXT_H

#include <jansson.h>

#include "value.h"

typedef struct sw_context sw_context;

/* Never serialized, journaled or shown. A string set with it is remembered
   (when at least 4 bytes long): any text value set later without it that
   contains that string, raw or escaped as in JSON, is derived from a secret
   and gets the flag too, so a stage that copies a secret into an output does
   not carry it into checkpoints, reports or Lua. */
#define SW_CTX_SECRET 0x1u

sw_context *sw_context_new(void);
void sw_context_free(sw_context *ctx);

/* Set key to a copy of v. The writer (a stage id, "vars", "env", "failure") is kept for provenance.
 */
void sw_context_set(sw_context *ctx, const char *key, const sw_value *v, const char *writer,
                    unsigned flags);
/* The value, or NULL when absent. */
const sw_value *sw_context_get(const sw_context *ctx, const char *key);
/* The value when present and of type want (an INT satisfies DOUBLE only when
   allow_widen); else -1 with "context key 'k': expected double, got string" or
   "context key 'k' is not set". */
int sw_context_get_typed(const sw_context *ctx, const char *key, sw_type want, const sw_value **out,
                         sw_err *err);
unsigned sw_context_flags(const sw_context *ctx, const char *key);
const char *sw_context_writer(const sw_context *ctx, const char *key);

size_t sw_context_count(const sw_context *ctx);
/* The i-th entry in insertion order. */
const char *sw_context_key_at(const sw_context *ctx, size_t i);
const sw_value *sw_context_value_at(const sw_context *ctx, size_t i);
unsigned sw_context_flags_at(const sw_context *ctx, size_t i);

/* Increases on every write; lets readers (Lua gates) cache derived views. */
unsigned long long sw_context_generation(const sw_context *ctx);

/* The checkpoint form: {"key": {"type": "int", "value": 5, "writer": "golden"}, ...},
   secrets left out. Doubles round-trip exactly; NaN and infinities are written
   as the strings "nan", "inf", "-inf". */
json_t *sw_context_to_json(const sw_context *ctx);
sw_context *sw_context_from_json(const json_t *j, sw_err *err);

#endif
