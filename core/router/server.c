/*
 * server.c - the event loop: libmicrohttpd for clients, libcurl's multi
 * interface for upstreams, both driven from one epoll on one thread.
 *
 * A client request is parsed, assigned a version and sent upstream; its
 * connection is then suspended (no thread waits for it) until the upstream
 * answers. A streamed answer is passed on event by event: each SSE event is
 * handed to libmicrohttpd as soon as it is complete, and the connection is
 * suspended again while no event is waiting. A slow client pauses its
 * upstream transfer instead of growing a buffer. While a connection is
 * suspended its socket is watched for a hang-up, which cancels the upstream.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bucket.h"
#include "gateway.h"
#include "proto/translate.h"
#include "router_impl.h"
#include "upstream.h"

#define STREAM_HIGH_WATER (256u << 10) /* pause the upstream above this much unsent */
#define STREAM_LOW_WATER  (64u << 10)

enum { TAG_MHD = 1, TAG_WAKE, TAG_CURL, TAG_CLIENT, TAG_UP };

typedef struct tag {
    int kind;
    int fd;
    rreq *req;
} tag;

static tag mhd_tag = {TAG_MHD, -1, NULL};
static tag wake_tag = {TAG_WAKE, -1, NULL};

typedef enum kind { K_MODEL, K_EVENTS, K_MODELS, K_ADMIN, K_METRICS, K_HEALTH, K_NONE } kind;
/* ST_PIN: waiting for reads of the shared pins, then handled again (ST_BODY). */
typedef enum rstate { ST_BODY, ST_PIN, ST_UPSTREAM, ST_RESPOND, ST_STREAM, ST_DONE } rstate;

struct rreq {
    int refs;
    sw_router *r;
    struct MHD_Connection *conn;
    rreq *live_prev, *live_next;
    char *method, *url;
    char *path_agent; /* from /agents/<name>/... */
    kind kind;
    const sw_proto *proto;    /* K_MODEL: the protocol the path speaks; else Chat Completions' */
    const sw_proto *up_proto; /* the protocol the upstream is called in (gateway: its provider's) */
    const sw_translator *xl;  /* gateway: client and provider protocols differ; else NULL */
    sw_xlate_stream *xs;      /* a translated stream's state */
    sw_buf body;
    int too_big;
    rstate st;
    int suspended, waiting_data;
    tag *ctag; /* the connection's tag in the epoll set (hang-ups), or NULL */
    double t0;
    /* the reply, for ST_RESPOND */
    int status;
    char *reply;
    size_t reply_len;
    char *reply_ctype;
    /* assignment */
    sw_route *route;
    const sw_rversion *ver;
    char *agent, *version, *session;
    sw_reason reason;
    const char *rule;
    int session_generated;
    sw_pin_waiter pins_read; /* reads of the shared pins this request waits for */
    sw_series *series;
    /* upstream */
    char *up_url;
    char *up_body;
    size_t up_len;
    sw_buf up_hdrs;                /* extra header lines, "Name: value\r\n" each */
    struct curl_slist *up_headers; /* the same for libcurl (built when it is used) */
    int own;                       /* the upstream is our client's (upstream.h), not libcurl's */
    sw_up_call *upc;
    CURL *easy;
    char curl_err[CURL_ERROR_SIZE];
    int attempt, max_attempts;
    double retry_at;
    rreq *retry_next;
    int in_retries;
    long up_status;
    char *up_ctype;
    int headers_done, discard, is_sse, resp_too_big, event_too_big;
    sw_buf up_buf;
    int strip_usage;
    /* streaming */
    sw_sse sse;
    sw_buf scratch;
    sw_buf out;
    size_t out_off;
    int up_done, up_paused, saw_done, canceled, stream_queued;
    double t_first; /* ms after t0; < 0 until the first event */
    sw_completion comp;
    sw_errclass errclass;
    uint64_t pair_id;
    sw_buf pair_raw; /* a shadowed request's whole answer, for the shadow worker to read */
};

/* ---- small helpers ---- */

static double now_ms(void)
{
    return sw_now_ms();
}

static void req_unref(rreq *q)
{
    if (--q->refs > 0)
        return;
    free(q->method);
    free(q->url);
    free(q->path_agent);
    sw_buf_free(&q->body);
    free(q->reply);
    free(q->reply_ctype);
    sw_route_unref(q->route);
    free(q->agent);
    free(q->version);
    free(q->session);
    free(q->up_url);
    free(q->up_body);
    curl_slist_free_all(q->up_headers);
    sw_buf_free(&q->up_hdrs);
    free(q->up_ctype);
    sw_buf_free(&q->up_buf);
    sw_sse_free(&q->sse);
    sw_buf_free(&q->scratch);
    sw_buf_free(&q->out);
    sw_completion_free(&q->comp);
    sw_buf_free(&q->pair_raw);
    if (q->xs)
        q->xl->stream_free(q->xs);
    free(q);
}

/* While a request waits, a hang-up of its client's socket (reported on the connection's
   tag, registered once per connection) is its to handle. */
static void watch_client(rreq *q, int on)
{
    if (q->ctag)
        q->ctag->req = on ? q : NULL;
}

static void cancel_upstream(rreq *q);

/* Stopping: the request will not wait for its upstream; one that has no answer yet is
   answered 503, a stream is cut. */
static void stop_waiting(rreq *q)
{
    cancel_upstream(q);
    q->canceled = 1;
    if (q->st == ST_UPSTREAM || q->st == ST_PIN) {
        q->st = ST_RESPOND;
        q->status = 503;
    }
}

static void suspend(rreq *q)
{
    if (q->suspended)
        return;
    /* MHD must not stop with a connection suspended, and a keep-alive client can send
       another request while the router stops: that one is not suspended at all. */
    if (q->r->stopping) {
        stop_waiting(q);
        return;
    }
    MHD_suspend_connection(q->conn);
    q->suspended = 1;
    q->r->n_suspended++;
    watch_client(q, 1);
}

static void resume(rreq *q)
{
    if (!q->suspended)
        return;
    watch_client(q, 0);
    q->suspended = 0;
    q->r->n_suspended--;
    q->waiting_data = 0;
    MHD_resume_connection(q->conn);
    q->r->resumed = 1; /* the loop runs MHD before it sleeps again */
}

/* Every read of the shared pins the request waited for is over: it is handled again (the
   pins found are here now), unless it was answered meanwhile (its client gone, the router
   stopping). */
static void pins_read(sw_pin_waiter *w)
{
    rreq *q = (rreq *)(void *)((char *)w - offsetof(rreq, pins_read));
    w->asked = 1;
    if (q->st == ST_PIN && !q->canceled) {
        q->st = ST_BODY;
        resume(q);
    }
    req_unref(q);
}

/* The request waits for the reads it asked (holding a reference until they are over). */
static enum MHD_Result wait_pins(rreq *q)
{
    q->refs++;
    q->st = ST_PIN;
    suspend(q);
    return MHD_YES;
}

