/* check_translate.c - the gateway translators, both directions: requests (tool calls and tool
 * results included), whole answers (Responses on Chat and, chained, on Messages too), streams event
 * by event (fed the mock's own wire forms and read back with the client protocol's reader), stop
 * reasons, usage, and the refusals. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mock/reply.h"
#include "proto/proto.h"
#include "proto/translate.h"
#include "proto/xlate_dirs.h"
#include "router/sse.h"

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    ck_assert_msg(j != NULL, "bad test JSON: %s", je.text);
    return j;
}

static const char *S(const json_t *j, const char *path)
{
    /* a dotted path; digits index lists */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *at = j;
    for (char *tok = strtok(buf, "."); tok && at; tok = strtok(NULL, "."))
        at = (*tok >= '0' && *tok <= '9') ? json_array_get(at, (size_t)atoi(tok))
                                          : json_object_get(at, tok);
    return json_string_value(at);
}

static void sample_answer(sw_mock_answer *a, sw_mock_call_out *call)
{
    memset(a, 0, sizeof *a);
    call->id = "toolu_0123456789";
    call->name = "lookup_order";
    call->arguments = "{\"order_id\":\"NW-123456\"}";
    a->content = "Let me look that up.";
    a->calls = call;
    a->n_calls = 1;
    a->finish_reason = "tool_calls";
    a->prompt_tokens = 11;
    a->completion_tokens = 17;
}

START_TEST(chat_request_to_messages)
{
    const sw_translator *t = sw_translator_find(SW_PROTO_CHAT, SW_PROTO_MESSAGES);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(sw_translator_find(SW_PROTO_MESSAGES, SW_PROTO_RESPONSES));
    json_t *req =
        J("{\"model\": \"m\", \"max_tokens\": 50, \"stop\": \"END\", \"user\": \"u1\","
          " \"parallel_tool_calls\": false, \"tool_choice\": \"required\","
          " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"lookup_order\","
          " \"description\": \"d\", \"parameters\": {\"type\": \"object\"}}}],"
          " \"messages\": [{\"role\": \"system\", \"content\": \"be kind\"},"
          " {\"role\": \"user\", \"content\": \"where?\"},"
          " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\","
          " \"type\": \"function\", \"function\": {\"name\": \"lookup_order\","
          " \"arguments\": \"{\\\"order_id\\\": \\\"NW-1\\\"}\"}}]},"
          " {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"shipped\"},"
          " {\"role\": \"user\", \"content\": \"thanks\"}]}");
    sw_xlate_err err = {{0}, {0}};
    json_t *m = t->request(req, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(S(m, "system"), "be kind");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "max_tokens")), 50);
    ck_assert_str_eq(S(m, "stop_sequences.0"), "END");
    ck_assert_str_eq(S(m, "metadata.user_id"), "u1");
    ck_assert_str_eq(S(m, "tool_choice.type"), "any");
    ck_assert(json_is_true(
        json_object_get(json_object_get(m, "tool_choice"), "disable_parallel_tool_use")));
    ck_assert_str_eq(S(m, "tools.0.name"), "lookup_order");
    ck_assert_str_eq(S(m, "tools.0.input_schema.type"), "object");
    json_t *msgs = json_object_get(m, "messages");
    /* user, assistant (tool_use), user (tool_result + text merged): alternating. */
    ck_assert_uint_eq(json_array_size(msgs), 3);
    ck_assert_str_eq(S(m, "messages.1.content.0.type"), "tool_use");
    ck_assert_str_eq(S(m, "messages.1.content.0.id"), "c1");
    ck_assert_str_eq(S(m, "messages.1.content.0.input.order_id"), "NW-1");
    ck_assert_str_eq(S(m, "messages.2.role"), "user");
    ck_assert_str_eq(S(m, "messages.2.content.0.type"), "tool_result");
    ck_assert_str_eq(S(m, "messages.2.content.0.tool_use_id"), "c1");
    ck_assert_str_eq(S(m, "messages.2.content.0.content"), "shipped");
    ck_assert_str_eq(S(m, "messages.2.content.1.text"), "thanks");
    json_decref(m);
    json_decref(req);
}
END_TEST

