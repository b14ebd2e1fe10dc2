/* scheduler.c - pools, rate limits, retries and back-off over one curl multi handle. */
#include "scheduler.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats/rng.h"

#define MAX_BODY       (64u * 1024u * 1024u)
#define LOGGED_RETRIES 5 /* retries logged one by one; the rest are counted */
#define MAX_POLL_MS    1000

typedef struct req req;
struct req {
    req *prev, *next;
    int pool;
    char *url;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    char key[SW_SHA256_HEX_LEN + 1];
    int64_t est_tokens;
    ev_done_fn done;
    void *ud;
    int attempts;
    double not_before;
    CURL *easy;
    sw_buf resp;
    double retry_after_ms; /* -1: none given */
    long status;
    double latency_ms;
    char *error;
    int replayed;
    int too_large;
    int silent; /* resends libcurl made by itself during this attempt */
    int budget_out;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct list {
    req *head, *tail;
    size_t n;
} list;

typedef struct pool {
    ev_pool_opts o;
    list ready, delayed, flight;
    double rps_tokens, tpm_tokens, last_refill;
    double paused_until;
    ev_pool_stats st;
} pool;

struct ev_sched {
    ev_sched_opts o;
    CURLM *multi;
    pool pools[EV_POOLS];
    list done;
    CURL **spare;
    size_t n_spare, cap_spare;
    sw_rng rng;
    int64_t budget;
    char *refuse_why;
    size_t pending;
    int logged;
};

/* ---- lists ---- */

static void push_back(list *l, req *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void push_front(list *l, req *r)
{
    r->prev = NULL;
    r->next = l->head;
    if (l->head)
        l->head->prev = r;
    else
        l->tail = r;
    l->head = r;
    l->n++;
}

static void unlink_req(list *l, req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->n--;
}

/* ---- set-up ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

ev_sched *ev_sched_new(const ev_sched_opts *opts, sw_err *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        sw_err_set(err, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    ev_sched *s = sw_xcalloc(1, sizeof *s);
    s->o = *opts;
    s->multi = curl_multi_init();
    if (!s->multi) {
        free(s);
        sw_err_set(err, "libcurl: cannot create a multi handle");
        return NULL;
    }
    long conns = 0;
    double now = sw_now_ms();
    for (int i = 0; i < EV_POOLS; i++) {
        pool *p = &s->pools[i];
        p->o = opts->pools[i];
        if (p->o.concurrency < 1)
            p->o.concurrency = 1;
        p->rps_tokens = p->o.rps > 1 ? p->o.rps : 1;
        p->tpm_tokens = p->o.tpm;
        p->last_refill = now;
        conns += p->o.concurrency;
    }
    /* Keep a connection per request in flight, so none is closed and reopened. */
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, conns + 4);
    sw_rng_seed(&s->rng, opts->seed);
    s->budget = opts->retry_budget;
    return s;
}

static void req_free(req *r)
{
    free(r->url);
    curl_slist_free_all(r->headers);
    free(r->body);
    sw_buf_free(&r->resp);
    free(r->error);
    free(r);
}

void ev_sched_free(ev_sched *s)
{
    if (!s)
        return;
    for (int i = 0; i < EV_POOLS; i++) {
        pool *p = &s->pools[i];
        list *ls[] = {&p->ready, &p->delayed, &p->flight};
        for (size_t k = 0; k < 3; k++)
            while (ls[k]->head) {
                req *r = ls[k]->head;
                unlink_req(ls[k], r);
                if (r->easy) {
                    curl_multi_remove_handle(s->multi, r->easy);
                    curl_easy_cleanup(r->easy);
                }
                req_free(r);
            }
    }
    while (s->done.head) {
        req *r = s->done.head;
        unlink_req(&s->done, r);
        req_free(r);
    }
    for (size_t i = 0; i < s->n_spare; i++)
        curl_easy_cleanup(s->spare[i]);
    free(s->spare);
    curl_multi_cleanup(s->multi);
    free(s->refuse_why);
    free(s);
}

