/*
 * fuzz_util.h - helpers the libFuzzer targets share: a NUL-terminated copy of
 * the input, splitting it in two at a separator, and a scratch folder that
 * lives as long as the fuzzing process (created on first use, removed at exit).
 *
 * Static inline: each target is one translation unit and uses some of them.
 */
#ifndef SW_FUZZ_UTIL_H
#define SW_FUZZ_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are skipped: the parsers have their own caps far above
   what a fuzzer explores usefully, and huge inputs only slow the search. */
#define FZ_MAX_INPUT (256u * 1024u)

/* The input as a C string (inputs with a NUL are cut there by C-string APIs). */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = sw_xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Split at the first occurrence of sep: a gets what is before, b what is after
   (b is empty when sep is absent). Both are malloc'd and NUL-terminated. */
static inline void fz_split(const uint8_t *data, size_t size, const char *sep, char **a,
                            size_t *alen, char **b, size_t *blen)
{
    size_t n = strlen(sep);
    size_t at = size;
    for (size_t i = 0; n <= size && i + n <= size; i++) {
        if (memcmp(data + i, sep, n) == 0) {
            at = i;
            break;
        }
    }
    *alen = at;
    *a = fz_cstr(data, at);
    size_t rest = at + n <= size ? at + n : size;
    *blen = size - rest;
    *b = fz_cstr(data + rest, *blen);
}

static char *fz_dir;

static inline int fz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static inline void fz_cleanup(void)
{
    if (fz_dir) {
        nftw(fz_dir, fz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(fz_dir);
        fz_dir = NULL;
    }
}

/* A private scratch folder for this process. */
static inline const char *fz_tmpdir(void)
{
    if (fz_dir)
        return fz_dir;
    const char *base = getenv("TMPDIR");
    fz_dir = sw_xasprintf("%s/sw-fuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fz_dir))
        abort();
    atexit(fz_cleanup);
    return fz_dir;
}

/* Write (replace) rel under dir with exactly these bytes. */
static inline void fz_write(const char *dir, const char *rel, const void *data, size_t len)
{
    char *path = sw_path_join(dir, rel);
    char *parent = sw_path_dirname(path);
    sw_err err = {{0}};
    if (sw_mkdir_p(parent, 0700, &err) != 0)
        abort();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            abort();
        p += w;
        len -= (size_t)w;
    }
    close(fd);
    free(parent);
    free(path);
}

#endif