/* Each refused request names its field. */
START_TEST(refusals)
{
    static const struct {
        sw_proto_id from, to;
        const char *body, *param;
    } cases[] = {
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES,
         "{\"n\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "n"},
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES,
         "{\"logprobs\": true, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
         "logprobs"},
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES,
         "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"input_audio\"}]}]}",
         "messages[0].content"},
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES,
         "{\"response_format\": {\"type\": \"json_schema\"}, \"messages\": []}", "response_format"},
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES, "{\"seed\": 3, \"messages\": []}", "seed"},
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES, "{\"some_new_field\": 1, \"messages\": []}",
         "some_new_field"},
        {SW_PROTO_CHAT, SW_PROTO_MESSAGES,
         "{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c\", \"function\":"
         " {\"name\": \"f\", \"arguments\": \"[1]\"}}]}]}",
         "messages[0].tool_calls[0]"},
        {SW_PROTO_MESSAGES, SW_PROTO_CHAT, "{\"top_k\": 3, \"messages\": []}", "top_k"},
        {SW_PROTO_MESSAGES, SW_PROTO_CHAT,
         "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"document\"}]}]}",
         "messages[0].content"},
        {SW_PROTO_MESSAGES, SW_PROTO_CHAT, "{\"thinking\": {\"type\": \"enabled\"}}", "thinking"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *req = J(cases[i].body);
        sw_xlate_err err = {{0}, {0}};
        json_t *out = sw_translator_find(cases[i].from, cases[i].to)->request(req, &err);
        ck_assert_msg(out == NULL, "case %zu translated", i);
        ck_assert_str_eq(err.param, cases[i].param);
        ck_assert(err.msg[0]);
        json_decref(req);
    }
    sw_xlate_err err = {{0}, {0}};
    json_t *ok = J("{\"n\": 1, \"logprobs\": false, \"frequency_penalty\": 0, \"messages\": []}");
    json_t *out = sw_translator_find(SW_PROTO_CHAT, SW_PROTO_MESSAGES)->request(ok, &err);
    ck_assert_ptr_nonnull(out); /* defaults are what Messages does anyway */
    json_decref(out);
    json_decref(ok);
}
END_TEST

