/* store.c - the release store's folders: opening, locking, writing and reading releases. */
#include "store_impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "canon.h"

#define TMP_PREFIX              ".tmp-"
#define DEFAULT_LOCK_TIMEOUT_MS 30000

/* The keys of the release record: everything else is content, hashed into the id. */
static const char *const record_keys[] = {"id", "digest", "created_at", "created_by", "run_id"};

sw_store_status sw_store_fail(sw_store_error *err, sw_store_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

sw_store *sw_store_open(const char *state_dir, sw_store_error *err)
{
    if (!state_dir || !*state_dir) {
        sw_store_fail(err, SW_STORE_INVALID, "release store: no state folder given");
        return NULL;
    }
    if (sw_file_exists(state_dir) && !sw_is_dir(state_dir)) {
        sw_store_fail(err, SW_STORE_ERROR, "release store: '%s' is not a folder", state_dir);
        return NULL;
    }
    sw_store *s = sw_xcalloc(1, sizeof *s);
    s->state_dir = sw_xstrdup(state_dir);
    s->root = sw_path_join(state_dir, "releases");
    s->lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS;
    return s;
}

void sw_store_close(sw_store *s)
{
    if (!s)
        return;
    free(s->root);
    free(s->state_dir);
    free(s);
}

const char *sw_store_dir(const sw_store *s)
{
    return s->root;
}

void sw_store_set_lock_timeout(sw_store *s, long ms)
{
    s->lock_timeout_ms = ms;
}

int sw_release_id_valid(const char *id)
{
    if (!id || strlen(id) != SW_RELEASE_ID_LEN)
        return 0;
    for (const char *p = id; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return 0;
    return 1;
}

char *sw_store_agent_dir(const sw_store *s, const char *agent)
{
    return sw_path_join(s->root, agent);
}

char *sw_store_id_dir(const sw_store *s, const char *agent, const char *id)
{
    return sw_xasprintf("%s/%s/%s", s->root, agent, id);
}

const char *sw_change_user(const sw_change_info *info)
{
    if (info && info->by && *info->by)
        return info->by;
    const char *u = getenv("SLIPWAY_USER");
    if (u && *u)
        return u;
    u = getenv("USER");
    return u && *u ? u : "unknown";
}

/* ---- locking ---- */

int sw_store_lock(sw_store *s, const char *agent, sw_err *err)
{
    char *dir = sw_store_agent_dir(s, agent);
    if (sw_mkdir_p(dir, 0755, err) != 0) {
        free(dir);
        return -1;
    }
    char *path = sw_path_join(dir, ".lock");
    free(dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sw_err_errno(err, "%s", path);
        free(path);
        return -1;
    }
    /* Poll rather than block, so a stuck writer yields an error, not a hang.
       The kernel drops a flock when its holder dies, kill -9 included. */
    struct timespec pause = {0, 10 * 1000 * 1000};
    long waited = 0;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            sw_err_errno(err, "lock %s", path);
            close(fd);
            free(path);
            return -1;
        }
        if (waited >= s->lock_timeout_ms) {
            sw_err_set(err, "releases of '%s' are locked by another writer (waited %ld ms for %s)",
                       agent, waited, path);
            close(fd);
            free(path);
            return -1;
        }
        nanosleep(&pause, NULL);
        waited += 10;
    }
    free(path);
    return fd;
}

void sw_store_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* ---- manifests ---- */

