/* check_store.c - the release store: content ids, atomic layout, channel CAS,
   append-only history, the writer lock, tags, rollback, diffs, policy refusals.

   One body, two backends: the folder always, and PostgreSQL when $SLIPWAY_TEST_PG_URL
   names a server (tests/fixtures/postgres/with-postgres.sh starts one; CTest runs this
   program both ways). Each test starts on an empty store. */
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

#include "slipway/store.h"
#include "store/store_impl.h"
#include "store_fixture.h"

static char *tmp;
static char *state;
static char *bundle;
static sw_store *store;
static const char *pg_url;   /* NULL: the folder backend */
static const char *location; /* what every store in a test opens */

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Run SQL on the test database directly (around the store, to damage or inspect it). */
static void pg_sql(const char *sql)
{
    PGconn *c = PQconnectdb(pg_url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* The first column of the first row of a query, as an integer. */
static long pg_count(const char *sql)
{
    PGconn *c = PQconnectdb(pg_url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
}

static void setup(void)
{
    tmp = fx_tmpdir();
    state = sw_path_join(tmp, "state");
    bundle = fx_bundle(tmp, "b");
    location = state;
    if (pg_url) {
        pg_sql("DROP SCHEMA IF EXISTS slipway CASCADE");
        char *cache = sw_path_join(tmp, "cache");
        setenv("SLIPWAY_STORE_CACHE", cache, 1);
        free(cache);
        location = pg_url;
    }
    sw_store_error err = {0};
    store = sw_store_open(location, &err);
    ck_assert_msg(store != NULL, "%s", err.message);
    /* Never run with the developer's identity. */
    setenv("SLIPWAY_USER", "tester", 1);
}

static void teardown(void)
{
    sw_store_close(store);
    fx_rm_rf(tmp);
    free(bundle);
    free(state);
    free(tmp);
}

/* Create a release of dir; returns the result object (new reference). */
static json_t *create(const char *dir, const sw_release_options *o)
{
    sw_store_error err = {0};
    sw_diags *d = sw_diags_new();
    char *res = NULL;
    sw_store_status st = sw_store_create_release(store, dir, o, d, &res, &err);
    char *all = fx_all_diags(d);
    ck_assert_msg(st == SW_STORE_OK, "create: %s\n%s", err.message, all);
    free(all);
    sw_diags_free(d);
    json_t *j = json_loads(res, 0, NULL);
    free(res);
    ck_assert_ptr_nonnull(j);
    return j;
}

static char *id_of(const json_t *r)
{
    return sw_xstrdup(json_string_value(json_object_get(r, "id")));
}

static json_t *channels(void)
{
    char *text;
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_channels(store, "demo", &text, &err), SW_STORE_OK);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

START_TEST(test_same_content_same_id)
{
    json_t *a = create(bundle, NULL);
    ck_assert(json_is_true(json_object_get(a, "changed")));
    char *id = id_of(a);
    ck_assert_uint_eq(strlen(id), 12);

    /* Again: a no-op reporting the same release. */
    json_t *b = create(bundle, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(b, "id")), id);
    ck_assert(json_is_false(json_object_get(b, "changed")));
    /* The record of the first write is kept. */
    ck_assert(json_equal(json_object_get(json_object_get(a, "manifest"), "created_at"),
                         json_object_get(json_object_get(b, "manifest"), "created_at")));

    /* The same files elsewhere, written with other layout in YAML: same id. */
    char *copy = fx_bundle(tmp, "elsewhere/copy");
    json_t *c = create(copy, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(c, "id")), id);

    /* One changed byte in a prompt: another id. */
    fx_write(copy, "prompts/system.md", "You help {{company}} customers!\nBe brief.\n");
    json_t *e = create(copy, NULL);
    ck_assert_str_ne(json_string_value(json_object_get(e, "id")), id);
    ck_assert(json_is_true(json_object_get(e, "changed")));

    /* A var changed by the pipeline changes the rendered prompt, so the id. */
    sw_release_options o = {.vars_json = "{\"company\": \"Globex\"}"};
    json_t *f = create(bundle, &o);
    ck_assert_str_ne(json_string_value(json_object_get(f, "id")), id);

    /* The release's folder (the cache's, from a database): manifest.json and the files. */
    char *dir;
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_release_dir(store, "demo", id, &dir, &err), SW_STORE_OK);
    char *p = sw_path_join(dir, "manifest.json");
    ck_assert(sw_file_exists(p));
    free(p);
    p = sw_path_join(dir, "tools/lookup.json");
    size_t len;
    char *data = sw_read_file(p, 0, &len, NULL);
    ck_assert_ptr_nonnull(data);
    ck_assert_str_eq(data, fx_tool);
    free(data);
    free(p);
    ck_assert_int_eq(sw_store_verify(store, "demo", id, &err), SW_STORE_OK);

    free(dir);
    free(copy);
    free(id);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(e);
    json_decref(f);
}
END_TEST

