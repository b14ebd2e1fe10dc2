/*
 * isolate.c - running a stage's callbacks in a forked child (`isolation: process`).
 *
 * The child is forked from the stage's thread, so it holds a copy of the run
 * as it was: the context for reads, the config, the plugin already loaded. It
 * re-initializes the locks it may take (another thread may have held them at
 * the fork), calls sw_stage_call, and reports through a pipe. The parent relays
 * each message through the host functions, so journaling, output checks and
 * secret masking happen once, in the process that owns the run.
 *
 * Cancellation: SIGTERM to the child sets the stage's cancelled flag there (the
 * handler only stores an atomic); a child still alive half a grace period later
 * is killed with SIGKILL, so the stage's thread always returns.
 */
#include "run/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin/host.h"
#include "run/stage.h"

static int child_fd = -1;
static sw_stage *child_stage;

int sw_isolate_in_child(void)
{
    return child_fd >= 0;
}

void sw_isolate_send(json_t *message)
{
    char *line = json_dumps(message, JSON_COMPACT);
    json_decref(message);
    if (!line)
        return;
    size_t len = strlen(line);
    line[len] = '\n'; /* replaces the NUL: the buffer is not used as a string again */
    for (size_t off = 0; off <= len;) {
        ssize_t n = write(child_fd, line + off, len + 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the parent is gone: nothing left to tell */
        off += (size_t)n;
    }
    free(line);
}

static void on_child_term(int sig)
{
    (void)sig;
    if (child_stage)
        atomic_store(&child_stage->cancelled, 1);
}

static _Noreturn void child_main(sw_stage *st, int fd)
{
    child_fd = fd;
    child_stage = st;
    /* A crash here is the parent's to report: no journal note from the CLI's handler. */
    int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash / sizeof *crash; i++)
        signal(crash[i], SIG_DFL);
    struct sigaction sa = {0};
    sa.sa_handler = on_child_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    /* Threads that held these at the fork do not exist here. */
    pthread_mutex_init(&st->run->lock, NULL);
    pthread_mutex_init(&st->run->observe_lock, NULL);
    pthread_mutex_init(&st->run->secrets_lock, NULL);
    sw_status status = sw_stage_call(st);
    sw_isolate_send(
        json_pack("{s:s, s:i, s:s}", "op", "exit", "status", (int)status, "reason", st->reason));
    _exit(0);
}

/* ---- the parent's side ---- */

typedef struct relay {
    sw_stage *st;
    int exited; /* the child sent its exit message */
    sw_status status;
} relay;

static void apply(relay *r, const char *line)
{
    const sw_host *host = sw_host_table();
    json_t *m = json_loads(line, 0, NULL);
    const char *op = json_string_value(json_object_get(m, "op"));
    if (!op) {
        json_decref(m);
        return;
    }
    if (strcmp(op, "set") == 0) {
        sw_value v;
        sw_err err;
        const char *name = json_string_value(json_object_get(m, "name"));
        if (name && sw_value_from_json(json_object_get(m, "value"), &v, &err) == 0) {
            sw_stage_set_value(r->st, name, &v);
            sw_value_free(&v);
        }
    } else if (strcmp(op, "log") == 0) {
        json_int_t level = json_integer_value(json_object_get(m, "level"));
        const char *msg = json_string_value(json_object_get(m, "message"));
        if (level >= SW_LOG_DEBUG && level <= SW_LOG_ERROR && msg)
            host->log(r->st, (sw_log_level)level, "%s", msg);
    } else if (strcmp(op, "progress") == 0) {
        host->progress(r->st, json_number_value(json_object_get(m, "fraction")),
                       json_string_value(json_object_get(m, "note")));
    } else if (strcmp(op, "artifact") == 0) {
        const char *path = json_string_value(json_object_get(m, "path"));
        if (path)
            host->add_artifact(r->st, path, json_string_value(json_object_get(m, "description")));
    } else if (strcmp(op, "exit") == 0) {
        r->exited = 1;
        r->status = (sw_status)json_integer_value(json_object_get(m, "status"));
        const char *reason = json_string_value(json_object_get(m, "reason"));
        snprintf(r->st->reason, sizeof r->st->reason, "%s", reason ? reason : "");
    }
    json_decref(m);
}

/* Read what the child says until it closes the pipe, signalling it on cancellation.
   Returns 1 when the child was killed for not stopping. */
static int pump(relay *r, int fd, pid_t pid)
{
    sw_buf pending = {0};
    char chunk[4096];
    double term_at = 0;
    int killed = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, 100);
        if (ready > 0) {
            ssize_t n = read(fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            sw_buf_append(&pending, chunk, (size_t)n);
            char *start = pending.data, *nl;
            while ((nl = memchr(start, '\n', pending.len - (size_t)(start - pending.data)))) {
                *nl = '\0';
                apply(r, start);
                start = nl + 1;
            }
            size_t rest = pending.len - (size_t)(start - pending.data);
            memmove(pending.data, start, rest);
            pending.len = rest;
        }
        int cancelled = atomic_load(&r->st->cancelled) || atomic_load(&r->st->run->stop);
        if (cancelled && term_at == 0) {
            kill(pid, SIGTERM);
            term_at = sw_now_ms();
        } else if (term_at > 0 && !killed && sw_now_ms() - term_at > sw_cancel_grace_ms() / 2) {
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    sw_buf_free(&pending);
    return killed;
}

sw_status sw_stage_call_isolated(sw_stage *st)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(st->reason, sizeof st->reason, "cannot isolate the stage: pipe: %s",
                 strerror(errno));
        return SW_ERROR;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(st->reason, sizeof st->reason, "cannot isolate the stage: fork: %s",
                 strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return SW_ERROR;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(st, fds[1]);
    }
    close(fds[1]);
    relay r = {.st = st, .status = SW_ERROR};
    int killed = pump(&r, fds[0], pid);
    close(fds[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    if (r.exited && WIFEXITED(wstatus))
        return r.status;
    if (killed)
        snprintf(st->reason, sizeof st->reason,
                 "the plugin process ignored cancellation and was killed");
    else if (WIFSIGNALED(wstatus))
        snprintf(st->reason, sizeof st->reason, "the plugin process died of signal %d (%s)",
                 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
    else
        snprintf(st->reason, sizeof st->reason,
                 "the plugin process exited with code %d without reporting",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    return SW_ERROR;
}
