/* reply.c - rendering answers, and writing them in each protocol's wire format. */
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "rng.h"
#include "tmpl.h"

#define FINGERPRINT "fp_slipway_mock"
/* Numbers a scenario writes (score: 0.9) come back as written, not as 0.90000000000000002. */
#define ANSWER_JSON (JSON_COMPACT | JSON_REAL_PRECISION(15))
/* GET /v1/models reports this creation time for every model, so the list is stable. */
#define MODELS_CREATED 1735689600

/* The longest prefix of s of at most max bytes that ends on a character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

void sw_mock_answer_build(const sw_mock_rule *rule, const sw_mock_req *req, char **ucaps,
                          char **scaps, uint64_t id_seed, sw_mock_answer *out)
{
    memset(out, 0, sizeof *out);
    const sw_mock_respond *r = &rule->respond;
    sw_mock_vars v = {req->user, req->model, req->tool_result, req->tool_name, ucaps, scaps};
    uint64_t completion_bytes = 0;
    out->finish_reason = "stop";
    if (r->json) {
        json_t *j = sw_mock_tmpl_json(r->json, &v);
        out->content = json_dumps(j, ANSWER_JSON | JSON_ENCODE_ANY);
        json_decref(j);
    } else if (r->text) {
        out->content = sw_mock_tmpl_string(r->text, &v);
    }
    if (out->content && !r->json && !r->n_calls && req->max_tokens > 0) {
        size_t len = strlen(out->content);
        uint64_t cap = (uint64_t)req->max_tokens * 4;
        if (len > cap) {
            out->content[utf8_cut(out->content, len, (size_t)cap)] = '\0';
            out->finish_reason = "length";
        }
    }
    if (out->content)
        completion_bytes += strlen(out->content);
    if (r->n_calls) {
        sw_mock_rng g = sw_mock_rng_for(id_seed, 0x746f6f6c, 0); /* "tool" */
        out->calls = sw_xcalloc(r->n_calls, sizeof *out->calls);
        out->n_calls = r->n_calls;
        for (size_t i = 0; i < r->n_calls; i++) {
            sw_mock_call_out *c = &out->calls[i];
            uint64_t a = sw_mock_rng_next(&g), b = sw_mock_rng_next(&g);
            c->id = sw_xasprintf("call_%016" PRIx64 "%08" PRIx64, a, b >> 32);
            c->name = sw_xstrdup(r->calls[i].name);
            json_t *args = sw_mock_tmpl_json(r->calls[i].arguments, &v);
            c->arguments = json_dumps(args, ANSWER_JSON);
            json_decref(args);
            completion_bytes += strlen(c->name) + strlen(c->arguments);
        }
        out->finish_reason = "tool_calls";
    }
    out->prompt_tokens =
        rule->prompt_tokens >= 0 ? rule->prompt_tokens : sw_mock_tokens(req->prompt_bytes);
    out->completion_tokens =
        rule->completion_tokens >= 0 ? rule->completion_tokens : sw_mock_tokens(completion_bytes);
}

void sw_mock_answer_free(sw_mock_answer *a)
{
    free(a->content);
    for (size_t i = 0; i < a->n_calls; i++) {
        free(a->calls[i].id);
        free(a->calls[i].name);
        free(a->calls[i].arguments);
    }
    free(a->calls);
    memset(a, 0, sizeof *a);
}

static json_t *usage_json(const sw_mock_answer *a)
{
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)a->prompt_tokens,
                     "completion_tokens", (json_int_t)a->completion_tokens, "total_tokens",
                     (json_int_t)(a->prompt_tokens + a->completion_tokens));
}

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        abort(); /* jansson fails only when out of memory */
    return s;
}

char *sw_mock_completion_json(const sw_mock_answer *a, const sw_mock_wire *w)
{
    json_t *msg = json_pack("{s:s, s:o, s:n}", "role", "assistant", "content",
                            a->content ? json_string(a->content) : json_null(), "refusal");
    if (a->n_calls) {
        json_t *calls = json_array();
        for (size_t i = 0; i < a->n_calls; i++)
            json_array_append_new(calls,
                                  json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", a->calls[i].id,
                                            "type", "function", "function", "name",
                                            a->calls[i].name, "arguments", a->calls[i].arguments));
        json_object_set_new(msg, "tool_calls", calls);
    }
    json_t *root =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id", w->id, "object",
                  "chat.completion", "created", (json_int_t)w->created, "model", w->model,
                  "system_fingerprint", FINGERPRINT, "choices", "index", 0, "message", msg,
                  "logprobs", "finish_reason", a->finish_reason, "usage", usage_json(a));
    return dump(root);
}

