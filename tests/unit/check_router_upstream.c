/* check_router_upstream.c - the router's own HTTP/1.1 upstream client (core/router/upstream.c)
   against a scripted server on loopback: framing, keep-alive reuse, a stale kept-alive
   connection, the error classes, pause and abort. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "router/upstream.h"

#define KIND 7

typedef struct result {
    int done, status, pause_once, abort, paused;
    sw_up_result res;
    char msg[256];
    char ctype[64];
    sw_buf body;
} result;

static void on_head(void *ud, int status, const char *ctype)
{
    result *r = ud;
    r->status = status;
    snprintf(r->ctype, sizeof r->ctype, "%s", ctype ? ctype : "");
}

static size_t on_body(void *ud, const char *p, size_t n)
{
    result *r = ud;
    if (r->abort)
        return 0;
    if (r->pause_once) {
        r->pause_once = 0;
        r->paused = 1;
        return SW_UP_PAUSE;
    }
    sw_buf_append(&r->body, p, n);
    return n;
}

static void on_done(void *ud, sw_up_result res, const char *msg)
{
    result *r = ud;
    r->done = 1;
    r->res = res;
    snprintf(r->msg, sizeof r->msg, "%s", msg ? msg : "");
}

static const sw_up_fns fns = {on_head, on_body, on_done};

typedef struct env {
    int epfd, lfd, port;
    sw_up *up;
    char url[64];
} env;

static void env_open(env *e, long timeout_ms)
{
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(e->epfd, 0);
    e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(e->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(e->lfd, 16), 0);
    socklen_t l = sizeof a;
    getsockname(e->lfd, (struct sockaddr *)&a, &l);
    e->port = ntohs(a.sin_port);
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d/v1/chat/completions", e->port);
    e->up = sw_up_new(e->epfd, KIND, 5000, timeout_ms);
}

static void env_close(env *e)
{
    sw_up_free(e->up);
    close(e->lfd);
    close(e->epfd);
}

/* One turn of an event loop like the router's. */
static void turn(env *e, int wait_ms)
{
    sw_up_reap(e->up);
    struct epoll_event evs[16];
    int n = epoll_wait(e->epfd, evs, 16, wait_ms);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(*(int *)evs[i].data.ptr, KIND);
        sw_up_event(e->up, evs[i].data.ptr, evs[i].events);
    }
    sw_up_run(e->up, sw_now_ms());
}

static void run_until_done(env *e, result *r)
{
    for (int i = 0; i < 2000 && !r->done; i++)
        turn(e, 10);
    ck_assert_msg(r->done, "the call never ended");
}

