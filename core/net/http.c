/*
 * http.c - host->http: one libcurl easy handle per call, retried with
 * jittered exponential back-off, cancellable at every point.
 *
 * A call blocks its caller (a stage thread); cancellation reaches it through
 * the progress callback during a transfer and through ctl->sleep during a
 * back-off, so a stopping run never waits for a slow server.
 */
#include "net/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#ifndef SLIPWAY_VERSION
#define SLIPWAY_VERSION "0.0.0"
#endif

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_BACKOFF_MS 200

/* The smallest structs a plugin may hand over: the request needs a URL, the
   response somewhere to put the body. Later fields are optional. */
#define REQUEST_MIN  (offsetof(sw_http_request, url) + sizeof(const char *))
#define RESPONSE_MIN (offsetof(sw_http_response, body_len) + sizeof(size_t))

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *sw_http_url_for_message(const char *url)
{
    if (!url)
        return sw_xstrdup("(no url)");
    const char *scheme_end = strstr(url, "://");
    const char *auth = scheme_end ? scheme_end + 3 : url;
    size_t auth_len = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *c = auth; c < auth + auth_len; c++)
        if (*c == '@')
            host = c + 1;
    size_t path_len = strcspn(auth + auth_len, "?#");
    sw_buf b = {0};
    sw_buf_append(&b, url, (size_t)(auth - url));
    sw_buf_append(&b, host, (size_t)(auth + auth_len - host));
    sw_buf_append(&b, auth + auth_len, path_len);
    return sw_buf_steal(&b);
}

/* scheme://host[:port] only, for log lines (a path may carry a token, as webhook URLs do). */
static char *url_origin(const char *url)
{
    char *shown = sw_http_url_for_message(url);
    char *scheme_end = strstr(shown, "://");
    char *path = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
    if (path)
        *path = '\0';
    return shown;
}

static int valid_method(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > 16)
        return 0;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z')))
            return 0;
    return 1;
}

static int http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

typedef struct transfer {
    sw_buf body;
    size_t max;
    int too_big;
    const sw_http_ctl *ctl;
} transfer;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    size_t len = size * n;
    if (len > t->max - t->body.len) {
        t->too_big = 1;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    sw_buf_append(&t->body, data, len);
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    transfer *t = ud;
    return t->ctl && t->ctl->cancelled && t->ctl->cancelled(t->ctl->ud) ? 1 : 0;
}

static int default_sleep(void *ud, int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

static int stopping(const sw_http_ctl *ctl)
{
    return ctl && ctl->cancelled && ctl->cancelled(ctl->ud);
}

static double unit_random(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint32_t)ts.tv_nsec * 2654435761u;
    }
    return (double)r / 4294967296.0;
}

/* The wait before retry number `retry` (1-based): the back-off doubled per retry,
   capped, then jittered into [half, full] so clients that failed together do
   not retry together; never shorter than the server's Retry-After. */
static int64_t backoff_delay(int64_t first_ms, int retry, int64_t retry_after_ms)
{
    double base = (double)first_ms;
    for (int i = 1; i < retry && base < SW_HTTP_MAX_BACKOFF_MS; i++)
        base *= 2;
    if (base > SW_HTTP_MAX_BACKOFF_MS)
        base = SW_HTTP_MAX_BACKOFF_MS;
    int64_t delay = (int64_t)(base / 2 + unit_random() * base / 2);
    if (retry_after_ms > SW_HTTP_MAX_RETRY_AFTER_MS)
        retry_after_ms = SW_HTTP_MAX_RETRY_AFTER_MS;
    return delay > retry_after_ms ? delay : retry_after_ms;
}

static int transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

static char *lower_first(const char *s)
{
    char *out = sw_xstrdup(s);
    if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
        out[0] = (char)(out[0] - 'A' + 'a');
    return out;
}

