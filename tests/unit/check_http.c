/*
 * check_http.c - the host's HTTP client against a real server: a
 * libmicrohttpd daemon started in-process on 127.0.0.1 (a port the kernel
 * picks), plus a socket that listens but never answers, for timeouts.
 *
 * Back-off sleeps go through a test hook that records what was asked and
 * returns at once, so retry tests check the delays requested without waiting
 * for them and without reading the clock.
 */
#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/http.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

/* ---- the server ---- */

typedef struct server {
    struct MHD_Daemon *daemon;
    unsigned short port;
    pthread_mutex_t lock;
    int hits;         /* requests answered */
    char method[16];  /* of the last request */
    char body[256];   /* of the last request */
    char header[128]; /* X-Test of the last request */
    char ctype[128];  /* Content-Type of the last request */
    char expect[16];  /* Expect of the last request */
} server;

static server srv;

typedef struct upload {
    char data[256];
    size_t len;
} upload;

static mhd_result reply(struct MHD_Connection *c, unsigned code, const char *body,
                        const char *extra_name, const char *extra_value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    if (extra_name)
        MHD_add_response_header(r, extra_name, extra_value);
    mhd_result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t size)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, size, "%s", v ? v : "");
}

static char big_body[4096];

static mhd_result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *data, size_t *data_size, void **con_cls)
{
    upload *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*data_size) {
        size_t n = *data_size;
        if (n > sizeof up->data - 1 - up->len)
            n = sizeof up->data - 1 - up->len;
        memcpy(up->data + up->len, data, n);
        up->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&srv.lock);
    int hit = ++srv.hits;
    snprintf(srv.method, sizeof srv.method, "%s", method);
    snprintf(srv.body, sizeof srv.body, "%.*s", (int)up->len, up->data);
    copy_header(c, "X-Test", srv.header, sizeof srv.header);
    copy_header(c, "Content-Type", srv.ctype, sizeof srv.ctype);
    copy_header(c, "Expect", srv.expect, sizeof srv.expect);
    pthread_mutex_unlock(&srv.lock);

    if (strcmp(url, "/ok") == 0)
        return reply(c, 200, "hello", NULL, NULL);
    if (strcmp(url, "/echo") == 0)
        return reply(c, 201, srv.body, NULL, NULL);
    if (strcmp(url, "/flaky") == 0) /* 500 on the first request, then 200 */
        return hit == 1 ? reply(c, 500, "boom", NULL, NULL)
                        : reply(c, 200, "recovered", NULL, NULL);
    if (strcmp(url, "/busy") == 0)
        return hit == 1 ? reply(c, 429, "slow down", "Retry-After", "1")
                        : reply(c, 200, "welcome back", NULL, NULL);
    if (strcmp(url, "/busy-date") == 0) {
        if (hit > 1)
            return reply(c, 200, "welcome back", NULL, NULL);
        char date[64];
        time_t later = time(NULL) + 10;
        struct tm tm;
        gmtime_r(&later, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        return reply(c, 503, "maintenance", "Retry-After", date);
    }
    if (strcmp(url, "/down") == 0)
        return reply(c, 503, "down", NULL, NULL);
    if (strcmp(url, "/missing") == 0)
        return reply(c, 404, "no such thing", NULL, NULL);
    if (strcmp(url, "/moved") == 0)
        return reply(c, 302, "", "Location", "/ok");
    if (strcmp(url, "/big") == 0)
        return reply(c, 200, big_body, NULL, NULL);
    return reply(c, 400, "unknown path", NULL, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static void server_start(void)
{
    memset(big_body, 'x', sizeof big_body - 1);
    pthread_mutex_init(&srv.lock, NULL);
    srv.hits = 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(srv.daemon);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    srv.port = info->port;
    ck_assert_uint_ne(srv.port, 0);
}

static void server_stop(void)
{
    MHD_stop_daemon(srv.daemon);
    pthread_mutex_destroy(&srv.lock);
}

static char *url_of(const char *path)
{
    return sw_xasprintf("http://127.0.0.1:%u%s", (unsigned)srv.port, path);
}

static int hits(void)
{
    pthread_mutex_lock(&srv.lock);
    int n = srv.hits;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

/* ---- hooks: sleeps recorded, not slept ---- */

typedef struct hooks {
    int64_t sleeps[16];
    int n_sleeps;
    int cancel_after_polls; /* 0: never cancel */
    int polls;
    int logs;
    char last_log[512];
} hooks;

static int hook_sleep(void *ud, int64_t ms)
{
    hooks *h = ud;
    if (h->n_sleeps < 16)
        h->sleeps[h->n_sleeps] = ms;
    h->n_sleeps++;
    return 0;
}

static int hook_cancelled(void *ud)
{
    hooks *h = ud;
    h->polls++;
    return h->cancel_after_polls > 0 && h->polls >= h->cancel_after_polls;
}

static void hook_log(void *ud, sw_log_level level, const char *message)
{
    hooks *h = ud;
    h->logs++;
    snprintf(h->last_log, sizeof h->last_log, "%s", message);
}

static sw_http_ctl ctl_for(hooks *h)
{
    return (sw_http_ctl){
        .cancelled = hook_cancelled, .sleep = hook_sleep, .log = hook_log, .ud = h};
}

#define REQUEST(...) ((sw_http_request){SW_ABI_INIT(sw_http_request), __VA_ARGS__})
#define RESPONSE()   ((sw_http_response){SW_ABI_INIT(sw_http_response)})

/* ---- tests ---- */

START_TEST(test_get_200)
{
    char *url = url_of("/ok");
    sw_http_request req = REQUEST(.url = url);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "hello");
    ck_assert_uint_eq(resp.body_len, 5);
    ck_assert_str_eq(resp.content_type, "text/plain");
    ck_assert_int_eq(resp.attempts, 1);
    ck_assert(resp.elapsed_ms >= 0);
    ck_assert_str_eq(srv.method, "GET");
    sw_http_response_free(&resp);
    ck_assert_ptr_null(resp.body);
    ck_assert_ptr_null(resp.content_type);
    free(url);
}
END_TEST

START_TEST(test_post_body_and_headers)
{
    char *url = url_of("/echo");
    const char *headers[] = {"X-Test: forty-two", "Content-Type: application/json", NULL};
    const char *body = "{\"text\":\"hi\"}";
    sw_http_request req = REQUEST(.method = "POST", .url = url, .headers = headers, .body = body);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), 0);
    ck_assert_int_eq(resp.status, 201);
    ck_assert_str_eq(resp.body, body);
    ck_assert_str_eq(srv.method, "POST");
    ck_assert_str_eq(srv.body, body);
    ck_assert_str_eq(srv.header, "forty-two");
    ck_assert_str_eq(srv.ctype, "application/json");
    ck_assert_str_eq(srv.expect, "");
    sw_http_response_free(&resp);

    /* body_len sends part of a buffer; another method with a body */
    req = REQUEST(.method = "PUT", .url = url, .body = "abcdef", .body_len = 3);
    resp = RESPONSE();
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), 0);
    ck_assert_str_eq(srv.method, "PUT");
    ck_assert_str_eq(srv.body, "abc");
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

