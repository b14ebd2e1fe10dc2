/* check_proto.c - the protocol table: each protocol's readers (whole answers and streams, fed
 * the mock's own wire forms), error shapes, session fields, the mock's request parsers, and the
 * router's memory of response ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mock/reply.h"
#include "mock/request.h"
#include "proto/proto.h"
#include "router/respids.h"
#include "router/session.h"
#include "router/sse.h"

/* An answer with text and one tool call, as a rule would render it. */
static void sample_answer(sw_mock_answer *a, sw_mock_call_out *call)
{
    memset(a, 0, sizeof *a);
    call->id = "call_0123456789abcdef01234567";
    call->name = "lookup_order";
    call->arguments = "{\"order_id\":\"NW-123456\"}";
    a->content = "Let me look that up for you.";
    a->calls = call;
    a->n_calls = 1;
    a->finish_reason = "tool_calls";
    a->prompt_tokens = 11;
    a->completion_tokens = 17;
}

typedef struct reader {
    const sw_proto *p;
    sw_completion c;
    sw_buf data;
    int events, first_token_at, final_at;
} reader;

/* The router's way of reading a stream (server.c on_event): name, data, the protocol's
   reader. */
static void on_event(void *ud, const char *ev, size_t len)
{
    reader *r = ud;
    char name[64];
    const char *n =
        r->p->named_events && sw_sse_event_name(ev, len, name, sizeof name) == 0 ? name : NULL;
    ck_assert_int_eq(sw_sse_data(ev, len, &r->data), 0);
    if (r->first_token_at < 0 && r->p->first_token(n))
        r->first_token_at = r->events;
    r->events++;
    if (strcmp(r->data.data, "[DONE]") == 0)
        return;
    json_t *j = json_loads(r->data.data, 0, NULL);
    ck_assert_ptr_nonnull(j);
    r->p->read_event(&r->c, n, j);
    json_decref(j);
}

static void check_summary(const sw_completion *c, int collect)
{
    ck_assert(c->has_usage);
    ck_assert_uint_eq(c->tokens_in, 11);
    ck_assert_uint_eq(c->tokens_out, 17);
    ck_assert_uint_eq(c->tool_calls, 1);
    if (!collect)
        return;
    ck_assert_str_eq(c->text.data, "Let me look that up for you.");
    ck_assert_int_eq(json_array_size(c->tools), 1);
    const json_t *t = json_array_get(c->tools, 0);
    ck_assert_str_eq(json_string_value(json_object_get(t, "name")), "lookup_order");
    ck_assert_str_eq(json_string_value(json_object_get(t, "arguments")),
                     "{\"order_id\":\"NW-123456\"}");
}

/* Each protocol's whole answer and stream, as the mock writes them, read back the same. */
static void round_trip(sw_proto_id id, const char *wire_id)
{
    const sw_proto *p = sw_proto_get(id);
    sw_mock_answer a;
    sw_mock_call_out call;
    sample_answer(&a, &call);
    sw_mock_wire w = {wire_id, "support-agent", 1700000000};
    char *whole = id == SW_PROTO_CHAT        ? sw_mock_completion_json(&a, &w)
                  : id == SW_PROTO_RESPONSES ? sw_mock_response_json(&a, &w)
                                             : sw_mock_message_json(&a, &w);
    json_t *j = json_loads(whole, 0, NULL);
    for (int collect = 0; collect < 2; collect++) {
        sw_completion c;
        sw_completion_init(&c, collect);
        p->read_response(&c, j);
        check_summary(&c, collect);
        if (id == SW_PROTO_RESPONSES)
            ck_assert_str_eq(c.response_id, wire_id);
        sw_completion_free(&c);
    }
    json_decref(j);
    free(whole);

    size_t n, n_head = 1, n_body;
    char **ev = id == SW_PROTO_CHAT ? sw_mock_stream_events(&a, &w, 1, 5, &n, &n_body)
                : id == SW_PROTO_RESPONSES
                    ? sw_mock_response_events(&a, &w, 5, &n, &n_head, &n_body)
                    : sw_mock_message_events(&a, &w, 5, &n, &n_head, &n_body);
    ck_assert_uint_lt(n_head, n_body);
    ck_assert_uint_lt(n_body, n);
    sw_buf all = {0};
    for (size_t i = 0; i < n; i++)
        sw_buf_puts(&all, ev[i]);
    for (int collect = 0; collect < 2; collect++) {
        reader r = {p, {0}, {0}, 0, -1, -1};
        sw_completion_init(&r.c, collect);
        /* Fed in pieces of 7 bytes: events split anywhere read the same. */
        sw_sse s = {0};
        for (size_t off = 0; off < all.len; off += 7)
            sw_sse_feed(&s, all.data + off, all.len - off < 7 ? all.len - off : 7, on_event, &r);
        ck_assert_int_eq(r.events, (int)n);
        ck_assert_uint_eq(sw_sse_pending(&s), 0);
        check_summary(&r.c, collect);
        /* The first token is a delta, after the events that open the stream. */
        ck_assert_int_eq(r.first_token_at, id == SW_PROTO_CHAT ? 0 : (int)n_head);
        if (id == SW_PROTO_RESPONSES)
            ck_assert_str_eq(r.c.response_id, wire_id);
        sw_completion_free(&r.c);
        sw_buf_free(&r.data);
        sw_sse_free(&s);
    }
    sw_buf_free(&all);
    sw_mock_events_free(ev, n);
}

