/* check_journal.c - the append-only journal: lines, timestamps, torn tails, threads. */
#include <check.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "run/journal.h"

static char tmpdir[64];
static char *jpath;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    strcpy(tmpdir, "/tmp/check_journal.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    jpath = sw_path_join(tmpdir, "journal.jsonl");
}

static void teardown(void)
{
    free(jpath);
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *path, const char *text)
{
    sw_err err = {{0}};
    ck_assert_int_eq(sw_write_file_atomic(path, text, strlen(text), &err), 0);
}

static char *slurp(const char *path)
{
    sw_err err = {{0}};
    char *s = sw_read_file(path, 0, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

START_TEST(test_append_and_read)
{
    sw_err err = {{0}};
    sw_journal *j = sw_journal_open(jpath, &err);
    ck_assert_msg(j != NULL, "%s", err.msg);
    ck_assert_int_ge(sw_journal_fd(j), 0);

    json_t *ev = json_pack("{s:s, s:s, s:i}", "event", "stage_start", "stage", "golden", "n", 1);
    ck_assert_int_eq(sw_journal_append(j, ev, &err), 0);
    /* The caller's object gets the timestamp. */
    const char *ts = json_string_value(json_object_get(ev, "ts"));
    ck_assert_ptr_nonnull(ts);
    ck_assert_uint_eq(strlen(ts), 24);
    ck_assert(ts[4] == '-' && ts[10] == 'T' && ts[23] == 'Z');
    json_decref(ev);

    ev = json_pack("{s:s, s:s, s:s}", "event", "note", "ts", "2020-01-01T00:00:00.000Z", "text",
                   "multi\nline café");
    ck_assert_int_eq(sw_journal_append(j, ev, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "ts")), "2020-01-01T00:00:00.000Z");
    json_decref(ev);
    ck_assert_int_eq(sw_journal_sync(j, &err), 0);
    sw_journal_close(j);

    /* Compact, one line per event, UTF-8 kept, the newline escaped. */
    char *text = slurp(jpath);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_ptr_nonnull(
        strstr(text, "{\"event\":\"stage_start\",\"stage\":\"golden\",\"n\":1,\"ts\":"));
    ck_assert_str_eq(nl + 1, "{\"event\":\"note\",\"ts\":\"2020-01-01T00:00:00.000Z\",\"text\":"
                             "\"multi\\nline café\"}\n");
    free(text);

    size_t torn = 99;
    json_t *events = sw_journal_read(jpath, &torn, &err);
    ck_assert_msg(events != NULL, "%s", err.msg);
    ck_assert_uint_eq(torn, 0);
    ck_assert_uint_eq(json_array_size(events), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 1), "text")),
                     "multi\nline café");
    json_decref(events);

    /* Reopening appends; nothing is lost. */
    j = sw_journal_open(jpath, &err);
    ck_assert_ptr_nonnull(j);
    ev = json_pack("{s:s}", "event", "third");
    ck_assert_int_eq(sw_journal_append(j, ev, &err), 0);
    json_decref(ev);
    sw_journal_close(j);
    events = sw_journal_read(jpath, NULL, &err);
    ck_assert_uint_eq(json_array_size(events), 3);
    json_decref(events);
}
END_TEST

START_TEST(test_errors)
{
    sw_err err = {{0}};
    char *bad = sw_path_join(tmpdir, "no/such/dir/journal.jsonl");
    ck_assert_ptr_null(sw_journal_open(bad, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, bad));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
    ck_assert_ptr_null(sw_journal_read(bad, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, bad));
    free(bad);

    sw_journal *j = sw_journal_open(jpath, &err);
    ck_assert_ptr_nonnull(j);
    json_t *arr = json_array();
    ck_assert_int_eq(sw_journal_append(j, arr, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "must be a JSON object"));
    json_decref(arr);
    sw_journal_close(j);
    sw_journal_close(NULL);
    ck_assert_int_eq(sw_journal_fd(NULL), -1);

    size_t torn = 7;
    json_t *events = sw_journal_read(jpath, &torn, &err);
    ck_assert_uint_eq(json_array_size(events), 0);
    ck_assert_uint_eq(torn, 0);
    json_decref(events);
}
END_TEST

