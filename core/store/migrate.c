/* migrate.c - `slipway store migrate`: copy a state folder's releases, channels (their
   whole history), tags and runs into a database store, then check every digest there.
   Each piece is one transaction of the database, so a copy that stops half-way is
   finished by running it again; a second run copies nothing new. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "canon.h"
#include "run_db.h"
#include "store_impl.h"

#define MIGRATE_LEASE_MS 30000

typedef struct migration {
    sw_store *from, *to;
    const char *from_dir;
    char *owner; /* of the runs' leases while they are written: "HOST pid N (store migrate)" */
    json_t *agents;
    size_t releases_copied, releases_present;
    size_t history_copied, tags_copied, agents_with_channels;
    size_t runs_copied, runs_present;
    json_t *notes; /* what was left as it is, and why */
} migration;

/* ---- releases ---- */

typedef sw_store_status (*release_fn)(migration *m, const char *agent, const char *id,
                                      sw_store_error *err);

/* fn for every release of the folder, agent by agent, oldest id first. */
static sw_store_status each_release(migration *m, release_fn fn, sw_store_error *err)
{
    size_t i;
    json_t *agent;
    json_array_foreach(m->agents, i, agent)
    {
        const char *name = json_string_value(agent);
        json_t *ids = json_array();
        sw_err e = {{0}};
        sw_store_status st = SW_STORE_OK;
        if (m->from->backend->release_ids(m->from, name, ids, &e) != 0)
            st = sw_store_fail(err, SW_STORE_ERROR, "%s: %s", m->from_dir, e.msg);
        size_t k;
        json_t *id;
        json_array_foreach(ids, k, id)
        {
            if (st == SW_STORE_OK)
                st = fn(m, name, json_string_value(id), err);
        }
        json_decref(ids);
        if (st != SW_STORE_OK)
            return st;
    }
    return SW_STORE_OK;
}

/* A release of the folder whole (manifest and files against their digests). Every one
   is checked before anything is written: a damaged folder copies nothing. */
static sw_store_status verify_source(migration *m, const char *agent, const char *id,
                                     sw_store_error *err)
{
    sw_store_error ve = {0};
    if (sw_store_verify(m->from, agent, id, &ve) == SW_STORE_OK)
        return SW_STORE_OK;
    char *dir = sw_store_id_dir(m->from, agent, id);
    sw_store_fail(err, SW_STORE_ERROR,
                  "%s is damaged (%s): nothing was copied; restore it, or remove the release, "
                  "and migrate again",
                  dir, ve.message);
    free(dir);
    return SW_STORE_ERROR;
}

/* The release's files as a bundle to store (its manifest lists them). */
static sw_bundle *release_bundle(migration *m, const char *agent, const char *id,
                                 const json_t *manifest, sw_err *err)
{
    const json_t *files = json_object_get(manifest, "files");
    sw_bundle *b = sw_xcalloc(1, sizeof *b);
    b->files = sw_xcalloc(json_object_size(files) + 1, sizeof *b->files);
    const char *path;
    json_t *f;
    json_object_foreach((json_t *)files, path, f)
    {
        sw_bundle_file *bf = &b->files[b->n_files];
        bf->data = m->from->backend->load_file(m->from, agent, id, path, &bf->len, err);
        if (!bf->data) {
            sw_bundle_free(b);
            return NULL;
        }
        bf->path = sw_xstrdup(path);
        sw_sha256_hex(bf->data, bf->len, bf->sha256);
        b->n_files++;
    }
    return b;
}

static sw_store_status copy_release(migration *m, const char *agent, const char *id,
                                    sw_store_error *err)
{
    sw_err e = {{0}};
    int missing = 0, existed = 0;
    json_t *manifest = sw_store_load_manifest(m->from, agent, id, &missing, &e);
    sw_bundle *b = manifest ? release_bundle(m, agent, id, manifest, &e) : NULL;
    int rc = b ? sw_store_put(m->to, b, manifest, &existed, &e) : -1;
    sw_bundle_free(b);
    json_decref(manifest);
    if (rc != 0)
        return sw_store_fail(err, SW_STORE_ERROR, "release %s of '%s': %s", id, agent, e.msg);
    /* What the database holds now, read back: every file against its SHA-256. */
    sw_store_error ve = {0};
    if (sw_store_verify(m->to, agent, id, &ve) != SW_STORE_OK)
        return sw_store_fail(err, SW_STORE_ERROR, "release %s of '%s' in %s after copying: %s", id,
                             agent, sw_store_location(m->to), ve.message);
    if (existed)
        m->releases_present++;
    else
        m->releases_copied++;
    return SW_STORE_OK;
}