START_TEST(messages_request_to_chat)
{
    const sw_translator *t = sw_translator_find(SW_PROTO_MESSAGES, SW_PROTO_CHAT);
    json_t *req =
        J("{\"model\": \"m\", \"max_tokens\": 9, \"stream\": true, \"system\": \"sys\","
          " \"metadata\": {\"user_id\": \"u2\"}, \"stop_sequences\": [\"X\"],"
          " \"tool_choice\": {\"type\": \"tool\", \"name\": \"f\"},"
          " \"tools\": [{\"name\": \"f\", \"input_schema\": {\"type\": \"object\"}}],"
          " \"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
          " {\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"t\"},"
          " {\"type\": \"tool_use\", \"id\": \"tu1\", \"name\": \"f\", \"input\": {\"a\": 1}}]},"
          " {\"role\": \"user\", \"content\": [{\"type\": \"tool_result\","
          " \"tool_use_id\": \"tu1\", \"content\": \"r\"}]}]}");
    sw_xlate_err err = {{0}, {0}};
    json_t *c = t->request(req, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_str_eq(S(c, "messages.0.role"), "system");
    ck_assert_str_eq(S(c, "messages.0.content"), "sys");
    ck_assert_str_eq(S(c, "messages.2.tool_calls.0.function.arguments"), "{\"a\":1}");
    ck_assert_str_eq(S(c, "messages.3.role"), "tool");
    ck_assert_str_eq(S(c, "messages.3.tool_call_id"), "tu1");
    ck_assert_str_eq(S(c, "user"), "u2");
    ck_assert_str_eq(S(c, "stop.0"), "X");
    ck_assert_str_eq(S(c, "tool_choice.function.name"), "f");
    ck_assert_str_eq(S(c, "tools.0.function.name"), "f");
    ck_assert(json_is_true(json_object_get(json_object_get(c, "stream_options"), "include_usage")));
    json_decref(c);
    json_decref(req);
}
END_TEST

START_TEST(whole_answers)
{
    sw_mock_answer a;
    sw_mock_call_out call;
    sample_answer(&a, &call);
    sw_mock_wire w = {"msg_1", "claude-x", 1700000000};
    char *text = sw_mock_message_json(&a, &w);
    json_t *msg = J(text);
    free(text);
    json_t *chat = sw_translator_find(SW_PROTO_CHAT, SW_PROTO_MESSAGES)->response(msg);
    ck_assert_str_eq(S(chat, "object"), "chat.completion");
    ck_assert_str_eq(S(chat, "choices.0.message.content"), "Let me look that up.");
    ck_assert_str_eq(S(chat, "choices.0.finish_reason"), "tool_calls");
    ck_assert_str_eq(S(chat, "choices.0.message.tool_calls.0.function.name"), "lookup_order");
    ck_assert_str_eq(S(chat, "choices.0.message.tool_calls.0.function.arguments"),
                     "{\"order_id\":\"NW-123456\"}");
    /* The Chat reader sees the same usage the Messages reader did. */
    sw_completion cm, cc;
    sw_completion_init(&cm, 0);
    sw_completion_init(&cc, 0);
    sw_proto_get(SW_PROTO_MESSAGES)->read_response(&cm, msg);
    sw_proto_get(SW_PROTO_CHAT)->read_response(&cc, chat);
    ck_assert_uint_eq(cc.tokens_in, cm.tokens_in);
    ck_assert_uint_eq(cc.tokens_out, cm.tokens_out);
    ck_assert_uint_eq(cc.tool_calls, 1);
    /* And back: the chat completion as a message. */
    json_t *back = sw_translator_find(SW_PROTO_MESSAGES, SW_PROTO_CHAT)->response(chat);
    ck_assert_str_eq(S(back, "type"), "message");
    ck_assert_str_eq(S(back, "stop_reason"), "tool_use");
    ck_assert_str_eq(S(back, "content.1.input.order_id"), "NW-123456");
    sw_completion cb;
    sw_completion_init(&cb, 0);
    sw_proto_get(SW_PROTO_MESSAGES)->read_response(&cb, back);
    ck_assert_uint_eq(cb.tokens_in, cm.tokens_in);
    ck_assert_uint_eq(cb.tokens_out, cm.tokens_out);
    sw_completion_free(&cm);
    sw_completion_free(&cc);
    sw_completion_free(&cb);
    json_decref(back);
    json_decref(chat);
    json_decref(msg);
    /* Cached input: prompt tokens count all three Anthropic parts. */
    json_t *cached = J("{\"content\": [], \"stop_reason\": \"max_tokens\", \"usage\": "
                       "{\"input_tokens\": 5, \"cache_read_input_tokens\": 100, "
                       "\"cache_creation_input_tokens\": 7, \"output_tokens\": 3}}");
    json_t *c2 = sw_translator_find(SW_PROTO_CHAT, SW_PROTO_MESSAGES)->response(cached);
    json_t *u = json_object_get(c2, "usage");
    ck_assert_int_eq(json_integer_value(json_object_get(u, "prompt_tokens")), 112);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "prompt_tokens_details"),
                                                        "cached_tokens")),
                     100);
    ck_assert_str_eq(S(c2, "choices.0.finish_reason"), "length");
    json_decref(c2);
    json_decref(cached);
}
END_TEST

/* A stream through a translator, fed in pieces, read with the client protocol's reader. */
typedef struct feed {
    const sw_translator *t;
    const sw_proto *up;
    sw_xlate_stream *s;
    sw_buf out, data;
    int events_in;
} feed;

