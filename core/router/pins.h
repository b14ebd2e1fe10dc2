/*
 * pins.h - which version each live session is pinned to, and why.
 *
 * A pin lives until its session has been idle longer than the agent's TTL.
 * A pin whose version was rolled back with the `terminate` policy stays, so
 * the session keeps getting a clear 409 until it goes idle, instead of
 * silently continuing on another version.
 * The table owns its pins; pointers returned stay valid until the pin is
 * replaced or removed. Used by the router's event loop thread only.
 */
#ifndef SW_ROUTER_PINS_H
#define SW_ROUTER_PINS_H

#include <jansson.h>
#include <stdint.h>

#include "hmap.h"
#include "route.h"

typedef struct sw_pin {
    char *agent;
    char *session;
    char *version;
    sw_reason reason;
    int terminated;     /* rolled back with `terminate`: the session must start over */
    int64_t created_ms; /* wall clock, ms since the epoch */
    int64_t last_ms;
} sw_pin;

typedef struct sw_pins {
    sw_hmap map;
    size_t max;     /* 0: no cap */
    uint64_t dirty; /* bumped on every change; the state writer compares it */
} sw_pins;

void sw_pins_init(sw_pins *p, size_t max);
void sw_pins_free(sw_pins *p);
size_t sw_pins_count(const sw_pins *p);

sw_pin *sw_pins_get(sw_pins *p, const char *agent, const char *session);
/* Pin a session (replacing any pin it had). NULL when the table is full. */
sw_pin *sw_pins_set(sw_pins *p, const char *agent, const char *session, const char *version,
                    sw_reason reason, int64_t now_ms);
void sw_pins_del(sw_pins *p, const char *agent, const char *session);
/* Mark the pin used (not counted as a change for persistence: last_ms is
   saved whenever anything else is). */
void sw_pins_touch(sw_pins *p, sw_pin *pin, int64_t now_ms);

/* Remove pins idle for longer than their agent's TTL (ttl_ms(agent); <= 0: never).
   Returns how many were removed. */
size_t sw_pins_expire(sw_pins *p, int64_t now_ms, int64_t (*ttl_ms)(void *ud, const char *agent),
                      void *ud);

/* Apply a session policy to the pins of `agent` on `version`: migrate moves
   them to `to` (reason migrate), terminate marks them, drain does nothing.
   Returns how many pins were affected. */
size_t sw_pins_apply(sw_pins *p, const char *agent, const char *version, sw_policy policy,
                     const char *to);
/* Pins of one agent per version: {"v1": 10, ...}; and the terminated count. */
json_t *sw_pins_summary(const sw_pins *p, const char *agent);
/* Up to `limit` pins of an agent as JSON objects (0: all). */
json_t *sw_pins_list(const sw_pins *p, const char *agent, size_t limit);

/* Persistence: an array of {"agent", "session", "version", "reason", "terminated",
   "created_ms", "last_ms"}. Loading skips pins idle past max_idle_ms (when > 0)
   relative to now_ms. */
json_t *sw_pins_to_json(const sw_pins *p);
/* The same array as JSON text appended to out, written directly: a save must not stall
   the event loop for the time jansson takes to build and print many small objects. */
void sw_pins_dump(const sw_pins *p, sw_buf *out);
int sw_pins_load_json(sw_pins *p, const json_t *arr, sw_err *err);

#endif
