/*
 * gitinfo.h - the commit a bundle was taken from, read from git.
 */
#ifndef SW_STORE_GITINFO_H
#define SW_STORE_GITINFO_H

/* The HEAD commit of the work tree holding dir (40 hex digits, malloc'd), or
   NULL when dir is not in a work tree, the repository has no commit, or git is
   not installed. *dirty is set when the work tree has uncommitted changes or
   untracked files (git status --porcelain). git runs without a shell. */
char *sw_git_commit(const char *dir, int *dirty);

#endif
