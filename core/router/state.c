/* state.c - loading and writing the state file off the event loop. */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

json_t *sw_state_load(const char *path, int *missing, sw_err *err)
{
    *missing = 0;
    if (!sw_file_exists(path)) {
        *missing = 1;
        return NULL;
    }
    size_t len = 0;
    char *text = sw_read_file(path, 0, &len, err);
    if (!text)
        return NULL;
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    free(text);
    if (!j) {
        sw_err_set(err, "%s:%d:%d: not JSON: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j) || json_integer_value(json_object_get(j, "format")) != SW_STATE_FORMAT) {
        sw_err_set(err, "%s: not a router state file of format %d", path, SW_STATE_FORMAT);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Replays the changes into the writer's copy of the pins and writes the file from it. */
static int write_snapshot(sw_state_writer *w, char *routes, sw_buf *changes, sw_err *err)
{
    int rc = sw_pin_rows_apply(&w->rows, changes->data, changes->len, err);
    sw_buf_free(changes);
    if (routes) {
        free(w->routes_saved);
        w->routes_saved = routes;
    }
    if (rc < 0)
        return -1;
    char now[32];
    sw_iso8601_now(now);
    sw_buf b = {0};
    sw_buf_printf(&b, "{\"format\":%d,\"saved_at\":\"%s\",\"routes\":", SW_STATE_FORMAT, now);
    sw_buf_puts(&b, w->routes_saved ? w->routes_saved : "{}");
    sw_buf_puts(&b, ",\"pins\":");
    sw_pin_rows_dump(&w->rows, &b);
    sw_buf_puts(&b, "}\n");
    rc = sw_write_file_atomic(w->path, b.data, b.len, err);
    sw_buf_free(&b);
    return rc;
}

static void *writer_main(void *arg)
{
    sw_state_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending && w->stop)
            break;
        char *routes = w->routes;
        sw_buf changes = w->changes;
        uint64_t seq = w->pending_seq;
        w->routes = NULL;
        memset(&w->changes, 0, sizeof w->changes);
        w->pending = 0;
        pthread_mutex_unlock(&w->mu);
        sw_err err = {{0}};
        int rc = write_snapshot(w, routes, &changes, &err);
        pthread_mutex_lock(&w->mu);
        if (rc == 0)
            w->last_error[0] = '\0';
        else
            /* Waiters learn of the failure through last_error and give up; the changes are
               in the copy, so the next write has them. */
            snprintf(w->last_error, sizeof w->last_error, "%s", err.msg);
        if (seq > w->written_seq)
            w->written_seq = seq;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sw_state_writer_start(sw_state_writer *w, const char *path, sw_err *err)
{
    memset(w, 0, sizeof *w);
    w->path = sw_xstrdup(path);
    sw_pin_rows_init(&w->rows);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        errno = rc;
        free(w->path);
        w->path = NULL;
        sw_pin_rows_free(&w->rows);
        return sw_err_errno(err, "state writer thread");
    }
    w->started = 1;
    return 0;
}

uint64_t sw_state_save(sw_state_writer *w, char *routes, sw_buf *pin_changes)
{
    pthread_mutex_lock(&w->mu);
    if (routes) {
        free(w->routes); /* superseded: the newer routes have everything */
        w->routes = routes;
    }
    if (pin_changes && pin_changes->len && !w->changes.data) {
        w->changes = *pin_changes; /* the usual case: no copy */
        memset(pin_changes, 0, sizeof *pin_changes);
    } else if (pin_changes) {
        sw_buf_append(&w->changes, pin_changes->data, pin_changes->len);
        sw_buf_free(pin_changes);
    }
    w->pending = 1;
    w->pending_seq = ++w->next_seq;
    uint64_t seq = w->pending_seq;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return seq;
}

int sw_state_save_wait(sw_state_writer *w, char *routes, sw_buf *pin_changes, sw_err *err)
{
    uint64_t seq = sw_state_save(w, routes, pin_changes);
    pthread_mutex_lock(&w->mu);
    while (w->written_seq < seq)
        pthread_cond_wait(&w->cv, &w->mu);
    int rc = 0;
    if (w->last_error[0])
        rc = sw_err_set(err, "cannot save the router state: %s", w->last_error);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void sw_state_writer_stop(sw_state_writer *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    free(w->routes);
    sw_buf_free(&w->changes);
    free(w->routes_saved);
    sw_pin_rows_free(&w->rows);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->path);
    w->started = 0;
}