START_TEST(test_manifest_digest_excludes_record)
{
    json_t *r = create(bundle, NULL);
    json_t *m = json_object_get(r, "manifest");
    char d1[65], d2[65];
    sw_err e = {{0}};
    ck_assert_int_eq(sw_manifest_digest(m, d1, &e), 0);
    ck_assert_str_eq(d1, json_string_value(json_object_get(m, "digest")));
    ck_assert_int_eq(strncmp(d1, json_string_value(json_object_get(m, "id")), 12), 0);
    /* Other creation time, user and run: same digest. */
    json_t *m2 = json_copy(m);
    json_object_set_new(m2, "created_at", json_string("1999-01-01T00:00:00.000Z"));
    json_object_set_new(m2, "created_by", json_string("someone-else"));
    json_object_set_new(m2, "run_id", json_string("r-42"));
    ck_assert_int_eq(sw_manifest_digest(m2, d2, &e), 0);
    ck_assert_str_eq(d1, d2);
    /* Content: another digest. */
    json_object_set_new(json_object_get(m2, "parameters"), "temperature", json_real(0.6));
    ck_assert_int_eq(sw_manifest_digest(m2, d2, &e), 0);
    ck_assert_str_ne(d1, d2);
    ck_assert_str_eq(json_string_value(json_object_get(m, "created_by")), "tester");
    json_decref(m2);
    json_decref(r);
}
END_TEST

START_TEST(test_verify_detects_tampering)
{
    json_t *r = create(bundle, NULL);
    char *id = id_of(r);
    char *dir = sw_store_id_dir(store, "demo", id);
    fx_write(dir, "prompts/system.md", "You help Evil Corp.\n");
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_verify(store, "demo", id, &err), SW_STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "prompts/system.md has SHA-256"));
    free(dir);
    free(id);
    json_decref(r);
}
END_TEST

START_TEST(test_channel_cas)
{
    json_t *r1 = create(bundle, NULL);
    fx_write(bundle, "prompts/system.md", "Second {{company}}.\n");
    json_t *r2 = create(bundle, NULL);
    char *a = id_of(r1), *b = id_of(r2);
    sw_change_info info = {.reason = "test"};
    sw_store_error err = {0};

    /* NULL expected: must be unset. */
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", a, NULL, &info, &err),
                     SW_STORE_OK);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", b, NULL, &info, &err),
                     SW_STORE_CONFLICT);
    ck_assert_int_eq(err.status, SW_STORE_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.message, a));
    /* A stale expected value loses too. */
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", b, b, &info, &err),
                     SW_STORE_CONFLICT);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", b, a, &info, &err), SW_STORE_OK);
    char *cur;
    ck_assert_int_eq(sw_store_channel(store, "demo", "stable", &cur, &err), SW_STORE_OK);
    ck_assert_str_eq(cur, b);
    free(cur);
    /* Clearing is a change like another. */
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "candidate", NULL, NULL, &info, &err),
                     SW_STORE_OK);
    ck_assert_int_eq(sw_store_channel(store, "demo", "candidate", &cur, &err), SW_STORE_OK);
    ck_assert_ptr_null(cur);

    /* Bad input. */
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", "0123456789ab", b, &info, &err),
                     SW_STORE_NOT_FOUND);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "prod", a, NULL, &info, &err),
                     SW_STORE_INVALID);
    ck_assert_int_eq(sw_store_set_channel(store, "../x", "stable", a, NULL, &info, &err),
                     SW_STORE_INVALID);

    json_t *ch = channels();
    ck_assert_str_eq(json_string_value(json_object_get(ch, "stable")), b);
    json_t *h = json_object_get(ch, "history");
    ck_assert_uint_eq(json_array_size(h), 2); /* the no-op clear and failures add nothing */
    json_t *last = json_array_get(h, 1);
    ck_assert_str_eq(json_string_value(json_object_get(last, "from")), a);
    ck_assert_str_eq(json_string_value(json_object_get(last, "to")), b);
    ck_assert_str_eq(json_string_value(json_object_get(last, "by")), "tester");
    ck_assert_str_eq(json_string_value(json_object_get(last, "reason")), "test");
    json_decref(ch);
    free(a);
    free(b);
    json_decref(r1);
    json_decref(r2);
}
END_TEST

