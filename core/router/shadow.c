/* shadow.c - the shadow worker: a bounded queue, and its own HTTP clients (sw_up and libcurl). */
#include "shadow.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

void sw_pair_side_free(sw_pair_side *side)
{
    free(side->error);
    side->error = NULL;
    sw_buf_free(&side->text);
    json_decref(side->tools);
    side->tools = NULL;
    sw_buf_free(&side->raw);
}

void sw_shadow_job_free(sw_shadow_job *job)
{
    if (!job)
        return;
    free(job->agent);
    free(job->session);
    free(job->primary_version);
    free(job->shadow_version);
    sw_pair_side_free(&job->primary);
    json_decref(job->record);
    free(job->url);
    free(job->auth);
    free(job->body);
    json_decref(job->manifest);
    free(job->request); /* only a job abandoned at sw_shadow_stop still has it */
    sw_buf_free(&job->response);
    curl_slist_free_all(job->headers);
    free(job->up_hdrs);
    free(job);
}

/* The header lines of every copy (curl's slist takes them one by one, sw_up as a block). */
#define HDR_CTYPE  "Content-Type: application/json"
#define HDR_SHADOW "x-slipway-shadow: 1"
#define UP_HDRS    HDR_CTYPE "\r\n" HDR_SHADOW "\r\n"

/* The only kind in the worker's epoll set: every event there is an sw_up connection's. */
#define TAG_UP 1

/* Answer bytes, either client's: len when kept, 0 (abort the transfer) over the cap. */
static size_t keep_bytes(sw_shadow_job *job, const char *p, size_t len)
{
    if (job->response.len + len > job->cap) {
        job->too_big = 1;
        return 0;
    }
    sw_buf_append(&job->response, p, len);
    return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    return keep_bytes(ud, p, size * n);
}

/* A transfer ended, whichever client made it (job->curl_code and job->status are set): what
   it took, its error text, and the job onto the turn's finished list. */
static void transfer_end(sw_shadow *s, sw_shadow_job *job)
{
    job->latency_ms = sw_now_ms() - job->t_start;
    if (job->curl_code != CURLE_OK && !job->error[0])
        snprintf(job->error, sizeof job->error, "%s", curl_easy_strerror((CURLcode)job->curl_code));
    free(job->request);
    job->request = NULL;
    sw_shadow_job **pp = &s->running;
    while (*pp && *pp != job)
        pp = &(*pp)->running_next;
    if (*pp)
        *pp = job->running_next;
    job->next = s->fin;
    s->fin = job;
}

static void up_head(void *ud, int status, const char *ctype)
{
    (void)ctype;
    sw_shadow_job *job = ud;
    job->status = status;
}

static size_t up_body(void *ud, const char *p, size_t n)
{
    return keep_bytes(ud, p, n);
}

static void up_done(void *ud, sw_up_result res, const char *msg)
{
    sw_shadow_job *job = ud;
    job->upc = NULL;
    job->curl_code = sw_up_curl_code(res); /* a pair reads the same from either client */
    if (msg)
        snprintf(job->error, sizeof job->error, "%s", msg);
    free(job->up_hdrs);
    job->up_hdrs = NULL;
    transfer_end(job->shadow, job);
}

static const sw_up_fns up_fns = {up_head, up_body, up_done};

/* Idle easy handles of the worker, kept like the loop's: creating one per copy cost
   more CPU than the copy's transfer (every option is set again for each job). */
static void easy_release(sw_shadow *s, CURL *e)
{
    if (s->n_idle < SW_SHADOW_IDLE_MAX)
        s->idle[s->n_idle++] = e;
    else
        curl_easy_cleanup(e);
}

