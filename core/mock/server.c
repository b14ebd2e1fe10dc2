/* server.c - the mock's HTTP server (libmicrohttpd) and the public sw_mock API.
 *
 * One epoll loop (MHD's internal polling thread) answers every connection.
 * A request that must wait - for its latency, its first chunk, the next
 * chunk of a stream, or the end of a stall - suspends its connection and
 * asks the timer to resume it when its time comes; nothing ever sleeps in
 * the loop. MHD forbids stopping a daemon with suspended connections, so a
 * stop flushes the timer (resuming everything) and waits until every
 * suspended connection has been seen again before MHD_stop_daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/fsutil.h"
#include "proto/proto.h"
#include "reply.h"
#include "rng.h"
#include "slipway/mock.h"
#include "stats.h"
#include "timer.h"

#define DEFAULT_MAX_BODY (4u * 1024u * 1024u)
#define IDLE_TIMEOUT_S   300
/* MHD's default is FD_SETSIZE - 4, a select(2) limit that epoll does not have; the
   process's descriptor limit still applies. */
#define MAX_CONNECTIONS 30000
#define STREAM_BLOCK    (16u * 1024u)
/* A wait shorter than this is not worth a trip through the timer. */
#define SLACK_MS 0.2
/* How long a stop waits for the answers it hurried along to be sent. */
#define STOP_DRAIN_MS 2000

struct sw_mock {
    sw_mock_scenario *sc;
    sw_mock_stats *stats;
    sw_mock_timer *timer;
    struct MHD_Daemon *daemon;
    size_t max_body;
    unsigned threads;
    int port;
    char *url;
    int wake[2]; /* sw_mock_request_stop writes, sw_mock_wait reads */
    atomic_int stopping;
    atomic_long suspended; /* connections suspended and not yet seen again */
    atomic_long active;    /* requests MHD has not finished with */
    pthread_mutex_t log_mu;
    char log[256]; /* MHD's last message, for errors at start */
};

typedef enum route {
    R_CHAT, /* the three model endpoints first, in sw_proto_id order */
    R_RESPONSES,
    R_MESSAGES,
    R_MODELS,
    R_MODEL,
    R_STATS,
    R_RESET,
    R_HEALTH,
    R_NOT_FOUND,
    R_BAD_METHOD
} route;

typedef enum action { A_RESPOND, A_DROP, A_HOLD } action;

static int is_model(route r)
{
    return r == R_CHAT || r == R_RESPONSES || r == R_MESSAGES;
}

/* Each protocol's request parser and answer writers. */
typedef struct wire_fns {
    int (*parse)(const char *body, size_t len, const sw_mock_scenario *sc, sw_mock_req *out,
                 sw_mock_refusal *why);
    char *(*answer)(const sw_mock_answer *a, const sw_mock_wire *w);
    /* the stream's events; NULL for chat, whose writer also takes include_usage */
    char **(*events)(const sw_mock_answer *a, const sw_mock_wire *w, int chunk_bytes, size_t *n,
                     size_t *n_head, size_t *n_body);
    const char *id_prefix; /* the answer's id: this, and a counter in 12 digits */
} wire_fns;

static const wire_fns wires[SW_PROTO_COUNT] = {
    {sw_mock_req_parse, sw_mock_completion_json, NULL, "chatcmpl-mock-"},
    {sw_mock_req_parse_responses, sw_mock_response_json, sw_mock_response_events, "resp_mock_"},
    {sw_mock_req_parse_messages, sw_mock_message_json, sw_mock_message_events, "msg_mock_"},
};

/* One request: its body, and once decided, its response and when to send it. */
typedef struct req_ctx {
    sw_mock *m;
    route route;
    const char *allow; /* R_BAD_METHOD */
    const char *url;
    const sw_proto *proto; /* the error shape: the model endpoint's, else chat's */
    int counted;           /* not a request under /mock/ */
    sw_buf body;
    int too_large;
    int decided;
    int suspended;
    action action;
    unsigned status;
    struct MHD_Response *resp;
    double arrived; /* when the headers were in: latencies count from here */
    double due;
} req_ctx;

/* A streamed answer: its events, each with the time it may be sent. */
typedef struct stream {
    sw_mock *m;
    struct MHD_Connection *conn;
    char **events;
    size_t n_events; /* allocated */
    size_t n_send;   /* sent; fewer than n_events when the stream stalls */
    double *due;
    size_t next, off;
    double hold_until; /* a stall: after n_send events, silence until then, then close */
    int suspended;
} stream;

