/* pg.c - the release store's PostgreSQL backend: releases, their files (deduplicated by
   SHA-256), channels, tags and history in the `slipway` schema; every change one
   transaction; writers of an agent serialized by a row lock on its channels row. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "pg_impl.h"
#include "release_cache.h"
#include "store_impl.h"

/* The schema this build writes and reads; docs/scale-out.md lists every version. */
#define SCHEMA_VERSION 6
/* Taken (for the transaction) by whoever creates or checks the schema, so two first
   uses at once do not race on CREATE TABLE. */
#define SCHEMA_LOCK_KEY             "7302158231"
#define CONNECT_TIMEOUT_S           "10"
#define SQLSTATE_LOCK_NOT_AVAILABLE "55P03"

struct sw_pg_store {
    PGconn *conn;
    int in_transaction; /* between our BEGIN and its COMMIT or ROLLBACK */
};

/* Version 1. Each statement in parentheses: one array element, however many lines. */
static const char *const schema_v1[] = {
    ("CREATE TABLE slipway.blobs (sha256 text PRIMARY KEY, data bytea NOT NULL)"),
    ("CREATE TABLE slipway.releases (agent text NOT NULL, id text NOT NULL,"
     " digest text NOT NULL, manifest text NOT NULL,"
     " stored_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (agent, id))"),
    ("CREATE TABLE slipway.release_files (agent text NOT NULL, id text NOT NULL,"
     " path text NOT NULL, sha256 text NOT NULL REFERENCES slipway.blobs,"
     " PRIMARY KEY (agent, id, path), FOREIGN KEY (agent, id) REFERENCES slipway.releases)"),
    ("CREATE TABLE slipway.channels (agent text PRIMARY KEY, stable text, candidate text,"
     " version bigint NOT NULL DEFAULT 0,"
     " FOREIGN KEY (agent, stable) REFERENCES slipway.releases,"
     " FOREIGN KEY (agent, candidate) REFERENCES slipway.releases)"),
    ("CREATE TABLE slipway.tags (agent text NOT NULL REFERENCES slipway.channels,"
     " name text NOT NULL, id text NOT NULL, PRIMARY KEY (agent, name),"
     " FOREIGN KEY (agent, id) REFERENCES slipway.releases)"),
    ("CREATE TABLE slipway.history (agent text NOT NULL REFERENCES slipway.channels,"
     " seq bigint NOT NULL, entry text NOT NULL, PRIMARY KEY (agent, seq))"),
};

/* Version 2: runs (pg_runs.c). A run's row, its files (pipeline snapshot, checkpoint,
   reports, artifacts under a size cap), its journal one line a row, and the lease of
   the process running it. */
static const char *const schema_v2[] = {
    ("CREATE TABLE slipway.runs (run_id text PRIMARY KEY, pipeline text NOT NULL DEFAULT '',"
     " name text NOT NULL DEFAULT '', started_at text NOT NULL DEFAULT '',"
     " journal_bytes bigint NOT NULL DEFAULT 0, runner text NOT NULL DEFAULT '',"
     " updated_at timestamptz NOT NULL DEFAULT now())"),
    ("CREATE TABLE slipway.run_files (run_id text NOT NULL REFERENCES slipway.runs"
     " ON DELETE CASCADE, name text NOT NULL, sha256 text NOT NULL, data bytea NOT NULL,"
     " PRIMARY KEY (run_id, name))"),
    ("CREATE TABLE slipway.run_events (run_id text NOT NULL REFERENCES slipway.runs"
     " ON DELETE CASCADE, seq bigint NOT NULL, line text NOT NULL, PRIMARY KEY (run_id, seq))"),
    ("CREATE TABLE slipway.run_leases (run_id text PRIMARY KEY REFERENCES slipway.runs"
     " ON DELETE CASCADE, owner text NOT NULL, expires_at timestamptz NOT NULL)"),
};

/* Version 3: the router replicas' shared routes (core/router/shared.c): each agent's route
   as JSON, its version for compare-and-swap, and the session policy of the change. */
