/* check_mock_server.c - the mock server over real HTTP (libcurl, loopback, port 0):
   answers, streams, injected errors, bad requests, concurrency, stats, stopping. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "slipway/mock.h"

#include "diag_check.h"

#ifndef SW_TEST_SOURCE_DIR
#define SW_TEST_SOURCE_DIR "tests"
#endif
#define FIXTURE(name) SW_TEST_SOURCE_DIR "/fixtures/mock/" name

static sw_mock *start_scenario(sw_mock_scenario *sc, size_t max_body)
{
    ck_assert_ptr_nonnull(sc);
    sw_mock *m = sw_mock_new(sc);
    if (max_body)
        sw_mock_set_max_body(m, max_body);
    sw_diags *d = sw_diags_new();
    int rc = sw_mock_listen(m, "127.0.0.1:0", d);
    if (rc < 0)
        dump(d);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_gt(sw_mock_port(m), 0);
    sw_diags_free(d);
    return m;
}

static sw_mock *start(void)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = sw_mock_scenario_load(FIXTURE("basic.yaml"), d);
    if (!sc)
        dump(d);
    sw_diags_free(d);
    return start_scenario(sc, 0);
}

static sw_mock *start_text(const char *yaml)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = sw_mock_scenario_parse(yaml, strlen(yaml), "t.yaml", d);
    if (!sc)
        dump(d);
    sw_diags_free(d);
    return start_scenario(sc, 0);
}

typedef struct reply {
    CURLcode code;
    long status;
    sw_buf body;
    sw_buf headers;
} reply;

static size_t collect(char *p, size_t size, size_t n, void *buf)
{
    sw_buf_append(buf, p, size * n);
    return size * n;
}

static CURL *request(sw_mock *m, const char *method, const char *path, const char *body, reply *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char *url = sw_xasprintf("%s%s", sw_mock_url(m), path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    return c;
}

static void finish(CURL *c, reply *r)
{
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    sw_buf_append(&r->body, "", 0);
    sw_buf_append(&r->headers, "", 0);
}

static void http(sw_mock *m, const char *method, const char *path, const char *body, reply *r)
{
    CURL *c = request(m, method, path, body, r);
    r->code = curl_easy_perform(c);
    finish(c, r);
}

static void reply_free(reply *r)
{
    sw_buf_free(&r->body);
    sw_buf_free(&r->headers);
}

static json_t *body_json(const reply *r)
{
    json_error_t je;
    json_t *j = json_loads(r->body.data, 0, &je);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", je.text, r->body.data);
    return j;
}

static const char *jstr(json_t *j, const char *path)
{
    /* a dotted path; in arrays, numbers index */
    char *copy = strdup(path), *save = NULL;
    for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = json_is_array(j) ? json_array_get(j, (size_t)atoi(k)) : json_object_get(j, k);
    free(copy);
    return json_string_value(j);
}

static json_int_t jint(json_t *j, const char *path)
{
    char *copy = strdup(path), *save = NULL;
    for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = json_is_array(j) ? json_array_get(j, (size_t)atoi(k)) : json_object_get(j, k);
    free(copy);
    ck_assert_msg(json_is_integer(j), "%s is not an integer", path);
    return json_integer_value(j);
}

static json_t *stats(sw_mock *m)
{
    char *text = sw_mock_stats_json(m);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    ck_assert_ptr_nonnull(j);
    return j;
}

#define CHAT(user)                                                                                 \
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" user "\"}]}"
#define TOOLS "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup_order\"}}]"

/* ---- answers ---- */

