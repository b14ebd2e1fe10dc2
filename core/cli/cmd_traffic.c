/*
 * cmd_traffic.c - `slipway traffic`: synthetic users talking to an agent through the router.
 *
 * Each simulated user is one session (its key in a header, so the router pins it) of 2 to 4
 * user turns sent as OpenAI chat completions (or, with --protocol, as OpenAI Responses or
 * Anthropic Messages requests), with the whole conversation each time. When the
 * model calls a tool, the user's "application" runs it: the call is checked against the
 * tool's schema (--tools DIR) and a canned result goes back as the next message. Every tool
 * call and every session's outcome is reported to the router's POST /v1/events, which is what
 * the monitor stage judges tool_error_rate and task_failure_rate by. Low-traffic canaries
 * need exactly this: enough real-looking conversations for the statistics to mean something.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

static const char usage[] =
    "usage: slipway traffic --router URL --agent NAME [--users N] [--rate R] [--duration D]\n"
    "                       [--seed S] [--tools DIR] [--session-header H] [--timeout D]\n"
    "                       [--protocol chat|responses|messages]\n"
    "\n"
    "Simulated users with multi-turn sessions through the router (POST /v1/chat/completions,\n"
    "/v1/responses or /v1/messages; model = the agent): 2 to 4 turns each, tool calls checked and "
    "answered, tool calls and\n"
    "task outcomes reported to POST /v1/events. Prints a summary line at the end; stops on\n"
    "SIGINT or SIGTERM (after the turns in flight).\n"
    "\n"
    "Options:\n"
    "  --router URL          the router's base URL (else $SLIPWAY_ROUTER)\n"
    "  --agent NAME          the agent (the request's model)\n"
    "  --users N             concurrent users (default 4)\n"
    "  --rate R              new sessions per second, all users together (default 5)\n"
    "  --duration D          stop starting sessions after D (30s, 2m, seconds; default 30s;\n"
    "                        0: until a signal)\n"
    "  --seed S              seeds every choice (default 1)\n"
    "  --tools DIR           tool definitions (<name>.json): calls are checked against their\n"
    "                        parameter schemas; else only that arguments are a JSON object\n"
    "  --session-header H    the session key's header (default x-slipway-session)\n"
    "  --timeout D           per request (default 10s)\n"
    "  --protocol P          chat (default), responses (OpenAI Responses API) or messages\n"
    "                        (Anthropic Messages)\n"
    "  --json                the summary as JSON\n"
    "  -h, --help            this help\n";

enum {
    OPT_ROUTER = 2000,
    OPT_AGENT,
    OPT_USERS,
    OPT_RATE,
    OPT_DURATION,
    OPT_SEED,
    OPT_TOOLS,
    OPT_HEADER,
    OPT_TIMEOUT,
    OPT_PROTOCOL
};

typedef struct wire wire;

typedef struct tool_def {
    char *name;
    json_t *params; /* the JSON Schema of the arguments */
} tool_def;

typedef struct traffic {
    const char *router, *agent, *header;
    const wire *wire;
    long users;
    double rate;
    double duration_s, timeout_s;
    uint64_t seed;
    tool_def *tools;
    size_t n_tools;
    double t0;
    pthread_mutex_t mu;
    long next_session; /* the next session's number (sessions start at t0 + k / rate) */
    /* totals, under mu */
    long sessions, completed, failed, requests, http_errors, tool_calls, tool_errors;
    long events_sent, events_rejected;
    long version_changes; /* sessions answered by more than one version */
    json_t *by_version;   /* version -> sessions (the version of their last answer) */
} traffic;

/* The CLI sees only the public API, so it has its own small allocation helpers. */
static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}
static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    return s;
}

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;
static void buf_append(buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    stopping = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: every session's choices come from (seed, session number) alone. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static unsigned pick(uint64_t *s, unsigned n)
{
    return (unsigned)(mix(s) % n);
}

static int parse_duration(const char *t, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (end == t || errno || v < 0 || !isfinite(v))
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (strcmp(end, "m") == 0)
        v *= 60;
    else if (strcmp(end, "h") == 0)
        v *= 3600;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    *out = v;
    return 0;
}

/* ---- tool schemas: the subset agents' tool definitions use ---- */

static int type_ok(const char *type, const json_t *v)
{
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v) ||
               (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "null") == 0)
        return json_is_null(v);
    return 1;
}

