/* upstream.c - a keep-alive HTTP/1.1 client for plain http:// upstreams, on the loop's epoll. */
#include "upstream.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/util.h"
#include "hmap.h"

#define READ_CHUNK    (16u << 10)
#define MAX_HEAD      (64u << 10) /* an answer's status line and headers together */
#define IDLE_MAX_MS   60000.0     /* idle connections older than this are closed */
#define POOL_IDLE_MAX 4096

typedef struct pool pool;
typedef struct conn conn;

struct conn {
    int kind; /* first: what the loop dispatches epoll events on */
    int fd;
    pool *pool;
    sw_up_call *call;  /* NULL: idle in its pool (or closed) */
    conn *prev, *next; /* the pool's idle list (newest first), or the dead list */
    double idle_since;
    int connecting, reused;
    char *rbuf;
    size_t rlen, roff, rcap;
};

struct pool {
    char *host; /* the URL's authority, as sent in Host */
    struct sockaddr_storage sa;
    socklen_t salen;
    conn *idle, *idle_tail;
    size_t n_idle;
};

enum { P_STATUS, P_HEADERS, P_CL, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_EOF };

struct sw_up_call {
    sw_up *up;
    conn *k;
    pool *pool;
    const sw_up_fns *fns;
    void *ud;
    char *head; /* request line and headers */
    size_t head_len;
    const char *body;
    size_t body_len, woff;
    double t_start, deadline;
    sw_up_call *tprev, *tnext; /* the deadline list, soonest first */
    sw_up_call *pprev, *pnext; /* the deferred-work list */
    int in_timers, pending, paused, stale_retried;
    int write_err; /* the request could not be sent whole (errno) */
    sw_up_result fail;
    char *fail_msg;
    /* the answer */
    int ps, status, http10, keepalive, chunked, has_cl;
    uint64_t remain, received;
    size_t head_bytes;
    char *ctype;
};

struct sw_up {
    int epfd, kind;
    long connect_timeout_ms, timeout_ms;
    int proxy;  /* a proxy is configured in the environment: leave everything to libcurl */
    int in_api; /* inside start/cancel/unpause: failures wait for sw_up_run */
    sw_hmap pools;
    sw_up_call *timers, *timers_tail;
    sw_up_call *pend, *pend_tail;
    conn *dead;
    double next_idle_check;
};

/* ---- lists ---- */

static void timers_del(sw_up_call *c)
{
    if (!c->in_timers)
        return;
    sw_up *up = c->up;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        up->timers = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        up->timers_tail = c->tprev;
    c->tprev = c->tnext = NULL;
    c->in_timers = 0;
}

/* Deadlines are mostly set in increasing order (one timeout for every call), so the
   place is found from the tail, nearly always at once. */
static void timers_set(sw_up_call *c, double deadline)
{
    sw_up *up = c->up;
    timers_del(c);
    c->deadline = deadline;
    sw_up_call *after = up->timers_tail;
    while (after && after->deadline > deadline)
        after = after->tprev;
    c->tprev = after;
    c->tnext = after ? after->tnext : up->timers;
    if (c->tnext)
        c->tnext->tprev = c;
    else
        up->timers_tail = c;
    if (after)
        after->tnext = c;
    else
        up->timers = c;
    c->in_timers = 1;
}

static void pend_add(sw_up_call *c)
{
    sw_up *up = c->up;
    if (c->pending)
        return;
    c->pnext = NULL;
    c->pprev = up->pend_tail;
    if (up->pend_tail)
        up->pend_tail->pnext = c;
    else
        up->pend = c;
    up->pend_tail = c;
    c->pending = 1;
}

static void pend_del(sw_up_call *c)
{
    sw_up *up = c->up;
    if (!c->pending)
        return;
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else
        up->pend = c->pnext;
    if (c->pnext)
        c->pnext->pprev = c->pprev;
    else
        up->pend_tail = c->pprev;
    c->pprev = c->pnext = NULL;
    c->pending = 0;
}

static void idle_del(conn *k)
{
    pool *p = k->pool;
    if (k->prev)
        k->prev->next = k->next;
    else
        p->idle = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        p->idle_tail = k->prev;
    k->prev = k->next = NULL;
    p->n_idle--;
}

/* ---- connections ---- */

/* Closed at once (which also takes it out of the epoll set); freed by sw_up_reap, as an
   event of the current batch may still point at it. */
