/*
 * check_eval_target.c - how a case becomes requests, offline: the openai
 * target's agent loop (tool calls answered from canned results, up to
 * max_steps), usage and cost, errors with the API key scrubbed, the http
 * target's body template and paths; and the cache: keys stable under key
 * order, distinct per sample, entries written and read back.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/eval/assert_json.c"
#include "../../plugins/eval/assert_lua.c"
#include "../../plugins/eval/assert_metric.c"
#include "../../plugins/eval/assert_text.c"
#include "../../plugins/eval/assert_tools.c"
#include "../../plugins/eval/assertion.c"
#include "../../plugins/eval/cache.c"
#include "../../plugins/eval/common.c"
#include "../../plugins/eval/judge.c"
#include "../../plugins/eval/schema.c"
#include "../../plugins/eval/target.c"
#include "../../plugins/eval/target_http.c"
#include "../../plugins/eval/target_model.c"
#include "../../plugins/eval/target_openai.c"

static const char *manifest =
    "{\"id\": \"abc123def456\", \"agent\": \"support\", \"model\": {\"provider\": \"openai\", "
    "\"name\": \"gpt-test\"}, \"parameters\": {\"temperature\": 0.2, \"max_tokens\": 100, "
    "\"parallel_tool_calls\": false}, \"pricing\": {\"currency\": \"USD\", \"input_per_token\": "
    "0.000002, \"output_per_token\": 0.00001}, \"prompts\": {\"system\": {\"text\": \"You are "
    "helpful.\"}}, \"tools\": [{\"name\": \"lookup_order\", \"side_effect\": \"read_only\", "
    "\"definition\": {\"type\": \"function\", \"function\": {\"name\": \"lookup_order\", "
    "\"parameters\": {\"type\": \"object\"}}}}]}";

/* A target as eval.c makes one: kind, protocol (-1: by the release's provider), base URL,
   key, max_steps, the http parameter. */
static int target_init(ev_target *t, ev_target_kind kind, int proto, const char *base_url,
                       const char *key, int max_steps, const char *http, sw_err *err)
{
    ev_target_opts o = {.kind = kind,
                        .proto = proto,
                        .base_url = base_url,
                        .api_key = key,
                        .max_steps = max_steps,
                        .http_json = http};
    return ev_target_init(t, &o, err);
}

static ev_release rel;
static ev_case kase;

static void setup(void)
{
    json_t *m = json_loads(manifest, 0, NULL);
    sw_err err;
    ck_assert_int_eq(ev_release_from_manifest(m, &rel, &err), 0);
    json_decref(m);
    memset(&kase, 0, sizeof kase);
    kase.id = "c1";
    kase.input = "Where is NW-104233?";
    kase.messages = json_pack("[{s:s, s:s}]", "role", "user", "content", kase.input);
    kase.vars = json_pack("{s:s}", "order", "NW-104233");
    kase.tool_results =
        json_pack("{s:[{s:s}, {s:s}]}", "lookup_order", "status", "shipped", "status", "delivered");
    kase.tags = json_array();
}

static void teardown(void)
{
    ev_release_clear(&rel);
    json_decref(kase.messages);
    json_decref(kase.vars);
    json_decref(kase.tool_results);
    json_decref(kase.tags);
}

/* A chat completion answer: text, or one tool call. */
static char *answer(const char *text, const char *tool, const char *args, int in, int out)
{
    json_t *msg = json_pack("{s:s}", "role", "assistant");
    json_object_set_new(msg, "content", text ? json_string(text) : json_null());
    if (tool)
        json_object_set_new(msg, "tool_calls",
                            json_pack("[{s:s, s:s, s:{s:s, s:s}}]", "id", "call_1", "type",
                                      "function", "function", "name", tool, "arguments", args));
    json_t *r = json_pack("{s:[{s:i, s:o, s:s}], s:{s:i, s:i}}", "choices", "index", 0, "message",
                          msg, "finish_reason", tool ? "tool_calls" : "stop", "usage",
                          "prompt_tokens", in, "completion_tokens", out);
    char *t = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return t;
}

static json_t *next_body(ev_convo *cv, ev_req_spec *spec, char key[65])
{
    sw_err err;
    ck_assert_int_eq(ev_convo_next(cv, spec, key, &err), 0);
    json_t *b = json_loads(spec->body, 0, NULL);
    ck_assert_ptr_nonnull(b);
    return b;
}

