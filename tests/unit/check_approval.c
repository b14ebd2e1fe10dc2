/*
 * check_approval.c - the approval example plugin, run through the stage test
 * harness: sign-off files (present, appearing later, rejecting), a flag URL
 * (libmicrohttpd, in-process, on 127.0.0.1), the timeout and cancellation.
 *
 * Polls are 10 ms and files appear from another thread; no test depends on
 * how long anything takes, only on the order things happen in.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ftw.h>
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
#define PLUGIN SW_TEST_BINARY_DIR "/../sdk/examples/plugins/approval.so"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static char tmp[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    strcpy(tmp, "/tmp/check_approval.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
    nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static sw_harness *approval(const char *with)
{
    sw_harness *h = sw_harness_new();
    ck_assert_msg(sw_harness_load(h, PLUGIN) == 0, "%s", sw_harness_error(h));
    ck_assert_int_eq(sw_harness_set_base_dir(h, tmp), 0);
    ck_assert_msg(sw_harness_set_with(h, with) == 0, "%s", sw_harness_error(h));
    return h;
}

static void expect_approved_by(sw_harness *h, const char *who)
{
    int approved = 0;
    const char *approver;
    ck_assert_int_eq(sw_harness_get_bool(h, "approved", &approved), 0);
    ck_assert_int_eq(approved, 1);
    ck_assert_int_eq(sw_harness_get_string(h, "approver", &approver), 0);
    ck_assert_str_eq(approver, who);
}

START_TEST(test_file_already_there)
{
    char path[128];
    snprintf(path, sizeof path, "%s/signoff", tmp);
    write_text(path, "alice\n");
    sw_harness *h = approval("file: signoff\npoll: 10ms\n"); /* relative to the base folder */
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    expect_approved_by(h, "alice");
    ck_assert_int_ge(sw_harness_log_find(h, "approved by alice"), 0);
    sw_harness_free(h);
}
END_TEST

static void *sign_later(void *arg)
{
    usleep(100 * 1000);
    char path[128], part[140];
    snprintf(path, sizeof path, "%s/later", tmp);
    snprintf(part, sizeof part, "%s.tmp", path);
    write_text(part, "approved by dana\n");
    rename(part, path);
    return NULL;
}

START_TEST(test_file_appears_later)
{
    sw_harness *h = approval("file: later\npoll: 10ms\ntimeout: 1h\n");
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, sign_later, NULL), 0);
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    pthread_join(t, NULL);
    expect_approved_by(h, "dana");
    sw_harness_free(h);
}
END_TEST

START_TEST(test_file_rejects)
{
    char path[128];
    snprintf(path, sizeof path, "%s/no", tmp);
    write_text(path, "rejected by bob: not before the freeze ends\n");
    sw_harness *h = approval("file: no\npoll: 10ms\n");
    ck_assert_int_eq(sw_harness_run(h), SW_FAIL);
    ck_assert_str_eq(sw_harness_reason(h),
                     "the sign-off file says: rejected by bob: not before the freeze ends");
    int approved = 1;
    ck_assert_int_eq(sw_harness_get_bool(h, "approved", &approved), 0);
    ck_assert_int_eq(approved, 0);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_times_out)
{
    sw_harness *h = approval("file: never\npoll: 10ms\ntimeout: 50ms\n");
    ck_assert_int_eq(sw_harness_run(h), SW_FAIL);
    ck_assert_str_eq(sw_harness_reason(h), "no sign-off within 50 ms");
    ck_assert(!sw_harness_was_cancelled(h));
    sw_harness_free(h);
}
END_TEST

START_TEST(test_honours_cancellation)
{
    sw_harness *h = approval("file: never\npoll: 1h\ntimeout: 2h\n");
    sw_harness_cancel_after(h, 50);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "cancelled while waiting for a sign-off");
    ck_assert(sw_harness_was_cancelled(h));
    ck_assert(!sw_harness_has(h, "approved"));
    sw_harness_free(h);
}
END_TEST

START_TEST(test_needs_a_source)
{
    sw_harness *h = approval("timeout: 1s\n");
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "give a sign-off file, a flag url, or both");
    sw_harness_free(h);
}
END_TEST

/* ---- the flag URL ---- */

static struct MHD_Daemon *flagd;
static unsigned short flag_port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int looks;
static const char *final_body;

static mhd_result flag(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                       const char *version, const char *data, size_t *data_size, void **con_cls)
{
    pthread_mutex_lock(&lock);
    int n = ++looks;
    pthread_mutex_unlock(&lock);
    /* not yet, twice (a 404 and a 200 saying something else), then the verdict */
    const char *body = n == 1 ? "no such flag" : n == 2 ? "pending" : final_body;
    unsigned code = n == 1 ? 404 : 200;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    mhd_result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static void flag_start(const char *verdict)
{
    looks = 0;
    final_body = verdict;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    flagd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, flag, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    ck_assert_ptr_nonnull(flagd);
    flag_port = MHD_get_daemon_info(flagd, MHD_DAEMON_INFO_BIND_PORT)->port;
}

START_TEST(test_flag_url_approves)
{
    flag_start("approved by carol\n");
    char with[256];
    snprintf(with, sizeof with, "url: http://127.0.0.1:%u/flags/r-1\npoll: 10ms\n",
             (unsigned)flag_port);
    sw_harness *h = approval(with);
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    expect_approved_by(h, "carol");
    ck_assert_int_eq(looks, 3);
    sw_harness_free(h);
    MHD_stop_daemon(flagd);
}
END_TEST

START_TEST(test_flag_url_plain_approved)
{
    flag_start("approved");
    char with[256];
    snprintf(with, sizeof with, "url: http://127.0.0.1:%u/f\nfile: absent\npoll: 10ms\n",
             (unsigned)flag_port);
    sw_harness *h = approval(with);
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    expect_approved_by(h, "(url)");
    sw_harness_free(h);
    MHD_stop_daemon(flagd);
}
END_TEST

START_TEST(test_flag_url_rejects)
{
    flag_start("rejected: security review pending");
    char with[256];
    snprintf(with, sizeof with, "url: http://127.0.0.1:%u/f\npoll: 10ms\n", (unsigned)flag_port);
    sw_harness *h = approval(with);
    ck_assert_int_eq(sw_harness_run(h), SW_FAIL);
    ck_assert_str_eq(sw_harness_reason(h), "the flag URL says: rejected: security review pending");
    sw_harness_free(h);
    MHD_stop_daemon(flagd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("approval");
    TCase *tc = tcase_create("approval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_file_already_there);
    tcase_add_test(tc, test_file_appears_later);
    tcase_add_test(tc, test_file_rejects);
    tcase_add_test(tc, test_times_out);
    tcase_add_test(tc, test_honours_cancellation);
    tcase_add_test(tc, test_needs_a_source);
    tcase_add_test(tc, test_flag_url_approves);
    tcase_add_test(tc, test_flag_url_plain_approved);
    tcase_add_test(tc, test_flag_url_rejects);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