typedef struct evlist {
    char **items;
    size_t n, cap;
} evlist;

static void push(evlist *ev, char *text)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 16;
        ev->items = sw_xrealloc(ev->items, ev->cap * sizeof *ev->items);
    }
    ev->items[ev->n++] = text;
}

static void push_json(evlist *ev, json_t *j)
{
    char *body = dump(j);
    push(ev, sw_xasprintf("data: %s\n\n", body));
    free(body);
}

/* A chunk with one choice: delta (taken) and finish_reason (NULL: null). */
static void push_chunk(evlist *ev, const sw_mock_wire *w, int include_usage, json_t *delta,
                       const char *finish)
{
    json_t *choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta, "logprobs",
                               "finish_reason", finish ? json_string(finish) : json_null());
    json_t *chunk = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[o]}", "id", w->id, "object",
                              "chat.completion.chunk", "created", (json_int_t)w->created, "model",
                              w->model, "system_fingerprint", FINGERPRINT, "choices", choice);
    if (include_usage)
        json_object_set_new(chunk, "usage", json_null());
    push_json(ev, chunk);
}

/* The next piece of the text at *s (*len bytes left) of about chunk bytes, never inside a
   UTF-8 character: its length (0 at the end), *piece at its start; *s and *len move past it. */
static size_t take_piece(const char **s, size_t *len, size_t chunk, const char **piece)
{
    if (*len == 0)
        return 0;
    size_t cut = utf8_cut(*s, *len, chunk);
    if (cut == 0) { /* chunk is smaller than the character: take the whole character */
        cut = 1;
        while (cut < *len && ((unsigned char)(*s)[cut] & 0xC0) == 0x80)
            cut++;
    }
    *piece = *s;
    *s += cut;
    *len -= cut;
    return cut;
}

char **sw_mock_stream_events(const sw_mock_answer *a, const sw_mock_wire *w, int include_usage,
                             int chunk_bytes, size_t *n, size_t *n_body)
{
    evlist ev = {0};
    size_t chunk = chunk_bytes > 0 ? (size_t)chunk_bytes : 16;
    push_chunk(&ev, w, include_usage,
               json_pack("{s:s, s:o}", "role", "assistant", "content",
                         a->content ? json_string("") : json_null()),
               NULL);
    const char *s, *piece;
    size_t len, k;
    if (a->content) {
        s = a->content;
        len = strlen(s);
        while ((k = take_piece(&s, &len, chunk, &piece)))
            push_chunk(&ev, w, include_usage, json_pack("{s:s%}", "content", piece, k), NULL);
    }
    for (size_t i = 0; i < a->n_calls; i++) {
        const sw_mock_call_out *c = &a->calls[i];
        push_chunk(&ev, w, include_usage,
                   json_pack("{s:[{s:I, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls", "index",
                             (json_int_t)i, "id", c->id, "type", "function", "function", "name",
                             c->name, "arguments", ""),
                   NULL);
        s = c->arguments;
        len = strlen(s);
        while ((k = take_piece(&s, &len, chunk, &piece)))
            push_chunk(&ev, w, include_usage,
                       json_pack("{s:[{s:I, s:{s:s%}}]}", "tool_calls", "index", (json_int_t)i,
                                 "function", "arguments", piece, k),
                       NULL);
    }
    *n_body = ev.n;
    push_chunk(&ev, w, include_usage, json_object(), a->finish_reason);
    if (include_usage)
        push_json(&ev, json_pack("{s:s, s:s, s:I, s:s, s:s, s:[], s:o}", "id", w->id, "object",
                                 "chat.completion.chunk", "created", (json_int_t)w->created,
                                 "model", w->model, "system_fingerprint", FINGERPRINT, "choices",
                                 "usage", usage_json(a)));
    push(&ev, sw_xstrdup("data: [DONE]\n\n"));
    *n = ev.n;
    return ev.items;
}

