/* check_router_shadow.c - how the shadow worker sends its copies: plain http:// to an address
   through the router's own client (sw_up), everything else through libcurl, with the same
   headers, answers and error classes either way; and what sw_shadow_stop abandons. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "router/shadow.h"

#define ANSWER                                                                                     \
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"shadow says hi\"}}]}"

/* ---- a loopback HTTP/1.1 server: keep-alive, one thread per connection ---- */

typedef struct srv {
    int lfd, port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_t conns[32];
    int n_conns, requests;
    sw_buf last; /* the last request, head and body */
} srv;

typedef struct conn_arg {
    srv *sv;
    int fd;
} conn_arg;

static void *serve_conn(void *arg)
{
    conn_arg *ca = arg;
    srv *sv = ca->sv;
    int fd = ca->fd;
    free(ca);
    sw_buf in = {0};
    char chunk[4096];
    for (;;) {
        char *end = in.len ? strstr(in.data, "\r\n\r\n") : NULL;
        if (end) {
            size_t head = (size_t)(end - in.data) + 4;
            const char *cl = strcasestr(in.data, "\r\nContent-Length:");
            size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
            if (in.len >= head + body) {
                pthread_mutex_lock(&sv->mu);
                sv->last.len = 0;
                sw_buf_append(&sv->last, in.data, head + body);
                sv->requests++;
                pthread_mutex_unlock(&sv->mu);
                char out[512];
                int n = snprintf(out, sizeof out,
                                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: %zu\r\n\r\n%s",
                                 strlen(ANSWER), ANSWER);
                if (send(fd, out, (size_t)n, MSG_NOSIGNAL) != n)
                    break;
                memmove(in.data, in.data + head + body, in.len - head - body + 1);
                in.len -= head + body;
                continue;
            }
        }
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r <= 0)
            break; /* the client closed its kept-alive connection (at sw_shadow_stop) */
        sw_buf_append(&in, chunk, (size_t)r);
    }
    sw_buf_free(&in);
    close(fd);
    return NULL;
}

static void *acceptor(void *arg)
{
    srv *sv = arg;
    for (;;) {
        int fd = accept(sv->lfd, NULL, NULL);
        if (fd < 0)
            return NULL; /* shut down */
        conn_arg *ca = sw_xcalloc(1, sizeof *ca);
        ca->sv = sv;
        ca->fd = fd;
        pthread_mutex_lock(&sv->mu);
        int room = sv->n_conns < 32; /* the tests make a few */
        if (room)
            pthread_create(&sv->conns[sv->n_conns++], NULL, serve_conn, ca);
        pthread_mutex_unlock(&sv->mu);
        if (!room) {
            close(fd);
            free(ca);
        }
    }
}

/* A listening socket on 127.0.0.1, port in *port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

static void srv_start(srv *sv)
{
    memset(sv, 0, sizeof *sv);
    pthread_mutex_init(&sv->mu, NULL);
    sv->lfd = listen_loopback(&sv->port);
    pthread_create(&sv->acceptor, NULL, acceptor, sv);
}

/* After sw_shadow_stop, which closes the connections its clients kept. */
static void srv_stop(srv *sv)
{
    shutdown(sv->lfd, SHUT_RDWR);
    pthread_join(sv->acceptor, NULL);
    close(sv->lfd);
    for (int i = 0; i < sv->n_conns; i++)
        pthread_join(sv->conns[i], NULL);
    sw_buf_free(&sv->last);
    pthread_mutex_destroy(&sv->mu);
}

static char *srv_last(srv *sv)
{
    pthread_mutex_lock(&sv->mu);
    char *s = sw_xstrndup(sv->last.data ? sv->last.data : "", sv->last.len);
    pthread_mutex_unlock(&sv->mu);
    return s;
}

/* ---- the shadow worker ---- */

typedef struct rig {
    sw_shadow s;
    int efd;
} rig;

static void rig_start(rig *g, long timeout_ms, size_t max_response)
{
    g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(g->efd, 0);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_shadow_start(&g->s, 8, 4, timeout_ms, 5000, max_response, g->efd, &err), 0);
}