/* Why a transfer failed, in words a pipeline author reads. */
static char *describe(CURL *h, CURLcode rc, const char *errbuf, int64_t timeout_ms)
{
    long os_errno = 0;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            return sw_xstrdup("connection refused");
        return os_errno ? lower_first(strerror((int)os_errno)) : sw_xstrdup("cannot connect");
    case CURLE_COULDNT_RESOLVE_HOST:
        return sw_xstrdup("cannot resolve the host name");
    case CURLE_OPERATION_TIMEDOUT:
        return sw_xasprintf("timed out after %lld ms", (long long)timeout_ms);
    case CURLE_GOT_NOTHING:
        return sw_xstrdup("the server closed the connection without a response");
    default:
        return lower_first(errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
}

static int check_header(const void *p, uint16_t major, uint32_t size, size_t min, const char *what,
                        sw_err *err)
{
    if (!p)
        return sw_err_set(err, "http: the %s is NULL", what);
    if (size < min) /* a zeroed struct, most often */
        return sw_err_set(err,
                          "http: the %s's struct_size (%u) is too small; initialize it with "
                          "SW_ABI_INIT(sw_http_%s)",
                          what, (unsigned)size, what);
    if (major != SW_ABI_MAJOR)
        return sw_err_set(err, "http: the %s was built for ABI %u, the host speaks %d", what,
                          (unsigned)major, SW_ABI_MAJOR);
    return 0;
}

/* Write what fits into the plugin's response struct. */
static void fill_response(sw_http_response *resp, long status, char *body, size_t body_len,
                          char *content_type, int attempts, double elapsed_ms)
{
    resp->status = status;
    resp->body = body;
    resp->body_len = body_len;
    if (SW_HAS_FIELD(resp, sw_http_response, content_type))
        resp->content_type = content_type;
    else
        free(content_type);
    if (SW_HAS_FIELD(resp, sw_http_response, attempts))
        resp->attempts = attempts;
    if (SW_HAS_FIELD(resp, sw_http_response, elapsed_ms))
        resp->elapsed_ms = elapsed_ms;
}

static struct curl_slist *build_headers(const sw_http_request *r, sw_err *err)
{
    struct curl_slist *list = NULL;
    int has_expect = 0;
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *hdr = r->headers[i];
        if (strpbrk(hdr, "\r\n") || !strchr(hdr, ':') || hdr[0] == ':') {
            curl_slist_free_all(list);
            /* The header's text may be a credential: say which one, not what it says. */
            sw_err_set(err, "header %zu is not a single 'Name: value' line", i + 1);
            return (struct curl_slist *)-1;
        }
        if (strncasecmp(hdr, "Expect:", 7) == 0)
            has_expect = 1;
        list = curl_slist_append(list, hdr);
    }
    /* No 100-continue round trip for large bodies: the servers stages talk to
       answer at once, and the wait only adds latency. */
    if (!has_expect)
        list = curl_slist_append(list, "Expect:");
    return list;
}

static void configure_method(CURL *h, const sw_http_request *r, const char *method)
{
    size_t len = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
}