START_TEST(test_history_append_only)
{
    json_t *r1 = create(bundle, NULL);
    fx_write(bundle, "prompts/system.md", "Second {{company}}.\n");
    json_t *r2 = create(bundle, NULL);
    char *a = id_of(r1), *b = id_of(r2);
    sw_change_info info = {.run_id = "run-1"};
    sw_store_error err = {0};
    json_t *before = channels();
    const char *steps[][3] = {{"candidate", "a", NULL},
                              {"stable", "a", NULL},
                              {"candidate", "b", "a"},
                              {"stable", "b", "a"},
                              {"candidate", NULL, "b"}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *to = steps[i][1] ? (steps[i][1][0] == 'a' ? a : b) : NULL;
        const char *exp = steps[i][2] ? (steps[i][2][0] == 'a' ? a : b) : NULL;
        ck_assert_int_eq(sw_store_set_channel(store, "demo", steps[i][0], to, exp, &info, &err),
                         SW_STORE_OK);
        if (i == 2)
            ck_assert_int_eq(sw_store_tag(store, "demo", a, "v1", &info, &err), SW_STORE_OK);
        json_t *after = channels();
        json_t *hb = json_object_get(before, "history"), *ha = json_object_get(after, "history");
        ck_assert_uint_gt(json_array_size(ha), json_array_size(hb));
        /* Every earlier entry is still there, unchanged, in its place. */
        for (size_t k = 0; k < json_array_size(hb); k++)
            ck_assert(json_equal(json_array_get(hb, k), json_array_get(ha, k)));
        for (size_t k = 0; k < json_array_size(ha); k++)
            ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ha, k), "seq")),
                             (json_int_t)k + 1);
        json_decref(before);
        before = after;
    }
    ck_assert_uint_eq(json_array_size(json_object_get(before, "history")), 6);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(before, "history"), 0), "run_id")),
                     "run-1");
    json_decref(before);
    free(a);
    free(b);
    json_decref(r1);
    json_decref(r2);
}
END_TEST

/* A second writer cannot get in while the first holds the lock (another
   process, as two pipelines would be), and gets in once it is released. */
START_TEST(test_lock_excludes_second_writer)
{
    json_t *r = create(bundle, NULL);
    char *id = id_of(r);
    int ready[2], go[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sw_err e = {{0}};
        int fd = sw_store_lock(store, "demo", &e);
        char c = fd >= 0 ? 'L' : 'E';
        if (write(ready[1], &c, 1) != 1)
            _exit(3);
        if (read(go[0], &c, 1) != 1)
            _exit(4);
        sw_store_unlock(fd);
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'L');

    sw_store_set_lock_timeout(store, 100);
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", id, NULL, NULL, &err),
                     SW_STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "locked by another writer"));
    /* Releases are written under the same lock. */
    fx_write(bundle, "prompts/system.md", "Other {{company}}.\n");
    sw_diags *d = sw_diags_new();
    char *res = NULL;
    ck_assert_int_eq(sw_store_create_release(store, bundle, NULL, d, &res, &err), SW_STORE_ERROR);
    ck_assert_ptr_null(res);
    sw_diags_free(d);
    json_t *ch = channels();
    ck_assert(json_is_null(json_object_get(ch, "stable")));
    json_decref(ch);

    ck_assert_int_eq(write(go[1], "x", 1), 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sw_store_set_lock_timeout(store, 5000);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", id, NULL, NULL, &err),
                     SW_STORE_OK);

    /* A holder killed with SIGKILL releases the lock with its life. */
    pid = fork();
    if (pid == 0) {
        sw_err e = {{0}};
        int fd = sw_store_lock(store, "demo", &e);
        char k = fd >= 0 ? 'L' : 'E';
        if (write(ready[1], &k, 1) != 1)
            _exit(3);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'L');
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", NULL, id, NULL, &err),
                     SW_STORE_OK);

    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    free(id);
    json_decref(r);
}
END_TEST

/* Two processes racing to move one channel from the same value: exactly one wins. */
START_TEST(test_cas_race_one_winner)
{
    json_t *r1 = create(bundle, NULL);
    fx_write(bundle, "prompts/system.md", "Second {{company}}.\n");
    json_t *r2 = create(bundle, NULL);
    char *a = id_of(r1), *b = id_of(r2);
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", a, NULL, NULL, &err),
                     SW_STORE_OK);
    enum { N = 6 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            /* Its own store, as another pipeline's process would have. */
            sw_store_error e = {0};
            sw_store *own = sw_store_open(location, &e);
            sw_store_status st =
                own ? sw_store_set_channel(own, "demo", "stable", b, a, NULL, &e) : SW_STORE_ERROR;
            _exit(st == SW_STORE_OK                                           ? 0
                  : st == SW_STORE_CONFLICT && strstr(e.message, "by tester") ? 1
                                                                              : 2);
        }
    }
    int wins = 0, conflicts = 0;
    for (int i = 0; i < N; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        ck_assert(WIFEXITED(status));
        wins += WEXITSTATUS(status) == 0;
        conflicts += WEXITSTATUS(status) == 1;
    }
    ck_assert_int_eq(wins, 1);
    ck_assert_int_eq(conflicts, N - 1);
    json_t *ch = channels();
    ck_assert_uint_eq(json_array_size(json_object_get(ch, "history")), 2);
    json_decref(ch);
    free(a);
    free(b);
    json_decref(r1);
    json_decref(r2);
}
END_TEST