static void conn_close(sw_up *up, conn *k)
{
    if (k->fd < 0)
        return;
    if (!k->call)
        idle_del(k);
    else if (k->call->k == k)
        k->call->k = NULL;
    k->call = NULL;
    close(k->fd);
    k->fd = -1;
    k->next = up->dead;
    up->dead = k;
}

static conn *conn_open(sw_up *up, pool *p, int *connecting)
{
    int fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *connecting = 0;
    if (connect(fd, (struct sockaddr *)&p->sa, p->salen) < 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            errno = e;
            return NULL;
        }
        *connecting = 1;
    }
    conn *k = sw_xcalloc(1, sizeof *k);
    k->kind = up->kind;
    k->fd = fd;
    k->pool = p;
    k->connecting = *connecting;
    /* Registered once for its whole life, edge-triggered: no epoll_ctl per call. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = k};
    if (epoll_ctl(up->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        close(fd);
        free(k);
        errno = e;
        return NULL;
    }
    return k;
}

static void conn_free(conn *k)
{
    free(k->rbuf);
    free(k);
}

/* ---- ending a call ---- */

static void call_free(sw_up_call *c)
{
    free(c->head);
    free(c->ctype);
    free(c->fail_msg);
    free(c);
}

static void call_end(sw_up_call *c, sw_up_result res, const char *msg)
{
    timers_del(c);
    pend_del(c);
    c->fns->done(c->ud, res, msg);
    call_free(c);
}

static void fail(sw_up_call *c, sw_up_result res, const char *fmt, ...) SW_PRINTF(3, 4);
static void fail(sw_up_call *c, sw_up_result res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    if (c->k)
        conn_close(c->up, c->k);
    if (c->up->in_api) {
        free(c->fail_msg);
        c->fail_msg = msg;
        c->fail = res;
        pend_add(c);
        return;
    }
    call_end(c, res, msg);
    free(msg);
}

static void finish(sw_up_call *c)
{
    conn *k = c->k;
    pool *p = k->pool;
    k->call = NULL;
    c->k = NULL;
    /* Kept only when the whole request went out: an early answer (a 413 before the body
       was read) leaves the rest of the body in the way of the next request. */
    int sent = c->woff == c->head_len + c->body_len && !c->write_err;
    if (c->keepalive && sent && k->roff == k->rlen && p->n_idle < POOL_IDLE_MAX) {
        k->roff = k->rlen = 0;
        k->idle_since = sw_now_ms();
        k->prev = NULL;
        k->next = p->idle;
        if (p->idle)
            p->idle->prev = k;
        else
            p->idle_tail = k;
        p->idle = k;
        p->n_idle++;
    } else {
        k->call = c; /* conn_close detaches it */
        conn_close(c->up, k);
    }
    call_end(c, SW_UP_OK, NULL);
}

/* ---- writing ---- */

static void write_request(sw_up_call *c);

/* A kept-alive connection the upstream closed in the meantime: the request goes once
   more on a new connection, as nothing of an answer arrived. */
static int retry_fresh(sw_up_call *c)
{
    if (!c->k || !c->k->reused || c->stale_retried || c->received)
        return 0;
    c->stale_retried = 1;
    conn_close(c->up, c->k);
    int connecting;
    conn *k = conn_open(c->up, c->pool, &connecting);
    if (!k) {
        fail(c, SW_UP_CONNECT, "Failed to connect to %s: %s", c->pool->host, strerror(errno));
        return 1;
    }
    k->call = c;
    c->k = k;
    c->woff = 0;
    c->ps = P_STATUS;
    c->head_bytes = 0;
    if (!connecting)
        write_request(c);
    return 1;
}

static void write_request(sw_up_call *c)
{
    conn *k = c->k;
    size_t total = c->head_len + c->body_len;
    while (c->woff < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->woff < c->head_len) {
            iov[n].iov_base = c->head + c->woff;
            iov[n++].iov_len = c->head_len - c->woff;
            if (c->body_len) {
                iov[n].iov_base = (void *)c->body;
                iov[n++].iov_len = c->body_len;
            }
        } else {
            iov[n].iov_base = (void *)(c->body + (c->woff - c->head_len));
            iov[n++].iov_len = total - c->woff;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(k->fd, &mh, MSG_NOSIGNAL);
        if (w > 0) {
            c->woff += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* EPOLLOUT says when to go on */
        int e = w < 0 ? errno : EPIPE;
        if (retry_fresh(c))
            return;
        /* The upstream may have answered early (a 413, say) and closed: read what is
           there before calling it a send failure (at the next sw_up_run, never inside
           sw_up_start). */
        c->write_err = e;
        c->woff = total;
        pend_add(c);
        return;
    }
}

/* ---- parsing the answer ---- */

/* Whether line is the header name; *v gets the value, trimmed. */
static int header_is(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return 0;
    const char *s = line + nl + 1, *e = line + n;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *v = s;
    *vn = (size_t)(e - s);
    return 1;
}

static int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0)
            return 1;
    return 0;
}

