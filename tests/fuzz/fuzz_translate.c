/*
 * fuzz_translate.c - the gateway translators over outside bytes. The first
 * byte picks the direction (even: a Chat client on a Messages provider; odd:
 * the reverse); the rest is read as the provider's event stream (split where
 * the next byte says, as the network would) and translated event by event, as
 * the provider's whole answer, and as the client's request.
 *
 * Properties: whatever the provider sends, the client gets whole events, each
 * with JSON data (or Chat's [DONE]) and, for Messages, an event name equal to
 * the data's type; the same bytes split differently translate to the same
 * events; a whole answer always translates to an object; a request is either
 * translated or refused with a message naming a field.
 */
#include "fuzz_util.h"
#include "proto/translate.h"
#include "router/sse.h"

typedef struct run {
    const sw_translator *t;
    const sw_proto *up;
    sw_xlate_stream *s;
    sw_buf data, out;
} run;

static void on_up(void *ud, const char *ev, size_t len)
{
    run *r = ud;
    char name[64];
    const char *n =
        r->up->named_events && sw_sse_event_name(ev, len, name, sizeof name) == 0 ? name : NULL;
    if (sw_sse_data(ev, len, &r->data) == 0)
        r->t->stream_event(r->s, n, r->data.data ? r->data.data : "", r->data.len, &r->out);
}

typedef struct check {
    const sw_proto *client;
    sw_buf data;
} check;

static void on_client(void *ud, const char *ev, size_t len)
{
    check *c = ud;
    char name[64];
    int named = sw_sse_event_name(ev, len, name, sizeof name) == 0;
    if (sw_sse_data(ev, len, &c->data) != 0)
        abort(); /* every translated event has data */
    if (!c->client->named_events && strcmp(c->data.data, "[DONE]") == 0)
        return;
    json_t *j = json_loadb(c->data.data, c->data.len, 0, NULL);
    if (!json_is_object(j))
        abort();
    if (c->client->named_events) {
        const char *type = json_string_value(json_object_get(j, "type"));
        if (!named || !type || strcmp(type, name) != 0)
            abort();
    } else if (named) {
        abort();
    }
    json_decref(j);
}

static void translate(const sw_translator *t, const char *body, size_t len, size_t step,
                      sw_buf *out)
{
    run r = {t, sw_proto_get(t->upstream), NULL, {0}, {0}};
    json_t *req =
        json_loads("{\"stream\": true, \"stream_options\": {\"include_usage\": true}}", 0, NULL);
    r.s = t->stream_new(req);
    json_decref(req);
    sw_sse sse = {0};
    for (size_t off = 0; off < len; off += step)
        sw_sse_feed(&sse, body + off, len - off < step ? len - off : step, on_up, &r);
    t->stream_end(r.s, &r.out);
    t->stream_free(r.s);
    sw_sse_free(&sse);
    sw_buf_free(&r.data);
    *out = r.out;
}

static size_t events_in(const sw_buf *b)
{
    size_t n = 0;
    for (const char *p = b->data; p && (p = strstr(p, "\n\n")); p += 2)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > FZ_MAX_INPUT)
        return 0;
    static const sw_proto_id pairs[][2] = {{SW_PROTO_CHAT, SW_PROTO_MESSAGES},
                                           {SW_PROTO_MESSAGES, SW_PROTO_CHAT},
                                           {SW_PROTO_RESPONSES, SW_PROTO_CHAT},
                                           {SW_PROTO_RESPONSES, SW_PROTO_MESSAGES}};
    sw_proto_id client = pairs[data[0] % 4][0];
    const sw_translator *t = sw_translator_find(client, pairs[data[0] % 4][1]);
    size_t step = 1 + data[1] % 13;
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    sw_buf whole, split;
    translate(t, body, len, len ? len : 1, &whole);
    translate(t, body, len, step, &split);
    /* The same events (their bytes may differ only in a chunk's `created` second). */
    if (events_in(&whole) != events_in(&split))
        abort();
    check c = {sw_proto_get(client), {0}};
    sw_sse cs = {0};
    sw_sse_feed(&cs, whole.data ? whole.data : "", whole.len, on_client, &c);
    if (sw_sse_pending(&cs) != 0)
        abort(); /* only whole events */
    sw_sse_free(&cs);
    sw_buf_free(&c.data);
    sw_buf_free(&whole);
    sw_buf_free(&split);

    json_t *j = json_loadb(body, len, 0, NULL);
    if (json_is_object(j)) {
        json_t *resp = t->response(j);
        if (!json_is_object(resp))
            abort();
        json_decref(resp);
        sw_xlate_err err = {{0}, {0}};
        json_t *req = t->request(j, &err);
        if (!req && !err.msg[0])
            abort();
        json_decref(req);
    }
    json_decref(j);
    return 0;
}