/* ---- helpers ---- */

static void resume_conn(void *arg)
{
    MHD_resume_connection(arg);
}

/* Suspend conn until due; the caller returns from its MHD callback at once. */
static void wait_until(sw_mock *m, struct MHD_Connection *conn, int *flag, double due)
{
    *flag = 1;
    atomic_fetch_add(&m->suspended, 1);
    MHD_suspend_connection(conn);
    sw_mock_timer_add(m->timer, due, resume_conn, conn);
}

/* Called first in every callback that may follow a suspension. */
static void seen_again(sw_mock *m, int *flag)
{
    if (*flag) {
        *flag = 0;
        atomic_fetch_sub(&m->suspended, 1);
    }
}

static struct MHD_Response *json_response(char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return r;
}

static void set_response(req_ctx *rc, unsigned status, char *json_text)
{
    if (rc->resp)
        MHD_destroy_response(rc->resp);
    rc->status = status;
    rc->resp = json_response(json_text);
}

static void set_error(req_ctx *rc, unsigned status, const char *message, const char *type,
                      const char *code, const char *param)
{
    json_t *j = sw_proto_error(rc->proto, (int)status, type, code, param, message);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    set_response(rc, status, text);
}

/* ---- streams ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *st = cls;
    sw_mock *m = st->m;
    seen_again(m, &st->suspended);
    if (atomic_load(&m->stopping))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    double now = sw_now_ms();
    size_t n = 0;
    while (st->next < st->n_send && st->due[st->next] <= now + SLACK_MS && n < max) {
        const char *ev = st->events[st->next];
        size_t len = strlen(ev) - st->off;
        size_t k = len < max - n ? len : max - n;
        memcpy(buf + n, ev + st->off, k);
        n += k;
        st->off += k;
        if (st->off == strlen(ev)) {
            st->next++;
            st->off = 0;
        }
    }
    if (n > 0)
        return (ssize_t)n;
    if (st->next < st->n_send) {
        wait_until(m, st->conn, &st->suspended, st->due[st->next]);
        return 0;
    }
    if (st->hold_until > 0) {
        if (now + SLACK_MS < st->hold_until) {
            wait_until(m, st->conn, &st->suspended, st->hold_until);
            return 0;
        }
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
    stream *st = cls;
    seen_again(st->m, &st->suspended);
    sw_mock_events_free(st->events, st->n_events);
    free(st->due);
    free(st);
}

/* The first event at start + ttft, the last at start + max(latency, ttft), the
   others evenly between. */
static struct MHD_Response *stream_response(sw_mock *m, struct MHD_Connection *conn, char **events,
                                            size_t n, size_t n_send, double start, double ttft,
                                            double latency, double hold_until)
{
    stream *st = sw_xcalloc(1, sizeof *st);
    st->m = m;
    st->conn = conn;
    st->events = events;
    st->n_events = n;
    st->n_send = n_send;
    st->hold_until = hold_until;
    st->due = sw_xcalloc(n, sizeof *st->due);
    double first = start + ttft, last = start + (latency > ttft ? latency : ttft);
    for (size_t i = 0; i < n; i++)
        st->due[i] = n > 1 ? first + (last - first) * (double)i / (double)(n - 1) : first;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                               stream_read, st, stream_free);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return r;
}

/* ---- model requests ---- */