/* The end of the headers: what the body looks like. 0: go on; -1: the call ended. */
static int head_end(sw_up_call *c)
{
    if (c->status >= 100 && c->status < 200) {
        if (c->status == 101) {
            fail(c, SW_UP_RECV, "the upstream switched protocols");
            return -1;
        }
        c->ps = P_STATUS; /* an interim answer: the real one follows */
        return 0;
    }
    c->fns->head(c->ud, c->status, c->ctype);
    if (c->status == 204 || c->status == 304 || (c->has_cl && c->remain == 0 && !c->chunked)) {
        finish(c);
        return -1;
    }
    if (c->chunked) {
        c->ps = P_CHUNK_SIZE;
    } else if (c->has_cl) {
        c->ps = P_CL;
    } else {
        c->ps = P_EOF;
        c->keepalive = 0;
    }
    return 0;
}

/* One line of the head or of the chunk framing. 0: go on; -1: the call ended. */
static int line(sw_up_call *c, const char *s, size_t n)
{
    const char *v;
    size_t vn;
    switch (c->ps) {
    case P_STATUS:
        if (n == 0)
            return 0;
        if (n < 12 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ' || s[9] < '1' || s[9] > '5' ||
            s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9') {
            fail(c, SW_UP_RECV, "the upstream's answer is not HTTP/1.x");
            return -1;
        }
        c->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
        c->http10 = s[7] == '0';
        c->keepalive = !c->http10;
        c->chunked = c->has_cl = 0;
        c->remain = 0;
        free(c->ctype);
        c->ctype = NULL;
        c->ps = P_HEADERS;
        return 0;
    case P_HEADERS:
        if (n == 0)
            return head_end(c);
        if (header_is(s, n, "content-length", &v, &vn)) {
            char *end;
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(vn < 31 ? vn : 31), v);
            unsigned long long x = strtoull(tmp, &end, 10);
            if (end == tmp || *end) {
                fail(c, SW_UP_RECV, "the upstream sent a bad Content-Length");
                return -1;
            }
            c->has_cl = 1;
            c->remain = x;
        } else if (header_is(s, n, "transfer-encoding", &v, &vn)) {
            c->chunked = has_token(v, vn, "chunked");
        } else if (header_is(s, n, "connection", &v, &vn)) {
            if (has_token(v, vn, "close"))
                c->keepalive = 0;
            else if (has_token(v, vn, "keep-alive"))
                c->keepalive = 1;
        } else if (header_is(s, n, "content-type", &v, &vn)) {
            free(c->ctype);
            c->ctype = sw_xstrndup(v, vn);
        }
        return 0;
    case P_CHUNK_SIZE: {
        uint64_t x = 0;
        size_t i = 0;
        for (; i < n && i < 16; i++) {
            int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                    : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                    : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                                 : -1;
            if (d < 0)
                break;
            x = x * 16 + (uint64_t)d;
        }
        if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t')) {
            fail(c, SW_UP_RECV, "the upstream sent a bad chunk size");
            return -1;
        }
        c->remain = x;
        c->ps = x ? P_CHUNK_DATA : P_TRAILER;
        return 0;
    }
    case P_CHUNK_END:
        if (n != 0) {
            fail(c, SW_UP_RECV, "the upstream's chunk does not end with CRLF");
            return -1;
        }
        c->ps = P_CHUNK_SIZE;
        return 0;
    case P_TRAILER:
        if (n == 0) {
            finish(c);
            return -1;
        }
        return 0;
    }
    return 0;
}

/* Hand n body bytes at the read position to the caller. 0: taken; -1: paused or ended. */
static int deliver(sw_up_call *c, size_t n)
{
    conn *k = c->k;
    size_t r = c->fns->body(c->ud, k->rbuf + k->roff, n);
    if (r == SW_UP_PAUSE) {
        c->paused = 1;
        return -1;
    }
    if (r != n) {
        fail(c, SW_UP_ABORTED, "Failure writing output to destination");
        return -1;
    }
    k->roff += n;
    return 0;
}