int sw_manifest_digest(const json_t *manifest, char digest[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    json_t *content = json_copy((json_t *)manifest);
    for (size_t i = 0; i < sizeof record_keys / sizeof record_keys[0]; i++)
        json_object_del(content, record_keys[i]);
    char *text = sw_canon_json(content, err);
    json_decref(content);
    if (!text)
        return -1;
    sw_sha256_hex(text, strlen(text), digest);
    free(text);
    return 0;
}

json_t *sw_store_load_manifest(sw_store *s, const char *agent, const char *id, int *missing,
                               sw_err *err)
{
    if (missing)
        *missing = 0;
    char *dir = sw_store_id_dir(s, agent, id);
    char *path = sw_path_join(dir, "manifest.json");
    free(dir);
    size_t len;
    char *text = sw_read_file(path, 0, &len, err);
    if (!text) {
        if (missing && errno == ENOENT)
            *missing = 1;
        free(path);
        return NULL;
    }
    json_error_t je;
    json_t *m = json_loadb(text, len, 0, &je);
    free(text);
    if (!json_is_object(m)) {
        sw_err_set(err, "%s:%d: not a manifest: %s", path, je.line, m ? "not an object" : je.text);
        json_decref(m);
        free(path);
        return NULL;
    }
    free(path);
    return m;
}

/* ---- writing ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int rm_rf(const char *path)
{
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Temporary folders left by writers that died. Only called with the lock held, so
   none of them belongs to a live writer. */
static void remove_strays(const char *agent_dir)
{
    DIR *d = opendir(agent_dir);
    if (!d)
        return;
    struct dirent *e;
    char **doomed = NULL;
    size_t n = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 || strstr(e->d_name, ".tmp.")) {
            doomed = sw_xrealloc(doomed, (n + 1) * sizeof *doomed);
            doomed[n++] = sw_path_join(agent_dir, e->d_name);
        }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (lstat(doomed[i], &st) == 0)
            S_ISDIR(st.st_mode) ? rm_rf(doomed[i]) : unlink(doomed[i]);
        free(doomed[i]);
    }
    free(doomed);
}

static int write_member(const char *tmp, const sw_bundle_file *f, sw_err *err)
{
    char *path = sw_path_join(tmp, f->path);
    char *parent = sw_path_dirname(path);
    int rc = sw_mkdir_p(parent, 0755, err);
    if (rc == 0)
        rc = sw_write_file_atomic(path, f->data, f->len, err);
    free(parent);
    free(path);
    return rc;
}

/* The folders a release's files live in, fsynced so the rename publishes whole folders. */
static int fsync_tree(const char *tmp, const sw_bundle *b, sw_err *err)
{
    for (size_t i = 0; i < b->n_files; i++) {
        char *path = sw_path_join(tmp, b->files[i].path);
        char *parent = sw_path_dirname(path);
        int rc = sw_fsync_dir(parent, err);
        free(parent);
        free(path);
        if (rc != 0)
            return -1;
    }
    return sw_fsync_dir(tmp, err);
}

