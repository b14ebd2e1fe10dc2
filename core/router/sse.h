/*
 * sse.h - splitting a server-sent event stream into whole events.
 *
 * Bytes go in as the network delivers them; each complete event (its lines
 * and the blank line ending it) comes out unchanged, so the router forwards
 * events exactly as the upstream wrote them, one flush per event.
 */
#ifndef SW_ROUTER_SSE_H
#define SW_ROUTER_SSE_H

#include <stddef.h>

#include "base/util.h"

typedef struct sw_sse {
    sw_buf pending;   /* an event not complete yet */
    size_t scanned;   /* bytes of pending known to hold no event end */
    size_t max_event; /* the longest event held (0: no cap) */
} sw_sse;

typedef void (*sw_sse_event_fn)(void *ud, const char *event, size_t len);

/* Feed bytes; on_event is called for every event completed by them. 0, or -1 when an
   unfinished event grew past max_event (an upstream that never ends its events): the
   stream cannot go on, and what was held is dropped. */
int sw_sse_feed(sw_sse *s, const char *data, size_t n, sw_sse_event_fn on_event, void *ud);
/* Bytes held that do not make a whole event (the stream was cut, or lacked a final blank line). */
size_t sw_sse_pending(const sw_sse *s);
void sw_sse_free(sw_sse *s);

/* The event's data (its "data:" lines joined with '\n') into out (reset first).
   Returns 0 when it has data, -1 when it has none (a comment or keep-alive). */
int sw_sse_data(const char *event, size_t len, sw_buf *out);

/* The event's name (its "event:" line, without the space after the colon) into out,
   NUL-terminated, at most outsize-1 bytes. Returns 0 when it has one, -1 otherwise. */
int sw_sse_event_name(const char *event, size_t len, char *out, size_t outsize);

#endif
