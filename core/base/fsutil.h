/*
 * fsutil.h - files written atomically, folders, paths.
 *
 * Everything Slipway keeps on disk is either appended and fsynced (journals)
 * or replaced atomically through sw_write_file_atomic: a crash at any instant
 * leaves the old file or the new one, never a torn one.
 * Returned strings are malloc'd; the caller frees them.
 */
#ifndef SW_BASE_FSUTIL_H
#define SW_BASE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* mkdir -p. Existing folders are fine. */
int sw_mkdir_p(const char *path, mode_t mode, sw_err *err);
/* Write to a temporary file in the same folder, fsync it, rename it over path, fsync the folder. */
int sw_write_file_atomic(const char *path, const void *data, size_t len, sw_err *err);
/* Read a whole file, NUL-terminated; refuses files over max bytes (0: no cap). */
char *sw_read_file(const char *path, size_t max, size_t *len, sw_err *err);
int sw_fsync_dir(const char *dir, sw_err *err);
int sw_file_exists(const char *path);
int sw_is_dir(const char *path);

char *sw_path_join(const char *a, const char *b);
char *sw_path_dirname(const char *path);
const char *sw_path_basename(const char *path); /* points into path */
/* An absolute path stays; a relative one is taken against base_dir. Not canonicalized. */
char *sw_path_resolve(const char *base_dir, const char *path);
/* Absolute, canonical (realpath); NULL with err when it does not exist. */
char *sw_path_real(const char *path, sw_err *err);

#endif