static int take(ev_convo *cv, ev_req_spec *spec, const char *body, long status, double ms)
{
    free(spec->body);
    ev_response r = {
        .status = status, .body = body, .len = strlen(body), .latency_ms = ms, .attempts = 1};
    return ev_convo_take(cv, &r);
}

/* The conversation's output once the loop ended. */
static void expect_output(const ev_convo *cv, const char *text, const char *finish, size_t calls,
                          int64_t tokens_in)
{
    ck_assert_ptr_null(cv->out.error);
    ck_assert_str_eq(cv->out.text, text);
    ck_assert_str_eq(cv->out.finish_reason, finish);
    ck_assert_uint_eq(cv->out.n_calls, calls);
    ck_assert_int_eq(cv->out.tokens_in, tokens_in);
}

START_TEST(test_agent_loop)
{
    ev_target t;
    sw_err err;
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, -1, "http://127.0.0.1:9/v1/", "sk-secret-1",
                                 4, NULL, &err),
                     0);
    ck_assert_str_eq(t.ep[SW_PROTO_CHAT].url, "http://127.0.0.1:9/v1/chat/completions");
    ck_assert_str_eq(t.ep[SW_PROTO_MESSAGES].url, "http://127.0.0.1:9/v1/messages");
    t.keyed = 1;
    ev_convo cv;
    ev_convo_init(&cv, &t, &rel, &kase, 0);
    ev_req_spec spec;
    char key[65];
    json_t *b = next_body(&cv, &spec, key);
    /* The release applied: system prompt first, pinned model, tools, parameters. */
    ck_assert_str_eq(json_string_value(json_object_get(b, "model")), "gpt-test");
    json_t *msgs = json_object_get(b, "messages");
    ck_assert_uint_eq(json_array_size(msgs), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
                     "You are helpful.");
    ck_assert_uint_eq(json_array_size(json_object_get(b, "tools")), 1);
    ck_assert_double_eq_tol(json_real_value(json_object_get(b, "temperature")), 0.2, 1e-12);
    ck_assert(json_is_false(json_object_get(b, "parallel_tool_calls")));
    ck_assert_str_eq(spec.headers[0], "Authorization: Bearer sk-secret-1");
    ck_assert_ptr_null(spec.headers[1]);
    /* The cache key is the canonical request's, wherever the key order. */
    char want[65];
    ck_assert_int_eq(ev_cache_key("chat", b, 0, want, &err), 0);
    ck_assert_str_eq(key, want);
    ck_assert_int_eq(spec.est_tokens, (int64_t)(spec.body_len / 4) + 100);
    json_decref(b);

    char *a1 = answer(NULL, "lookup_order", "{\"order_id\": \"NW-104233\"}", 100, 10);
    ck_assert_int_eq(take(&cv, &spec, a1, 200, 50), 1);
    free(a1);
    b = next_body(&cv, &spec, key);
    msgs = json_object_get(b, "messages");
    /* system, user, the assistant's tool call, the tool's canned result (the first). */
    ck_assert_uint_eq(json_array_size(msgs), 4);
    json_t *tool_msg = json_array_get(msgs, 3);
    ck_assert_str_eq(json_string_value(json_object_get(tool_msg, "role")), "tool");
    ck_assert_str_eq(json_string_value(json_object_get(tool_msg, "tool_call_id")), "call_1");
    ck_assert_str_eq(json_string_value(json_object_get(tool_msg, "content")),
                     "{\"status\":\"shipped\"}");
    json_decref(b);

    char *a2 = answer(NULL, "lookup_order", "{\"order_id\": \"NW-104233\"}", 150, 10);
    ck_assert_int_eq(take(&cv, &spec, a2, 200, 60), 1);
    free(a2);
    b = next_body(&cv, &spec, key);
    msgs = json_object_get(b, "messages");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 5), "content")),
                     "{\"status\":\"delivered\"}");
    json_decref(b);

    char *a3 = answer("It was delivered.", NULL, NULL, 200, 20);
    ck_assert_int_eq(take(&cv, &spec, a3, 200, 70), 0);
    free(a3);
    ck_assert_ptr_null(cv.out.error);
    ck_assert_str_eq(cv.out.text, "It was delivered.");
    ck_assert_str_eq(cv.out.finish_reason, "stop");
    ck_assert_uint_eq(cv.out.n_calls, 2);
    ck_assert_str_eq(cv.out.calls[1].name, "lookup_order");
    ck_assert_int_eq(cv.out.steps, 3);
    ck_assert_int_eq(cv.out.tokens_in, 450);
    ck_assert_int_eq(cv.out.tokens_out, 40);
    /* 450 * 2e-6 + 40 * 1e-5 */
    ck_assert_double_eq_tol(cv.out.cost_usd, 0.0013, 1e-12);
    ck_assert_double_eq_tol(cv.out.latency_ms, 180, 1e-9);
    ck_assert_int_eq(cv.out.attempts, 3);
    ck_assert_int_eq(cv.out.replayed, 0);
    ev_convo_clear(&cv);
    ev_target_clear(&t);
}
END_TEST