static void rig_stop(rig *g)
{
    sw_shadow_stop(&g->s);
    close(g->efd);
}

/* A copy to http://host:port/v1/chat/completions. */
static sw_shadow_job *job_to(const char *host, int port)
{
    sw_shadow_job *job = sw_xcalloc(1, sizeof *job);
    job->url = sw_xasprintf("http://%s:%d/v1/chat/completions", host, port);
    job->body = sw_xstrdup("{\"copy\":1}");
    job->len = strlen(job->body);
    job->pairs_fd = -1;
    return job;
}

/* Submit job with its primary already handed over, so the transfer's end completes the pair;
   wait (on the notify eventfd, as the loop does) until it comes back. */
static sw_shadow_job *send_copy(rig *g, sw_shadow_job *job)
{
    ck_assert_int_eq(sw_shadow_submit(&g->s, job), 0);
    sw_shadow_primary(&g->s, job);
    sw_shadow_flush(&g->s);
    for (int i = 0; i < 3000; i++) {
        sw_shadow_job *got = sw_shadow_take_done(&g->s);
        if (got) {
            ck_assert_ptr_eq(got, job);
            return got;
        }
        struct pollfd p = {.fd = g->efd, .events = POLLIN};
        if (poll(&p, 1, 100) == 1) {
            uint64_t v;
            ck_assert_int_eq(read(g->efd, &v, sizeof v), (int)sizeof v);
        }
    }
    ck_abort_msg("the copy never came back");
    return NULL;
}

static int prepare_request(sw_shadow_job *job)
{
    job->request = sw_xstrdup("{\"prepared\":true}");
    job->request_len = strlen(job->request);
    return 0;
}

START_TEST(test_own_client_answers)
{
    srv sv;
    srv_start(&sv);
    rig g;
    rig_start(&g, 5000, 1 << 20);

    sw_shadow_job *job = job_to("127.0.0.1", sv.port);
    job->auth = sw_xstrdup("Authorization: Bearer k1");
    job = send_copy(&g, job);
    ck_assert_int_eq(job->curl_code, 0);
    ck_assert_str_eq(job->error, "");
    ck_assert_int_eq(job->status, 200);
    ck_assert_int_eq(job->too_big, 0);
    ck_assert_uint_eq(job->response.len, strlen(ANSWER));
    ck_assert_int_eq(memcmp(job->response.data, ANSWER, job->response.len), 0);
    ck_assert_ptr_null(job->request);
    sw_shadow_job_free(job);
    char *req = srv_last(&sv);
    ck_assert_ptr_nonnull(strstr(req, "POST /v1/chat/completions HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nContent-Type: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nx-slipway-shadow: 1\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Bearer k1\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\n\r\n{\"copy\":1}"));
    /* libcurl would have added an Accept header: the copy went through the router's client. */
    ck_assert_ptr_null(strcasestr(req, "\r\nAccept:"));
    free(req);

    /* What `prepare` made is sent instead of the client's bytes, without an Authorization
       header when there is none, on the connection kept from the first copy. */
    job = job_to("127.0.0.1", sv.port);
    job->prepare = prepare_request;
    job = send_copy(&g, job);
    ck_assert_int_eq(job->curl_code, 0);
    ck_assert_int_eq(job->status, 200);
    ck_assert_uint_eq(job->response.len, strlen(ANSWER));
    ck_assert_ptr_null(job->request);
    sw_shadow_job_free(job);
    req = srv_last(&sv);
    ck_assert_ptr_nonnull(strstr(req, "\r\n\r\n{\"prepared\":true}"));
    ck_assert_ptr_null(strstr(req, "Authorization"));
    ck_assert_ptr_null(strcasestr(req, "\r\nAccept:"));
    free(req);
    pthread_mutex_lock(&sv.mu);
    ck_assert_int_eq(sv.requests, 2);
    ck_assert_int_eq(sv.n_conns, 1);
    pthread_mutex_unlock(&sv.mu);

    rig_stop(&g);
    srv_stop(&sv);
}
END_TEST