static void logf_(ev_sched *s, int level, const char *fmt, ...) SW_PRINTF(3, 4);
static void logf_(ev_sched *s, int level, const char *fmt, ...)
{
    if (!s->o.log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = sw_xvasprintf(fmt, ap);
    va_end(ap);
    s->o.log(s->o.log_ud, level, m);
    free(m);
}

/* ---- submitting ---- */

static void finish(ev_sched *s, req *r)
{
    push_back(&s->done, r);
}

static void fail_req(ev_sched *s, req *r, const char *fmt, ...) SW_PRINTF(3, 4);
static void fail_req(ev_sched *s, req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(r->error);
    r->error = sw_xvasprintf(fmt, ap);
    va_end(ap);
    finish(s, r);
}

void ev_sched_submit(ev_sched *s, const ev_req_spec *spec)
{
    req *r = sw_xcalloc(1, sizeof *r);
    r->pool = spec->pool == EV_POOL_JUDGE ? EV_POOL_JUDGE : EV_POOL_TARGET;
    r->url = sw_xstrdup(spec->url);
    r->body = spec->body;
    r->body_len = spec->body_len ? spec->body_len : (spec->body ? strlen(spec->body) : 0);
    r->est_tokens = spec->est_tokens;
    r->done = spec->done;
    r->ud = spec->ud;
    r->retry_after_ms = -1;
    for (const char *const *h = spec->headers; h && *h; h++)
        r->headers = curl_slist_append(r->headers, *h);
    r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
    r->headers = curl_slist_append(r->headers, "Expect:"); /* no 100-continue round trip */
    if (spec->cache_key)
        snprintf(r->key, sizeof r->key, "%s", spec->cache_key);
    pool *p = &s->pools[r->pool];
    p->st.requests++;
    s->pending++;
    if (s->refuse_why) {
        p->st.failed++;
        fail_req(s, r, "%s", s->refuse_why);
        return;
    }
    if (r->key[0] && ev_cache_get_mode(s->o.cache) == EV_CACHE_REPLAY) {
        char *body = NULL;
        size_t len = 0;
        sw_err err;
        int hit = ev_cache_get(s->o.cache, r->key, &r->status, &body, &len, &r->latency_ms, &err);
        if (hit == 1) {
            p->st.cache_hits++;
            r->replayed = 1;
            sw_buf_append(&r->resp, body, len);
            free(body);
            finish(s, r);
        } else if (hit == 0) {
            p->st.cache_misses++;
            p->st.failed++;
            fail_req(s, r, "cache miss: no recorded answer for this request (replay mode)");
        } else {
            p->st.cache_misses++;
            p->st.failed++;
            fail_req(s, r, "%s", err.msg);
        }
        return;
    }
    push_back(&p->ready, r);
}

/* ---- transfers ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    req *r = ud;
    size_t bytes = size * n;
    if (r->resp.len + bytes > MAX_BODY) {
        r->too_large = 1;
        return 0;
    }
    sw_buf_append(&r->resp, data, bytes);
    return bytes;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    req *r = ud;
    size_t bytes = size * n;
    static const char name[] = "retry-after:";
    if (bytes > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[128];
        size_t len = bytes - (sizeof name - 1);
        if (len >= sizeof value)
            len = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, len);
        value[len] = '\0';
        char *end;
        double secs = strtod(value, &end);
        while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t')
            end++;
        if (end != value && *end == '\0' && secs >= 0) {
            r->retry_after_ms = secs * 1000;
        } else {
            time_t when = curl_getdate(value, NULL);
            if (when > 0) {
                double d = difftime(when, time(NULL));
                r->retry_after_ms = d > 0 ? d * 1000 : 0;
            }
        }
    }
    return bytes;
}

/* libcurl resends a request by itself when a reused connection closes before
   any byte of the answer (it cannot tell a dropped request from an idle
   connection the server closed). The server saw one request more: count it,
   so attempts match what the server counted. Its only trace is this text. */
static int on_debug(CURL *e, curl_infotype type, char *data, size_t size, void *ud)
{
    static const char died[] = "Connection died, retrying";
    if (type == CURLINFO_TEXT && size >= sizeof died - 1 &&
        memcmp(data, died, sizeof died - 1) == 0)
        ((req *)ud)->silent++;
    return 0;
}

static CURL *get_easy(ev_sched *s)
{
    if (s->n_spare) {
        CURL *e = s->spare[--s->n_spare];
        curl_easy_reset(e);
        return e;
    }
    return curl_easy_init();
}

static void put_easy(ev_sched *s, CURL *e)
{
    if (s->n_spare == s->cap_spare) {
        s->cap_spare = s->cap_spare ? s->cap_spare * 2 : 64;
        s->spare = sw_xrealloc(s->spare, s->cap_spare * sizeof *s->spare);
    }
    s->spare[s->n_spare++] = e;
}

static void start(ev_sched *s, pool *p, req *r)
{
    CURL *e = get_easy(s);
    if (!e) {
        fail_req(s, r, "libcurl: cannot create a transfer");
        return;
    }
    r->easy = e;
    r->resp.len = 0;
    r->retry_after_ms = -1;
    r->too_large = 0;
    r->silent = 0;
    r->errbuf[0] = '\0';
    r->status = 0;
    long connect_ms = s->o.timeout_ms < 10000 ? (long)s->o.timeout_ms : 10000;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "slipway-eval/1");
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, r);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    CURLMcode mc = curl_multi_add_handle(s->multi, e);
    if (mc != CURLM_OK) {
        r->easy = NULL;
        put_easy(s, e);
        fail_req(s, r, "libcurl: %s", curl_multi_strerror(mc));
        return;
    }
    r->attempts++;
    p->st.attempts++;
    push_back(&p->flight, r);
}

