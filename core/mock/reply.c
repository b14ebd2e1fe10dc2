/* reply.c - rendering answers and writing them as OpenAI's wire format. */
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "store/utf8.h"
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

/* Split s into pieces of about chunk bytes, never inside a UTF-8 character. */
static size_t next_piece(const char *s, size_t len, size_t chunk)
{
    size_t cut = utf8_cut(s, len, chunk);
    if (cut == 0) { /* chunk is smaller than the character: take the whole character */
        cut = 1;
        while (cut < len && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut++;
    }
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
    if (a->content) {
        const char *s = a->content;
        size_t len = strlen(s);
        while (len > 0) {
            size_t k = next_piece(s, len, chunk);
            push_chunk(&ev, w, include_usage, json_pack("{s:s%}", "content", s, k), NULL);
            s += k;
            len -= k;
        }
    }
    for (size_t i = 0; i < a->n_calls; i++) {
        const sw_mock_call_out *c = &a->calls[i];
        push_chunk(&ev, w, include_usage,
                   json_pack("{s:[{s:I, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls", "index",
                             (json_int_t)i, "id", c->id, "type", "function", "function", "name",
                             c->name, "arguments", ""),
                   NULL);
        const char *s = c->arguments;
        size_t len = strlen(s);
        while (len > 0) {
            size_t k = next_piece(s, len, chunk);
            push_chunk(&ev, w, include_usage,
                       json_pack("{s:[{s:I, s:{s:s%}}]}", "tool_calls", "index", (json_int_t)i,
                                 "function", "arguments", s, k),
                       NULL);
            s += k;
            len -= k;
        }
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

void sw_mock_events_free(char **events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(events[i]);
    free(events);
}

char *sw_mock_error_json(const char *message, const char *type, const char *code, const char *param)
{
    /* A message may quote a URL or a name, whatever bytes the client sent. */
    char *text = sw_utf8_scrub(message);
    json_t *err = json_pack("{s:s, s:s}", "message", text, "type", type);
    free(text);
    json_object_set_new(err, "param", param && *param ? json_string(param) : json_null());
    json_object_set_new(err, "code", code && *code ? json_string(code) : json_null());
    return dump(json_pack("{s:o}", "error", err));
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