/* ---- the OpenAI Responses API ---- */

/* Ids of a response's parts: the response's own number after a prefix. */
static char *part_id(const char *prefix, const sw_mock_wire *w, size_t i)
{
    const char *num = strrchr(w->id, '_');
    return sw_xasprintf("%s%s_%zu", prefix, num ? num + 1 : w->id, i);
}

static json_t *response_usage(const sw_mock_answer *a)
{
    return json_pack("{s:I, s:{s:i}, s:I, s:{s:i}, s:I}", "input_tokens",
                     (json_int_t)a->prompt_tokens, "input_tokens_details", "cached_tokens", 0,
                     "output_tokens", (json_int_t)a->completion_tokens, "output_tokens_details",
                     "reasoning_tokens", 0, "total_tokens",
                     (json_int_t)(a->prompt_tokens + a->completion_tokens));
}

static json_t *text_part(const char *text)
{
    return json_pack("{s:s, s:s, s:[]}", "type", "output_text", "text", text, "annotations");
}

static json_t *message_item(const sw_mock_wire *w, const char *text, const char *status)
{
    char *id = part_id("msg_", w, 0);
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "type", "message", "status",
                             status, "role", "assistant", "content",
                             text ? json_pack("[o]", text_part(text)) : json_array());
    free(id);
    return item;
}

static json_t *call_item(const sw_mock_wire *w, const sw_mock_call_out *c, size_t i,
                         const char *arguments, const char *status)
{
    char *id = part_id("fc_", w, i);
    json_t *item =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "type", "function_call", "status",
                  status, "call_id", c->id, "name", c->name, "arguments", arguments);
    free(id);
    return item;
}

/* The response, whole (done) or as the stream's first events show it (in progress). */
static json_t *response_object(const sw_mock_answer *a, const sw_mock_wire *w, int done)
{
    int cut = strcmp(a->finish_reason, "length") == 0;
    json_t *output = json_array();
    if (done && a->content)
        json_array_append_new(output, message_item(w, a->content, "completed"));
    for (size_t i = 0; done && i < a->n_calls; i++)
        json_array_append_new(output,
                              call_item(w, &a->calls[i], i, a->calls[i].arguments, "completed"));
    json_t *r =
        json_pack("{s:s, s:s, s:I, s:s, s:n, s:o, s:s, s:o, s:b, s:n, s:o}", "id", w->id, "object",
                  "response", "created_at", (json_int_t)w->created, "status",
                  !done ? "in_progress"
                  : cut ? "incomplete"
                        : "completed",
                  "error", "incomplete_details",
                  done && cut ? json_pack("{s:s}", "reason", "max_output_tokens") : json_null(),
                  "model", w->model, "output", output, "parallel_tool_calls", 1,
                  "previous_response_id", "usage", done ? response_usage(a) : json_null());
    return r;
}

char *sw_mock_response_json(const sw_mock_answer *a, const sw_mock_wire *w)
{
    return dump(response_object(a, w, 1));
}

/* A named event: "event: <type>" and its data, which says its type and its place. */
static void push_named(evlist *ev, const char *type, json_t *data)
{
    json_t *typed = json_pack("{s:s}", "type", type); /* first, as the APIs write it */
    json_object_update(typed, data);
    json_decref(data);
    char *body = dump(typed);
    push(ev, sw_xasprintf("event: %s\ndata: %s\n\n", type, body));
    free(body);
}

static void push_sequenced(evlist *ev, const char *type, json_t *data)
{
    json_object_set_new(data, "sequence_number", json_integer((json_int_t)ev->n));
    push_named(ev, type, data);
}