START_TEST(test_text)
{
    sw_mock *m = start();
    reply r;
    http(m, "POST", "/v1/chat/completions", CHAT("hello"), &r);
    ck_assert_int_eq(r.code, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strcasestr(r.headers.data, "content-type: application/json"));
    json_t *j = body_json(&r);
    ck_assert_str_eq(jstr(j, "object"), "chat.completion");
    ck_assert(strncmp(jstr(j, "id"), "chatcmpl-", 9) == 0);
    ck_assert_str_eq(jstr(j, "model"), "gpt-4o-mini");
    ck_assert_str_eq(jstr(j, "choices.0.message.role"), "assistant");
    ck_assert_str_eq(jstr(j, "choices.0.message.content"), "default answer");
    ck_assert_str_eq(jstr(j, "choices.0.finish_reason"), "stop");
    ck_assert_int_eq(jint(j, "usage.prompt_tokens"), 2);     /* "hello": 5 bytes */
    ck_assert_int_eq(jint(j, "usage.completion_tokens"), 4); /* 14 bytes */
    ck_assert_int_eq(jint(j, "usage.total_tokens"), 6);
    ck_assert(json_is_integer(json_object_get(j, "created")));
    json_decref(j);
    reply_free(&r);

    /* the same on the path without /v1, and echo templating */
    http(m, "POST", "/chat/completions", CHAT("echo: hi"), &r);
    ck_assert_int_eq(r.status, 200);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "choices.0.message.content"), "You said: echo: hi");
    json_decref(j);
    reply_free(&r);
    sw_mock_free(m);
}
END_TEST

/* A modifier scales the usage the answering rule reports, on the wire and in
   the stats (its latency scale is covered by check_mock_scenario: no test
   asserts a time). */
START_TEST(test_modifier_usage)
{
    sw_mock *m = start_text("defaults: {respond: {text: default answer}}\n"
                            "modifiers:\n"
                            "  - match: {user: costly}\n"
                            "    usage_scale: 2.5\n");
    reply r;
    http(m, "POST", "/v1/chat/completions", CHAT("costly"), &r);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    ck_assert_int_eq(jint(j, "usage.prompt_tokens"), 5);      /* 6 bytes: 2 tokens, x2.5 */
    ck_assert_int_eq(jint(j, "usage.completion_tokens"), 10); /* 14 bytes: 4 tokens, x2.5 */
    ck_assert_int_eq(jint(j, "usage.total_tokens"), 15);
    ck_assert_str_eq(jstr(j, "choices.0.message.content"), "default answer");
    json_decref(j);
    reply_free(&r);
    http(m, "POST", "/v1/chat/completions", CHAT("cheap"), &r);
    j = body_json(&r);
    ck_assert_int_eq(jint(j, "usage.prompt_tokens"), 2); /* not matched: as counted */
    json_decref(j);
    reply_free(&r);
    j = stats(m);
    ck_assert_int_eq(jint(j, "tokens.prompt"), 7);
    ck_assert_int_eq(jint(j, "tokens.completion"), 14);
    json_decref(j);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_tool_calls)
{
    sw_mock *m = start();
    reply r;
    http(m, "POST", "/v1/chat/completions",
         "{\"model\":\"gpt-4o-mini\"," TOOLS ",\"messages\":[{\"role\":\"user\",\"content\":"
         "\"Where is order NW-104233?\"}]}",
         &r);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    ck_assert_str_eq(jstr(j, "choices.0.finish_reason"), "tool_calls");
    ck_assert(json_is_null(json_object_get(
        json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content")));
    ck_assert_str_eq(jstr(j, "choices.0.message.tool_calls.0.type"), "function");
    ck_assert_str_eq(jstr(j, "choices.0.message.tool_calls.0.function.name"), "lookup_order");
    ck_assert(strncmp(jstr(j, "choices.0.message.tool_calls.0.id"), "call_", 5) == 0);
    json_t *args =
        json_loads(jstr(j, "choices.0.message.tool_calls.0.function.arguments"), 0, NULL);
    ck_assert_ptr_nonnull(args);
    ck_assert_str_eq(jstr(args, "order_id"), "NW-104233");
    ck_assert(json_is_true(json_object_get(args, "include_items")));
    char *call_id = strdup(jstr(j, "choices.0.message.tool_calls.0.id"));
    json_decref(args);
    json_decref(j);
    reply_free(&r);

    /* the agent loop's next turn: the tool result gets a text answer */
    char *body = sw_xasprintf(
        "{\"model\":\"gpt-4o-mini\"," TOOLS ",\"messages\":["
        "{\"role\":\"user\",\"content\":\"Where is order NW-104233?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"%s\",\"type\":"
        "\"function\",\"function\":{\"name\":\"lookup_order\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":\"shipped\"}]}",
        call_id, call_id);
    http(m, "POST", "/v1/chat/completions", body, &r);
    ck_assert_int_eq(r.status, 200);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "choices.0.message.content"), "Your order: shipped");
    ck_assert_str_eq(jstr(j, "choices.0.finish_reason"), "stop");
    json_decref(j);
    reply_free(&r);
    free(body);
    free(call_id);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_judge)
{
    sw_mock *m = start();
    reply r;
    http(m, "POST", "/v1/chat/completions",
         "{\"model\":\"judge-model\",\"messages\":[{\"role\":\"system\",\"content\":\"You are "
         "grading output according to a rubric\"},{\"role\":\"user\",\"content\":\"x\"}]}",
         &r);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    json_t *verdict = json_loads(jstr(j, "choices.0.message.content"), 0, NULL);
    ck_assert_ptr_nonnull(verdict);
    ck_assert(json_is_true(json_object_get(verdict, "pass")));
    ck_assert(json_real_value(json_object_get(verdict, "score")) == 0.9);
    ck_assert_str_eq(jstr(verdict, "reason"), "meets the rubric");
    json_decref(verdict);
    json_decref(j);
    reply_free(&r);
    sw_mock_free(m);
}
END_TEST

/* Split an SSE body into its data payloads. */
static size_t sse_events(const char *body, char ***out)
{
    size_t n = 0;
    char **ev = NULL;
    const char *p = body;
    while ((p = strstr(p, "data: "))) {
        const char *end = strstr(p, "\n\n");
        ck_assert_msg(end != NULL, "unterminated event: %s", p);
        ev = realloc(ev, (n + 1) * sizeof *ev);
        ev[n++] = strndup(p + 6, (size_t)(end - p - 6));
        p = end + 2;
    }
    *out = ev;
    return n;
}

static void sse_free(char **ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ev[i]);
    free(ev);
}

