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

int sw_sse_data(const char *ev, size_t len, sw_buf *out)
{
    out->len = 0;
    if (out->data)
        out->data[0] = '\0';
    int found = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && ev[j] != '\n')
            j++;
        size_t l = j - i;
        if (l > 0 && ev[i + l - 1] == '\r')
            l--;
        if (l >= 5 && memcmp(ev + i, "data:", 5) == 0) {
            size_t off = 5;
            if (off < l && ev[i + off] == ' ')
                off++;
            if (found)
                sw_buf_append(out, "\n", 1);
            sw_buf_append(out, ev + i + off, l - off);
            if (!out->data)
                sw_buf_append(out, "", 0);
            found = 1;
        }
        i = j + 1;
    }
    return found ? 0 : -1;
}