START_TEST(test_rollback)
{
    char *ids[3];
    for (int i = 0; i < 3; i++) {
        char *p = sw_xasprintf("Version %d for {{company}}.\n", i);
        fx_write(bundle, "prompts/system.md", p);
        free(p);
        json_t *r = create(bundle, NULL);
        ids[i] = id_of(r);
        json_decref(r);
    }
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", ids[0], NULL, NULL, &err), 0);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", ids[1], ids[0], NULL, &err), 0);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "candidate", ids[2], NULL, NULL, &err), 0);

    /* To the previous stable, clearing the candidate, in one change. */
    char *res;
    sw_change_info info = {.reason = "error rate", .run_id = "r7"};
    ck_assert_int_eq(sw_store_rollback(store, "demo", NULL, ids[1], &info, &res, &err),
                     SW_STORE_OK);
    json_t *j = json_loads(res, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "from")), ids[1]);
    ck_assert_str_eq(json_string_value(json_object_get(j, "to")), ids[0]);
    ck_assert(json_is_true(json_object_get(j, "candidate_cleared")));
    json_decref(j);
    free(res);
    json_t *ch = channels();
    ck_assert_str_eq(json_string_value(json_object_get(ch, "stable")), ids[0]);
    ck_assert(json_is_null(json_object_get(ch, "candidate")));
    json_t *last = json_array_get(json_object_get(ch, "history"), 4);
    ck_assert_str_eq(json_string_value(json_object_get(last, "action")), "rollback");
    ck_assert_str_eq(json_string_value(json_object_get(last, "run_id")), "r7");
    json_decref(ch);

    /* Nothing before the first stable: a clear error, no bouncing back. */
    ck_assert_int_eq(sw_store_rollback(store, "demo", NULL, NULL, NULL, NULL, &err),
                     SW_STORE_NOT_FOUND);
    /* To a named release, with a stale expectation: conflict. */
    ck_assert_int_eq(sw_store_rollback(store, "demo", ids[2], ids[1], NULL, NULL, &err),
                     SW_STORE_CONFLICT);
    ck_assert_int_eq(sw_store_rollback(store, "demo", ids[2], ids[0], NULL, NULL, &err),
                     SW_STORE_OK);
    ck_assert_int_eq(sw_store_rollback(store, "demo", "ffffffffffff", NULL, NULL, NULL, &err),
                     SW_STORE_NOT_FOUND);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}
END_TEST

START_TEST(test_tags_and_resolve)
{
    json_t *r1 = create(bundle, NULL);
    fx_write(bundle, "prompts/system.md", "Second {{company}}.\n");
    json_t *r2 = create(bundle, NULL);
    char *a = id_of(r1), *b = id_of(r2);
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_tag(store, "demo", a, "v1.0", NULL, &err), SW_STORE_OK);
    ck_assert_int_eq(sw_store_tag(store, "demo", a, "v1.0", NULL, &err), SW_STORE_OK);
    ck_assert_int_eq(sw_store_tag(store, "demo", b, "v1.0", NULL, &err), SW_STORE_CONFLICT);
    ck_assert_int_eq(sw_store_tag(store, "demo", b, "stable", NULL, &err), SW_STORE_INVALID);
    ck_assert_int_eq(sw_store_tag(store, "demo", b, "a/b", NULL, &err), SW_STORE_INVALID);
    ck_assert_int_eq(sw_store_tag(store, "demo", "0123456789ab", "x", NULL, &err),
                     SW_STORE_NOT_FOUND);

    char *agent, *id;
    ck_assert_int_eq(sw_store_resolve(store, NULL, "demo:v1.0", &agent, &id, &err), SW_STORE_OK);
    ck_assert_str_eq(agent, "demo");
    ck_assert_str_eq(id, a);
    free(agent);
    free(id);
    char prefix[7];
    memcpy(prefix, b, 6);
    prefix[6] = '\0';
    ck_assert_int_eq(sw_store_resolve(store, NULL, prefix, &agent, &id, &err), SW_STORE_OK);
    ck_assert_str_eq(id, b);
    free(agent);
    free(id);
    ck_assert_int_eq(sw_store_resolve(store, NULL, "ab", &agent, &id, &err), SW_STORE_INVALID);
    ck_assert_int_eq(sw_store_resolve(store, NULL, "demo:stable", &agent, &id, &err),
                     SW_STORE_NOT_FOUND);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", b, NULL, NULL, &err), 0);
    ck_assert_int_eq(sw_store_resolve(store, NULL, "demo:stable", &agent, &id, &err), SW_STORE_OK);
    ck_assert_str_eq(id, b);
    free(agent);
    free(id);

    /* The same content under two agents: a full id is ambiguous without an agent. */
    sw_release_options o = {.agent = "demo-two"};
    json_t *r3 = create(bundle, &o);
    ck_assert_str_eq(json_string_value(json_object_get(r3, "agent")), "demo-two");
    char *c = id_of(r3);
    ck_assert_str_ne(c, b); /* the agent's name is content */
    json_decref(r3);
    ck_assert_int_eq(sw_store_resolve(store, "demo-two", c, &agent, &id, &err), SW_STORE_OK);
    free(agent);
    free(id);

    /* Listing: both agents, each release with its channels and tags. */
    char *text;
    ck_assert_int_eq(sw_store_agents(store, &text, &err), SW_STORE_OK);
    ck_assert_str_eq(text, "[\"demo\",\"demo-two\"]");
    free(text);
    ck_assert_int_eq(sw_store_releases(store, "demo", &text, &err), SW_STORE_OK);
    json_t *list = json_loads(text, 0, NULL);
    free(text);
    ck_assert_uint_eq(json_array_size(list), 2);
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        const char *rid = json_string_value(json_object_get(row, "id"));
        if (strcmp(rid, a) == 0)
            ck_assert_str_eq(json_string_value(json_array_get(json_object_get(row, "tags"), 0)),
                             "v1.0");
        else
            ck_assert_str_eq(json_string_value(json_array_get(json_object_get(row, "channels"), 0)),
                             "stable");
        ck_assert_str_eq(json_string_value(json_object_get(row, "model")), "gpt-4o-2024-08-06");
    }
    json_decref(list);
    ck_assert_int_eq(sw_store_releases(store, "nobody", &text, &err), SW_STORE_NOT_FOUND);
    free(c);
    free(a);
    free(b);
    json_decref(r1);
    json_decref(r2);
}
END_TEST