static void refill(pool *p, double now)
{
    double dt = (now - p->last_refill) / 1000.0;
    if (dt <= 0)
        return;
    p->last_refill = now;
    if (p->o.rps > 0) {
        double cap = p->o.rps > 1 ? p->o.rps : 1;
        p->rps_tokens = fmin(cap, p->rps_tokens + dt * p->o.rps);
    }
    if (p->o.tpm > 0)
        p->tpm_tokens = fmin(p->o.tpm, p->tpm_tokens + dt * p->o.tpm / 60.0);
}

/* How long until the head of the ready queue may start (0: now). */
static double wait_for(const pool *p, double now)
{
    if (!p->ready.head || p->flight.n >= (size_t)p->o.concurrency)
        return INFINITY;
    double w = 0;
    if (p->paused_until > now)
        w = p->paused_until - now;
    if (p->o.rps > 0 && p->rps_tokens < 1)
        w = fmax(w, (1 - p->rps_tokens) / p->o.rps * 1000.0);
    if (p->o.tpm > 0) {
        double need = fmin((double)p->ready.head->est_tokens, p->o.tpm);
        if (p->tpm_tokens < need)
            w = fmax(w, (need - p->tpm_tokens) / (p->o.tpm / 60.0) * 1000.0);
    }
    return w;
}

static int start_ready(ev_sched *s)
{
    int started = 0;
    double now = sw_now_ms();
    for (int i = 0; i < EV_POOLS; i++) {
        pool *p = &s->pools[i];
        refill(p, now);
        while (p->ready.head && wait_for(p, now) == 0) {
            req *r = p->ready.head;
            unlink_req(&p->ready, r);
            if (p->o.rps > 0)
                p->rps_tokens -= 1;
            if (p->o.tpm > 0)
                p->tpm_tokens -= (double)r->est_tokens;
            start(s, p, r);
            started++;
        }
    }
    return started;
}

static void promote_delayed(ev_sched *s, double now)
{
    for (int i = 0; i < EV_POOLS; i++) {
        pool *p = &s->pools[i];
        /* Walk from the tail so retries keep their order at the queue's head. */
        for (req *r = p->delayed.tail, *prev; r; r = prev) {
            prev = r->prev;
            if (r->not_before <= now) {
                unlink_req(&p->delayed, r);
                push_front(&p->ready, r);
            }
        }
    }
}