/* The server side: accept (or not, when fd is given) and read one whole request. */
static int serve_accept(env *e)
{
    struct pollfd p = {.fd = e->lfd, .events = POLLIN};
    for (int i = 0; i < 500 && poll(&p, 1, 0) == 0; i++)
        turn(e, 10);
    int fd = accept(e->lfd, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static void read_request(env *e, int fd, sw_buf *req)
{
    req->len = 0;
    for (int i = 0; i < 1000; i++) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            sw_buf_append(req, buf, (size_t)n);
        const char *end = req->data ? strstr(req->data, "\r\n\r\n") : NULL;
        if (end) {
            const char *cl = strstr(req->data, "Content-Length: ");
            size_t want = (size_t)(end + 4 - req->data) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
            if (req->len >= want)
                return;
        }
        if (n <= 0)
            turn(e, 5);
    }
    ck_abort_msg("no whole request arrived");
}

static void say(int fd, const char *s)
{
    ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static sw_up_call *start(env *e, result *r)
{
    memset(r, 0, sizeof *r);
    static const char hdrs[] = "Content-Type: application/json\r\nx-slipway-agent: a\r\n";
    return sw_up_start(e->up, e->url, hdrs, sizeof hdrs - 1, "{\"x\":1}", 7, &fns, r);
}

START_TEST(content_length_and_keep_alive)
{
    env e;
    env_open(&e, 10000);
    result r;
    start(&e, &r);
    int fd = serve_accept(&e);
    sw_buf req = {0};
    read_request(&e, fd, &req);
    ck_assert_msg(strncmp(req.data, "POST /v1/chat/completions HTTP/1.1\r\n", 36) == 0, "%s",
                  req.data);
    ck_assert_ptr_nonnull(strstr(req.data, "\r\nHost: 127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(req.data, "\r\nx-slipway-agent: a\r\n"));
    ck_assert_ptr_nonnull(strstr(req.data, "\r\nContent-Length: 7\r\n\r\n{\"x\":1}"));
    say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhel");
    turn(&e, 20);
    ck_assert(!r.done);
    say(fd, "lo");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    ck_assert_str_eq(r.body.data, "hello");
    sw_buf_free(&r.body);
    /* The second call goes over the same connection: nothing new to accept. */
    start(&e, &r);
    read_request(&e, fd, &req);
    struct pollfd p = {.fd = e.lfd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    say(fd, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.ctype, "");
    sw_buf_free(&r.body);
    sw_buf_free(&req);
    close(fd);
    env_close(&e);
}
END_TEST

START_TEST(chunked_in_pieces_and_interim_answer)
{
    env e;
    env_open(&e, 10000);
    result r;
    start(&e, &r);
    int fd = serve_accept(&e);
    sw_buf req = {0};
    read_request(&e, fd, &req);
    const char *parts[] = {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Enc",
                           "oding: chunked\r\nContent-Type: text/event-stream\r\n\r\n5\r\ndata:",
                           "\r\nC;ext=1\r\n hello wor", "ld\r", "\n0\r\nX-Trailer: 1\r\n\r\n"};
    for (size_t i = 0; i < 5; i++) {
        say(fd, parts[i]);
        turn(&e, 20);
    }
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, "text/event-stream");
    ck_assert_str_eq(r.body.data, "data: hello world");
    sw_buf_free(&r.body);
    sw_buf_free(&req);
    close(fd);
    env_close(&e);
}
END_TEST

START_TEST(body_until_close)
{
    env e;
    env_open(&e, 10000);
    result r;
    start(&e, &r);
    int fd = serve_accept(&e);
    sw_buf req = {0};
    read_request(&e, fd, &req);
    say(fd, "HTTP/1.0 200 OK\r\n\r\nall of it");
    close(fd);
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_str_eq(r.body.data, "all of it");
    sw_buf_free(&r.body);
    sw_buf_free(&req);
    env_close(&e);
}
END_TEST

START_TEST(stale_keep_alive_connection_is_replaced)
{
    env e;
    env_open(&e, 10000);
    result r;
    start(&e, &r);
    int fd = serve_accept(&e);
    sw_buf req = {0};
    read_request(&e, fd, &req);
    say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    run_until_done(&e, &r);
    sw_buf_free(&r.body);
    /* The upstream drops the idle connection; the client has not looked yet. */
    close(fd);
    usleep(20000);
    start(&e, &r);
    int fd2 = serve_accept(&e);
    read_request(&e, fd2, &req);
    say(fd2, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_str_eq(r.body.data, "again");
    sw_buf_free(&r.body);
    sw_buf_free(&req);
    close(fd2);
    env_close(&e);
}
END_TEST

START_TEST(error_classes)
{
    env e;
    env_open(&e, 10000);
    result r;
    sw_buf req = {0};
    /* Closed before any byte of an answer, on a new connection. */
    start(&e, &r);
    int fd = serve_accept(&e);
    read_request(&e, fd, &req);
    close(fd);
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_NOTHING);
    /* Cut in the middle of the body. */
    start(&e, &r);
    fd = serve_accept(&e);
    read_request(&e, fd, &req);
    say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
    close(fd);
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_RECV);
    sw_buf_free(&r.body);
    /* Not HTTP at all. */
    start(&e, &r);
    fd = serve_accept(&e);
    read_request(&e, fd, &req);
    say(fd, "SSH-2.0-OpenSSH\r\n");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_RECV);
    close(fd);
    /* The body callback refuses bytes. */
    start(&e, &r);
    r.abort = 1;
    fd = serve_accept(&e);
    read_request(&e, fd, &req);
    say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_ABORTED);
    close(fd);
    /* Nobody listens any more. */
    close(e.lfd);
    e.lfd = socket(AF_INET, SOCK_STREAM, 0);
    start(&e, &r);
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_CONNECT);
    ck_assert_msg(strstr(r.msg, "refused") != NULL, "%s", r.msg);
    sw_buf_free(&req);
    env_close(&e);
}
END_TEST

