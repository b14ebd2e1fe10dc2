/* run_db.c - a run written through to a database store: its lease and heartbeat, its
   record at every checkpoint, and reading it back on any machine (run_db.h). */
#include "run/run_db.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "run/run_impl.h"
#include "store/run_db.h"
#include "store/sha256.h"
#include "store/store_impl.h"

#define DEFAULT_LEASE_MS 30000

struct sw_run_db {
    sw_store *store; /* the runner's connection: leases and saves */
    sw_store *beat;  /* the heartbeat thread's own connection */
    char *run_id;
    char *owner; /* "HOST pid N": who holds the lease, for the refusal message */
    long ttl_ms;
    json_t *sent; /* name -> sha256 of what the database holds already */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
    struct sw_run *run;
};

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? n : dflt;
}

static sw_store *open_db(sw_engine *e, int *failed, sw_err *err)
{
    *failed = 0;
    if (!e->store || !sw_store_location_is_url(e->store))
        return NULL;
    sw_store_error se = {0};
    sw_store *s = sw_store_open(e->store, &se);
    if (!s) {
        *failed = 1;
        sw_err_set(err, "%s", se.message);
    }
    return s;
}

sw_run_db *sw_run_db_claim(sw_engine *e, const char *run_id, int *failed, sw_err *err)
{
    sw_store *s = open_db(e, failed, err);
    if (!s)
        return NULL;
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    sw_run_db *db = sw_xcalloc(1, sizeof *db);
    db->store = s;
    db->run_id = sw_xstrdup(run_id);
    db->owner = sw_xasprintf("%s pid %ld", host, (long)getpid());
    db->ttl_ms = env_long("SLIPWAY_RUN_LEASE_MS", DEFAULT_LEASE_MS);
    db->sent = json_object();
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->cond, NULL);
    sw_err le = {{0}};
    if (sw_store_run_lease(s, run_id, db->owner, db->ttl_ms, &le) != 0) {
        *failed = 1;
        sw_err_set(err, "%s: %s", sw_store_location(s), le.msg);
        sw_run_db_release(db);
        return NULL;
    }
    return db;
}

/* ---- restoring a run folder ---- */

typedef struct restore_ctx {
    const char *dir;
} restore_ctx;

/* A stored name stays inside the run folder. */
static int safe_name(const char *name)
{
    return *name && name[0] != '/' && strstr(name, "..") == NULL;
}

static int restore_file(void *ud, const char *name, const char *data, size_t len, sw_err *err)
{
    restore_ctx *c = ud;
    if (!safe_name(name))
        return sw_err_set(err, "run file '%s' in the database is not a relative path", name);
    char *path = sw_path_join(c->dir, name);
    char *parent = sw_path_dirname(path);
    int rc = sw_mkdir_p(parent, 0755, err);
    if (rc == 0)
        rc = sw_write_file_atomic(path, data, len, err);
    free(parent);
    free(path);
    return rc;
}

static long long local_journal_bytes(const char *dir)
{
    char *path = sw_path_join(dir, "journal.jsonl");
    struct stat st;
    long long n = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    free(path);
    return n;
}

int sw_run_db_restore(sw_run_db *db, const char *run_id, const char *dir, sw_err *err)
{
    long long stored = 0;
    int found = sw_store_run_exists(db->store, run_id, &stored, err);
    if (found < 0)
        return -1;
    long long local = local_journal_bytes(dir);
    if (!found || (local >= 0 && local >= stored))
        return 0; /* the folder holds as much as the database, or more (unsaved progress) */
    restore_ctx c = {dir};
    if (sw_mkdir_p(dir, 0755, err) != 0 ||
        sw_store_run_files(db->store, run_id, NULL, restore_file, &c, err) != 0)
        return -1;
    size_t len = 0;
    char *journal = sw_store_run_journal(db->store, run_id, &len, err);
    if (!journal)
        return -1;
    int rc = restore_file(&c, "journal.jsonl", journal, len, err);
    free(journal);
    return rc;
}

/* ---- the heartbeat ---- */

