/*
 * shared.h - the route table shared by router replicas through PostgreSQL.
 *
 * With a postgres:// store, slipway.routes holds every agent's route (its JSON form, with the
 * versions the change retired in "retired", and the session policy of the change, which each
 * replica applies to its own pins). A change is one transaction that compares-and-swaps the
 * route version and ends with a NOTIFY on channel slipway_routes naming the agent
 * (store/pg_impl.h: sw_pg_route_cas, also used by `slipway route --store`). Each replica has a
 * listener thread with its own connection: it LISTENs, reads the notified route rows and hands them
 * to the event loop (sw_shared_take), which builds and publishes them the way an admin change does.
 * When the listener's connection breaks, it reconnects every 200 ms, and once back reads every
 * route again, so a replica catches up on whatever changed meanwhile; it then writes the pins
 * it kept meanwhile and registers in slipway.replicas before it counts as up, and a route
 * change after a restart of the server waits for every replica registered before it
 * (store/pg_impl.h). A clean stop deletes the replica's row.
 *
 * The loop's own connection (sw_shared_put) is used for changes only, and only while the
 * listener sees the database up: a change while it is down is refused at once.
 *
 * Pins: the loop queues every new pin, and a pin's use at most every 30 s
 * (sw_shared_pin_put); the listener writes the queue behind as soon as it is not empty, up
 * to 1000 pins a turn between its reads of route changes, its commits not waiting for the
 * disk (kept while the database is down, at most SW_SHARED_PIN_QUEUE). A session
 * the loop has no pin for is read by a third thread, the pin reader, on its own connection
 * (sw_shared_pin_ask): a read that has not answered by its deadline is given up, and the
 * reader's connection with it (made again for the next read).
 *
 * Pin rows expire: each keeps the time after which no replica that wrote it keeps the pin,
 * and about every minute ($SLIPWAY_PIN_SWEEP_MS, each wait drawn from [0.5, 1.5) of it) the
 * listener deletes the expired ones, a bounded batch per statement between its other work,
 * under an advisory lock so that one replica at a time does.
 */
#ifndef SW_ROUTER_SHARED_H
#define SW_ROUTER_SHARED_H

#include <stdint.h>

#include "base/util.h"
#include "store/pg_impl.h"

typedef struct sw_shared sw_shared;

/* A route row as read from the database (its statements: store/pg_impl.h). */
typedef sw_pg_route_row sw_shared_row;

/* Connect (the loop's connection). NULL with err when the database cannot be reached. */
sw_shared *sw_shared_open(const char *url, sw_err *err);
/* Every route row (for startup); rows is malloc'd, *n set. -1 with err. */
int sw_shared_load(sw_shared *s, sw_shared_row **rows, size_t *n, sw_err *err);
/* Insert a route unless the agent has one (startup: router.yaml's routes seed the table). */
int sw_shared_seed(sw_shared *s, const char *agent, int64_t version, const char *route,
                   sw_err *err);
/* Start the listener and pin reader threads; they write to wakefd when rows or answers
   are waiting. */
int sw_shared_start(sw_shared *s, int wakefd, sw_err *err);
/* Write a route change: 0 when committed; 1 when the stored version is not base
   (*current set); 2 when wait_replicas and a replica has not caught up since the server
   started (err says which); -1 with err when the database is unreachable (nothing
   written). */
int sw_shared_put(sw_shared *s, const char *agent, int64_t base, const char *route,
                  const char *policy, int wait_replicas, int64_t *current, sw_err *err);
/* Rows the listener read since the last call (malloc'd array, *n set; NULL when none). */
sw_shared_row *sw_shared_take(sw_shared *s, size_t *n);
void sw_shared_rows_free(sw_shared_row *rows, size_t n);
#define SW_SHARED_PIN_QUEUE 100000

typedef struct sw_shared_pin {
    char *version;
    char *reason;
    int terminated;
    int64_t created_ms, last_ms;
} sw_shared_pin;

/* Queue a pin for writing behind (the newest write of a session wins). expires_ms: the
   wall-clock time after which this replica no longer keeps the pin (0: never); the row is
   deleted once past the latest expiry of every replica that wrote it. */
void sw_shared_pin_put(sw_shared *s, const char *agent, const char *session, const char *version,
                       const char *reason, int terminated, int64_t created_ms, int64_t last_ms,
                       int64_t expires_ms);

/* A read of a session's pin by the pin reader thread (its own connection), so that the
   loop never waits on the database: asked with sw_shared_pin_ask, answered through
   sw_shared_pin_answers (the loop's wake-up descriptor is written when answers wait). */
typedef struct sw_shared_pin_answer {
    uint64_t id; /* the asker's */
    char *agent, *session;
    double deadline; /* monotonic ms: the asker waits no longer; the reader gives up then */
    int found;       /* 1: pin filled; 0: the database has none; -1: not read in time */
    int patient;     /* read again while the database has none (below) */
    sw_shared_pin pin;
} sw_shared_pin_answer;

/* Queue a read: 0, or -1 when it cannot be asked now (the database is away, or too many
   reads wait already). A patient read that finds no pin is made again every
   SW_SHARED_PIN_AGAIN_MS until it finds one or the deadline is near: for a session known to
   have made a request (an event's), whose pin another replica may not have written yet. */
#define SW_SHARED_PIN_AGAIN_MS 20
int sw_shared_pin_ask(sw_shared *s, uint64_t id, const char *agent, const char *session,
                      double deadline, int patient);
/* The answers since the last call (malloc'd array, *n set; NULL when none). */
sw_shared_pin_answer *sw_shared_pin_answers(sw_shared *s, size_t *n);
void sw_shared_pin_answers_free(sw_shared_pin_answer *a, size_t n);

/* Expired pin rows this replica's listener deleted so far. */
long long sw_shared_pins_swept(sw_shared *s);
/* Pins queued for writing behind now, those being written included; *dropped: how many the
   full queue refused so far. */
size_t sw_shared_pins_queued(sw_shared *s, size_t *dropped);
/* Whether the listener holds a working connection now (1) or not (0). */
int sw_shared_up(const sw_shared *s);
/* Why it is down (the last connection error), for the log. */
void sw_shared_last_error(sw_shared *s, char *out, size_t size);
/* Stop the listener and the pin reader and close their connections and the loop's. */
void sw_shared_close(sw_shared *s);

#endif