START_TEST(test_stream)
{
    sw_mock *m = start();
    reply r;
    http(m, "POST", "/v1/chat/completions",
         "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"stream please\"}]}",
         &r);
    ck_assert_int_eq(r.code, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strcasestr(r.headers.data, "content-type: text/event-stream"));
    char **ev;
    size_t n = sse_events(r.body.data, &ev);
    ck_assert_uint_ge(n, 6); /* role, several content chunks, finish, usage, [DONE] */
    ck_assert_str_eq(ev[n - 1], "[DONE]");
    sw_buf content = {0};
    size_t content_chunks = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *j = json_loads(ev[i], 0, NULL);
        ck_assert_msg(j != NULL, "%s", ev[i]);
        ck_assert_str_eq(jstr(j, "object"), "chat.completion.chunk");
        json_t *choices = json_object_get(j, "choices");
        if (i == n - 2) { /* the usage chunk: no choices */
            ck_assert_uint_eq(json_array_size(choices), 0);
            ck_assert_int_eq(jint(j, "usage.prompt_tokens"), 4);
            ck_assert_int_eq(jint(j, "usage.completion_tokens"), 8);
            ck_assert_int_eq(jint(j, "usage.total_tokens"), 12);
        } else if (i == n - 3) {
            ck_assert_str_eq(jstr(j, "choices.0.finish_reason"), "stop");
        } else {
            const char *c = jstr(j, "choices.0.delta.content");
            ck_assert_ptr_nonnull(c);
            if (*c)
                content_chunks++;
            sw_buf_puts(&content, c);
        }
        json_decref(j);
    }
    ck_assert_str_eq(content.data, "Hello from the streaming mock!");
    ck_assert_uint_eq(content_chunks, 6); /* 30 bytes in chunks of 5 */
    sw_buf_free(&content);
    sse_free(ev, n);
    reply_free(&r);

    /* without include_usage: no usage chunk */
    http(m, "POST", "/v1/chat/completions",
         "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\","
         "\"content\":\"stream please\"}]}",
         &r);
    n = sse_events(r.body.data, &ev);
    ck_assert_str_eq(ev[n - 1], "[DONE]");
    json_t *last = json_loads(ev[n - 2], 0, NULL);
    ck_assert_str_eq(jstr(last, "choices.0.finish_reason"), "stop");
    ck_assert_ptr_null(json_object_get(last, "usage"));
    json_decref(last);
    sse_free(ev, n);
    reply_free(&r);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_stream_tool_calls)
{
    sw_mock *m = start();
    reply r;
    http(m, "POST", "/v1/chat/completions",
         "{\"model\":\"gpt-4o-mini\",\"stream\":true," TOOLS ",\"messages\":[{\"role\":"
         "\"user\",\"content\":\"order NW-000001 please\"}]}",
         &r);
    ck_assert_int_eq(r.status, 200);
    char **ev;
    size_t n = sse_events(r.body.data, &ev);
    ck_assert_str_eq(ev[n - 1], "[DONE]");
    sw_buf args = {0};
    const char *name = NULL;
    json_t *keep = json_array();
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *j = json_loads(ev[i], 0, NULL);
        json_array_append_new(keep, j);
        json_t *tc = json_array_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"),
                "tool_calls"),
            0);
        if (tc) {
            if (jstr(tc, "function.name"))
                name = jstr(tc, "function.name");
            sw_buf_puts(&args, jstr(tc, "function.arguments"));
        }
        if (i == n - 2)
            ck_assert_str_eq(jstr(j, "choices.0.finish_reason"), "tool_calls");
    }
    ck_assert_str_eq(name, "lookup_order");
    ck_assert_str_eq(args.data, "{\"order_id\":\"NW-000001\",\"include_items\":true}");
    sw_buf_free(&args);
    json_decref(keep);
    sse_free(ev, n);
    reply_free(&r);
    sw_mock_free(m);
}
END_TEST