static const char *const schema_v3[] = {
    ("CREATE TABLE slipway.routes (agent text PRIMARY KEY, version bigint NOT NULL,"
     " route text NOT NULL, policy text NOT NULL DEFAULT 'drain',"
     " updated_at timestamptz NOT NULL DEFAULT now())"),
};

/* Version 4: the router replicas' shared pins (core/router/shared.c), written behind. */
static const char *const schema_v4[] = {
    ("CREATE TABLE slipway.pins (agent text NOT NULL, session text NOT NULL,"
     " version text NOT NULL, reason text NOT NULL, terminated boolean NOT NULL DEFAULT false,"
     " created_ms bigint NOT NULL, last_ms bigint NOT NULL, PRIMARY KEY (agent, session))"),
};

/* Version 5: pins expire in the database too. Each row keeps the wall-clock time (ms) after
   which no replica that wrote it would keep the pin (its last use plus that replica's TTL;
   NULL: never), indexed for the replicas' periodic deletion of expired rows. Rows written
   before get the router's default TTL (30 minutes) from their last written use; a replica
   still using one writes it again with its own. */
static const char *const schema_v5[] = {
    ("ALTER TABLE slipway.pins ADD COLUMN expires_ms bigint"),
    ("UPDATE slipway.pins SET expires_ms = last_ms + 1800000"),
    ("CREATE INDEX pins_expires ON slipway.pins (expires_ms)"),
};

/* Version 6: the router replicas (core/router/shared.c), each registered by its listener once
   every pin it kept while its connection was away is written; a route change waits for those
   registered before the server's last start (sw_pg_route_cas). */
static const char *const schema_v6[] = {
    ("CREATE TABLE slipway.replicas (id text PRIMARY KEY, registered_at timestamptz NOT NULL)"),
};

/* Every version's statements, in order: a database at version N gets N+1 onwards. */
static const struct {
    const char *const *statements;
    size_t n;
} schema_steps[] = {
    {schema_v1, sizeof schema_v1 / sizeof schema_v1[0]},
    {schema_v2, sizeof schema_v2 / sizeof schema_v2[0]},
    {schema_v3, sizeof schema_v3 / sizeof schema_v3[0]},
    {schema_v4, sizeof schema_v4 / sizeof schema_v4[0]},
    {schema_v5, sizeof schema_v5 / sizeof schema_v5[0]},
    {schema_v6, sizeof schema_v6 / sizeof schema_v6[0]},
};

/* ---- statements ---- */

/* err := "what: libpq's message", its lines joined into one. Returns -1. */
void sw_pg_one_line(const char *msg, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = msg; *p && n + 1 < size; p++) {
        char c = *p == '\n' || *p == '\t' ? ' ' : *p;
        if (c != ' ' || (n && out[n - 1] != ' '))
            out[n++] = c;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static int pg_error(sw_err *err, PGconn *conn, const PGresult *res, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!*msg)
        msg = PQerrorMessage(conn);
    char line[512];
    sw_pg_one_line(msg, line, sizeof line);
    return sw_err_set(err, "PostgreSQL, %s: %s", what, line);
}

/* A connection lost since the last transaction is opened again before the next
   statement, but never inside a transaction: its statements would then run on their
   own, and a change could be half-written. There the statement fails instead. */
static PGconn *conn_of(sw_store *s)
{
    PGconn *c = s->pg->conn;
    if (PQstatus(c) == CONNECTION_BAD && !s->pg->in_transaction)
        PQreset(c);
    return c;
}

/* Run sql with text parameters (binary where lengths[i] is nonzero); *out gets the
   result when wanted. 0, or -1 with err. */