START_TEST(test_max_steps_and_missing_tool)
{
    ev_target t;
    sw_err err;
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, -1, "http://h/v1", NULL, 2, NULL, &err), 0);
    ev_convo cv;
    ev_convo_init(&cv, &t, &rel, &kase, 0);
    ev_req_spec spec;
    char key[65];
    json_decref(next_body(&cv, &spec, key));
    ck_assert_ptr_null(spec.headers[0]);
    char *a = answer(NULL, "escalate_to_human", "{}", 10, 1);
    ck_assert_int_eq(take(&cv, &spec, a, 200, 1), 1);
    json_t *b = next_body(&cv, &spec, key);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(b, "messages"), 3), "content")),
                     "{\"error\":\"no canned result for tool escalate_to_human\"}");
    json_decref(b);
    ck_assert_str_eq(json_string_value(json_array_get(cv.out.missing_tools, 0)),
                     "escalate_to_human");
    /* The second model call asks for a tool again: the loop stops at max_steps. */
    ck_assert_int_eq(take(&cv, &spec, a, 200, 1), 0);
    free(a);
    ck_assert_int_eq(cv.out.max_steps_reached, 1);
    ck_assert_str_eq(cv.out.finish_reason, "tool_calls");
    ck_assert_str_eq(cv.out.text, "");
    ck_assert_ptr_null(cv.out.error);
    ev_convo_clear(&cv);
    ev_target_clear(&t);
}
END_TEST

START_TEST(test_errors_scrubbed)
{
    ev_target t;
    sw_err err;
    ck_assert_int_eq(
        target_init(&t, EV_TARGET_MODEL, -1, "http://h/v1", "sk-secret-2", 4, NULL, &err), 0);
    ev_convo cv;
    ev_convo_init(&cv, &t, &rel, &kase, 0);
    ev_req_spec spec;
    char key[65];
    json_decref(next_body(&cv, &spec, key));
    const char *body = "{\"error\": {\"message\": \"Incorrect API key provided: sk-secret-2\"}}";
    ck_assert_int_eq(take(&cv, &spec, body, 401, 5), 0);
    ck_assert_str_eq(cv.out.error, "HTTP 401: Incorrect API key provided: ***");
    ev_convo_clear(&cv);

    ev_convo_init(&cv, &t, &rel, &kase, 0);
    json_decref(next_body(&cv, &spec, key));
    free(spec.body);
    ev_response r = {.error = "timeout after 100 ms (3 attempts)", .attempts = 3};
    ck_assert_int_eq(ev_convo_take(&cv, &r), 0);
    ck_assert_str_eq(cv.out.error, "timeout after 100 ms (3 attempts)");
    ev_convo_clear(&cv);

    ev_convo_init(&cv, &t, &rel, &kase, 0);
    json_decref(next_body(&cv, &spec, key));
    ck_assert_int_eq(take(&cv, &spec, "<html>oops</html>", 200, 5), 0);
    ck_assert_ptr_nonnull(strstr(cv.out.error, "not a chat completion"));
    ev_convo_clear(&cv);
    ev_target_clear(&t);
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, -1, NULL, NULL, 4, NULL, &err), -1);
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, -1, "ftp://x", NULL, 4, NULL, &err), -1);
}
END_TEST