/* ---- channels ---- */

/* A history entry in a few words, for a conflict's message. */
static void describe(const json_t *e, char *out, size_t size)
{
    const char *keys[] = {"action", "channel", "from", "to", "by", "at"};
    const char *v[6];
    for (size_t i = 0; i < 6; i++) {
        v[i] = json_string_value(json_object_get(e, keys[i]));
        if (!v[i])
            v[i] = "-";
    }
    snprintf(out, size, "%s %s %s -> %s by %s at %s", v[0], v[1], v[2], v[3], v[4], v[5]);
}

static int same_value(const json_t *a, const json_t *b)
{
    const char *x = json_string_value(a), *y = json_string_value(b);
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

typedef struct merge {
    migration *m;
    const char *agent;
    const json_t *src; /* the folder's channels document */
    size_t history_added, tags_added;
    size_t ahead; /* entries the database's history has past the folder's */
} merge;

/* Bring the database's channels document ch up to the folder's: the folder's history
   entries past the ones the database holds (which must be the same, entry for entry),
   its channels' values, and its tags (a tag may not name another release). */
static sw_store_status merge_channels(sw_store *s, json_t *ch, void *ud, int *dirty,
                                      sw_store_error *err)
{
    (void)s;
    merge *g = ud;
    const char *where = sw_store_location(g->m->to);
    json_t *ht = json_object_get(ch, "history");
    const json_t *hs = json_object_get(g->src, "history");
    size_t nt = json_array_size(ht), ns = json_array_size(hs);
    for (size_t i = 0; i < nt && i < ns; i++) {
        if (json_equal(json_array_get(ht, i), json_array_get(hs, i)))
            continue;
        char there[256], here[256];
        describe(json_array_get(ht, i), there, sizeof there);
        describe(json_array_get(hs, i), here, sizeof here);
        return sw_store_fail(err, SW_STORE_CONFLICT,
                             "agent '%s': %s already has another channel history: entry %zu is "
                             "\"%s\" there and \"%s\" in %s; refusing to merge two histories "
                             "(nothing was copied)",
                             g->agent, where, i + 1, there, here, g->m->from_dir);
    }
    g->ahead = nt > ns ? nt - ns : 0;
    if (nt == ns)
        for (size_t c = 0; c < 2; c++) {
            const char *chan = c ? "candidate" : "stable";
            const json_t *a = json_object_get(ch, chan), *b = json_object_get(g->src, chan);
            if (!same_value(a, b))
                return sw_store_fail(
                    err, SW_STORE_CONFLICT,
                    "agent '%s': %s has %s = %s and %s has %s, with the same "
                    "history; refusing to change it (nothing was copied)",
                    g->agent, where, chan, json_string_value(a) ? json_string_value(a) : "unset",
                    g->m->from_dir, json_string_value(b) ? json_string_value(b) : "unset");
        }
    json_t *tt = json_object_get(ch, "tags");
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(g->src, "tags"), name, v)
    {
        const char *have = json_string_value(json_object_get(tt, name));
        if (have && strcmp(have, json_string_value(v)) != 0)
            return sw_store_fail(err, SW_STORE_CONFLICT,
                                 "agent '%s': tag '%s' names release %s in %s and %s in %s; "
                                 "tags do not move (nothing was copied)",
                                 g->agent, name, have, where, json_string_value(v), g->m->from_dir);
    }
    /* Only now change: a conflict above leaves ch as it was. */
    json_object_foreach((json_t *)json_object_get(g->src, "tags"), name, v)
    {
        if (!json_object_get(tt, name)) {
            json_object_set(tt, name, v);
            g->tags_added++;
            *dirty = 1;
        }
    }
    if (nt < ns) {
        for (size_t i = nt; i < ns; i++)
            json_array_append(ht, json_array_get(hs, i));
        g->history_added = ns - nt;
        for (size_t c = 0; c < 2; c++) {
            const char *chan = c ? "candidate" : "stable";
            json_object_set(ch, chan, json_object_get(g->src, chan));
        }
        *dirty = 1;
    }
    return SW_STORE_OK;
}

/* The folder's channels of an agent (NULL with err), or an empty one when it never
   changed (*empty). */
static json_t *source_channels(migration *m, const char *agent, int *empty, sw_store_error *err)
{
    sw_err e = {{0}};
    json_t *src = sw_channels_load(m->from, agent, &e);
    if (!src) {
        sw_store_fail(err, SW_STORE_ERROR, "%s: %s", m->from_dir, e.msg);
        return NULL;
    }
    *empty = json_array_size(json_object_get(src, "history")) == 0 &&
             json_object_size(json_object_get(src, "tags")) == 0 &&
             !json_is_string(json_object_get(src, "stable")) &&
             !json_is_string(json_object_get(src, "candidate"));
    return src;
}

