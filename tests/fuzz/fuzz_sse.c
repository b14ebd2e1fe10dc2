/*
 * fuzz_sse.c - an upstream's text/event-stream as the router reads it
 * (server.c on_event): framing into events, each event's data, the chunks it
 * parses (usage, tool calls, text) and the usage-only chunk it drops when it
 * asked for usage itself. The whole input is also read as a non-streaming
 * response body (read_completion's full path).
 *
 * Properties: the events and the bytes left pending are the input, in order,
 * byte for byte; the events are the same however the network splits the
 * bytes (one call, or pieces of 1 to 8 bytes chosen by the input); a chunk
 * judged usage-only has a usage object and no choices; counts agree between
 * collecting and not collecting.
 */
#include "fuzz_util.h"
#include "proto/completion.h"
#include "router/sse.h"

typedef struct events {
    sw_buf all;   /* every event, concatenated */
    size_t count; /* how many */
    sw_buf data;  /* scratch for sw_sse_data */
    sw_completion plain, collect;
    size_t dropped;
} events;

static void on_event(void *ud, const char *ev, size_t len)
{
    events *e = ud;
    if (len < 2 || ev[len - 1] != '\n')
        abort(); /* an event ends with its blank line */
    sw_buf_append(&e->all, ev, len);
    e->count++;
    if (sw_sse_data(ev, len, &e->data) != 0) {
        if (e->data.len != 0)
            abort();
        return;
    }
    const char *data = e->data.data ? e->data.data : "";
    if (strlen(data) > e->data.len || e->data.len > len)
        abort();
    if (strcmp(data, "[DONE]") == 0)
        return;
    json_t *chunk = json_loadb(data, e->data.len, 0, NULL);
    if (!chunk)
        return;
    sw_completion_chunk(&e->plain, chunk);
    sw_completion_chunk(&e->collect, chunk);
    if (sw_chunk_usage_only(chunk)) {
        const json_t *choices = json_object_get(chunk, "choices");
        if (!json_is_object(json_object_get(chunk, "usage")) || json_array_size(choices) != 0)
            abort();
        e->dropped++;
    }
    json_decref(chunk);
}

static void events_init(events *e)
{
    memset(e, 0, sizeof *e);
    sw_completion_init(&e->plain, 0);
    sw_completion_init(&e->collect, 1);
}

static void events_free(events *e)
{
    sw_buf_free(&e->all);
    sw_buf_free(&e->data);
    sw_completion_free(&e->plain);
    sw_completion_free(&e->collect);
}

static void check_completion(const sw_completion *plain, const sw_completion *collect)
{
    if (plain->tool_calls != collect->tool_calls || plain->has_usage != collect->has_usage ||
        plain->tokens_in != collect->tokens_in || plain->tokens_out != collect->tokens_out ||
        plain->cached_in != collect->cached_in || plain->text.len != 0)
        abort();
    json_t *tools = sw_completion_tools(collect);
    if (json_array_size(tools) != collect->tool_calls)
        abort();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        if (!json_is_string(json_object_get(t, "name")) ||
            !json_is_string(json_object_get(t, "arguments")))
            abort();
    }
    json_decref(tools);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    const char *p = (const char *)data;

    events one, many;
    events_init(&one);
    events_init(&many);
    sw_sse a = {0}, b = {0};
    sw_sse_feed(&a, p, size, on_event, &one);
    for (size_t i = 0; i < size;) {
        size_t n = 1 + (size_t)(data[i] % 8);
        if (n > size - i)
            n = size - i;
        sw_sse_feed(&b, p + i, n, on_event, &many);
        i += n;
    }
    if (one.all.len + sw_sse_pending(&a) != size ||
        (one.all.len && memcmp(one.all.data, p, one.all.len) != 0) ||
        (sw_sse_pending(&a) && memcmp(a.pending.data, p + one.all.len, sw_sse_pending(&a)) != 0))
        abort();
    if (one.count != many.count || one.all.len != many.all.len ||
        (one.all.len && memcmp(one.all.data, many.all.data, one.all.len) != 0) ||
        sw_sse_pending(&a) != sw_sse_pending(&b) || one.dropped != many.dropped)
        abort();
    check_completion(&one.plain, &one.collect);
    if (one.collect.text.len != many.collect.text.len ||
        one.collect.tool_calls != many.collect.tool_calls)
        abort();
    sw_sse_free(&a);
    sw_sse_free(&b);
    events_free(&one);
    events_free(&many);

    /* The same bytes as a whole (non-streaming) response. */
    json_t *resp = json_loadb(p, size, 0, NULL);
    if (resp) {
        sw_completion plain, collect;
        sw_completion_init(&plain, 0);
        sw_completion_init(&collect, 1);
        sw_completion_response(&plain, resp);
        sw_completion_response(&collect, resp);
        check_completion(&plain, &collect);
        sw_completion_free(&plain);
        sw_completion_free(&collect);
        json_decref(resp);
    }
    return 0;
}