static int put_locked(sw_store *s, const char *agent, const char *id, const sw_bundle *b,
                      const char *manifest_text, const char *digest, int *existed, sw_err *err)
{
    char *agent_dir = sw_store_agent_dir(s, agent);
    char *final = sw_path_join(agent_dir, id);
    char *tmp = NULL;
    int rc = -1;
    remove_strays(agent_dir);
    if (sw_is_dir(final)) {
        int missing;
        json_t *old = sw_store_load_manifest(s, agent, id, &missing, err);
        const char *old_digest = json_string_value(json_object_get(old, "digest"));
        if (old && old_digest && strcmp(old_digest, digest) == 0) {
            *existed = 1;
            rc = 0;
        } else if (old)
            sw_err_set(err,
                       "release id %s of '%s' is taken by other content (digest %s, new %s): "
                       "an id collision",
                       id, agent, old_digest ? old_digest : "(none)", digest);
        json_decref(old);
        goto out;
    }
    tmp = sw_xasprintf("%s/" TMP_PREFIX "%s-XXXXXX", agent_dir, id);
    if (!mkdtemp(tmp)) {
        sw_err_errno(err, "create %s", tmp);
        goto out;
    }
    chmod(tmp, 0755);
    for (size_t i = 0; i < b->n_files; i++)
        if (write_member(tmp, &b->files[i], err) != 0)
            goto out;
    /* The manifest goes last: a folder holding one has everything it lists. */
    char *mpath = sw_path_join(tmp, "manifest.json");
    rc = sw_write_file_atomic(mpath, manifest_text, strlen(manifest_text), err);
    free(mpath);
    if (rc != 0 || (rc = fsync_tree(tmp, b, err)) != 0)
        goto out;
    rc = -1;
    if (rename(tmp, final) != 0) {
        sw_err_errno(err, "rename %s to %s", tmp, final);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    rc = sw_fsync_dir(agent_dir, err);
    *existed = 0;
out:
    if (tmp) {
        rm_rf(tmp);
        free(tmp);
    }
    free(final);
    free(agent_dir);
    return rc;
}

int sw_store_put(sw_store *s, const sw_bundle *b, const json_t *manifest, int *existed, sw_err *err)
{
    const char *agent = json_string_value(json_object_get(manifest, "agent"));
    const char *id = json_string_value(json_object_get(manifest, "id"));
    const char *digest = json_string_value(json_object_get(manifest, "digest"));
    if (!agent || !sw_agent_name_valid(agent) || !sw_release_id_valid(id) || !digest)
        return sw_err_set(err, "release store: the manifest lacks a valid agent, id or digest");
    char *text = sw_canon_json(manifest, err);
    if (!text)
        return -1;
    sw_buf full = {0};
    sw_buf_puts(&full, text);
    sw_buf_puts(&full, "\n");
    free(text);

    /* A new agent folder must itself survive a crash once a release is in it. */
    int fresh = !sw_is_dir(s->root);
    int fd = sw_store_lock(s, agent, err);
    if (fd < 0) {
        sw_buf_free(&full);
        return -1;
    }
    int rc = 0;
    if (fresh)
        rc = sw_fsync_dir(s->state_dir, err);
    if (rc == 0)
        rc = sw_fsync_dir(s->root, err);
    if (rc == 0)
        rc = put_locked(s, agent, id, b, full.data, digest, existed, err);
    sw_store_unlock(fd);
    sw_buf_free(&full);
    return rc;
}

/* ---- reading ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Entries of a folder that satisfy keep(), sorted; NULL-terminated. */
static char **list_dir(const char *path, int (*keep)(const char *dir, const char *name), size_t *n)
{
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return NULL;
    char **names = sw_xmalloc(sizeof *names);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!keep(path, e->d_name))
            continue;
        names = sw_xrealloc(names, (*n + 2) * sizeof *names);
        names[(*n)++] = sw_xstrdup(e->d_name);
    }
    closedir(d);
    names[*n] = NULL;
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names)
{
    for (size_t i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
}

static int keep_agent(const char *dir, const char *name)
{
    if (!sw_agent_name_valid(name))
        return 0;
    char *p = sw_path_join(dir, name);
    int ok = sw_is_dir(p);
    free(p);
    return ok;
}

static int keep_release(const char *dir, const char *name)
{
    if (!sw_release_id_valid(name))
        return 0;
    char *p = sw_path_join(dir, name);
    int ok = sw_is_dir(p);
    free(p);
    return ok;
}

sw_store_status sw_store_agents(sw_store *s, char **json, sw_store_error *err)
{
    size_t n;
    char **names = list_dir(s->root, keep_agent, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    free_list(names);
    *json = sw_json_text(arr);
    json_decref(arr);
    return SW_STORE_OK;
}

static sw_store_status check_agent(const char *agent, sw_store_error *err)
{
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    return SW_STORE_OK;
}

static int cmp_summary(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *ca = json_string_value(json_object_get(x, "created_at"));
    const char *cb = json_string_value(json_object_get(y, "created_at"));
    int c = strcmp(ca ? ca : "", cb ? cb : "");
    if (c)
        return c;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

/* The names pointing at id in channels.json: channels in one array, tags in another. */
static void names_for(const json_t *ch, const char *id, json_t *channels, json_t *tags)
{
    static const char *const chans[] = {"stable", "candidate"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(ch, chans[i]));
        if (v && strcmp(v, id) == 0)
            json_array_append_new(channels, json_string(chans[i]));
    }
    const char *tag;
    json_t *v;
    json_object_foreach(json_object_get(ch, "tags"), tag, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            json_array_append_new(tags, json_string(tag));
    }
}

sw_store_status sw_store_releases(sw_store *s, const char *agent, char **json, sw_store_error *err)
{
    *json = NULL;
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    char *dir = sw_store_agent_dir(s, agent);
    size_t n;
    char **ids = list_dir(dir, keep_release, &n);
    free(dir);
    if (!ids || n == 0) {
        free_list(ids);
        return sw_store_fail(err, SW_STORE_NOT_FOUND, "no releases of agent '%s' in %s", agent,
                             s->root);
    }
    sw_err e = {{0}};
    json_t *ch = sw_channels_load(s, agent, &e);
    json_t **rows = sw_xmalloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        json_t *m = sw_store_load_manifest(s, agent, ids[i], NULL, &e);
        json_t *row;
        if (!m) {
            /* Listed rather than hidden, so a damaged store is noticed. */
            row = json_pack("{s:s, s:s, s:s}", "id", ids[i], "agent", agent, "damaged", e.msg);
        } else {
            json_t *model = json_object_get(m, "model");
            row = json_pack("{s:s, s:s, s:s?, s:O?, s:O?, s:O?, s:O?}", "id", ids[i], "agent",
                            agent, "model", json_string_value(json_object_get(model, "name")),
                            "created_at", json_object_get(m, "created_at"), "created_by",
                            json_object_get(m, "created_by"), "run_id",
                            json_object_get(m, "run_id"), "source", json_object_get(m, "source"));
        }
        json_t *channels = json_array(), *tags = json_array();
        names_for(ch, ids[i], channels, tags);
        json_object_set_new(row, "channels", channels);
        json_object_set_new(row, "tags", tags);
        rows[i] = row;
        json_decref(m);
    }
    qsort(rows, n, sizeof *rows, cmp_summary);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, rows[i]);
    free(rows);
    free_list(ids);
    json_decref(ch);
    *json = sw_json_text(arr);
    json_decref(arr);
    return SW_STORE_OK;
}