START_TEST(test_samples_and_replay_marks)
{
    ev_target t;
    sw_err err;
    target_init(&t, EV_TARGET_MODEL, -1, "http://h/v1", NULL, 4, NULL, &err);
    t.keyed = 1;
    ev_convo a, b;
    ev_convo_init(&a, &t, &rel, &kase, 0);
    ev_convo_init(&b, &t, &rel, &kase, 1);
    ev_req_spec sa, sb;
    char ka[65], kb[65];
    json_t *ja = next_body(&a, &sa, ka), *jb = next_body(&b, &sb, kb);
    ck_assert(json_equal(ja, jb));
    ck_assert_str_ne(ka, kb); /* the sample index is in the key */
    json_decref(ja);
    json_decref(jb);
    char *ans = answer("hi", NULL, NULL, 1, 1);
    free(sa.body);
    ev_response r = {
        .status = 200, .body = ans, .len = strlen(ans), .latency_ms = 42, .replayed = 1};
    ck_assert_int_eq(ev_convo_take(&a, &r), 0);
    ck_assert_int_eq(a.out.replayed, 1);
    ck_assert_double_eq_tol(a.out.latency_ms, 42, 1e-12);
    free(sb.body);
    free(ans);
    ev_convo_clear(&a);
    ev_convo_clear(&b);
    ev_target_clear(&t);
}
END_TEST

