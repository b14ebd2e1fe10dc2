/*
 * diag.h - compiler-style diagnostics: "file:line:col: error: message".
 *
 * A sw_diags collects every problem found in one pass (a check reports all
 * errors, not the first). The public accessors are declared in slipway.h.
 */
#ifndef SW_BASE_DIAG_H
#define SW_BASE_DIAG_H

#include "slipway/slipway.h"
#include "util.h"

/* A place in a file. line and col are 1-based; 0 means unknown. file is borrowed. */
typedef struct sw_pos {
    const char *file;
    int line;
    int col;
} sw_pos;

void sw_diag_error(sw_diags *d, sw_pos pos, const char *fmt, ...) SW_PRINTF(3, 4);
void sw_diag_warning(sw_diags *d, sw_pos pos, const char *fmt, ...) SW_PRINTF(3, 4);
void sw_diag_note(sw_diags *d, sw_pos pos, const char *fmt, ...) SW_PRINTF(3, 4);
/* An sw_err as an error at pos. */
void sw_diag_from_err(sw_diags *d, sw_pos pos, const sw_err *err);

#endif