START_TEST(test_host_name_goes_to_libcurl)
{
    srv sv;
    srv_start(&sv);
    rig g;
    rig_start(&g, 5000, 1 << 20);
    /* A host name is libcurl's (its resolver): same headers, same answer. */
    sw_shadow_job *job = job_to("localhost", sv.port);
    job->auth = sw_xstrdup("Authorization: Bearer k2");
    job = send_copy(&g, job);
    ck_assert_msg(job->curl_code == 0, "%s", job->error);
    ck_assert_int_eq(job->status, 200);
    ck_assert_uint_eq(job->response.len, strlen(ANSWER));
    ck_assert_int_eq(memcmp(job->response.data, ANSWER, job->response.len), 0);
    sw_shadow_job_free(job);
    char *req = srv_last(&sv);
    ck_assert_ptr_nonnull(strcasestr(req, "\r\nAccept: */*\r\n")); /* libcurl's */
    ck_assert_ptr_nonnull(strstr(req, "\r\nx-slipway-shadow: 1\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Bearer k2\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\n\r\n{\"copy\":1}"));
    free(req);
    rig_stop(&g);
    srv_stop(&sv);
}
END_TEST

START_TEST(test_own_client_failures)
{
    /* A closed port: refused at once, as a connect error. */
    int closed_port;
    close(listen_loopback(&closed_port));
    /* A listener that never accepts: the kernel completes the connection, nothing answers. */
    int stall_port, stall = listen_loopback(&stall_port);
    srv sv;
    srv_start(&sv);

    rig g;
    rig_start(&g, 300, 16);
    sw_shadow_job *job = send_copy(&g, job_to("127.0.0.1", closed_port));
    ck_assert_int_eq(job->curl_code, CURLE_COULDNT_CONNECT);
    ck_assert_msg(strcasestr(job->error, "connect") != NULL, "%s", job->error);
    ck_assert_int_eq(job->status, 0);
    sw_shadow_job_free(job);

    job = send_copy(&g, job_to("127.0.0.1", stall_port));
    ck_assert_int_eq(job->curl_code, CURLE_OPERATION_TIMEDOUT);
    ck_assert_msg(strstr(job->error, "timed out") != NULL, "%s", job->error);
    ck_assert_int_eq(job->status, 0);
    sw_shadow_job_free(job);

    /* An answer over max_response (16 bytes here): the transfer is cut, the status kept. */
    job = send_copy(&g, job_to("127.0.0.1", sv.port));
    ck_assert_int_eq(job->too_big, 1);
    ck_assert_int_eq(job->curl_code, CURLE_WRITE_ERROR);
    ck_assert_str_ne(job->error, "");
    ck_assert_int_eq(job->status, 200);
    ck_assert_uint_le(job->response.len, 16);
    sw_shadow_job_free(job);

    rig_stop(&g);
    srv_stop(&sv);
    close(stall);
}
END_TEST

START_TEST(test_stop_abandons_running)
{
    int stall_port, stall = listen_loopback(&stall_port);
    rig g;
    rig_start(&g, 60000, 1 << 20);
    /* Two copies that never end, one on each client: stop frees both (ASan, valgrind). */
    sw_shadow_job *a = job_to("127.0.0.1", stall_port);
    a->auth = sw_xstrdup("Authorization: Bearer k3");
    sw_shadow_job *b = job_to("localhost", stall_port);
    b->prepare = prepare_request;
    ck_assert_int_eq(sw_shadow_submit(&g.s, a), 0);
    ck_assert_int_eq(sw_shadow_submit(&g.s, b), 0);
    int taken = 0;
    for (int i = 0; i < 5000 && !taken; i++) {
        pthread_mutex_lock(&g.s.mu);
        taken = g.s.queued == 0 && g.s.inflight == 2;
        pthread_mutex_unlock(&g.s.mu);
        if (!taken)
            usleep(1000);
    }
    ck_assert(taken);
    usleep(50000); /* let the transfers get under way (stop is correct at any point) */
    rig_stop(&g);
    close(stall);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_shadow");
    TCase *tc = tcase_create("clients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_own_client_answers);
    tcase_add_test(tc, test_host_name_goes_to_libcurl);
    tcase_add_test(tc, test_own_client_failures);
    tcase_add_test(tc, test_stop_abandons_running);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
