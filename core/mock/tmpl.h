/*
 * tmpl.h - {{...}} placeholders in the mock's answers.
 *
 * A placeholder is "{{", optional spaces, a name, optional spaces, "}}";
 * "\{{" writes a literal "{{". Names:
 *   user          the last user message
 *   user.N        capture group N (0: the whole match) of the rule's match.user regex
 *   system.N      the same for match.system
 *   model         the requested model
 *   tool_result   the text of the last message when it is a tool result
 *   tool_name     the tool that result is for
 * Placeholders are checked when the scenario loads; a value that is missing
 * at request time renders as "".
 */
#ifndef SW_MOCK_TMPL_H
#define SW_MOCK_TMPL_H

#include <jansson.h>

#include "base/util.h"

typedef struct sw_mock_vars {
    const char *user, *model, *tool_result, *tool_name;
    char **user_caps, **system_caps; /* NULL when the rule has no such regex */
} sw_mock_vars;

/* groups: the capture groups of the rule's regex, or -1 when it has none. */
int sw_mock_tmpl_check(const char *text, long user_groups, long system_groups, sw_err *err);
/* Every string (not keys) in j. */
int sw_mock_tmpl_check_json(const json_t *j, long user_groups, long system_groups, sw_err *err);

void sw_mock_tmpl_render(const char *text, const sw_mock_vars *v, sw_buf *out);
char *sw_mock_tmpl_string(const char *text, const sw_mock_vars *v);
/* A deep copy of j with every string rendered. New reference. */
json_t *sw_mock_tmpl_json(const json_t *j, const sw_mock_vars *v);

#endif
