/* bench_loadgen: an open-loop (constant-rate) HTTP/1.1 load generator for the router benchmarks.
 *
 * Request i is due at t0 + i/rate whatever happened to the requests before it, and its latency is
 * counted from that due time, not from the write: a server (or this generator) that falls behind
 * shows as latency instead of as a lower offered rate. A closed-loop tool paced per connection
 * measures from the write and so hides exactly the queueing the router's latency targets are
 * about. Plain libc, one thread, one epoll loop; a timerfd with absolute expiry times the sends
 * because epoll_wait's millisecond timeout is far coarser than the gaps between requests. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S        1000000000ULL
#define LATE_NS         100000ULL         /* a write later than this after its due time is "late" */
#define DRAIN_NS        (5 * NS_PER_S)    /* how long in-flight requests may finish after the end */
#define RBUF_SIZE       16384             /* per connection; bounds a response head */
#define MAX_LINE        1024              /* bounds a chunk-size or trailer line */
#define CONNECT_HOLD_NS (10 * 1000000ULL) /* no new connect this long after one failed */
#define DEFAULT_BODY                                                                               \
    "{\"model\": \"bench\", \"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}"
#define SESSION_HEADER "x-slipway-session: s"

enum conn_state { C_FREE, C_CONNECTING, C_IDLE, C_BUSY };

enum parse_state { P_HEAD, P_BODY_LEN, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_EOF };

struct conn {
    int fd;
    enum conn_state state;
    bool want_out; /* EPOLLOUT is registered: connecting, or a write hit EAGAIN */
    uint64_t req;  /* index of the request in flight */
    uint64_t due_ns, write_ns;
    struct iovec iov[3];
    int iov_at;
    char session[48]; /* this request's session header line */
    char *buf;        /* response bytes not yet consumed */
    size_t len, scanned;
    enum parse_state ps;
    uint64_t remaining;
    int status;
    bool close_after;
};

/* The whole run's state: this is a single-purpose program, so one static instance. */
static struct {
    /* options */
    uint64_t rate, sessions;
    double duration, warmup;
    unsigned max_conns;
    struct sockaddr_in addr;
    /* the request: prefix (line and headers), a session line, then tail (blank line and body) */
    char *prefix, *tail;
    size_t prefix_len, tail_len;
    uint64_t prng;
    /* schedule */
    uint64_t t0, warm_n, total, next_i, q_head;
    /* connections */
    struct conn *conns;
    unsigned *free_stack, *idle_stack;
    unsigned n_free, n_idle, n_open, n_connecting, n_busy, peak_open;
    int ep;
    /* results: sent/done/late/samples count the measured requests only; errors count all */
    uint32_t *lat_us, *svc_us, *lag_us;
    /* after a failed connect: none before connect_hold, then one at a time until one succeeds,
     * so a refusing server costs about 100 attempts a second instead of a spinning loop */
    uint64_t connect_hold;
    bool connect_failing;
    uint64_t sent, done, late, opened;
    uint64_t err_status, err_io, err_connect, err_timeout, warm_done;
    bool warned_io, warned_connect;
} g;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t due_ns(uint64_t i)
{
    return g.t0 + i * NS_PER_S / g.rate;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_loadgen [options] http://127.0.0.1:PORT/path\n"
            "Open-loop HTTP/1.1 load: request i is due at t0 + i/RATE and its latency counts from\n"
            "that due time to the last byte of its response, queueing included.\n"
            "  -r RATE     requests per second (required)\n"
            "  -d SECONDS  measured duration (default 10)\n"
            "  -w SECONDS  warm-up at the same rate, samples discarded (default 1)\n"
            "  -c CONNS    most keep-alive connections to open (default 256)\n"
            "  -b FILE     POST this file as the body (default: a small chat completion)\n"
            "  -s N        header x-slipway-session: s<k>, k uniform in 1..N (default 10000;\n"
            "              0: no header; a -H x-slipway-session header replaces it)\n"
            "  -H 'Name: value'  an extra header (repeatable)\n"
            "  -h          this help\n"
            "Prints one key=value line on stdout and a summary on stderr. Exit 0 on success,\n"
            "1 if any request failed or fewer than 99%% of due requests were sent, 2 on usage.\n");
}