/* Everything buffered. 1: wants more bytes; 0: paused, or the call ended. */
static int parse(sw_up_call *c)
{
    conn *k = c->k;
    for (;;) {
        size_t avail = k->rlen - k->roff;
        char *p = k->rbuf + k->roff;
        switch (c->ps) {
        case P_CL:
        case P_CHUNK_DATA:
        case P_EOF: {
            if (!avail)
                return 1;
            size_t n = c->ps == P_EOF || avail < c->remain ? avail : (size_t)c->remain;
            if (deliver(c, n) < 0)
                return 0;
            if (c->ps == P_EOF)
                return 1;
            c->remain -= n;
            if (c->remain)
                return 1;
            if (c->ps == P_CL) {
                finish(c);
                return 0;
            }
            c->ps = P_CHUNK_END;
            break;
        }
        default: {
            char *nl = memchr(p, '\n', avail);
            if (!nl) {
                if (avail > MAX_HEAD) {
                    fail(c, SW_UP_RECV, "the upstream sent a line longer than %u bytes", MAX_HEAD);
                    return 0;
                }
                return 1;
            }
            size_t n = (size_t)(nl - p);
            k->roff += n + 1;
            if (c->ps == P_STATUS || c->ps == P_HEADERS) {
                c->head_bytes += n + 1;
                if (c->head_bytes > MAX_HEAD) {
                    fail(c, SW_UP_RECV, "the upstream's headers are larger than %u bytes",
                         MAX_HEAD);
                    return 0;
                }
            }
            if (n && p[n - 1] == '\r')
                n--;
            if (line(c, p, n) < 0)
                return 0;
        }
        }
    }
}

static void read_eof(sw_up_call *c, int err)
{
    if (c->ps == P_EOF && !err) {
        finish(c); /* an answer without length ends with the connection */
        return;
    }
    if (retry_fresh(c))
        return;
    if (!c->received && c->write_err) {
        fail(c, SW_UP_SEND, "Send failure: %s", strerror(c->write_err));
        return;
    }
    if (!c->received) {
        if (err)
            fail(c, SW_UP_RECV, "Recv failure: %s", strerror(err));
        else
            fail(c, SW_UP_NOTHING, "Empty reply from server");
        return;
    }
    if (err)
        fail(c, SW_UP_RECV, "Recv failure: %s", strerror(err));
    else
        fail(c, SW_UP_RECV, "the upstream closed the connection before its answer ended");
}

/* Read until the socket is empty (edge-triggered), unless the caller holds the data. */
static void conn_read(conn *k)
{
    sw_up_call *c = k->call;
    for (;;) {
        if (k->rlen > k->roff && parse(c) == 0)
            return; /* paused or ended: c may be gone */
        if (k->roff == k->rlen) {
            k->roff = k->rlen = 0;
        } else if (k->roff > 0) {
            memmove(k->rbuf, k->rbuf + k->roff, k->rlen - k->roff);
            k->rlen -= k->roff;
            k->roff = 0;
        }
        if (k->rcap - k->rlen < 1024) {
            k->rcap = k->rcap ? k->rcap * 2 : READ_CHUNK;
            k->rbuf = sw_xrealloc(k->rbuf, k->rcap);
        }
        ssize_t n = recv(k->fd, k->rbuf + k->rlen, k->rcap - k->rlen, 0);
        if (n > 0) {
            k->rlen += (size_t)n;
            c->received += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        read_eof(c, n < 0 ? errno : 0);
        return;
    }
}

static void connected(sw_up_call *c)
{
    sw_up *up = c->up;
    c->k->connecting = 0;
    timers_set(c, c->t_start + (double)up->timeout_ms);
    write_request(c);
}

void sw_up_event(sw_up *up, void *tag, uint32_t events)
{
    conn *k = tag;
    if (k->fd < 0)
        return; /* closed earlier in this batch */
    sw_up_call *c = k->call;
    if (!c) {
        /* Idle: the upstream closed it, or sent something unasked for. */
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            conn_close(up, k);
        return;
    }
    if (k->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            err = errno;
        if (err) {
            fail(c, SW_UP_CONNECT, "Failed to connect to %s after %.0f ms: %s", c->pool->host,
                 sw_now_ms() - c->t_start, strerror(err));
            return;
        }
        connected(c);
        if (k->call != c)
            return;
    } else if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->woff < c->head_len + c->body_len) {
        write_request(c);
        if (k->call != c)
            return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !c->paused)
        conn_read(k);
}

