/*
 * trust.h - may code be loaded from this folder, or this file?
 *
 * A plugin runs with every right of the process, so whoever can write its
 * file, the folder it sits in or a folder above can run code as Slipway's
 * user. A path is trusted when nobody else can write it:
 *   - a folder is absolute, owned by root or the current user, not writable
 *     by everyone (sticky bit or not), and not writable by a group other than
 *     its owner's own (primary) group;
 *   - each folder above it passes the same test, except that one writable by
 *     everyone is accepted when it has the sticky bit (/tmp): there nobody can
 *     rename or delete what another user owns;
 *   - a file passes the folder's test and is a regular file.
 * The loader applies these checks unless told not to (loader.h); the reasons
 * are worded for the user: "folder '/srv/p' is writable by everyone (mode 0777)".
 */
#ifndef SW_PLUGIN_TRUST_H
#define SW_PLUGIN_TRUST_H

#include <sys/stat.h>
#include <sys/types.h>

#include "base/util.h"
#include "store/sha256.h"

typedef enum sw_trust_kind {
    SW_TRUST_FOLDER,   /* the folder code is loaded from */
    SW_TRUST_ANCESTOR, /* a folder above it */
    SW_TRUST_FILE      /* the file itself */
} sw_trust_kind;

/* The rule applied to one stat result. euid is the current user; owner_gid the
   primary group of st's owner, or (gid_t)-1 when the owner has no account (then
   group-writable is refused). Pure, so that every refusal can be tested without
   root. 0, or -1 with err naming path and the reason. */
int sw_trust_check_stat(const struct stat *st, sw_trust_kind kind, const char *path, uid_t euid,
                        gid_t owner_gid, sw_err *err);

/* The folder (which must be absolute) and every folder above its canonical path. */
int sw_trust_check_dir(const char *dir, sw_err *err);

/* Open a file to load it: path should be canonical (realpath); it is opened with
   O_NOFOLLOW and the checks run on the descriptor, so they judge the very file
   that was opened. Returns the descriptor (O_CLOEXEC), or -1 with err. */
int sw_trust_open_file(const char *path, sw_err *err);

/* The SHA-256 of fd's contents from offset 0, as lowercase hex. */
int sw_trust_sha256_fd(int fd, const char *path, char hex[SW_SHA256_HEX_LEN + 1], sw_err *err);

#endif
