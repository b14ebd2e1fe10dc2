/*
 * http.h - the HTTP client every stage shares (host->http), on libcurl.
 *
 * One call is one request, retried on connect errors, timeouts, 429 and 5xx
 * with jittered exponential back-off (a Retry-After header, in seconds or as
 * an HTTP date, lengthens the wait), each attempt under its own timeout.
 * Redirects are not followed (a 3xx is a response like any other), only
 * http:// and https:// are spoken, and a body over the cap is an error.
 *
 * The request and response structs come from plugins, possibly built against
 * an older minor: fields are read and written only when struct_size holds them
 * (SW_HAS_FIELD); absent request fields take their defaults.
 *
 * Secrets: request headers and bodies are never logged nor put in messages;
 * a URL in a message or a log loses its user-info and query string.
 *
 * Ownership: the response's body and content_type are malloc'd by
 * sw_http_perform and released by sw_http_response_free.
 *
 * Threading: any number of calls may run at once from any threads.
 */
#ifndef SW_NET_HTTP_H
#define SW_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define SW_HTTP_MAX_BODY           ((size_t)64 << 20) /* a response body larger than this is an error */
#define SW_HTTP_MAX_RETRIES        10
#define SW_HTTP_MAX_BACKOFF_MS     30000  /* one computed back-off, before jitter */
#define SW_HTTP_MAX_RETRY_AFTER_MS 300000 /* a server asking for longer is waited this long */

/* How a call is watched. Every member may be zero. */
typedef struct sw_http_ctl {
    /* Nonzero when the caller is stopping: the transfer is aborted at once. */
    int (*cancelled)(void *ud);
    /* Sleep up to ms; nonzero when cut short by cancellation. Default: nanosleep. */
    int (*sleep)(void *ud, int64_t ms);
    /* A retry about to happen (the message carries no header, body or query). */
    void (*log)(void *ud, sw_log_level level, const char *message);
    void *ud;
    size_t max_body; /* 0: SW_HTTP_MAX_BODY */
} sw_http_ctl;

/* Perform the request. 0 when a response arrived, whatever its status (the
   last attempt's, when retries ran out); -1 with err otherwise, e.g.
   "POST http://127.0.0.1:9/x: connection refused after 3 attempts". On -1 the
   response holds no allocation. ctl may be NULL. */
int sw_http_perform(const sw_http_request *req, sw_http_response *resp, const sw_http_ctl *ctl,
                    sw_err *err);
/* Release what sw_http_perform put in resp (safe on a zeroed response). */
void sw_http_response_free(sw_http_response *resp);

/* The URL as messages show it: without user-info, query or fragment. Caller frees. */
char *sw_http_url_for_message(const char *url);

#endif