/* -1: the copy failed before its transfer (job->error says why). */
static int start_job(sw_shadow *s, sw_shadow_job *job)
{
    job->t_start = sw_now_ms();
    if (job->prepare && job->prepare(job) < 0) {
        job->curl_code = -1;
        return -1;
    }
    job->shadow = s;
    job->cap = s->max_response;
    job->running_next = s->running;
    s->running = job;
    const char *body = job->request ? job->request : job->body;
    size_t len = job->request ? job->request_len : job->len;
    if (sw_up_handles(s->up, job->url)) {
        /* Its failures, even at once, come through up_done at the worker's next sw_up_run. */
        if (job->auth)
            job->up_hdrs = sw_xasprintf("%s%s\r\n", UP_HDRS, job->auth);
        const char *h = job->up_hdrs ? job->up_hdrs : UP_HDRS;
        job->upc = sw_up_start(s->up, job->url, h, strlen(h), body, len, &up_fns, job);
        return 0;
    }
    CURL *e = s->n_idle ? s->idle[--s->n_idle] : curl_easy_init();
    job->easy = e;
    job->headers = curl_slist_append(NULL, HDR_CTYPE);
    job->headers = curl_slist_append(job->headers, HDR_SHADOW);
    job->headers = curl_slist_append(job->headers, "Expect:");
    if (job->auth)
        job->headers = curl_slist_append(job->headers, job->auth);
    curl_easy_setopt(e, CURLOPT_URL, job->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
    curl_easy_setopt(e, CURLOPT_PRIVATE, job);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_multi_add_handle(s->multi, e);
    return 0;
}

/* The sw_up connections' events since the last turn, and its deferred work and deadlines.
   Returns ms until sw_up wants to run again (-1: no deadline). */
static double up_turn(sw_shadow *s)
{
    struct epoll_event evs[64];
    sw_up_reap(s->up); /* no event of the last batch is looked at any more */
    int n = epoll_wait(s->epfd, evs, 64, 0);
    for (int i = 0; i < n; i++)
        sw_up_event(s->up, evs[i].data.ptr, evs[i].events);
    return sw_up_run(s->up, sw_now_ms());
}

static void notify(sw_shadow *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->notify_fd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already non-zero, the loop will look */
}

static void *worker(void *arg)
{
    sw_shadow *s = arg;
    /* Shadow copies are worth less than the primary requests sharing the CPU with them:
       on a busy machine the worker yields (its queue fills and copies are dropped,
       counted) rather than taking time from the event loop. Linux applies a nice value
       to the calling thread only. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) < 0)
        errno = 0; /* not allowed: same priority as the loop, still correct */
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        json_t *trash[SW_SHADOW_TRASH_MAX];
        size_t n_trash = s->n_trash;
        memcpy(trash, s->trash, n_trash * sizeof *trash);
        s->n_trash = 0;
        /* Pairs whose primary came in after the shadow's answer. */
        sw_shadow_job *both = s->ready, *both_tail = s->ready_tail;
        s->ready = s->ready_tail = NULL;
        sw_shadow_job *starting = NULL, **starting_tail = &starting;
        while (s->queue && s->inflight < s->concurrency) {
            sw_shadow_job *job = s->queue;
            s->queue = job->next;
            if (!s->queue)
                s->queue_tail = NULL;
            job->next = NULL;
            s->queued--;
            s->inflight++;
            *starting_tail = job;
            starting_tail = &job->next;
        }
        pthread_mutex_unlock(&s->mu);
        while (n_trash)
            json_decref(trash[--n_trash]);
        /* Transfers are set up outside the lock: the loop takes it for every copy. */
        while (starting) {
            sw_shadow_job *job = starting;
            starting = job->next;
            job->next = NULL;
            if (start_job(s, job) < 0) {
                job->next = s->fin;
                s->fin = job;
            }
        }
        int running = 0;
        curl_multi_perform(s->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(s->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            sw_shadow_job *job = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
            job->curl_code = (int)msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &job->status);
            curl_multi_remove_handle(s->multi, msg->easy_handle);
            easy_release(s, msg->easy_handle);
            job->easy = NULL;
            curl_slist_free_all(job->headers);
            job->headers = NULL;
            transfer_end(s, job);
        }
        double up_wait = up_turn(s);
        sw_shadow_job *fin = s->fin;
        s->fin = NULL;
        if (fin) {
            /* One lock for every transfer this round finished (the loop takes the same lock). */
            pthread_mutex_lock(&s->mu);
            while (fin) {
                sw_shadow_job *job = fin;
                fin = job->next;
                job->next = NULL;
                s->inflight--;
                job->shadow_done = 1;
                if (job->have_primary) {
                    if (both_tail)
                        both_tail->next = job;
                    else
                        both = job;
                    both_tail = job;
                } else {
                    job->wait_prev = NULL;
                    job->wait_next = s->waiting;
                    if (s->waiting)
                        s->waiting->wait_prev = job;
                    s->waiting = job;
                }
            }
            pthread_mutex_unlock(&s->mu);
        }
        if (both) {
            /* Both sides are the worker's alone now: compare here, then one lock and one
               wake-up of the loop for the whole batch. */
            for (sw_shadow_job *j = both; j; j = j->next)
                if (j->complete)
                    j->complete(j);
            pthread_mutex_lock(&s->mu);
            if (s->done_tail)
                s->done_tail->next = both;
            else
                s->done = both;
            s->done_tail = both_tail;
            pthread_mutex_unlock(&s->mu);
            notify(s);
        }
        /* Jobs queued behind full concurrency get no wake-up of their own: a finished
           transfer is their turn. */
        pthread_mutex_lock(&s->mu);
        int more = (s->queue && s->inflight < s->concurrency) || s->ready;
        pthread_mutex_unlock(&s->mu);
        double ms = more ? 0 : 1000;
        if (up_wait >= 0 && up_wait < ms)
            ms = up_wait;
        struct curl_waitfd up_fd = {.fd = s->epfd, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(s->multi, &up_fd, 1, (int)ceil(ms), NULL);
    }
    while (s->n_idle)
        curl_easy_cleanup(s->idle[--s->n_idle]);
    return NULL;
}

int sw_shadow_start(sw_shadow *s, size_t queue_cap, size_t concurrency, long timeout_ms,
                    long connect_timeout_ms, size_t max_response, int notify_fd, sw_err *err)
{
    memset(s, 0, sizeof *s);
    s->cap = queue_cap;
    s->concurrency = concurrency ? concurrency : 1;
    s->timeout_ms = timeout_ms;
    s->connect_timeout_ms = connect_timeout_ms;
    s->max_response = max_response;
    s->notify_fd = notify_fd;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        return sw_err_errno(err, "shadow: epoll_create1");
    s->multi = curl_multi_init();
    if (!s->multi) {
        close(s->epfd);
        return sw_err_set(err, "shadow: cannot create a libcurl multi handle");
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->concurrency);
    s->up = sw_up_new(s->epfd, TAG_UP, connect_timeout_ms, timeout_ms);
    pthread_mutex_init(&s->mu, NULL);
    int rc = pthread_create(&s->thread, NULL, worker, s);
    if (rc != 0) {
        errno = rc;
        sw_up_free(s->up);
        curl_multi_cleanup(s->multi);
        close(s->epfd);
        pthread_mutex_destroy(&s->mu);
        return sw_err_errno(err, "shadow worker thread");
    }
    s->started = 1;
    return 0;
}

int sw_shadow_submit(sw_shadow *s, sw_shadow_job *job)
{
    if (!s->started)
        return -1;
    pthread_mutex_lock(&s->mu);
    if (s->queued >= s->cap && !(s->inflight < s->concurrency && s->queued == 0)) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    job->next = NULL;
    /* The worker takes the whole queue each time it wakes, and looks at it again after
       every finished transfer: only a job arriving at an empty queue needs to wake it
       (a system call per copy otherwise). */
    int was_empty = s->queue == NULL;
    if (s->queue_tail)
        s->queue_tail->next = job;
    else
        s->queue = job;
    s->queue_tail = job;
    s->queued++;
    pthread_mutex_unlock(&s->mu);
    if (was_empty)
        curl_multi_wakeup(s->multi);
    return 0;
}

void sw_shadow_primary(sw_shadow *s, sw_shadow_job *job)
{
    job->handoff_next = s->handoff;
    s->handoff = job;
}

void sw_shadow_dispose(sw_shadow *s, json_t *j)
{
    if (!j)
        return;
    if (!s->started || s->n_trash_out == SW_SHADOW_TRASH_MAX) {
        json_decref(j); /* the worker has not caught up: release it here, rarely */
        return;
    }
    s->trash_out[s->n_trash_out++] = j;
}

void sw_shadow_flush(sw_shadow *s)
{
    if ((!s->handoff && !s->n_trash_out) || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    size_t room = SW_SHADOW_TRASH_MAX - s->n_trash;
    size_t moving = s->n_trash_out < room ? s->n_trash_out : room;
    memcpy(s->trash + s->n_trash, s->trash_out + s->n_trash_out - moving,
           moving * sizeof *s->trash);
    s->n_trash += moving;
    s->n_trash_out -= moving;
    int was_empty = s->ready == NULL, moved = 0;
    for (sw_shadow_job *job = s->handoff; job; job = job->handoff_next) {
        job->have_primary = 1;
        if (!job->shadow_done)
            continue; /* the transfer's end completes the pair */
        if (job->wait_prev)
            job->wait_prev->wait_next = job->wait_next;
        else
            s->waiting = job->wait_next;
        if (job->wait_next)
            job->wait_next->wait_prev = job->wait_prev;
        job->wait_prev = job->wait_next = NULL;
        job->next = NULL;
        if (s->ready_tail)
            s->ready_tail->next = job;
        else
            s->ready = job;
        s->ready_tail = job;
        moved = 1;
    }
    pthread_mutex_unlock(&s->mu);
    s->handoff = NULL;
    /* Usually the primary answers first and the transfer's end completes the pair: only pairs
       that waited on their primary cost a wake-up, one per batch. Values to release wait for
       the worker's next turn. */
    if (moved && was_empty)
        curl_multi_wakeup(s->multi);
}

sw_shadow_job *sw_shadow_take_done(sw_shadow *s)
{
    if (!s->started)
        return NULL;
    pthread_mutex_lock(&s->mu);
    sw_shadow_job *list = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    return list;
}

static void free_list(sw_shadow_job *j)
{
    while (j) {
        sw_shadow_job *next = j->next;
        sw_shadow_job_free(j);
        j = next;
    }
}

void sw_shadow_stop(sw_shadow *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
    pthread_join(s->thread, NULL);
    /* Running transfers are abandoned: sw_up_free closes its connections and makes no
       callback, so its jobs are freed here with libcurl's. */
    sw_up_free(s->up);
    s->up = NULL;
    close(s->epfd);
    s->epfd = -1;
    sw_shadow_job *job = s->running;
    while (job) {
        sw_shadow_job *next = job->running_next;
        if (job->easy) {
            curl_multi_remove_handle(s->multi, job->easy);
            curl_easy_cleanup(job->easy);
            job->easy = NULL;
        }
        sw_shadow_job_free(job);
        job = next;
    }
    s->running = NULL;
    curl_multi_cleanup(s->multi);
    free_list(s->queue);
    free_list(s->done);
    free_list(s->ready);
    job = s->waiting;
    while (job) {
        sw_shadow_job *next = job->wait_next;
        sw_shadow_job_free(job);
        job = next;
    }
    while (s->n_trash)
        json_decref(s->trash[--s->n_trash]);
    while (s->n_trash_out)
        json_decref(s->trash_out[--s->n_trash_out]);
    s->queue = s->done = s->ready = s->waiting = s->handoff = NULL;
    pthread_mutex_destroy(&s->mu);
    s->started = 0;
}
