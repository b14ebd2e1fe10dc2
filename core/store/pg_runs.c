/* pg_runs.c - runs in the PostgreSQL store (run_db.h): each run's row, files, journal lines
   and lease in the `slipway` schema (version 2); every write one transaction, fenced by
   the lease so that only the process running a run writes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_impl.h"
#include "run_db.h"

int sw_store_keeps_runs(const sw_store *s)
{
    return s && s->backend == &sw_pg_backend;
}

static int need_db(const sw_store *s, sw_err *err)
{
    if (sw_store_keeps_runs(s))
        return 0;
    return sw_err_set(err, "runs are kept in the database only with a postgres:// store");
}

/* err := who holds run_id's lease and until when (in the current transaction). */
static int holder_error(sw_store *s, const char *run_id, sw_err *err)
{
    const char *p[] = {run_id};
    PGresult *r = NULL;
    if (sw_pg_run(s,
                  "SELECT owner, to_char(expires_at AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                  "ceil(extract(epoch FROM expires_at - now()))::bigint "
                  "FROM slipway.run_leases WHERE run_id = $1",
                  1, p, NULL, 0, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0)
        sw_err_set(err, "run '%s' has no lease (it was given up)", run_id);
    else
        sw_err_set(err,
                   "run '%s' is being run by %s: its lease expires at %s (in %s s) unless renewed",
                   run_id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
    PQclear(r);
    return 1;
}

/* Take or renew the lease in the current transaction: 0 ours now, 1 another's. */
static int claim(sw_store *s, const char *run_id, const char *owner, long ttl_ms, int renew_only,
                 sw_err *err)
{
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
    const char *p[] = {run_id, owner, ttl};
    PGresult *r = NULL;
    const char *sql =
        renew_only
            ? "UPDATE slipway.run_leases SET expires_at = now() + $3 * interval '1 millisecond' "
              "WHERE run_id = $1 AND owner = $2"
            /* A lease that expired is anybody's: its holder stopped renewing it. */
            : "INSERT INTO slipway.run_leases (run_id, owner, expires_at) "
              "VALUES ($1, $2, now() + $3 * interval '1 millisecond') "
              "ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, "
              "expires_at = EXCLUDED.expires_at "
              "WHERE slipway.run_leases.owner = EXCLUDED.owner "
              "OR slipway.run_leases.expires_at < now()";
    if (sw_pg_run(s, sql, 3, p, NULL, 0, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    int taken = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return taken ? 0 : holder_error(s, run_id, err);
}

/* BEGIN, then lock the run's row (made when absent), so that writers of a run go one
   at a time. */
static int begin_run(sw_store *s, const char *run_id, sw_err *err)
{
    const char *p[] = {run_id};
    if (sw_pg_exec(s, "BEGIN", err) != 0 ||
        sw_pg_run(s, "INSERT INTO slipway.runs (run_id) VALUES ($1) ON CONFLICT DO NOTHING", 1, p,
                  NULL, 0, NULL, err) != 0 ||
        sw_pg_run(s, "SELECT 1 FROM slipway.runs WHERE run_id = $1 FOR UPDATE", 1, p, NULL, 0, NULL,
                  err) != 0) {
        sw_pg_rollback(s);
        return -1;
    }
    return 0;
}

/* Commit when rc is 0, else roll back; rc, or -1 when the commit failed. */
static int finish(sw_store *s, int rc, sw_err *err)
{
    if (rc != 0) {
        sw_pg_rollback(s);
        return rc;
    }
    return sw_pg_commit(s, err);
}

int sw_store_run_lease(sw_store *s, const char *run_id, const char *owner, long ttl_ms, sw_err *err)
{
    if (need_db(s, err) != 0 || begin_run(s, run_id, err) != 0)
        return -1;
    return finish(s, claim(s, run_id, owner, ttl_ms, 0, err), err);
}

int sw_store_run_renew(sw_store *s, const char *run_id, const char *owner, long ttl_ms, sw_err *err)
{
    if (need_db(s, err) != 0 || sw_pg_exec(s, "BEGIN", err) != 0)
        return -1;
    return finish(s, claim(s, run_id, owner, ttl_ms, 1, err), err);
}

void sw_store_run_release(sw_store *s, const char *run_id, const char *owner)
{
    if (!sw_store_keeps_runs(s))
        return;
    const char *p[] = {run_id, owner};
    sw_pg_run(s, "DELETE FROM slipway.run_leases WHERE run_id = $1 AND owner = $2", 2, p, NULL, 0,
              NULL, NULL);
}

/* The journal lines past the `stored` bytes already in the database, one row each. */
static int append_journal(sw_store *s, const char *run_id, const char *journal, size_t len,
                          sw_err *err)
{
    const char *p[] = {run_id};
    PGresult *r = NULL;
    if (sw_pg_run(s,
                  "SELECT journal_bytes, (SELECT count(*) FROM slipway.run_events "
                  "WHERE run_id = $1) FROM slipway.runs WHERE run_id = $1",
                  1, p, NULL, 0, &r, err) != 0 ||
        PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    long long stored = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    long long seq = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (stored > (long long)len)
        return sw_err_set(err,
                          "run '%s': the database holds a longer journal (%lld bytes) than the "
                          "run folder (%zu): it was resumed elsewhere",
                          run_id, stored, len);
    size_t pos = (size_t)stored;
    while (pos < len) {
        const char *nl = memchr(journal + pos, '\n', len - pos);
        if (!nl)
            break; /* a line being written: the next save takes it */
        char *line = sw_xstrndup(journal + pos, (size_t)(nl - (journal + pos)));
        char seqs[32];
        snprintf(seqs, sizeof seqs, "%lld", ++seq);
        const char *q[] = {run_id, seqs, line};
        int rc =
            sw_pg_run(s, "INSERT INTO slipway.run_events (run_id, seq, line) VALUES ($1, $2, $3)",
                      3, q, NULL, 0, NULL, err);
        free(line);
        if (rc != 0)
            return -1;
        pos = (size_t)(nl - journal) + 1;
    }
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%zu", pos);
    const char *q[] = {run_id, bytes};
    return sw_pg_run(s, "UPDATE slipway.runs SET journal_bytes = $2 WHERE run_id = $1", 2, q, NULL,
                     0, NULL, err);
}

static int save_row_and_files(sw_store *s, const char *run_id, const json_t *summary,
                              const sw_run_file *files, size_t n_files, sw_err *err)
{
    static const char *const keys[] = {"pipeline", "name", "started_at", "runner"};
    const char *p[5] = {run_id};
    for (size_t i = 0; i < 4; i++) {
        const char *v = json_string_value(json_object_get(summary, keys[i]));
        p[i + 1] = v ? v : "";
    }
    if (sw_pg_run(s,
                  "UPDATE slipway.runs SET pipeline = $2, name = $3, started_at = $4, "
                  "runner = $5, updated_at = now() WHERE run_id = $1",
                  5, p, NULL, 0, NULL, err) != 0)
        return -1;
    for (size_t i = 0; i < n_files; i++) {
        const char *q[] = {run_id, files[i].name, files[i].sha256, files[i].data};
        int lens[] = {0, 0, 0, (int)files[i].len};
        if (sw_pg_run(s,
                      "INSERT INTO slipway.run_files (run_id, name, sha256, data) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, name) DO UPDATE "
                      "SET sha256 = EXCLUDED.sha256, data = EXCLUDED.data",
                      4, q, lens, 0, NULL, err) != 0)
            return -1;
    }
    return 0;
}

int sw_store_run_save(sw_store *s, const char *run_id, const char *owner, long ttl_ms,
                      const json_t *summary, const sw_run_file *files, size_t n_files,
                      const char *journal, size_t journal_len, sw_err *err)
{
    if (need_db(s, err) != 0 || begin_run(s, run_id, err) != 0)
        return -1;
    /* Fenced: a runner whose lease another took (it stalled past the expiry) writes
       nothing more; one whose lease merely expired, untaken, takes it back. */
    int rc = claim(s, run_id, owner, ttl_ms, 0, err);
    if (rc == 0)
        rc = save_row_and_files(s, run_id, summary, files, n_files, err);
    if (rc == 0 && journal)
        rc = append_journal(s, run_id, journal, journal_len, err);
    return finish(s, rc, err);
}

json_t *sw_store_run_ids(sw_store *s, sw_err *err)
{
    PGresult *r = NULL;
    if (need_db(s, err) != 0)
        return NULL;
    if (sw_pg_run(s,
                  "SELECT run_id FROM slipway.runs r WHERE EXISTS (SELECT 1 FROM "
                  "slipway.run_files f WHERE f.run_id = r.run_id) "
                  "ORDER BY run_id COLLATE \"C\" DESC",
                  0, NULL, NULL, 0, &r, err) != 0) {
        PQclear(r);
        return NULL;
    }
    json_t *ids = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(ids, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return ids;
}

int sw_store_run_exists(sw_store *s, const char *run_id, long long *journal_bytes, sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {run_id};
    if (need_db(s, err) != 0)
        return -1;
    /* A row with no files is a lease taken for a run that was never written. */
    if (sw_pg_run(s,
                  "SELECT journal_bytes FROM slipway.runs r WHERE run_id = $1 AND EXISTS "
                  "(SELECT 1 FROM slipway.run_files f WHERE f.run_id = r.run_id)",
                  1, p, NULL, 0, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    int found = PQntuples(r) == 1;
    if (found && journal_bytes)
        *journal_bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return found;
}

int sw_store_run_files(sw_store *s, const char *run_id, const char *name, sw_run_file_fn fn,
                       void *ud, sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {run_id, name ? name : ""};
    if (need_db(s, err) != 0)
        return -1;
    /* Binary results: the names arrive as their bytes, without a NUL. */
    if (sw_pg_run(s,
                  "SELECT name, data FROM slipway.run_files WHERE run_id = $1 "
                  "AND ($2 = '' OR name = $2) ORDER BY name COLLATE \"C\"",
                  2, p, NULL, 1, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        char *n = sw_xstrndup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
        rc = fn(ud, n, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), err) ? -1 : 0;
        free(n);
    }
    PQclear(r);
    return rc;
}

int sw_store_run_digests(sw_store *s, const char *run_id, json_t *digests, sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {run_id};
    if (need_db(s, err) != 0)
        return -1;
    if (sw_pg_run(s, "SELECT name, sha256 FROM slipway.run_files WHERE run_id = $1", 1, p, NULL, 0,
                  &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(digests, PQgetvalue(r, i, 0), json_string(PQgetvalue(r, i, 1)));
    PQclear(r);
    return 0;
}

char *sw_store_run_journal(sw_store *s, const char *run_id, size_t *len, sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {run_id};
    if (need_db(s, err) != 0)
        return NULL;
    if (sw_pg_run(s, "SELECT line FROM slipway.run_events WHERE run_id = $1 ORDER BY seq", 1, p,
                  NULL, 0, &r, err) != 0) {
        PQclear(r);
        return NULL;
    }
    size_t total = 0;
    for (int i = 0; i < PQntuples(r); i++)
        total += (size_t)PQgetlength(r, i, 0) + 1;
    char *text = sw_xmalloc(total + 1);
    size_t off = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        size_t n = (size_t)PQgetlength(r, i, 0);
        memcpy(text + off, PQgetvalue(r, i, 0), n);
        off += n;
        text[off++] = '\n';
    }
    text[off] = '\0';
    *len = off;
    PQclear(r);
    return text;
}