static void on_up_event(void *ud, const char *ev, size_t len)
{
    feed *f = ud;
    char name[64];
    const char *n =
        f->up->named_events && sw_sse_event_name(ev, len, name, sizeof name) == 0 ? name : NULL;
    if (sw_sse_data(ev, len, &f->data) == 0) {
        size_t before = f->out.len;
        f->t->stream_event(f->s, n, f->data.data, f->data.len, &f->out);
        (void)before;
        f->events_in++;
    }
}

typedef struct reader {
    const sw_proto *p;
    sw_completion c;
    sw_buf data;
    int events, done;
} reader;

static void on_client_event(void *ud, const char *ev, size_t len)
{
    reader *r = ud;
    char name[64];
    const char *n =
        r->p->named_events && sw_sse_event_name(ev, len, name, sizeof name) == 0 ? name : NULL;
    if (r->p->named_events)
        ck_assert_ptr_nonnull(n);
    if (sw_sse_data(ev, len, &r->data) != 0)
        return;
    r->events++;
    if (strcmp(r->data.data, "[DONE]") == 0) {
        r->done = 1;
        return;
    }
    json_t *j = json_loads(r->data.data, 0, NULL);
    ck_assert_msg(j != NULL, "not JSON: %s", r->data.data);
    if (n) /* a Messages event's name is its data's type */
        ck_assert_str_eq(S(j, "type"), n);
    r->p->read_event(&r->c, n, j);
    json_decref(j);
}

static void translate_stream(sw_proto_id client, sw_proto_id up, char **ev, size_t n, reader *r)
{
    feed f = {sw_translator_find(client, up), sw_proto_get(up), NULL, {0}, {0}, 0};
    json_t *req = J("{\"stream\": true, \"stream_options\": {\"include_usage\": true}}");
    f.s = f.t->stream_new(req);
    json_decref(req);
    sw_buf all = {0};
    for (size_t i = 0; i < n; i++)
        sw_buf_puts(&all, ev[i]);
    sw_sse s = {0};
    for (size_t off = 0; off < all.len; off += 7) {
        sw_sse_feed(&s, all.data + off, all.len - off < 7 ? all.len - off : 7, on_up_event, &f);
        if (f.events_in == 1) /* event by event: the first upstream event already gives one */
            ck_assert_uint_gt(f.out.len, 0);
    }
    f.t->stream_end(f.s, &f.out);
    sw_sse rs = {0};
    sw_sse_feed(&rs, f.out.data, f.out.len, on_client_event, r);
    ck_assert_uint_eq(sw_sse_pending(&rs), 0);
    sw_sse_free(&rs);
    sw_sse_free(&s);
    sw_buf_free(&all);
    sw_buf_free(&f.out);
    sw_buf_free(&f.data);
    f.t->stream_free(f.s);
}

START_TEST(streams_event_by_event)
{
    sw_mock_answer a;
    sw_mock_call_out call;
    sample_answer(&a, &call);
    sw_mock_wire w = {"msg_1", "claude-x", 1700000000};
    size_t n, n_head, n_body;
    /* Messages events -> Chat chunks. */
    char **ev = sw_mock_message_events(&a, &w, 5, &n, &n_head, &n_body);
    reader r = {sw_proto_get(SW_PROTO_CHAT), {0}, {0}, 0, 0};
    sw_completion_init(&r.c, 1);
    translate_stream(SW_PROTO_CHAT, SW_PROTO_MESSAGES, ev, n, &r);
    sw_mock_events_free(ev, n);
    ck_assert(r.done);
    ck_assert_str_eq(r.c.text.data, "Let me look that up.");
    ck_assert_uint_eq(r.c.tool_calls, 1);
    ck_assert_str_eq(S(r.c.tools, "0.name"), "lookup_order");
    ck_assert_str_eq(S(r.c.tools, "0.arguments"), "{\"order_id\":\"NW-123456\"}");
    ck_assert(r.c.has_usage);
    ck_assert_uint_eq(r.c.tokens_out, 17);
    ck_assert_uint_gt(r.c.tokens_in, 0);
    sw_completion_free(&r.c);
    sw_buf_free(&r.data);
    /* Chat chunks -> Messages events. */
    size_t nb;
    ev = sw_mock_stream_events(&a, &w, 1, 5, &n, &nb);
    reader m = {sw_proto_get(SW_PROTO_MESSAGES), {0}, {0}, 0, 0};
    sw_completion_init(&m.c, 1);
    translate_stream(SW_PROTO_MESSAGES, SW_PROTO_CHAT, ev, n, &m);
    sw_mock_events_free(ev, n);
    ck_assert_str_eq(m.c.text.data, "Let me look that up.");
    ck_assert_uint_eq(m.c.tool_calls, 1);
    ck_assert_str_eq(S(m.c.tools, "0.arguments"), "{\"order_id\":\"NW-123456\"}");
    ck_assert_uint_eq(m.c.tokens_out, 17);
    ck_assert_uint_eq(m.c.tokens_in, 11);
    sw_completion_free(&m.c);
    sw_buf_free(&m.data);
}
END_TEST

