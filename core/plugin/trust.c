/* trust.c - ownership and permission checks on the paths plugins are loaded from. */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"

/* getpwuid_r and getgrgid_r want a buffer; 16 KiB holds any sane entry. */
#define NSS_BUF 16384

static gid_t primary_gid(uid_t uid)
{
    struct passwd pw, *res = NULL;
    char *buf = sw_xmalloc(NSS_BUF);
    gid_t gid = (gid_t)-1;
    if (getpwuid_r(uid, &pw, buf, NSS_BUF, &res) == 0 && res)
        gid = pw.pw_gid;
    free(buf);
    return gid;
}

static void user_name(uid_t uid, char *out, size_t n)
{
    struct passwd pw, *res = NULL;
    char *buf = sw_xmalloc(NSS_BUF);
    if (getpwuid_r(uid, &pw, buf, NSS_BUF, &res) == 0 && res)
        snprintf(out, n, "user '%s'", pw.pw_name);
    else
        snprintf(out, n, "uid %u", (unsigned)uid);
    free(buf);
}

static void group_name(gid_t gid, char *out, size_t n)
{
    struct group gr, *res = NULL;
    char *buf = sw_xmalloc(NSS_BUF);
    if (getgrgid_r(gid, &gr, buf, NSS_BUF, &res) == 0 && res)
        snprintf(out, n, "group '%s'", gr.gr_name);
    else
        snprintf(out, n, "gid %u", (unsigned)gid);
    free(buf);
}

int sw_trust_check_stat(const struct stat *st, sw_trust_kind kind, const char *path, uid_t euid,
                        gid_t owner_gid, sw_err *err)
{
    const char *what = kind == SW_TRUST_FILE ? "file" : "folder";
    const char *above = kind == SW_TRUST_ANCESTOR ? " (above the plugin folder)" : "";
    unsigned mode = (unsigned)st->st_mode & 07777;
    if (kind == SW_TRUST_FILE && !S_ISREG(st->st_mode))
        return sw_err_set(err, "'%s' is not a regular file", path);
    if (kind != SW_TRUST_FILE && !S_ISDIR(st->st_mode))
        return sw_err_set(err, "'%s' is not a folder", path);
    if (st->st_uid != 0 && st->st_uid != euid) {
        char who[96];
        user_name(st->st_uid, who, sizeof who);
        return sw_err_set(err, "%s '%s'%s is owned by %s, neither root nor the current user", what,
                          path, above, who);
    }
    /* The sticky bit makes a shared folder safe to be under, never to load from:
       anyone may still add a file to it. */
    if ((mode & S_IWOTH) && !(kind == SW_TRUST_ANCESTOR && (mode & S_ISVTX)))
        return sw_err_set(err, "%s '%s'%s is writable by everyone (mode %04o)", what, path, above,
                          mode);
    if ((mode & S_IWGRP) && (owner_gid == (gid_t)-1 || st->st_gid != owner_gid)) {
        char grp[96];
        group_name(st->st_gid, grp, sizeof grp);
        return sw_err_set(err,
                          "%s '%s'%s is writable by %s, which is not its owner's own group "
                          "(mode %04o)",
                          what, path, above, grp, mode);
    }
    return 0;
}

static int check_path(const char *path, const char *shown, sw_trust_kind kind, sw_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return sw_err_errno(err, "%s", shown);
    return sw_trust_check_stat(&st, kind, shown, geteuid(), primary_gid(st.st_uid), err);
}

int sw_trust_check_dir(const char *dir, sw_err *err)
{
    if (!dir || dir[0] != '/')
        return sw_err_set(err,
                          "plugin folder '%s' is a relative path: what it names would depend on "
                          "the current folder",
                          dir ? dir : "");
    char *real = realpath(dir, NULL);
    if (!real)
        return sw_err_errno(err, "plugin folder '%s'", dir);
    char *shown = strcmp(real, dir) == 0 ? sw_xstrdup(dir) : sw_xasprintf("%s -> %s", dir, real);
    int rc = check_path(real, shown, SW_TRUST_FOLDER, err);
    free(shown);
    /* Whoever can rename a folder above can put another folder in its place. */
    char *p = real;
    while (rc == 0 && strcmp(p, "/") != 0) {
        char *up = sw_path_dirname(p);
        free(p);
        p = up;
        rc = check_path(p, p, SW_TRUST_ANCESTOR, err);
    }
    free(p);
    return rc;
}

int sw_trust_open_file(const char *path, sw_err *err)
{
    /* O_NOFOLLOW: path is canonical, so a symlink here was put there after
       realpath looked; refuse it rather than follow it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ELOOP)
            return sw_err_set(err, "'%s' became a symbolic link while it was being loaded", path);
        return sw_err_errno(err, "%s", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sw_err_errno(err, "%s", path);
        close(fd);
        return -1;
    }
    if (sw_trust_check_stat(&st, SW_TRUST_FILE, path, geteuid(), primary_gid(st.st_uid), err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int sw_trust_sha256_fd(int fd, const char *path, char hex[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    sw_sha256_ctx c;
    sw_sha256_init(&c);
    char *buf = sw_xmalloc(65536);
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, 65536, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            return sw_err_errno(err, "%s", path);
        }
        if (r == 0)
            break;
        sw_sha256_update(&c, buf, (size_t)r);
        off += r;
    }
    free(buf);
    unsigned char digest[SW_SHA256_LEN];
    sw_sha256_final(&c, digest);
    sw_hex(digest, sizeof digest, hex);
    return 0;
}
