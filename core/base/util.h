/*
 * util.h - memory, strings and the error value used across the core.
 *
 * Allocation failure is not recoverable in Slipway's processes: sw_xmalloc and
 * friends print a message and abort rather than making every caller handle it.
 *
 * Errors are values: a function that can fail takes an sw_err *, fills it with
 * a message on failure and returns -1 (or NULL); callers add context with
 * sw_err_prefix and pass it up. Nothing prints from the middle of the library.
 */
#ifndef SW_BASE_UTIL_H
#define SW_BASE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "slipway/plugin.h"

#define SW_ERR_MAX 1024

typedef struct sw_err {
    char msg[SW_ERR_MAX];
} sw_err;

/* Set the message (printf-style); returns -1 so `return sw_err_set(...)` reads well. */
int sw_err_set(sw_err *err, const char *fmt, ...) SW_PRINTF(2, 3);
/* Prepend context: "stage 'x': " + old message. Returns -1. */
int sw_err_prefix(sw_err *err, const char *fmt, ...) SW_PRINTF(2, 3);
/* errno text helper: sets "<what>: <strerror(errno)>". Returns -1. */
int sw_err_errno(sw_err *err, const char *fmt, ...) SW_PRINTF(2, 3);

void *sw_xmalloc(size_t n);
void *sw_xcalloc(size_t n, size_t size);
void *sw_xrealloc(void *p, size_t n);
char *sw_xstrdup(const char *s); /* NULL stays NULL */
char *sw_xstrndup(const char *s, size_t n);
char *sw_xasprintf(const char *fmt, ...) SW_PRINTF(1, 2);
char *sw_xvasprintf(const char *fmt, va_list ap) SW_PRINTF(1, 0);

/* A growable byte buffer, always NUL-terminated once anything was appended. */
typedef struct sw_buf {
    char *data;
    size_t len;
    size_t cap;
} sw_buf;

void sw_buf_append(sw_buf *b, const char *s, size_t n);
void sw_buf_puts(sw_buf *b, const char *s);
/* Decimal, without printf: for hot paths that write many numbers (the router's state). */
void sw_buf_put_i64(sw_buf *b, int64_t v);
void sw_buf_printf(sw_buf *b, const char *fmt, ...) SW_PRINTF(2, 3);
char *sw_buf_steal(sw_buf *b); /* returns the text ("" when empty), resets b */
void sw_buf_free(sw_buf *b);

/* Levenshtein distance, capped: returns max+1 once the distance exceeds max. */
size_t sw_edit_distance(const char *a, const char *b, size_t max);
/* The candidate closest to word within a distance that makes a typo plausible, or NULL. */
const char *sw_did_you_mean(const char *word, const char *const *candidates, size_t n);

/* Monotonic and wall clocks. */
double sw_now_ms(void);                       /* monotonic, milliseconds */
int64_t sw_wall_ms(void);                     /* wall clock, milliseconds since the epoch */
void sw_iso8601_now(char out[32]);            /* UTC wall clock, e.g. 2026-11-26T08:00:00.123Z */
void sw_iso8601_ms(int64_t ms, char out[32]); /* the same for ms since the epoch */

#endif