/* A crashed writer's temporary folder is invisible to readers and removed by the next writer. */
START_TEST(test_stray_temp_folder)
{
    json_t *r = create(bundle, NULL);
    char *agent_dir = sw_store_agent_dir(store, "demo");
    char *stray = sw_path_join(agent_dir, ".tmp-0123456789ab-XXXXXX");
    fx_write(stray, "agent.yaml", "half written");
    fx_write(agent_dir, "channels.json.tmp.999.0", "{");
    char *text;
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_releases(store, "demo", &text, &err), SW_STORE_OK);
    json_t *list = json_loads(text, 0, NULL);
    ck_assert_uint_eq(json_array_size(list), 1);
    json_decref(list);
    free(text);
    fx_write(bundle, "prompts/system.md", "Second {{company}}.\n");
    json_t *r2 = create(bundle, NULL);
    ck_assert(!sw_file_exists(stray));
    char *tmpfile = sw_path_join(agent_dir, "channels.json.tmp.999.0");
    ck_assert(!sw_file_exists(tmpfile));
    free(tmpfile);
    free(stray);
    free(agent_dir);
    json_decref(r);
    json_decref(r2);
}
END_TEST

START_TEST(test_diff_breaking)
{
    json_t *r1 = create(bundle, NULL);
    char *a = id_of(r1);
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", a, NULL, NULL, &err), 0);
    /* Remove a property and change the temperature and the prompt. */
    fx_write(bundle, "tools/lookup.json",
             "{\"type\": \"function\", \"side_effect\": \"read_only\", \"function\": {\"name\": "
             "\"lookup\", \"parameters\": {\"type\": \"object\", \"properties\": {\"q\": "
             "{\"type\": \"string\"}}, \"required\": [\"q\"]}}}\n");
    fx_write(bundle, "prompts/system.md", "You help {{company}} customers.\nBe very brief.\n");
    sw_release_options o = {.set_candidate = 1};
    json_t *r2 = create(bundle, &o);
    ck_assert_str_eq(json_string_value(json_object_get(r2, "previous")), a);
    ck_assert_int_eq(json_integer_value(json_object_get(r2, "breaking_changes")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r2, "candidate")),
                     json_string_value(json_object_get(r2, "id")));
    json_t *diff = json_object_get(r2, "diff");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(diff, "tools"), 0), "change")),
                     "property_removed");
    json_t *prompt = json_array_get(json_object_get(diff, "prompts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(prompt, "added_lines")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(prompt, "removed_lines")), 1);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(prompt, "diff")),
                                 "-Be brief.\n+Be very brief.\n"));
    ck_assert(json_is_null(json_object_get(diff, "model")));

    /* The same through sw_store_diff, with its text form. */
    char *js, *text;
    char *b = id_of(r2);
    ck_assert_int_eq(sw_store_diff(store, "demo", a, "demo", b, &js, &text, &err), SW_STORE_OK);
    json_t *d2 = json_loads(js, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(d2, "breaking_changes")), 1);
    ck_assert_ptr_nonnull(strstr(text, "BREAKING"));
    ck_assert_ptr_nonnull(strstr(text, "property 'n' removed"));
    json_decref(d2);
    free(js);
    free(text);
    /* A release against itself. */
    ck_assert_int_eq(sw_store_diff(store, "demo", a, "demo", a, &js, NULL, &err), SW_STORE_OK);
    d2 = json_loads(js, 0, NULL);
    ck_assert(json_is_true(json_object_get(d2, "identical")));
    ck_assert_str_eq(json_string_value(json_object_get(d2, "summary")), "no changes");
    json_decref(d2);
    free(js);
    free(a);
    free(b);
    json_decref(r1);
    json_decref(r2);
}
END_TEST