START_TEST(chat_round_trip)
{
    round_trip(SW_PROTO_CHAT, "chatcmpl-mock-000000000001");
}
END_TEST

START_TEST(responses_round_trip)
{
    round_trip(SW_PROTO_RESPONSES, "resp_mock_000000000007");
}
END_TEST

START_TEST(messages_round_trip)
{
    round_trip(SW_PROTO_MESSAGES, "msg_mock_000000000007");
}
END_TEST

START_TEST(table_lookups)
{
    ck_assert_ptr_eq(sw_proto_for_path("/responses"), sw_proto_get(SW_PROTO_RESPONSES));
    ck_assert_ptr_eq(sw_proto_for_path("/messages"), sw_proto_get(SW_PROTO_MESSAGES));
    ck_assert_ptr_eq(sw_proto_for_path("/chat/completions"), sw_proto_get(SW_PROTO_CHAT));
    ck_assert_ptr_null(sw_proto_for_path("/completions"));
    ck_assert_ptr_eq(sw_proto_named("messages"), sw_proto_get(SW_PROTO_MESSAGES));
    ck_assert_ptr_null(sw_proto_named("anthropic"));
}
END_TEST

/* Anthropic's input is three counts; cached reads are priced as cached. */
START_TEST(messages_usage_with_cache)
{
    const sw_proto *p = sw_proto_get(SW_PROTO_MESSAGES);
    json_t *m = json_loads("{\"type\":\"message\",\"content\":[],\"usage\":{\"input_tokens\":5,"
                           "\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":20,"
                           "\"output_tokens\":9}}",
                           0, NULL);
    sw_completion c;
    sw_completion_init(&c, 0);
    p->read_response(&c, m);
    ck_assert_uint_eq(c.tokens_in, 125);
    ck_assert_uint_eq(c.cached_in, 100);
    ck_assert_uint_eq(c.tokens_out, 9);
    sw_completion_free(&c);
    json_decref(m);
    /* In a stream the output count in message_delta is cumulative: the last one wins. */
    sw_completion_init(&c, 0);
    json_t *start =
        json_loads("{\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}", 0, NULL);
    json_t *d1 = json_loads("{\"usage\":{\"output_tokens\":4}}", 0, NULL);
    json_t *d2 = json_loads("{\"usage\":{\"output_tokens\":12}}", 0, NULL);
    p->read_event(&c, "message_start", start);
    p->read_event(&c, "message_delta", d1);
    p->read_event(&c, "message_delta", d2);
    ck_assert_uint_eq(c.tokens_in, 3);
    ck_assert_uint_eq(c.tokens_out, 12);
    sw_completion_free(&c);
    json_decref(start);
    json_decref(d1);
    json_decref(d2);
    /* Wrong types read as nothing. */
    json_t *odd = json_loads("{\"usage\":{\"input_tokens\":\"5\"},\"content\":{\"x\":1}}", 0, NULL);
    sw_completion_init(&c, 1);
    p->read_response(&c, odd);
    ck_assert_uint_eq(c.tokens_in, 0);
    ck_assert_uint_eq(c.tool_calls, 0);
    sw_completion_free(&c);
    json_decref(odd);
}
END_TEST