/* ---- injected errors ---- */

START_TEST(test_injected_errors)
{
    sw_mock *m = start();
    reply r;
    http(m, "POST", "/v1/chat/completions", CHAT("rate me"), &r);
    ck_assert_int_eq(r.status, 429);
    ck_assert_ptr_nonnull(strcasestr(r.headers.data, "retry-after: 7\r\n"));
    json_t *j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.code"), "rate_limit_exceeded");
    ck_assert_str_eq(jstr(j, "error.type"), "requests");
    ck_assert_ptr_nonnull(jstr(j, "error.message"));
    json_decref(j);
    reply_free(&r);

    http(m, "POST", "/v1/chat/completions", CHAT("break me"), &r);
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_null(strcasestr(r.headers.data, "retry-after"));
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.type"), "server_error");
    json_decref(j);
    reply_free(&r);

    http(m, "POST", "/v1/chat/completions", CHAT("busy"), &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strcasestr(r.headers.data, "retry-after: 2\r\n"));
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.message"), "try later");
    json_decref(j);
    reply_free(&r);

    /* a drop: the connection closes with no response at all */
    http(m, "POST", "/v1/chat/completions", CHAT("drop me"), &r);
    ck_assert_int_eq(r.code, CURLE_GOT_NOTHING);
    ck_assert_int_eq(r.status, 0);
    reply_free(&r);

    /* the server still answers after a drop */
    http(m, "POST", "/v1/chat/completions", CHAT("hello"), &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);

    json_t *s = stats(m);
    ck_assert_int_eq(jint(s, "injected.429"), 1);
    ck_assert_int_eq(jint(s, "injected.500"), 1);
    ck_assert_int_eq(jint(s, "injected.503"), 1);
    ck_assert_int_eq(jint(s, "injected.drop"), 1);
    ck_assert_int_eq(jint(s, "by_status.429"), 1);
    ck_assert_int_eq(jint(s, "by_status.500"), 1);
    ck_assert_int_eq(jint(s, "by_status.503"), 1);
    ck_assert_int_eq(jint(s, "by_status.200"), 1);
    ck_assert_int_eq(jint(s, "chat_completions"), 5);
    json_decref(s);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_stall)
{
    sw_mock *m = start();
    reply r;
    /* a stream: some chunks, then silence until the stall ends and the connection closes */
    http(m, "POST", "/v1/chat/completions",
         "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\","
         "\"content\":\"stall me\"}]}",
         &r);
    ck_assert_int_ne(r.code, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    char **ev;
    size_t n = sse_events(r.body.data, &ev);
    ck_assert_uint_ge(n, 2);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(ev[i], "[DONE]");
        ck_assert_ptr_null(strstr(ev[i], "finish_reason\":\"stop"));
    }
    sse_free(ev, n);
    reply_free(&r);
    /* not a stream: no response at all */
    http(m, "POST", "/v1/chat/completions", CHAT("stall me"), &r);
    ck_assert_int_eq(r.code, CURLE_GOT_NOTHING);
    reply_free(&r);
    json_t *s = stats(m);
    ck_assert_int_eq(jint(s, "injected.stall"), 2);
    ck_assert_int_eq(jint(s, "streams"), 1);
    json_decref(s);
    sw_mock_free(m);
}
END_TEST