START_TEST(errors_and_stops)
{
    json_t *ant = J("{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", "
                    "\"message\": \"busy\"}}");
    json_t *e = sw_xlate_error(sw_proto_get(SW_PROTO_CHAT), 529, ant);
    ck_assert_str_eq(S(e, "error.message"), "busy");
    ck_assert_str_eq(S(e, "error.type"), "overloaded_error");
    json_decref(e);
    json_t *oa = J("{\"error\": {\"type\": \"rate_limit\", \"message\": \"slow down\"}}");
    e = sw_xlate_error(sw_proto_get(SW_PROTO_MESSAGES), 429, oa);
    ck_assert_str_eq(S(e, "type"), "error");
    ck_assert_str_eq(S(e, "error.type"), "rate_limit_error");
    ck_assert_str_eq(S(e, "error.message"), "slow down");
    json_decref(e);
    e = sw_xlate_error(sw_proto_get(SW_PROTO_MESSAGES), 500, NULL);
    ck_assert_ptr_nonnull(strstr(S(e, "error.message"), "500"));
    json_decref(e);
    json_decref(ant);
    json_decref(oa);
    ck_assert_str_eq(sw_xlate_stop_to_finish("max_tokens"), "length");
    ck_assert_str_eq(sw_xlate_stop_to_finish("tool_use"), "tool_calls");
    ck_assert_str_eq(sw_xlate_finish_to_stop("length"), "max_tokens");
    ck_assert_str_eq(sw_xlate_finish_to_stop("content_filter"), "refusal");
    /* Release parameters in Messages terms. */
    json_t *params = J("{\"temperature\": 0.2, \"max_tokens\": 800, \"parallel_tool_calls\": false,"
                       " \"extra\": {\"top_k\": 4}}");
    json_t *body = json_object();
    sw_xlate_err err = {{0}, {0}};
    ck_assert_int_eq(sw_xlate_chat_params_to_messages(params, body, &err), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "max_tokens")), 800);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "top_k")), 4);
    json_decref(params);
    params = J("{\"seed\": 7}");
    ck_assert_int_eq(sw_xlate_chat_params_to_messages(params, body, &err), -1);
    ck_assert_str_eq(err.param, "seed");
    json_decref(params);
    json_decref(body);
}
END_TEST

