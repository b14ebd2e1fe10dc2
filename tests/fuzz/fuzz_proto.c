/*
 * fuzz_proto.c - each protocol's readers and the mock's request parsers over
 * outside bytes. The first byte picks the protocol (its value mod 3: Chat
 * Completions, Responses, Messages); the rest is read three ways: as an
 * upstream's event stream the way the router reads it (server.c on_event:
 * the event's name, its data, the protocol's reader), as a whole answer, and
 * as a request to `slipway mock` in that protocol.
 *
 * Properties: reading with and without collecting gives the same counts
 * (usage, tool calls, response id); collected tool calls are as many as
 * counted, each with a string name and arguments; a stream reads the same
 * however the network splits it; a request is either refused with a message
 * or reduced with a model, and a tool result has its text.
 */
#include "fuzz_util.h"
#include "mock/request.h"
#include "proto/proto.h"
#include "router/sse.h"

typedef struct stream {
    const sw_proto *p;
    sw_buf data;
    sw_completion plain, collect;
    size_t events, tokens;
} stream;

static void on_event(void *ud, const char *ev, size_t len)
{
    stream *s = ud;
    s->events++;
    char name_buf[64];
    const char *name =
        s->p->named_events && sw_sse_event_name(ev, len, name_buf, sizeof name_buf) == 0 ? name_buf
                                                                                         : NULL;
    if (name && strlen(name) >= sizeof name_buf)
        abort();
    if (sw_sse_data(ev, len, &s->data) != 0)
        return;
    const char *data = s->data.data ? s->data.data : "";
    json_t *chunk = json_loadb(data, s->data.len, 0, NULL);
    if (!chunk)
        return;
    const char *type = name;
    if (!type && s->p->named_events)
        type = json_string_value(json_object_get(chunk, "type"));
    s->tokens += s->p->first_token(type) != 0;
    /* What the router skips without collecting must not change what it counts. (Chat's
       filter is a scan of the text, which an escaped key can pass: its chunks are all read.) */
    if (s->p->id == SW_PROTO_CHAT || s->p->event_needed(name, data))
        s->p->read_event(&s->plain, type, chunk);
    s->p->read_event(&s->collect, type, chunk);
    json_decref(chunk);
}

static void stream_init(stream *s, const sw_proto *p)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    sw_completion_init(&s->plain, 0);
    sw_completion_init(&s->collect, 1);
}

static void stream_free(stream *s)
{
    sw_buf_free(&s->data);
    sw_completion_free(&s->plain);
    sw_completion_free(&s->collect);
}

static int same_id(const sw_completion *a, const sw_completion *b)
{
    if (!a->response_id || !b->response_id)
        return a->response_id == b->response_id;
    return strcmp(a->response_id, b->response_id) == 0;
}

static void check(const sw_completion *plain, const sw_completion *collect)
{
    if (plain->tool_calls != collect->tool_calls || plain->has_usage != collect->has_usage ||
        plain->tokens_in != collect->tokens_in || plain->tokens_out != collect->tokens_out ||
        plain->cached_in != collect->cached_in || plain->text.len != 0 || !same_id(plain, collect))
        abort();
    if (json_array_size(collect->tools) != collect->tool_calls)
        abort();
    size_t i;
    json_t *t;
    json_array_foreach(collect->tools, i, t)
    {
        if (!json_is_string(json_object_get(t, "name")) ||
            !json_is_string(json_object_get(t, "arguments")))
            abort();
    }
}

typedef int (*parse_fn)(const char *, size_t, const sw_mock_scenario *, sw_mock_req *,
                        sw_mock_refusal *);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sw_mock_scenario *sc;
    if (!sc)
        sc = sw_mock_scenario_default();
    if (size < 1 || size > FZ_MAX_INPUT)
        return 0;
    const sw_proto *p = sw_proto_get((sw_proto_id)(data[0] % 3));
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    stream one, many;
    stream_init(&one, p);
    stream_init(&many, p);
    sw_sse a = {0}, b = {0};
    sw_sse_feed(&a, in, n, on_event, &one);
    for (size_t i = 0; i < n;) {
        size_t k = 1 + (size_t)((unsigned char)in[i] % 8);
        if (k > n - i)
            k = n - i;
        sw_sse_feed(&b, in + i, k, on_event, &many);
        i += k;
    }
    check(&one.plain, &one.collect);
    if (one.events != many.events || one.tokens != many.tokens ||
        one.collect.text.len != many.collect.text.len ||
        one.collect.tool_calls != many.collect.tool_calls || !same_id(&one.plain, &many.plain))
        abort();
    sw_sse_free(&a);
    sw_sse_free(&b);
    stream_free(&one);
    stream_free(&many);

    json_t *whole = json_loadb(in, n, 0, NULL);
    if (whole) {
        sw_completion plain, collect;
        sw_completion_init(&plain, 0);
        sw_completion_init(&collect, 1);
        p->read_response(&plain, whole);
        p->read_response(&collect, whole);
        check(&plain, &collect);
        sw_completion_free(&plain);
        sw_completion_free(&collect);
        json_decref(whole);
    }

    static const parse_fn parsers[SW_PROTO_COUNT] = {sw_mock_req_parse, sw_mock_req_parse_responses,
                                                     sw_mock_req_parse_messages};
    sw_mock_req req;
    sw_mock_refusal why;
    if (parsers[p->id](in, n, sc, &req, &why) == 0) {
        if (!req.root || !req.model || !*req.model || (req.last_is_tool && !req.tool_result) ||
            req.proto != (int)p->id)
            abort();
    } else if (why.status != 400 || !why.message[0]) {
        abort();
    }
    sw_mock_req_free(&req);
    return 0;
}