START_TEST(error_shapes)
{
    json_t *e = sw_proto_error(sw_proto_get(SW_PROTO_MESSAGES), 404, "invalid_request_error",
                               "model_not_found", NULL, "unknown agent 'x'");
    ck_assert_str_eq(json_string_value(json_object_get(e, "type")), "error");
    json_t *in = json_object_get(e, "error");
    ck_assert_str_eq(json_string_value(json_object_get(in, "type")), "not_found_error");
    ck_assert_str_eq(json_string_value(json_object_get(in, "message")), "unknown agent 'x'");
    ck_assert_int_eq(json_object_size(in), 2);
    json_decref(e);
    e = sw_proto_error(sw_proto_get(SW_PROTO_RESPONSES), 400, "invalid_request_error",
                       "invalid_messages", "input", "bad \xff input");
    in = json_object_get(e, "error");
    ck_assert_str_eq(json_string_value(json_object_get(in, "code")), "invalid_messages");
    ck_assert_str_eq(json_string_value(json_object_get(in, "param")), "input");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(in, "message"))); /* scrubbed */
    json_decref(e);
    ck_assert_str_eq(sw_proto_anthropic_error_type(429), "rate_limit_error");
    ck_assert_str_eq(sw_proto_anthropic_error_type(503), "overloaded_error");
    ck_assert_str_eq(sw_proto_anthropic_error_type(502), "api_error");
    ck_assert_str_eq(sw_proto_anthropic_error_type(400), "invalid_request_error");

    char *s = sw_proto_stream_error(sw_proto_get(SW_PROTO_MESSAGES), 502, "upstream_error",
                                    "stream_cut", "cut");
    ck_assert_str_eq(s, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                        "\"message\":\"cut\"}}\n\n");
    free(s);
    s = sw_proto_stream_error(sw_proto_get(SW_PROTO_RESPONSES), 502, "upstream_error", "stream_cut",
                              "cut");
    ck_assert_str_eq(s, "event: error\ndata: {\"type\":\"error\",\"code\":\"stream_cut\","
                        "\"message\":\"cut\",\"param\":null}\n\n");
    free(s);
    s = sw_proto_stream_error(sw_proto_get(SW_PROTO_CHAT), 502, "upstream_error", "stream_cut",
                              "cut");
    ck_assert_str_eq(s, "data: {\"error\":{\"message\":\"cut\",\"type\":\"upstream_error\","
                        "\"param\":null,\"code\":\"stream_cut\"}}\n\n");
    free(s);
}
END_TEST

START_TEST(event_names)
{
    char name[16];
    const char *ev = "id: 1\r\nevent: message_start\r\ndata: {}\r\n\r\n";
    ck_assert_int_eq(sw_sse_event_name(ev, strlen(ev), name, sizeof name), 0);
    ck_assert_str_eq(name, "message_start");
    ev = "event:response.output_text.delta\ndata: {}\n\n";
    ck_assert_int_eq(sw_sse_event_name(ev, strlen(ev), name, sizeof name), 0);
    ck_assert_str_eq(name, "response.output"); /* cut to the buffer */
    ck_assert_int_eq(sw_sse_event_name("data: x\n\n", 9, name, sizeof name), -1);
}
END_TEST