START_TEST(test_500_then_200_is_retried)
{
    char *url = url_of("/flaky");
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url, .max_retries = 3, .backoff_ms = 100);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "recovered");
    ck_assert_int_eq(resp.attempts, 2);
    ck_assert_int_eq(hits(), 2);
    ck_assert_int_eq(h.n_sleeps, 1);
    /* the first back-off, jittered into [half, full] */
    ck_assert_int_ge(h.sleeps[0], 50);
    ck_assert_int_le(h.sleeps[0], 100);
    ck_assert_int_eq(h.logs, 1);
    ck_assert_ptr_nonnull(strstr(h.last_log, "HTTP 500"));
    ck_assert_ptr_null(strstr(h.last_log, "/flaky")); /* origin only in logs */
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

START_TEST(test_no_retry_without_max_retries)
{
    char *url = url_of("/flaky");
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url);
    sw_http_response resp = RESPONSE();
    sw_err err;
    /* a response arrived: SW_OK's counterpart, whatever the status */
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 500);
    ck_assert_int_eq(resp.attempts, 1);
    ck_assert_int_eq(h.n_sleeps, 0);
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

START_TEST(test_retries_run_out_return_last_response)
{
    char *url = url_of("/down");
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url, .max_retries = 3, .backoff_ms = 100);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 503);
    ck_assert_int_eq(resp.attempts, 4);
    ck_assert_int_eq(hits(), 4);
    ck_assert_int_eq(h.n_sleeps, 3);
    /* exponential: each wait within [half, full] of 100, 200, 400 */
    ck_assert_int_ge(h.sleeps[1], 100);
    ck_assert_int_le(h.sleeps[1], 200);
    ck_assert_int_ge(h.sleeps[2], 200);
    ck_assert_int_le(h.sleeps[2], 400);
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

