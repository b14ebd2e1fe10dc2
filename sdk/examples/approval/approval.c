/*
 * approval - holds a pipeline until a person signs off: a sign-off file
 * appears, or a flag URL answers 200 with "approved".
 *
 *   - id: signoff
 *     uses: approval
 *     with:
 *       file: approvals/${release.id}     # relative to the pipeline's folder
 *       url: https://flags.example.com/releases/${release.id}/approval
 *       timeout: 4h
 *       poll: 30s
 *
 * The sign-off file's first line says who approved ("alice", or "approved by
 * alice"; an empty file approves too); a first line starting "rejected"
 * ("rejected by bob: not before the freeze") rejects. The flag URL
 * approves with a 200 whose body is "approved" or "approved by NAME", and
 * rejects with "rejected..." likewise; any other answer, or none, means "not
 * yet". Either source is enough; give one or both.
 *
 * A rejection or the timeout is SW_FAIL (the candidate was not approved);
 * cancellation (the run stopping) is SW_ERROR. The wait sleeps through
 * host->wait, which returns at once when the run stops.
 *
 * Outputs: approved (bool), approver (string: the name, "(file)" or "(url)"
 * when none was given).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <slipway/plugin.h>

typedef struct config {
    const char *file;
    const char *url;
    int64_t timeout_ms;
    int64_t poll_ms;
} config;

static const sw_param params[] = {
    {.name = "file",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_PATH,
     .offset = offsetof(config, file),
     .description = "a sign-off file to wait for (its first line names the approver)"},
    {.name = "url",
     .type = SW_TYPE_STRING,
     .offset = offsetof(config, url),
     .description = "a flag URL that answers 200 \"approved\" once approved"},
    {.name = "timeout",
     .type = SW_TYPE_INT,
     .flags = SW_PARAM_DURATION,
     .default_value = "1h",
     .offset = offsetof(config, timeout_ms),
     .description = "give up (SW_FAIL) after this long"},
    {.name = "poll",
     .type = SW_TYPE_INT,
     .flags = SW_PARAM_DURATION,
     .default_value = "10s",
     .offset = offsetof(config, poll_ms),
     .description = "how often to look"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "approved", .type = SW_TYPE_BOOL, .description = "a person signed off"},
    {.name = "approver", .type = SW_TYPE_STRING, .description = "who signed off"},
    {0},
};

typedef enum verdict { PENDING, APPROVED, REJECTED } verdict;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Copy s trimmed of surrounding blanks into out. */
static void trimmed(const char *s, size_t n, char *out, size_t size)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Read a first line: "approved[ by NAME]", "rejected...", or (from a file only)
   a bare NAME. For an approval, who gets the name ("" when none); for a
   rejection, the whole line, which says why. */
static verdict read_line(const char *line, int bare_name_approves, char *who, size_t size)
{
    who[0] = '\0';
    if (starts_with(line, "rejected")) {
        trimmed(line, strlen(line), who, size);
        return REJECTED;
    }
    if (strcmp(line, "approved") == 0)
        return APPROVED;
    if (starts_with(line, "approved by ")) {
        const char *name = line + strlen("approved by ");
        trimmed(name, strlen(name), who, size);
        return APPROVED;
    }
    if (bare_name_approves) {
        trimmed(line, strlen(line), who, size);
        return APPROVED;
    }
    return PENDING;
}

static verdict check_file(const char *path, char *who, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return PENDING;
    char line[512] = "";
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    char clean[512];
    trimmed(line, strlen(line), clean, sizeof clean);
    return read_line(clean, 1, who, size);
}

/* One look at the flag URL. A transport error is remembered (for the timeout
   message) and means "not yet": the flag service may be restarting. */
static verdict check_url(sw_stage *stage, const config *c, char *who, size_t size, char *last,
                         size_t last_size)
{
    const sw_host *h = sw_host_api;
    int64_t timeout = c->poll_ms < 10000 ? 10000 : c->poll_ms;
    sw_http_request req = {SW_ABI_INIT(sw_http_request), .url = c->url, .timeout_ms = timeout};
    sw_http_response resp = {SW_ABI_INIT(sw_http_response)};
    if (h->http(stage, &req, &resp) != SW_OK) {
        snprintf(last, last_size, "%s", h->last_error(stage));
        return PENDING;
    }
    verdict v = PENDING;
    if (resp.status == 200) {
        char clean[512];
        trimmed(resp.body, resp.body_len, clean, sizeof clean);
        v = read_line(clean, 0, who, size);
        snprintf(last, last_size, "the flag URL said \"%.100s\"", clean);
    } else {
        snprintf(last, last_size, "the flag URL answered HTTP %ld", resp.status);
    }
    h->http_response_free(stage, &resp);
    return v;
}

static sw_status approval_init(sw_stage *stage, const void *cfg)
{
    const config *c = cfg;
    const sw_host *h = sw_host_api;
    if (!c->file && !c->url)
        return h->error(stage, "give a sign-off file, a flag url, or both");
    if (c->timeout_ms <= 0 || c->poll_ms <= 0)
        return h->error(stage, "timeout and poll must be positive");
    if (c->url && !SW_HAS_FIELD(h, sw_host, http_response_free))
        return h->error(stage, "this Slipway has no HTTP client; use a sign-off file");
    return SW_OK;
}

static sw_status approval_run(sw_stage *stage, const void *cfg)
{
    const config *c = cfg;
    const sw_host *h = sw_host_api;
    h->log(stage, SW_LOG_INFO, "waiting up to %lld s for a sign-off%s%s%s",
           (long long)(c->timeout_ms / 1000), c->file ? ": file " : "", c->file ? c->file : "",
           c->url ? (c->file ? " or the flag URL" : ": the flag URL") : "");
    double deadline = now_ms() + (double)c->timeout_ms;
    char who[256], last[512] = "";
    for (;;) {
        verdict v = PENDING;
        const char *source = NULL;
        if (c->file && (v = check_file(c->file, who, sizeof who)) != PENDING)
            source = "(file)";
        if (v == PENDING && c->url &&
            (v = check_url(stage, c, who, sizeof who, last, sizeof last)) != PENDING)
            source = "(url)";
        if (v == APPROVED) {
            const char *approver = who[0] ? who : source;
            h->log(stage, SW_LOG_INFO, "approved by %s", approver);
            if (h->set_bool(stage, "approved", 1) != SW_OK ||
                h->set_string(stage, "approver", approver) != SW_OK)
                return h->error(stage, "%s", h->last_error(stage));
            return SW_OK;
        }
        if (v == REJECTED) {
            h->set_bool(stage, "approved", 0);
            return h->fail(stage, "the %s says: %s",
                           source[1] == 'f' ? "sign-off file" : "flag URL", who);
        }
        if (h->cancelled(stage))
            return h->error(stage, "cancelled while waiting for a sign-off");
        double left = deadline - now_ms();
        if (left <= 0) {
            h->set_bool(stage, "approved", 0);
            return h->fail(stage, "no sign-off within %lld ms%s%s", (long long)c->timeout_ms,
                           last[0] ? "; last: " : "", last);
        }
        int64_t nap = c->poll_ms < (int64_t)left ? c->poll_ms : (int64_t)left + 1;
        if (h->wait(stage, nap))
            return h->error(stage, "cancelled while waiting for a sign-off");
    }
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "approval",
    .version = "1.0.0",         .summary = "Waits for a person's sign-off: a file, or an HTTP flag",
    .params = params,           .config_size = sizeof(config),
    .outputs = outputs,         .init = approval_init,
    .run = approval_run,
};

SW_PLUGIN(desc)