static int run(sw_store *s, const char *sql, int n, const char *const *values, const int *lengths,
               int binary_result, PGresult **out, sw_err *err)
{
    int formats[8] = {0};
    for (int i = 0; lengths && i < n && i < 8; i++)
        formats[i] = lengths[i] ? 1 : 0;
    PGconn *c = conn_of(s);
    PGresult *r = PQexecParams(c, sql, n, NULL, values, lengths, formats, binary_result);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_error(err, c, r, sql);
        if (out) {
            *out = r; /* for the SQLSTATE */
            return -1;
        }
        PQclear(r);
        return -1;
    }
    if (strncmp(sql, "BEGIN", 5) == 0)
        s->pg->in_transaction = 1;
    else if (strcmp(sql, "COMMIT") == 0)
        s->pg->in_transaction = 0;
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

static int exec(sw_store *s, const char *sql, sw_err *err)
{
    return run(s, sql, 0, NULL, NULL, 0, NULL, err);
}

static void rollback(sw_store *s)
{
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
    s->pg->in_transaction = 0;
}

static int commit(sw_store *s, sw_err *err)
{
    if (exec(s, "COMMIT", err) != 0) {
        rollback(s);
        return -1;
    }
    return 0;
}

/* The statements for the other PostgreSQL modules (pg_impl.h). */
int sw_pg_run(sw_store *s, const char *sql, int n, const char *const *values, const int *lengths,
              int binary_result, PGresult **out, sw_err *err)
{
    return run(s, sql, n, values, lengths, binary_result, out, err);
}

int sw_pg_exec(sw_store *s, const char *sql, sw_err *err)
{
    return exec(s, sql, err);
}

int sw_pg_commit(sw_store *s, sw_err *err)
{
    return commit(s, err);
}

void sw_pg_rollback(sw_store *s)
{
    rollback(s);
}

