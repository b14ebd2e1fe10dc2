/* diag.c - collecting and formatting compiler-style diagnostics. */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

typedef struct diag_item {
    sw_diagnostic pub;
    char *file;
    char *message;
} diag_item;

struct sw_diags {
    diag_item *items;
    size_t n, cap, errors;
};

sw_diags *sw_diags_new(void)
{
    return sw_xcalloc(1, sizeof(sw_diags));
}

void sw_diags_free(sw_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].message);
    }
    free(d->items);
    free(d);
}

size_t sw_diags_count(const sw_diags *d)
{
    return d ? d->n : 0;
}

size_t sw_diags_errors(const sw_diags *d)
{
    return d ? d->errors : 0;
}

const sw_diagnostic *sw_diags_at(const sw_diags *d, size_t i)
{
    return d && i < d->n ? &d->items[i].pub : NULL;
}

char *sw_diags_format(const sw_diags *d, size_t i)
{
    const sw_diagnostic *g = sw_diags_at(d, i);
    if (!g)
        return NULL;
    static const char *const names[] = {"error", "warning", "note"};
    sw_buf b = {0};
    if (g->file) {
        sw_buf_puts(&b, g->file);
        if (g->line > 0) {
            sw_buf_printf(&b, ":%d", g->line);
            if (g->col > 0)
                sw_buf_printf(&b, ":%d", g->col);
        }
        sw_buf_puts(&b, ": ");
    }
    sw_buf_printf(&b, "%s: %s", names[g->severity], g->message);
    return sw_buf_steal(&b);
}

static void add(sw_diags *d, sw_severity sev, sw_pos pos, const char *fmt, va_list ap)
    SW_PRINTF(4, 0);
static void add(sw_diags *d, sw_severity sev, sw_pos pos, const char *fmt, va_list ap)
{
    if (!d)
        return;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = sw_xrealloc(d->items, d->cap * sizeof *d->items);
    }
    diag_item *it = &d->items[d->n++];
    it->file = sw_xstrdup(pos.file);
    it->message = sw_xvasprintf(fmt, ap);
    it->pub = (sw_diagnostic){.file = it->file,
                              .line = pos.line,
                              .col = pos.col,
                              .severity = sev,
                              .message = it->message};
    if (sev == SW_SEVERITY_ERROR)
        d->errors++;
}

void sw_diag_error(sw_diags *d, sw_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, SW_SEVERITY_ERROR, pos, fmt, ap);
    va_end(ap);
}

void sw_diag_warning(sw_diags *d, sw_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, SW_SEVERITY_WARNING, pos, fmt, ap);
    va_end(ap);
}

void sw_diag_note(sw_diags *d, sw_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, SW_SEVERITY_NOTE, pos, fmt, ap);
    va_end(ap);
}

void sw_diag_from_err(sw_diags *d, sw_pos pos, const sw_err *err)
{
    sw_diag_error(d, pos, "%s", err->msg);
}
