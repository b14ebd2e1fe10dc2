/* check_router_pairs.c - the ring of recorded shadow pairs, and the shadow worker's handoff of a
   pair's two sides (the shadow's answer first or the primary's first). */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "router/router_impl.h"

static json_t *rec(int id, int64_t t_ms, const char *agent)
{
    return json_pack("{s:i, s:I, s:s}", "id", id, "t_ms", (json_int_t)t_ms, "agent", agent);
}

static int id_at(const json_t *list, size_t i)
{
    return (int)json_integer_value(json_object_get(json_array_get(list, i), "id"));
}

/* The ids of a listing, newest first, as "5,4,3". */
static char *ids(json_t *list)
{
    sw_buf b = {0};
    for (size_t i = 0; i < json_array_size(list); i++)
        sw_buf_printf(&b, "%s%d", i ? "," : "", id_at(list, i));
    json_decref(list);
    return sw_buf_steal(&b);
}

#define EXPECT_IDS(list, want)                                                                     \
    do {                                                                                           \
        char *got_ = ids(list);                                                                    \
        ck_assert_str_eq(got_, want);                                                              \
        free(got_);                                                                                \
    } while (0)

START_TEST(test_fills_then_wraps)
{
    sw_pair_ring g;
    sw_pair_ring_init(&g, 4);
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "");
    for (int i = 1; i <= 3; i++)
        json_decref(sw_pair_ring_push(&g, rec(i, 1000 + i, "a")));
    ck_assert_uint_eq(g.count, 3);
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "3,2,1");
    /* Past the capacity, more than once round: the oldest go. */
    for (int i = 4; i <= 11; i++)
        json_decref(sw_pair_ring_push(&g, rec(i, 1000 + i, "a")));
    ck_assert_uint_eq(g.count, 4);
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "11,10,9,8");
    /* The record that gave its slot is handed back, the oldest. */
    json_t *gone = sw_pair_ring_push(&g, rec(12, 1012, "a"));
    ck_assert_int_eq(json_integer_value(json_object_get(gone, "id")), 8);
    json_decref(gone);
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "12,11,10,9");
    sw_pair_ring_free(&g);
}
END_TEST

START_TEST(test_since_limit_agent)
{
    sw_pair_ring g;
    sw_pair_ring_init(&g, 5);
    /* Seven records in a ring of five: the listing runs across the wrap. */
    for (int i = 1; i <= 7; i++)
        json_decref(sw_pair_ring_push(&g, rec(i, 100 * i, i % 2 ? "odd" : "even")));
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "7,6,5,4,3");
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 2), "7,6");
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 500, 0), "7,6,5");
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 501, 0), "7,6");
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 800, 0), "");
    EXPECT_IDS(sw_pair_ring_list(&g, "odd", 0, 0), "7,5,3");
    EXPECT_IDS(sw_pair_ring_list(&g, "even", 0, 1), "6");
    EXPECT_IDS(sw_pair_ring_list(&g, "odd", 400, 5), "7,5");
    EXPECT_IDS(sw_pair_ring_list(&g, "none", 0, 0), "");
    /* The listing holds its own references: the ring can move on. */
    json_t *kept = sw_pair_ring_list(&g, NULL, 0, 1);
    for (int i = 8; i <= 12; i++)
        json_decref(sw_pair_ring_push(&g, rec(i, 100 * i, "odd")));
    ck_assert_int_eq(id_at(kept, 0), 7);
    json_decref(kept);
    sw_pair_ring_free(&g);
}
END_TEST

START_TEST(test_capacity_one_and_zero)
{
    sw_pair_ring g;
    sw_pair_ring_init(&g, 1);
    json_decref(sw_pair_ring_push(&g, rec(1, 1, "a")));
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "1");
    json_decref(sw_pair_ring_push(&g, rec(2, 2, "a")));
    json_decref(sw_pair_ring_push(&g, rec(3, 3, "a")));
    ck_assert_uint_eq(g.count, 1);
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "3");
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 4, 0), "");
    sw_pair_ring_free(&g);

    /* shadow.keep: 0 keeps nothing. */
    sw_pair_ring_init(&g, 0);
    json_decref(sw_pair_ring_push(&g, rec(1, 1, "a")));
    ck_assert_uint_eq(g.count, 0);
    EXPECT_IDS(sw_pair_ring_list(&g, NULL, 0, 0), "");
    sw_pair_ring_free(&g);
}
END_TEST

START_TEST(test_free_partly_filled)
{
    sw_pair_ring g;
    sw_pair_ring_init(&g, 3);
    for (int i = 1; i <= 5; i++)
        json_decref(sw_pair_ring_push(&g, rec(i, i, "a")));
    /* head is in the middle: every record still held is released once (valgrind/ASan). */
    ck_assert_uint_eq(g.head, 2);
    sw_pair_ring_free(&g);
    ck_assert_ptr_null(g.slot);
    ck_assert_uint_eq(g.count, 0);
}
END_TEST

/* ---- the handoff between the loop and the shadow worker ---- */

static void fake_complete(sw_shadow_job *job)
{
    /* On the worker, with both sides: what pairs.c's complete() would compare. */
    job->different = (int)job->primary.status;
    job->record =
        json_pack("{s:I, s:b}", "id", (json_int_t)job->pair_id, "failed", job->curl_code != 0);
}

static sw_shadow_job *job_to(const char *url, uint64_t id)
{
    sw_shadow_job *job = sw_xcalloc(1, sizeof *job);
    job->pair_id = id;
    job->url = sw_xstrdup(url);
    job->body = sw_xstrdup("{}");
    job->len = 2;
    job->pairs_fd = -1;
    job->complete = fake_complete;
    return job;
}

