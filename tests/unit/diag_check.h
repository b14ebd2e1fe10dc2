/*
 * diag_check.h - what the unit tests ask of a diagnostics list: does some
 * diagnostic say this, there; and print them all when a check fails.
 */
#ifndef SW_TEST_DIAG_CHECK_H
#define SW_TEST_DIAG_CHECK_H

#include <stdio.h>
#include <string.h>

#include "slipway/slipway.h"

/* Some diagnostic contains `text` at line:col (0 for either: any). */
static inline int has_diag(const sw_diags *d, const char *text, int line, int col)
{
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        const sw_diagnostic *g = sw_diags_at(d, i);
        if (strstr(g->message, text) && (!line || g->line == line) && (!col || g->col == col))
            return 1;
    }
    return 0;
}

static inline void dump(const sw_diags *d)
{
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *s = sw_diags_format(d, i);
        fprintf(stderr, "  %s\n", s);
        sw_free(s);
    }
}

#endif
