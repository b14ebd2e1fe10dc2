/* check_router_stream.c - SSE framing, reading completions (usage, text, tool calls), gateway
 * requests. */
#include <check.h>
#include <string.h>

#include "proto/completion.h"
#include "router/gateway.h"
#include "router/sse.h"

typedef struct got {
    char events[16][256];
    int n;
} got;

static void on_event(void *ud, const char *ev, size_t len)
{
    got *g = ud;
    ck_assert_int_lt(g->n, 16);
    ck_assert_uint_lt(len, 256);
    memcpy(g->events[g->n], ev, len);
    g->events[g->n][len] = '\0';
    g->n++;
}

START_TEST(events_split_anywhere)
{
    const char *stream = "data: {\"a\":1}\n\n: keep-alive\n\ndata: x\r\n\r\nevent: e\ndata: "
                         "1\ndata: 2\n\ndata: [DONE]\n\n";
    size_t n = strlen(stream);
    /* Every way of cutting the stream in two gives the same events. */
    for (size_t cut = 0; cut <= n; cut++) {
        sw_sse s = {0};
        got g = {0};
        sw_sse_feed(&s, stream, cut, on_event, &g);
        sw_sse_feed(&s, stream + cut, n - cut, on_event, &g);
        ck_assert_int_eq(g.n, 5);
        ck_assert_str_eq(g.events[0], "data: {\"a\":1}\n\n");
        ck_assert_str_eq(g.events[2], "data: x\r\n\r\n");
        ck_assert_uint_eq(sw_sse_pending(&s), 0);
        sw_sse_free(&s);
    }
    /* Byte by byte. */
    sw_sse s = {0};
    got g = {0};
    for (size_t i = 0; i < n; i++)
        sw_sse_feed(&s, stream + i, 1, on_event, &g);
    ck_assert_int_eq(g.n, 5);
    sw_sse_feed(&s, "data: half", 10, on_event, &g);
    ck_assert_uint_eq(sw_sse_pending(&s), 10);
    sw_sse_free(&s);
}
END_TEST

START_TEST(an_endless_event_is_capped)
{
    sw_sse s = {.max_event = 64};
    got g = {0};
    ck_assert_int_eq(sw_sse_feed(&s, "data: short\n\n", 13, on_event, &g), 0);
    ck_assert_int_eq(g.n, 1);
    /* An event that never ends: refused once it holds more than the cap, not kept. */
    char chunk[40];
    memset(chunk, 'x', sizeof chunk);
    ck_assert_int_eq(sw_sse_feed(&s, "data: ", 6, on_event, &g), 0);
    ck_assert_int_eq(sw_sse_feed(&s, chunk, sizeof chunk, on_event, &g), 0);
    ck_assert_int_eq(sw_sse_feed(&s, chunk, sizeof chunk, on_event, &g), -1);
    ck_assert_uint_eq(sw_sse_pending(&s), 0);
    /* Whole events in one feed may be longer together than the cap. */
    sw_sse big = {.max_event = 16};
    ck_assert_int_eq(sw_sse_feed(&big, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, on_event, &g), 0);
    ck_assert_int_eq(g.n, 4);
    sw_sse_free(&s);
    sw_sse_free(&big);
}
END_TEST

START_TEST(event_data)
{
    sw_buf b = {0};
    ck_assert_int_eq(sw_sse_data("data: {\"a\":1}\n\n", 15, &b), 0);
    ck_assert_str_eq(b.data, "{\"a\":1}");
    const char *multi = "event: e\ndata: 1\r\ndata:2\n\n";
    ck_assert_int_eq(sw_sse_data(multi, strlen(multi), &b), 0);
    ck_assert_str_eq(b.data, "1\n2");
    ck_assert_int_eq(sw_sse_data(": ping\n\n", 8, &b), -1);
    ck_assert_int_eq(sw_sse_data("data:\n\n", 7, &b), 0);
    ck_assert_str_eq(b.data, "");
    sw_buf_free(&b);
}
END_TEST