/* Nothing listens on port 1: the copy fails at once with a connection error. */
#define NOWHERE "http://127.0.0.1:1/v1/chat/completions"

static int shadow_done(sw_shadow *s, sw_shadow_job *job)
{
    pthread_mutex_lock(&s->mu);
    int d = job->shadow_done;
    pthread_mutex_unlock(&s->mu);
    return d;
}

/* Wait (on the notify eventfd, as the loop does) for the next finished job. */
static sw_shadow_job *next_done(sw_shadow *s, int efd)
{
    for (int i = 0; i < 1000; i++) {
        sw_shadow_job *job = sw_shadow_take_done(s);
        if (job)
            return job;
        struct pollfd p = {.fd = efd, .events = POLLIN};
        if (poll(&p, 1, 100) == 1) {
            uint64_t v;
            ck_assert_int_eq(read(efd, &v, sizeof v), (int)sizeof v);
        }
    }
    return NULL;
}

START_TEST(test_handoff_both_orders)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(efd, 0);
    sw_shadow s;
    sw_err err = {{0}};
    ck_assert_int_eq(sw_shadow_start(&s, 8, 2, 5000, 5000, 1 << 20, efd, &err), 0);

    /* The shadow's answer first: the job waits for its primary, then completes. */
    sw_shadow_job *a = job_to(NOWHERE, 1);
    ck_assert_int_eq(sw_shadow_submit(&s, a), 0);
    for (int i = 0; i < 10000 && !shadow_done(&s, a); i++)
        usleep(1000);
    ck_assert(shadow_done(&s, a));
    ck_assert_ptr_null(sw_shadow_take_done(&s));
    a->primary.status = 7;
    sw_shadow_primary(&s, a);
    ck_assert_ptr_null(sw_shadow_take_done(&s)); /* not handed over before the flush */
    sw_shadow_flush(&s);
    sw_shadow_job *got = next_done(&s, efd);
    ck_assert_ptr_eq(got, a);
    ck_assert_ptr_null(got->next);
    ck_assert_int_eq(got->different, 7);
    ck_assert(json_is_true(json_object_get(got->record, "failed")));
    sw_shadow_job_free(got);

    /* The primary first (handed over before the copy can have failed, or just after: the
       pair completes once either way). */
    sw_shadow_job *b = job_to(NOWHERE, 2);
    ck_assert_int_eq(sw_shadow_submit(&s, b), 0);
    b->primary.status = 9;
    sw_buf_puts(&b->primary.text, "primary text");
    sw_shadow_primary(&s, b);
    sw_shadow_flush(&s);
    got = next_done(&s, efd);
    ck_assert_ptr_eq(got, b);
    ck_assert_int_eq(got->different, 9);
    sw_shadow_job_free(got);

    /* At stop, jobs in every state are freed (valgrind/ASan): one answered with no primary,
       one whose primary was never flushed. */
    sw_shadow_job *c = job_to(NOWHERE, 3);
    ck_assert_int_eq(sw_shadow_submit(&s, c), 0);
    for (int i = 0; i < 10000 && !shadow_done(&s, c); i++)
        usleep(1000);
    sw_shadow_job *d = job_to(NOWHERE, 4);
    ck_assert_int_eq(sw_shadow_submit(&s, d), 0);
    sw_buf_puts(&d->primary.text, "never handed over");
    sw_shadow_primary(&s, d);
    sw_shadow_stop(&s);
    close(efd);
}
END_TEST

static int failing_prepare(sw_shadow_job *job)
{
    snprintf(job->error, sizeof job->error, "no request for this copy");
    return -1;
}

START_TEST(test_prepare_fails_and_values_go_back)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(efd, 0);
    sw_shadow s;
    sw_err err = {{0}};
    ck_assert_int_eq(sw_shadow_start(&s, 8, 2, 5000, 5000, 1 << 20, efd, &err), 0);
    /* A copy that cannot be made fails as a pair, with its reason, and no transfer. */
    sw_shadow_job *e = job_to(NOWHERE, 5);
    e->prepare = failing_prepare;
    ck_assert_int_eq(sw_shadow_submit(&s, e), 0);
    e->primary.status = 3;
    sw_shadow_primary(&s, e);
    /* Values handed back are released by the worker (ASan and valgrind see a leak if not),
       more of them than its list holds too: the rest go at later flushes or at stop. */
    for (int i = 0; i < SW_SHADOW_TRASH_MAX + 10; i++)
        sw_shadow_dispose(&s, json_pack("{s:i}", "n", i));
    sw_shadow_dispose(&s, NULL);
    sw_shadow_flush(&s);
    sw_shadow_job *got = next_done(&s, efd);
    ck_assert_ptr_eq(got, e);
    ck_assert_int_eq(got->different, 3);
    ck_assert(json_is_true(json_object_get(got->record, "failed")));
    ck_assert_str_eq(got->error, "no request for this copy");
    sw_shadow_job_free(got);
    sw_shadow_flush(&s);
    sw_shadow_stop(&s);
    close(efd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_pairs");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, test_fills_then_wraps);
    tcase_add_test(tc, test_since_limit_agent);
    tcase_add_test(tc, test_capacity_one_and_zero);
    tcase_add_test(tc, test_free_partly_filled);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("handoff");
    tcase_set_timeout(th, 60);
    tcase_add_test(th, test_handoff_both_orders);
    tcase_add_test(th, test_prepare_fails_and_values_go_back);
    suite_add_tcase(s, th);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