static const char *header(void *ud, const char *name)
{
    rreq *q = ud;
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

static const char *get_arg(void *ud, const char *name)
{
    rreq *q = ud;
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void add_assignment_headers(rreq *q, struct MHD_Response *resp)
{
    if (q->version)
        MHD_add_response_header(resp, "x-slipway-version", q->version);
    if (q->agent && q->version)
        MHD_add_response_header(resp, "x-slipway-assignment", sw_reason_name(q->reason));
    if (q->session) {
        char *v = sw_session_header_value(q->session);
        MHD_add_response_header(resp, "x-slipway-session", v);
        if (q->session_generated) {
            const sw_session_cfg *sc = sw_router_session_cfg(q->r, q->agent);
            if (sc->cookie) {
                char *cookie = sw_xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Lax", sc->cookie, v);
                MHD_add_response_header(resp, "Set-Cookie", cookie);
                free(cookie);
            }
        }
        free(v);
    }
}

/* Queue a reply now (from the access handler). Takes text. */
static enum MHD_Result queue_text(rreq *q, int status, char *text, size_t len, const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    add_assignment_headers(q, resp);
    q->status = status;
    q->st = ST_DONE;
    enum MHD_Result rc = MHD_queue_response(q->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result queue_json(rreq *q, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (status >= 400 && status < 600 && !q->series)
        q->r->rejected[status]++;
    return queue_text(q, status, text, strlen(text), "application/json");
}

static enum MHD_Result reply_error(rreq *q, int status, const char *type, const char *code,
                                   const char *fmt, ...) SW_PRINTF(5, 6);
static enum MHD_Result reply_error(rreq *q, int status, const char *type, const char *code,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *j = sw_proto_error(q->proto, status, type, code, NULL, msg);
    free(msg);
    return queue_json(q, status, j);
}

/* A refused translation: 400 in the client's protocol, naming the field. */
static enum MHD_Result reply_refusal(rreq *q, const sw_xlate_err *xe)
{
    return queue_json(q, 400,
                      sw_proto_error(q->proto, 400, "invalid_request_error", "untranslatable",
                                     xe->param, xe->msg));
}

/* A reply decided later (the upstream answered or failed): keep it and wake the connection. */
static void finish(rreq *q, int status, char *body, size_t len, const char *ctype)
{
    q->st = ST_RESPOND;
    q->status = status;
    free(q->reply);
    q->reply = body;
    q->reply_len = len;
    free(q->reply_ctype);
    q->reply_ctype = sw_xstrdup(ctype);
    resume(q);
}

static void finish_error(rreq *q, int status, sw_errclass ec, const char *type, const char *code,
                         const char *fmt, ...) SW_PRINTF(6, 7);
static void finish_error(rreq *q, int status, sw_errclass ec, const char *type, const char *code,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *j = sw_proto_error(q->proto, status, type, code, NULL, msg);
    free(msg);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    q->errclass = ec;
    finish(q, status, text, strlen(text), "application/json");
}

/* ---- upstream ---- */

static void start_upstream(rreq *q);

#define EASY_POOL_MAX 1024

/* Easy handles are reused: creating one per request costs more than the request. They are
   not reset (that costs about as much): every option the router sets is set again for each
   call, and no other is ever set. */
static CURL *easy_get(sw_router *r)
{
    if (r->n_easy_pool)
        return r->easy_pool[--r->n_easy_pool];
    return curl_easy_init();
}

static void easy_put(sw_router *r, CURL *e)
{
    if (r->n_easy_pool == EASY_POOL_MAX) {
        curl_easy_cleanup(e);
        return;
    }
    if (!r->easy_pool)
        r->easy_pool = sw_xcalloc(EASY_POOL_MAX, sizeof *r->easy_pool);
    r->easy_pool[r->n_easy_pool++] = e;
}

static void cancel_upstream(rreq *q)
{
    if (q->upc) {
        sw_up_cancel(q->upc);
        q->upc = NULL;
        q->r->inflight--;
    }
    if (q->easy) {
        curl_multi_remove_handle(q->r->multi, q->easy);
        easy_put(q->r, q->easy);
        q->easy = NULL;
        q->r->inflight--;
    }
    if (q->in_retries) {
        rreq **pp = &q->r->retries;
        while (*pp && *pp != q)
            pp = &(*pp)->retry_next;
        if (*pp)
            *pp = q->retry_next;
        q->in_retries = 0;
        req_unref(q);
    }
}

static void wake_client(rreq *q)
{
    if (q->suspended && q->waiting_data)
        resume(q);
}

/* One whole event of the upstream's stream: read what the metrics (and a shadow pair) need,
   time the first token, and queue it for the client unless it is the usage chunk the router
   asked for itself. Events the protocol does not need are passed on unparsed. */
static void on_event(void *ud, const char *ev, size_t len)
{
    rreq *q = ud;
    const sw_proto *p = q->up_proto; /* the events are the upstream's */
    int drop = 0;
    char name_buf[64];
    const char *name = p->named_events && sw_sse_event_name(ev, len, name_buf, sizeof name_buf) == 0
                           ? name_buf
                           : NULL;
    if (sw_sse_data(ev, len, &q->scratch) == 0) {
        const char *data = q->scratch.data ? q->scratch.data : "";
        int token = p->first_token(name);
        if (strcmp(data, "[DONE]") == 0) {
            q->saw_done = 1;
        } else if (q->comp.collect || p->event_needed(name, data)) {
            json_t *chunk = json_loadb(data, q->scratch.len, 0, NULL);
            if (chunk) {
                const char *type = name;
                if (!type && p->named_events) /* unnamed: the data says its type */
                    type = json_string_value(json_object_get(chunk, "type"));
                p->read_event(&q->comp, type, chunk);
                token = token || p->first_token(type);
                /* The usage chunk the router asked for, not the client. */
                drop = q->strip_usage && sw_chunk_usage_only(chunk);
                json_decref(chunk);
            }
        }
        if (q->t_first < 0 && token)
            q->t_first = now_ms() - q->t0;
        if (q->xs) {
            /* Translated as it comes: the client's events for this one, now. */
            q->xl->stream_event(q->xs, name, data, q->scratch.len, &q->out);
            return;
        }
    }
    if (!drop && !q->xs)
        sw_buf_append(&q->out, ev, len);
}

static void upstream_headers(rreq *q)
{
    q->headers_done = 1;
    if ((q->up_status == 429 || q->up_status >= 500) && q->attempt < q->max_attempts) {
        q->discard = 1; /* read and dropped; tried again once it ends */
        return;
    }
    q->is_sse = q->up_status == 200 && q->up_ctype &&
                strncasecmp(q->up_ctype, "text/event-stream", 17) == 0;
    if (q->is_sse) {
        q->st = ST_STREAM;
        resume(q); /* the access handler queues the streaming response */
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    rreq *q = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        free(q->up_ctype); /* a new response (after a 1xx) */
        q->up_ctype = NULL;
    } else if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        const char *v = p + 13;
        size_t vl = len - 13;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        free(q->up_ctype);
        q->up_ctype = sw_xstrndup(v, vl);
    }
    return len;
}

/* Bytes of the answer's body: len (taken), CURL_WRITEFUNC_PAUSE or 0 (abort). */
static size_t body_bytes(rreq *q, const char *p, size_t len)
{
    if (q->discard)
        return len;
    if (q->is_sse) {
        if (q->out.len - q->out_off > STREAM_HIGH_WATER) {
            q->up_paused = 1; /* the client reads slowly: hold the upstream */
            return CURL_WRITEFUNC_PAUSE;
        }
        q->sse.max_event = q->r->cfg->max_response_bytes;
        if (sw_sse_feed(&q->sse, p, len, on_event, q) < 0) {
            q->event_too_big = 1;
            return 0; /* aborts: the client's stream ends with a stream_cut error */
        }
        wake_client(q);
        return len;
    }
    if (q->up_buf.len + len > q->r->cfg->max_response_bytes) {
        q->resp_too_big = 1;
        return 0; /* aborts the transfer */
    }
    sw_buf_append(&q->up_buf, p, len);
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    rreq *q = ud;
    if (!q->headers_done) {
        curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->up_status);
        upstream_headers(q);
    }
    return body_bytes(q, p, size * n);
}

static void schedule_retry(rreq *q)
{
    double backoff = (double)q->r->cfg->retry_backoff_ms * pow(2, q->attempt - 1);
    q->retry_at = now_ms() + backoff;
    q->retry_next = q->r->retries;
    q->r->retries = q;
    q->in_retries = 1;
    q->refs++; /* the retry list holds it */
}

static int connect_error(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_SSL_CONNECT_ERROR;
}

/* ---- a usage object without jansson ---- */

/* Building a jansson tree for a usage object cost a tenth of a proxied request. These
   scanners take the common shape only (plain keys; integers, null, booleans, and objects
   of those) and say -1 for anything else, which jansson then reads: the result is the
   same either way. */
typedef struct usage_scan {
    const char *p, *end;
} usage_scan;

static void ws(usage_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r'))
        s->p++;
}

/* A key without escapes: *k and *kl get it. */
static int scan_key(usage_scan *s, const char **k, size_t *kl)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    const char *b = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\' || (unsigned char)*s->p < 0x20 || (unsigned char)*s->p >= 0x80)
            return -1; /* escapes, and UTF-8 jansson would check */
        s->p++;
    }
    if (s->p >= s->end)
        return -1;
    *k = b;
    *kl = (size_t)(s->p++ - b);
    return 0;
}