/* ---- the API ---- */

sw_up *sw_up_new(int epfd, int tag_kind, long connect_timeout_ms, long timeout_ms)
{
    sw_up *up = sw_xcalloc(1, sizeof *up);
    up->epfd = epfd;
    up->kind = tag_kind;
    up->connect_timeout_ms = connect_timeout_ms;
    up->timeout_ms = timeout_ms;
    static const char *const proxies[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++) {
        const char *v = getenv(proxies[i]);
        if (v && *v)
            up->proxy = 1;
    }
    sw_hmap_init(&up->pools);
    return up;
}

void sw_up_reap(sw_up *up)
{
    while (up->dead) {
        conn *k = up->dead;
        up->dead = k->next;
        conn_free(k);
    }
}

void sw_up_free(sw_up *up)
{
    if (!up)
        return;
    while (up->timers) {
        sw_up_call *c = up->timers;
        sw_up_cancel(c);
    }
    while (up->pend) {
        sw_up_call *c = up->pend;
        sw_up_cancel(c);
    }
    for (sw_hmap_entry *e = sw_hmap_first(&up->pools); e; e = sw_hmap_next(&up->pools, e)) {
        pool *p = e->value;
        while (p->idle)
            conn_close(up, p->idle);
        free(p->host);
        free(p);
    }
    sw_hmap_free(&up->pools);
    sw_up_reap(up);
    free(up);
}

typedef struct url_parts {
    const char *host; /* the authority */
    size_t host_len;
    const char *path;
} url_parts;

/* http://<IPv4>[:port]/... or http://[<IPv6>][:port]/...; fills sa when given. */
static int parse_url(const char *url, url_parts *u, struct sockaddr_storage *sa, socklen_t *salen)
{
    if (strncasecmp(url, "http://", 7) != 0)
        return -1;
    const char *a = url + 7;
    const char *end = a + strcspn(a, "/?#");
    /* Anything libcurl would have to rewrite (a query without a path, a fragment,
       characters to escape) stays libcurl's. */
    if (end == a || (*end && *end != '/') || memchr(a, '@', (size_t)(end - a)) ||
        strpbrk(end, " #\t\r\n"))
        return -1;
    const char *hs = a, *he, *port = NULL;
    if (*a == '[') {
        he = memchr(a, ']', (size_t)(end - a));
        if (!he)
            return -1;
        hs = a + 1;
        if (he + 1 < end) {
            if (he[1] != ':')
                return -1;
            port = he + 2;
        }
    } else {
        he = memchr(a, ':', (size_t)(end - a));
        if (he)
            port = he + 1;
        else
            he = end;
    }
    char host[64];
    if ((size_t)(he - hs) >= sizeof host)
        return -1;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    unsigned long pn = 80;
    if (port) {
        if (port == end)
            return -1;
        pn = 0;
        for (const char *p = port; p < end; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            pn = pn * 10 + (unsigned long)(*p - '0');
            if (pn > 65535)
                return -1;
        }
        if (pn == 0)
            return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (*a == '[') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return -1;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)pn);
        len = sizeof *in6;
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
            return -1;
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)pn);
        len = sizeof *in4;
    }
    u->host = a;
    u->host_len = (size_t)(end - a);
    u->path = *end == '/' ? end : "/";
    if (sa) {
        *sa = ss;
        *salen = len;
    }
    return 0;
}

int sw_up_handles(const sw_up *up, const char *url)
{
    url_parts u;
    return !up->proxy && parse_url(url, &u, NULL, NULL) == 0;
}