static void decide_fault(req_ctx *rc, const sw_mock_fault *f, double start)
{
    sw_mock *m = rc->m;
    sw_mock_stats_injected(m->stats, f->kind);
    char ra[24];
    snprintf(ra, sizeof ra, "%d", f->retry_after);
    switch (f->kind) {
    case SW_MOCK_FAULT_429:
        set_error(rc, 429,
                  f->message ? f->message
                             : "Rate limit reached for requests (injected by slipway mock)",
                  "requests", "rate_limit_exceeded", NULL);
        break;
    case SW_MOCK_FAULT_500:
        set_error(rc, 500,
                  f->message ? f->message
                             : "The server had an error while processing your request "
                               "(injected by slipway mock)",
                  "server_error", NULL, NULL);
        break;
    case SW_MOCK_FAULT_503:
        set_error(rc, 503,
                  f->message ? f->message
                             : "The engine is currently overloaded, please try again later "
                               "(injected by slipway mock)",
                  "server_error", "service_unavailable", NULL);
        break;
    case SW_MOCK_FAULT_DROP:
        rc->action = A_DROP;
        return;
    case SW_MOCK_FAULT_STALL:
        rc->action = A_HOLD;
        rc->due = start + (double)f->stall_ms;
        return;
    default:
        return;
    }
    if (f->retry_after >= 0)
        MHD_add_response_header(rc->resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    rc->due = start;
}

/* A latency times a modifier's scale, no longer than an hour (what a scenario
   may write itself). */
static double scaled_ms(double ms, double scale)
{
    double x = ms * scale;
    return x < 3600e3 ? x : 3600e3;
}

static void decide_model(req_ctx *rc, struct MHD_Connection *conn)
{
    sw_mock *m = rc->m;
    const wire_fns *wire = &wires[rc->proto->id];
    /* Time spent reading the body and waiting behind other requests is part of
       the latency a client sees, so the clock started when the request came. */
    double start = rc->arrived;
    rc->due = sw_now_ms();
    if (rc->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "Request body too large: the limit is %zu bytes", m->max_body);
        set_error(rc, 413, msg, "invalid_request_error", "request_too_large", NULL);
        return;
    }
    sw_mock_req q;
    sw_mock_refusal why;
    if (wire->parse(rc->body.data ? rc->body.data : "", rc->body.len, m->sc, &q, &why) < 0) {
        set_error(rc, (unsigned)why.status, why.message, why.type, why.code, why.param);
        sw_mock_req_free(&q);
        return;
    }
    char **ucaps, **scaps;
    const sw_mock_rule *rule = sw_mock_select(m->sc, &q, &ucaps, &scaps);
    uint64_t nth = sw_mock_stats_rule(m->stats, rule->index);
    uint64_t id = sw_mock_stats_next_id(m->stats);
    sw_mock_rng g = sw_mock_rng_for(m->sc->seed, rule->index, nth);
    const sw_mock_fault *f = sw_mock_fault_pick(rule, sw_mock_rng_uniform(&g));
    double latency_scale, usage_scale;
    sw_mock_scales(m->sc, &q, &latency_scale, &usage_scale);
    double latency = scaled_ms(sw_mock_latency_sample(&rule->latency, &g), latency_scale);
    double ttft = rule->has_ttft ? scaled_ms(sw_mock_latency_sample(&rule->ttft, &g), latency_scale)
                                 : latency;
    if (q.stream)
        sw_mock_stats_stream(m->stats);
    if (f && !(f->kind == SW_MOCK_FAULT_STALL && q.stream)) {
        decide_fault(rc, f, start);
    } else {
        sw_mock_answer a;
        sw_mock_answer_build(rule, &q, ucaps, scaps, sw_mock_rng_next(&g), &a);
        a.prompt_tokens = (int64_t)llround((double)a.prompt_tokens * usage_scale);
        a.completion_tokens = (int64_t)llround((double)a.completion_tokens * usage_scale);
        char cid[40];
        snprintf(cid, sizeof cid, "%s%012llu", wire->id_prefix, (unsigned long long)id);
        sw_mock_wire w = {cid, q.model, (long long)time(NULL)};
        sw_mock_stats_tokens(m->stats, a.prompt_tokens, a.completion_tokens);
        if (q.stream) {
            size_t n, n_head = 1, n_body;
            char **events = wire->events
                                ? wire->events(&a, &w, rule->chunk_bytes, &n, &n_head, &n_body)
                                : sw_mock_stream_events(&a, &w, q.include_usage, rule->chunk_bytes,
                                                        &n, &n_body);
            size_t n_send = n;
            double hold = 0;
            if (f) { /* a stall: the opening events and half the deltas, then silence */
                sw_mock_stats_injected(m->stats, f->kind);
                n_send = n_head + (n_body - n_head) / 2;
                hold = start + (double)f->stall_ms;
            }
            rc->status = 200;
            rc->resp = stream_response(m, conn, events, n, n_send, start, ttft, latency, hold);
        } else {
            set_response(rc, 200, wire->answer(&a, &w));
            rc->due = start + latency;
        }
        sw_mock_answer_free(&a);
    }
    sw_mock_caps_free(ucaps);
    sw_mock_caps_free(scaps);
    sw_mock_req_free(&q);
}