START_TEST(completion_from_chunks)
{
    const char *chunks[] = {
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}],"
        "\"usage\":null}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
        "\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\"\"}}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"c2\","
        "\"function\":{\"name\":\"refund\",\"arguments\":\"\"}}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
        "\"arguments\":\":7}\"}}]}}]}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"prompt_tokens_"
        "details\":{\"cached_tokens\":4}}}",
    };
    sw_completion c;
    sw_completion_init(&c, 1);
    for (size_t i = 0; i < 6; i++) {
        json_t *j = json_loads(chunks[i], 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(sw_chunk_usage_only(j), i == 5);
        sw_completion_chunk(&c, j);
        json_decref(j);
    }
    ck_assert_str_eq(c.text.data, "Hello");
    ck_assert_uint_eq(c.tokens_in, 12);
    ck_assert_uint_eq(c.tokens_out, 5);
    ck_assert_uint_eq(c.cached_in, 4);
    ck_assert_uint_eq(c.tool_calls, 2);
    json_t *tools = sw_completion_tools(&c);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tools, 0), "arguments")),
                     "{\"id\":7}");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tools, 1), "name")),
                     "refund");
    json_decref(tools);
    sw_completion_free(&c);
}
END_TEST

START_TEST(completion_from_response)
{
    json_t *j = json_loads(
        "{\"choices\":[{\"message\":{\"content\":\"Hi\",\"tool_calls\":[{\"id\":\"x\",\"type\":"
        "\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}],\"usage\":{\"prompt_tokens\":3,"
        "\"completion_tokens\":2}}",
        0, NULL);
    sw_completion c;
    sw_completion_init(&c, 0); /* not collecting: counts only */
    sw_completion_response(&c, j);
    ck_assert_uint_eq(c.tokens_in, 3);
    ck_assert_uint_eq(c.tool_calls, 1);
    ck_assert_ptr_null(c.text.data);
    sw_completion_free(&c);
    sw_completion_init(&c, 1);
    sw_completion_response(&c, j);
    ck_assert_str_eq(c.text.data, "Hi");
    sw_completion_free(&c);
    json_decref(j);
}
END_TEST

START_TEST(gateway_applies_a_release)
{
    json_t *m = json_loads(
        "{\"model\": {\"provider\": \"openai\", \"name\": \"gpt-4o-2024-08-06\"},"
        " \"prompts\": {\"system\": {\"file\": \"prompts/system.md\", \"text\": \"You are "
        "Support.\"}},"
        " \"parameters\": {\"temperature\": 0.2, \"max_tokens\": 300, \"extra\": {\"seed\": 7}},"
        " \"pricing\": {\"currency\": \"USD\", \"input_per_token\": 0.0000025, "
        "\"output_per_token\": 0.00001},"
        " \"tools\": [{\"name\": \"lookup\", \"definition\": {\"type\": \"function\", "
        "\"function\": {\"name\": \"lookup\"}}}]}",
        0, NULL);
    json_t *body =
        json_loads("{\"model\": \"support-agent\", \"temperature\": 1.5, \"tools\": [{\"x\": 1}],"
                   " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                   0, NULL);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_CHAT, 0, body, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "model")), "gpt-4o-2024-08-06");
    json_t *msgs = json_object_get(body, "messages");
    ck_assert_uint_eq(json_array_size(msgs), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
                     "You are Support.");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "hi");
    ck_assert(json_real_value(json_object_get(body, "temperature")) == 0.2);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "seed")), 7);
    ck_assert_ptr_null(json_object_get(body, "extra"));
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(body, "tools"), 0), "function"),
            "name")),
        "lookup");
    sw_price p;
    sw_gateway_price(m, &p);
    ck_assert(p.set && p.output == 0.00001);
    json_decref(body);
    body = json_loads("{\"messages\": 3}", 0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_CHAT, 0, body, &err), -1);
    json_decref(body);
    json_decref(m);
}
END_TEST

