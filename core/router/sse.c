/* sse.c - event framing for text/event-stream. */
#include "sse.h"

#include <string.h>

/* The end of the first event in p[from..n): the index just after its blank line, or 0. */
static size_t event_end(const char *p, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

int sw_sse_feed(sw_sse *s, const char *data, size_t n, sw_sse_event_fn on_event, void *ud)
{
    sw_buf_append(&s->pending, data, n);
    size_t start = 0;
    for (;;) {
        size_t from = s->scanned > start ? s->scanned : start;
        size_t end = event_end(s->pending.data, s->pending.len, from);
        if (!end) {
            /* An event end needs at most 3 bytes; rescan those next time. */
            s->scanned = s->pending.len > 2 ? s->pending.len - 2 : 0;
            break;
        }
        on_event(ud, s->pending.data + start, end - start);
        start = end;
        s->scanned = end;
    }
    if (start) {
        memmove(s->pending.data, s->pending.data + start, s->pending.len - start);
        s->pending.len -= start;
        s->pending.data[s->pending.len] = '\0';
        s->scanned = s->scanned > start ? s->scanned - start : 0;
    }
    if (s->max_event && s->pending.len > s->max_event) {
        s->pending.len = 0;
        s->scanned = 0;
        return -1;
    }
    return 0;
}

size_t sw_sse_pending(const sw_sse *s)
{
    return s->pending.len;
}

void sw_sse_free(sw_sse *s)
{
    sw_buf_free(&s->pending);
    s->scanned = 0;
}

/* The next line of ev at *at (without its "\n" or "\r\n"): 1 and the line, or 0 at the end. */
static int next_line(const char *ev, size_t len, size_t *at, const char **line, size_t *l)
{
    if (*at >= len)
        return 0;
    size_t i = *at, j = i;
    while (j < len && ev[j] != '\n')
        j++;
    *line = ev + i;
    *l = j - i;
    if (*l > 0 && ev[i + *l - 1] == '\r')
        (*l)--;
    *at = j + 1;
    return 1;
}

/* The value of a "field:" line (one space after the colon dropped), or NULL. */
static const char *field_value(const char *line, size_t l, const char *field, size_t *vl)
{
    size_t fl = strlen(field);
    if (l <= fl || memcmp(line, field, fl) != 0 || line[fl] != ':')
        return NULL;
    size_t off = fl + 1;
    if (off < l && line[off] == ' ')
        off++;
    *vl = l - off;
    return line + off;
}

int sw_sse_data(const char *ev, size_t len, sw_buf *out)
{
    out->len = 0;
    if (out->data)
        out->data[0] = '\0';
    int found = 0;
    size_t at = 0, l, vl;
    const char *line, *v;
    while (next_line(ev, len, &at, &line, &l)) {
        if (!(v = field_value(line, l, "data", &vl)))
            continue;
        if (found)
            sw_buf_append(out, "\n", 1);
        sw_buf_append(out, v, vl);
        if (!out->data)
            sw_buf_append(out, "", 0);
        found = 1;
    }
    return found ? 0 : -1;
}

int sw_sse_event_name(const char *ev, size_t len, char *out, size_t outsize)
{
    size_t at = 0, l, vl;
    const char *line, *v;
    while (next_line(ev, len, &at, &line, &l)) {
        if (!(v = field_value(line, l, "event", &vl)))
            continue;
        size_t n = vl < outsize - 1 ? vl : outsize - 1;
        memcpy(out, v, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}