/* ---- routing ---- */

static route route_of(const char *url, const char *method, const char **allow)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    const char *path = strncmp(url, "/v1/", 4) == 0 ? url + 3 : url;
    route r;
    const sw_proto *p = sw_proto_for_path(path);
    if (p) {
        *allow = "POST";
        r = post ? (route)(R_CHAT + p->id) : R_BAD_METHOD;
    } else if (strcmp(path, "/models") == 0) {
        *allow = "GET, HEAD";
        r = get ? R_MODELS : R_BAD_METHOD;
    } else if (strncmp(path, "/models/", 8) == 0 && path[8]) {
        *allow = "GET, HEAD";
        r = get ? R_MODEL : R_BAD_METHOD;
    } else if (strcmp(url, "/mock/stats") == 0) {
        *allow = "GET, HEAD";
        r = get ? R_STATS : R_BAD_METHOD;
    } else if (strcmp(url, "/mock/reset") == 0) {
        *allow = "POST";
        r = post ? R_RESET : R_BAD_METHOD;
    } else if (strcmp(url, "/health") == 0) {
        *allow = "GET, HEAD";
        r = get ? R_HEALTH : R_BAD_METHOD;
    } else {
        r = R_NOT_FOUND;
    }
    return r;
}

static void decide(req_ctx *rc, struct MHD_Connection *conn)
{
    sw_mock *m = rc->m;
    rc->decided = 1;
    rc->due = sw_now_ms();
    char msg[300];
    switch (rc->route) {
    case R_CHAT:
    case R_RESPONSES:
    case R_MESSAGES:
        decide_model(rc, conn);
        break;
    case R_MODELS:
        set_response(rc, 200, sw_mock_models_json(m->sc, NULL));
        break;
    case R_MODEL: {
        const char *id = strrchr(rc->url, '/') + 1;
        char *text = sw_mock_models_json(m->sc, id);
        if (text) {
            set_response(rc, 200, text);
        } else {
            snprintf(msg, sizeof msg, "The model '%.200s' does not exist", id);
            set_error(rc, 404, msg, "invalid_request_error", "model_not_found", "model");
        }
        break;
    }
    case R_STATS:
        set_response(rc, 200, sw_mock_stats_to_json(m->stats));
        break;
    case R_RESET:
        sw_mock_stats_reset(m->stats);
        set_response(rc, 200, sw_xstrdup("{\"reset\":true}"));
        break;
    case R_HEALTH:
        set_response(rc, 200, sw_xstrdup("{\"status\":\"ok\"}"));
        break;
    case R_BAD_METHOD:
        snprintf(msg, sizeof msg, "Method not allowed on %.200s (allowed: %s)", rc->url, rc->allow);
        set_error(rc, 405, msg, "invalid_request_error", "method_not_allowed", NULL);
        MHD_add_response_header(rc->resp, MHD_HTTP_HEADER_ALLOW, rc->allow);
        break;
    case R_NOT_FOUND:
        snprintf(msg, sizeof msg, "Unknown request URL: %.200s", rc->url);
        set_error(rc, 404, msg, "invalid_request_error", "unknown_url", NULL);
        break;
    }
}

