/*
 * reldiff.h - what changed between two releases of an agent.
 *
 * The diff is a JSON object (see docs/versioning.md):
 *   from, to            the two ids (from is null for a first release)
 *   identical           true when the content is the same
 *   model               {"from": {provider, name}, "to": {...}} or null when unchanged
 *   parameters, pricing [{"name", "from", "to"}] (null for added/removed values)
 *   prompts             [{"name", "change": added|removed|modified, "added_lines",
 *                         "removed_lines", "diff": unified text}]
 *   tools               the classified schema changes (schemadiff.h)
 *   source              {"from": {commit, dirty}, "to": {...}} or null when unchanged
 *   breaking_changes, compatible_changes   counts over tools
 *   summary             one line for logs
 */
#ifndef SW_STORE_RELDIFF_H
#define SW_STORE_RELDIFF_H

#include <jansson.h>

/* old_m may be NULL (nothing released yet). Returns a new reference. */
json_t *sw_release_diff(const json_t *old_m, const json_t *new_m);
/* The diff as text for a terminal or an artifact file; malloc'd. */
char *sw_release_diff_text(const json_t *diff);

#endif