static const char *no_header(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

/* Each protocol's own session fields come after the configured ones. */
START_TEST(protocol_session_fields)
{
    sw_session_cfg c;
    sw_session_cfg_default(&c);
    json_t *b = json_loads("{\"metadata\": {\"user_id\": \"claude-user\"}}", 0, NULL);
    sw_attrs a = {no_header, NULL, b};
    sw_session_source src;
    sw_err err = {{0}};
    char *k = sw_session_key(&c, sw_proto_get(SW_PROTO_MESSAGES)->session_fields, &a, &src, &err);
    ck_assert_str_eq(k, "claude-user");
    ck_assert_int_eq(src, SW_SESSION_BODY);
    free(k);
    k = sw_session_key(&c, NULL, &a, &src, &err); /* chat has no such field */
    ck_assert_int_eq(src, SW_SESSION_GENERATED);
    free(k);
    json_decref(b);
    b = json_loads("{\"user\": \"u1\", \"conversation\": {\"id\": \"conv_1\"}}", 0, NULL);
    a.body = b;
    const char *const *rf = sw_proto_get(SW_PROTO_RESPONSES)->session_fields;
    k = sw_session_key(&c, rf, &a, &src, &err);
    ck_assert_str_eq(k, "u1"); /* the configured field first */
    free(k);
    json_object_del(b, "user");
    k = sw_session_key(&c, rf, &a, &src, &err);
    ck_assert_str_eq(k, "conv_1");
    free(k);
    json_object_set_new(b, "conversation", json_string("bad\nid"));
    ck_assert_ptr_null(sw_session_key(&c, rf, &a, &src, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "conversation"));
    json_decref(b);
    sw_session_cfg_free(&c);
}
END_TEST

START_TEST(response_ids)
{
    sw_respids t;
    sw_respids_init(&t, 3);
    sw_respids_put(&t, "a", "resp_1", "s1", 1000);
    sw_respids_put(&t, "a", "resp_2", "s2", 2000);
    sw_respids_put(&t, "b", "resp_1", "s9", 2000); /* another agent's */
    ck_assert_str_eq(sw_respids_session(&t, "a", "resp_1"), "s1");
    ck_assert_str_eq(sw_respids_session(&t, "b", "resp_1"), "s9");
    ck_assert_ptr_null(sw_respids_session(&t, "a", "resp_3"));
    sw_respids_put(&t, "a", "resp_1", "s1b", 3000); /* seen again: the new session */
    ck_assert_str_eq(sw_respids_session(&t, "a", "resp_1"), "s1b");
    ck_assert_uint_eq(sw_respids_count(&t), 3);
    sw_respids_put(&t, "a", "resp_4", "s4", 4000); /* full: the oldest makes room */
    ck_assert_uint_eq(sw_respids_count(&t), 3);
    ck_assert_ptr_null(sw_respids_session(&t, "a", "resp_2"));
    ck_assert_str_eq(sw_respids_session(&t, "a", "resp_1"), "s1b");
    sw_respids_expire(&t, 3000);
    ck_assert_ptr_null(sw_respids_session(&t, "b", "resp_1"));
    ck_assert_ptr_null(sw_respids_session(&t, "a", "resp_1"));
    ck_assert_str_eq(sw_respids_session(&t, "a", "resp_4"), "s4");
    ck_assert_uint_eq(sw_respids_count(&t), 1);
    sw_respids_free(&t);
}
END_TEST

static sw_mock_req parse_ok(int (*parse)(const char *, size_t, const sw_mock_scenario *,
                                         sw_mock_req *, sw_mock_refusal *),
                            const sw_mock_scenario *sc, const char *body)
{
    sw_mock_req q;
    sw_mock_refusal why;
    int rc = parse(body, strlen(body), sc, &q, &why);
    if (rc != 0)
        ck_abort_msg("refused: %s", why.message);
    return q;
}

START_TEST(mock_parses_responses)
{
    sw_mock_scenario *sc = sw_mock_scenario_default();
    sw_mock_req q = parse_ok(
        sw_mock_req_parse_responses, sc,
        "{\"model\": \"m\", \"instructions\": \"You are a grader.\", \"input\": ["
        "{\"role\": \"user\", \"content\": \"where is NW-1?\"},"
        "{\"type\": \"function_call\", \"call_id\": \"c1\", \"name\": \"lookup\", "
        "\"arguments\": \"{}\"},"
        "{\"type\": \"function_call_output\", \"call_id\": \"c1\", \"output\": \"shipped\"}"
        "], \"tools\": [{\"type\": \"function\", \"name\": \"lookup\"}], "
        "\"max_output_tokens\": 50, \"stream\": true}");
    ck_assert_str_eq(q.user, "where is NW-1?");
    ck_assert_str_eq(q.system, "You are a grader.");
    ck_assert(q.judge && q.has_tools && q.stream && q.last_is_tool);
    ck_assert_str_eq(q.tool_name, "lookup");
    ck_assert_str_eq(q.tool_result, "shipped");
    ck_assert_int_eq(q.max_tokens, 50);
    ck_assert_int_eq(q.proto, SW_PROTO_RESPONSES);
    sw_mock_req_free(&q);
    q = parse_ok(sw_mock_req_parse_responses, sc, "{\"model\": \"m\", \"input\": \"hello\"}");
    ck_assert_str_eq(q.user, "hello");
    ck_assert(!q.has_tools && !q.last_is_tool && !q.stream);
    sw_mock_req_free(&q);
    sw_mock_refusal why;
    const char *bad = "{\"model\": \"m\", \"input\": [{\"role\": \"robot\", \"content\": \"x\"}]}";
    ck_assert_int_eq(sw_mock_req_parse_responses(bad, strlen(bad), sc, &q, &why), -1);
    ck_assert_str_eq(why.param, "input[0].role");
    sw_mock_req_free(&q);
    bad = "{\"model\": \"m\", \"input\": 5}";
    ck_assert_int_eq(sw_mock_req_parse_responses(bad, strlen(bad), sc, &q, &why), -1);
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);
}
END_TEST