static int retryable_transport(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static int retryable_status(long st)
{
    return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

static double backoff(ev_sched *s, int attempt)
{
    double d = (double)s->o.backoff_ms * pow(2.0, attempt - 1);
    if (d > (double)s->o.max_backoff_ms)
        d = (double)s->o.max_backoff_ms;
    /* Equal jitter: spread retries of requests that failed together, keep a floor. */
    return d / 2 + sw_rng_uniform(&s->rng) * d / 2;
}

static const char *pool_name(int i)
{
    return i == EV_POOL_JUDGE ? "judge" : "target";
}

static void attempt_done(ev_sched *s, req *r, CURLcode rc)
{
    pool *p = &s->pools[r->pool];
    double now = sw_now_ms();
    if (r->silent) {
        r->attempts += r->silent;
        p->st.attempts += (uint64_t)r->silent;
        p->st.silent_retries += (uint64_t)r->silent;
        p->st.transport += (uint64_t)r->silent;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT)
        p->st.timeouts++;
    else if (rc != CURLE_OK && !r->too_large)
        p->st.transport++;
    if (rc == CURLE_OK && r->status == 429)
        p->st.status_429++;
    if (rc == CURLE_OK && r->status >= 500)
        p->st.status_5xx++;

    int retry = rc == CURLE_OK ? retryable_status(r->status) : retryable_transport(rc);
    char what[CURL_ERROR_SIZE + 64];
    if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(what, sizeof what, "timeout after %lld ms", (long long)s->o.timeout_ms);
    else if (rc != CURLE_OK)
        snprintf(what, sizeof what, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
    else
        snprintf(what, sizeof what, "HTTP %ld", r->status);

    if (retry && r->attempts <= s->o.max_retries && s->budget != 0 && !s->refuse_why) {
        if (s->budget > 0)
            s->budget--;
        p->st.retries++;
        double delay = backoff(s, r->attempts);
        if (r->retry_after_ms >= 0) {
            delay = fmax(delay, r->retry_after_ms);
            if (r->status == 429)
                p->paused_until = fmax(p->paused_until, now + r->retry_after_ms);
        }
        p->st.wait_ms += delay;
        if (s->logged < LOGGED_RETRIES)
            logf_(s, SW_LOG_INFO, "%s request: %s; retry %d in %.0f ms", pool_name(r->pool), what,
                  r->attempts, delay);
        else if (s->logged == LOGGED_RETRIES)
            logf_(s, SW_LOG_INFO, "more retries follow; the summary counts them");
        s->logged++;
        r->not_before = now + delay;
        push_back(&p->delayed, r);
        return;
    }
    r->budget_out = retry && s->budget == 0 && r->attempts <= s->o.max_retries;
    if (rc != CURLE_OK) {
        const char *why = r->too_large    ? "the response is larger than 64 MiB"
                          : !retry        ? ""
                          : s->refuse_why ? s->refuse_why
                          : s->budget == 0 && r->attempts <= s->o.max_retries
                              ? "; retry budget exhausted"
                              : "";
        p->st.failed++;
        fail_req(s, r, "%s%s (%d attempt%s)%s", r->too_large ? "" : what, r->too_large ? why : "",
                 r->attempts, r->attempts == 1 ? "" : "s", r->too_large ? "" : why);
        return;
    }
    if (r->status >= 200 && r->status < 300) {
        p->st.ok++;
        if (r->key[0] && ev_cache_get_mode(s->o.cache) == EV_CACHE_RECORD) {
            sw_err err;
            if (ev_cache_put(s->o.cache, r->key, r->status, r->resp.data ? r->resp.data : "",
                             r->resp.len, r->latency_ms, &err) == 0)
                p->st.cache_stored++;
            else
                logf_(s, SW_LOG_WARN, "%s", err.msg);
        }
    } else {
        p->st.failed++;
    }
    finish(s, r);
}

static void read_infos(ev_sched *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;
        req *r = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
        curl_off_t us = 0;
        curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
        r->latency_ms = (double)us / 1000.0;
        curl_multi_remove_handle(s->multi, e);
        put_easy(s, e);
        r->easy = NULL;
        unlink_req(&s->pools[r->pool].flight, r);
        attempt_done(s, r, rc);
    }
}

static void deliver(ev_sched *s)
{
    while (s->done.head) {
        req *r = s->done.head;
        unlink_req(&s->done, r);
        ev_response resp = {
            .status = r->error ? 0 : r->status,
            .body = r->resp.data ? r->resp.data : "",
            .len = r->resp.len,
            .latency_ms = r->latency_ms,
            .attempts = r->attempts,
            .replayed = r->replayed,
            .budget_out = r->budget_out,
            .error = r->error,
        };
        s->pending--;
        if (r->done)
            r->done(r->ud, &resp);
        req_free(r);
    }
}

static void perform(ev_sched *s)
{
    int running;
    curl_multi_perform(s->multi, &running);
    read_infos(s);
    deliver(s);
}

size_t ev_sched_run_once(ev_sched *s, int timeout_ms)
{
    double now = sw_now_ms();
    promote_delayed(s, now);
    start_ready(s);
    deliver(s);
    perform(s);
    if (start_ready(s))
        perform(s);

    now = sw_now_ms();
    double w = timeout_ms;
    for (int i = 0; i < EV_POOLS; i++) {
        const pool *p = &s->pools[i];
        w = fmin(w, wait_for(p, now));
        for (const req *r = p->delayed.head; r; r = r->next)
            w = fmin(w, fmax(0, r->not_before - now));
    }
    if (s->done.head)
        w = 0;
    if (w > MAX_POLL_MS)
        w = MAX_POLL_MS;
    if (w > 0)
        curl_multi_poll(s->multi, NULL, 0, (int)ceil(w), NULL);
    perform(s);
    return s->pending;
}

size_t ev_sched_waiting(const ev_sched *s, int which)
{
    const pool *p = &s->pools[which];
    return p->ready.n + p->delayed.n;
}

size_t ev_sched_pending(const ev_sched *s)
{
    return s->pending;
}

static void refuse_queued(ev_sched *s)
{
    for (int i = 0; i < EV_POOLS; i++) {
        pool *p = &s->pools[i];
        list *ls[] = {&p->ready, &p->delayed};
        for (size_t k = 0; k < 2; k++)
            while (ls[k]->head) {
                req *r = ls[k]->head;
                unlink_req(ls[k], r);
                p->st.failed++;
                fail_req(s, r, "%s", s->refuse_why);
            }
    }
}

void ev_sched_refuse(ev_sched *s, const char *why)
{
    if (!s->refuse_why)
        s->refuse_why = sw_xstrdup(why);
    refuse_queued(s);
}

void ev_sched_abort(ev_sched *s, const char *why)
{
    ev_sched_refuse(s, why);
    for (int i = 0; i < EV_POOLS; i++) {
        pool *p = &s->pools[i];
        while (p->flight.head) {
            req *r = p->flight.head;
            unlink_req(&p->flight, r);
            curl_multi_remove_handle(s->multi, r->easy);
            put_easy(s, r->easy);
            r->easy = NULL;
            p->st.failed++;
            fail_req(s, r, "%s", s->refuse_why);
        }
    }
    deliver(s);
}

void ev_sched_tokens_used(ev_sched *s, int which, int64_t estimated, int64_t actual)
{
    pool *p = &s->pools[which];
    if (p->o.tpm > 0)
        p->tpm_tokens += (double)(estimated - actual);
}

const ev_pool_stats *ev_sched_stats(const ev_sched *s, int which)
{
    return &s->pools[which].st;
}

int64_t ev_sched_retry_budget_left(const ev_sched *s)
{
    return s->budget;
}
