/*
 * section_writer - writes its `with:` parameters as the stage's report section
 * (<artifacts>/report-section.json), so report tests control exactly what the
 * run report reads.
 *
 * run:
 *   section (json): written as the section, after replacing every string
 *     "@t+N" / "@t-N" (quotes included) with the number now + N (epoch ms), so
 *     a test can place events, points and marks inside the run's own time span;
 *   raw (string): written verbatim instead, for sections that do not parse;
 *   hold_until (path): then waits (cancellably) until that file exists, so a
 *     test can interrupt the run at a known point and let a resume go on;
 *   then returns host->fail(fail_with) when set, else SW_OK.
 * The file is written atomically (a temporary file, then rename), as the
 * contract asks of every writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slipway/plugin.h>

typedef struct section_config {
    const char *section;
    const char *raw;
    const char *fail_with;
    const char *hold_until;
} section_config;

static const sw_param params[] = {
    {.name = "section",
     .type = SW_TYPE_JSON,
     .offset = offsetof(section_config, section),
     .description = "the section to write; \"@t+N\" strings become now + N ms"},
    {.name = "raw",
     .type = SW_TYPE_STRING,
     .offset = offsetof(section_config, raw),
     .description = "text written as the section file verbatim (wins over section)"},
    {.name = "fail_with",
     .type = SW_TYPE_STRING,
     .offset = offsetof(section_config, fail_with),
     .description = "when set, the stage fails with this reason after writing"},
    {.name = "hold_until",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_PATH,
     .offset = offsetof(section_config, hold_until),
     .description = "after writing, wait until this file exists (cancellable)"},
    {0},
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The section text with "@t+N" placeholders replaced; malloc'd (NULL on OOM). */
static char *with_times(const char *text)
{
    size_t cap = strlen(text) * 2 + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int64_t now = now_ms();
    for (const char *p = text; *p;) {
        if (strncmp(p, "\"@t", 3) == 0 && (p[3] == '+' || p[3] == '-')) {
            char *end;
            long long off = strtoll(p + 3, &end, 10);
            if (*end == '"') {
                len += (size_t)snprintf(out + len, cap - len, "%lld", (long long)now + off);
                p = end + 1;
                continue;
            }
        }
        out[len++] = *p++;
    }
    out[len] = '\0';
    return out;
}

static sw_status write_atomic(sw_stage *stage, const char *dir, const char *text)
{
    const sw_host *h = sw_host_api;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/report-section.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return h->error(stage, "cannot create '%s': %s", tmp, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int saved = errno;
            close(fd);
            return h->error(stage, "cannot write '%s': %s", tmp, strerror(saved));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
        return h->error(stage, "cannot write '%s': %s", path, strerror(errno));
    return SW_OK;
}

static sw_status section_run(sw_stage *stage, const void *config)
{
    const section_config *c = config;
    const sw_host *h = sw_host_api;
    const char *dir = h->artifacts_dir(stage);
    if (!dir)
        return h->error(stage, "%s", h->last_error(stage));
    sw_status st = SW_OK;
    if (c->raw) {
        st = write_atomic(stage, dir, c->raw);
    } else if (c->section) {
        char *text = with_times(c->section);
        if (!text)
            return h->error(stage, "out of memory");
        st = write_atomic(stage, dir, text);
        free(text);
    }
    if (st != SW_OK)
        return st;
    while (c->hold_until && access(c->hold_until, F_OK) != 0)
        if (h->wait(stage, 50))
            return h->error(stage, "cancelled");
    if (c->fail_with)
        return h->fail(stage, "%s", c->fail_with);
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "section_writer",
    .version = "1.0.0",         .summary = "Writes its parameters as the stage's report section",
    .params = params,           .config_size = sizeof(section_config),
    .run = section_run,
};

SW_PLUGIN(desc)
