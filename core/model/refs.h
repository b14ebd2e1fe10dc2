/*
 * refs.h - ${...} references inside `with:` values.
 *
 * "${release.id}" alone is a whole-value reference and keeps the referenced
 * value's type; a reference inside a longer string interpolates as text.
 * "$${" writes a literal "${". Keys are "<owner>.<name>" where owner is a
 * stage id, "vars", "env" (any environment variable, secret) or "failure".
 */
#ifndef SW_MODEL_REFS_H
#define SW_MODEL_REFS_H

#include "base/diag.h"
#include "context.h"
#include "yamldoc.h"

typedef struct sw_ref {
    char *key;
    size_t start; /* byte offset of "${" in the string */
    size_t end;   /* byte offset just past "}" */
} sw_ref;

typedef struct sw_refs {
    sw_ref *items;
    size_t n;
    int whole; /* the string is exactly one reference */
} sw_refs;

/* Parse references; -1 with err on malformed syntax ("unterminated ${", "empty
   reference", "bad key 'x'"), err says the byte offset. */
int sw_refs_parse(const char *s, sw_refs *out, sw_err *err);
void sw_refs_free(sw_refs *refs);
int sw_refs_has_any(const char *s); /* a quick test: contains an unescaped "${" */

/* What the checker knows at a point of the pipeline: the type of a key, or 0
   when the key cannot exist there (then *why may say why, e.g. "stage 'x' runs
   later"). */
typedef int (*sw_scope_fn)(void *userdata, const char *key, sw_type *type, const char **why);

/* Check every reference in every scalar of node; the type a whole-value
   reference would give is stored in *type (SW_TYPE_STRING when interpolated,
   SW_TYPE_ANY when node has no reference at all). Errors point at the node. */
int sw_refs_check_node(const sw_ydoc *doc, const sw_ynode *node, sw_scope_fn scope, void *ud,
                       sw_type *type, sw_diags *d);

/* Resolve a string against the context. *secret is set when any part came
   from a secret value. */
int sw_refs_resolve_string(const char *s, const sw_context *ctx, sw_value *out, int *secret,
                           sw_err *err);

/* Is a value of type `have` acceptable where `want` is expected? Same type; INT
   where DOUBLE is wanted; any scalar where STRING is wanted (as text); anything
   where ANY is wanted. */
int sw_type_compatible(sw_type have, sw_type want);

#endif