START_TEST(test_429_retry_after_seconds)
{
    char *url = url_of("/busy");
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url, .max_retries = 2, .backoff_ms = 1);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "welcome back");
    ck_assert_int_eq(resp.attempts, 2);
    ck_assert_int_eq(h.n_sleeps, 1);
    ck_assert_int_eq(h.sleeps[0], 1000); /* Retry-After: 1 outweighs a 1 ms back-off */
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

START_TEST(test_503_retry_after_date)
{
    char *url = url_of("/busy-date");
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url, .max_retries = 1, .backoff_ms = 1);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(h.n_sleeps, 1);
    /* a date ten seconds ahead, to the second, however slow this machine is */
    ck_assert_int_ge(h.sleeps[0], 1000);
    ck_assert_int_le(h.sleeps[0], 11000);
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

/* A port that refuses: bind one, then close it. */
static unsigned short closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

START_TEST(test_connection_refused)
{
    unsigned port = closed_port();
    char *url = sw_xasprintf("http://127.0.0.1:%u/x?token=s3cr3t", port);
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.method = "POST", .url = url, .body = "{}", .max_retries = 2);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), -1);
    char *want =
        sw_xasprintf("POST http://127.0.0.1:%u/x: connection refused after 3 attempts", port);
    ck_assert_str_eq(err.msg, want); /* the query string (a token, often) is left out */
    ck_assert_ptr_null(resp.body);
    ck_assert_int_eq(resp.attempts, 3);
    ck_assert_int_eq(h.n_sleeps, 2);
    free(want);
    free(url);
}
END_TEST

/* A socket that listens but never accepts: the kernel completes the handshake,
   nobody ever answers. */
static int silent_listener(unsigned short *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

START_TEST(test_timeout)
{
    unsigned short port;
    int fd = silent_listener(&port);
    char *url = sw_xasprintf("http://127.0.0.1:%u/slow", (unsigned)port);
    sw_http_request req = REQUEST(.url = url, .timeout_ms = 200);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "GET http://127.0.0.1:") == err.msg, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "/slow: timed out after 200 ms") != NULL, "%s", err.msg);
    ck_assert_int_eq(resp.attempts, 1);
    close(fd);
    free(url);
}
END_TEST

START_TEST(test_cancelled_during_transfer)
{
    unsigned short port;
    int fd = silent_listener(&port);
    char *url = sw_xasprintf("http://127.0.0.1:%u/slow", (unsigned)port);
    hooks h = {.cancel_after_polls = 3};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url, .timeout_ms = 60000, .max_retries = 5);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), -1);
    ck_assert_msg(strstr(err.msg, ": cancelled") != NULL, "%s", err.msg);
    ck_assert_int_eq(h.n_sleeps, 0);
    close(fd);
    free(url);
}
END_TEST

static int cancel_in_sleep(void *ud, int64_t ms)
{
    hooks *h = ud;
    h->n_sleeps++;
    return 1;
}

START_TEST(test_cancelled_during_backoff)
{
    char *url = url_of("/down");
    hooks h = {0};
    sw_http_ctl ctl = {.sleep = cancel_in_sleep, .ud = &h};
    sw_http_request req = REQUEST(.url = url, .max_retries = 5);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), -1);
    ck_assert_msg(strstr(err.msg, "/down: cancelled") != NULL, "%s", err.msg);
    ck_assert_int_eq(hits(), 1);
    ck_assert_int_eq(h.n_sleeps, 1);
    free(url);
}
END_TEST

START_TEST(test_size_cap)
{
    char *url = url_of("/big");
    sw_http_ctl ctl = {.max_body = 1024};
    sw_http_request req = REQUEST(.url = url);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), -1);
    ck_assert_msg(strstr(err.msg, "larger than 1024 bytes") != NULL, "%s", err.msg);
    ck_assert_ptr_null(resp.body);
    free(url);
}
END_TEST

START_TEST(test_redirect_not_followed_and_4xx_not_retried)
{
    char *url = url_of("/moved");
    hooks h = {0};
    sw_http_ctl ctl = ctl_for(&h);
    sw_http_request req = REQUEST(.url = url, .max_retries = 3);
    sw_http_response resp = RESPONSE();
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 302);
    ck_assert_int_eq(hits(), 1);
    sw_http_response_free(&resp);
    free(url);

    url = url_of("/missing");
    resp = RESPONSE();
    req = REQUEST(.url = url, .max_retries = 3);
    ck_assert_int_eq(sw_http_perform(&req, &resp, &ctl, &err), 0);
    ck_assert_int_eq(resp.status, 404);
    ck_assert_int_eq(resp.attempts, 1);
    ck_assert_int_eq(h.n_sleeps, 0);
    sw_http_response_free(&resp);
    free(url);
}
END_TEST

