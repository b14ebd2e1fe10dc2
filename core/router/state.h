/*
 * state.h - the router's state file: every route and every live pin.
 *
 * The file is replaced atomically (sw_write_file_atomic), so a crash leaves
 * the previous state or the new one. Writes happen on a thread of their own
 * so the event loop never waits for a disk, except when the admin API must
 * answer only once a route change is durable (sw_state_save_wait).
 * Snapshots carry a sequence number; an older snapshot is never written over
 * a newer one.
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

#define SW_STATE_FORMAT 1

typedef struct sw_state_writer {
    char *path;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *pending; /* the newest snapshot not yet written */
    uint64_t pending_seq;
    uint64_t written_seq;
    uint64_t next_seq;
    int stop;
    int started;
    char last_error[SW_ERR_MAX]; /* "" when the last write succeeded */
} sw_state_writer;

/* Read the state file: a new reference, or NULL with *missing = 1 when there is no
   file yet, or NULL with err when it cannot be read or is not a state file. */
json_t *sw_state_load(const char *path, int *missing, sw_err *err);

int sw_state_writer_start(sw_state_writer *w, const char *path, sw_err *err);
/* Queue a snapshot (takes the text); returns its sequence number. */
uint64_t sw_state_save(sw_state_writer *w, char *text);
/* Queue a snapshot and wait until it (or a newer one) is on disk. -1 with err on failure. */
int sw_state_save_wait(sw_state_writer *w, char *text, sw_err *err);
/* Write what is pending and stop the thread. */
void sw_state_writer_stop(sw_state_writer *w);

#endif
