/*
 * canon.h - canonical JSON text, so the same content gives the same bytes
 * (and so the same hash) on any machine.
 *
 * The form follows RFC 8785 (JCS): no whitespace; object members sorted by
 * their keys' UTF-16 code units; strings escaped minimally (only '"', '\\'
 * and control characters, with \b \t \n \f \r where they exist and \u00xx in
 * lowercase hex otherwise; everything else is literal UTF-8); numbers in the
 * shortest form that reads back to the same value. One deliberate departure:
 * Slipway keeps ints and doubles distinct, so an integer is written as an
 * integer and a double with an integral value keeps a ".0" (2.0, not 2);
 * exponents are written as ECMAScript does (1e+21, 1e-7).
 */
#ifndef SW_STORE_CANON_H
#define SW_STORE_CANON_H

#include <jansson.h>

#include "base/util.h"

/* The canonical text of j, malloc'd; NULL with err for invalid UTF-8 in a
   string or key, or a non-finite number. */
char *sw_canon_json(const json_t *j, sw_err *err);
/* Text for JSON handed out by the store: the canonical form (shortest doubles,
   sorted keys), or jansson's compact form when that fails. Never NULL; malloc'd. */
char *sw_json_text(const json_t *j);
/* Append the canonical text of j to b. */
int sw_canon_append(sw_buf *b, const json_t *j, sw_err *err);
/* The shortest text that reads back as d (ECMAScript style, ".0" kept on
   integral values). out needs 32 bytes. -1 for NaN and infinities. */
int sw_canon_double(double d, char out[32]);
/* Compare two UTF-8 strings by their UTF-16 code units (RFC 8785 key order). */
int sw_canon_keycmp(const char *a, const char *b);

#endif