sw_up_call *sw_up_start(sw_up *up, const char *url, const char *hdrs, size_t hlen, const char *body,
                        size_t len, const sw_up_fns *fns, void *ud)
{
    sw_up_call *c = sw_xcalloc(1, sizeof *c);
    c->up = up;
    c->fns = fns;
    c->ud = ud;
    c->body = body;
    c->body_len = len;
    c->t_start = sw_now_ms();
    up->in_api = 1;
    url_parts u;
    char key[128];
    if (parse_url(url, &u, NULL, NULL) < 0 || u.host_len >= sizeof key) {
        fail(c, SW_UP_CONNECT, "not an http:// URL with a numeric address: %s", url);
        goto out;
    }
    memcpy(key, u.host, u.host_len);
    key[u.host_len] = '\0';
    pool *p = sw_hmap_get(&up->pools, key);
    if (!p) {
        p = sw_xcalloc(1, sizeof *p);
        parse_url(url, &u, &p->sa, &p->salen);
        p->host = sw_xstrdup(key);
        sw_hmap_put(&up->pools, key, p);
    }
    c->pool = p;
    /* Put together by hand: vsnprintf cost more than the rest of the call's setup. */
    char clen[48];
    int cl = snprintf(clen, sizeof clen, "Content-Length: %zu\r\n\r\n", len);
    size_t pl = strlen(u.path), hl = strlen(p->host);
    c->head_len = 5 + pl + 17 + hl + 2 + hlen + (size_t)cl;
    char *h = c->head = sw_xmalloc(c->head_len + 1);
    memcpy(h, "POST ", 5);
    memcpy(h += 5, u.path, pl);
    memcpy(h += pl, " HTTP/1.1\r\nHost: ", 17);
    memcpy(h += 17, p->host, hl);
    memcpy(h += hl, "\r\n", 2);
    if (hlen)
        memcpy(h + 2, hdrs, hlen);
    memcpy(h += 2 + hlen, clen, (size_t)cl + 1);
    conn *k = p->idle;
    if (k) {
        idle_del(k);
        k->reused = 1;
        k->call = c;
        c->k = k;
        timers_set(c, c->t_start + (double)up->timeout_ms);
        write_request(c);
        goto out;
    }
    int connecting;
    k = conn_open(up, p, &connecting);
    if (!k) {
        fail(c, SW_UP_CONNECT, "Failed to connect to %s: %s", p->host, strerror(errno));
        goto out;
    }
    k->call = c;
    c->k = k;
    if (connecting)
        timers_set(c, c->t_start + (double)up->connect_timeout_ms);
    else
        connected(c);
out:
    up->in_api = 0;
    return c;
}

void sw_up_cancel(sw_up_call *c)
{
    timers_del(c);
    pend_del(c);
    if (c->k)
        conn_close(c->up, c->k);
    call_free(c);
}

void sw_up_unpause(sw_up_call *c)
{
    if (!c->paused)
        return;
    c->paused = 0;
    pend_add(c);
}

double sw_up_run(sw_up *up, double now)
{
    while (up->pend) {
        sw_up_call *c = up->pend;
        pend_del(c);
        if (c->fail_msg) {
            char *msg = c->fail_msg;
            c->fail_msg = NULL;
            call_end(c, c->fail, msg);
            free(msg);
        } else if (c->k && !c->paused) {
            conn_read(c->k);
        }
    }
    while (up->timers && up->timers->deadline <= now) {
        sw_up_call *c = up->timers;
        if (c->k && c->k->connecting)
            fail(c, SW_UP_TIMEOUT, "Connection timed out after %ld milliseconds",
                 up->connect_timeout_ms);
        else
            fail(c, SW_UP_TIMEOUT,
                 "Operation timed out after %ld milliseconds with %llu bytes "
                 "received",
                 up->timeout_ms, (unsigned long long)c->received);
    }
    if (now >= up->next_idle_check) {
        up->next_idle_check = now + 1000;
        for (sw_hmap_entry *e = sw_hmap_first(&up->pools); e; e = sw_hmap_next(&up->pools, e)) {
            pool *p = e->value;
            while (p->idle_tail && now - p->idle_tail->idle_since > IDLE_MAX_MS)
                conn_close(up, p->idle_tail);
        }
    }
    if (up->pend)
        return 0;
    if (up->timers)
        return up->timers->deadline > now ? up->timers->deadline - now : 0;
    return -1;
}

int sw_up_curl_code(sw_up_result res)
{
    static const CURLcode codes[] = {
        [SW_UP_OK] = CURLE_OK,
        [SW_UP_CONNECT] = CURLE_COULDNT_CONNECT,
        [SW_UP_SEND] = CURLE_SEND_ERROR,
        [SW_UP_NOTHING] = CURLE_GOT_NOTHING,
        [SW_UP_RECV] = CURLE_RECV_ERROR,
        [SW_UP_TIMEOUT] = CURLE_OPERATION_TIMEDOUT,
        [SW_UP_ABORTED] = CURLE_WRITE_ERROR,
    };
    return (int)codes[res];
}