int sw_http_perform(const sw_http_request *req, sw_http_response *resp, const sw_http_ctl *ctl,
                    sw_err *err)
{
    if (check_header(resp, resp ? resp->abi_major : 0, resp ? resp->struct_size : 0, RESPONSE_MIN,
                     "response", err) != 0)
        return -1;
    fill_response(resp, 0, NULL, 0, NULL, 0, 0);
    if (check_header(req, req ? req->abi_major : 0, req ? req->struct_size : 0, REQUEST_MIN,
                     "request", err) != 0)
        return -1;

    /* A plugin built against an older minor hands a shorter struct: read what it has. */
    sw_http_request r = {0};
    memcpy(&r, req, req->struct_size < sizeof r ? req->struct_size : sizeof r);
    const char *method = r.method && *r.method ? r.method : "GET";
    int64_t timeout_ms = r.timeout_ms > 0 ? r.timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t first_backoff = r.backoff_ms > 0 ? r.backoff_ms : DEFAULT_BACKOFF_MS;
    int retries = r.max_retries < 0                     ? 0
                  : r.max_retries > SW_HTTP_MAX_RETRIES ? SW_HTTP_MAX_RETRIES
                                                        : r.max_retries;
    if (!r.url || !*r.url)
        return sw_err_set(err, "http: the request has no url");
    char *shown = sw_http_url_for_message(r.url);
    if (!valid_method(method)) {
        sw_err_set(err, "%s: '%s' is not an HTTP method", shown, method);
        free(shown);
        return -1;
    }
    if (!http_url(r.url)) {
        sw_err_set(err, "%s %s: only http:// and https:// URLs are supported", method, shown);
        free(shown);
        return -1;
    }
    struct curl_slist *headers = build_headers(&r, err);
    if (headers == (struct curl_slist *)-1) {
        sw_err_prefix(err, "%s %s: ", method, shown);
        free(shown);
        return -1;
    }
    pthread_once(&global_once, global_init);
    CURL *h = global_rc == CURLE_OK ? curl_easy_init() : NULL;
    if (!h) {
        curl_slist_free_all(headers);
        sw_err_set(err, "%s %s: cannot initialize libcurl", method, shown);
        free(shown);
        return -1;
    }

    transfer t = {.max = ctl && ctl->max_body ? ctl->max_body : SW_HTTP_MAX_BODY, .ctl = ctl};
    char errbuf[CURL_ERROR_SIZE];
    curl_easy_setopt(h, CURLOPT_URL, r.url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "slipway/" SLIPWAY_VERSION);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t.max);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    configure_method(h, &r, method);

    double started = sw_now_ms();
    int (*sleep_fn)(void *, int64_t) = ctl && ctl->sleep ? ctl->sleep : default_sleep;
    void *ud = ctl ? ctl->ud : NULL;
    int rc_out = -1;
    int attempt;
    for (attempt = 1;; attempt++) {
        sw_buf_free(&t.body);
        t.too_big = 0;
        errbuf[0] = '\0';
        if (stopping(ctl)) {
            sw_err_set(err, "%s %s: cancelled", method, shown);
            break;
        }
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        char *why = NULL;
        curl_off_t retry_after = 0;
        if (rc == CURLE_OK) {
            int retryable = status == 429 || (status >= 500 && status <= 599);
            if (!retryable || attempt > retries) {
                char *ctype = NULL;
                curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
                size_t len = t.body.len;
                fill_response(resp, status, sw_buf_steal(&t.body), len, sw_xstrdup(ctype), attempt,
                              sw_now_ms() - started);
                rc_out = 0;
                break;
            }
            curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
            why = sw_xasprintf("HTTP %ld", status);
        } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
            sw_err_set(err, "%s %s: cancelled", method, shown);
            break;
        } else if (t.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
            sw_err_set(err, "%s %s: the response is larger than %zu bytes", method, shown, t.max);
            break;
        } else {
            why = describe(h, rc, errbuf, timeout_ms);
            if (!transient(rc) || attempt > retries) {
                if (attempt > 1)
                    sw_err_set(err, "%s %s: %s after %d attempts", method, shown, why, attempt);
                else
                    sw_err_set(err, "%s %s: %s", method, shown, why);
                free(why);
                break;
            }
        }
        int64_t delay = backoff_delay(first_backoff, attempt, (int64_t)retry_after * 1000);
        if (ctl && ctl->log) {
            char *origin = url_origin(r.url);
            char *line = sw_xasprintf("http: %s %s: %s; retry %d of %d in %lld ms", method, origin,
                                      why, attempt, retries, (long long)delay);
            ctl->log(ctl->ud, SW_LOG_INFO, line);
            free(line);
            free(origin);
        }
        free(why);
        if (sleep_fn(ud, delay) || stopping(ctl)) {
            sw_err_set(err, "%s %s: cancelled", method, shown);
            break;
        }
    }
    if (rc_out != 0) {
        if (SW_HAS_FIELD(resp, sw_http_response, attempts))
            resp->attempts = attempt;
        if (SW_HAS_FIELD(resp, sw_http_response, elapsed_ms))
            resp->elapsed_ms = sw_now_ms() - started;
    }
    sw_buf_free(&t.body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(shown);
    return rc_out;
}

void sw_http_response_free(sw_http_response *resp)
{
    if (!resp || resp->struct_size < RESPONSE_MIN)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (SW_HAS_FIELD(resp, sw_http_response, content_type)) {
        free(resp->content_type);
        resp->content_type = NULL;
    }
}
