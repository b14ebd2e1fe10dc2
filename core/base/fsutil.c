/* fsutil.c - atomic file replacement, whole-file reads, folders and path strings. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sw_mkdir_p(const char *path, mode_t mode, sw_err *err)
{
    if (!path || !*path)
        return sw_err_set(err, "mkdir: empty path");
    char *p = sw_xstrdup(path);
    size_t n = strlen(p);
    /* Visit every prefix that ends a component: "a//b/" -> "a", "a//b". */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue;
        char saved = p[i];
        p[i] = '\0';
        /* Any failure on a folder that exists is fine: EEXIST, but also EACCES or
           EROFS on an existing parent the caller may not write to. */
        int failed = mkdir(p, mode) != 0;
        int e = errno;
        if (failed && !sw_is_dir(p)) {
            errno = e;
            if (e == EEXIST)
                sw_err_set(err, "mkdir '%s': exists and is not a directory", p);
            else
                sw_err_errno(err, "mkdir '%s'", p);
            free(p);
            return -1;
        }
        p[i] = saved;
    }
    free(p);
    return 0;
}

int sw_fsync_dir(const char *dir, sw_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sw_err_errno(err, "open folder '%s'", dir);
    /* Some file systems cannot fsync a folder; there is nothing more to do there. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        sw_err_errno(err, "fsync folder '%s'", dir);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int sw_write_file_atomic(const char *path, const void *data, size_t len, sw_err *err)
{
    /* Unique per process and per call, so concurrent writers never share a temp file. */
    static atomic_ulong counter;
    char *tmp = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        free(tmp);
        tmp = sw_xasprintf("%s.tmp.%ld.%lu", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        sw_err_errno(err, "%s: cannot create temporary file", path);
        free(tmp);
        return -1;
    }
    const char *step = NULL;
    int saved = 0;
    if (write_all(fd, data, len) != 0)
        step = "write";
    else if (fsync(fd) != 0)
        step = "fsync";
    if (step)
        saved = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        saved = errno;
    }
    if (!step && rename(tmp, path) != 0) {
        step = "rename";
        saved = errno;
    }
    if (step) {
        unlink(tmp);
        errno = saved;
        sw_err_errno(err, "%s: %s", path, step);
        free(tmp);
        return -1;
    }
    free(tmp);
    /* The new file is in place; only the folder entry's durability is left. */
    char *dir = sw_path_dirname(path);
    int rc = sw_fsync_dir(dir, err);
    free(dir);
    return rc;
}

char *sw_read_file(const char *path, size_t max, size_t *len, sw_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sw_err_errno(err, "%s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sw_err_errno(err, "%s", path);
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        sw_err_set(err, "%s: is a directory", path);
        close(fd);
        return NULL;
    }
    if (max && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
        sw_err_set(err, "%s: file is %lld bytes, over the limit of %zu", path,
                   (long long)st.st_size, max);
        close(fd);
        return NULL;
    }
    /* Read to end of file rather than trusting st_size: pipes and /proc report 0,
       and a file may grow while it is read. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    size_t n = 0;
    char *buf = sw_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = sw_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            sw_err_errno(err, "%s", path);
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (max && n > max) {
            sw_err_set(err, "%s: file is over the limit of %zu bytes", path, max);
            free(buf);
            close(fd);
            return NULL;
        }
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int sw_file_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

int sw_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Plain concatenation with exactly one '/' between; b is not treated as absolute
   (that is sw_path_resolve's job). */
char *sw_path_join(const char *a, const char *b)
{
    if (!a || !*a)
        return sw_xstrdup(b ? b : "");
    if (!b || !*b)
        return sw_xstrdup(a);
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (la == 1 && a[0] == '/')
        return sw_xasprintf("/%s", b);
    return sw_xasprintf("%.*s/%s", (int)la, a, b);
}

/* POSIX dirname(3) without modifying the argument. */
char *sw_path_dirname(const char *path)
{
    if (!path || !*path)
        return sw_xstrdup(".");
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    if (n == 0)
        return sw_xstrdup(".");
    while (n > 1 && path[n - 1] == '/')
        n--;
    return sw_xstrndup(path, n);
}

/* The text after the last '/': "" for "a/b/" or "/", as nothing can be trimmed in place. */
const char *sw_path_basename(const char *path)
{
    if (!path)
        return "";
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *sw_path_resolve(const char *base_dir, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/' || !base_dir || !*base_dir)
        return sw_xstrdup(path);
    return sw_path_join(base_dir, path);
}

char *sw_path_real(const char *path, sw_err *err)
{
    if (!path || !*path) {
        sw_err_set(err, "empty path");
        return NULL;
    }
    char *r = realpath(path, NULL);
    if (!r) {
        sw_err_errno(err, "%s", path);
        return NULL;
    }
    return r;
}