static void die_usage(const char *what, const char *arg)
{
    fprintf(stderr, "bench_loadgen: %s: '%s' (-h for help)\n", what, arg);
    exit(2);
}

static void die_sys(const char *what)
{
    fprintf(stderr, "bench_loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_loadgen: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static uint64_t parse_u64(const char *s, const char *what, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < min || v > max)
        die_usage(what, s);
    return v;
}

static double parse_seconds(const char *s, const char *what, double min)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min) || v > 86400)
        die_usage(what, s);
    return v;
}

/* Only http://A.B.C.D[:PORT][/path]: a name would need a resolver, and the benchmarks run on
 * loopback anyway. */
static const char *parse_url(const char *url, char *host, size_t host_size)
{
    if (strncmp(url, "http://", 7) != 0)
        die_usage("the URL must be http://IPv4:PORT/path", url);
    const char *h = url + 7;
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= 16)
        die_usage("the URL's host must be a numeric IPv4 address", url);
    char ip[16];
    memcpy(ip, h, hl);
    ip[hl] = '\0';
    memset(&g.addr, 0, sizeof g.addr);
    g.addr.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &g.addr.sin_addr) != 1)
        die_usage("the URL's host must be a numeric IPv4 address", url);
    const char *p = h + hl;
    unsigned long port = 80;
    if (*p == ':') {
        char *end;
        port = strtoul(p + 1, &end, 10);
        if (end == p + 1 || port == 0 || port > 65535 || (*end && *end != '/'))
            die_usage("the URL's port must be 1..65535", url);
        p = end;
    }
    g.addr.sin_port = htons((uint16_t)port);
    const char *path = *p ? p : "/";
    if (strpbrk(path, " \r\n\t"))
        die_usage("the URL's path must not contain spaces or line breaks", url);
    snprintf(host, host_size, "%s:%lu", ip, port);
    return path;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_loadgen: -b %s: %s\n", path, strerror(errno));
        exit(2);
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "bench_loadgen: -b %s: not a regular file\n", path);
        exit(2);
    }
    char *data = xmalloc((size_t)st.st_size);
    *len = fread(data, 1, (size_t)st.st_size, f);
    if (*len != (size_t)st.st_size) {
        fprintf(stderr, "bench_loadgen: -b %s: short read\n", path);
        exit(2);
    }
    fclose(f);
    return data;
}

static bool has_header(char **headers, int n, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 0; i < n; i++)
        if (strncasecmp(headers[i], name, nl) == 0 && headers[i][nl] == ':')
            return true;
    return false;
}

/* Built once: every request shares the prefix and the tail; only the session line differs. */
static void build_request(const char *path, const char *host, char **headers, int n_headers,
                          const char *body, size_t body_len)
{
    size_t cap = strlen(path) + strlen(host) + 256;
    for (int i = 0; i < n_headers; i++)
        cap += strlen(headers[i]) + 2;
    g.prefix = xmalloc(cap);
    size_t n = (size_t)snprintf(g.prefix, cap, "POST %s HTTP/1.1\r\n", path);
    if (!has_header(headers, n_headers, "Host"))
        n += (size_t)snprintf(g.prefix + n, cap - n, "Host: %s\r\n", host);
    if (!has_header(headers, n_headers, "Content-Type"))
        n += (size_t)snprintf(g.prefix + n, cap - n, "Content-Type: application/json\r\n");
    n += (size_t)snprintf(g.prefix + n, cap - n, "Content-Length: %zu\r\n", body_len);
    for (int i = 0; i < n_headers; i++)
        n += (size_t)snprintf(g.prefix + n, cap - n, "%s\r\n", headers[i]);
    g.prefix_len = n;
    g.tail_len = 2 + body_len;
    g.tail = xmalloc(g.tail_len);
    memcpy(g.tail, "\r\n", 2);
    memcpy(g.tail + 2, body, body_len);
}

