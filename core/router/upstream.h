/*
 * upstream.h - the router's own HTTP/1.1 client for plain http:// upstreams.
 *
 * libcurl costs more per transfer than everything else the router does (option
 * handling, connection-cache lookups, a liveness poll() before and after every
 * send, and a socket registration and removal on the event loop per transfer).
 * This client keeps a pool of keep-alive connections per host:port, each
 * registered once (edge-triggered) in the router's epoll set, writes a request
 * with one writev and parses the answer incrementally (Content-Length, chunked,
 * or until close). libcurl stays in charge of https:// (TLS), host names (a
 * resolver that never blocks the loop) and proxies (see sw_up_handles).
 *
 * Error classes match what libcurl reports, so the router's retry rules are the
 * same for both: a call fails with SW_UP_CONNECT/SEND/NOTHING before any answer
 * byte (retryable), SW_UP_RECV when an answer was cut, SW_UP_TIMEOUT, or
 * SW_UP_ABORTED when the body callback refused bytes. A kept-alive connection
 * the upstream had closed is replaced once, silently, before anything arrived.
 *
 * Threads: one (the event loop's). Callbacks never run inside sw_up_start,
 * sw_up_cancel or sw_up_unpause: failures found there, and resumed transfers,
 * are delivered by the next sw_up_run.
 */
#ifndef SW_ROUTER_UPSTREAM_H
#define SW_ROUTER_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

typedef enum sw_up_result {
    SW_UP_OK = 0,
    SW_UP_CONNECT, /* could not connect */
    SW_UP_SEND,    /* the request could not be written */
    SW_UP_NOTHING, /* the connection closed before any byte of an answer */
    SW_UP_RECV,    /* the answer was cut or is not HTTP */
    SW_UP_TIMEOUT, /* connect timeout, or the whole call took too long */
    SW_UP_ABORTED, /* the body callback refused bytes */
} sw_up_result;

/* What a body callback returns to hold the bytes; sw_up_unpause resumes. */
#define SW_UP_PAUSE ((size_t)-1)

typedef struct sw_up_fns {
    /* The final answer's status and Content-Type (NULL: none), before its body. */
    void (*head)(void *ud, int status, const char *ctype);
    /* Body bytes: return n (taken), SW_UP_PAUSE (offered again after sw_up_unpause)
       or anything else to abort the call (SW_UP_ABORTED). */
    size_t (*body)(void *ud, const char *p, size_t n);
    /* The end, exactly once unless the call is canceled; msg says why on failure.
       The call is gone once this returns. */
    void (*done)(void *ud, sw_up_result res, const char *msg);
} sw_up_fns;

typedef struct sw_up sw_up;
typedef struct sw_up_call sw_up_call;

/* tag_kind: the int every epoll data.ptr of this client points to first (the loop's
   dispatch key); events for it go to sw_up_event. */
sw_up *sw_up_new(int epfd, int tag_kind, long connect_timeout_ms, long timeout_ms);
/* Close every connection; calls still running get no callback. */
void sw_up_free(sw_up *up);
/* Whether this client takes url: http:// to a numeric address, no user info, and no
   proxy configured in the environment. Everything else is libcurl's. */
int sw_up_handles(const sw_up *up, const char *url);
/* POST body to url with the extra header lines hdrs ("Name: value\r\n" each; Host,
   Content-Length and Connection are the client's). url, hdrs and body must stay
   valid until the call ends. Never NULL. */
sw_up_call *sw_up_start(sw_up *up, const char *url, const char *hdrs, size_t hlen, const char *body,
                        size_t len, const sw_up_fns *fns, void *ud);
/* Forget the call (no more callbacks); its connection is closed. */
void sw_up_cancel(sw_up_call *c);
/* Offer held body bytes again and read on (at the next sw_up_run). */
void sw_up_unpause(sw_up_call *c);
/* An epoll event for one of the client's connections. */
void sw_up_event(sw_up *up, void *tag, uint32_t events);
/* Deferred work and timeouts. Returns ms until it wants to run again (0: now;
   -1: no deadline). */
double sw_up_run(sw_up *up, double now);
/* Free connections closed since the last call: call it when no epoll event of the
   last batch can still point at one (right before epoll_wait). */
void sw_up_reap(sw_up *up);
/* libcurl's code (a CURLcode) for the same failure, so a call's outcome is told and
   retried alike whichever client made it. */
int sw_up_curl_code(sw_up_result res);

#endif