static sw_store_status create_fails(const sw_release_options *o, sw_diags *d)
{
    sw_store_error err = {0};
    char *res = NULL;
    sw_store_status st = sw_store_create_release(store, bundle, o, d, &res, &err);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(err.status, st);
    return st;
}

START_TEST(test_refusals_write_nothing)
{
    /* A floating alias, refused with a suggestion at the model's line. */
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\ntools: [lookup]\n");
    sw_diags *d = sw_diags_new();
    ck_assert_int_eq(create_fails(NULL, d), SW_STORE_REFUSED);
    ASSERT_DIAG(d, "b/agent.yaml:4:9: error: model 'gpt-4o' is a bare family name",
                "pin a version such as 'gpt-4o-2024-08-06'");
    sw_diags_free(d);
    /* A deny pattern from the pipeline. */
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o-mini-2024-07-18\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\ntools: [lookup]\n");
    sw_release_options o = {.deny_models_json = "[\"*-mini-*\"]"};
    d = sw_diags_new();
    ck_assert_int_eq(create_fails(&o, d), SW_STORE_REFUSED);
    ASSERT_DIAG(d, "agent.yaml:4:9:", "deny pattern '*-mini-*'");
    sw_diags_free(d);
    /* Bad options and an invalid bundle. */
    o = (sw_release_options){.deny_models_json = "{\"a\": 1}"};
    ck_assert_int_eq(create_fails(&o, NULL), SW_STORE_INVALID);
    fx_write(bundle, "tools/lookup.json", "{");
    ck_assert_int_eq(create_fails(NULL, NULL), SW_STORE_INVALID);
    /* Nothing was written: not even the releases folder. */
    char *root = sw_path_join(state, "releases");
    ck_assert(!sw_file_exists(root));
    free(root);
    char *agents;
    sw_store_error err0 = {0};
    ck_assert_int_eq(sw_store_agents(store, &agents, &err0), SW_STORE_OK);
    ck_assert_str_eq(agents, "[]");
    free(agents);
    if (pg_url)
        ck_assert_int_eq(pg_count("SELECT count(*) FROM slipway.blobs"), 0);

    /* Allowed explicitly: stored, marked floating, with a warning. */
    fx_write(bundle, "tools/lookup.json", fx_tool);
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\ntools: [lookup]\n");
    o = (sw_release_options){.allow_floating_alias = 1};
    d = sw_diags_new();
    char *res = NULL;
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_create_release(store, bundle, &o, d, &res, &err), SW_STORE_OK);
    ASSERT_DIAG(d, "agent.yaml:4:9: warning:", "allowed by allow_floating_alias");
    json_t *r = json_loads(res, 0, NULL);
    ck_assert(json_is_true(
        json_object_get(json_object_get(json_object_get(r, "manifest"), "model"), "floating")));
    json_decref(r);
    free(res);
    sw_diags_free(d);
}
END_TEST

/* ---- the PostgreSQL backend's own ---- */

/* A file changed in the database is caught by verify, and never reaches the cache. */
START_TEST(test_pg_verify_detects_tampering)
{
    json_t *r = create(bundle, NULL);
    char *id = id_of(r);
    pg_sql("UPDATE slipway.blobs SET data = convert_to('You help Evil Corp.', 'UTF8') WHERE "
           "sha256 IN (SELECT sha256 FROM slipway.release_files WHERE path = "
           "'prompts/system.md')");
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_verify(store, "demo", id, &err), SW_STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "prompts/system.md has SHA-256"));
    /* Creating it cached it whole; a cache filled now gets nothing from the damage. */
    char *other = sw_path_join(tmp, "other-cache");
    setenv("SLIPWAY_STORE_CACHE", other, 1);
    sw_store *s = sw_store_open(pg_url, &err);
    ck_assert_ptr_nonnull(s);
    char *dir = NULL;
    ck_assert_int_eq(sw_store_release_dir(s, "demo", id, &dir, &err), SW_STORE_ERROR);
    ck_assert_msg(strstr(err.message, "prompts/system.md has SHA-256"), "%s", err.message);
    ck_assert_ptr_null(dir);
    char *entry = sw_path_join(
        other, json_string_value(json_object_get(json_object_get(r, "manifest"), "digest")));
    ck_assert(!sw_file_exists(entry));
    free(entry);
    sw_store_close(s);
    /* A file the manifest lists and the database lost (all read in one query). */
    pg_sql("DELETE FROM slipway.release_files WHERE path = 'prompts/system.md'");
    ck_assert_int_eq(sw_store_verify(store, "demo", id, &err), SW_STORE_ERROR);
    ck_assert_msg(strstr(err.message, "holds no file prompts/system.md"), "%s", err.message);
    free(other);
    free(id);
    json_decref(r);
}
END_TEST