/* splitmix64: fixed seed, so every run sends the same session sequence. */
static uint64_t prng_next(void)
{
    uint64_t z = (g.prng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t session_line(char *out)
{
    /* k in 1..N by multiply-shift of 32 random bits: bias under N / 2^32, nil for these N */
    uint64_t k = 1 + (((prng_next() >> 32) * g.sessions) >> 32);
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + k % 10);
        k /= 10;
    } while (k);
    size_t n = sizeof SESSION_HEADER - 1;
    memcpy(out, SESSION_HEADER, n);
    while (nd)
        out[n++] = digits[--nd];
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

static void ep_set(struct conn *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0),
                             .data.ptr = c};
    if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die_sys("epoll_ctl");
    c->want_out = want_out;
}

static void conn_close(struct conn *c)
{
    if (c->state == C_CONNECTING)
        g.n_connecting--;
    else if (c->state == C_BUSY)
        g.n_busy--;
    else if (c->state == C_IDLE) {
        for (unsigned i = 0; i < g.n_idle; i++)
            if (&g.conns[g.idle_stack[i]] == c) {
                g.idle_stack[i] = g.idle_stack[--g.n_idle];
                break;
            }
    }
    close(c->fd); /* also drops it from the epoll set */
    c->fd = -1;
    c->state = C_FREE;
    g.n_open--;
    g.free_stack[g.n_free++] = (unsigned)(c - g.conns);
}

/* The request in flight on c is lost: the connection broke or the response was malformed. */
static void conn_fail(struct conn *c, const char *why, int err)
{
    if (c->state == C_CONNECTING) {
        g.err_connect++;
        g.connect_hold = now_ns() + CONNECT_HOLD_NS;
        g.connect_failing = true;
        if (!g.warned_connect) {
            fprintf(stderr, "bench_loadgen: connect: %s\n", strerror(err));
            g.warned_connect = true;
        }
    } else if (c->state == C_BUSY) {
        g.err_io++;
        if (!g.warned_io) {
            fprintf(stderr, "bench_loadgen: request %" PRIu64 ": %s%s%s\n", c->req, why,
                    err ? ": " : "", err ? strerror(err) : "");
            g.warned_io = true;
        }
    }
    conn_close(c);
}

static void conn_open(void)
{
    unsigned idx = g.free_stack[--g.n_free];
    struct conn *c = &g.conns[idx];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die_sys("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!c->buf)
        c->buf = xmalloc(RBUF_SIZE); /* once per slot, kept across reconnects */
    c->len = c->scanned = 0;
    c->want_out = true;
    c->state = C_CONNECTING;
    g.n_open++;
    g.n_connecting++;
    g.opened++;
    if (g.n_open > g.peak_open)
        g.peak_open = g.n_open;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        die_sys("epoll_ctl");
    if (connect(c->fd, (struct sockaddr *)&g.addr, sizeof g.addr) != 0 && errno != EINPROGRESS)
        conn_fail(c, "connect", errno);
    /* else: writable once connected, even when connect already succeeded */
}

static void conn_connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        conn_fail(c, "connect", err);
        return;
    }
    g.n_connecting--;
    g.connect_failing = false;
    c->state = C_IDLE;
    g.idle_stack[g.n_idle++] = (unsigned)(c - g.conns);
    ep_set(c, false);
}

/* Write what is left of the request; returns false if the connection was closed. */
static bool conn_flush(struct conn *c)
{
    while (c->iov_at < 3) {
        struct msghdr msg = {.msg_iov = c->iov + c->iov_at, .msg_iovlen = (size_t)(3 - c->iov_at)};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->want_out)
                    ep_set(c, true);
                return true;
            }
            conn_fail(c, "write", errno);
            return false;
        }
        size_t left = (size_t)n;
        while (c->iov_at < 3 && left >= c->iov[c->iov_at].iov_len)
            left -= c->iov[c->iov_at++].iov_len;
        if (c->iov_at < 3) {
            c->iov[c->iov_at].iov_base = (char *)c->iov[c->iov_at].iov_base + left;
            c->iov[c->iov_at].iov_len -= left;
        }
    }
    if (c->want_out)
        ep_set(c, false);
    return true;
}