/* Whether v fits schema s; why not in why. */
static int fits(const json_t *s, const json_t *v, const char *at, char *why, size_t n)
{
    if (!json_is_object(s))
        return 1;
    const json_t *type = json_object_get(s, "type");
    if (json_is_string(type) && !type_ok(json_string_value(type), v))
        return snprintf(why, n, "%s: expected %s", at, json_string_value(type)), 0;
    if (json_is_array(type)) {
        size_t i;
        const json_t *t;
        int any = 0;
        json_array_foreach(type, i, t) any |= json_is_string(t) && type_ok(json_string_value(t), v);
        if (!any)
            return snprintf(why, n, "%s: wrong type", at), 0;
    }
    const json_t *en = json_object_get(s, "enum");
    if (json_is_array(en)) {
        size_t i;
        const json_t *e;
        int any = 0;
        json_array_foreach(en, i, e) any |= json_equal(e, v);
        if (!any)
            return snprintf(why, n, "%s: not one of the allowed values", at), 0;
    }
    if (json_is_string(v)) {
        const json_t *pat = json_object_get(s, "pattern");
        if (json_is_string(pat)) {
            regex_t re;
            if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) == 0) {
                int m = regexec(&re, json_string_value(v), 0, NULL, 0);
                regfree(&re);
                if (m != 0)
                    return snprintf(why, n, "%s: '%s' does not match %s", at, json_string_value(v),
                                    json_string_value(pat)),
                           0;
            }
        }
        const json_t *ml = json_object_get(s, "maxLength");
        if (json_is_integer(ml) &&
            (json_int_t)strlen(json_string_value(v)) > json_integer_value(ml))
            return snprintf(why, n, "%s: too long", at), 0;
    }
    if (json_is_number(v)) {
        double x = json_number_value(v);
        const json_t *mx = json_object_get(s, "maximum"), *mn = json_object_get(s, "minimum"),
                     *xmn = json_object_get(s, "exclusiveMinimum");
        if ((json_is_number(mx) && x > json_number_value(mx)) ||
            (json_is_number(mn) && x < json_number_value(mn)) ||
            (json_is_number(xmn) && x <= json_number_value(xmn)))
            return snprintf(why, n, "%s: out of range", at), 0;
    }
    if (json_is_object(v)) {
        const json_t *props = json_object_get(s, "properties");
        const json_t *req = json_object_get(s, "required");
        size_t i;
        const json_t *r;
        json_array_foreach(req, i, r)
        {
            if (json_is_string(r) && !json_object_get(v, json_string_value(r)))
                return snprintf(why, n, "%s: missing '%s'", at, json_string_value(r)), 0;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            const json_t *ps = json_object_get(props, k);
            if (!ps && json_is_false(json_object_get(s, "additionalProperties")))
                return snprintf(why, n, "%s: unexpected '%s'", at, k), 0;
            if (ps && !fits(ps, x, k, why, n))
                return 0;
        }
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) if (!fits(json_object_get(s, "items"), x, at, why, n)) return 0;
    }
    return 1;
}

static int load_tools(traffic *t, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "slipway traffic: --tools %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        const json_t *fn = json_object_get(j, "function");
        if (!fn)
            fn = j;
        const json_t *name = json_object_get(fn, "name");
        if (!json_is_string(name)) {
            fprintf(stderr, "slipway traffic: %s: not a tool definition (no name)%s%s\n", path,
                    j ? "" : ": ", j ? "" : je.text);
            rc = -1;
        } else {
            t->tools = xrealloc(t->tools, (t->n_tools + 1) * sizeof *t->tools);
            t->tools[t->n_tools].name = xstrdup(json_string_value(name));
            t->tools[t->n_tools].params = json_incref(json_object_get(fn, "parameters"));
            t->n_tools++;
        }
        json_decref(j);
        free(path);
    }
    closedir(d);
    return rc;
}

