/*
 * check_slack_notify.c - the slack-notify example plugin, run through the
 * stage test harness against a webhook receiver (libmicrohttpd, in-process,
 * on 127.0.0.1 at a port the kernel picks).
 *
 * The plugin is built into <build>/sdk/examples/plugins (not the built-in
 * folder): SW_TEST_BINARY_DIR is <build>/tests.
 */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "slipway/harness.h"

#ifndef SW_TEST_BINARY_DIR
#error "SW_TEST_BINARY_DIR must name the tests' build folder"
#endif
#define PLUGIN SW_TEST_BINARY_DIR "/../sdk/examples/plugins/slack-notify.so"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

/* ---- the receiver ---- */

static struct MHD_Daemon *daemon_;
static unsigned short port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int hits;
static char got_body[1024];
static char got_type[128];
static char got_path[256];

typedef struct upload {
    char data[1024];
    size_t len;
} upload;

static mhd_result answer(struct MHD_Connection *c, unsigned code, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    mhd_result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static mhd_result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *data, size_t *data_size, void **con_cls)
{
    upload *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*data_size) {
        size_t n =
            *data_size < sizeof up->data - 1 - up->len ? *data_size : sizeof up->data - 1 - up->len;
        memcpy(up->data + up->len, data, n);
        up->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&lock);
    int n = ++hits;
    snprintf(got_body, sizeof got_body, "%.*s", (int)up->len, up->data);
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    snprintf(got_type, sizeof got_type, "%s", type ? type : "");
    snprintf(got_path, sizeof got_path, "%s %s", method, url);
    pthread_mutex_unlock(&lock);
    if (strncmp(url, "/services/", 10) == 0)
        return answer(c, 200, "ok");
    if (strcmp(url, "/flaky") == 0)
        return n == 1 ? answer(c, 500, "oops") : answer(c, 200, "ok");
    return answer(c, 404, "no_service");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static void start(void)
{
    hits = 0;
    got_body[0] = got_type[0] = got_path[0] = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(daemon_);
    port = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void stop(void)
{
    MHD_stop_daemon(daemon_);
}

static sw_harness *notifier(const char *path, const char *more)
{
    sw_harness *h = sw_harness_new();
    ck_assert_msg(sw_harness_load(h, PLUGIN) == 0, "%s", sw_harness_error(h));
    char with[1024];
    snprintf(with, sizeof with, "url: http://127.0.0.1:%u%s\n%s", (unsigned)port, path, more);
    ck_assert_msg(sw_harness_set_with(h, with) == 0, "%s", sw_harness_error(h));
    return h;
}

static int logs_contain(sw_harness *h, const char *text)
{
    return sw_harness_log_find(h, text) >= 0 || strstr(sw_harness_reason(h), text) != NULL;
}

START_TEST(test_posts_the_message)
{
    sw_harness *h = notifier("/services/T000/B000/SECRETTOKEN",
                             "text: \"release ${vars.version} is live\"\nchannel: \"#deploys\"\n");
    ck_assert_int_eq(sw_harness_set_string(h, "vars.version", "1.2"), 0);
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    int64_t status;
    ck_assert_int_eq(sw_harness_get_int(h, "status", &status), 0);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(got_path, "POST /services/T000/B000/SECRETTOKEN");
    ck_assert_str_eq(got_type, "application/json");
    ck_assert_str_eq(got_body, "{\"text\":\"release 1.2 is live\",\"channel\":\"#deploys\"}");
    ck_assert_int_ge(sw_harness_log_find(h, "posted to the webhook for #deploys"), 0);
    ck_assert(!logs_contain(h, "SECRETTOKEN"));
    sw_harness_free(h);
}
END_TEST

START_TEST(test_text_is_escaped)
{
    sw_harness *h =
        notifier("/services/x", "text: \"say \\\"hi\\\"\\n\\tback\\\\slash \\u00e9\"\n");
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    json_error_t jerr;
    json_t *j = json_loads(got_body, 0, &jerr);
    ck_assert_msg(j != NULL, "not JSON: %s", got_body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "text")),
                     "say \"hi\"\n\tback\\slash \xc3\xa9");
    ck_assert_ptr_null(json_object_get(j, "channel"));
    json_decref(j);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_webhook_refuses)
{
    sw_harness *h = notifier("/nowhere", "text: hello\n");
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "the webhook answered HTTP 404: no_service");
    int64_t status;
    ck_assert_int_eq(sw_harness_get_int(h, "status", &status), 0);
    ck_assert_int_eq(status, 404);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_retries_a_5xx)
{
    sw_harness *h = notifier("/flaky", "text: hello\nretries: 2\n");
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    ck_assert_int_eq(hits, 2);
    /* the host logs the retry, with the origin only */
    ck_assert_int_ge(sw_harness_log_find(h, "HTTP 500; retry 1 of 2"), 0);
    ck_assert(!logs_contain(h, "/flaky"));
    ck_assert_int_ge(sw_harness_log_find(h, "2 attempts"), 0);
    sw_harness_free(h);
}
END_TEST

static unsigned short closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd);
    return ntohs(addr.sin_port);
}

START_TEST(test_nobody_listens)
{
    sw_harness *h = sw_harness_new();
    ck_assert_int_eq(sw_harness_load(h, PLUGIN), 0);
    char with[256];
    snprintf(with, sizeof with,
             "url: http://127.0.0.1:%u/services/SECRETTOKEN\ntext: hi\nretries: 0\n",
             (unsigned)closed_port());
    ck_assert_int_eq(sw_harness_set_with(h, with), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "the webhook did not answer: connection refused");
    sw_harness_free(h);
}
END_TEST

START_TEST(test_parameters_checked)
{
    sw_harness *h = sw_harness_new();
    ck_assert_int_eq(sw_harness_load(h, PLUGIN), 0);
    ck_assert_int_eq(sw_harness_set_with(h, "text: hi\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_msg(strstr(sw_harness_reason(h), "missing required parameter 'url'") != NULL, "%s",
                  sw_harness_reason(h));
    ck_assert_int_eq(sw_harness_set_with(h, "url: ftp://example.com/x\ntext: hi\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "url must be an http:// or https:// webhook URL");
    sw_harness_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("slack-notify");
    TCase *tc = tcase_create("webhook");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_posts_the_message);
    tcase_add_test(tc, test_text_is_escaped);
    tcase_add_test(tc, test_webhook_refuses);
    tcase_add_test(tc, test_retries_a_5xx);
    tcase_add_test(tc, test_nobody_listens);
    tcase_add_test(tc, test_parameters_checked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