START_TEST(test_bad_requests)
{
    sw_err err;
    sw_http_response resp = RESPONSE();
    sw_http_request req = REQUEST(.url = "ftp://example.com/x");
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), -1);
    ck_assert_str_eq(err.msg,
                     "GET ftp://example.com/x: only http:// and https:// URLs are supported");

    req = REQUEST(.url = NULL);
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "http: the request has no url");

    req = REQUEST(.url = "http://127.0.0.1/", .method = "GET /x HTTP/1.1\r\n");
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not an HTTP method"));

    const char *headers[] = {"Authorization: Bearer abcdef\r\nX-Evil: 1", NULL};
    req = REQUEST(.url = "http://127.0.0.1/", .headers = headers);
    ck_assert_int_eq(sw_http_perform(&req, &resp, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "GET http://127.0.0.1/: header 1 is not a single 'Name: value' line");
    ck_assert_ptr_null(strstr(err.msg, "abcdef"));

    sw_http_response zero = {0};
    req = REQUEST(.url = "http://127.0.0.1/");
    ck_assert_int_eq(sw_http_perform(&req, &zero, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "SW_ABI_INIT(sw_http_response)"));

    sw_http_request other_major = REQUEST(.url = "http://127.0.0.1/");
    other_major.abi_major = 2;
    ck_assert_int_eq(sw_http_perform(&other_major, &resp, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "http: the request was built for ABI 2, the host speaks 1");
}
END_TEST

/* A plugin built against a minor that ended the structs earlier: the request's
   missing fields take defaults, the response's missing fields are not written. */
START_TEST(test_smaller_structs)
{
    char *url = url_of("/ok");
    sw_http_request req = REQUEST(.url = url, .max_retries = 99 /* cut off below */);
    req.struct_size = (uint32_t)(offsetof(sw_http_request, url) + sizeof(const char *));
    struct {
        sw_http_response r;
        char canary[8];
    } small;
    memset(&small, 0x5a, sizeof small);
    small.r.abi_major = SW_ABI_MAJOR;
    small.r.abi_minor = 0;
    small.r.struct_size = (uint32_t)(offsetof(sw_http_response, body_len) + sizeof(size_t));
    sw_err err;
    ck_assert_int_eq(sw_http_perform(&req, &small.r, NULL, &err), 0);
    ck_assert_int_eq(small.r.status, 200);
    ck_assert_str_eq(small.r.body, "hello");
    /* content_type, attempts, elapsed_ms lie beyond struct_size: untouched */
    const unsigned char *tail = (const unsigned char *)&small.r.content_type;
    for (size_t i = 0; i < sizeof small.r.content_type; i++)
        ck_assert_uint_eq(tail[i], 0x5a);
    ck_assert_int_eq(hits(), 1);
    sw_http_response_free(&small.r);
    ck_assert_ptr_null(small.r.body);
    free(url);
}
END_TEST

START_TEST(test_url_for_message)
{
    char *s = sw_http_url_for_message("https://user:pw@example.com:8443/a/b?key=1#frag");
    ck_assert_str_eq(s, "https://example.com:8443/a/b");
    free(s);
    s = sw_http_url_for_message("http://example.com?x=1");
    ck_assert_str_eq(s, "http://example.com");
    free(s);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, server_start, server_stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_get_200);
    tcase_add_test(tc, test_post_body_and_headers);
    tcase_add_test(tc, test_500_then_200_is_retried);
    tcase_add_test(tc, test_no_retry_without_max_retries);
    tcase_add_test(tc, test_retries_run_out_return_last_response);
    tcase_add_test(tc, test_429_retry_after_seconds);
    tcase_add_test(tc, test_503_retry_after_date);
    tcase_add_test(tc, test_connection_refused);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_cancelled_during_transfer);
    tcase_add_test(tc, test_cancelled_during_backoff);
    tcase_add_test(tc, test_size_cap);
    tcase_add_test(tc, test_redirect_not_followed_and_4xx_not_retried);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_smaller_structs);
    tcase_add_test(tc, test_url_for_message);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