char **sw_mock_response_events(const sw_mock_answer *a, const sw_mock_wire *w, int chunk_bytes,
                               size_t *n, size_t *n_head, size_t *n_body)
{
    evlist ev = {0};
    size_t chunk = chunk_bytes > 0 ? (size_t)chunk_bytes : 16;
    const char *s, *piece;
    size_t len, k;
    push_sequenced(&ev, "response.created",
                   json_pack("{s:o}", "response", response_object(a, w, 0)));
    push_sequenced(&ev, "response.in_progress",
                   json_pack("{s:o}", "response", response_object(a, w, 0)));
    *n_head = ev.n;
    size_t out = 0;
    if (a->content) {
        char *id = part_id("msg_", w, 0);
        push_sequenced(&ev, "response.output_item.added",
                       json_pack("{s:i, s:o}", "output_index", 0, "item",
                                 message_item(w, NULL, "in_progress")));
        push_sequenced(&ev, "response.content_part.added",
                       json_pack("{s:s, s:i, s:i, s:o}", "item_id", id, "output_index", 0,
                                 "content_index", 0, "part", text_part("")));
        *n_head = ev.n;
        s = a->content;
        len = strlen(s);
        while ((k = take_piece(&s, &len, chunk, &piece)))
            push_sequenced(&ev, "response.output_text.delta",
                           json_pack("{s:s, s:i, s:i, s:s%, s:[]}", "item_id", id, "output_index",
                                     0, "content_index", 0, "delta", piece, k, "logprobs"));
        push_sequenced(&ev, "response.output_text.done",
                       json_pack("{s:s, s:i, s:i, s:s, s:[]}", "item_id", id, "output_index", 0,
                                 "content_index", 0, "text", a->content, "logprobs"));
        push_sequenced(&ev, "response.content_part.done",
                       json_pack("{s:s, s:i, s:i, s:o}", "item_id", id, "output_index", 0,
                                 "content_index", 0, "part", text_part(a->content)));
        push_sequenced(&ev, "response.output_item.done",
                       json_pack("{s:i, s:o}", "output_index", 0, "item",
                                 message_item(w, a->content, "completed")));
        free(id);
        out++;
    }
    for (size_t i = 0; i < a->n_calls; i++, out++) {
        const sw_mock_call_out *c = &a->calls[i];
        char *id = part_id("fc_", w, i);
        push_sequenced(&ev, "response.output_item.added",
                       json_pack("{s:I, s:o}", "output_index", (json_int_t)out, "item",
                                 call_item(w, c, i, "", "in_progress")));
        if (!a->content && i == 0)
            *n_head = ev.n;
        s = c->arguments;
        len = strlen(s);
        while ((k = take_piece(&s, &len, chunk, &piece)))
            push_sequenced(&ev, "response.function_call_arguments.delta",
                           json_pack("{s:s, s:I, s:s%}", "item_id", id, "output_index",
                                     (json_int_t)out, "delta", piece, k));
        push_sequenced(&ev, "response.function_call_arguments.done",
                       json_pack("{s:s, s:I, s:s}", "item_id", id, "output_index", (json_int_t)out,
                                 "arguments", c->arguments));
        push_sequenced(&ev, "response.output_item.done",
                       json_pack("{s:I, s:o}", "output_index", (json_int_t)out, "item",
                                 call_item(w, c, i, c->arguments, "completed")));
        free(id);
    }
    *n_body = ev.n;
    push_sequenced(
        &ev, strcmp(a->finish_reason, "length") == 0 ? "response.incomplete" : "response.completed",
        json_pack("{s:o}", "response", response_object(a, w, 1)));
    *n = ev.n;
    return ev.items;
}

/* ---- Anthropic Messages ---- */

static const char *stop_reason(const sw_mock_answer *a)
{
    return strcmp(a->finish_reason, "tool_calls") == 0 ? "tool_use"
           : strcmp(a->finish_reason, "length") == 0   ? "max_tokens"
                                                       : "end_turn";
}

/* A tool call's id the way Anthropic writes them: toolu_ and the call's hex digits. */
static char *tool_use_id(const sw_mock_call_out *c)
{
    const char *hex = strchr(c->id, '_');
    return sw_xasprintf("toolu_%s", hex ? hex + 1 : c->id);
}

static json_t *tool_use_block(const sw_mock_call_out *c, int whole)
{
    char *id = tool_use_id(c);
    json_t *input = whole ? json_loads(c->arguments, 0, NULL) : NULL;
    json_t *b = json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name", c->name,
                          "input", input ? input : json_object());
    free(id);
    return b;
}

static json_t *message_usage(const sw_mock_answer *a, int64_t output)
{
    return json_pack("{s:I, s:i, s:i, s:I}", "input_tokens", (json_int_t)a->prompt_tokens,
                     "cache_creation_input_tokens", 0, "cache_read_input_tokens", 0,
                     "output_tokens", (json_int_t)output);
}

