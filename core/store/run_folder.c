/* run_folder.c - the files of a run folder as the database store keeps them (run_db.h):
   every regular file but the journal, each up to the size cap unless the run cannot be
   shown or resumed without it. Shared by the runner's write-through and `store migrate`. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"
#include "run_db.h"
#include "sha256.h"

#define DEFAULT_FILE_CAP (4L << 20)

long sw_run_file_cap(void)
{
    const char *v = getenv("SLIPWAY_RUN_FILE_CAP");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? n : DEFAULT_FILE_CAP;
}

/* The files the run cannot be resumed or shown without: never capped. */
static int essential(const char *name)
{
    static const char *const names[] = {"pipeline.yaml", "run.json", "context.json", "report.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static void add_file(sw_run_file_set *fs, char *name, char *data, size_t len, const char *sha)
{
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? 2 * fs->cap : 16;
        fs->files = sw_xrealloc(fs->files, fs->cap * sizeof *fs->files);
        fs->owned = sw_xrealloc(fs->owned, 2 * fs->cap * sizeof *fs->owned);
        fs->sha = sw_xrealloc(fs->sha, fs->cap * sizeof *fs->sha);
    }
    size_t i = fs->n++;
    memcpy(fs->sha[i], sha, SW_SHA256_HEX_LEN + 1);
    fs->owned[2 * i] = name;
    fs->owned[2 * i + 1] = data;
    fs->files[i] = (sw_run_file){name, fs->sha[i], data, len};
}

static int collect(const char *dir, const char *rel, const json_t *sent, long cap,
                   sw_run_file_set *fs, sw_err *err)
{
    char *path = *rel ? sw_path_join(dir, rel) : sw_xstrdup(dir);
    DIR *d = opendir(path);
    if (!d) {
        sw_err_errno(err, "run folder '%s'", path);
        free(path);
        return -1;
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || (!*rel && strcmp(ent->d_name, "journal.jsonl") == 0))
            continue;
        char *name = *rel ? sw_path_join(rel, ent->d_name) : sw_xstrdup(ent->d_name);
        char *full = sw_path_join(dir, name);
        struct stat st;
        if (lstat(full, &st) != 0) {
            free(name);
            free(full);
            continue; /* removed meanwhile */
        }
        if (S_ISDIR(st.st_mode)) {
            rc = collect(dir, name, sent, cap, fs, err);
        } else if (S_ISREG(st.st_mode) && (essential(name) || st.st_size <= cap) &&
                   fs->n < SW_RUN_MAX_FILES) {
            size_t len = 0;
            char *data = sw_read_file(full, 0, &len, err);
            if (!data) {
                rc = -1;
            } else {
                char sha[SW_SHA256_HEX_LEN + 1];
                sw_sha256_hex(data, len, sha);
                const char *was = json_string_value(json_object_get(sent, name));
                if (was && strcmp(was, sha) == 0) {
                    free(data);
                } else {
                    add_file(fs, name, data, len, sha);
                    name = NULL; /* the set owns it */
                }
            }
        }
        free(full);
        free(name);
    }
    closedir(d);
    free(path);
    return rc;
}

int sw_run_folder_collect(const char *dir, const json_t *sent, sw_run_file_set *fs, sw_err *err)
{
    return collect(dir, "", sent, sw_run_file_cap(), fs, err);
}

void sw_run_file_set_free(sw_run_file_set *fs)
{
    for (size_t i = 0; i < 2 * fs->n; i++)
        free(fs->owned[i]);
    free(fs->owned);
    free(fs->files);
    free(fs->sha);
    memset(fs, 0, sizeof *fs);
}