/* The bundle's files are stored once however many releases (and agents) hold them. */
START_TEST(test_pg_files_deduplicated)
{
    json_t *r1 = create(bundle, NULL);
    long blobs = pg_count("SELECT count(*) FROM slipway.blobs");
    ck_assert_int_eq(blobs, 3); /* agent.yaml, the prompt, the tool */
    fx_write(bundle, "prompts/system.md", "Second {{company}}.\n");
    json_t *r2 = create(bundle, NULL);
    ck_assert_int_eq(pg_count("SELECT count(*) FROM slipway.blobs"), 4);
    sw_release_options o = {.agent = "demo-two"};
    json_t *r3 = create(bundle, &o); /* agent.yaml is the same file: the name is overridden */
    ck_assert_int_eq(pg_count("SELECT count(*) FROM slipway.releases"), 3);
    ck_assert_int_eq(pg_count("SELECT count(*) FROM slipway.release_files"), 9);
    ck_assert_int_le(pg_count("SELECT count(*) FROM slipway.blobs"), 5);
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
}
END_TEST

/* A writer holding the agent's row (another process's transaction) keeps the next one out
   until it ends; one that waits too long fails clearly, having written nothing. */
START_TEST(test_pg_lock_excludes_second_writer)
{
    json_t *r = create(bundle, NULL);
    char *id = id_of(r);
    sw_store_error err = {0};
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "candidate", id, NULL, NULL, &err),
                     SW_STORE_OK);
    PGconn *holder = PQconnectdb(pg_url);
    ck_assert_int_eq(PQstatus(holder), CONNECTION_OK);
    PQclear(PQexec(holder, "BEGIN"));
    PGresult *res =
        PQexec(holder, "SELECT 1 FROM slipway.channels WHERE agent = 'demo' FOR UPDATE");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    sw_store_set_lock_timeout(store, 200);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", id, NULL, NULL, &err),
                     SW_STORE_ERROR);
    ck_assert_msg(strstr(err.message, "locked by another writer"), "%s", err.message);
    ck_assert_int_eq(sw_store_tag(store, "demo", id, "v1", NULL, &err), SW_STORE_ERROR);
    /* Readers are not held up. */
    json_t *ch = channels();
    ck_assert(json_is_null(json_object_get(ch, "stable")));
    ck_assert_uint_eq(json_object_size(json_object_get(ch, "tags")), 0);
    json_decref(ch);

    PQclear(PQexec(holder, "COMMIT"));
    PQfinish(holder);
    sw_store_set_lock_timeout(store, 5000);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "stable", id, NULL, NULL, &err),
                     SW_STORE_OK);
    free(id);
    json_decref(r);
}
END_TEST

START_TEST(test_pg_newer_schema_refused)
{
    pg_sql("UPDATE slipway.meta SET value = '999' WHERE key = 'schema_version'");
    sw_store_error err = {0};
    sw_store *s = sw_store_open(pg_url, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.status, SW_STORE_REFUSED);
    ck_assert_msg(strstr(err.message, "schema is version 999, newer than this slipway knows (6)"),
                  "%s", err.message);
    /* A version 1 database (before runs and shared routes) is migrated forward on first
       use. */
    pg_sql("UPDATE slipway.meta SET value = '1' WHERE key = 'schema_version'");
    pg_sql("DROP TABLE slipway.run_leases, slipway.run_events, slipway.run_files, slipway.runs, "
           "slipway.routes, slipway.pins, slipway.replicas");
    s = sw_store_open(pg_url, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    sw_store_close(s);
    pg_sql("SELECT 1 FROM slipway.runs");
    pg_sql("SELECT 1 FROM slipway.routes");
    pg_sql("SELECT 1 FROM slipway.pins");
    pg_sql("SELECT 1 FROM slipway.replicas");
    pg_sql("DO $$ BEGIN IF (SELECT value FROM slipway.meta WHERE key = 'schema_version') <> '6' "
           "THEN RAISE 'not migrated'; END IF; END $$");
    /* Version 4 to 6: pins written before get the default TTL from their last written use,
       and the replicas' table comes. */
    pg_sql("DROP TABLE slipway.replicas");
    pg_sql("DROP INDEX slipway.pins_expires");
    pg_sql("ALTER TABLE slipway.pins DROP COLUMN expires_ms");
    pg_sql("UPDATE slipway.meta SET value = '4' WHERE key = 'schema_version'");
    pg_sql("INSERT INTO slipway.pins (agent, session, version, reason, created_ms, last_ms) "
           "VALUES ('demo', 'old-1', 'v1', 'split', 1000, 5000)");
    s = sw_store_open(pg_url, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    sw_store_close(s);
    ck_assert_int_eq(pg_count("SELECT count(*) FROM slipway.pins WHERE session = 'old-1' AND "
                              "expires_ms = 5000 + 1800000"),
                     1);
    ck_assert_int_eq(pg_count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'slipway' AND "
                              "indexname = 'pins_expires'"),
                     1);
    ck_assert_int_eq(pg_count("SELECT count(*) FROM slipway.replicas"), 0);
}
END_TEST

START_TEST(test_pg_bad_urls)
{
    sw_store_error err = {0};
    /* A password in the URL is refused before anything connects, and never echoed. */
    ck_assert_ptr_null(sw_store_open("postgresql://u:s3cret@127.0.0.1:1/db", &err));
    ck_assert_int_eq(err.status, SW_STORE_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "PGPASSWORD"));
    ck_assert_ptr_null(strstr(err.message, "s3cret"));
    /* Nobody listening: a clear error naming the store. */
    ck_assert_ptr_null(sw_store_open("postgresql://slipway@127.0.0.1:1/slipway", &err));
    ck_assert_int_eq(err.status, SW_STORE_ERROR);
    ck_assert_msg(strstr(err.message, "cannot reach the database"), "%s", err.message);
    ck_assert_ptr_nonnull(strstr(err.message, "127.0.0.1:1"));
}
END_TEST