static int key_is(const char *k, size_t kl, const char *name)
{
    return kl == strlen(name) && memcmp(k, name, kl) == 0;
}

/* A value; an integer goes to *slot, anything else counts as 0 there (the way
   json_integer_value reads it). */
static int scan_value(usage_scan *s, int depth, long long *slot);

static int scan_object(usage_scan *s, int depth, const char *want, long long *found)
{
    if (depth > 2 || s->p >= s->end || *s->p != '{')
        return -1;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        const char *k;
        size_t kl;
        ws(s);
        if (scan_key(s, &k, &kl) < 0)
            return -1;
        ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        ws(s);
        if (depth == 0 && key_is(k, kl, "prompt_tokens_details")) {
            found[2] = 0; /* a later duplicate replaces the whole object, as in jansson */
            if (*s->p == '{') {
                if (scan_object(s, depth + 1, "cached_tokens", &found[2]) < 0)
                    return -1;
            } else if (scan_value(s, depth + 1, NULL) < 0) {
                return -1;
            }
        } else {
            long long *slot = NULL;
            if (depth == 0 && key_is(k, kl, "prompt_tokens"))
                slot = &found[0];
            else if (depth == 0 && key_is(k, kl, "completion_tokens"))
                slot = &found[1];
            else if (depth > 0 && want && key_is(k, kl, want))
                slot = found;
            if (scan_value(s, depth + 1, slot) < 0)
                return -1;
        }
        ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return -1;
        s->p++;
    }
}

static int scan_value(usage_scan *s, int depth, long long *slot)
{
    if (s->p >= s->end)
        return -1;
    char ch = *s->p;
    if (ch == '{') {
        if (slot)
            *slot = 0;
        long long ignored = 0;
        return scan_object(s, depth, NULL, &ignored);
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        const char *b = s->p;
        int neg = ch == '-';
        if (neg)
            s->p++;
        long long v = 0;
        int n = 0;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && n < 19)
            v = v * 10 + (*s->p++ - '0'), n++;
        if (n == 0 || n > 18 || (n > 1 && b[neg] == '0'))
            return -1;
        if (s->p < s->end &&
            (*s->p == '.' || *s->p == 'e' || *s->p == 'E' || (*s->p >= '0' && *s->p <= '9')))
            return -1; /* a real, or too long: jansson's */
        if (slot)
            *slot = neg ? -v : v;
        return 0;
    }
    static const char *const lits[] = {"null", "true", "false"};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(s->end - s->p) >= l && memcmp(s->p, lits[i], l) == 0) {
            s->p += l;
            if (slot)
                *slot = 0;
            return 0;
        }
    }
    return -1;
}

static uint32_t clamp_u32(long long v)
{
    return v < 0 ? 0 : v > 0xffffffffLL ? 0xffffffffu : (uint32_t)v;
}

/* Usage and tool calls of a whole answer. Most answers have no tool calls and need no
   text kept: then only the "usage" object is parsed, not the whole body. */
static void read_completion(rreq *q)
{
    const char *body = q->up_buf.data;
    if (q->comp.collect) {
        /* A shadowed request: its text and tool calls are read by the shadow worker from a
           copy of the answer (one copy, no parse here); the loop reads what the metrics need,
           as for any request. */
        q->pair_raw.len = 0;
        sw_buf_append(&q->pair_raw, body, q->up_buf.len);
        q->comp.collect = 0;
    }
    if (q->up_proto->id != SW_PROTO_CHAT) {
        /* The other protocols' answers are read whole (the fast path below knows chat's). */
        json_t *resp = json_loadb(body, q->up_buf.len, 0, NULL);
        q->up_proto->read_response(&q->comp, resp);
        json_decref(resp);
        return;
    }
    if (!strstr(body, "\"tool_calls\"")) {
        const char *u = strstr(body, "\"usage\"");
        if (!u)
            return;
        u += 7;
        while (*u == ' ' || *u == ':' || *u == '\n' || *u == '\t' || *u == '\r')
            u++;
        usage_scan sc = {u, body + q->up_buf.len};
        long long found[3] = {0, 0, 0};
        if (*u == '{' && scan_object(&sc, 0, NULL, found) == 0) {
            q->comp.has_usage = 1;
            q->comp.tokens_in = clamp_u32(found[0]);
            q->comp.tokens_out = clamp_u32(found[1]);
            q->comp.cached_in = clamp_u32(found[2]);
            return;
        }
        json_t *usage = *u == '{' ? json_loadb(u, q->up_buf.len - (size_t)(u - body),
                                               JSON_DISABLE_EOF_CHECK, NULL)
                                  : NULL;
        if (usage) {
            json_t *wrap = json_pack("{s:o}", "usage", usage);
            sw_completion_response(&q->comp, wrap);
            json_decref(wrap);
        }
        return;
    }
    json_t *resp = json_loadb(body, q->up_buf.len, 0, NULL);
    if (resp)
        sw_completion_response(&q->comp, resp);
    json_decref(resp);
}

/* A whole answer (or error) of a translated request, into the client's protocol. */
static void translate_answer(rreq *q)
{
    json_t *up = json_loadb(q->up_buf.data ? q->up_buf.data : "", q->up_buf.len, 0, NULL);
    int status = (int)q->up_status;
    json_t *j;
    if (status == 200 && json_is_object(up)) {
        j = q->xl->response(up);
    } else if (status == 200) {
        status = 502;
        q->errclass = SW_ERRC_5XX;
        j = sw_proto_error(q->proto, status, "upstream_error", "upstream_invalid", NULL,
                           "the provider's answer is not JSON");
    } else {
        j = sw_xlate_error(q->proto, status, up);
    }
    json_decref(up);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    finish(q, status, text, strlen(text), "application/json");
}

/* The end of an upstream call (either client), its handle released. */
static void upstream_end(rreq *q, CURLcode rc)
{
    sw_router *r = q->r;
    if (q->canceled)
        return;
    if (q->discard && (rc == CURLE_OK || connect_error(rc))) {
        schedule_retry(q);
        return;
    }
    if (rc != CURLE_OK) {
        const char *why = q->curl_err[0] ? q->curl_err : curl_easy_strerror(rc);
        char too_big[96];
        if (q->event_too_big) {
            snprintf(too_big, sizeof too_big, "an event longer than %zu bytes",
                     r->cfg->max_response_bytes);
            why = too_big;
        }
        if (q->is_sse) {
            /* Bytes already went to the client: no retry, no other version. Say so in
               the stream the way OpenAI-compatible clients read errors. */
            char *msg =
                sw_xasprintf("the upstream stream of version '%s' was cut: %s", q->version, why);
            char *event = sw_proto_stream_error(q->proto, 502, "upstream_error", "stream_cut", msg);
            sw_buf_puts(&q->out, event);
            free(event);
            free(msg);
            q->errclass = SW_ERRC_STREAM_CUT;
            q->up_done = 1;
            wake_client(q);
            return;
        }
        if (connect_error(rc) && !q->headers_done && q->attempt < q->max_attempts) {
            schedule_retry(q);
            return;
        }
        if (q->resp_too_big)
            finish_error(q, 502, SW_ERRC_5XX, "upstream_error", "upstream_response_too_large",
                         "version '%s' answered with more than %zu bytes", q->version,
                         r->cfg->max_response_bytes);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            finish_error(q, 504, SW_ERRC_TIMEOUT, "upstream_error", "upstream_timeout",
                         "version '%s' of agent '%s' did not answer in time: %s", q->version,
                         q->agent, why);
        else
            finish_error(q, 502, connect_error(rc) ? SW_ERRC_CONNECT : SW_ERRC_5XX,
                         "upstream_error", "upstream_unavailable",
                         "version '%s' of agent '%s' is unreachable (after %d attempt%s): %s",
                         q->version, q->agent, q->attempt, q->attempt == 1 ? "" : "s", why);
        return;
    }
    if (q->is_sse) {
        if (q->xs)
            q->xl->stream_end(q->xs, &q->out);
        q->up_done = 1;
        wake_client(q);
        return;
    }
    if (q->up_status == 200 && q->up_buf.data)
        read_completion(q);
    if (q->xl) {
        translate_answer(q);
        return;
    }
    size_t len = q->up_buf.len;
    char *body = sw_buf_steal(&q->up_buf);
    finish(q, (int)q->up_status, body, len, q->up_ctype ? q->up_ctype : "application/json");
}