sw_store_status sw_store_manifest(sw_store *s, const char *agent, const char *id, char **json,
                                  sw_store_error *err)
{
    *json = NULL;
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    sw_err e = {{0}};
    int missing;
    json_t *m = sw_store_load_manifest(s, agent, id, &missing, &e);
    if (!m)
        return sw_store_fail(err, missing ? SW_STORE_NOT_FOUND : SW_STORE_ERROR, "%s",
                             missing ? "no such release" : e.msg);
    *json = sw_json_text(m);
    json_decref(m);
    return SW_STORE_OK;
}

sw_store_status sw_store_release_dir(sw_store *s, const char *agent, const char *id, char **path,
                                     sw_store_error *err)
{
    *path = NULL;
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    char *p = sw_store_id_dir(s, agent, id);
    if (!sw_is_dir(p)) {
        free(p);
        return sw_store_fail(err, SW_STORE_NOT_FOUND, "no release %s of agent '%s'", id, agent);
    }
    *path = p;
    return SW_STORE_OK;
}

sw_store_status sw_store_verify(sw_store *s, const char *agent, const char *id, sw_store_error *err)
{
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    sw_err e = {{0}};
    int missing;
    json_t *m = sw_store_load_manifest(s, agent, id, &missing, &e);
    if (!m)
        return sw_store_fail(err, missing ? SW_STORE_NOT_FOUND : SW_STORE_ERROR, "%s", e.msg);
    sw_store_status st = SW_STORE_OK;
    char digest[SW_SHA256_HEX_LEN + 1];
    const char *want = json_string_value(json_object_get(m, "digest"));
    if (sw_manifest_digest(m, digest, &e) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s", id, e.msg);
    else if (!want || strcmp(want, digest) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR,
                           "release %s: manifest content does not match its digest", id);
    else if (strncmp(digest, id, SW_RELEASE_ID_LEN) != 0 ||
             !json_is_string(json_object_get(m, "id")) ||
             strcmp(json_string_value(json_object_get(m, "id")), id) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR, "release %s: the manifest hashes to %.*s", id,
                           SW_RELEASE_ID_LEN, digest);
    char *dir = sw_store_id_dir(s, agent, id);
    const char *path;
    json_t *f;
    json_object_foreach(json_object_get(m, "files"), path, f)
    {
        if (st != SW_STORE_OK)
            break;
        char *full = sw_path_join(dir, path);
        size_t len;
        char *data = sw_read_file(full, 0, &len, &e);
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        char got[SW_SHA256_HEX_LEN + 1];
        if (!data)
            st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s", id, e.msg);
        else {
            sw_sha256_hex(data, len, got);
            if (!sha || strcmp(sha, got) != 0)
                st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s has SHA-256 %s, not %s", id,
                                   path, got, sha ? sha : "(none)");
        }
        free(data);
        free(full);
    }
    free(dir);
    json_decref(m);
    return st;
}

/* ---- references ---- */

static int is_hex(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return 0;
    return 1;
}