START_TEST(test_http_target)
{
    ev_target t;
    sw_err err;
    const char *cfg = "{\"url\": \"http://127.0.0.1:9/agent\", \"headers\": {\"X-Tenant\": "
                      "\"t-{{order}}\"}, \"body\": {\"message\": \"{{input}}\", \"session\": "
                      "\"{{case_id}}-{{sample}}\", \"history\": \"{{messages}}\", \"canned\": "
                      "\"{{tool_results}}\"}, \"answer\": \"reply.text\", \"tool_calls\": "
                      "\"reply.calls\", \"finish_reason\": \"reply.end\"}";
    int irc = target_init(&t, EV_TARGET_HTTP, -1, NULL, "k-123456", 1, cfg, &err);
    ck_assert_msg(irc == 0, "%s", err.msg);
    ev_convo cv;
    ev_convo_init(&cv, &t, &rel, &kase, 2);
    ev_req_spec spec;
    char key[65];
    json_t *b = next_body(&cv, &spec, key);
    ck_assert_str_eq(json_string_value(json_object_get(b, "message")), "Where is NW-104233?");
    ck_assert_str_eq(json_string_value(json_object_get(b, "session")), "c1-2");
    ck_assert(json_equal(json_object_get(b, "history"), kase.messages));
    ck_assert(json_equal(json_object_get(b, "canned"), kase.tool_results));
    ck_assert_str_eq(spec.url, "http://127.0.0.1:9/agent");
    ck_assert_str_eq(spec.headers[0], "Authorization: Bearer k-123456");
    ck_assert_str_eq(spec.headers[1], "X-Slipway-Release: abc123def456");
    ck_assert_str_eq(spec.headers[2], "X-Tenant: t-NW-104233");
    json_decref(b);
    const char *resp = "{\"reply\": {\"text\": \"Shipped.\", \"end\": \"done\", \"calls\": "
                       "[{\"name\": \"lookup_order\", \"arguments\": {\"order_id\": "
                       "\"NW-104233\"}}]}, \"usage\": {\"input_tokens\": 30, \"output_tokens\": "
                       "5}}";
    ck_assert_int_eq(take(&cv, &spec, resp, 200, 12), 0);
    expect_output(&cv, "Shipped.", "done", 1, 30);
    ck_assert_ptr_nonnull(cv.out.calls[0].args);
    ev_convo_clear(&cv);

    ev_convo_init(&cv, &t, &rel, &kase, 0);
    json_decref(next_body(&cv, &spec, key));
    ck_assert_int_eq(take(&cv, &spec, "{\"other\": 1}", 200, 1), 0);
    ck_assert_str_eq(cv.out.error, "no answer at 'reply.text' in the service's response");
    ev_convo_clear(&cv);
    ev_target_clear(&t);

    ck_assert_int_eq(target_init(&t, EV_TARGET_HTTP, -1, NULL, NULL, 1,
                                 "{\"url\": \"http://x\", \"anwser\": \"a\"}", &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "did you mean 'answer'"));
    ck_assert_int_eq(target_init(&t, EV_TARGET_HTTP, -1, NULL, NULL, 1,
                                 "{\"url\": \"http://x\", \"body\": \"{{nope}}\"}", &err),
                     0);
    ev_convo_init(&cv, &t, &rel, &kase, 0);
    ck_assert_int_eq(ev_convo_next(&cv, &spec, key, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown placeholder '{{nope}}'"));
    ev_convo_clear(&cv);
    ev_target_clear(&t);
}
END_TEST

/* A release on Anthropic: the same manifest with provider anthropic and a Claude model. */
static void load_release(ev_release *r, const char *provider, const char *params)
{
    json_t *m = json_loads(manifest, 0, NULL);
    json_object_set_new(json_object_get(m, "model"), "provider", json_string(provider));
    json_object_set_new(json_object_get(m, "model"), "name",
                        json_string("claude-sonnet-4-5-20250929"));
    if (params)
        json_object_set_new(m, "parameters", json_loads(params, 0, NULL));
    sw_err err;
    ck_assert_int_eq(ev_release_from_manifest(m, r, &err), 0);
    json_decref(m);
}

START_TEST(test_messages_loop)
{
    ev_release claude;
    load_release(&claude, "anthropic", NULL);
    ev_target t;
    sw_err err;
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, -1, "http://127.0.0.1:9/v1",
                                 "sk-ant-secret-3", 4, NULL, &err),
                     0);
    t.keyed = 1;
    /* auto: the release's provider decides; openai stays on Chat Completions. */
    ck_assert_int_eq(ev_target_proto(&t, &claude), SW_PROTO_MESSAGES);
    ck_assert_int_eq(ev_target_proto(&t, &rel), SW_PROTO_CHAT);
    ck_assert_int_eq(ev_target_check(&t, &claude, &err), 0);
    ev_convo cv;
    ev_convo_init(&cv, &t, &claude, &kase, 0);
    ev_req_spec spec;
    char key[65];
    json_t *b = next_body(&cv, &spec, key);
    ck_assert_str_eq(spec.url, "http://127.0.0.1:9/v1/messages");
    ck_assert_str_eq(spec.headers[0], "x-api-key: sk-ant-secret-3");
    ck_assert_str_eq(spec.headers[1], "anthropic-version: 2023-06-01");
    ck_assert_ptr_null(spec.headers[2]);
    /* The release in Messages terms: system, input_schema, max_tokens, the parallel setting. */
    ck_assert_str_eq(json_string_value(json_object_get(b, "model")), "claude-sonnet-4-5-20250929");
    ck_assert_str_eq(json_string_value(json_object_get(b, "system")), "You are helpful.");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "max_tokens")), 100);
    json_t *tool = json_array_get(json_object_get(b, "tools"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(tool, "name")), "lookup_order");
    ck_assert_ptr_nonnull(json_object_get(tool, "input_schema"));
    ck_assert(json_is_true(
        json_object_get(json_object_get(b, "tool_choice"), "disable_parallel_tool_use")));
    ck_assert_uint_eq(json_array_size(json_object_get(b, "messages")), 1);
    char want[65];
    ck_assert_int_eq(ev_cache_key("messages", b, 0, want, &err), 0);
    ck_assert_str_eq(key, want);
    json_decref(b);

    const char *use = "{\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", "
                      "\"content\": [{\"type\": \"text\", \"text\": \"Let me look.\"}, {\"type\": "
                      "\"tool_use\", \"id\": \"toolu_1\", \"name\": \"lookup_order\", \"input\": "
                      "{\"order_id\": \"NW-104233\"}}], \"stop_reason\": \"tool_use\", \"usage\": "
                      "{\"input_tokens\": 80, \"cache_read_input_tokens\": 20, "
                      "\"output_tokens\": 10}}";
    ck_assert_int_eq(take(&cv, &spec, use, 200, 30), 1);
    b = next_body(&cv, &spec, key);
    json_t *msgs = json_object_get(b, "messages");
    ck_assert_uint_eq(json_array_size(msgs), 3);
    /* The model's turn as it wrote it, then the canned result as a tool_result block. */
    json_t *turn = json_array_get(msgs, 1);
    ck_assert_str_eq(json_string_value(json_object_get(turn, "role")), "assistant");
    ck_assert_uint_eq(json_array_size(json_object_get(turn, "content")), 2);
    json_t *res = json_array_get(json_object_get(json_array_get(msgs, 2), "content"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(res, "type")), "tool_result");
    ck_assert_str_eq(json_string_value(json_object_get(res, "tool_use_id")), "toolu_1");
    ck_assert_str_eq(json_string_value(json_object_get(res, "content")),
                     "{\"status\":\"shipped\"}");
    json_decref(b);

    const char *done = "{\"id\": \"msg_2\", \"type\": \"message\", \"role\": \"assistant\", "
                       "\"content\": [{\"type\": \"text\", \"text\": \"It has shipped.\"}], "
                       "\"stop_reason\": \"end_turn\", \"usage\": {\"input_tokens\": 150, "
                       "\"output_tokens\": 8}}";
    ck_assert_int_eq(take(&cv, &spec, done, 200, 20), 0);
    /* Input is all of Anthropic's parts; end_turn in Chat's words. */
    expect_output(&cv, "It has shipped.", "stop", 1, 250);
    ck_assert_str_eq(cv.out.calls[0].name, "lookup_order");
    ck_assert_str_eq(json_string_value(json_object_get(cv.out.calls[0].args, "order_id")),
                     "NW-104233");
    ck_assert_int_eq(cv.out.steps, 2);
    ck_assert_int_eq(cv.out.tokens_cached, 20); /* the cache reads */
    ck_assert_int_eq(cv.out.tokens_out, 18);
    ev_convo_clear(&cv);

    /* An Anthropic error: status and message, the key scrubbed. */
    ev_convo_init(&cv, &t, &claude, &kase, 0);
    json_decref(next_body(&cv, &spec, key));
    ck_assert_int_eq(take(&cv, &spec,
                          "{\"type\": \"error\", \"error\": {\"type\": \"authentication_error\", "
                          "\"message\": \"invalid x-api-key sk-ant-secret-3\"}}",
                          401, 3),
                     0);
    ck_assert_str_eq(cv.out.error, "HTTP 401: invalid x-api-key ***");
    ev_convo_clear(&cv);
    ev_release_clear(&claude);

    /* What Messages cannot take is refused before any case, naming the release and field. */
    load_release(&claude, "anthropic", "{\"temperature\": 0.2, \"max_tokens\": 100, \"seed\": 7}");
    ck_assert_int_eq(ev_target_check(&t, &claude, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "release abc123def456"));
    ck_assert_ptr_nonnull(strstr(err.msg, "Anthropic Messages"));
    ck_assert_ptr_nonnull(strstr(err.msg, "seed"));
    ev_release_clear(&claude);
    load_release(&claude, "anthropic", "{\"temperature\": 0.2}");
    ck_assert_int_eq(ev_target_check(&t, &claude, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "parameters.max_tokens is missing"));
    ev_release_clear(&claude);
    ev_target_clear(&t);
}
END_TEST