/* A tool call as the application would run it: 1 ok, 0 refused (why says why). */
static int check_call(const traffic *t, const char *name, const char *args, char *why, size_t n)
{
    json_error_t je;
    json_t *a = args ? json_loads(args, 0, &je) : NULL;
    if (!json_is_object(a)) {
        json_decref(a);
        return snprintf(why, n, "arguments are not a JSON object"), 0;
    }
    int ok = 1;
    if (t->n_tools) {
        const tool_def *def = NULL;
        for (size_t i = 0; i < t->n_tools; i++)
            if (strcmp(t->tools[i].name, name) == 0)
                def = &t->tools[i];
        if (!def)
            ok = (snprintf(why, n, "unknown tool '%s'", name), 0);
        else
            ok = fits(def->params, a, "arguments", why, n);
    }
    json_decref(a);
    return ok;
}

/* ---- HTTP ---- */

typedef struct reply {
    buf body;
    char version[128];
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_append(&((reply *)ud)->body, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = size * n;
    static const char key[] = "x-slipway-version:";
    if (len > sizeof key && strncasecmp(p, key, sizeof key - 1) == 0) {
        const char *v = p + sizeof key - 1;
        while (*v == ' ')
            v++;
        size_t vl = (size_t)(p + len - v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        if (vl >= sizeof r->version)
            vl = sizeof r->version - 1;
        memcpy(r->version, v, vl);
        r->version[vl] = 0;
    }
    return len;
}

/* POST json to base+path with the session header; the status, or 0 on a transport error. */
static long post(CURL *c, const traffic *t, const char *path, const char *session, json_t *body,
                 reply *r)
{
    char *url = xasprintf("%s%s", t->router, path);
    char *text = json_dumps(body, JSON_COMPACT);
    char *h = xasprintf("%s: %s", t->header, session);
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    hs = curl_slist_append(hs, h);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    free(h);
    free(text);
    free(url);
    return status;
}

static void send_event(CURL *c, traffic *t, const char *session, json_t *ev)
{
    json_object_set_new(ev, "session", json_string(session));
    json_object_set_new(ev, "agent", json_string(t->agent));
    reply r = {0};
    long st = post(c, t, "/v1/events", session, ev, &r);
    free(r.body.data);
    json_decref(ev);
    pthread_mutex_lock(&t->mu);
    if (st >= 200 && st < 300)
        t->events_sent++;
    else
        t->events_rejected++;
    pthread_mutex_unlock(&t->mu);
}

/* ---- a session ---- */

typedef struct convo {
    json_t *messages;
    int failed;
    long requests, http_errors, tool_calls, tool_errors;
    char version[128];   /* the version of the last answer */
    int version_changed; /* an answer came from another version than the one before */
} convo;

/* A tool's canned result, shaped like what the support agent's tools return. */
static json_t *canned(const char *name, const char *args)
{
    json_t *a = json_loads(args, 0, NULL);
    json_t *res;
    if (strcmp(name, "lookup_order") == 0)
        res = json_pack("{s:O?,s:b,s:s,s:s,s:f}", "order_id", json_object_get(a, "order_id"),
                        "belongs_to_customer", 1, "status", "shipped", "estimated_delivery",
                        "2026-12-02", "total_eur", 49.9);
    else
        res = json_pack("{s:b}", "ok", 1);
    json_decref(a);
    return res;
}

/* ---- each protocol's conversation ---- */

/* What differs between the protocols a user's application may speak: the request, reading an
   answer, and giving tool results back. A conversation is the history in the protocol's terms
   (chat and Messages: messages; Responses: input items), a user message being
   {"role": "user", "content": text} in all three. */
struct wire {
    const char *name, *path;
    /* The request for the history (new reference). */
    json_t *(*request)(const traffic *t, json_t *history);
    /* Append the answer's turn to the history and its tool calls to calls, as
       [{"id", "name", "arguments"}] (arguments: JSON text). -1 when it is not an answer. */
    int (*answer)(json_t *ans, json_t *history, json_t *calls);
    /* Append the results ([{"id", "content"}]) of the calls to the history. */
    void (*results)(json_t *history, json_t *results);
};

static void add_call(json_t *calls, const char *id, const char *name, const char *args)
{
    json_array_append_new(calls, json_pack("{s:s,s:s,s:s}", "id", id ? id : "call", "name",
                                           name ? name : "", "arguments", args ? args : ""));
}

static json_t *chat_request(const traffic *t, json_t *history)
{
    return json_pack("{s:s,s:O}", "model", t->agent, "messages", history);
}

static int chat_answer(json_t *ans, json_t *history, json_t *calls)
{
    json_t *choice = json_array_get(json_object_get(ans, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    if (!json_is_object(msg) || !finish || strcmp(finish, "error") == 0)
        return -1;
    json_array_append(history, msg);
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call)
    {
        json_t *fn = json_object_get(call, "function");
        add_call(calls, json_string_value(json_object_get(call, "id")),
                 json_string_value(json_object_get(fn, "name")),
                 json_string_value(json_object_get(fn, "arguments")));
    }
    return 0;
}

static void chat_results(json_t *history, json_t *results)
{
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) json_array_append_new(
        history, json_pack("{s:s,s:O,s:O}", "role", "tool", "tool_call_id",
                           json_object_get(r, "id"), "content", json_object_get(r, "content")));
}

static json_t *responses_request(const traffic *t, json_t *history)
{
    return json_pack("{s:s,s:O}", "model", t->agent, "input", history);
}

/* The output items go back as input items, function calls included (stateless: the whole
   conversation each time, as with store: false). */
static int responses_answer(json_t *ans, json_t *history, json_t *calls)
{
    json_t *output = json_object_get(ans, "output");
    const char *status = json_string_value(json_object_get(ans, "status"));
    if (!json_is_array(output) || !status || strcmp(status, "failed") == 0)
        return -1;
    size_t i;
    json_t *item;
    json_array_foreach(output, i, item)
    {
        json_array_append(history, item);
        const char *type = json_string_value(json_object_get(item, "type"));
        if (type && strcmp(type, "function_call") == 0)
            add_call(calls, json_string_value(json_object_get(item, "call_id")),
                     json_string_value(json_object_get(item, "name")),
                     json_string_value(json_object_get(item, "arguments")));
    }
    return 0;
}

static void responses_results(json_t *history, json_t *results)
{
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) json_array_append_new(
        history, json_pack("{s:s,s:O,s:O}", "type", "function_call_output", "call_id",
                           json_object_get(r, "id"), "output", json_object_get(r, "content")));
}

static json_t *messages_request(const traffic *t, json_t *history)
{
    return json_pack("{s:s,s:i,s:O}", "model", t->agent, "max_tokens", 1024, "messages", history);
}

static int messages_answer(json_t *ans, json_t *history, json_t *calls)
{
    json_t *content = json_object_get(ans, "content");
    if (!json_is_array(content))
        return -1;
    json_array_append_new(history, json_pack("{s:s,s:O}", "role", "assistant", "content", content));
    size_t i;
    json_t *block;
    json_array_foreach(content, i, block)
    {
        const char *type = json_string_value(json_object_get(block, "type"));
        if (!type || strcmp(type, "tool_use") != 0)
            continue;
        char *args = json_dumps(json_object_get(block, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
        add_call(calls, json_string_value(json_object_get(block, "id")),
                 json_string_value(json_object_get(block, "name")), args);
        free(args);
    }
    return 0;
}

/* Every result of a turn in one user message, as Anthropic wants them. */
static void messages_results(json_t *history, json_t *results)
{
    json_t *blocks = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) json_array_append_new(
        blocks, json_pack("{s:s,s:O,s:O}", "type", "tool_result", "tool_use_id",
                          json_object_get(r, "id"), "content", json_object_get(r, "content")));
    json_array_append_new(history, json_pack("{s:s,s:o}", "role", "user", "content", blocks));
}

static const wire wires[] = {
    {"chat", "/v1/chat/completions", chat_request, chat_answer, chat_results},
    {"responses", "/v1/responses", responses_request, responses_answer, responses_results},
    {"messages", "/v1/messages", messages_request, messages_answer, messages_results},
};

/* One user turn: the request, and the tool loop (at most 4 model calls). */
static void turn(CURL *c, traffic *t, const char *session, convo *cv, const char *text)
{
    const wire *w = t->wire;
    json_array_append_new(cv->messages, json_pack("{s:s,s:s}", "role", "user", "content", text));
    for (int step = 0; step < 4 && !cv->failed; step++) {
        json_t *req = w->request(t, cv->messages);
        reply r = {0};
        long st = post(c, t, w->path, session, req, &r);
        json_decref(req);
        cv->requests++;
        if (r.version[0]) {
            /* A pinned conversation keeps its version: one that moves is worth counting. */
            if (cv->version[0] && strcmp(cv->version, r.version) != 0)
                cv->version_changed = 1;
            memcpy(cv->version, r.version, sizeof cv->version);
        }
        json_t *ans = st == 200 && r.body.len ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
        free(r.body.data);
        json_t *calls = json_array();
        if (!ans || w->answer(ans, cv->messages, calls) < 0) {
            cv->http_errors++;
            cv->failed = 1;
            json_decref(calls);
            json_decref(ans);
            return;
        }
        json_decref(ans);
        if (json_array_size(calls) == 0) {
            json_decref(calls);
            return;
        }
        json_t *results = json_array();
        size_t i;
        json_t *call;
        json_array_foreach(calls, i, call)
        {
            const char *name = json_string_value(json_object_get(call, "name"));
            const char *args = json_string_value(json_object_get(call, "arguments"));
            char why[256] = "";
            int ok = check_call(t, name, args, why, sizeof why);
            cv->tool_calls++;
            if (!ok) {
                cv->tool_errors++;
                cv->failed = 1;
            }
            send_event(c, t, session,
                       json_pack("{s:s,s:s,s:b}", "type", "tool_call", "name", name, "ok", ok));
            json_t *res = ok ? canned(name, args) : json_pack("{s:s}", "error", why);
            char *res_text = json_dumps(res, JSON_COMPACT);
            json_array_append_new(results, json_pack("{s:O,s:s}", "id", json_object_get(call, "id"),
                                                     "content", res_text));
            free(res_text);
            json_decref(res);
        }
        w->results(cv->messages, results);
        json_decref(results);
        json_decref(calls);
    }
}

static void session(CURL *c, traffic *t, long k)
{
    uint64_t s = t->seed * 0x100000001b3ull + (uint64_t)k;
    mix(&s);
    char key[64], order[32], text[256];
    snprintf(key, sizeof key, "user-%llu-%ld", (unsigned long long)t->seed, k + 1);
    /* Order numbers NW-9xxxxx: live customers' orders, not the golden set's. */
    snprintf(order, sizeof order, "NW-9%05u", pick(&s, 100000));
    convo cv = {.messages = json_array()};
    int turns = 2 + (int)pick(&s, 3);
    static const char *const opening[] = {"Hi, where is my order?",
                                          "My parcel has not arrived yet, can you check?",
                                          "I would like to return something from my order."};
    static const char *const followups[] = {"Thanks! When will it arrive exactly?",
                                            "Can I speak to a human about it?", "Great, thank you.",
                                            "Yes, confirm the refund for %s"};
    unsigned kind = pick(&s, 4);
    if (kind == 3)
        snprintf(text, sizeof text, "Where is my order %s?", order);
    else
        snprintf(text, sizeof text, "%s", opening[kind]);
    turn(c, t, key, &cv, text);
    for (int i = 1; i < turns && !cv.failed && !stopping; i++) {
        if (i == 1 && kind != 3)
            snprintf(text, sizeof text, "It is %s.", order);
        else {
            unsigned f = pick(&s, 4);
            if (f == 3)
                snprintf(text, sizeof text, "Yes, confirm the refund for %s", order);
            else
                snprintf(text, sizeof text, "%s", followups[f]);
        }
        turn(c, t, key, &cv, text);
    }
    if (cv.requests > 0)
        send_event(
            c, t, key,
            json_pack("{s:s,s:s}", "type", "task", "outcome", cv.failed ? "failed" : "completed"));
    pthread_mutex_lock(&t->mu);
    t->sessions++;
    *(cv.failed ? &t->failed : &t->completed) += 1;
    t->requests += cv.requests;
    t->http_errors += cv.http_errors;
    t->tool_calls += cv.tool_calls;
    t->tool_errors += cv.tool_errors;
    t->version_changes += cv.version_changed;
    if (cv.version[0]) {
        json_t *n = json_object_get(t->by_version, cv.version);
        json_object_set_new(t->by_version, cv.version, json_integer(json_integer_value(n) + 1));
    }
    pthread_mutex_unlock(&t->mu);
    json_decref(cv.messages);
}

static void *user(void *arg)
{
    traffic *t = arg;
    CURL *c = curl_easy_init();
    while (!stopping && c) {
        pthread_mutex_lock(&t->mu);
        long k = t->next_session++;
        pthread_mutex_unlock(&t->mu);
        double start = t->t0 + (double)k / t->rate;
        if (t->duration_s > 0 && start - t->t0 >= t->duration_s)
            break;
        /* Sleep in short slices so a signal is noticed quickly. */
        while (!stopping) {
            double wait = start - now_s();
            if (wait <= 0)
                break;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(fmin(wait, 0.1) * 1e9)};
            nanosleep(&ts, NULL);
        }
        if (stopping)
            break;
        session(c, t, k);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static void summary(traffic *t, int json, double elapsed)
{
    if (json) {
        json_t *j = json_pack(
            "{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:O,s:f}", "sessions",
            (json_int_t)t->sessions, "completed", (json_int_t)t->completed, "failed",
            (json_int_t)t->failed, "requests", (json_int_t)t->requests, "request_errors",
            (json_int_t)t->http_errors, "tool_calls", (json_int_t)t->tool_calls, "tool_errors",
            (json_int_t)t->tool_errors, "events_sent", (json_int_t)t->events_sent,
            "events_rejected", (json_int_t)t->events_rejected, "version_changes",
            (json_int_t)t->version_changes, "by_version", t->by_version, "elapsed_s", elapsed);
        char *s = json_dumps(j, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(j);
        return;
    }
    printf("traffic: %ld sessions (%ld completed, %ld failed), %ld requests (%ld failed), "
           "%ld tool calls (%ld refused), %ld events sent (%ld rejected) in %.1fs",
           t->sessions, t->completed, t->failed, t->requests, t->http_errors, t->tool_calls,
           t->tool_errors, t->events_sent, t->events_rejected, elapsed);
    if (t->version_changes > 0)
        printf("; %ld sessions changed version mid-conversation", t->version_changes);
    const char *v;
    json_t *n;
    int first = 1;
    json_object_foreach(t->by_version, v, n)
    {
        printf("%s%s: %lld", first ? "; sessions by version: " : ", ", v,
               (long long)json_integer_value(n));
        first = 0;
    }
    printf("\n");
}

static int parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cmd_traffic(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {"router", required_argument, NULL, OPT_ROUTER},
                                         {"agent", required_argument, NULL, OPT_AGENT},
                                         {"users", required_argument, NULL, OPT_USERS},
                                         {"rate", required_argument, NULL, OPT_RATE},
                                         {"duration", required_argument, NULL, OPT_DURATION},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"tools", required_argument, NULL, OPT_TOOLS},
                                         {"session-header", required_argument, NULL, OPT_HEADER},
                                         {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                         {"protocol", required_argument, NULL, OPT_PROTOCOL},
                                         {0, 0, 0, 0}};
    cli_common c = {0};
    traffic t = {.router = getenv("SLIPWAY_ROUTER"),
                 .header = "x-slipway-session",
                 .users = 4,
                 .rate = 5,
                 .duration_s = 30,
                 .timeout_s = 10,
                 .seed = 1,
                 .wire = &wires[0]};
    const char *tools = NULL;
    optind = 1;
    int opt;
    long v;
    char *end;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int common = cli_common_option(&c, opt, optarg);
        if (common < 0)
            return 2;
        if (common)
            continue;
        switch (opt) {
        case 'h':
            return cli_usage(stdout, usage, 0);
        case OPT_ROUTER:
            t.router = optarg;
            break;
        case OPT_AGENT:
            t.agent = optarg;
            break;
        case OPT_USERS:
            if (parse_long(optarg, 1, 1000, &t.users) < 0)
                return cli_fail_usage("traffic", "--users: expected 1 to 1000, got '%s'", optarg);
            break;
        case OPT_RATE:
            t.rate = strtod(optarg, &end);
            if (end == optarg || *end || !(t.rate > 0) || t.rate > 10000)
                return cli_fail_usage("traffic", "--rate: expected sessions per second, got '%s'",
                                      optarg);
            break;
        case OPT_DURATION:
            if (parse_duration(optarg, &t.duration_s) < 0)
                return cli_fail_usage("traffic", "--duration: expected a duration, got '%s'",
                                      optarg);
            break;
        case OPT_TIMEOUT:
            if (parse_duration(optarg, &t.timeout_s) < 0 || t.timeout_s <= 0)
                return cli_fail_usage("traffic", "--timeout: expected a duration, got '%s'",
                                      optarg);
            break;
        case OPT_SEED:
            if (parse_long(optarg, 0, 0x7fffffffL, &v) < 0)
                return cli_fail_usage("traffic", "--seed: expected a number, got '%s'", optarg);
            t.seed = (uint64_t)v;
            break;
        case OPT_TOOLS:
            tools = optarg;
            break;
        case OPT_HEADER:
            t.header = optarg;
            break;
        case OPT_PROTOCOL:
            t.wire = NULL;
            for (size_t i = 0; i < sizeof wires / sizeof *wires; i++)
                if (strcmp(optarg, wires[i].name) == 0)
                    t.wire = &wires[i];
            if (!t.wire)
                return cli_fail_usage("traffic",
                                      "--protocol: expected chat, responses or messages, got '%s'",
                                      optarg);
            break;
        default:
            return cli_fail_usage("traffic", "bad option");
        }
    }
    if (optind < argc)
        return cli_fail_usage("traffic", "unexpected argument '%s'", argv[optind]);
    if (!t.router || !*t.router)
        return cli_fail_usage("traffic", "--router URL is required");
    if (!t.agent || !*t.agent)
        return cli_fail_usage("traffic", "--agent NAME is required");
    if (!*t.header)
        return cli_fail_usage("traffic", "--session-header must not be empty");
    char *router = xstrdup(t.router);
    for (size_t n = strlen(router); n && router[n - 1] == '/'; n--)
        router[n - 1] = 0;
    t.router = router;
    int rc = 0;
    if (tools && load_tools(&t, tools) < 0)
        rc = 2;

    pthread_t *th = NULL;
    long started = 0;
    if (rc == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        pthread_mutex_init(&t.mu, NULL);
        t.by_version = json_object();
        t.t0 = now_s();
        th = xrealloc(NULL, (size_t)t.users * sizeof *th);
        for (; started < t.users; started++)
            if (pthread_create(&th[started], NULL, user, &t) != 0)
                break;
        for (long i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        summary(&t, c.json, now_s() - t.t0);
        if (t.sessions > 0 && t.failed == t.sessions && t.requests == t.http_errors)
            rc = 1; /* nothing got through: the router is down or refuses everything */
        json_decref(t.by_version);
        pthread_mutex_destroy(&t.mu);
        curl_global_cleanup();
    }
    free(th);
    for (size_t i = 0; i < t.n_tools; i++) {
        free(t.tools[i].name);
        json_decref(t.tools[i].params);
    }
    free(t.tools);
    free(router);
    return rc;
}
