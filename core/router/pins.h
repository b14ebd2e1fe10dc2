/*
 * pins.h - which version each live session is pinned to, and why.
 *
 * A pin lives until its session has been idle longer than the agent's TTL.
 * A pin whose version was rolled back with the `terminate` policy stays, so
 * the session keeps getting a clear 409 until it goes idle, instead of
 * silently continuing on another version.
 *
 * The table runs on the event loop and may hold a million pins, so nothing
 * done there periodically walks them all: each agent's pins are kept in the
 * order they were last used (an idle sweep stops at the first pin still in
 * use) with running counts per version (summaries for /metrics and the
 * monitor's stats), and persistence goes by changes (sw_pins_track): the
 * state writer replays them into a copy of its own (sw_pin_rows) and writes
 * that, off the loop.
 *
 * The table owns its pins; pointers returned stay valid until the pin is
 * replaced or removed. Used by the router's event loop thread only; a
 * sw_pin_rows by the state writer's only.
 */
#ifndef SW_ROUTER_PINS_H
#define SW_ROUTER_PINS_H

#include <jansson.h>
#include <stdint.h>

#include "base/util.h"
#include "hmap.h"
#include "route.h"

typedef struct sw_pin_group sw_pin_group;

typedef struct sw_pin {
    const char *agent; /* shared by the agent's pins */
    char *session;
    char *version;
    sw_reason reason;
    int terminated;     /* rolled back with `terminate`: the session must start over */
    int64_t created_ms; /* wall clock, ms since the epoch */
    int64_t last_ms;
    /* the table's own */
    int64_t logged_ms;            /* last_ms as last written to the change log */
    struct sw_pin *older, *newer; /* the agent's pins, least recently used first */
    sw_pin_group *group;
} sw_pin;

typedef struct sw_pins {
    sw_hmap map;    /* "agent\x1fsession" -> sw_pin* */
    sw_hmap groups; /* agent -> its pins in order of use, and counts by version */
    size_t max;     /* 0: no cap */
    int tracking;   /* changes go to `changes` (sw_pins_track) */
    int64_t touch_ms;
    sw_buf changes;
} sw_pins;

void sw_pins_init(sw_pins *p, size_t max);
void sw_pins_free(sw_pins *p);
size_t sw_pins_count(const sw_pins *p);

sw_pin *sw_pins_get(sw_pins *p, const char *agent, const char *session);
/* Pin a session (replacing any pin it had). NULL when the table is full. */
sw_pin *sw_pins_set(sw_pins *p, const char *agent, const char *session, const char *version,
                    sw_reason reason, int64_t now_ms);
void sw_pins_del(sw_pins *p, const char *agent, const char *session);
/* Mark the pin used. Logged as a change at most every touch_ms (sw_pins_track) per pin: a
   restarted router needs last_ms only to within that much to expire the pin in time. */
void sw_pins_touch(sw_pins *p, sw_pin *pin, int64_t now_ms);

/* Remove pins idle for longer than their agent's TTL (ttl_ms(agent), asked once per agent;
   <= 0: never). Returns how many were removed. Costs the pins removed, not the pins kept:
   each agent's sweep stops at its first pin still in use, so a wall clock stepped back
   delays expiry (never hastens it). */
size_t sw_pins_expire(sw_pins *p, int64_t now_ms, int64_t (*ttl_ms)(void *ud, const char *agent),
                      void *ud);

/* Apply a session policy to the pins of `agent` on `version`: migrate moves
   them to `to` (reason migrate), terminate marks them, drain does nothing.
   Returns how many pins were affected (walks the agent's pins). */
size_t sw_pins_apply(sw_pins *p, const char *agent, const char *version, sw_policy policy,
                     const char *to);
/* {"total", "by_version": {"v1": 10, ...}, "terminated"} for one agent, from running
   counts (terminated pins count in total only). */
json_t *sw_pins_summary(const sw_pins *p, const char *agent);
/* Up to `limit` pins of an agent (NULL: of every agent) as JSON objects, most recently
   used first (0: all). */
json_t *sw_pins_list(const sw_pins *p, const char *agent, size_t limit);

/* Persistence: an array of {"agent", "session", "version", "reason", "terminated",
   "created_ms", "last_ms"}. */
json_t *sw_pins_to_json(const sw_pins *p);
/* The same array as JSON text appended to out, written directly (jansson takes several
   times longer to build and print many small objects), each agent's pins oldest first. */
void sw_pins_dump(const sw_pins *p, sw_buf *out);
/* Add the pins of such an array (in order of last use, whatever the array's order); err
   names the first bad one. */
int sw_pins_load_json(sw_pins *p, const json_t *arr, sw_err *err);

/* From now on, log every change (set, removal, policy, expiry, and a use at most every
   touch_ms per pin) for a sw_pin_rows kept elsewhere. Pins already in the table are not
   logged: track before loading. */
void sw_pins_track(sw_pins *p, int64_t touch_ms);
int sw_pins_changed(const sw_pins *p);
/* The changes logged so far (the caller's to free), forgotten here. The log's format is
   private to this file and sw_pin_rows. */
sw_buf sw_pins_take_changes(sw_pins *p);

/* A copy of a pin table as the persisted rows, kept by replaying its change log. */
typedef struct sw_pin_rows {
    sw_hmap map; /* pin key -> its JSON text */
} sw_pin_rows;

void sw_pin_rows_init(sw_pin_rows *rows);
void sw_pin_rows_free(sw_pin_rows *rows);
/* Replay a change log from sw_pins_take_changes. -1 with err if it is cut or not one. */
int sw_pin_rows_apply(sw_pin_rows *rows, const char *log, size_t len, sw_err *err);
size_t sw_pin_rows_count(const sw_pin_rows *rows);
/* The rows as a JSON array, as sw_pins_dump writes it (in no particular order). */
void sw_pin_rows_dump(const sw_pin_rows *rows, sw_buf *out);

#endif