static int git(const char *dir, const char *args)
{
    char *cmd = sw_xasprintf("git -C '%s' -c user.name=t -c user.email=t@example.com "
                             "-c commit.gpgsign=false %s >/dev/null 2>&1",
                             dir, args);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

START_TEST(test_git_commit_and_dirty_tree)
{
    if (system("git --version >/dev/null 2>&1") != 0)
        return; /* no git here: nothing to test */
    /* Outside a work tree: commit null. */
    json_t *r = create(bundle, NULL);
    json_t *src = json_object_get(json_object_get(r, "manifest"), "source");
    ck_assert(json_is_null(json_object_get(src, "commit")));
    ck_assert(json_is_false(json_object_get(src, "dirty")));
    json_decref(r);

    ck_assert_int_eq(git(bundle, "init -q"), 0);
    ck_assert_int_eq(git(bundle, "add -A"), 0);
    ck_assert_int_eq(git(bundle, "commit -q -m one"), 0);
    r = create(bundle, NULL);
    src = json_object_get(json_object_get(r, "manifest"), "source");
    const char *commit = json_string_value(json_object_get(src, "commit"));
    ck_assert_ptr_nonnull(commit);
    ck_assert_uint_eq(strlen(commit), 40);
    ck_assert(json_is_false(json_object_get(src, "dirty")));
    json_decref(r);

    /* Uncommitted change: refused, then allowed and recorded as dirty. */
    fx_write(bundle, "prompts/system.md", "Changed {{company}}.\n");
    sw_diags *d = sw_diags_new();
    ck_assert_int_eq(create_fails(NULL, d), SW_STORE_REFUSED);
    ASSERT_DIAG(d, "uncommitted changes", "allow_dirty");
    sw_diags_free(d);
    sw_release_options o = {.allow_dirty = 1};
    r = create(bundle, &o);
    src = json_object_get(json_object_get(r, "manifest"), "source");
    ck_assert(json_is_true(json_object_get(src, "dirty")));
    json_decref(r);
    /* An untracked file makes the tree dirty too. */
    ck_assert_int_eq(git(bundle, "add -A"), 0);
    ck_assert_int_eq(git(bundle, "commit -q -m two"), 0);
    fx_write(bundle, "notes.txt", "x");
    d = sw_diags_new();
    ck_assert_int_eq(create_fails(NULL, d), SW_STORE_REFUSED);
    sw_diags_free(d);
}
END_TEST

int main(void)
{
    pg_url = getenv("SLIPWAY_TEST_PG_URL");
    if (pg_url && !*pg_url)
        pg_url = NULL;
    Suite *s = suite_create(pg_url ? "store on PostgreSQL" : "store in a folder");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_same_content_same_id);
    tcase_add_test(tc, test_manifest_digest_excludes_record);
    tcase_add_test(tc, test_channel_cas);
    tcase_add_test(tc, test_history_append_only);
    /* These fork helper processes, whose exits valgrind would report as leaks of the
       parent's memory: scripts/memcheck.sh sets SW_MEMCHECK, and they run in every
       other pass (plain, ASan). */
    if (!getenv("SW_MEMCHECK")) {
        tcase_add_test(tc, test_cas_race_one_winner);
    }
    tcase_add_test(tc, test_rollback);
    tcase_add_test(tc, test_tags_and_resolve);
    tcase_add_test(tc, test_diff_breaking);
    tcase_add_test(tc, test_refusals_write_nothing);
    tcase_add_test(tc, test_git_commit_and_dirty_tree);
    if (pg_url) {
        tcase_add_test(tc, test_pg_verify_detects_tampering);
        tcase_add_test(tc, test_pg_files_deduplicated);
        tcase_add_test(tc, test_pg_lock_excludes_second_writer);
        tcase_add_test(tc, test_pg_newer_schema_refused);
        tcase_add_test(tc, test_pg_bad_urls);
    } else {
        /* The folder's layout, flock and crash leftovers. */
        tcase_add_test(tc, test_verify_detects_tampering);
        tcase_add_test(tc, test_stray_temp_folder);
        if (!getenv("SW_MEMCHECK"))
            tcase_add_test(tc, test_lock_excludes_second_writer);
    }
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