/* The same release in the Responses and Messages terms. */
START_TEST(gateway_applies_in_each_protocol)
{
    json_t *m = json_loads(
        "{\"model\": {\"provider\": \"anthropic\", \"name\": \"claude-sonnet-4-20250514\"},"
        " \"prompts\": {\"system\": {\"text\": \"You are Support.\"}},"
        " \"parameters\": {\"temperature\": 0.2, \"max_tokens\": 300, \"parallel_tool_calls\": "
        "false},"
        " \"tools\": [{\"name\": \"lookup\", \"definition\": {\"type\": \"function\", \"function\":"
        " {\"name\": \"lookup\", \"description\": \"d\", \"parameters\": {\"type\": "
        "\"object\"}}}}]}",
        0, NULL);
    sw_err err = {{0}};
    /* Messages: system before the client's, input_schema tools, max_tokens. */
    json_t *body = json_loads("{\"system\": \"mine\", \"messages\": [{\"role\": \"user\", "
                              "\"content\": \"hi\"}]}",
                              0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_MESSAGES, 0, body, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "system")),
                     "You are Support.\n\nmine");
    json_t *tool = json_array_get(json_object_get(body, "tools"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(tool, "name")), "lookup");
    ck_assert_ptr_nonnull(json_object_get(tool, "input_schema"));
    ck_assert_int_eq(json_integer_value(json_object_get(body, "max_tokens")), 300);
    ck_assert(json_is_true(
        json_object_get(json_object_get(body, "tool_choice"), "disable_parallel_tool_use")));
    json_decref(body);
    /* Responses: instructions, flat tools, max_output_tokens. */
    body = json_loads("{\"input\": \"hi\"}", 0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_RESPONSES, 0, body, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "instructions")), "You are Support.");
    tool = json_array_get(json_object_get(body, "tools"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(tool, "type")), "function");
    ck_assert_str_eq(json_string_value(json_object_get(tool, "name")), "lookup");
    ck_assert_int_eq(json_integer_value(json_object_get(body, "max_output_tokens")), 300);
    json_decref(body);
    /* Messages without max_tokens anywhere: the provider's default, else a clear error. */
    json_object_del(json_object_get(m, "parameters"), "max_tokens");
    body = json_loads("{\"messages\": []}", 0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_MESSAGES, 512, body, &err), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "max_tokens")), 512);
    json_decref(body);
    body = json_loads("{\"messages\": []}", 0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_MESSAGES, 0, body, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "max_tokens"));
    json_decref(body);
    /* A parameter a protocol has no name for is named. */
    json_object_set_new(json_object_get(m, "parameters"), "seed", json_integer(7));
    body = json_loads("{\"input\": \"hi\"}", 0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_RESPONSES, 0, body, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'seed'"));
    json_decref(body);
    body = json_loads("{\"messages\": []}", 0, NULL);
    ck_assert_int_eq(sw_proto_apply_release(m, SW_PROTO_MESSAGES, 100, body, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "seed"));
    json_decref(body);
    ck_assert_int_eq(sw_gateway_upstream(SW_PROTO_CHAT, SW_PROTO_RESPONSES), SW_PROTO_RESPONSES);
    ck_assert_int_eq(sw_gateway_upstream(SW_PROTO_CHAT, SW_PROTO_MESSAGES), SW_PROTO_CHAT);
    ck_assert_int_eq(sw_gateway_upstream(SW_PROTO_MESSAGES, SW_PROTO_CHAT), SW_PROTO_MESSAGES);
    json_decref(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_stream");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, events_split_anywhere);
    tcase_add_test(tc, an_endless_event_is_capped);
    tcase_add_test(tc, event_data);
    tcase_add_test(tc, completion_from_chunks);
    tcase_add_test(tc, completion_from_response);
    tcase_add_test(tc, gateway_applies_a_release);
    tcase_add_test(tc, gateway_applies_in_each_protocol);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