static json_t *read_expect(const char *content, size_t len, size_t want_events, size_t want_torn)
{
    sw_err err = {{0}};
    ck_assert_int_eq(sw_write_file_atomic(jpath, content, len, &err), 0);
    size_t torn = 99;
    json_t *events = sw_journal_read(jpath, &torn, &err);
    ck_assert_msg(events != NULL, "%s", err.msg);
    ck_assert_uint_eq(json_array_size(events), want_events);
    ck_assert_uint_eq(torn, want_torn);
    return events;
}

/* Literal content, embedded NULs included. */
#define READ_EXPECT(lit, events, torn) read_expect(lit, sizeof lit - 1, events, torn)

START_TEST(test_torn_tail)
{
    json_decref(READ_EXPECT("{\"a\":1}\n{\"a\":2}\n{\"a\":", 2, 1));
    /* Unterminated, even when it parses: the write did not finish. */
    json_decref(READ_EXPECT("{\"a\":1}\n{\"a\":2}", 1, 1));
    /* Terminated but garbage (a crash can leave zeroed blocks). */
    json_decref(READ_EXPECT("{\"a\":1}\n{\"a\"\n", 1, 1));
    json_decref(READ_EXPECT("{\"a\":1}\n\0\0\0\0", 1, 1));
    json_decref(READ_EXPECT("{\"a\":1}\n{\"a\":\0}\n", 1, 1));
    json_decref(READ_EXPECT("", 0, 0));
    json_decref(READ_EXPECT("{\"a\":1}\n\n{\"a\":2}\n", 2, 0));
    json_t *events = READ_EXPECT("{\"a\":1}\n{\"a\":2}\n", 2, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(events, 1), "a")), 2);
    json_decref(events);
}
END_TEST

START_TEST(test_corrupt_middle)
{
    sw_err err = {{0}};
    char want[512];
    put(jpath, "{\"a\":1}\n{\"a\" 2}\n{\"a\":3}\n");
    ck_assert_ptr_null(sw_journal_read(jpath, NULL, &err));
    snprintf(want, sizeof want, "%s:2: malformed journal line: ", jpath);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);

    put(jpath, "{\"a\":1}\n\n[1,2]\n{\"a\":3}\n");
    ck_assert_ptr_null(sw_journal_read(jpath, NULL, &err));
    snprintf(want, sizeof want, "%s:3: malformed journal line: not a JSON object", jpath);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_reopen_cuts_torn_tail)
{
    /* Appending after a torn line must not glue the new event onto it. */
    sw_err err = {{0}};
    put(jpath, "{\"a\":1}\n{\"a\":2}\n{\"half");
    sw_journal *j = sw_journal_open(jpath, &err);
    ck_assert_msg(j != NULL, "%s", err.msg);
    json_t *ev = json_pack("{s:i}", "a", 3);
    ck_assert_int_eq(sw_journal_append(j, ev, &err), 0);
    json_decref(ev);
    sw_journal_close(j);
    size_t torn = 99;
    json_t *events = sw_journal_read(jpath, &torn, &err);
    ck_assert_msg(events != NULL, "%s", err.msg);
    ck_assert_uint_eq(torn, 0);
    ck_assert_uint_eq(json_array_size(events), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(events, 2), "a")), 3);
    json_decref(events);

    /* A file that is nothing but a torn line, longer than one read chunk. */
    size_t n = 10000;
    char *junk = malloc(n + 1);
    memset(junk, 'x', n);
    junk[n] = '\0';
    put(jpath, junk);
    free(junk);
    j = sw_journal_open(jpath, &err);
    ck_assert_ptr_nonnull(j);
    ev = json_pack("{s:i}", "a", 1);
    ck_assert_int_eq(sw_journal_append(j, ev, &err), 0);
    json_decref(ev);
    sw_journal_close(j);
    events = sw_journal_read(jpath, &torn, &err);
    ck_assert_ptr_nonnull(events);
    ck_assert_uint_eq(torn, 0);
    ck_assert_uint_eq(json_array_size(events), 1);
    json_decref(events);
}
END_TEST