START_TEST(test_extra_parameters)
{
    /* parameters.extra: its fields at the top level of the body, as gateway mode sets them. */
    ev_release r;
    load_release(&r, "openai", "{\"temperature\": 0.1, \"extra\": {\"service_tier\": \"flex\"}}");
    ev_target t;
    sw_err err;
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, -1, "http://h/v1", NULL, 2, NULL, &err), 0);
    ev_convo cv;
    ev_convo_init(&cv, &t, &r, &kase, 0);
    ev_req_spec spec;
    char key[65];
    json_t *b = next_body(&cv, &spec, key);
    free(spec.body);
    ck_assert_str_eq(json_string_value(json_object_get(b, "service_tier")), "flex");
    ck_assert_ptr_null(json_object_get(b, "extra"));
    json_decref(b);
    ev_convo_clear(&cv);
    ev_target_clear(&t);
    ev_release_clear(&r);
}
END_TEST

START_TEST(test_responses_loop)
{
    ev_target t;
    sw_err err;
    ck_assert_int_eq(target_init(&t, EV_TARGET_MODEL, SW_PROTO_RESPONSES, "http://h/v1", "sk-r-44",
                                 4, NULL, &err),
                     0);
    ck_assert_int_eq(ev_target_check(&t, &rel, &err), 0);
    ev_convo cv;
    ev_convo_init(&cv, &t, &rel, &kase, 0);
    ev_req_spec spec;
    char key[65];
    json_t *b = next_body(&cv, &spec, key);
    ck_assert_str_eq(spec.url, "http://h/v1/responses");
    ck_assert_str_eq(spec.headers[0], "Authorization: Bearer sk-r-44");
    ck_assert_ptr_null(spec.headers[1]);
    ck_assert_str_eq(json_string_value(json_object_get(b, "instructions")), "You are helpful.");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "max_output_tokens")), 100);
    json_t *tool = json_array_get(json_object_get(b, "tools"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(tool, "type")), "function");
    ck_assert_str_eq(json_string_value(json_object_get(tool, "name")), "lookup_order");
    ck_assert_uint_eq(json_array_size(json_object_get(b, "input")), 1);
    json_decref(b);

    const char *call =
        "{\"id\": \"resp_1\", \"status\": \"completed\", \"output\": [{\"type\": "
        "\"function_call\", \"id\": \"fc_1\", \"call_id\": \"call_9\", \"name\": "
        "\"lookup_order\", \"arguments\": \"{\\\"order_id\\\": \\\"NW-104233\\\"}\"}],"
        " \"usage\": {\"input_tokens\": 60, \"output_tokens\": 7, "
        "\"input_tokens_details\": {\"cached_tokens\": 12}}}";
    ck_assert_int_eq(take(&cv, &spec, call, 200, 10), 1);
    b = next_body(&cv, &spec, key);
    json_t *input = json_object_get(b, "input");
    ck_assert_uint_eq(json_array_size(input), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(input, 1), "type")),
                     "function_call");
    json_t *out = json_array_get(input, 2);
    ck_assert_str_eq(json_string_value(json_object_get(out, "type")), "function_call_output");
    ck_assert_str_eq(json_string_value(json_object_get(out, "call_id")), "call_9");
    ck_assert_str_eq(json_string_value(json_object_get(out, "output")), "{\"status\":\"shipped\"}");
    json_decref(b);

    const char *text = "{\"id\": \"resp_2\", \"status\": \"completed\", \"output\": [{\"type\": "
                       "\"message\", \"role\": \"assistant\", \"content\": [{\"type\": "
                       "\"output_text\", \"text\": \"Shipped.\"}]}], \"usage\": {\"input_tokens\": "
                       "90, \"output_tokens\": 3}}";
    ck_assert_int_eq(take(&cv, &spec, text, 200, 10), 0);
    expect_output(&cv, "Shipped.", "stop", 1, 150);
    ck_assert_int_eq(cv.out.tokens_cached, 12);
    ck_assert_int_eq(cv.out.tokens_out, 10);
    ev_convo_clear(&cv);

    /* A chat completion is not a Responses answer: an error that says so. */
    ev_convo_init(&cv, &t, &rel, &kase, 0);
    json_decref(next_body(&cv, &spec, key));
    char *chat = answer("hi", NULL, NULL, 1, 1);
    ck_assert_int_eq(take(&cv, &spec, chat, 200, 1), 0);
    free(chat);
    ck_assert_ptr_nonnull(strstr(cv.out.error, "not a Responses API response"));
    ev_convo_clear(&cv);

    /* The release's seed has no Responses name: refused before any case. */
    ev_release seeded;
    load_release(&seeded, "openai", "{\"seed\": 7}");
    ck_assert_int_eq(ev_target_check(&t, &seeded, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'seed'"));
    ev_release_clear(&seeded);
    ev_target_clear(&t);
}
END_TEST

START_TEST(test_json_path)
{
    json_t *j = json_loads("{\"a\": {\"b\": [10, {\"c\": \"x\"}]}}", 0, NULL);
    ck_assert_int_eq(json_integer_value(ev_json_path(j, "a.b.0")), 10);
    ck_assert_str_eq(json_string_value(ev_json_path(j, "a.b.1.c")), "x");
    ck_assert_ptr_null(ev_json_path(j, "a.b.2"));
    ck_assert_ptr_null(ev_json_path(j, "a.x"));
    ck_assert_ptr_eq(ev_json_path(j, ""), j);
    json_decref(j);
}
END_TEST

/* ---- the cache ---- */

START_TEST(test_cache_keys)
{
    sw_err err;
    char k1[65], k2[65], k3[65];
    json_t *a = json_loads("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": "
                           "\"hi\"}], \"temperature\": 0.2}",
                           0, NULL);
    json_t *b = json_loads("{\"temperature\": 0.2, \"messages\": [{\"content\": \"hi\", "
                           "\"role\": \"user\"}], \"model\": \"m\"}",
                           0, NULL);
    ck_assert_int_eq(ev_cache_key("chat", a, 0, k1, &err), 0);
    ck_assert_int_eq(ev_cache_key("chat", b, 0, k2, &err), 0);
    ck_assert_str_eq(k1, k2);
    /* SHA-256 of {"kind":"chat","request":{...sorted...},"sample":0,"v":1}. */
    ck_assert_str_eq(k1, "31cc1f436d650bc76ae60f83452c8842ce45fb02de1eb60234ac37afceafe024");
    ck_assert_int_eq(ev_cache_key("chat", a, 1, k3, &err), 0);
    ck_assert_str_eq(k3, "075a982c0134c0dde671d249ab72933ec37817750d6b8d14a9f0b48ecbe0510c");
    char *canon = sw_canon_json(a, &err);
    ev_cache_key_canon("chat", canon, 0, k3);
    ck_assert_str_eq(k3, k1);
    free(canon);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(test_cache_store)
{
    char tmpl[] = "/tmp/check_eval_cache.XXXXXX";
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    char *sub = sw_path_join(dir, "cache");
    sw_err err;
    ck_assert_ptr_null(ev_cache_open(sub, EV_CACHE_REPLAY, &err)); /* nothing recorded yet */
    ev_cache *c = ev_cache_open(sub, EV_CACHE_RECORD, &err);
    ck_assert_ptr_nonnull(c);
    const char *key = "31cc1f436d650bc76ae60f83452c8842ce45fb02de1eb60234ac37afceafe024";
    const char *body = "{\"choices\": [], \"note\": \"caf\xc3\xa9\"}";
    ck_assert_int_eq(ev_cache_put(c, key, 200, body, strlen(body), 123.456, &err), 0);
    ev_cache_close(c);
    c = ev_cache_open(sub, EV_CACHE_REPLAY, &err);
    long status;
    char *got;
    size_t len;
    double ms;
    ck_assert_int_eq(ev_cache_get(c, key, &status, &got, &len, &ms, &err), 1);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(got, body);
    ck_assert_uint_eq(len, strlen(body));
    ck_assert_double_eq(ms, 123.456);
    free(got);
    ck_assert_int_eq(ev_cache_get(c, "00aa", &status, &got, &len, &ms, &err), 0);
    /* A damaged entry is an error, not a miss. */
    char *path = sw_xasprintf("%s/31/%s.json", sub, key);
    ck_assert_int_eq(sw_write_file_atomic(path, "{}", 2, &err), 0);
    ck_assert_int_eq(ev_cache_get(c, key, &status, &got, &len, &ms, &err), -1);
    unlink(path);
    free(path);
    ev_cache_close(c);
    char *d31 = sw_xasprintf("%s/31", sub);
    rmdir(d31);
    free(d31);
    rmdir(sub);
    free(sub);
    ck_assert_int_eq(rmdir(dir), 0);
    ev_cache_mode m;
    ck_assert_int_eq(ev_cache_mode_parse("replay", &m), 0);
    ck_assert_int_eq(m, EV_CACHE_REPLAY);
    ck_assert_int_eq(ev_cache_mode_parse("recrod", &m), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_target");
    TCase *tc = tcase_create("target");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_agent_loop);
    tcase_add_test(tc, test_max_steps_and_missing_tool);
    tcase_add_test(tc, test_errors_scrubbed);
    tcase_add_test(tc, test_samples_and_replay_marks);
    tcase_add_test(tc, test_http_target);
    tcase_add_test(tc, test_messages_loop);
    tcase_add_test(tc, test_responses_loop);
    tcase_add_test(tc, test_extra_parameters);
    tcase_add_test(tc, test_json_path);
    tcase_add_test(tc, test_cache_keys);
    tcase_add_test(tc, test_cache_store);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