/* ---- bad requests ---- */

START_TEST(test_bad_requests)
{
    sw_mock *m = start();
    reply r;
    json_t *j;
    http(m, "POST", "/v1/chat/completions", "{not json", &r);
    ck_assert_int_eq(r.status, 400);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.type"), "invalid_request_error");
    ck_assert_str_eq(jstr(j, "error.code"), "invalid_json");
    ck_assert(json_is_null(json_object_get(json_object_get(j, "error"), "param")));
    json_decref(j);
    reply_free(&r);

    http(m, "POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\"}]}", &r);
    ck_assert_int_eq(r.status, 400);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.param"), "model");
    json_decref(j);
    reply_free(&r);

    http(m, "POST", "/v1/chat/completions", "{\"model\":\"m\"}", &r);
    ck_assert_int_eq(r.status, 400);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.param"), "messages");
    json_decref(j);
    reply_free(&r);

    http(m, "POST", "/v1/chat/completions", "", &r);
    ck_assert_int_eq(r.status, 400);
    reply_free(&r);

    http(m, "GET", "/v1/chat/completions", NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_ptr_nonnull(strcasestr(r.headers.data, "allow: POST\r\n"));
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.code"), "method_not_allowed");
    json_decref(j);
    reply_free(&r);

    http(m, "DELETE", "/v1/models", NULL, &r);
    ck_assert_int_eq(r.status, 405);
    reply_free(&r);

    http(m, "GET", "/v2/whatever", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.code"), "unknown_url");
    json_decref(j);
    reply_free(&r);

    json_t *s = stats(m);
    ck_assert_int_eq(jint(s, "by_status.400"), 4);
    ck_assert_int_eq(jint(s, "by_status.405"), 2);
    ck_assert_int_eq(jint(s, "by_status.404"), 1);
    ck_assert_int_eq(jint(s, "requests"), 7);
    ck_assert_int_eq(jint(s, "chat_completions"), 4);
    json_decref(s);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_body_cap)
{
    sw_mock *m = start_scenario(sw_mock_scenario_default(), 1024);
    sw_buf big = {0};
    sw_buf_puts(&big, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (int i = 0; i < 2000; i++)
        sw_buf_puts(&big, "x");
    sw_buf_puts(&big, "\"}]}");
    reply r;
    /* with Content-Length: refused before the body is read */
    http(m, "POST", "/v1/chat/completions", big.data, &r);
    ck_assert_int_eq(r.status, 413);
    json_t *j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.code"), "request_too_large");
    json_decref(j);
    reply_free(&r);
    /* chunked, no length: refused once read */
    CURL *c = request(m, "POST", "/v1/chat/completions", big.data, &r);
    struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, -1L);
    r.code = curl_easy_perform(c);
    finish(c, &r);
    curl_slist_free_all(h);
    ck_assert_int_eq(r.status, 413);
    reply_free(&r);
    /* under the cap: fine */
    http(m, "POST", "/v1/chat/completions", CHAT("small"), &r);
    ck_assert_int_eq(r.status, 200);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "choices.0.message.content"), "This is a mock response.");
    json_decref(j);
    reply_free(&r);
    sw_buf_free(&big);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_models)
{
    sw_mock *m = start();
    reply r;
    http(m, "GET", "/v1/models", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    ck_assert_str_eq(jstr(j, "object"), "list");
    ck_assert_uint_eq(json_array_size(json_object_get(j, "data")), 3);
    ck_assert_str_eq(jstr(j, "data.0.id"), "gpt-4o-mini");
    ck_assert_str_eq(jstr(j, "data.0.object"), "model");
    ck_assert_str_eq(jstr(j, "data.1.id"), "judge-model");
    ck_assert_str_eq(jstr(j, "data.2.id"), "slipway-mock");
    json_decref(j);
    reply_free(&r);
    http(m, "GET", "/v1/models/judge-model", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "id"), "judge-model");
    json_decref(j);
    reply_free(&r);
    http(m, "GET", "/v1/models/gpt-5", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    j = body_json(&r);
    ck_assert_str_eq(jstr(j, "error.code"), "model_not_found");
    json_decref(j);
    reply_free(&r);
    http(m, "HEAD", "/health", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    http(m, "GET", "/health", NULL, &r);
    ck_assert_str_eq(r.body.data, "{\"status\":\"ok\"}");
    reply_free(&r);
    sw_mock_free(m);
}
END_TEST

/* ---- concurrency ---- */

/* N requests at once, each waiting 50 ms: all answered, all counted. */
static void concurrent(sw_mock *m)
{
    enum { N = 64 };
    reply rr;
    http(m, "POST", "/mock/reset", NULL, &rr);
    ck_assert_int_eq(rr.status, 200);
    reply_free(&rr);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)N);
    reply r[N];
    CURL *c[N];
    for (int i = 0; i < N; i++) {
        c[i] = request(m, "POST", "/v1/chat/completions", CHAT("slow please"), &r[i]);
        curl_multi_add_handle(multi, c[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    CURLMsg *msg;
    int left, done = 0;
    while ((msg = curl_multi_info_read(multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            for (int i = 0; i < N; i++)
                if (c[i] == msg->easy_handle) {
                    r[i].code = msg->data.result;
                    done++;
                }
    ck_assert_int_eq(done, N);
    for (int i = 0; i < N; i++) {
        curl_multi_remove_handle(multi, c[i]);
        finish(c[i], &r[i]);
        ck_assert_int_eq(r[i].code, CURLE_OK);
        ck_assert_int_eq(r[i].status, 200);
        json_t *j = body_json(&r[i]);
        ck_assert_str_eq(jstr(j, "choices.0.message.content"), "slow answer");
        json_decref(j);
        reply_free(&r[i]);
    }
    curl_multi_cleanup(multi);
    json_t *s = stats(m);
    ck_assert_int_eq(jint(s, "chat_completions"), N);
    ck_assert_int_eq(jint(s, "by_rule.slow"), N);
    ck_assert_int_eq(jint(s, "by_status.200"), N);
    json_decref(s);
    /* a request leaves in_flight when MHD has finished with it, a moment after the
       client has its answer */
    for (int tries = 0;; tries++) {
        s = stats(m);
        json_int_t open = jint(s, "in_flight");
        json_decref(s);
        if (open == 0)
            break;
        ck_assert_msg(tries < 10000, "%lld requests still in flight", (long long)open);
        usleep(1000);
    }
}

START_TEST(test_concurrent)
{
    sw_mock *m = start();
    concurrent(m);
    sw_mock_free(m);
}
END_TEST

START_TEST(test_concurrent_threads)
{
    sw_mock *m = sw_mock_new(sw_mock_scenario_load(FIXTURE("basic.yaml"), NULL));
    sw_mock_set_threads(m, 3);
    sw_diags *d = sw_diags_new();
    ck_assert_int_eq(sw_mock_listen(m, "127.0.0.1:0", d), 0);
    sw_diags_free(d);
    concurrent(m);
    concurrent(m);
    sw_mock_free(m);
}
END_TEST

/* ---- stats, reset, reproducibility ---- */

static void statuses(sw_mock *m, int n, char *out)
{
    for (int i = 0; i < n; i++) {
        reply r;
        http(m, "POST", "/v1/chat/completions", CHAT("flaky"), &r);
        out[i] = r.status == 200 ? '.' : r.status == 429 ? 'R' : r.status == 500 ? 'E' : '?';
        reply_free(&r);
    }
    out[n] = '\0';
}

START_TEST(test_stats_reset_reproducible)
{
    static const char yaml[] = "seed: 11\n"
                               "rules:\n"
                               "  - name: flaky\n"
                               "    match: {user: flaky}\n"
                               "    errors:\n"
                               "      - {kind: 429, rate: 0.3, retry_after: 0}\n"
                               "      - {kind: 500, rate: 0.2}\n"
                               "    respond: {text: ok}\n";
    sw_mock *m = start_text(yaml);
    char first[41], second[41], other[41];
    statuses(m, 40, first);
    ck_assert_ptr_nonnull(strchr(first, 'R'));
    ck_assert_ptr_nonnull(strchr(first, 'E'));
    ck_assert_ptr_nonnull(strchr(first, '.'));
    ck_assert_ptr_null(strchr(first, '?'));
    reply r;
    http(m, "GET", "/mock/stats", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *s = body_json(&r);
    reply_free(&r);
    int ok = 0, limited = 0, failed = 0;
    for (int i = 0; i < 40; i++) {
        ok += first[i] == '.';
        limited += first[i] == 'R';
        failed += first[i] == 'E';
    }
    ck_assert_int_eq(jint(s, "requests"), 40); /* requests under /mock/ are not counted */
    ck_assert_int_eq(jint(s, "by_rule.flaky"), 40);
    ck_assert_int_eq(jint(s, "by_rule.defaults"), 0);
    ck_assert_int_eq(jint(s, "injected.429"), limited);
    ck_assert_int_eq(jint(s, "injected.500"), failed);
    ck_assert_int_eq(jint(s, "by_status.200"), ok);
    ck_assert_int_eq(jint(s, "tokens.completion"), ok); /* "ok": 1 token each */
    json_decref(s);

    http(m, "POST", "/mock/reset", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    s = stats(m);
    ck_assert_int_eq(jint(s, "requests"), 0);
    ck_assert_int_eq(jint(s, "by_rule.flaky"), 0);
    json_decref(s);
    statuses(m, 40, second);
    ck_assert_str_eq(first, second); /* after a reset, the same draws again */
    sw_mock_free(m);

    /* a new server with the same seed: the same run; another seed: another */
    m = start_text(yaml);
    statuses(m, 40, second);
    ck_assert_str_eq(first, second);
    sw_mock_free(m);
    char *other_yaml = strdup(yaml);
    other_yaml[7] = '2'; /* seed: 12 */
    m = start_text(other_yaml);
    statuses(m, 40, other);
    ck_assert_str_ne(first, other);
    sw_mock_free(m);
    free(other_yaml);
}
END_TEST

/* ---- stopping ---- */

typedef struct bg {
    sw_mock *m;
    reply r;
    const char *body;
} bg;

static void *bg_request(void *arg)
{
    bg *b = arg;
    http(b->m, "POST", "/v1/chat/completions", b->body, &b->r);
    return NULL;
}

START_TEST(test_stop_answers_waiting)
{
    sw_mock *m = start_text("rules:\n"
                            "  - latency: 30s\n"
                            "    respond: {text: late}\n");
    bg b = {m, {0}, CHAT("anything")};
    pthread_t t;
    pthread_create(&t, NULL, bg_request, &b);
    for (;;) { /* wait until the request is in and waiting */
        json_t *s = stats(m);
        json_int_t n = jint(s, "in_flight");
        json_decref(s);
        if (n == 1)
            break;
        usleep(1000);
    }
    sw_mock_stop(m); /* answers the waiting request at once, then stops */
    pthread_join(t, NULL);
    ck_assert_int_eq(b.r.code, CURLE_OK);
    ck_assert_int_eq(b.r.status, 200);
    json_t *j = body_json(&b.r);
    ck_assert_str_eq(jstr(j, "choices.0.message.content"), "late");
    json_decref(j);
    reply_free(&b.r);
    sw_mock_stop(m); /* idempotent */
    sw_mock_free(m);
}
END_TEST

START_TEST(test_stop_closes_streams)
{
    sw_mock *m = start_text("rules:\n"
                            "  - ttft: 0ms\n"
                            "    latency: 30s\n"
                            "    chunk_bytes: 1\n"
                            "    respond: {text: a slow stream}\n");
    bg b = {
        m,
        {0},
        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"};
    pthread_t t;
    pthread_create(&t, NULL, bg_request, &b);
    for (;;) {
        json_t *s = stats(m);
        json_int_t n = json_integer_value(json_object_get(json_object_get(s, "by_status"), "200"));
        json_decref(s);
        if (n == 1)
            break;
        usleep(1000);
    }
    sw_mock_stop(m);
    pthread_join(t, NULL);
    ck_assert_int_eq(b.r.status, 200);
    ck_assert_int_ne(b.r.code, CURLE_OK); /* cut short: no [DONE] */
    ck_assert_ptr_null(strstr(b.r.body.data, "[DONE]"));
    reply_free(&b.r);
    sw_mock_free(m);
}
END_TEST

static void *bg_wait(void *arg)
{
    sw_mock_wait(arg);
    return NULL;
}

START_TEST(test_request_stop_and_wait)
{
    sw_mock *m = start();
    pthread_t t;
    pthread_create(&t, NULL, bg_wait, m);
    reply r;
    http(m, "GET", "/health", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    sw_mock_request_stop(m);
    pthread_join(t, NULL);
    /* stopped: nothing listens any more */
    http(m, "GET", "/health", NULL, &r);
    ck_assert_int_eq(r.code, CURLE_COULDNT_CONNECT);
    reply_free(&r);
    sw_mock_free(m);
}
END_TEST

/* ---- listening ---- */

START_TEST(test_port_file)
{
    char dir[] = "/tmp/sw_mock_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *path = sw_xasprintf("%s/port", dir);
    sw_mock *m = start();
    sw_diags *d = sw_diags_new();
    ck_assert_int_eq(sw_mock_write_port_file(m, path, d), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char text[32] = "";
    ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
    fclose(f);
    char want[32];
    snprintf(want, sizeof want, "%d\n", sw_mock_port(m));
    ck_assert_str_eq(text, want);
    char *url = sw_xasprintf("http://127.0.0.1:%d", sw_mock_port(m));
    ck_assert_str_eq(sw_mock_url(m), url);
    free(url);
    /* a folder that does not exist: an error, not a crash */
    char *bad = sw_xasprintf("%s/no/such/dir/port", dir);
    ck_assert_int_eq(sw_mock_write_port_file(m, bad, d), -1);
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    free(bad);
    sw_diags_free(d);
    sw_mock_free(m);
    unlink(path);
    free(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_listen_errors)
{
    sw_mock *a = start();
    char *taken = sw_xasprintf("127.0.0.1:%d", sw_mock_port(a));
    static const char *const bad[] = {"nonsense", "127.0.0.1:", "127.0.0.1:99999", "[::1:80",
                                      "127.0.0.1:8x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sw_mock *m = sw_mock_new(NULL);
        sw_diags *d = sw_diags_new();
        ck_assert_int_eq(sw_mock_listen(m, bad[i], d), -1);
        ck_assert_uint_eq(sw_diags_errors(d), 1);
        ck_assert_int_eq(sw_mock_port(m), 0);
        ck_assert_ptr_null(sw_mock_url(m));
        sw_diags_free(d);
        sw_mock_free(m);
    }
    sw_mock *m = sw_mock_new(NULL);
    sw_diags *d = sw_diags_new();
    ck_assert_int_eq(sw_mock_listen(m, taken, d), -1);
    char *text = sw_diags_format(d, 0);
    ck_assert_msg(strstr(text, "Address already in use"), "%s", text);
    free(text);
    sw_diags_free(d);
    /* the same server can still listen elsewhere */
    d = sw_diags_new();
    ck_assert_int_eq(sw_mock_listen(m, "127.0.0.1:0", d), 0);
    ck_assert_int_eq(sw_mock_listen(m, "127.0.0.1:0", d), -1); /* already listening */
    sw_diags_free(d);
    reply r;
    http(m, "POST", "/v1/chat/completions", CHAT("x"), &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    sw_mock_free(m);
    free(taken);
    sw_mock_free(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mock_server");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_modifier_usage);
    tcase_add_test(tc, test_tool_calls);
    tcase_add_test(tc, test_judge);
    tcase_add_test(tc, test_stream);
    tcase_add_test(tc, test_stream_tool_calls);
    tcase_add_test(tc, test_injected_errors);
    tcase_add_test(tc, test_stall);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_body_cap);
    tcase_add_test(tc, test_models);
    tcase_add_test(tc, test_concurrent);
    tcase_add_test(tc, test_concurrent_threads);
    tcase_add_test(tc, test_stats_reset_reproducible);
    tcase_add_test(tc, test_stop_answers_waiting);
    tcase_add_test(tc, test_stop_closes_streams);
    tcase_add_test(tc, test_request_stop_and_wait);
    tcase_add_test(tc, test_port_file);
    tcase_add_test(tc, test_listen_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