typedef sw_store_status (*channels_fn)(migration *m, const char *agent, const json_t *src,
                                       sw_store_error *err);

/* fn for every agent whose channels ever changed in the folder (src: its document). */
static sw_store_status each_channels(migration *m, channels_fn fn, sw_store_error *err)
{
    size_t i;
    json_t *agent;
    json_array_foreach(m->agents, i, agent)
    {
        const char *name = json_string_value(agent);
        int empty = 0;
        json_t *src = source_channels(m, name, &empty, err);
        if (!src)
            return SW_STORE_ERROR;
        sw_store_status st = empty ? SW_STORE_OK : fn(m, name, src, err);
        json_decref(src);
        if (st != SW_STORE_OK)
            return st;
    }
    return SW_STORE_OK;
}

/* The database's channels of the agent against the folder's, without writing: a conflict
   is an error; with must_hold, so is anything of the folder's they lack. */
static sw_store_status compare_channels(migration *m, const char *agent, const json_t *src,
                                        int must_hold, sw_store_error *err)
{
    sw_err e = {{0}};
    json_t *have = sw_channels_load(m->to, agent, &e);
    if (!have)
        return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    merge g = {m, agent, src, 0, 0, 0};
    int dirty = 0;
    sw_store_status st = merge_channels(m->to, have, &g, &dirty, err);
    if (st == SW_STORE_OK && must_hold && dirty)
        st = sw_store_fail(err, SW_STORE_ERROR,
                           "agent '%s': the channels in %s do not hold what was copied", agent,
                           sw_store_location(m->to));
    json_decref(have);
    return st;
}

/* Every agent's channels are checked before anything is written: a conflict copies
   nothing. The copy checks again under the agent's lock. */
static sw_store_status precheck_channels(migration *m, const char *agent, const json_t *src,
                                         sw_store_error *err)
{
    return compare_channels(m, agent, src, 0, err);
}

static sw_store_status copy_channels(migration *m, const char *agent, const json_t *src,
                                     sw_store_error *err)
{
    merge g = {m, agent, src, 0, 0, 0};
    sw_store_status st = m->to->backend->change_channels(m->to, agent, merge_channels, &g, err);
    if (st == SW_STORE_OK)
        st = compare_channels(m, agent, src, 1, err);
    if (st != SW_STORE_OK)
        return st;
    m->agents_with_channels++;
    m->history_copied += g.history_added;
    m->tags_copied += g.tags_added;
    if (g.ahead)
        json_array_append_new(m->notes,
                              json_sprintf("agent '%s': %s holds %zu channel change(s) past the "
                                           "folder's history; its channels were left as they are",
                                           agent, sw_store_location(m->to), g.ahead));
    return SW_STORE_OK;
}

/* ---- runs ---- */

static json_t *run_json(const char *dir, const char *name)
{
    char *path = sw_path_join(dir, name);
    json_t *j = json_load_file(path, 0, NULL);
    free(path);
    return j;
}

/* The run's row, as the runner writes it (run_db.c): from run.json and the checkpoint. */
static json_t *run_summary(migration *m, const char *dir)
{
    json_t *meta = run_json(dir, "run.json"), *ckpt = run_json(dir, "context.json");
    const char *pipeline = json_string_value(json_object_get(meta, "pipeline"));
    const char *started = json_string_value(json_object_get(meta, "created_at"));
    const char *name = json_string_value(json_object_get(ckpt, "name"));
    json_t *s =
        json_pack("{s:s, s:s, s:s, s:s}", "pipeline", pipeline ? pipeline : "", "name",
                  name ? name : "", "started_at", started ? started : "", "runner", m->owner);
    json_decref(meta);
    json_decref(ckpt);
    return s;
}

typedef struct readback {
    const json_t *want; /* name -> sha256 of the folder's files */
    json_t *seen;
    const char *run_id;
} readback;

static int check_file(void *ud, const char *name, const char *data, size_t len, sw_err *err)
{
    readback *r = ud;
    const char *want = json_string_value(json_object_get(r->want, name));
    if (!want)
        return 0; /* a file only the database has (an artifact written elsewhere) */
    char got[SW_SHA256_HEX_LEN + 1];
    sw_sha256_hex(data, len, got);
    if (strcmp(got, want) != 0)
        return sw_err_set(err, "run '%s': %s reads back with SHA-256 %s, not %s", r->run_id, name,
                          got, want);
    json_object_set_new(r->seen, name, json_true());
    return 0;
}

