/*
 * schema.h - a JSON Schema subset for is-json and contains-json.
 *
 * Validation keywords understood: type (a name or a list; "integer" takes
 * integral numbers), enum, const, properties, required, additionalProperties
 * (a boolean or a schema), items (one schema), minItems, maxItems,
 * uniqueItems, minLength, maxLength (in code points), pattern (see
 * ev_js_regex), minimum, maximum, exclusiveMinimum, exclusiveMaximum
 * (numbers, as in draft 6 and later), multipleOf, allOf, anyOf, oneOf, not.
 * Annotations ($schema, $id, title, description, default, examples,
 * format, $comment) are ignored. Any other keyword ($ref, if/then/else,
 * patternProperties, ...) is refused when the schema is compiled, rather
 * than silently not checked.
 */
#ifndef EV_SCHEMA_H
#define EV_SCHEMA_H

#include <jansson.h>

#include "base/util.h"

typedef struct ev_schema ev_schema;

/* Check every keyword and compile the patterns; NULL with err. */
ev_schema *ev_schema_compile(const json_t *schema, sw_err *err);
void ev_schema_free(ev_schema *s);
/* 0 when v is valid; 1 with why ("$.items[2].sku: expected string, got integer"). */
int ev_schema_validate(const ev_schema *s, const json_t *v, sw_err *why);

#endif