static void upstream_done(rreq *q, CURLcode rc)
{
    sw_router *r = q->r;
    if (rc == CURLE_OK && !q->headers_done && q->easy) {
        curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->up_status);
        upstream_headers(q);
    }
    curl_multi_remove_handle(r->multi, q->easy);
    easy_put(r, q->easy);
    q->easy = NULL;
    r->inflight--;
    upstream_end(q, rc);
}

/* ---- the router's own client (plain http:// to an address) ---- */

static void up_head(void *ud, int status, const char *ctype)
{
    rreq *q = ud;
    q->up_status = status;
    free(q->up_ctype);
    q->up_ctype = sw_xstrdup(ctype);
    upstream_headers(q);
}

static size_t up_body(void *ud, const char *p, size_t n)
{
    size_t r = body_bytes(ud, p, n);
    return r == CURL_WRITEFUNC_PAUSE ? SW_UP_PAUSE : r;
}

static void up_done(void *ud, sw_up_result res, const char *msg)
{
    rreq *q = ud;
    q->upc = NULL;
    q->r->inflight--;
    if (msg)
        snprintf(q->curl_err, sizeof q->curl_err, "%s", msg);
    upstream_end(q, (CURLcode)sw_up_curl_code(res));
}

static const sw_up_fns up_fns = {up_head, up_body, up_done};

static void start_upstream(rreq *q)
{
    sw_router *r = q->r;
    const sw_router_config *c = r->cfg;
    q->attempt++;
    q->headers_done = q->discard = q->is_sse = q->resp_too_big = q->event_too_big = 0;
    q->up_status = 0;
    q->up_buf.len = 0;
    q->curl_err[0] = '\0';
    r->inflight++;
    if (q->own) {
        q->upc = sw_up_start(r->up, q->up_url, q->up_hdrs.data, q->up_hdrs.len, q->up_body,
                             q->up_len, &up_fns, q);
        return;
    }
    if (!q->up_headers) {
        struct curl_slist *h = curl_slist_append(NULL, "Expect:");
        for (const char *l = q->up_hdrs.data; l && *l;) {
            const char *e = strstr(l, "\r\n");
            char *one = sw_xstrndup(l, (size_t)(e - l));
            h = curl_slist_append(h, one);
            free(one);
            l = e + 2;
        }
        q->up_headers = h;
    }
    CURL *e = easy_get(r);
    q->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, q->up_url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->up_body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->up_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->up_headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->curl_err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_multi_add_handle(r->multi, e);
}

static void run_retries(sw_router *r, double now)
{
    rreq **pp = &r->retries;
    while (*pp) {
        rreq *q = *pp;
        if (q->retry_at > now) {
            pp = &q->retry_next;
            continue;
        }
        *pp = q->retry_next;
        q->in_retries = 0;
        if (!q->canceled && q->conn)
            start_upstream(q);
        req_unref(q);
    }
}

static void curl_messages(sw_router *r)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(r->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        rreq *q = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        upstream_done(q, msg->data.result);
    }
}

/* ---- streaming to the client ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    rreq *q = cls;
    size_t avail = q->out.len - q->out_off;
    if (avail > 0) {
        size_t n = avail < max ? avail : max;
        memcpy(buf, q->out.data + q->out_off, n);
        q->out_off += n;
        if (q->out_off == q->out.len) {
            q->out.len = q->out_off = 0;
        } else if (q->out_off > (64u << 10)) {
            memmove(q->out.data, q->out.data + q->out_off, q->out.len - q->out_off);
            q->out.len -= q->out_off;
            q->out_off = 0;
        }
        if (q->up_paused && q->out.len - q->out_off < STREAM_LOW_WATER) {
            q->up_paused = 0;
            if (q->upc)
                sw_up_unpause(q->upc); /* read on at the next loop turn */
            else if (q->easy)
                curl_easy_pause(q->easy, CURLPAUSE_CONT);
        }
        return (ssize_t)n;
    }
    if (q->canceled)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (q->up_done)
        return MHD_CONTENT_READER_END_OF_STREAM;
    q->waiting_data = 1;
    suspend(q); /* woken by the next event from upstream */
    return 0;
}

static void stream_free(void *cls)
{
    req_unref(cls);
}