static json_t *message_object(const sw_mock_answer *a, const sw_mock_wire *w, int done)
{
    json_t *content = json_array();
    if (done && a->content)
        json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text", "text", a->content));
    for (size_t i = 0; done && i < a->n_calls; i++)
        json_array_append_new(content, tool_use_block(&a->calls[i], 1));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:n, s:o}", "id", w->id, "type", "message",
                     "role", "assistant", "model", w->model, "content", content, "stop_reason",
                     done ? json_string(stop_reason(a)) : json_null(), "stop_sequence", "usage",
                     message_usage(a, done ? a->completion_tokens : 0));
}

char *sw_mock_message_json(const sw_mock_answer *a, const sw_mock_wire *w)
{
    return dump(message_object(a, w, 1));
}

/* A content block's deltas: pieces of text of about chunk bytes, as delta_type events. */
static void push_block_deltas(evlist *ev, size_t index, const char *s, size_t chunk,
                              const char *delta_type, const char *field)
{
    size_t len = strlen(s), k;
    const char *piece;
    while ((k = take_piece(&s, &len, chunk, &piece)))
        push_named(ev, "content_block_delta",
                   json_pack("{s:I, s:{s:s, s:s%}}", "index", (json_int_t)index, "delta", "type",
                             delta_type, field, piece, k));
}

char **sw_mock_message_events(const sw_mock_answer *a, const sw_mock_wire *w, int chunk_bytes,
                              size_t *n, size_t *n_head, size_t *n_body)
{
    evlist ev = {0};
    size_t chunk = chunk_bytes > 0 ? (size_t)chunk_bytes : 16;
    push_named(&ev, "message_start", json_pack("{s:o}", "message", message_object(a, w, 0)));
    *n_head = ev.n;
    size_t index = 0;
    if (a->content) {
        push_named(&ev, "content_block_start",
                   json_pack("{s:i, s:{s:s, s:s}}", "index", 0, "content_block", "type", "text",
                             "text", ""));
        push_named(&ev, "ping", json_object());
        *n_head = ev.n;
        push_block_deltas(&ev, 0, a->content, chunk, "text_delta", "text");
        push_named(&ev, "content_block_stop", json_pack("{s:i}", "index", 0));
        index++;
    }
    for (size_t i = 0; i < a->n_calls; i++, index++) {
        push_named(&ev, "content_block_start",
                   json_pack("{s:I, s:o}", "index", (json_int_t)index, "content_block",
                             tool_use_block(&a->calls[i], 0)));
        if (!a->content && i == 0)
            *n_head = ev.n;
        push_block_deltas(&ev, index, a->calls[i].arguments, chunk, "input_json_delta",
                          "partial_json");
        push_named(&ev, "content_block_stop", json_pack("{s:I}", "index", (json_int_t)index));
    }
    *n_body = ev.n;
    push_named(&ev, "message_delta",
               json_pack("{s:{s:s, s:n}, s:{s:I}}", "delta", "stop_reason", stop_reason(a),
                         "stop_sequence", "usage", "output_tokens",
                         (json_int_t)a->completion_tokens));
    push_named(&ev, "message_stop", json_object());
    *n = ev.n;
    return ev.items;
}

void sw_mock_events_free(char **events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(events[i]);
    free(events);
}

char *sw_mock_error_json(const char *message, const char *type, const char *code, const char *param)
{
    return dump(sw_proto_error(sw_proto_get(SW_PROTO_CHAT), 0, type, code, param, message));
}

static json_t *model_json(const char *id)
{
    return json_pack("{s:s, s:s, s:i, s:s}", "id", id, "object", "model", "created", MODELS_CREATED,
                     "owned_by", "slipway-mock");
}

char *sw_mock_models_json(const sw_mock_scenario *sc, const char *id)
{
    if (id) {
        for (size_t i = 0; i < sc->n_models; i++)
            if (strcmp(sc->models[i], id) == 0)
                return dump(model_json(id));
        return NULL;
    }
    json_t *data = json_array();
    for (size_t i = 0; i < sc->n_models; i++)
        json_array_append_new(data, model_json(sc->models[i]));
    return dump(json_pack("{s:s, s:o}", "object", "list", "data", data));
}