/* The database's record of the run holds the folder's files and journal lines. */
static int verify_run(migration *m, const char *run_id, const char *dir, const char *journal,
                      size_t jlen, sw_err *err)
{
    sw_run_file_set all = {0};
    if (sw_run_folder_collect(dir, NULL, &all, err) != 0) {
        sw_run_file_set_free(&all);
        return -1;
    }
    json_t *want = json_object();
    for (size_t i = 0; i < all.n; i++)
        json_object_set_new(want, all.files[i].name, json_string(all.sha[i]));
    sw_run_file_set_free(&all);
    readback r = {want, json_object(), run_id};
    int rc = sw_store_run_files(m->to, run_id, NULL, check_file, &r, err);
    const char *name;
    json_t *v;
    json_object_foreach(want, name, v)
    {
        if (rc == 0 && !json_object_get(r.seen, name))
            rc = sw_err_set(err, "run '%s': %s is not in the database after copying", run_id, name);
    }
    json_decref(want);
    json_decref(r.seen);
    size_t stored_len = 0;
    char *stored = rc == 0 ? sw_store_run_journal(m->to, run_id, &stored_len, err) : NULL;
    if (rc == 0 && !stored)
        rc = -1;
    if (rc == 0 && (stored_len < jlen || memcmp(stored, journal, jlen) != 0))
        rc = sw_err_set(err, "run '%s': the journal in the database is not the folder's", run_id);
    free(stored);
    return rc;
}

/* Copy one run folder's record into the database, unless it holds it already. */
static sw_store_status copy_run(migration *m, const char *run_id, const char *dir,
                                sw_store_error *err)
{
    sw_err e = {{0}};
    size_t jlen = 0;
    char *jpath = sw_path_join(dir, "journal.jsonl");
    char *journal = sw_file_exists(jpath) ? sw_read_file(jpath, 0, &jlen, &e) : sw_xstrdup("");
    free(jpath);
    if (!journal)
        return sw_store_fail(err, SW_STORE_ERROR, "%s: %s", dir, e.msg);
    /* Whole lines only, as the runner writes them through. */
    while (jlen && journal[jlen - 1] != '\n')
        jlen--;
    long long stored = 0;
    json_t *digests = json_object();
    sw_run_file_set fs = {0};
    int present = 0, ahead = 0, rc = 0;
    int exists = sw_store_run_exists(m->to, run_id, &stored, &e);
    if (exists < 0)
        rc = -1;
    else if (exists && stored > (long long)jlen)
        ahead = 1; /* resumed elsewhere from the database: it holds more than the folder */
    else if ((exists && sw_store_run_digests(m->to, run_id, digests, &e) != 0) ||
             sw_run_folder_collect(dir, digests, &fs, &e) != 0)
        rc = -1;
    else if (exists && fs.n == 0 && stored == (long long)jlen)
        present = 1;
    else {
        rc = sw_store_run_lease(m->to, run_id, m->owner, MIGRATE_LEASE_MS, &e);
        if (rc == 0) {
            json_t *summary = run_summary(m, dir);
            rc = sw_store_run_save(m->to, run_id, m->owner, MIGRATE_LEASE_MS, summary, fs.files,
                                   fs.n, journal, jlen, &e);
            json_decref(summary);
            sw_store_run_release(m->to, run_id, m->owner);
        }
    }
    sw_run_file_set_free(&fs);
    json_decref(digests);
    if (rc == 0 && ahead) {
        /* Only the journal can be compared: the files moved on with the run. */
        size_t slen = 0;
        char *s = sw_store_run_journal(m->to, run_id, &slen, &e);
        if (!s)
            rc = -1;
        else if (slen < jlen || memcmp(s, journal, jlen) != 0)
            rc =
                sw_err_set(&e, "run '%s' in the database has another journal than %s", run_id, dir);
        free(s);
    } else if (rc == 0)
        rc = verify_run(m, run_id, dir, journal, jlen, &e);
    free(journal);
    if (rc != 0)
        return sw_store_fail(err, SW_STORE_ERROR, "run '%s': %s", run_id, e.msg);
    if (ahead)
        json_array_append_new(m->notes,
                              json_sprintf("run '%s': %s holds more of it than the folder (it was "
                                           "resumed from the database); left as it is",
                                           run_id, sw_store_location(m->to)));
    if (present || ahead)
        m->runs_present++;
    else
        m->runs_copied++;
    return SW_STORE_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static sw_store_status copy_runs(migration *m, sw_store_error *err)
{
    char *runs = sw_path_join(m->from_dir, "runs");
    DIR *d = opendir(runs);
    if (!d) {
        free(runs);
        return SW_STORE_OK; /* no runs */
    }
    char **ids = NULL;
    size_t n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        char *dir = sw_path_join(runs, ent->d_name);
        char *ckpt = sw_path_join(dir, "run.json");
        /* A run folder has its run.json from its first write (runner.c). */
        if (ent->d_name[0] != '.' && sw_file_exists(ckpt)) {
            ids = sw_xrealloc(ids, (n + 1) * sizeof *ids);
            ids[n++] = sw_xstrdup(ent->d_name);
        }
        free(ckpt);
        free(dir);
    }
    closedir(d);
    qsort(ids, n, sizeof *ids, by_name);
    sw_store_status st = SW_STORE_OK;
    for (size_t i = 0; i < n; i++) {
        char *dir = sw_path_join(runs, ids[i]);
        if (st == SW_STORE_OK)
            st = copy_run(m, ids[i], dir, err);
        free(dir);
        free(ids[i]);
    }
    free(ids);
    free(runs);
    return st;
}

