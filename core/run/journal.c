/* journal.c - journal.jsonl: one compact JSON object per line, appended with one write(2). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"

struct sw_journal {
    int fd;
    char *path;
    pthread_mutex_t lock; /* keeps a line that needed several writes in one piece */
};

/* A crash mid-append leaves a partial last line. Appending after it would glue the
   next event onto it and turn a skippable torn tail into a corrupt middle line, so
   the fragment is cut off before anything new is written. */
static int cut_torn_tail(int wfd, const char *path, sw_err *err)
{
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return sw_err_errno(err, "journal '%s'", path);
    struct stat st;
    if (fstat(rfd, &st) != 0) {
        sw_err_errno(err, "journal '%s'", path);
        close(rfd);
        return -1;
    }
    off_t end = st.st_size, keep = 0;
    char buf[4096];
    while (end > 0) {
        off_t start = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
        ssize_t n = pread(rfd, buf, (size_t)(end - start), start);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            sw_err_errno(err, "journal '%s': read", path);
            close(rfd);
            return -1;
        }
        char *nl = memrchr(buf, '\n', (size_t)n);
        if (nl) {
            keep = start + (nl - buf) + 1;
            break;
        }
        end = start;
    }
    close(rfd);
    if (keep < st.st_size && ftruncate(wfd, keep) != 0)
        return sw_err_errno(err, "journal '%s': truncate torn last line", path);
    return 0;
}

sw_journal *sw_journal_open(const char *path, sw_err *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sw_err_errno(err, "journal '%s'", path);
        return NULL;
    }
    char *dir = sw_path_dirname(path);
    /* The folder entry must be durable too, or a crash can lose the whole file. */
    int rc = cut_torn_tail(fd, path, err);
    if (rc == 0)
        rc = sw_fsync_dir(dir, err);
    free(dir);
    if (rc != 0) {
        close(fd);
        return NULL;
    }
    sw_journal *j = sw_xcalloc(1, sizeof *j);
    j->fd = fd;
    j->path = sw_xstrdup(path);
    pthread_mutex_init(&j->lock, NULL);
    return j;
}

void sw_journal_close(sw_journal *j)
{
    if (!j)
        return;
    /* Best effort: the runner syncs at every stage boundary and reports failures there. */
    fsync(j->fd);
    close(j->fd);
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
}

int sw_journal_append(sw_journal *j, json_t *event, sw_err *err)
{
    if (!json_is_object(event))
        return sw_err_set(err, "journal '%s': an event must be a JSON object", j->path);
    if (!json_object_get(event, "ts")) {
        char ts[32];
        sw_iso8601_now(ts);
        json_object_set_new(event, "ts", json_string(ts));
    }
    /* Compact output escapes control characters, so the line holds no raw '\n'. */
    char *text = json_dumps(event, JSON_COMPACT);
    if (!text)
        return sw_err_set(err, "journal '%s': cannot serialize event", j->path);
    size_t len = strlen(text);
    char *line = sw_xmalloc(len + 1);
    memcpy(line, text, len);
    line[len] = '\n';
    free(text);
    len++;

    int rc = 0;
    pthread_mutex_lock(&j->lock);
    /* Where the line starts, to take back a part of it that a failing write left:
       later lines (once the disk has room again) would be glued onto it, and a
       torn line in the middle of the journal is corruption. */
    off_t start = lseek(j->fd, 0, SEEK_END);
    /* One write for the whole line; a short write (disk full, signal) is finished
       with more, still under the lock so no other line lands in between. */
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(j->fd, line + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = sw_err_errno(err, "journal '%s': write", j->path);
            if (off > 0 && start >= 0)
                (void)!ftruncate(j->fd, start);
            break;
        }
        off += (size_t)w;
    }
    pthread_mutex_unlock(&j->lock);
    free(line);
    return rc;
}

int sw_journal_sync(sw_journal *j, sw_err *err)
{
    if (fsync(j->fd) != 0)
        return sw_err_errno(err, "journal '%s': fsync", j->path);
    return 0;
}

int sw_journal_fd(const sw_journal *j)
{
    return j ? j->fd : -1;
}

json_t *sw_journal_read(const char *path, size_t *torn, sw_err *err)
{
    if (torn)
        *torn = 0;
    size_t len;
    char *text = sw_read_file(path, 0, &len, err);
    if (!text)
        return NULL;
    json_t *events = json_array();
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        lineno++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        if (!nl) {
            /* Written without its '\n': the process died mid-append. */
            if (torn)
                (*torn)++;
            break;
        }
        size_t n = (size_t)(nl - start);
        pos += n + 1;
        if (n == 0)
            continue;
        json_error_t jerr;
        json_t *ev = json_loadb(start, n, 0, &jerr);
        if (!json_is_object(ev)) {
            const char *why = ev ? "not a JSON object" : jerr.text;
            json_decref(ev);
            /* Only the last line can be torn; garbage before it is corruption. */
            if (pos == len) {
                if (torn)
                    (*torn)++;
                break;
            }
            sw_err_set(err, "%s:%zu: malformed journal line: %s", path, lineno, why);
            json_decref(events);
            free(text);
            return NULL;
        }
        json_array_append_new(events, ev);
    }
    free(text);
    return events;
}