static void *heartbeat_thread(void *arg)
{
    sw_run_db *db = arg;
    pthread_mutex_lock(&db->lock);
    while (!db->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (db->ttl_ms / 3) * 1000000L;
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&db->cond, &db->lock, &ts);
        if (db->stopping)
            break;
        pthread_mutex_unlock(&db->lock);
        sw_err err = {{0}};
        /* A failure to reach the database is retried at the next beat; the
           checkpoint, fenced by the lease, is what refuses to go on without it. */
        int rc = sw_store_run_renew(db->beat, db->run_id, db->owner, db->ttl_ms, &err);
        pthread_mutex_lock(&db->lock);
        if (rc == 1 && db->run) {
            /* Another process took the run over: stop before doing work it will redo. */
            atomic_store(&db->run->stop, 1);
            break;
        }
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

void sw_run_db_heartbeat(sw_run_db *db, struct sw_run *run)
{
    if (!db || db->thread_started)
        return;
    sw_store_error se = {0};
    db->beat = sw_store_open(sw_store_location(db->store), &se);
    if (!db->beat)
        return; /* the checkpoints still renew the lease */
    db->run = run;
    if (pthread_create(&db->thread, NULL, heartbeat_thread, db) == 0)
        db->thread_started = 1;
}

void sw_run_db_release(sw_run_db *db)
{
    if (!db)
        return;
    if (db->thread_started) {
        pthread_mutex_lock(&db->lock);
        db->stopping = 1;
        pthread_cond_broadcast(&db->cond);
        pthread_mutex_unlock(&db->lock);
        pthread_join(db->thread, NULL);
    }
    sw_store_close(db->beat);
    sw_store_run_release(db->store, db->run_id, db->owner);
    sw_store_close(db->store);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->cond);
    json_decref(db->sent);
    free(db->run_id);
    free(db->owner);
    free(db);
}

/* ---- saving ---- */

int sw_run_db_save(struct sw_run *run, sw_err *err)
{
    sw_run_db *db = run->db;
    if (!db)
        return 0;
    sw_run_file_set fs = {0};
    int rc = sw_run_folder_collect(run->dir, db->sent, &fs, err);
    size_t jlen = 0;
    char *journal = NULL;
    if (rc == 0) {
        char *jpath = sw_path_join(run->dir, "journal.jsonl");
        journal = sw_read_file(jpath, 0, &jlen, err);
        free(jpath);
        if (!journal)
            rc = -1;
    }
    if (rc == 0) {
        json_t *summary =
            json_pack("{s:s, s:s, s:s, s:s}", "pipeline", run->pipeline->path, "name",
                      run->pipeline->name, "started_at", run->started_at, "runner", db->owner);
        sw_err se = {{0}};
        rc = sw_store_run_save(db->store, run->id, db->owner, db->ttl_ms, summary, fs.files, fs.n,
                               journal, jlen, &se);
        json_decref(summary);
        if (rc != 0) {
            sw_err_set(err, "run '%s' not recorded in %s: %s", run->id,
                       sw_store_location(db->store), se.msg);
            rc = -1;
        } else {
            for (size_t i = 0; i < fs.n; i++)
                json_object_set_new(db->sent, fs.files[i].name, json_string(fs.sha[i]));
        }
    }
    free(journal);
    sw_run_file_set_free(&fs);
    return rc;
}

/* ---- reading ---- */

json_t *sw_run_db_ids(sw_engine *e, int *failed, sw_err *err)
{
    sw_store *s = open_db(e, failed, err);
    if (!s)
        return NULL;
    json_t *ids = sw_store_run_ids(s, err);
    if (!ids)
        *failed = 1;
    sw_store_close(s);
    return ids;
}

typedef struct load_ctx {
    json_t *report, *ckpt;
} load_ctx;

static int load_file(void *ud, const char *name, const char *data, size_t len, sw_err *err)
{
    load_ctx *c = ud;
    json_t **slot = strcmp(name, "report.json") == 0    ? &c->report
                    : strcmp(name, "context.json") == 0 ? &c->ckpt
                                                        : NULL;
    if (!slot)
        return 0;
    json_error_t je;
    *slot = json_loadb(data, len, 0, &je);
    if (!*slot)
        return sw_err_set(err, "%s of the run in the database:%d: %s", name, je.line, je.text);
    return 0;
}

int sw_run_db_load(sw_engine *e, const char *run_id, json_t **report, json_t **ckpt,
                   json_t **events, sw_err *err)
{
    int failed = 0;
    *report = *ckpt = *events = NULL;
    sw_store *s = open_db(e, &failed, err);
    if (!s)
        return failed ? -1 : 0;
    int found = sw_store_run_exists(s, run_id, NULL, err);
    load_ctx c = {0};
    if (found == 1 && (sw_store_run_files(s, run_id, "report.json", load_file, &c, err) != 0 ||
                       sw_store_run_files(s, run_id, "context.json", load_file, &c, err) != 0))
        found = -1;
    if (found == 1 && !c.report) {
        /* No report: the summary comes from the checkpoint and the journal. */
        size_t len = 0;
        char *text = sw_store_run_journal(s, run_id, &len, err);
        *events = json_array();
        for (char *line = text, *nl; line && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
            json_t *ev = json_loadb(line, (size_t)(nl - line), 0, NULL);
            if (json_is_object(ev))
                json_array_append(*events, ev);
            json_decref(ev);
        }
        free(text);
    }
    sw_store_close(s);
    if (found != 1) {
        json_decref(c.report);
        json_decref(c.ckpt);
        return found;
    }
    *report = c.report;
    *ckpt = c.ckpt;
    return 1;
}
