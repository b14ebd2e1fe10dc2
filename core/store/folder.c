/* folder.c - the release store's folder backend: releases as folders renamed into place,
   channels.json replaced atomically, writers of an agent excluded by a flock. */
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
#include "store_impl.h"

#define TMP_PREFIX ".tmp-"

int sw_folder_open(sw_store *s, sw_store_error *err)
{
    const char *state_dir = s->location;
    if (sw_file_exists(state_dir) && !sw_is_dir(state_dir)) {
        sw_store_fail(err, SW_STORE_ERROR, "release store: '%s' is not a folder", state_dir);
        return -1;
    }
    s->state_dir = sw_xstrdup(state_dir);
    s->root = sw_path_join(state_dir, "releases");
    s->backend = &sw_folder_backend;
    return 0;
}

static void folder_close(sw_store *s)
{
    (void)s;
}

char *sw_store_agent_dir(const sw_store *s, const char *agent)
{
    return sw_path_join(s->root, agent);
}

char *sw_store_id_dir(const sw_store *s, const char *agent, const char *id)
{
    return sw_xasprintf("%s/%s/%s", s->root, agent, id);
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
            sw_store_locked_error(err, agent, waited, path);
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

/* ---- releases ---- */

static json_t *folder_load_manifest(sw_store *s, const char *agent, const char *id, int *missing,
                                    sw_err *err)
{
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
    json_t *m = sw_manifest_parse(text, len, path, err);
    free(text);
    free(path);
    return m;
}

static char *folder_load_file(sw_store *s, const char *agent, const char *id, const char *path,
                              size_t *len, sw_err *err)
{
    char *dir = sw_store_id_dir(s, agent, id);
    char *full = sw_path_join(dir, path);
    char *data = sw_read_file(full, 0, len, err);
    free(full);
    free(dir);
    return data;
}

static char *folder_release_dir(sw_store *s, const char *agent, const char *id, int *missing,
                                sw_err *err)
{
    char *p = sw_store_id_dir(s, agent, id);
    if (!sw_is_dir(p)) {
        *missing = 1;
        sw_err_set(err, "no release %s of agent '%s'", id, agent);
        free(p);
        return NULL;
    }
    return p;
}

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
        int missing = 0;
        json_t *old = folder_load_manifest(s, agent, id, &missing, err);
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

static int folder_put(sw_store *s, const sw_bundle *b, const char *agent, const char *id,
                      const char *manifest_text, const char *digest, int *existed, sw_err *err)
{
    /* A new agent folder must itself survive a crash once a release is in it. */
    int fresh = !sw_is_dir(s->root);
    int fd = sw_store_lock(s, agent, err);
    if (fd < 0)
        return -1;
    int rc = 0;
    if (fresh)
        rc = sw_fsync_dir(s->state_dir, err);
    if (rc == 0)
        rc = sw_fsync_dir(s->root, err);
    if (rc == 0)
        rc = put_locked(s, agent, id, b, manifest_text, digest, existed, err);
    sw_store_unlock(fd);
    return rc;
}

/* ---- listing ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of a folder that satisfy keep(), sorted, appended to out. */
static void list_dir(const char *path, int (*keep)(const char *dir, const char *name), json_t *out)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!keep(path, e->d_name))
            continue;
        names = sw_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = sw_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(out, json_string(names[i]));
        free(names[i]);
    }
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

static int folder_agents(sw_store *s, json_t *names, sw_err *err)
{
    (void)err;
    list_dir(s->root, keep_agent, names);
    return 0;
}

static int folder_release_ids(sw_store *s, const char *agent, json_t *ids, sw_err *err)
{
    (void)err;
    char *dir = sw_store_agent_dir(s, agent);
    list_dir(dir, keep_release, ids);
    free(dir);
    return 0;
}

/* ---- channels ---- */

static char *channels_path(sw_store *s, const char *agent)
{
    char *dir = sw_store_agent_dir(s, agent);
    char *p = sw_path_join(dir, "channels.json");
    free(dir);
    return p;
}

static json_t *folder_load_channels(sw_store *s, const char *agent, sw_err *err)
{
    char *path = channels_path(s, agent);
    size_t len;
    sw_err e = {{0}};
    char *text = sw_read_file(path, 0, &len, &e);
    if (!text) {
        int absent = errno == ENOENT;
        if (!absent)
            sw_err_set(err, "%s", e.msg);
        free(path);
        return absent ? sw_channels_empty(agent) : NULL;
    }
    json_error_t je;
    json_t *ch = json_loadb(text, len, 0, &je);
    free(text);
    if (!sw_channels_valid(ch)) {
        sw_err_set(err, "%s: damaged channels file%s%s", path, ch ? "" : ": ", ch ? "" : je.text);
        json_decref(ch);
        free(path);
        return NULL;
    }
    free(path);
    return ch;
}

static int channels_save(sw_store *s, const char *agent, const json_t *ch, sw_err *err)
{
    char *path = channels_path(s, agent);
    char *text = json_dumps(ch, JSON_INDENT(2));
    sw_buf b = {0};
    sw_buf_puts(&b, text);
    sw_buf_puts(&b, "\n");
    free(text);
    int rc = sw_write_file_atomic(path, b.data, b.len, err);
    sw_buf_free(&b);
    free(path);
    return rc;
}

static sw_store_status folder_change_channels(sw_store *s, const char *agent, sw_channel_fn fn,
                                              void *ud, sw_store_error *err)
{
    sw_err e = {{0}};
    int fd = sw_store_lock(s, agent, &e);
    if (fd < 0)
        return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    sw_store_status st;
    json_t *ch = folder_load_channels(s, agent, &e);
    if (!ch)
        st = sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    else {
        int dirty = 0;
        st = fn(s, ch, ud, &dirty, err);
        if (st == SW_STORE_OK && dirty && channels_save(s, agent, ch, &e) != 0)
            st = sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    }
    json_decref(ch);
    sw_store_unlock(fd);
    return st;
}

const sw_store_backend sw_folder_backend = {
    .name = "folder",
    .close = folder_close,
    .agents = folder_agents,
    .release_ids = folder_release_ids,
    .load_manifest = folder_load_manifest,
    .load_file = folder_load_file,
    .put = folder_put,
    .release_dir = folder_release_dir,
    .load_channels = folder_load_channels,
    .change_channels = folder_change_channels,
};
