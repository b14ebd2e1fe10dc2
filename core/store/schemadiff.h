/*
 * schemadiff.h - tool schema changes, classified as breaking or compatible.
 *
 * A tool's JSON Schema is a contract between the model (which produces calls)
 * and the code that executes them. A change is breaking when a call valid
 * before may be invalid now, or a field the code relies on may be gone:
 * a removed tool or property, a new required property, a narrowed type, enum
 * or constraint, closed additionalProperties, a keyword whose effect cannot
 * be judged ($ref, anyOf, ...), and a side effect escalated (read_only ->
 * idempotent -> mutating -> irreversible: what rollback can undo shrinks).
 * An added optional property, a widened type or enum, a relaxed constraint
 * and any annotation (description, title, examples, default) are compatible.
 *
 * Each change is a JSON object appended to the caller's array:
 *   {"tool": "issue_refund", "path": "amount", "change": "property_removed",
 *    "breaking": true, "message": "property 'amount' removed"}
 * ("path" is "" for the tool itself, "a.b" for nested properties and "a[]"
 * for array items.) The returned counts never include the other class.
 */
#ifndef SW_STORE_SCHEMADIFF_H
#define SW_STORE_SCHEMADIFF_H

#include <jansson.h>
#include <stddef.h>

typedef struct sw_diff_counts {
    size_t breaking;
    size_t compatible;
} sw_diff_counts;

/* Compare two tool lists as the manifest holds them: arrays of
   {"name", "side_effect", "definition": {"type": "function", "function": {...}}}.
   Either may be NULL (no tools). */
sw_diff_counts sw_tools_diff(const json_t *old_tools, const json_t *new_tools, json_t *changes);

/* Compare two JSON Schemas of one tool, reporting paths under `path`. */
sw_diff_counts sw_schema_diff(const char *tool, const char *path, const json_t *old_schema,
                              const json_t *new_schema, json_t *changes);

/* The rank of a side-effect class (read_only 0 .. irreversible 3), or -1. */
int sw_side_effect_rank(const char *name);

#endif