#define THREADS    4
#define PER_THREAD 1000

typedef struct worker {
    sw_journal *j;
    int id;
    int failures;
} worker;

static void *append_many(void *arg)
{
    worker *w = arg;
    /* Padding makes lines long enough that interleaving would be visible. */
    char pad[300];
    memset(pad, 'a' + w->id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < PER_THREAD; i++) {
        sw_err err;
        json_t *ev = json_pack("{s:i, s:i, s:s}", "thread", w->id, "seq", i, "pad", pad);
        if (sw_journal_append(w->j, ev, &err) != 0)
            w->failures++;
        json_decref(ev);
    }
    return NULL;
}

START_TEST(test_threads)
{
    sw_err err = {{0}};
    sw_journal *j = sw_journal_open(jpath, &err);
    ck_assert_ptr_nonnull(j);
    pthread_t tids[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){.j = j, .id = t};
        ck_assert_int_eq(pthread_create(&tids[t], NULL, append_many, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tids[t], NULL);
        ck_assert_int_eq(workers[t].failures, 0);
    }
    ck_assert_int_eq(sw_journal_sync(j, &err), 0);
    sw_journal_close(j);

    size_t torn = 99;
    json_t *events = sw_journal_read(jpath, &torn, &err);
    ck_assert_msg(events != NULL, "%s", err.msg);
    ck_assert_uint_eq(torn, 0);
    ck_assert_uint_eq(json_array_size(events), THREADS * PER_THREAD);
    /* Each thread's events all arrived, whole and in its own order. */
    int next[THREADS] = {0};
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        int t = (int)json_integer_value(json_object_get(ev, "thread"));
        ck_assert(t >= 0 && t < THREADS);
        ck_assert_int_eq(json_integer_value(json_object_get(ev, "seq")), next[t]);
        next[t]++;
        const char *pad = json_string_value(json_object_get(ev, "pad"));
        ck_assert_uint_eq(strlen(pad), 299);
        ck_assert(pad[0] == 'a' + t && pad[298] == 'a' + t);
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(next[t], PER_THREAD);
    json_decref(events);
}
END_TEST

/* A write that fails part-way (here: past the file size limit, as a full disk
   does) leaves no fragment for the next line to be glued onto. */
START_TEST(test_failed_write_leaves_no_fragment)
{
    sw_err err = {{0}};
    sw_journal *j = sw_journal_open(jpath, &err);
    ck_assert_ptr_nonnull(j);
    json_t *first = json_pack("{s:s}", "event", "first");
    ck_assert_int_eq(sw_journal_append(j, first, &err), 0);
    json_decref(first);
    struct stat st;
    ck_assert_int_eq(stat(jpath, &st), 0);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 10; /* room for 10 bytes of the next line */
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *ev = json_pack("{s:s, s:s}", "event", "second", "pad", big);
    /* No assertion while the limit holds: it would cut short Check's own message file. */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    int limited = setrlimit(RLIMIT_FSIZE, &lim);
    int rc = sw_journal_append(j, ev, &err);
    int restored = setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    json_decref(ev);
    ck_assert_int_eq(limited, 0);
    ck_assert_int_eq(restored, 0);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.msg, "write") != NULL, "%s", err.msg);
    ck_assert_int_eq(stat(jpath, &st), 0);
    /* Room again: the next line lands whole after the first. */
    json_t *third = json_pack("{s:s}", "event", "third");
    ck_assert_int_eq(sw_journal_append(j, third, &err), 0);
    json_decref(third);
    sw_journal_close(j);
    size_t torn = 9;
    json_t *evs = sw_journal_read(jpath, &torn, &err);
    ck_assert_msg(evs != NULL, "%s", err.msg);
    ck_assert_uint_eq(torn, 0);
    ck_assert_uint_eq(json_array_size(evs), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(evs, 1), "event")), "third");
    json_decref(evs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_append_and_read);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_torn_tail);
    tcase_add_test(tc, test_corrupt_middle);
    tcase_add_test(tc, test_reopen_cuts_torn_tail);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_failed_write_leaves_no_fragment);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