static uint32_t to_us(uint64_t ns)
{
    uint64_t us = (ns + 500) / 1000;
    return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void conn_send(struct conn *c, uint64_t i, uint64_t now)
{
    c->state = C_BUSY;
    g.n_busy++;
    c->req = i;
    c->due_ns = due_ns(i);
    c->write_ns = now;
    c->ps = P_HEAD;
    c->len = c->scanned = 0;
    c->iov[0] = (struct iovec){g.prefix, g.prefix_len};
    c->iov[1] = (struct iovec){c->session, g.sessions ? session_line(c->session) : 0};
    c->iov[2] = (struct iovec){g.tail, g.tail_len};
    c->iov_at = 0;
    if (i >= g.warm_n) {
        g.lag_us[g.sent++] = to_us(now - c->due_ns);
        if (now - c->due_ns > LATE_NS)
            g.late++;
    }
    conn_flush(c);
}

/* The last byte of the response arrived at `now`. */
static void conn_complete(struct conn *c, uint64_t now)
{
    bool ok = c->status >= 200 && c->status < 300;
    if (!ok)
        g.err_status++;
    else if (c->req < g.warm_n)
        g.warm_done++;
    else {
        g.lat_us[g.done] = to_us(now - c->due_ns);
        g.svc_us[g.done] = to_us(now - c->write_ns);
        g.done++;
    }
    /* an early answer (say a 413) leaves part of the request unwritten: the connection is
     * out of step with the server and cannot carry another request */
    if (c->close_after || c->iov_at < 3) {
        /* the server said so: not an error, a new connection is opened when one is needed */
        conn_close(c);
        return;
    }
    g.n_busy--;
    c->state = C_IDLE;
    g.idle_stack[g.n_idle++] = (unsigned)(c - g.conns);
}

static bool has_token(const char *v, size_t vl, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < vl) {
        while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < vl && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

/* Parse the head in c->buf[0, end); set how the body is framed. Returns false if malformed. */
static bool parse_head(struct conn *c, size_t end)
{
    const char *b = c->buf;
    if (end < 12 || memcmp(b, "HTTP/1.", 7) != 0 || (b[7] != '0' && b[7] != '1') || b[8] != ' ' ||
        b[9] < '0' || b[9] > '9' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
        return false;
    c->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    bool keep_alive = b[7] == '1', chunked = false, te = false, have_cl = false;
    uint64_t cl = 0;
    const char *line = (const char *)memchr(b, '\n', end) + 1;
    while (line < b + end) {
        const char *eol = memchr(line, '\n', (size_t)(b + end - line));
        size_t ll = (size_t)(eol - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break;
        const char *colon = memchr(line, ':', ll);
        if (!colon)
            return false;
        size_t nl = (size_t)(colon - line);
        const char *v = colon + 1, *ve = line + ll;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (nl == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            uint64_t n = 0;
            if (vl == 0 || vl > 18)
                return false;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return false;
                n = n * 10 + (uint64_t)(v[i] - '0');
            }
            if (have_cl && n != cl)
                return false;
            cl = n;
            have_cl = true;
        } else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            te = true;
            chunked = has_token(v, vl, "chunked");
        } else if (nl == 10 && strncasecmp(line, "Connection", 10) == 0) {
            if (has_token(v, vl, "close"))
                keep_alive = false;
            else if (has_token(v, vl, "keep-alive"))
                keep_alive = true;
        }
        line = eol + 1;
    }
    c->close_after = !keep_alive;
    if (c->status < 200 || c->status == 204 || c->status == 304) {
        c->ps = P_BODY_LEN;
        c->remaining = 0;
    } else if (te) {
        /* a transfer coding other than chunked: only the close ends the body */
        c->ps = chunked ? P_CHUNK_SIZE : P_EOF;
    } else if (have_cl) {
        c->ps = P_BODY_LEN;
        c->remaining = cl;
    } else {
        c->ps = P_EOF;
    }
    if (c->ps == P_EOF)
        c->close_after = true;
    return true;
}

/* The line starting at c->buf + pos, without its CRLF; NULL until it is whole. */
static const char *find_line(struct conn *c, size_t pos, size_t *ll, size_t *next)
{
    const char *s = c->buf + pos;
    const char *eol = memchr(s, '\n', c->len - pos);
    if (!eol)
        return NULL;
    *next = (size_t)(eol - c->buf) + 1;
    *ll = (size_t)(eol - s);
    if (*ll && s[*ll - 1] == '\r')
        (*ll)--;
    return s;
}

/* Consume c->buf; returns 1 when the response is complete, 0 for more bytes, -1 if malformed. */
static int parse_response(struct conn *c, const char **why)
{
    size_t pos = 0;
    int result = 0;
    while (result == 0) {
        size_t avail = c->len - pos;
        if (c->ps == P_HEAD) {
            const char *head = c->buf + pos;
            /* rescan only the new bytes (minus 3 for a terminator split across reads) */
            size_t from = c->scanned > pos + 3 ? c->scanned - pos - 3 : 0;
            const char *end =
                from < avail ? memmem(head + from, avail - from, "\r\n\r\n", 4) : NULL;
            if (!end) {
                c->scanned = c->len;
                if (avail >= RBUF_SIZE) {
                    *why = "response head over 16 KiB";
                    result = -1;
                }
                break;
            }
            size_t head_len = (size_t)(end - head) + 4;
            if (pos != 0) {
                memmove(c->buf, head, avail); /* parse_head wants the head at buf[0] */
                c->len = avail;
                pos = 0;
            }
            if (!parse_head(c, head_len)) {
                *why = "malformed response head";
                result = -1;
                break;
            }
            pos = head_len;
            c->scanned = 0;
            if (c->status == 101) {
                *why = "unexpected 101 Switching Protocols";
                result = -1;
            }
        } else if (c->ps == P_BODY_LEN || c->ps == P_CHUNK_DATA) {
            size_t n = avail < c->remaining ? avail : (size_t)c->remaining;
            pos += n;
            c->remaining -= n;
            if (c->remaining)
                break;
            if (c->ps == P_CHUNK_DATA) {
                c->ps = P_CHUNK_END;
            } else if (c->status < 200) {
                c->ps = P_HEAD; /* an interim response: the real one follows */
            } else {
                result = 1;
            }
        } else if (c->ps == P_CHUNK_SIZE || c->ps == P_CHUNK_END || c->ps == P_TRAILER) {
            size_t ll, next;
            const char *l = find_line(c, pos, &ll, &next);
            if (!l) {
                if (avail > MAX_LINE) {
                    *why = "chunk line over 1 KiB";
                    result = -1;
                }
                break;
            }
            pos = next;
            if (c->ps == P_CHUNK_END) {
                if (ll != 0) {
                    *why = "chunk not followed by CRLF";
                    result = -1;
                }
                c->ps = P_CHUNK_SIZE;
            } else if (c->ps == P_TRAILER) {
                if (ll == 0)
                    result = 1;
            } else {
                uint64_t size = 0;
                size_t i = 0;
                for (; i < ll && i < 16; i++) {
                    char ch = l[i];
                    int d = ch >= '0' && ch <= '9'   ? ch - '0'
                            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                     : -1;
                    if (d < 0)
                        break;
                    size = size * 16 + (uint64_t)d;
                }
                if (i == 0 || (i < ll && l[i] != ';' && l[i] != ' ' && l[i] != '\t')) {
                    *why = "malformed chunk size";
                    result = -1;
                }
                c->remaining = size;
                c->ps = size ? P_CHUNK_DATA : P_TRAILER;
            }
        } else { /* P_EOF: everything until the close is body */
            pos = c->len;
            break;
        }
    }
    if (result == 1 && pos != c->len) {
        *why = "bytes after the response (none was asked for)";
        result = -1;
    }
    if (pos) {
        memmove(c->buf, c->buf + pos, c->len - pos);
        c->len -= pos;
        c->scanned = c->scanned > pos ? c->scanned - pos : 0;
    }
    return result;
}

static void conn_readable(struct conn *c)
{
    ssize_t n;
    do
        n = read(c->fd, c->buf + c->len, RBUF_SIZE - c->len);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            conn_fail(c, "read", errno);
        return;
    }
    uint64_t now = now_ns();
    if (n == 0) {
        if (c->state == C_BUSY && c->ps == P_EOF) {
            c->len = 0;
            conn_complete(c, now); /* closes it: close_after is set for P_EOF */
        } else {
            conn_fail(c,
                      c->len || c->ps != P_HEAD ? "connection closed mid-response"
                                                : "connection closed before the response",
                      0);
        }
        return;
    }
    if (c->state != C_BUSY) {
        g.err_io++;
        fprintf(stderr, "bench_loadgen: %zd bytes from the server with no request pending\n", n);
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    const char *why = NULL;
    int r = parse_response(c, &why);
    if (r < 0)
        conn_fail(c, why, 0);
    else if (r > 0)
        conn_complete(c, now);
}

static void conn_event(struct conn *c, uint32_t events)
{
    if (c->state == C_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_connected(c);
        return;
    }
    if ((events & EPOLLOUT) && c->state == C_BUSY && c->iov_at < 3 && !conn_flush(c))
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        conn_readable(c); /* a read reports the error or the close */
}

/* Send every due request that has an idle connection; open connections for the rest. */
static void dispatch(uint64_t now)
{
    while (g.q_head < g.next_i && g.n_idle) {
        struct conn *c = &g.conns[g.idle_stack[--g.n_idle]];
        conn_send(c, g.q_head++, now);
        now = now_ns(); /* the next write's lateness is its own */
    }
    /* bounded by a count, not by n_open: a connect that fails at once leaves n_open as it was */
    uint64_t waiting = g.next_i - g.q_head;
    if (now < g.connect_hold)
        return;
    uint64_t want = waiting > g.n_connecting ? waiting - g.n_connecting : 0;
    if (g.connect_failing)
        want = g.n_connecting ? 0 : want > 0;
    for (; want && g.n_open < g.max_conns; want--)
        conn_open();
}

static void timer_at(int tfd, uint64_t t)
{
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(t / NS_PER_S), .tv_nsec = (long)(t % NS_PER_S)}};
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        die_sys("timerfd_settime");
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least `per10k`/10000 of the samples at or below. */
static uint32_t percentile(const uint32_t *v, uint64_t n, uint64_t per10k)
{
    if (n == 0)
        return 0;
    uint64_t rank = (n * per10k + 9999) / 10000;
    return v[rank ? rank - 1 : 0];
}

static void raise_nofile(unsigned need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need)
        fprintf(stderr, "bench_loadgen: only %lu file descriptors: fewer connections than -c\n",
                (unsigned long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
    g.duration = 10;
    g.warmup = 1;
    g.max_conns = 256;
    g.sessions = 10000;
    g.prng = 0x51195a7ULL;
    const char *body_file = NULL;
    char **headers = xmalloc(sizeof *headers * (size_t)argc);
    int n_headers = 0, opt;
    while ((opt = getopt(argc, argv, "r:d:c:b:s:H:w:h")) != -1) {
        switch (opt) {
        case 'r':
            g.rate = parse_u64(optarg, "-r must be 1..10000000 requests/s", 1, 10000000);
            break;
        case 'd':
            g.duration = parse_seconds(optarg, "-d must be a positive number of seconds", 0.001);
            break;
        case 'w':
            g.warmup = parse_seconds(optarg, "-w must be a number of seconds, 0 or more", 0);
            break;
        case 'c':
            g.max_conns = (unsigned)parse_u64(optarg, "-c must be 1..100000", 1, 100000);
            break;
        case 'b':
            body_file = optarg;
            break;
        case 's':
            g.sessions = parse_u64(optarg, "-s must be 0..4294967295", 0, UINT32_MAX);
            break;
        case 'H': {
            const char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || strpbrk(optarg, "\r\n") ||
                strcspn(optarg, " \t") < (size_t)(colon - optarg))
                die_usage("-H must be 'Name: value'", optarg);
            headers[n_headers++] = optarg;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* A session header given with -H is the one sent: a second would be a different request. */
    for (int i = 0; i < n_headers; i++)
        if (strncasecmp(headers[i], "x-slipway-session:", 18) == 0)
            g.sessions = 0;
    if (optind != argc - 1) {
        fprintf(stderr, "bench_loadgen: %s (-h for help)\n",
                optind == argc ? "no URL given" : "one URL only");
        return 2;
    }
    if (!g.rate) {
        fprintf(stderr, "bench_loadgen: -r RATE is required (-h for help)\n");
        return 2;
    }
    char host[32];
    const char *path = parse_url(argv[optind], host, sizeof host);
    size_t body_len = strlen(DEFAULT_BODY);
    char *file_body = body_file ? read_file(body_file, &body_len) : NULL;
    build_request(path, host, headers, n_headers, file_body ? file_body : DEFAULT_BODY, body_len);
    free(file_body);
    free(headers);

    double n_meas_d = (double)g.rate * g.duration + 0.5, n_warm_d = (double)g.rate * g.warmup + 0.5;
    if (n_meas_d + n_warm_d > 1e9) {
        fprintf(stderr, "bench_loadgen: -r times (-d + -w) over 10^9 requests\n");
        return 2;
    }
    uint64_t n_meas = (uint64_t)n_meas_d;
    if (n_meas == 0)
        die_usage("-r times -d must be at least one request", argv[optind]);
    g.warm_n = (uint64_t)n_warm_d;
    g.total = g.warm_n + n_meas;
    g.lat_us = xmalloc(sizeof *g.lat_us * n_meas);
    g.svc_us = xmalloc(sizeof *g.svc_us * n_meas);
    g.lag_us = xmalloc(sizeof *g.lag_us * n_meas);

    signal(SIGPIPE, SIG_IGN);
    raise_nofile(g.max_conns + 16);
    g.conns = calloc(g.max_conns, sizeof *g.conns);
    g.free_stack = xmalloc(sizeof *g.free_stack * g.max_conns);
    g.idle_stack = xmalloc(sizeof *g.idle_stack * g.max_conns);
    if (!g.conns)
        die_sys("calloc");
    for (unsigned i = 0; i < g.max_conns; i++) {
        g.conns[i].fd = -1;
        g.free_stack[i] = g.max_conns - 1 - i;
    }
    g.n_free = g.max_conns;
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g.ep < 0 || tfd < 0)
        die_sys("epoll_create1/timerfd_create");
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, tfd, &tev) != 0)
        die_sys("epoll_ctl");

    g.t0 = now_ns() + 1000000; /* 1 ms from now: the first connections get a head start */
    uint64_t t_end = due_ns(g.total), drain_end = t_end + DRAIN_NS;
    uint64_t armed = due_ns(0);
    timer_at(tfd, armed);
    bool ending = false;
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(g.ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die_sys("epoll_wait");
        }
        bool fired = false;
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr)
                fired = true;
            else if (((struct conn *)evs[i].data.ptr)->state != C_FREE)
                conn_event(evs[i].data.ptr, evs[i].events);
        }
        uint64_t now = now_ns();
        if (!ending) {
            while (g.next_i < g.total && due_ns(g.next_i) <= now)
                g.next_i++;
            dispatch(now);
            if (now >= t_end) {
                /* requests still waiting for a connection are never sent: the offered rate was
                 * not met, which `sent` and the exit status report */
                g.q_head = g.next_i;
                ending = true;
            }
        }
        if (ending && g.n_busy == 0)
            break;
        if (ending && now >= drain_end) {
            g.err_timeout = g.n_busy;
            break;
        }
        uint64_t target = ending ? drain_end : g.next_i < g.total ? due_ns(g.next_i) : t_end;
        if (fired || target != armed) {
            timer_at(tfd, target);
            armed = target;
        }
    }

    uint64_t errors = g.err_status + g.err_io + g.err_connect + g.err_timeout;
    double secs = (double)n_meas / (double)g.rate;
    double achieved = (double)g.done / secs;
    qsort(g.lat_us, g.done, sizeof *g.lat_us, cmp_u32);
    qsort(g.svc_us, g.done, sizeof *g.svc_us, cmp_u32);
    qsort(g.lag_us, g.sent, sizeof *g.lag_us, cmp_u32);
    uint32_t p50 = percentile(g.lat_us, g.done, 5000), p90 = percentile(g.lat_us, g.done, 9000),
             p99 = percentile(g.lat_us, g.done, 9900), p999 = percentile(g.lat_us, g.done, 9990),
             pmax = g.done ? g.lat_us[g.done - 1] : 0;
    uint32_t s50 = percentile(g.svc_us, g.done, 5000), s99 = percentile(g.svc_us, g.done, 9900);
    uint32_t lag50 = percentile(g.lag_us, g.sent, 5000), lag99 = percentile(g.lag_us, g.sent, 9900);
    printf("rate_target=%" PRIu64 " sent=%" PRIu64 " done=%" PRIu64 " errors=%" PRIu64
           " achieved=%.1f p50_us=%u p90_us=%u p99_us=%u p999_us=%u max_us=%u svc_p50_us=%u"
           " svc_p99_us=%u late_sends=%" PRIu64 " due=%" PRIu64
           " conns=%u lag_p50_us=%u lag_p99_us=%u\n",
           g.rate, g.sent, g.done, errors, achieved, p50, p90, p99, p999, pmax, s50, s99, g.late,
           n_meas, g.peak_open, lag50, lag99);
    fflush(stdout);
    bool kept_up = (double)g.sent >= 0.99 * (double)n_meas;
    fprintf(stderr,
            "%" PRIu64 " req/s for %.3g s (after %.3g s warm-up) to %s%s: %" PRIu64 " due, %" PRIu64
            " sent, %" PRIu64 " done (%.1f/s)\n"
            "latency from due time (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n"
            "service time from write (ms): p50 %.3f  p99 %.3f\n"
            "send lag after due time (ms): p50 %.3f  p99 %.3f; late sends (>100 us): %" PRIu64
            " (%.2f%%)\n"
            "connections: %u at most, %" PRIu64 " opened; warm-up: %" PRIu64 " done\n"
            "errors: %" PRIu64 " (status %" PRIu64 ", connection/protocol %" PRIu64
            ", connect %" PRIu64 ", unfinished after %llu s %" PRIu64 "; warm-up included)%s\n",
            g.rate, g.duration, g.warmup, host, path, n_meas, g.sent, g.done, achieved, p50 / 1e3,
            p90 / 1e3, p99 / 1e3, p999 / 1e3, pmax / 1e3, s50 / 1e3, s99 / 1e3, lag50 / 1e3,
            lag99 / 1e3, g.late, g.sent ? 100.0 * (double)g.late / (double)g.sent : 0.0,
            g.peak_open, g.opened, g.warm_done, errors, g.err_status, g.err_io, g.err_connect,
            DRAIN_NS / NS_PER_S, g.err_timeout,
            kept_up ? "" : "\nFEWER THAN 99% OF DUE REQUESTS WERE SENT: the rate was not held");
    return errors || !kept_up ? 1 : 0;
}
