/* gitinfo.c - asking git, through posix_spawnp (no shell), for HEAD and the tree state. */
#include "gitinfo.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

extern char **environ;

/* Run git with argv, collecting stdout (at most `cap` bytes kept). Returns the
   exit status (0 on success), or -1 when git could not run. posix_spawn rather
   than fork+exec: the host may be multithreaded, and nothing may run between
   fork and exec there but async-signal-safe calls. */
static int run_git(char *const argv[], char **out, size_t cap)
{
    int fds[2];
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    sw_buf b = {0};
    sw_buf_append(&b, "", 0);
    char chunk[4096];
    for (;;) {
        ssize_t r = read(fds[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        /* Keep reading past the cap so git never blocks on a full pipe. */
        if (b.len < cap)
            sw_buf_append(&b, chunk, (size_t)r < cap - b.len ? (size_t)r : cap - b.len);
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            sw_buf_free(&b);
            return -1;
        }
    }
    *out = sw_buf_steal(&b);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *sw_git_commit(const char *dir, int *dirty)
{
    *dirty = 0;
    char *out;
    char *head[] = {"git", "--no-optional-locks", "-C", (char *)dir, "rev-parse", "--verify",
                    "-q",  "HEAD^{commit}",       NULL};
    if (run_git(head, &out, 256) != 0) {
        free(out);
        return NULL;
    }
    size_t n = 0;
    while (isxdigit((unsigned char)out[n]))
        n++;
    if (n != 40 && n != 64) { /* SHA-1 or SHA-256 repositories */
        free(out);
        return NULL;
    }
    out[n] = '\0';
    char *status;
    /* "-- ." limits the status to the bundle's own files: a change elsewhere in the
       repository does not make this bundle's content uncertain. */
    char *st[] = {"git",         "--no-optional-locks",      "-C", (char *)dir, "status",
                  "--porcelain", "--untracked-files=normal", "--", ".",         NULL};
    int rc = run_git(st, &status, 16);
    /* A status that cannot be read is treated as dirty: better refuse than record
       a commit that may not describe the files. */
    *dirty = rc != 0 || (status && status[0] != '\0');
    free(status);
    return out;
}