static enum MHD_Result queue_stream(rreq *q)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16u << 10, stream_read, q, stream_free);
    if (!resp)
        return MHD_NO;
    q->refs++; /* the response's */
    MHD_add_response_header(resp, "Content-Type", q->up_ctype ? q->up_ctype : "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    add_assignment_headers(q, resp);
    q->status = 200;
    q->stream_queued = 1;
    enum MHD_Result rc = MHD_queue_response(q->conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- model requests (every protocol) ---- */

static char *body_text(json_t *j, size_t *len)
{
    char *t = json_dumps(j, JSON_COMPACT);
    *len = strlen(t);
    return t;
}

/* Appends, not printf: formatting was a visible share of a request's instructions. */
static void add_header(sw_buf *b, const char *name, const char *value)
{
    sw_buf_puts(b, name);
    sw_buf_append(b, ": ", 2);
    sw_buf_puts(b, value);
    sw_buf_append(b, "\r\n", 2);
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = sw_xmalloc(la + lb + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* On the shadow worker: the client's request, not streamed, rewritten by the shadow's release
   in gateway mode. The loop validated the same bytes, so a failure here is rare (a release
   whose manifest names no model) and fails only the copy. */
static int shadow_request(sw_shadow_job *job)
{
    json_t *b = json_loadb(job->body, job->len, 0, NULL);
    sw_err err = {{0}};
    if (!b || (job->manifest &&
               sw_proto_apply_release(job->manifest, (sw_proto_id)job->proto, 0, b, &err) < 0)) {
        snprintf(job->error, sizeof job->error, "cannot make the shadow request: %.200s",
                 b ? err.msg : "the request is not JSON");
        json_decref(b);
        return -1;
    }
    json_object_set_new(b, "stream", json_false());
    json_object_del(b, "stream_options");
    job->request = body_text(b, &job->request_len);
    json_decref(b);
    return 0;
}

/* `client_body` (the request's bytes, as the client sent them) becomes the job's. */
static void submit_shadow(rreq *q, char *client_body, size_t len, const sw_rversion *sv)
{
    sw_router *r = q->r;
    /* A gateway shadow goes in the client's own protocol only, with a bearer key: a
       translated pair would compare answers of two protocols. */
    if (!sv->url ||
        (q->route->mode == SW_MODE_GATEWAY &&
         (!sv->manifest || q->xl || sw_gateway_upstream(sv->proto, q->proto->id) != q->proto->id ||
          q->proto->id == SW_PROTO_MESSAGES))) {
        free(client_body);
        return;
    }
    sw_shadow_job *job = sw_xcalloc(1, sizeof *job);
    job->body = client_body;
    job->len = len;
    job->prepare = shadow_request;
    job->url = concat(sv->url, q->proto->path);
    job->proto = q->proto->id;
    if (q->route->mode == SW_MODE_GATEWAY) {
        job->manifest = json_incref(sv->manifest);
        const char *key = sv->api_key;
        if (key)
            job->auth = sw_xasprintf("Authorization: Bearer %s", key);
    } else {
        const char *auth = header(q, "authorization");
        if (auth)
            job->auth = sw_xasprintf("Authorization: %s", auth);
    }
    q->pair_id = sw_pair_submit(r, job, q->agent, q->session, q->version, sv->name);
}

/* Whether the request carries its conversation the way its protocol wants: Chat Completions
   and Messages a list of messages; Responses a list of items or a text, or nothing when it
   continues a stored conversation. */
static int messages_ok(const sw_proto *p, const json_t *body)
{
    const json_t *m = json_object_get(body, p->messages_field);
    if (!m)
        return p->messages_optional;
    return json_is_array(m) || (p->id == SW_PROTO_RESPONSES && json_is_string(m));
}

/* Headers a service deployment of each protocol reads from its client, passed on as they are
   (the Authorization header is passed for every protocol). */
static const char *const anthropic_headers[] = {"x-api-key", "anthropic-version", "anthropic-beta",
                                                NULL};

static enum MHD_Result handle_model(rreq *q)
{
    sw_router *r = q->r;
    const sw_proto *p = q->proto;
    if (q->too_big)
        return reply_error(q, 413, "invalid_request_error", "request_too_large",
                           "the request body is larger than %zu bytes", r->cfg->max_body_bytes);
    json_error_t je;
    json_t *body = json_loadb(q->body.data ? q->body.data : "", q->body.len, 0, &je);
    if (!body)
        return reply_error(q, 400, "invalid_request_error", "invalid_json",
                           "the request body is not valid JSON: %s (line %d, column %d)", je.text,
                           je.line, je.column);
    enum MHD_Result res;
    if (!json_is_object(body)) {
        res = reply_error(q, 400, "invalid_request_error", "invalid_request",
                          "the request body must be a JSON object");
        goto out;
    }
    const char *model = json_string_value(json_object_get(body, "model"));
    const char *agent = q->path_agent ? q->path_agent : model;
    if (!agent || !*agent) {
        res = reply_error(q, 400, "invalid_request_error", "missing_model",
                          "missing 'model': name the agent, e.g. \"model\": \"support-agent\" "
                          "(or use the path /agents/<name>/v1%s)",
                          p->path);
        goto out;
    }
    sw_route *route = sw_hmap_get(&r->routes, agent);
    if (!route) {
        const char *names[64];
        size_t n = 0;
        for (sw_hmap_entry *e = sw_hmap_first(&r->routes); e && n < 64;
             e = sw_hmap_next(&r->routes, e))
            names[n++] = e->key;
        const char *hint = sw_did_you_mean(agent, names, n);
        res = reply_error(q, 404, "invalid_request_error", "model_not_found",
                          "unknown agent '%s'%s%s%s: this router serves no such model", agent,
                          hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        goto out;
    }
    if (!messages_ok(p, body)) {
        res = reply_error(
            q, 400, "invalid_request_error", "invalid_messages", "%s",
            p->id == SW_PROTO_RESPONSES  ? "'input' must be a text or a list of input items"
            : p->id == SW_PROTO_MESSAGES ? "'messages' must be a list of messages"
                                         : "'messages' must be a list of chat messages");
        goto out;
    }
    const json_t *stream = json_object_get(body, "stream");
    if (stream && !json_is_boolean(stream)) {
        res = reply_error(q, 400, "invalid_request_error", "invalid_stream",
                          "'stream' must be true or false");
        goto out;
    }
    sw_attrs attrs = {header, q, body};
    const sw_session_cfg *sc = sw_router_session_cfg(r, agent);
    sw_session_source src;
    sw_err err = {{0}};
    char *session = sw_session_key(sc, p->session_fields, &attrs, &src, &err);
    if (!session) {
        res = reply_error(q, 400, "invalid_request_error", "invalid_session", "%s", err.msg);
        goto out;
    }
    const char *previous = json_string_value(json_object_get(body, "previous_response_id"));
    const char *known = src == SW_SESSION_GENERATED && previous && p->id == SW_PROTO_RESPONSES
                            ? sw_respids_session(&r->respids, agent, previous)
                            : NULL;
    if (known) {
        /* A conversation continued from an answer this router served: its session. */
        free(session);
        session = sw_xstrdup(known);
        src = SW_SESSION_BODY;
    }
    free(q->session); /* handled again after a read of the shared pins */
    free(q->agent);
    q->session = session;
    q->session_generated = src == SW_SESSION_GENERATED;
    q->agent = sw_xstrdup(agent);
    int64_t wall = sw_wall_ms();
    sw_pin *pin = sw_pins_get(&r->pins, agent, session);
    if (pin && !sw_route_find(route, pin->version)) {
        sw_pins_del(&r->pins, agent, session); /* its version left the route */
        pin = NULL;
    }
    /* On a miss, one read of the shared pins, made by the pin reader while the request waits;
       a session key this router just made up is in no other replica. */
    if (!pin && !q->session_generated && sw_pin_read_ask(r, agent, session, 0, &q->pins_read)) {
        res = wait_pins(q);
        goto out;
    }
    if (pin && pin->terminated) {
        q->version = sw_xstrdup(pin->version);
        q->reason = SW_REASON_PIN;
        res = reply_error(q, 409, "invalid_request_error", "session_terminated",
                          "this conversation ran on version '%s' of agent '%s', which was rolled "
                          "back; it cannot continue: start a new conversation (a new session)",
                          pin->version, agent);
        goto out;
    }
    const char *version;
    if (pin) {
        version = pin->version;
        q->reason = SW_REASON_PIN;
        int64_t logged = pin->logged_ms;
        sw_pins_touch(&r->pins, pin, wall);
        if (pin->logged_ms != logged)
            sw_router_share_pin(r, pin); /* a use, at most every 30 s: its TTL elsewhere */
    } else {
        version = sw_route_assign(route, session, &attrs, &q->reason, &q->rule);
        sw_pin *fresh = sw_pins_set(&r->pins, agent, session, version, q->reason, wall);
        sw_router_share_pin(r, fresh);
        if (!fresh && q->t0 - r->pins_full_logged > 60000) {
            /* Served all the same (the split is sticky by itself); said once a minute. */
            r->pins_full_logged = q->t0;
            sw_router_logf(r, SW_LOG_WARN,
                           "the pin table is full (sessions.max_pins = %zu): new sessions are "
                           "not pinned",
                           r->pins.max);
        }
    }
    q->version = sw_xstrdup(version);
    q->route = sw_route_ref(route);
    q->ver = sw_route_find(route, version);
    q->series = sw_metrics_series(&r->metrics, agent, version);
    q->up_proto = p;
    if (route->mode == SW_MODE_GATEWAY) {
        q->up_proto = sw_proto_get(sw_gateway_upstream(q->ver->proto, p->id));
        if (q->up_proto != p && !(q->xl = sw_translator_find(p->id, q->up_proto->id))) {
            res = reply_error(q, 400, "invalid_request_error", "unsupported_protocol",
                              "release '%s' of agent '%s' is served by a provider speaking %s, "
                              "and %s requests are not translated to it (translated: chat <-> "
                              "messages, responses -> chat and messages)",
                              q->ver->release, agent, q->up_proto->name, p->name);
            goto out;
        }
    }
    const sw_agent_cfg *acfg = sw_router_agent_cfg(r, agent);
    int stream_on = json_is_true(stream);
    int modified = 0;
    const sw_rversion *shadow_ver = NULL;
    const char *sv = sw_route_shadow_for(route, session, version);
    if (sv)
        shadow_ver = sw_route_find(route, sv);
    /* The shadow gets the client's request, before this version changes it: its bytes only,
       the worker makes the request from them. */
    size_t client_len = q->body.len;
    char *client_copy = shadow_ver ? sw_xstrndup(q->body.data, client_len) : NULL;
    sw_completion_init(&q->comp, shadow_ver != NULL);
    if (q->xl) {
        sw_xlate_err xe = {{0}, {0}};
        json_t *up = q->xl->request(body, &xe);
        if (!up) {
            res = reply_refusal(q, &xe);
            free(client_copy);
            goto out;
        }
        if (stream_on)
            q->xs = q->xl->stream_new(body);
        json_decref(body);
        body = up;
    }
    if (route->mode == SW_MODE_GATEWAY) {
        if (!q->ver->manifest || sw_proto_apply_release(q->ver->manifest, q->up_proto->id,
                                                        q->ver->max_tokens, body, &err) < 0) {
            res = reply_error(q, 400, "invalid_request_error", "invalid_request",
                              "cannot apply release '%s': %s", q->ver->release,
                              err.msg[0] ? err.msg : "no manifest");
            free(client_copy);
            goto out;
        }
        modified = 1;
    }
    if (p->id == SW_PROTO_CHAT && !q->xl && stream_on && (!acfg || acfg->inject_usage)) {
        json_t *so = json_object_get(body, "stream_options");
        if (!json_is_true(json_object_get(so, "include_usage"))) {
            if (!json_is_object(so)) {
                so = json_object();
                json_object_set_new(body, "stream_options", so);
            }
            json_object_set_new(so, "include_usage", json_true());
            q->strip_usage = 1;
            modified = 1;
        }
    }
    if (modified) {
        q->up_body = body_text(body, &q->up_len);
    } else {
        q->up_len = q->body.len;
        q->up_body = sw_buf_steal(&q->body);
    }
    q->up_url = concat(q->ver->url, q->up_proto->path);
    sw_buf *h = &q->up_hdrs;
    sw_buf_puts(h, stream_on ? "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
                             : "Content-Type: application/json\r\nAccept: application/json\r\n");
    if (route->mode == SW_MODE_GATEWAY) {
        const char *key = q->ver->api_key;
        if (q->up_proto->id == SW_PROTO_MESSAGES) {
            if (key)
                add_header(h, "x-api-key", key);
            add_header(h, "anthropic-version", q->ver->anthropic_version);
        } else if (key) {
            char *bearer = sw_xasprintf("Bearer %s", key);
            add_header(h, "Authorization", bearer);
            free(bearer);
        }
    } else {
        const char *auth = header(q, "authorization");
        if (auth)
            add_header(h, "Authorization", auth);
        for (size_t i = 0; p->id == SW_PROTO_MESSAGES && anthropic_headers[i]; i++) {
            const char *v = header(q, anthropic_headers[i]);
            if (v)
                add_header(h, anthropic_headers[i], v);
        }
        add_header(h, "x-slipway-agent", agent);
        add_header(h, "x-slipway-version", version);
        add_header(h, "x-slipway-session", session);
    }
    const char *rid = header(q, "x-request-id");
    if (rid)
        add_header(h, "x-request-id", rid);
    q->own = sw_up_handles(r->up, q->up_url);
    int retries = acfg && acfg->retries >= 0 ? acfg->retries : r->cfg->retries;
    q->max_attempts = retries + 1;
    q->st = ST_UPSTREAM;
    start_upstream(q);
    if (client_copy) {
        /* After the primary is on its way; the shadow never delays it. */
        submit_shadow(q, client_copy, client_len, shadow_ver);
    }
    suspend(q);
    res = MHD_YES;
out:
    json_decref(body);
    return res;
}

/* ---- other endpoints ---- */

static enum MHD_Result handle_admin(rreq *q)
{
    sw_router *r = q->r;
    if (r->token && !sw_admin_authorized(r, header(q, "authorization")))
        return reply_error(q, 401, "authentication_error", "unauthorized",
                           "the admin API needs 'Authorization: Bearer <token>' with the "
                           "router's admin token");
    if (q->too_big)
        return reply_error(q, 413, "invalid_request_error", "request_too_large",
                           "the request body is larger than %zu bytes", r->cfg->max_body_bytes);
    json_t *out = NULL;
    int status = sw_admin_handle(r, q->method, q->url, get_arg, q, q->body.data ? q->body.data : "",
                                 q->body.len, &out);
    return queue_json(q, status, out);
}

static enum MHD_Result handle_events(rreq *q)
{
    sw_router *r = q->r;
    if (q->too_big)
        return reply_error(q, 413, "invalid_request_error", "request_too_large",
                           "the request body is larger than %zu bytes", r->cfg->max_body_bytes);
    /* The session may come the way chat requests send it (header or cookie). */
    const char *agent = q->path_agent;
    char *hint = NULL;
    const sw_session_cfg *sc = sw_router_session_cfg(r, agent ? agent : "");
    const char *h = sc->header ? header(q, sc->header) : NULL;
    if (h && *h)
        hint = sw_xstrdup(h);
    else if (sc->cookie) {
        const char *cookies = header(q, "cookie");
        char buf[SW_SESSION_MAX + 2];
        if (cookies && sw_cookie_value(cookies, sc->cookie, buf, sizeof buf) == 0 && buf[0])
            hint = sw_xstrdup(buf);
    }
    json_t *out = NULL;
    int status = sw_events_handle(r, agent, hint, q->body.data ? q->body.data : "", q->body.len,
                                  &q->pins_read, &out);
    free(hint);
    if (status == 0)
        return wait_pins(q);
    return queue_json(q, status, out);
}

static enum MHD_Result handle_models(rreq *q)
{
    json_t *data = json_array();
    for (sw_hmap_entry *e = sw_hmap_first(&q->r->routes); e; e = sw_hmap_next(&q->r->routes, e))
        json_array_append_new(data, json_pack("{s:s, s:s, s:i, s:s}", "id", e->key, "object",
                                              "model", "created", 0, "owned_by", "slipway"));
    return queue_json(q, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

static enum MHD_Result handle_metrics(rreq *q)
{
    sw_router *r = q->r;
    sw_buf b = {0};
    sw_metrics_prometheus(&r->metrics, &b);
    size_t dropped = 0, queued = r->shared ? sw_shared_pins_queued(r->shared, &dropped) : 0;
    if (r->shared)
        sw_buf_printf(&b,
                      "# HELP slipway_state_backend_up Whether the shared state database is "
                      "reachable (1) or not (0).\n"
                      "# TYPE slipway_state_backend_up gauge\n"
                      "slipway_state_backend_up %d\n"
                      "# HELP slipway_shared_pins_expired_total Expired pin rows this replica "
                      "deleted from the shared state database.\n"
                      "# TYPE slipway_shared_pins_expired_total counter\n"
                      "slipway_shared_pins_expired_total %lld\n"
                      "# HELP slipway_shared_pins_queued Pins waiting to be written behind to "
                      "the shared state database.\n"
                      "# TYPE slipway_shared_pins_queued gauge\n"
                      "slipway_shared_pins_queued %zu\n"
                      "# HELP slipway_shared_pins_dropped_total Pins not written to the shared "
                      "state database because the queue was full.\n"
                      "# TYPE slipway_shared_pins_dropped_total counter\n"
                      "slipway_shared_pins_dropped_total %zu\n",
                      sw_shared_up(r->shared), sw_shared_pins_swept(r->shared), queued, dropped);
    if (r->shared)
        sw_pin_reads_prometheus(r, &b);
    sw_buf_puts(&b, "# HELP slipway_pins Live session pins by agent and version.\n"
                    "# TYPE slipway_pins gauge\n");
    for (sw_hmap_entry *e = sw_hmap_first(&r->routes); e; e = sw_hmap_next(&r->routes, e)) {
        json_t *sum = sw_pins_summary(&r->pins, e->key);
        const char *v;
        json_t *n;
        json_object_foreach(json_object_get(sum, "by_version"), v, n)
            sw_buf_printf(&b, "slipway_pins{agent=\"%s\",version=\"%s\"} %lld\n", e->key, v,
                          (long long)json_integer_value(n));
        json_decref(sum);
    }
    sw_buf_printf(&b,
                  "# HELP slipway_inflight_upstream_requests Upstream calls in progress.\n"
                  "# TYPE slipway_inflight_upstream_requests gauge\n"
                  "slipway_inflight_upstream_requests %llu\n"
                  "# HELP slipway_rejected_requests_total Requests the router answered itself "
                  "with an error, by status.\n"
                  "# TYPE slipway_rejected_requests_total counter\n",
                  (unsigned long long)r->inflight);
    for (int s = 400; s < 600; s++)
        if (r->rejected[s])
            sw_buf_printf(&b, "slipway_rejected_requests_total{status=\"%d\"} %llu\n", s,
                          (unsigned long long)r->rejected[s]);
    size_t len = b.len;
    char *text = sw_buf_steal(&b);
    return queue_text(q, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* Which endpoint a path is; *agent gets the name from /agents/<name>/... */
static kind classify(const char *url, char **agent, const sw_proto **proto)
{
    const char *rest = url;
    *agent = NULL;
    if (strncmp(url, "/agents/", 8) == 0) {
        const char *name = url + 8;
        const char *slash = strchr(name, '/');
        if (!slash || slash == name)
            return K_NONE;
        *agent = sw_xstrndup(name, (size_t)(slash - name));
        rest = slash;
    }
    const sw_proto *p = sw_proto_for_path(strncmp(rest, "/v1/", 4) == 0 ? rest + 3 : rest);
    if (p) {
        *proto = p;
        return K_MODEL;
    }
    if (strcmp(rest, "/v1/events") == 0)
        return K_EVENTS;
    if (strcmp(rest, "/v1/models") == 0)
        return K_MODELS;
    if (*agent)
        return K_NONE;
    if (strncmp(url, "/admin/", 7) == 0 || strcmp(url, "/admin") == 0)
        return K_ADMIN;
    if (strcmp(url, "/metrics") == 0)
        return K_METRICS;
    if (strcmp(url, "/healthz") == 0)
        return K_HEALTH;
    return K_NONE;
}

static enum MHD_Result dispatch(rreq *q)
{
    const char *m = q->method;
    int post = strcmp(m, "POST") == 0, get = strcmp(m, "GET") == 0;
    switch (q->kind) {
    case K_MODEL:
        if (!post)
            return reply_error(q, 405, "invalid_request_error", "method_not_allowed",
                               "%s %s: use POST", m, q->url);
        return handle_model(q);
    case K_EVENTS:
        if (!post)
            return reply_error(q, 405, "invalid_request_error", "method_not_allowed",
                               "%s %s: use POST", m, q->url);
        return handle_events(q);
    case K_MODELS:
        return get ? handle_models(q)
                   : reply_error(q, 405, "invalid_request_error", "method_not_allowed",
                                 "%s %s: use GET", m, q->url);
    case K_ADMIN:
        return handle_admin(q);
    case K_METRICS:
        return get ? handle_metrics(q)
                   : reply_error(q, 405, "invalid_request_error", "method_not_allowed",
                                 "%s %s: use GET", m, q->url);
    case K_HEALTH:
        return queue_json(q, 200, json_pack("{s:b}", "ok", 1));
    case K_NONE:
        break;
    }
    return reply_error(q, 404, "invalid_request_error", "not_found", "no such endpoint: %s %s", m,
                       q->url);
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind vk, const char *key,
                                    const char *value)
{
    size_t *n = cls;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    sw_router *r = cls;
    rreq *q = *con_cls;
    if (!q) {
        q = sw_xcalloc(1, sizeof *q);
        q->refs = 1;
        q->r = r;
        q->conn = conn;
        q->method = sw_xstrdup(method);
        q->url = sw_xstrdup(url);
        q->t0 = now_ms();
        q->t_first = -1;
        q->st = ST_BODY;
        q->proto = sw_proto_get(SW_PROTO_CHAT);
        q->pins_read.done = pins_read;
        q->kind = classify(url, &q->path_agent, &q->proto);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        q->ctag = ci ? ci->socket_context : NULL;
        q->live_next = r->live;
        if (r->live)
            r->live->live_prev = q;
        r->live = q;
        *con_cls = q;
        size_t hbytes = 0;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hbytes);
        if (hbytes > r->cfg->max_header_bytes)
            return reply_error(q, 431, "invalid_request_error", "headers_too_large",
                               "the request headers are larger than %zu bytes",
                               r->cfg->max_header_bytes);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "content-length");
        if (cl && strtoull(cl, NULL, 10) > r->cfg->max_body_bytes)
            return reply_error(q, 413, "invalid_request_error", "request_too_large",
                               "the request body is larger than %zu bytes", r->cfg->max_body_bytes);
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && q->body.len + *upload_size > r->cfg->max_body_bytes) {
            q->too_big = 1; /* keep reading, answer 413 at the end */
            sw_buf_free(&q->body);
        }
        if (!q->too_big)
            sw_buf_append(&q->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    switch (q->st) {
    case ST_BODY:
        return dispatch(q);
    case ST_RESPOND: {
        char *text = q->reply;
        q->reply = NULL;
        return queue_text(q, q->status, text ? text : sw_xstrdup(""), text ? q->reply_len : 0,
                          q->reply_ctype ? q->reply_ctype : "application/json");
    }
    case ST_STREAM:
        if (!q->stream_queued)
            return queue_stream(q);
        return MHD_YES;
    case ST_PIN:
    case ST_UPSTREAM:
        if (q->canceled)
            return MHD_NO; /* the client is gone: close */
        suspend(q);        /* resumed early (should not happen): wait again */
        return MHD_YES;
    case ST_DONE:
        break;
    }
    return MHD_NO;
}

static void access_line(rreq *q, double ms)
{
    sw_router_logf(q->r, SW_LOG_INFO,
                   "%s %s %d %.1fms agent=%s version=%s reason=%s session=%s%s%s", q->method,
                   q->url, q->status, ms, q->agent ? q->agent : "-", q->version ? q->version : "-",
                   q->version ? sw_reason_name(q->reason) : "-", q->session ? q->session : "-",
                   q->errclass ? " error=" : "", q->errclass ? sw_errclass_name(q->errclass) : "");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sw_router *r = cls;
    rreq *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    watch_client(q, 0);
    /* A client gone while its stream flows (a write failed; the upstream call may be paused
       above the high water): the call, of either client, must not outlive its request. */
    if (q->easy || q->upc || q->in_retries) {
        if (q->errclass == SW_ERRC_NONE)
            q->errclass = SW_ERRC_CANCELED;
        cancel_upstream(q);
    }
    q->canceled = 1;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && q->errclass == SW_ERRC_NONE && q->series)
        q->errclass = SW_ERRC_CANCELED;
    double ms = now_ms() - q->t0;
    if (q->series) {
        int status = q->status ? q->status : 499;
        sw_req_result res = {0};
        res.status = status;
        res.errclass = q->errclass != SW_ERRC_NONE ? q->errclass
                       : status >= 500             ? SW_ERRC_5XX
                       : status >= 400             ? SW_ERRC_4XX
                                                   : SW_ERRC_NONE;
        res.latency_ms = ms;
        res.ttft_ms = q->is_sse ? q->t_first : -1;
        res.tokens_in = q->comp.tokens_in;
        res.tokens_out = q->comp.tokens_out;
        res.tool_calls = q->comp.tool_calls;
        if (q->ver && q->ver->price.set) {
            const sw_price *p = &q->ver->price;
            uint32_t cached = q->comp.cached_in <= q->comp.tokens_in ? q->comp.cached_in : 0;
            double cin = p->cached_input > 0 ? p->cached_input : p->input;
            res.cost = (q->comp.tokens_in - cached) * p->input + cached * cin +
                       q->comp.tokens_out * p->output;
        }
        if (q->session)
            res.session = sw_murmur3_32(q->session, strlen(q->session), 0) | 1;
        q->errclass = res.errclass;
        sw_metrics_request(&r->metrics, q->series, &res, sw_wall_ms());
        if (q->comp.response_id && status == 200 && q->session)
            sw_respids_put(&r->respids, q->agent, q->comp.response_id, q->session,
                           sw_wall_ms() + sw_router_ttl_ms(r, q->agent));
        if (q->pair_id)
            sw_pair_primary(r, q->pair_id, status, ms, &q->comp, &q->pair_raw,
                            res.errclass != SW_ERRC_NONE ? sw_errclass_name(res.errclass) : NULL);
    }
    if (r->cfg->access_log)
        access_line(q, ms);
    if (q->live_prev)
        q->live_prev->live_next = q->live_next;
    else
        r->live = q->live_next;
    if (q->live_next)
        q->live_next->live_prev = q->live_prev;
    q->conn = NULL;
    req_unref(q);
}

static void on_client_hangup(rreq *q)
{
    /* The client went away while we waited for the upstream: stop the upstream call. */
    watch_client(q, 0);
    if (q->errclass == SW_ERRC_NONE)
        q->errclass = SW_ERRC_CANCELED;
    cancel_upstream(q);
    q->canceled = 1;
    if (q->st == ST_UPSTREAM || q->st == ST_PIN) {
        q->st = ST_RESPOND;
        q->status = 499;
    }
    resume(q); /* MHD notices the closed socket and ends the request */
}

/* ---- libcurl's multi socket interface on our epoll ---- */

static int curl_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    sw_router *r = userp;
    tag *t = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (t) {
            epoll_ctl(r->epfd, EPOLL_CTL_DEL, s, NULL);
            curl_multi_assign(r->multi, s, NULL);
            free(t);
        }
        return 0;
    }
    int op = EPOLL_CTL_MOD;
    if (!t) {
        t = sw_xcalloc(1, sizeof *t);
        t->kind = TAG_CURL;
        t->fd = s;
        curl_multi_assign(r->multi, s, t);
        op = EPOLL_CTL_ADD;
    }
    struct epoll_event ev = {0};
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.ptr = t;
    if (epoll_ctl(r->epfd, op, s, &ev) < 0 && errno == EEXIST)
        epoll_ctl(r->epfd, EPOLL_CTL_MOD, s, &ev);
    return 0;
}

static int curl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    sw_router *r = userp;
    r->curl_deadline = timeout_ms < 0 ? -1 : now_ms() + (double)timeout_ms;
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) SW_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    sw_router *r = cls;
    char *msg = sw_xvasprintf(fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    sw_router_logf(r, SW_LOG_WARN, "http: %s", msg);
    free(msg);
}

/* Every client socket is in the loop's epoll set for its whole life, for hang-ups only
   (EPOLLRDHUP, edge-triggered): adding and removing it around every wait would cost two
   system calls per request. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    sw_router *r = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
            return;
        tag *t = sw_xcalloc(1, sizeof *t);
        t->kind = TAG_CLIENT;
        t->fd = ci->connect_fd;
        struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLET, .data.ptr = t};
        if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, t->fd, &ev) < 0) {
            free(t);
            return;
        }
        *socket_context = t;
    } else if (*socket_context) {
        tag *t = *socket_context;
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, t->fd, NULL);
        free(t);
        *socket_context = NULL;
    }
}

int sw_server_start(sw_router *r, sw_diags *d)
{
    const sw_router_config *c = r->cfg;
    sw_pos where = {c->file, 0, 0};
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->epfd < 0 || r->wakefd < 0) {
        sw_diag_error(d, where, "epoll/eventfd: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_tag};
    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev);
    r->multi = curl_multi_init();
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, 4096L);
    r->up = sw_up_new(r->epfd, TAG_UP, c->connect_timeout_ms, c->timeout_ms);
    sw_err err = {{0}};
    if (sw_shadow_start(&r->shadow, c->shadow_queue, c->shadow_concurrency, c->shadow_timeout_ms,
                        c->connect_timeout_ms, c->max_response_bytes, r->wakefd, &err) < 0) {
        sw_diag_error(d, where, "%s", err.msg);
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)c->port);
    } else if (inet_pton(AF_INET6, c->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)c->port);
        flags |= MHD_USE_IPv6;
    } else {
        sw_diag_error(d, where, "listen: '%s' is not a numeric address", c->host);
        return -1;
    }
    /* MHD clears a connection's whole memory pool for every request (it was the largest
       single cost of a proxied request at 32 KiB): the header cap plus 4 KiB for the request
       line and one read of the body; larger bodies are read in more, smaller reads. */
    size_t mem = c->max_header_bytes + (4u << 10);
    /* The logger first, so MHD prints nothing of its own (library code never does). */
    r->mhd = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, on_request, r, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, r,
        MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, r, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)c->client_timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
        MHD_OPTION_END);
    if (!r->mhd) {
        sw_diag_error(d, where, "cannot listen on %s:%d (in use, or not an address of this host)",
                      c->host, c->port);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    ev.events = EPOLLIN;
    ev.data.ptr = &mhd_tag;
    epoll_ctl(r->epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev);
    info = MHD_get_daemon_info(r->mhd, MHD_DAEMON_INFO_BIND_PORT);
    r->port = info ? info->port : c->port;
    return 0;
}

int sw_server_loop(sw_router *r)
{
    struct epoll_event evs[256];
    while (!r->stop) {
        double now = now_ms();
        double timeout = 1000;
        if (r->curl_deadline >= 0 && r->curl_deadline - now < timeout)
            timeout = r->curl_deadline - now;
        MHD_UNSIGNED_LONG_LONG mto;
        if (MHD_get_timeout(r->mhd, &mto) == MHD_YES && (double)mto < timeout)
            timeout = (double)mto;
        for (rreq *q = r->retries; q; q = q->retry_next)
            if (q->retry_at - now < timeout)
                timeout = q->retry_at - now;
        double up_wait = sw_up_run(r->up, now);
        if (up_wait >= 0 && up_wait < timeout)
            timeout = up_wait;
        double pin_wait = sw_pin_reads_expire(r, now); /* requests resumed, reads still due */
        if (pin_wait >= 0 && pin_wait < timeout)
            timeout = pin_wait;
        if (r->resumed)
            timeout = 0;
        sw_up_reap(r->up);
        sw_pairs_flush(r);
        int n = epoll_wait(r->epfd, evs, 256, timeout <= 0 ? 0 : (int)ceil(timeout));
        if (n < 0 && errno != EINTR) {
            sw_router_logf(r, SW_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        int running;
        for (int i = 0; i < n; i++) {
            tag *t = evs[i].data.ptr;
            /* Every data.ptr points at an int kind first (tags here, upstream.c's
               connections). */
            switch (*(const int *)evs[i].data.ptr) {
            case TAG_MHD:
                break; /* MHD_run below */
            case TAG_WAKE: {
                uint64_t v;
                ssize_t rd = read(r->wakefd, &v, sizeof v);
                (void)rd;
                sw_pairs_collect(r);
                sw_router_shared_apply(r);
                sw_pin_reads_collect(r);
                break;
            }
            case TAG_CURL: {
                int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                            (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                            (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(r->multi, t->fd, flags, &running);
                break;
            }
            case TAG_CLIENT:
                if (t->req && t->req->suspended)
                    on_client_hangup(t->req);
                break;
            case TAG_UP:
                sw_up_event(r->up, evs[i].data.ptr, evs[i].events);
                break;
            }
        }
        now = now_ms();
        if (r->curl_deadline >= 0 && now >= r->curl_deadline) {
            r->curl_deadline = -1;
            curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        curl_messages(r);
        run_retries(r, now);
        curl_messages(r);
        sw_up_run(r->up, now);
        r->resumed = 0;
        MHD_run(r->mhd);
        /* Requests the MHD run just started want their upstream call made now (libcurl
           asks with a zero timeout): do it here rather than after another epoll_wait. */
        if (r->curl_deadline >= 0 && r->curl_deadline <= now_ms()) {
            r->curl_deadline = -1;
            curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            curl_messages(r);
        }
        /* A connection resumed after MHD_run would otherwise wait for the next wake-up:
           MHD's epoll descriptor does not always become readable for it. */
        for (int i = 0; i < 4 && r->resumed; i++) {
            r->resumed = 0;
            MHD_run(r->mhd);
        }
        sw_router_tick(r, now);
    }
    return 0;
}

void sw_server_stop(sw_router *r)
{
    if (r->mhd) {
        r->stopping = 1;
        MHD_quiesce_daemon(r->mhd);
        /* Every suspended connection must be resumed, and seen by MHD's loop, before MHD
           stops; with stopping set, the requests those connections still send are
           answered without suspending them again. */
        for (rreq *q = r->live; q; q = q->live_next) {
            stop_waiting(q);
            resume(q);
        }
        MHD_run(r->mhd);
        for (int i = 0; i < 8 && (r->resumed || r->n_suspended); i++) {
            r->resumed = 0;
            MHD_run(r->mhd);
        }
        /* The answers just decided are written before the connections close (a little
           while: a client that does not read, or is still sending its body, is not waited
           for). */
        for (int i = 0; i < 50 && r->live; i++) {
            struct pollfd pfd = {r->epfd, POLLIN, 0};
            poll(&pfd, 1, 2);
            MHD_run(r->mhd);
        }
        MHD_stop_daemon(r->mhd);
        r->mhd = NULL;
    }
    sw_pin_reads_free(r); /* their requests are over: only references are left */
    sw_shadow_stop(&r->shadow);
    while (r->retries) {
        rreq *q = r->retries;
        r->retries = q->retry_next;
        req_unref(q);
    }
    for (size_t i = 0; i < r->n_easy_pool; i++)
        curl_easy_cleanup(r->easy_pool[i]);
    free(r->easy_pool);
    r->easy_pool = NULL;
    r->n_easy_pool = 0;
    if (r->multi) {
        curl_multi_cleanup(r->multi);
        r->multi = NULL;
    }
    sw_up_free(r->up);
    r->up = NULL;
    if (r->epfd >= 0)
        close(r->epfd);
    if (r->wakefd >= 0)
        close(r->wakefd);
    r->epfd = r->wakefd = -1;
}