/* ---- the migration ---- */

static sw_store_status open_both(migration *m, const char *from_dir, const char *to,
                                 sw_store_error *err)
{
    if (!from_dir || !*from_dir || sw_store_location_is_url(from_dir))
        return sw_store_fail(err, SW_STORE_INVALID,
                             "store migrate: --from names the state folder to copy (a folder "
                             "holding releases/ and runs/), not a URL");
    if (!to || !sw_store_location_is_url(to))
        return sw_store_fail(err, SW_STORE_INVALID,
                             "store migrate: --to names the database to copy into: a "
                             "postgres:// URL");
    char *releases = sw_path_join(from_dir, "releases"), *runs = sw_path_join(from_dir, "runs");
    int state = sw_is_dir(releases) || sw_is_dir(runs);
    free(releases);
    free(runs);
    if (!state)
        return sw_store_fail(err, SW_STORE_INVALID,
                             "store migrate: '%s' is not a state folder (it has no releases/ "
                             "or runs/)",
                             from_dir);
    m->from = sw_store_open(from_dir, err);
    if (!m->from)
        return err ? err->status : SW_STORE_ERROR;
    m->to = sw_store_open(to, err);
    if (!m->to)
        return err ? err->status : SW_STORE_ERROR;
    return SW_STORE_OK;
}

static json_t *result_of(const migration *m)
{
    size_t copied = m->releases_copied + m->history_copied + m->tags_copied + m->runs_copied;
    return json_pack(
        "{s:s, s:s, s:b, s:{s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I}, s:O}", "from", m->from_dir,
        "to", sw_store_location(m->to), "copied_anything", copied > 0, "releases", "copied",
        (json_int_t)m->releases_copied, "present", (json_int_t)m->releases_present, "channels",
        "agents", (json_int_t)m->agents_with_channels, "history_copied",
        (json_int_t)m->history_copied, "tags_copied", (json_int_t)m->tags_copied, "runs", "copied",
        (json_int_t)m->runs_copied, "present", (json_int_t)m->runs_present, "notes", m->notes);
}

sw_store_status sw_store_migrate(const char *from_dir, const char *to, char **result,
                                 sw_store_error *err)
{
    if (result)
        *result = NULL;
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    migration m = {.from_dir = from_dir,
                   .owner = sw_xasprintf("%s pid %ld (store migrate)", host, (long)getpid()),
                   .agents = json_array(),
                   .notes = json_array()};
    sw_err e = {{0}};
    sw_store_status st = open_both(&m, from_dir, to, err);
    if (st == SW_STORE_OK && m.from->backend->agents(m.from, m.agents, &e) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR, "%s: %s", from_dir, e.msg);
    if (st == SW_STORE_OK)
        st = each_release(&m, verify_source, err);
    if (st == SW_STORE_OK)
        st = each_channels(&m, precheck_channels, err);
    if (st == SW_STORE_OK)
        st = each_release(&m, copy_release, err);
    if (st == SW_STORE_OK)
        st = each_channels(&m, copy_channels, err);
    if (st == SW_STORE_OK)
        st = copy_runs(&m, err);
    if (st == SW_STORE_OK && result) {
        json_t *j = result_of(&m);
        *result = sw_json_text(j);
        json_decref(j);
    }
    sw_store_close(m.from);
    sw_store_close(m.to);
    json_decref(m.agents);
    json_decref(m.notes);
    free(m.owner);
    return st;
}
