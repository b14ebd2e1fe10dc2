/*
 * state.h - the router's state file: every route and every live pin.
 *
 * The file is replaced atomically (sw_write_file_atomic), so a crash leaves
 * the previous state or the new one. Writes happen on a thread of their own
 * so the event loop never waits for a disk, except when the admin API must
 * answer only once a route change is durable (sw_state_save_wait).
 *
 * The loop hands over the routes (a few agents: the whole table each time)
 * and the pins' changes since its last save (sw_pins_take_changes); the
 * writer replays those into a copy of the pin table of its own and writes
 * the file from that copy. So a save costs the loop what changed, not every
 * pin: a million pins take about a second to write out, and the writer, not
 * the loop, spends it. Saves handed over while the writer is busy are
 * merged (changes replayed in order, the newest routes). The copy costs
 * about as much memory as the table itself (some 300 bytes a pin).
 *
 * Format: {"format": 1, "saved_at": ISO-8601, "routes": {agent: route},
 *          "pins": [pin, ...]}
 */
#ifndef SW_ROUTER_STATE_H
#define SW_ROUTER_STATE_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "base/util.h"
#include "pins.h"

#define SW_STATE_FORMAT 1

typedef struct sw_state_writer {
    char *path;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* handed over, not yet written */
    int pending;
    char *routes;   /* the newest routes, JSON text (NULL: unchanged) */
    sw_buf changes; /* pin changes, oldest first */
    uint64_t pending_seq;
    uint64_t written_seq;
    uint64_t next_seq;
    /* the writer thread's own */
    sw_pin_rows rows;
    char *routes_saved; /* the routes of the last snapshot */
    int stop;
    int started;
    char last_error[SW_ERR_MAX]; /* "" when the last write succeeded */
} sw_state_writer;

/* Read the state file: a new reference, or NULL with *missing = 1 when there is no
   file yet, or NULL with err when it cannot be read or is not a state file. */
json_t *sw_state_load(const char *path, int *missing, sw_err *err);

int sw_state_writer_start(sw_state_writer *w, const char *path, sw_err *err);
/* Hand over a save: takes routes (NULL: as last saved) and the content of *pin_changes
   (left empty). Returns its sequence number. */
uint64_t sw_state_save(sw_state_writer *w, char *routes, sw_buf *pin_changes);
/* The same, and wait until it (or a newer one) is on disk. -1 with err on failure. */
int sw_state_save_wait(sw_state_writer *w, char *routes, sw_buf *pin_changes, sw_err *err);
/* Write what is pending and stop the thread. */
void sw_state_writer_stop(sw_state_writer *w);

#endif
