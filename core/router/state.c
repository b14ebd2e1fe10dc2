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

static void *writer_main(void *arg)
{
    sw_state_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending && w->stop)
            break;
        char *text = w->pending;
        uint64_t seq = w->pending_seq;
        w->pending = NULL;
        pthread_mutex_unlock(&w->mu);
        sw_err err = {{0}};
        int rc = sw_write_file_atomic(w->path, text, strlen(text), &err);
        free(text);
        pthread_mutex_lock(&w->mu);
        if (rc == 0) {
            w->last_error[0] = '\0';
            if (seq > w->written_seq)
                w->written_seq = seq;
        } else {
            snprintf(w->last_error, sizeof w->last_error, "%s", err.msg);
            /* Waiters learn of the failure through last_error and give up. */
            if (seq > w->written_seq)
                w->written_seq = seq;
        }
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sw_state_writer_start(sw_state_writer *w, const char *path, sw_err *err)
{
    memset(w, 0, sizeof *w);
    w->path = sw_xstrdup(path);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        errno = rc;
        free(w->path);
        w->path = NULL;
        return sw_err_errno(err, "state writer thread");
    }
    w->started = 1;
    return 0;
}

uint64_t sw_state_save(sw_state_writer *w, char *text)
{
    pthread_mutex_lock(&w->mu);
    free(w->pending); /* superseded: the newer snapshot has everything */
    w->pending = text;
    w->pending_seq = ++w->next_seq;
    uint64_t seq = w->pending_seq;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return seq;
}

int sw_state_save_wait(sw_state_writer *w, char *text, sw_err *err)
{
    uint64_t seq = sw_state_save(w, text);
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
    free(w->pending);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->path);
    w->started = 0;
}
