/*
 * template.h - {{var}} placeholders in prompt files.
 *
 * A placeholder is "{{", optional spaces, a name ([A-Za-z_][A-Za-z0-9_.-]*),
 * optional spaces, "}}". "\{{" writes a literal "{{". Values are strings,
 * numbers or booleans; a name with no value, a bad name or an unclosed "{{"
 * is an error at its file:line:col. Every problem in the text is reported.
 */
#ifndef SW_STORE_TEMPLATE_H
#define SW_STORE_TEMPLATE_H

#include <jansson.h>

#include "base/diag.h"

/* The rendered text (malloc'd), or NULL with diagnostics in d. vars is a JSON
   object (may be NULL); every variable used is copied into `used` (an object,
   may be NULL), so a release records exactly the values its prompts saw. */
char *sw_template_render(const char *text, const char *file, const json_t *vars, json_t *used,
                         sw_diags *d);

#endif