/* A Responses client: on Chat (rc) and, chained through Chat, on Messages. */
START_TEST(responses_client)
{
    const sw_translator *rc = sw_translator_find(SW_PROTO_RESPONSES, SW_PROTO_CHAT);
    const sw_translator *rm = sw_translator_find(SW_PROTO_RESPONSES, SW_PROTO_MESSAGES);
    ck_assert_ptr_nonnull(rc);
    ck_assert_ptr_nonnull(rm);
    json_t *req =
        J("{\"model\": \"m\", \"instructions\": \"sys\", \"max_output_tokens\": 9,"
          " \"tools\": [{\"type\": \"function\", \"name\": \"f\", \"parameters\": {}}],"
          " \"tool_choice\": {\"type\": \"function\", \"name\": \"f\"},"
          " \"input\": [{\"role\": \"user\", \"content\": [{\"type\": \"input_text\","
          " \"text\": \"q\"}]}, {\"type\": \"function_call\", \"call_id\": \"c1\","
          " \"name\": \"f\", \"arguments\": \"{\\\"a\\\":1}\"},"
          " {\"type\": \"function_call_output\", \"call_id\": \"c1\", \"output\": \"r\"}]}");
    sw_xlate_err err = {{0}, {0}};
    json_t *c = rc->request(req, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_str_eq(S(c, "messages.0.role"), "system");
    ck_assert_str_eq(S(c, "messages.1.content"), "q");
    ck_assert_str_eq(S(c, "messages.2.tool_calls.0.id"), "c1");
    ck_assert_str_eq(S(c, "messages.3.role"), "tool");
    ck_assert_str_eq(S(c, "tools.0.function.name"), "f");
    ck_assert_str_eq(S(c, "tool_choice.function.name"), "f");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "max_tokens")), 9);
    json_decref(c);
    json_t *m = rm->request(req, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(S(m, "system"), "sys");
    ck_assert_str_eq(S(m, "messages.1.content.0.type"), "tool_use");
    ck_assert_str_eq(S(m, "messages.2.content.0.type"), "tool_result");
    json_decref(m);
    json_decref(req);
    req = J("{\"input\": \"x\", \"previous_response_id\": \"resp_1\"}");
    ck_assert_ptr_null(rm->request(req, &err));
    ck_assert_str_eq(err.param, "previous_response_id");
    json_decref(req);

    /* A whole message as a response; its stream as Responses events, read back. */
    sw_mock_answer a;
    sw_mock_call_out call;
    sample_answer(&a, &call);
    sw_mock_wire w = {"msg_1", "claude-x", 1700000000};
    char *text = sw_mock_message_json(&a, &w);
    json_t *msg = J(text);
    free(text);
    json_t *r = rm->response(msg);
    ck_assert_str_eq(S(r, "object"), "response");
    ck_assert_str_eq(S(r, "output.0.content.0.text"), "Let me look that up.");
    ck_assert_str_eq(S(r, "output.1.type"), "function_call");
    ck_assert_str_eq(S(r, "output.1.arguments"), "{\"order_id\":\"NW-123456\"}");
    sw_completion cr;
    sw_completion_init(&cr, 1);
    sw_proto_get(SW_PROTO_RESPONSES)->read_response(&cr, r);
    ck_assert_uint_eq(cr.tokens_out, 17);
    ck_assert_uint_eq(cr.tool_calls, 1);
    sw_completion_free(&cr);
    json_decref(r);
    json_decref(msg);
    size_t n, n_head, n_body;
    char **ev = sw_mock_message_events(&a, &w, 5, &n, &n_head, &n_body);
    reader rd = {sw_proto_get(SW_PROTO_RESPONSES), {0}, {0}, 0, 0};
    sw_completion_init(&rd.c, 1);
    translate_stream(SW_PROTO_RESPONSES, SW_PROTO_MESSAGES, ev, n, &rd);
    sw_mock_events_free(ev, n);
    ck_assert_str_eq(rd.c.text.data, "Let me look that up.");
    ck_assert_uint_eq(rd.c.tool_calls, 1);
    ck_assert_str_eq(S(rd.c.tools, "0.arguments"), "{\"order_id\":\"NW-123456\"}");
    ck_assert_uint_eq(rd.c.tokens_out, 17);
    ck_assert_uint_gt(rd.c.tokens_in, 0);
    ck_assert_ptr_nonnull(rd.c.response_id);
    sw_completion_free(&rd.c);
    sw_buf_free(&rd.data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("translate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, chat_request_to_messages);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, messages_request_to_chat);
    tcase_add_test(tc, whole_answers);
    tcase_add_test(tc, streams_event_by_event);
    tcase_add_test(tc, errors_and_stops);
    tcase_add_test(tc, responses_client);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
