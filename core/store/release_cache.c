/* release_cache.c - releases' files in a local content-addressed folder (release_cache.h). */
#include "release_cache.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "sha256.h"

char *sw_release_cache_default(sw_err *err)
{
    const char *own = getenv("SLIPWAY_STORE_CACHE");
    if (own && *own)
        return sw_xstrdup(own);
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg)
        return sw_path_join(xdg, "slipway/releases");
    const char *home = getenv("HOME");
    if (home && *home)
        return sw_path_join(home, ".cache/slipway/releases");
    sw_err_set(err, "no folder for the release cache: set SLIPWAY_STORE_CACHE (or HOME)");
    return NULL;
}

char *sw_release_cache_lookup(const char *cache, const char *digest)
{
    char *dir = sw_path_join(cache, digest);
    char *manifest = sw_path_join(dir, "manifest.json");
    int whole = sw_file_exists(manifest);
    free(manifest);
    if (whole)
        return dir;
    free(dir);
    return NULL;
}

/* A relative path that stays inside its folder: no leading '/', no "." or ".." part. */
static int path_safe(const char *path)
{
    if (!*path || path[0] == '/')
        return 0;
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/')
            p++;
    }
    return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int write_entry(const char *tmp, const char *manifest_text, const sw_cache_file *files,
                       size_t n, sw_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const sw_cache_file *f = &files[i];
        char got[SW_SHA256_HEX_LEN + 1];
        sw_sha256_hex(f->data, f->len, got);
        if (!path_safe(f->path))
            return sw_err_set(err, "release file '%s' leaves its folder", f->path);
        if (!f->sha256 || strcmp(got, f->sha256) != 0)
            return sw_err_set(err, "release file %s has SHA-256 %s, not %s", f->path, got,
                              f->sha256 ? f->sha256 : "(none)");
        char *path = sw_path_join(tmp, f->path);
        char *parent = sw_path_dirname(path);
        int rc = sw_mkdir_p(parent, 0755, err);
        if (rc == 0)
            rc = sw_write_file_atomic(path, f->data, f->len, err);
        free(parent);
        free(path);
        if (rc != 0)
            return -1;
    }
    /* The manifest goes last: lookup takes a folder holding one as whole. */
    char *mpath = sw_path_join(tmp, "manifest.json");
    int rc = sw_write_file_atomic(mpath, manifest_text, strlen(manifest_text), err);
    free(mpath);
    return rc;
}

char *sw_release_cache_fill(const char *cache, const char *digest, const char *manifest_text,
                            const sw_cache_file *files, size_t n_files, sw_err *err)
{
    char *final = sw_release_cache_lookup(cache, digest);
    if (final)
        return final;
    if (sw_mkdir_p(cache, 0755, err) != 0)
        return NULL;
    char *tmp = sw_xasprintf("%s/.tmp-%s-XXXXXX", cache, digest);
    if (!mkdtemp(tmp)) {
        sw_err_errno(err, "create %s", tmp);
        free(tmp);
        return NULL;
    }
    chmod(tmp, 0755);
    final = sw_path_join(cache, digest);
    int rc = write_entry(tmp, manifest_text, files, n_files, err);
    if (rc == 0 && rename(tmp, final) != 0) {
        /* Another process filled the same entry first: its folder is as good as ours. */
        if ((errno == EEXIST || errno == ENOTEMPTY) && sw_is_dir(final))
            rc = 1;
        else
            rc = sw_err_errno(err, "rename %s to %s", tmp, final);
    }
    if (rc != 0)
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
    if (rc < 0) {
        free(final);
        return NULL;
    }
    return final;
}