static enum MHD_Result send_decided(req_ctx *rc, struct MHD_Connection *conn)
{
    if (atomic_load(&rc->m->stopping))
        MHD_add_response_header(rc->resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, rc->status, rc->resp);
    MHD_destroy_response(rc->resp);
    rc->resp = NULL;
    if (rc->counted)
        sw_mock_stats_status(rc->m->stats, rc->status);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    sw_mock *m = cls;
    req_ctx *rc = *con_cls;
    if (!rc) {
        rc = sw_xcalloc(1, sizeof *rc);
        rc->m = m;
        rc->url = url;
        rc->route = route_of(url, method, &rc->allow);
        rc->proto =
            sw_proto_get(is_model(rc->route) ? (sw_proto_id)(rc->route - R_CHAT) : SW_PROTO_CHAT);
        rc->counted = strncmp(url, "/mock/", 6) != 0;
        rc->arrived = sw_now_ms();
        *con_cls = rc;
        atomic_fetch_add(&m->active, 1);
        if (rc->counted) {
            sw_mock_stats_request(m->stats, is_model(rc->route) ? rc->proto->name : NULL);
            sw_mock_stats_open(m->stats, 1);
        }
        /* A declared length over the cap is refused before the body is read. */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (is_model(rc->route) && cl && strtoull(cl, NULL, 10) > m->max_body) {
            rc->too_large = 1;
            decide(rc, conn);
            return send_decided(rc, conn);
        }
        return MHD_YES;
    }
    seen_again(m, &rc->suspended);
    if (*upload_size) {
        if (is_model(rc->route) && !rc->too_large) {
            if (rc->body.len + *upload_size > m->max_body) {
                rc->too_large = 1;
                sw_buf_free(&rc->body);
            } else {
                sw_buf_append(&rc->body, upload_data, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!rc->decided)
        decide(rc, conn);
    if (rc->action == A_DROP)
        return MHD_NO;
    if (!atomic_load(&m->stopping) && sw_now_ms() + SLACK_MS < rc->due) {
        wait_until(m, conn, &rc->suspended, rc->due);
        return MHD_YES;
    }
    if (rc->action == A_HOLD)
        return MHD_NO;
    return send_decided(rc, conn);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    sw_mock *m = cls;
    req_ctx *rc = *con_cls;
    if (!rc)
        return;
    seen_again(m, &rc->suspended);
    atomic_fetch_sub(&m->active, 1);
    if (rc->counted)
        sw_mock_stats_open(m->stats, -1);
    if (rc->resp)
        MHD_destroy_response(rc->resp);
    sw_buf_free(&rc->body);
    free(rc);
    *con_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap) SW_PRINTF(2, 0);

static void on_log(void *cls, const char *fmt, va_list ap)
{
    sw_mock *m = cls;
    pthread_mutex_lock(&m->log_mu);
    vsnprintf(m->log, sizeof m->log, fmt, ap);
    size_t n = strlen(m->log);
    while (n > 0 && (m->log[n - 1] == '\n' || m->log[n - 1] == '.'))
        m->log[--n] = '\0';
    pthread_mutex_unlock(&m->log_mu);
}

/* ---- listening ---- */

static void fail(sw_diags *d, const char *fmt, ...) SW_PRINTF(2, 3);

static void fail(sw_diags *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_diag_error(d, (sw_pos){0}, "%s", msg);
    free(msg);
}

/* "HOST:PORT", "[V6]:PORT" or "PORT" into host and port texts. */
static int split_listen(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        snprintf(host, hsize, "%.*s", (int)(close - addr - 1), addr + 1);
        colon = close + 1;
    } else if ((colon = strrchr(addr, ':'))) {
        snprintf(host, hsize, "%.*s", (int)(colon - addr), addr);
    } else {
        snprintf(host, hsize, "127.0.0.1");
        colon = addr - 1;
    }
    snprintf(port, psize, "%s", colon + 1);
    if (!*host || !*port)
        return -1;
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return atoi(port) <= 65535 ? 0 : -1;
}

static int open_listener(const char *where, int *port, char **url, int *v6, sw_diags *d)
{
    char host[256], portstr[16];
    if (split_listen(where, host, sizeof host, portstr, sizeof portstr) < 0) {
        fail(d, "listen address '%s': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:0", where);
        return -1;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        fail(d, "listen on '%s': %s", where, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        fail(d, "listen on '%s': %s", where, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char addr[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        *port = ntohs(s6->sin6_port);
        inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
        *url = sw_xasprintf("http://[%s]:%d", addr, *port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        *port = ntohs(s4->sin_port);
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
        *url = sw_xasprintf("http://%s:%d", addr, *port);
    }
    return fd;
}

/* ---- the public API ---- */

sw_mock *sw_mock_new(sw_mock_scenario *scenario)
{
    sw_mock *m = sw_xcalloc(1, sizeof *m);
    m->sc = scenario ? scenario : sw_mock_scenario_default();
    m->max_body = DEFAULT_MAX_BODY;
    m->threads = 1;
    m->wake[0] = m->wake[1] = -1;
    if (pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        abort(); /* out of descriptors at start-up: nothing sensible to do */
    pthread_mutex_init(&m->log_mu, NULL);
    atomic_init(&m->stopping, 0);
    atomic_init(&m->suspended, 0);
    atomic_init(&m->active, 0);
    return m;
}

void sw_mock_set_max_body(sw_mock *m, size_t bytes)
{
    m->max_body = bytes ? bytes : DEFAULT_MAX_BODY;
}

void sw_mock_set_threads(sw_mock *m, unsigned threads)
{
    m->threads = threads ? threads : 1;
}

int sw_mock_listen(sw_mock *m, const char *address, sw_diags *d)
{
    if (m->daemon) {
        fail(d, "the mock server is already listening on %s", m->url);
        return -1;
    }
    int v6 = 0, port = 0;
    char *url = NULL;
    int fd = open_listener(address ? address : "127.0.0.1:0", &port, &url, &v6, d);
    if (fd < 0)
        return -1;
    sw_mock_stats_free(m->stats); /* listening again starts from zero */
    m->stats = sw_mock_stats_new(m->sc);
    m->timer = sw_mock_timer_new();
    atomic_store(&m->stopping, 0);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
#ifdef __linux__
    flags |= MHD_USE_EPOLL;
#else
    flags |= MHD_USE_AUTO;
#endif
    if (v6)
        flags |= MHD_USE_IPv6;
    m->log[0] = '\0';
    m->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_log, m,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_done, m,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONNECTIONS, MHD_OPTION_THREAD_POOL_SIZE, m->threads > 1 ? m->threads : 0u,
        MHD_OPTION_END);
    if (!m->daemon) {
        fail(d, "cannot start the mock server on %s%s%s", url, m->log[0] ? ": " : "", m->log);
        close(fd);
        free(url);
        sw_mock_timer_free(m->timer);
        sw_mock_stats_free(m->stats);
        m->timer = NULL;
        m->stats = NULL;
        return -1;
    }
    m->port = port;
    m->url = url;
    return 0;
}

int sw_mock_port(const sw_mock *m)
{
    return m->port;
}

const char *sw_mock_url(const sw_mock *m)
{
    return m->url;
}

int sw_mock_write_port_file(const sw_mock *m, const char *path, sw_diags *d)
{
    if (!m->daemon) {
        fail(d, "port file '%s': the mock server is not listening", path);
        return -1;
    }
    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", m->port);
    sw_err err;
    if (sw_write_file_atomic(path, text, (size_t)n, &err) < 0) {
        fail(d, "port file: %s", err.msg);
        return -1;
    }
    return 0;
}

void sw_mock_request_stop(sw_mock *m)
{
    /* write(2) is async-signal-safe; a full pipe already holds a wake-up. */
    ssize_t rc = write(m->wake[1], "x", 1);
    (void)rc;
}

int sw_mock_wait(sw_mock *m)
{
    for (;;) {
        struct pollfd p = {m->wake[0], POLLIN, 0};
        int rc = poll(&p, 1, -1);
        if (rc < 0 && errno != EINTR)
            break;
        char c;
        if (rc > 0 && read(m->wake[0], &c, 1) == 1)
            break;
    }
    sw_mock_stop(m);
    return 0;
}

void sw_mock_stop(sw_mock *m)
{
    if (!m || !m->daemon)
        return;
    atomic_store(&m->stopping, 1);
    /* No new connections; the listening socket is ours to close from now on. */
    MHD_socket listener = MHD_quiesce_daemon(m->daemon);
    sw_mock_timer_flush(m->timer);
    /* Waiting requests are answered at once (with Connection: close), streams
       and stalls are cut: give MHD a moment to send those answers. Resumed
       connections also leave MHD's suspended list only when its loop sees
       them, and stopping before that is an API violation; with stopping set,
       nothing is suspended anew. */
    double until = sw_now_ms() + STOP_DRAIN_MS;
    while ((atomic_load(&m->suspended) > 0 || atomic_load(&m->active) > 0) && sw_now_ms() < until) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(m->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    m->daemon = NULL;
    sw_mock_timer_free(m->timer);
    m->timer = NULL;
}

char *sw_mock_stats_json(sw_mock *m)
{
    return m->stats ? sw_mock_stats_to_json(m->stats) : sw_xstrdup("{}");
}

void sw_mock_free(sw_mock *m)
{
    if (!m)
        return;
    sw_mock_stop(m);
    sw_mock_stats_free(m->stats);
    sw_mock_scenario_free(m->sc);
    free(m->url);
    close(m->wake[0]);
    close(m->wake[1]);
    pthread_mutex_destroy(&m->log_mu);
    free(m);
}