PGconn *sw_pg_conn(sw_store *s)
{
    return s->pg ? conn_of(s) : NULL;
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* ---- schema ---- */

/* Bring the schema from version `from` (0: none) to SCHEMA_VERSION, in the caller's
   transaction. */
static int migrate_schema(sw_store *s, long from, sw_err *err)
{
    for (long v = from; v < SCHEMA_VERSION; v++)
        for (size_t i = 0; i < schema_steps[v].n; i++)
            if (exec(s, schema_steps[v].statements[i], err) != 0)
                return -1;
    char version[16];
    snprintf(version, sizeof version, "%d", SCHEMA_VERSION);
    const char *p[] = {version};
    return run(s,
               "INSERT INTO slipway.meta (key, value) VALUES ('schema_version', $1) "
               "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
               1, p, NULL, 0, NULL, err);
}

/* Create the schema on first use; refuse one newer than this build. */
static sw_store_status ensure_schema(sw_store *s, sw_store_error *err)
{
    sw_err e = {{0}};
    PGresult *r = NULL;
    if (exec(s, "BEGIN", &e) != 0 ||
        exec(s, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", &e) != 0 ||
        exec(s, "CREATE SCHEMA IF NOT EXISTS slipway", &e) != 0 ||
        exec(s,
             "CREATE TABLE IF NOT EXISTS slipway.meta (key text PRIMARY KEY, value text NOT NULL)",
             &e) != 0 ||
        run(s, "SELECT value FROM slipway.meta WHERE key = 'schema_version'", 0, NULL, NULL, 0, &r,
            &e) != 0) {
        PQclear(r);
        rollback(s);
        return sw_store_fail(err, SW_STORE_ERROR, "release store %s: %s", s->location, e.msg);
    }
    long version = PQntuples(r) ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (version > SCHEMA_VERSION) {
        rollback(s);
        return sw_store_fail(err, SW_STORE_REFUSED,
                             "release store %s: its schema is version %ld, newer than this "
                             "slipway knows (%d): upgrade slipway to use it",
                             s->location, version, SCHEMA_VERSION);
    }
    if ((version < SCHEMA_VERSION && migrate_schema(s, version, &e) != 0) || commit(s, &e) != 0) {
        rollback(s);
        return sw_store_fail(err, SW_STORE_ERROR, "release store %s: creating the schema: %s",
                             s->location, e.msg);
    }
    return SW_STORE_OK;
}

/* ---- opening ---- */

/* The URL names no password: it would end up in shell history, configs and logs. */
static sw_store_status check_url(const char *url, sw_store_error *err)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (!opts) {
        sw_store_status st =
            sw_store_fail(err, SW_STORE_INVALID, "release store: not a PostgreSQL URL: %s",
                          msg ? msg : "out of memory");
        PQfreemem(msg);
        return st;
    }
    int has_password = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            has_password = 1;
    PQconninfoFree(opts);
    if (has_password)
        return sw_store_fail(err, SW_STORE_INVALID,
                             "release store: the PostgreSQL URL holds a password: remove it and "
                             "give it in PGPASSWORD or ~/.pgpass instead");
    return SW_STORE_OK;
}

int sw_pg_open(sw_store *s, sw_store_error *err)
{
    if (check_url(s->location, err) != SW_STORE_OK)
        return -1;
    sw_err e = {{0}};
    s->root = sw_release_cache_default(&e);
    if (!s->root) {
        sw_store_fail(err, SW_STORE_ERROR, "release store %s: %s", s->location, e.msg);
        return -1;
    }
    /* The URL is expanded after the defaults, so a connect_timeout in it wins. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {CONNECT_TIMEOUT_S, "slipway", s->location, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    s->pg = sw_xcalloc(1, sizeof *s->pg);
    s->pg->conn = c;
    s->backend = &sw_pg_backend;
    if (!c || PQstatus(c) != CONNECTION_OK) {
        pg_error(&e, c, NULL, "connecting");
        sw_store_fail(err, SW_STORE_ERROR, "release store %s: cannot reach the database: %s",
                      s->location, e.msg);
        return -1;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    return ensure_schema(s, err) == SW_STORE_OK ? 0 : -1;
}

static void pg_close(sw_store *s)
{
    if (s->pg) {
        PQfinish(s->pg->conn);
        free(s->pg);
        s->pg = NULL;
    }
}

/* ---- reading ---- */

static int append_column(PGresult *r, json_t *out)
{
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(out, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return 0;
}

static int pg_agents(sw_store *s, json_t *names, sw_err *err)
{
    PGresult *r = NULL;
    if (run(s,
            "SELECT agent FROM (SELECT agent FROM slipway.releases UNION "
            "SELECT agent FROM slipway.channels) a ORDER BY agent COLLATE \"C\"",
            0, NULL, NULL, 0, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    return append_column(r, names);
}

static int pg_release_ids(sw_store *s, const char *agent, json_t *ids, sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {agent};
    if (run(s, "SELECT id FROM slipway.releases WHERE agent = $1 ORDER BY id COLLATE \"C\"", 1, p,
            NULL, 0, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    return append_column(r, ids);
}

/* The stored manifest text (malloc'd), or NULL (absent: *missing=1). */
static char *manifest_text(sw_store *s, const char *agent, const char *id, int *missing,
                           sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {agent, id};
    if (run(s, "SELECT manifest FROM slipway.releases WHERE agent = $1 AND id = $2", 2, p, NULL, 0,
            &r, err) != 0) {
        PQclear(r);
        return NULL;
    }
    char *text = NULL;
    if (PQntuples(r) == 0) {
        *missing = 1;
        sw_err_set(err, "no release %s of agent '%s'", id, agent);
    } else
        text = sw_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return text;
}

static json_t *pg_load_manifest(sw_store *s, const char *agent, const char *id, int *missing,
                                sw_err *err)
{
    char *text = manifest_text(s, agent, id, missing, err);
    if (!text)
        return NULL;
    char *where = sw_xasprintf("%s: release %s of '%s'", s->location, id, agent);
    json_t *m = sw_manifest_parse(text, strlen(text), where, err);
    free(where);
    free(text);
    return m;
}

static char *pg_load_file(sw_store *s, const char *agent, const char *id, const char *path,
                          size_t *len, sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {agent, id, path};
    if (run(s,
            "SELECT b.data FROM slipway.release_files f JOIN slipway.blobs b USING (sha256) "
            "WHERE f.agent = $1 AND f.id = $2 AND f.path = $3",
            3, p, NULL, 1, &r, err) != 0) {
        PQclear(r);
        return NULL;
    }
    char *data = NULL;
    if (PQntuples(r) == 0)
        sw_err_set(err, "%s: release %s of '%s' has no file %s", s->location, id, agent, path);
    else {
        *len = (size_t)PQgetlength(r, 0, 0);
        data = sw_xmalloc(*len + 1);
        memcpy(data, PQgetvalue(r, 0, 0), *len);
        data[*len] = '\0';
    }
    PQclear(r);
    return data;
}

static int pg_each_file(sw_store *s, const char *agent, const char *id, sw_file_fn fn, void *ud,
                        sw_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {agent, id};
    if (run(s,
            "SELECT f.path, b.data FROM slipway.release_files f JOIN slipway.blobs b "
            "USING (sha256) WHERE f.agent = $1 AND f.id = $2 ORDER BY f.path",
            2, p, NULL, 1, &r, err) != 0) {
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        /* Binary results: the path arrives as its bytes, without a NUL. */
        char *path = sw_xstrndup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
        int stop = fn(path, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), ud);
        free(path);
        if (stop)
            break;
    }
    PQclear(r);
    return 0;
}

static char *pg_release_dir(sw_store *s, const char *agent, const char *id, int *missing,
                            sw_err *err)
{
    char *text = manifest_text(s, agent, id, missing, err);
    if (!text)
        return NULL;
    char *where = sw_xasprintf("%s: release %s of '%s'", s->location, id, agent);
    json_t *m = sw_manifest_parse(text, strlen(text), where, err);
    free(where);
    const char *digest = json_string_value(json_object_get(m, "digest"));
    char *dir = NULL;
    PGresult *r = NULL;
    const char *p[] = {agent, id};
    if (!digest || strlen(digest) != SW_SHA256_HEX_LEN)
        sw_err_set(err, "%s: release %s of '%s' has no digest", s->location, id, agent);
    else if (!(dir = sw_release_cache_lookup(s->root, digest)) &&
             run(s,
                 "SELECT f.path, f.sha256, b.data FROM slipway.release_files f "
                 "JOIN slipway.blobs b USING (sha256) WHERE f.agent = $1 AND f.id = $2 "
                 "ORDER BY f.path",
                 2, p, NULL, 1, &r, err) == 0) {
        /* Binary results: text columns arrive as their bytes, without a NUL. */
        int n = PQntuples(r);
        sw_cache_file *files = sw_xcalloc((size_t)n + 1, sizeof *files);
        char **strs = sw_xcalloc(2 * (size_t)n + 1, sizeof *strs);
        for (int i = 0; i < n; i++) {
            strs[2 * i] = sw_xstrndup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
            strs[2 * i + 1] = sw_xstrndup(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
            files[i] = (sw_cache_file){strs[2 * i], strs[2 * i + 1], PQgetvalue(r, i, 2),
                                       (size_t)PQgetlength(r, i, 2)};
        }
        dir = sw_release_cache_fill(s->root, digest, text, files, (size_t)n, err);
        for (int i = 0; i < 2 * n; i++)
            free(strs[i]);
        free(strs);
        free(files);
    }
    PQclear(r);
    json_decref(m);
    free(text);
    return dir;
}

/* ---- writing releases ---- */

static int pg_put(sw_store *s, const sw_bundle *b, const char *agent, const char *id,
                  const char *text, const char *digest, int *existed, sw_err *err)
{
    PGresult *r = NULL;
    const char *key[] = {agent, id};
    if (exec(s, "BEGIN", err) != 0)
        return -1;
    /* Files first, each once whatever the number of releases holding it. */
    for (size_t i = 0; i < b->n_files; i++) {
        const sw_bundle_file *f = &b->files[i];
        const char *p[] = {f->sha256, f->data};
        int lens[] = {0, (int)f->len};
        if (run(s,
                "INSERT INTO slipway.blobs (sha256, data) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                2, p, lens, 0, NULL, err) != 0)
            goto fail;
    }
    const char *row[] = {agent, id, digest, text};
    if (run(s,
            "INSERT INTO slipway.releases (agent, id, digest, manifest) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING",
            4, row, NULL, 0, &r, err) != 0)
        goto fail;
    int inserted = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    r = NULL;
    if (!inserted) {
        /* Stored already (by an earlier write, or a writer that committed meanwhile). */
        if (run(s, "SELECT digest FROM slipway.releases WHERE agent = $1 AND id = $2", 2, key, NULL,
                0, &r, err) != 0 ||
            PQntuples(r) != 1)
            goto fail;
        const char *old = PQgetvalue(r, 0, 0);
        if (strcmp(old, digest) != 0) {
            sw_err_set(err,
                       "release id %s of '%s' is taken by other content (digest %s, new %s): "
                       "an id collision",
                       id, agent, old, digest);
            goto fail;
        }
        PQclear(r);
        rollback(s);
        *existed = 1;
        return 0;
    }
    for (size_t i = 0; i < b->n_files; i++) {
        const char *p[] = {agent, id, b->files[i].path, b->files[i].sha256};
        if (run(s,
                "INSERT INTO slipway.release_files (agent, id, path, sha256) VALUES ($1, $2, $3, "
                "$4)",
                4, p, NULL, 0, NULL, err) != 0)
            goto fail;
    }
    if (commit(s, err) != 0)
        return -1;
    *existed = 0;
    return 0;
fail:
    PQclear(r);
    rollback(s);
    return -1;
}

/* ---- channels ---- */

/* The channels document from the agent's rows, read in the current transaction. */
static json_t *read_channels(sw_store *s, const char *agent, sw_err *err)
{
    const char *p[] = {agent};
    PGresult *r = NULL;
    json_t *ch = sw_channels_empty(agent);
    if (run(s, "SELECT stable, candidate FROM slipway.channels WHERE agent = $1", 1, p, NULL, 0, &r,
            err) != 0)
        goto fail;
    for (int col = 0; PQntuples(r) == 1 && col < 2; col++)
        if (!PQgetisnull(r, 0, col))
            json_object_set_new(ch, col == 0 ? "stable" : "candidate",
                                json_string(PQgetvalue(r, 0, col)));
    PQclear(r);
    r = NULL;
    if (run(s, "SELECT name, id FROM slipway.tags WHERE agent = $1 ORDER BY name COLLATE \"C\"", 1,
            p, NULL, 0, &r, err) != 0)
        goto fail;
    json_t *tags = json_object_get(ch, "tags");
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(tags, PQgetvalue(r, i, 0), json_string(PQgetvalue(r, i, 1)));
    PQclear(r);
    r = NULL;
    if (run(s, "SELECT seq, entry FROM slipway.history WHERE agent = $1 ORDER BY seq", 1, p, NULL,
            0, &r, err) != 0)
        goto fail;
    json_t *history = json_object_get(ch, "history");
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *e = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        if (!json_is_object(e)) {
            json_decref(e);
            sw_err_set(err, "%s: history entry %s of '%s' is damaged", s->location,
                       PQgetvalue(r, i, 0), agent);
            goto fail;
        }
        json_array_append_new(history, e);
    }
    PQclear(r);
    return ch;
fail:
    PQclear(r);
    json_decref(ch);
    return NULL;
}

static json_t *pg_load_channels(sw_store *s, const char *agent, sw_err *err)
{
    /* One snapshot, so the channels, tags and history read belong together. */
    if (exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) != 0)
        return NULL;
    json_t *ch = read_channels(s, agent, err);
    if (!ch || commit(s, err) != 0) {
        rollback(s);
        json_decref(ch);
        return NULL;
    }
    return ch;
}

/* Write what fn changed: the channels row, appended history, added tags. */
static int save_changes(sw_store *s, const char *agent, const json_t *before, const json_t *after,
                        sw_err *err)
{
    const char *stable = json_string_value(json_object_get(after, "stable"));
    const char *cand = json_string_value(json_object_get(after, "candidate"));
    const char *row[] = {agent, stable, cand};
    if (run(s,
            "UPDATE slipway.channels SET stable = $2, candidate = $3, version = version + 1 "
            "WHERE agent = $1",
            3, row, NULL, 0, NULL, err) != 0)
        return -1;
    const json_t *h = json_object_get(after, "history");
    for (size_t i = json_array_size(json_object_get(before, "history")); i < json_array_size(h);
         i++) {
        char *entry = json_dumps(json_array_get(h, i), JSON_COMPACT);
        char seq[32];
        snprintf(seq, sizeof seq, "%zu", i + 1);
        const char *p[] = {agent, seq, entry};
        int rc = run(s, "INSERT INTO slipway.history (agent, seq, entry) VALUES ($1, $2, $3)", 3, p,
                     NULL, 0, NULL, err);
        free(entry);
        if (rc != 0)
            return -1;
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(after, "tags"), name, v)
    {
        if (json_object_get(json_object_get(before, "tags"), name))
            continue;
        const char *p[] = {agent, name, json_string_value(v)};
        if (run(s, "INSERT INTO slipway.tags (agent, name, id) VALUES ($1, $2, $3)", 3, p, NULL, 0,
                NULL, err) != 0)
            return -1;
    }
    return 0;
}

/* Lock the agent's channels row (created on its first change) for this transaction:
   the writers' lock. The next writer waits here until this transaction ends, then
   reads what it wrote; one waiting longer than lock_timeout_ms gives up. */
static int lock_agent(sw_store *s, const char *agent, sw_err *err)
{
    char timeout[64];
    snprintf(timeout, sizeof timeout, "SET LOCAL lock_timeout = %ld", s->lock_timeout_ms);
    if (exec(s, timeout, err) != 0)
        return -1;
    static const char *const steps[] = {
        "INSERT INTO slipway.channels (agent) VALUES ($1) ON CONFLICT DO NOTHING",
        "SELECT 1 FROM slipway.channels WHERE agent = $1 FOR UPDATE"};
    const char *p[] = {agent};
    for (size_t i = 0; i < 2; i++) {
        PGresult *r = NULL;
        int rc = run(s, steps[i], 1, p, NULL, 0, &r, err);
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (rc != 0 && state && strcmp(state, SQLSTATE_LOCK_NOT_AVAILABLE) == 0)
            sw_store_locked_error(err, agent, s->lock_timeout_ms, "its row in slipway.channels");
        PQclear(r);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static sw_store_status pg_change_channels(sw_store *s, const char *agent, sw_channel_fn fn,
                                          void *ud, sw_store_error *err)
{
    sw_err e = {{0}};
    if (exec(s, "BEGIN", &e) != 0 || lock_agent(s, agent, &e) != 0) {
        rollback(s);
        return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    }
    json_t *ch = read_channels(s, agent, &e);
    if (!ch) {
        rollback(s);
        return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    }
    json_t *before = json_deep_copy(ch);
    int dirty = 0;
    sw_store_status st = fn(s, ch, ud, &dirty, err);
    if (st != SW_STORE_OK)
        rollback(s);
    else if ((dirty && save_changes(s, agent, before, ch, &e) != 0) || commit(s, &e) != 0) {
        rollback(s);
        st = sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    }
    json_decref(before);
    json_decref(ch);
    return st;
}

const sw_store_backend sw_pg_backend = {
    .name = "postgres",
    .close = pg_close,
    .agents = pg_agents,
    .release_ids = pg_release_ids,
    .load_manifest = pg_load_manifest,
    .load_file = pg_load_file,
    .each_file = pg_each_file,
    .put = pg_put,
    .release_dir = pg_release_dir,
    .load_channels = pg_load_channels,
    .change_channels = pg_change_channels,
};