START_TEST(early_answer_before_the_body_was_sent)
{
    env e;
    env_open(&e, 10000);
    result r;
    memset(&r, 0, sizeof r);
    size_t big = 8u << 20;
    char *body = sw_xmalloc(big);
    memset(body, 'x', big);
    sw_up_start(e.up, e.url, "", 0, body, big, &fns, &r);
    int fd = serve_accept(&e);
    /* The upstream refuses without reading the body; the client is still sending it. */
    say(fd, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_int_eq(r.status, 413);
    /* That connection has the rest of a body in it: the next call gets a new one. */
    start(&e, &r);
    int fd2 = serve_accept(&e);
    sw_buf req = {0};
    read_request(&e, fd2, &req);
    say(fd2, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_str_eq(r.body.data, "ok");
    sw_buf_free(&r.body);
    sw_buf_free(&req);
    free(body);
    close(fd);
    close(fd2);
    env_close(&e);
}
END_TEST

START_TEST(timeout_and_cancel)
{
    env e;
    env_open(&e, 100);
    result r;
    start(&e, &r);
    int fd = serve_accept(&e);
    run_until_done(&e, &r); /* the server never answers */
    ck_assert_int_eq(r.res, SW_UP_TIMEOUT);
    close(fd);
    /* A canceled call says nothing more. */
    sw_up_call *c = start(&e, &r);
    fd = serve_accept(&e);
    sw_up_cancel(c);
    for (int i = 0; i < 20; i++)
        turn(&e, 10);
    ck_assert(!r.done);
    close(fd);
    env_close(&e);
}
END_TEST

START_TEST(pause_holds_bytes_until_unpause)
{
    env e;
    env_open(&e, 10000);
    result r;
    sw_up_call *c = start(&e, &r);
    r.pause_once = 1;
    int fd = serve_accept(&e);
    sw_buf req = {0};
    read_request(&e, fd, &req);
    say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef");
    for (int i = 0; i < 50 && !r.paused; i++)
        turn(&e, 10);
    ck_assert(r.paused);
    for (int i = 0; i < 5; i++)
        turn(&e, 10);
    ck_assert(!r.done);
    ck_assert_uint_eq(r.body.len, 0);
    sw_up_unpause(c);
    run_until_done(&e, &r);
    ck_assert_int_eq(r.res, SW_UP_OK);
    ck_assert_str_eq(r.body.data, "abcdef");
    sw_buf_free(&r.body);
    sw_buf_free(&req);
    close(fd);
    env_close(&e);
}
END_TEST

START_TEST(which_urls_are_ours)
{
    int epfd = epoll_create1(0);
    sw_up *up = sw_up_new(epfd, KIND, 1000, 1000);
    ck_assert(sw_up_handles(up, "http://127.0.0.1:8080/v1/chat/completions"));
    ck_assert(sw_up_handles(up, "HTTP://10.0.0.1/v1"));
    ck_assert(sw_up_handles(up, "http://[::1]:9000/v1"));
    ck_assert(!sw_up_handles(up, "https://127.0.0.1:8080/v1"));
    ck_assert(!sw_up_handles(up, "http://localhost:8080/v1"));
    ck_assert(!sw_up_handles(up, "http://api.example.com/v1"));
    ck_assert(!sw_up_handles(up, "http://user:pw@127.0.0.1/v1"));
    ck_assert(!sw_up_handles(up, "http://127.0.0.1:99999/v1"));
    ck_assert(!sw_up_handles(up, "http://127.0.0.1:80?x=1"));
    ck_assert(!sw_up_handles(up, "http://127.0.0.1/a b"));
    sw_up_free(up);
    close(epfd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_upstream");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, content_length_and_keep_alive);
    tcase_add_test(tc, chunked_in_pieces_and_interim_answer);
    tcase_add_test(tc, body_until_close);
    tcase_add_test(tc, stale_keep_alive_connection_is_replaced);
    tcase_add_test(tc, error_classes);
    tcase_add_test(tc, early_answer_before_the_body_was_sent);
    tcase_add_test(tc, timeout_and_cancel);
    tcase_add_test(tc, pause_holds_bytes_until_unpause);
    tcase_add_test(tc, which_urls_are_ours);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
