/*
 * value.h - one typed value: null, bool, int64, double, string or JSON.
 *
 * An sw_value owns its text (as.s, for STRING and JSON); sw_value_free
 * releases it. JSON values are kept as compact JSON text of an object or an
 * array, so they cross the plugin boundary as they are.
 */
#ifndef SW_MODEL_VALUE_H
#define SW_MODEL_VALUE_H

#include <jansson.h>
#include <stdint.h>

#include "base/util.h"

typedef struct sw_value {
    sw_type type;
    union {
        int b;
        int64_t i;
        double d;
        char *s; /* STRING: UTF-8 text; JSON: compact JSON text */
    } as;
} sw_value;

#define SW_VALUE_NULL ((sw_value){.type = SW_TYPE_NULL})

sw_value sw_value_bool(int b);
sw_value sw_value_int(int64_t i);
sw_value sw_value_double(double d);
sw_value sw_value_string(const char *s);       /* copies s */
sw_value sw_value_json_text(const char *text); /* copies text; caller guarantees it is valid JSON */
void sw_value_free(sw_value *v);               /* back to null */
sw_value sw_value_copy(const sw_value *v);
int sw_value_equal(const sw_value *a, const sw_value *b); /* JSON compared structurally */

const char *sw_type_name(sw_type t);               /* "int", "double", ... */
int sw_type_parse(const char *name, sw_type *out); /* -1 when unknown */

/* JSON: INT <-> integer, DOUBLE <-> real, JSON <-> object/array. */
json_t *sw_value_to_json(const sw_value *v); /* new reference */
int sw_value_from_json(const json_t *j, sw_value *out, sw_err *err);
/* The text a value interpolates as inside a string: ints in decimal, doubles
   in the shortest form that reads back the same, bools true/false, null "",
   JSON compact. Caller frees. */
char *sw_value_to_text(const sw_value *v);

#endif