START_TEST(mock_parses_messages)
{
    sw_mock_scenario *sc = sw_mock_scenario_default();
    sw_mock_req q = parse_ok(
        sw_mock_req_parse_messages, sc,
        "{\"model\": \"claude\", \"max_tokens\": 64, \"system\": [{\"type\": \"text\", \"text\": "
        "\"Be brief.\"}], \"tools\": [{\"name\": \"lookup\", \"input_schema\": {}}], "
        "\"messages\": [{\"role\": \"user\", \"content\": \"where is NW-2?\"},"
        "{\"role\": \"assistant\", \"content\": [{\"type\": \"tool_use\", \"id\": \"tu1\", "
        "\"name\": \"lookup\", \"input\": {\"id\": \"NW-2\"}}]},"
        "{\"role\": \"user\", \"content\": [{\"type\": \"tool_result\", \"tool_use_id\": "
        "\"tu1\", \"content\": [{\"type\": \"text\", \"text\": \"delivered\"}]}]}]}");
    ck_assert_str_eq(q.user, "where is NW-2?"); /* tool results are not the user's words */
    ck_assert_str_eq(q.system, "Be brief.");
    ck_assert(q.has_tools && q.last_is_tool && !q.judge);
    ck_assert_str_eq(q.tool_name, "lookup");
    ck_assert_str_eq(q.tool_result, "delivered");
    ck_assert_int_eq(q.max_tokens, 64);
    ck_assert_int_eq(q.proto, SW_PROTO_MESSAGES);
    sw_mock_req_free(&q);
    sw_mock_refusal why;
    const char *bad =
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}";
    ck_assert_int_eq(sw_mock_req_parse_messages(bad, strlen(bad), sc, &q, &why), -1);
    ck_assert_str_eq(why.param, "max_tokens");
    sw_mock_req_free(&q);
    bad = "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"system\", "
          "\"content\": \"x\"}]}";
    ck_assert_int_eq(sw_mock_req_parse_messages(bad, strlen(bad), sc, &q, &why), -1);
    ck_assert_str_eq(why.param, "messages[0].role");
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, chat_round_trip);
    tcase_add_test(tc, responses_round_trip);
    tcase_add_test(tc, messages_round_trip);
    tcase_add_test(tc, table_lookups);
    tcase_add_test(tc, messages_usage_with_cache);
    tcase_add_test(tc, error_shapes);
    tcase_add_test(tc, event_names);
    tcase_add_test(tc, protocol_session_fields);
    tcase_add_test(tc, response_ids);
    tcase_add_test(tc, mock_parses_responses);
    tcase_add_test(tc, mock_parses_messages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