/* Ids of one agent starting with prefix, appended as "agent\tid" strings to out. */
static void match_prefix(sw_store *s, const char *agent, const char *prefix, json_t *out)
{
    char *dir = sw_store_agent_dir(s, agent);
    size_t n;
    char **ids = list_dir(dir, keep_release, &n);
    free(dir);
    for (size_t i = 0; i < n; i++)
        if (strncmp(ids[i], prefix, strlen(prefix)) == 0)
            json_array_append_new(out, json_pack("[s,s]", agent, ids[i]));
    free_list(ids);
}

static sw_store_status pick(json_t *matches, const char *ref, char **agent_out, char **id_out,
                            sw_store_error *err)
{
    size_t n = json_array_size(matches);
    if (n == 0)
        return sw_store_fail(err, SW_STORE_NOT_FOUND, "no release matches '%s'", ref);
    if (n > 1) {
        sw_buf b = {0};
        for (size_t i = 0; i < n && i < 5; i++) {
            json_t *m = json_array_get(matches, i);
            sw_buf_printf(&b, "%s%s:%s", i ? ", " : "", json_string_value(json_array_get(m, 0)),
                          json_string_value(json_array_get(m, 1)));
        }
        sw_store_status st =
            sw_store_fail(err, SW_STORE_INVALID, "'%s' is ambiguous: it matches %s%s", ref, b.data,
                          n > 5 ? ", ..." : "");
        sw_buf_free(&b);
        return st;
    }
    json_t *m = json_array_get(matches, 0);
    *agent_out = sw_xstrdup(json_string_value(json_array_get(m, 0)));
    *id_out = sw_xstrdup(json_string_value(json_array_get(m, 1)));
    return SW_STORE_OK;
}

/* NAME within one agent: a channel, a tag, or an id prefix. */
static void resolve_in(sw_store *s, const char *agent, const char *name, json_t *matches)
{
    if (strcmp(name, "stable") == 0 || strcmp(name, "candidate") == 0) {
        sw_err e = {{0}};
        json_t *ch = sw_channels_load(s, agent, &e);
        const char *id = json_string_value(json_object_get(ch, name));
        if (id)
            json_array_append_new(matches, json_pack("[s,s]", agent, id));
        json_decref(ch);
        return;
    }
    sw_err e = {{0}};
    json_t *ch = sw_channels_load(s, agent, &e);
    const char *tagged = json_string_value(json_object_get(json_object_get(ch, "tags"), name));
    if (tagged)
        json_array_append_new(matches, json_pack("[s,s]", agent, tagged));
    json_decref(ch);
    if (!tagged && is_hex(name) && strlen(name) >= 4)
        match_prefix(s, agent, name, matches);
}

sw_store_status sw_store_resolve(sw_store *s, const char *agent, const char *ref, char **agent_out,
                                 char **id_out, sw_store_error *err)
{
    *agent_out = *id_out = NULL;
    if (!ref || !*ref)
        return sw_store_fail(err, SW_STORE_INVALID, "empty release reference");
    json_t *matches = json_array();
    const char *colon = strchr(ref, ':');
    if (colon) {
        char *a = sw_xstrndup(ref, (size_t)(colon - ref));
        if (!sw_agent_name_valid(a)) {
            free(a);
            json_decref(matches);
            return sw_store_fail(err, SW_STORE_INVALID, "'%s': '%.*s' is not an agent name", ref,
                                 (int)(colon - ref), ref);
        }
        resolve_in(s, a, colon + 1, matches);
        free(a);
    } else if (agent) {
        if (check_agent(agent, err) != SW_STORE_OK) {
            json_decref(matches);
            return SW_STORE_INVALID;
        }
        resolve_in(s, agent, ref, matches);
    } else {
        if (is_hex(ref) && strlen(ref) < 4) {
            json_decref(matches);
            return sw_store_fail(err, SW_STORE_INVALID,
                                 "'%s': give at least 4 digits of a release id", ref);
        }
        size_t n;
        char **agents = list_dir(s->root, keep_agent, &n);
        for (size_t i = 0; i < n; i++)
            resolve_in(s, agents[i], ref, matches);
        free_list(agents);
    }
    sw_store_status st = pick(matches, ref, agent_out, id_out, err);
    json_decref(matches);
    return st;
}
