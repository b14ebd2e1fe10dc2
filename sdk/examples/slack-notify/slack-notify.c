/*
 * slack-notify - posts a message to a Slack (or Mattermost, or any
 * Slack-compatible) incoming-webhook URL through the host's HTTP client.
 *
 *   - id: tell
 *     uses: slack-notify
 *     with:
 *       url: ${env.SLACK_WEBHOOK}            # secret: never logged or journaled
 *       text: "release ${release.id} passed evaluation (${golden.pass_rate})"
 *       channel: "#deploys"
 *
 * `text` is an ordinary string parameter: the host resolves its ${...}
 * references before the stage runs. The webhook URL carries its credential in
 * its path, so no message of this stage ever contains it: errors from the
 * host's client are passed on without their URL.
 *
 * SW_OK when the webhook answered 2xx; SW_ERROR otherwise (a notification that
 * did not go out is the stage failing to do its job, not a verdict on the
 * candidate). Output `status` is the HTTP status (0 when nothing answered).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slipway/plugin.h>

typedef struct config {
    const char *url;
    const char *text;
    const char *channel;
    const char *username;
    int64_t timeout_ms;
    int64_t retries;
} config;

static const sw_param params[] = {
    {.name = "url",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_REQUIRED | SW_PARAM_SECRET,
     .offset = offsetof(config, url),
     .description = "the incoming-webhook URL (a secret: use ${env.NAME})"},
    {.name = "text",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_REQUIRED,
     .offset = offsetof(config, text),
     .description = "the message; ${...} references are resolved by the host"},
    {.name = "channel",
     .type = SW_TYPE_STRING,
     .offset = offsetof(config, channel),
     .description = "post to this channel instead of the webhook's own"},
    {.name = "username",
     .type = SW_TYPE_STRING,
     .offset = offsetof(config, username),
     .description = "the name the message is posted under"},
    {.name = "timeout",
     .type = SW_TYPE_INT,
     .flags = SW_PARAM_DURATION,
     .default_value = "10s",
     .offset = offsetof(config, timeout_ms),
     .description = "per attempt"},
    {.name = "retries",
     .type = SW_TYPE_INT,
     .default_value = "3",
     .offset = offsetof(config, retries),
     .description = "retries on connection errors, 429 and 5xx (at most 10)"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "status", .type = SW_TYPE_INT, .description = "the webhook's HTTP status"},
    {0},
};

/* A growing text buffer: a plugin links nothing of Slipway, so it brings its own. */
typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->data = realloc(t->data, t->cap);
        if (!t->data)
            abort();
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void put_str(text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* s as a JSON string literal, quotes included. */
static void put_json_string(text *t, const char *s)
{
    put(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            put(t, "\\\"", 2);
            break;
        case '\\':
            put(t, "\\\\", 2);
            break;
        case '\n':
            put(t, "\\n", 2);
            break;
        case '\r':
            put(t, "\\r", 2);
            break;
        case '\t':
            put(t, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                put(t, esc, 6);
            } else {
                put(t, (const char *)p, 1);
            }
        }
    }
    put(t, "\"", 1);
}

/* The host's message without the URL it starts with ("POST https://...: why"):
   a webhook URL is a credential. */
static const char *without_url(const char *message)
{
    const char *why = strstr(message, ": ");
    return why ? why + 2 : message;
}

static sw_status notify_init(sw_stage *stage, const void *cfg)
{
    const config *c = cfg;
    const sw_host *h = sw_host_api;
    /* host->http arrived with ABI 1.0; a plugin needing a later host function checks
       SW_HAS_FIELD(h, sw_host, that_function) here and refuses politely. */
    if (!SW_HAS_FIELD(h, sw_host, http_response_free))
        return h->error(stage, "this Slipway has no HTTP client (ABI %u.%u)",
                        (unsigned)h->abi_major, (unsigned)h->abi_minor);
    if (strncmp(c->url, "https://", 8) != 0 && strncmp(c->url, "http://", 7) != 0)
        return h->error(stage, "url must be an http:// or https:// webhook URL");
    if (!*c->text)
        return h->error(stage, "text is empty");
    if (c->retries < 0 || c->retries > 10)
        return h->error(stage, "retries must be within [0, 10], not %lld", (long long)c->retries);
    return SW_OK;
}

static sw_status notify_run(sw_stage *stage, const void *cfg)
{
    const config *c = cfg;
    const sw_host *h = sw_host_api;

    text body = {0};
    put_str(&body, "{\"text\":");
    put_json_string(&body, c->text);
    if (c->channel) {
        put_str(&body, ",\"channel\":");
        put_json_string(&body, c->channel);
    }
    if (c->username) {
        put_str(&body, ",\"username\":");
        put_json_string(&body, c->username);
    }
    put_str(&body, "}");

    static const char *const headers[] = {"Content-Type: application/json", NULL};
    sw_http_request req = {SW_ABI_INIT(sw_http_request),
                           .method = "POST",
                           .url = c->url,
                           .headers = headers,
                           .body = body.data,
                           .body_len = body.len,
                           .timeout_ms = c->timeout_ms,
                           .max_retries = (int)c->retries};
    sw_http_response resp = {SW_ABI_INIT(sw_http_response)};
    sw_status st = h->http(stage, &req, &resp);
    free(body.data);
    if (st != SW_OK) {
        h->set_int(stage, "status", 0);
        return h->error(stage, "the webhook did not answer: %s", without_url(h->last_error(stage)));
    }
    h->set_int(stage, "status", resp.status);
    if (resp.status < 200 || resp.status > 299) {
        /* Slack says why in a short plain-text body ("invalid_payload", "channel_not_found"). */
        st = h->error(stage, "the webhook answered HTTP %ld: %.200s", resp.status,
                      resp.body_len ? resp.body : "(no body)");
    } else {
        h->log(stage, SW_LOG_INFO, "posted to the webhook%s%s (HTTP %ld, %d attempt%s)",
               c->channel ? " for " : "", c->channel ? c->channel : "", resp.status, resp.attempts,
               resp.attempts == 1 ? "" : "s");
    }
    h->http_response_free(stage, &resp);
    return st;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "slack-notify",
    .version = "1.0.0",         .summary = "Posts a message to a Slack-compatible incoming webhook",
    .params = params,           .config_size = sizeof(config),
    .outputs = outputs,         .init = notify_init,
    .run = notify_run,
};

SW_PLUGIN(desc)
