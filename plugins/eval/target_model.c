/*
 * target_model.c - the agent loop over a model's API, the same in each protocol:
 * ask, read the answer (core/proto's reader: usage, text, tool calls), answer each
 * tool call with the case's canned result in the protocol's terms, ask again.
 *
 * What differs between the protocols is one row each of the table below: how a
 * case's opening messages (written as Chat Completions messages in datasets) are
 * said, what an answer looks like, where a tool call's id is, the finish reason
 * in Chat Completions' words, and how the model's turn and the tool results go
 * back into the conversation. Requests other than Chat Completions' are the
 * conversation with the release applied by sw_proto_apply_release, the router's
 * gateway code, so a release is evaluated as production calls its model.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proto/apply.h"
#include "proto/translate.h"
#include "store/canon.h"
#include "target.h"

typedef struct wire {
    const char *answer; /* what a whole answer is, for errors */
    /* The case's opening messages in the protocol's terms (a new list; members outside it,
       Messages' system, set on fixed); NULL and err naming the field when they cannot be. */
    json_t *(*opening)(const ev_case *c, json_t *fixed, sw_err *err);
    int (*valid)(const json_t *root);
    /* The id of the answer's i-th tool call (in the reader's order), or NULL. */
    const char *(*call_id)(const json_t *root, size_t i);
    const char *(*finish)(const json_t *root, size_t calls);
    /* The model's turn, then each result ({"id", "content"}), onto the conversation. */
    void (*append)(json_t *convo, const json_t *root, const json_t *results);
} wire;

/* Each tool result ({"id", "content"}) as one object {kind_key: kind, id_key: id, content_key:
   content} appended to dest: the protocols say the same thing under other names. */
static void results_as(const json_t *results, const char *kind_key, const char *kind,
                       const char *id_key, const char *content_key, json_t *dest)
{
    size_t i;
    json_t *r;
    json_array_foreach((json_t *)results, i, r)
    {
        json_array_append_new(dest, json_pack("{s:s, s:O, s:O}", kind_key, kind, id_key,
                                              json_object_get(r, "id"), content_key,
                                              json_object_get(r, "content")));
    }
}

/* ---- Chat Completions ---- */

static json_t *chat_opening(const ev_case *c, json_t *fixed, sw_err *err)
{
    (void)fixed;
    (void)err;
    return json_deep_copy(c->messages);
}

static const json_t *chat_message(const json_t *root)
{
    return json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message");
}

static int chat_valid(const json_t *root)
{
    return json_is_object(chat_message(root));
}

static const char *chat_call_id(const json_t *root, size_t i)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(chat_message(root), "tool_calls"), i), "id"));
}

static const char *chat_finish(const json_t *root, size_t calls)
{
    (void)calls;
    return json_string_value(
        json_object_get(json_array_get(json_object_get(root, "choices"), 0), "finish_reason"));
}

static void chat_append(json_t *convo, const json_t *root, const json_t *results)
{
    const json_t *msg = chat_message(root);
    const json_t *content = json_object_get(msg, "content");
    json_array_append_new(convo, json_pack("{s:s, s:O, s:O}", "role", "assistant", "content",
                                           content ? content : json_null(), "tool_calls",
                                           json_object_get(msg, "tool_calls")));
    results_as(results, "role", "tool", "tool_call_id", "content", convo);
}

/* ---- the OpenAI Responses API ---- */

/* A Chat message's content as one text: a text, or the texts of its parts. */
static char *plain_text(const json_t *content, const char *where, sw_err *err)
{
    if (json_is_string(content) || json_is_null(content) || !content)
        return sw_xstrdup(json_is_string(content) ? json_string_value(content) : "");
    if (!json_is_array(content)) {
        sw_err_set(err, "%s must be a text or a list of text parts", where);
        return NULL;
    }
    sw_buf b = {0};
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part)
    {
        const char *t = json_string_value(json_object_get(part, "text"));
        if (!t) {
            sw_buf_free(&b);
            sw_err_set(err, "%s[%zu] is not a text part: only texts go over the Responses API",
                       where, i);
            return NULL;
        }
        sw_buf_puts(&b, t);
    }
    sw_buf_append(&b, "", 0);
    return sw_buf_steal(&b);
}

/* Chat messages as Responses input items: tool calls as function_call items, tool
   messages as function_call_output items. */
static json_t *responses_opening(const ev_case *c, json_t *fixed, sw_err *err)
{
    (void)fixed;
    json_t *items = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(c->messages, i, m)
    {
        char where[48];
        snprintf(where, sizeof where, "messages[%zu].content", i);
        const char *role = json_string_value(json_object_get(m, "role"));
        char *text = plain_text(json_object_get(m, "content"), where, err);
        if (!text) {
            json_decref(items);
            return NULL;
        }
        if (role && strcmp(role, "tool") == 0) {
            json_t *item = json_pack("{s:s, s:O, s:s}", "type", "function_call_output", "call_id",
                                     json_object_get(m, "tool_call_id"), "output", text);
            free(text);
            if (!item) {
                json_decref(items);
                sw_err_set(err, "messages[%zu]: a tool message needs its tool_call_id", i);
                return NULL;
            }
            json_array_append_new(items, item);
            continue;
        }
        {
            if (*text || !json_object_get(m, "tool_calls"))
                json_array_append_new(
                    items, json_pack("{s:s, s:s}", "role", role ? role : "user", "content", text));
            size_t k;
            json_t *call;
            json_array_foreach(json_object_get(m, "tool_calls"), k, call)
            {
                const json_t *fn = json_object_get(call, "function");
                json_t *item =
                    json_pack("{s:s, s:O, s:O, s:O}", "type", "function_call", "call_id",
                              json_object_get(call, "id"), "name", json_object_get(fn, "name"),
                              "arguments", json_object_get(fn, "arguments"));
                if (!item) {
                    free(text);
                    json_decref(items);
                    sw_err_set(err,
                               "messages[%zu].tool_calls[%zu] needs id, function.name and "
                               "function.arguments",
                               i, k);
                    return NULL;
                }
                json_array_append_new(items, item);
            }
        }
        free(text);
    }
    return items;
}

static int responses_valid(const json_t *root)
{
    return json_is_array(json_object_get(root, "output"));
}

static int of_type(const json_t *j, const char *type)
{
    const char *t = json_string_value(json_object_get(j, "type"));
    return t && strcmp(t, type) == 0;
}

/* The i-th element of list whose type is `type`. */
static const json_t *nth_of_type(const json_t *list, const char *type, size_t i)
{
    size_t k;
    json_t *x;
    json_array_foreach(list, k, x)
    {
        if (of_type(x, type) && i-- == 0)
            return x;
    }
    return NULL;
}

static const char *responses_call_id(const json_t *root, size_t i)
{
    return json_string_value(json_object_get(
        nth_of_type(json_object_get(root, "output"), "function_call", i), "call_id"));
}

static const char *responses_finish(const json_t *root, size_t calls)
{
    const char *status = json_string_value(json_object_get(root, "status"));
    if (status && strcmp(status, "incomplete") == 0)
        return "length";
    return calls ? "tool_calls" : "stop";
}

/* The model's output items go back as they are (the API wants its function_call items, and
   any reasoning, before their outputs). */
static void responses_append(json_t *convo, const json_t *root, const json_t *results)
{
    json_array_extend(convo, json_object_get(root, "output"));
    results_as(results, "type", "function_call_output", "call_id", "output", convo);
}

/* ---- Anthropic Messages ---- */

/* Chat messages in Messages terms by the gateway's translator: tool calls as tool_use
   blocks, tool messages as tool_result blocks, system messages as `system`. */
static json_t *messages_opening(const ev_case *c, json_t *fixed, sw_err *err)
{
    const sw_translator *x = sw_translator_find(SW_PROTO_CHAT, SW_PROTO_MESSAGES);
    json_t *req = json_pack("{s:O}", "messages", c->messages);
    sw_xlate_err xe = {{0}, {0}};
    json_t *out = x->request(req, &xe);
    json_decref(req);
    if (!out) {
        sw_err_set(err, "%s", xe.msg);
        return NULL;
    }
    json_t *sys = json_object_get(out, "system");
    if (sys)
        json_object_set(fixed, "system", sys);
    json_t *msgs = json_incref(json_object_get(out, "messages"));
    json_decref(out);
    return msgs ? msgs : json_array();
}

static int messages_valid(const json_t *root)
{
    return json_is_array(json_object_get(root, "content"));
}

static const char *messages_call_id(const json_t *root, size_t i)
{
    return json_string_value(
        json_object_get(nth_of_type(json_object_get(root, "content"), "tool_use", i), "id"));
}

static const char *messages_finish(const json_t *root, size_t calls)
{
    (void)calls;
    return sw_xlate_stop_to_finish(json_string_value(json_object_get(root, "stop_reason")));
}

static void messages_append(json_t *convo, const json_t *root, const json_t *results)
{
    json_array_append_new(convo, json_pack("{s:s, s:O}", "role", "assistant", "content",
                                           json_object_get(root, "content")));
    json_t *blocks = json_array();
    results_as(results, "type", "tool_result", "tool_use_id", "content", blocks);
    json_array_append_new(convo, json_pack("{s:s, s:o}", "role", "user", "content", blocks));
}

static const wire wires[SW_PROTO_COUNT] = {
    [SW_PROTO_CHAT] = {"a chat completion", chat_opening, chat_valid, chat_call_id, chat_finish,
                       chat_append},
    [SW_PROTO_RESPONSES] = {"a Responses API response", responses_opening, responses_valid,
                            responses_call_id, responses_finish, responses_append},
    [SW_PROTO_MESSAGES] = {"an Anthropic message", messages_opening, messages_valid,
                           messages_call_id, messages_finish, messages_append},
};

/* ---- the loop ---- */

int ev_model_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    const sw_proto *p = sw_proto_get(cv->proto);
    if (!cv->messages) {
        cv->fixed = json_object();
        cv->messages = wires[cv->proto].opening(cv->c, cv->fixed, err);
        if (!cv->messages)
            return sw_err_prefix(err, "case %s: ", cv->c->id);
    }
    if (cv->proto == SW_PROTO_CHAT)
        return ev_openai_next(cv, spec, key, err);
    json_t *body = json_deep_copy(cv->fixed);
    json_object_set(body, p->messages_field, cv->messages);
    if (sw_proto_apply_release(cv->rel->applied, cv->proto, 0, body, err) < 0) {
        json_decref(body);
        return sw_err_prefix(err, "case %s: ", cv->c->id);
    }
    char *text = sw_canon_json(body, err);
    json_decref(body);
    if (!text)
        return sw_err_prefix(err, "case %s: building the request: ", cv->c->id);
    spec->body = text;
    spec->body_len = strlen(text);
    if (cv->t->keyed) {
        ev_cache_key_canon(p->name, text, cv->sample, key);
        spec->cache_key = key;
    }
    spec->est_tokens = (int64_t)(spec->body_len / 4) + ev_release_max_tokens(cv->rel);
    return 0;
}

/* The canned result for a call of `name`: the value, or the next of a list. */
static char *canned(ev_convo *cv, const char *name)
{
    json_t *v = json_object_get(cv->c->tool_results, name);
    if (!v) {
        if (!cv->out.missing_tools)
            cv->out.missing_tools = json_array();
        json_array_append_new(cv->out.missing_tools, json_string(name));
        return sw_xasprintf("{\"error\":\"no canned result for tool %s\"}", name);
    }
    if (json_is_array(v) && json_array_size(v) > 0) {
        if (!cv->used)
            cv->used = json_object();
        json_int_t i = json_integer_value(json_object_get(cv->used, name));
        json_object_set_new(cv->used, name, json_integer(i + 1));
        size_t n = json_array_size(v);
        v = json_array_get(v, (size_t)i < n ? (size_t)i : n - 1);
    }
    if (json_is_string(v))
        return sw_xstrdup(json_string_value(v));
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *r = sw_xstrdup(t ? t : "null");
    free(t);
    return r;
}

static void set_error(ev_convo *cv, const char *fmt, ...) SW_PRINTF(2, 3);
static void set_error(ev_convo *cv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *raw = sw_xvasprintf(fmt, ap);
    va_end(ap);
    free(cv->out.error);
    cv->out.error = ev_scrub(raw, cv->ep->key);
    free(raw);
}

/* Each tool call of the answer recorded; 1 when the model is to be asked again. */
static int take_calls(ev_convo *cv, const wire *w, const json_t *root, const sw_completion *c)
{
    ev_output *o = &cv->out;
    size_t n = json_array_size(c->tools);
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        const json_t *call = json_array_get(c->tools, i);
        const char *name = json_string_value(json_object_get(call, "name"));
        const char *args = json_string_value(json_object_get(call, "arguments"));
        const char *id = w->call_id(root, i);
        char *fallback = id ? NULL : sw_xasprintf("call_%zu", i);
        ev_output_add_call(o, id, name, args && *args ? args : "{}");
        char *result = canned(cv, name ? name : "");
        json_array_append_new(results,
                              json_pack("{s:s, s:s}", "id", id ? id : fallback, "content", result));
        free(result);
        free(fallback);
    }
    int more = n > 0;
    if (more && o->steps >= cv->t->max_steps) {
        o->max_steps_reached = 1;
        more = 0;
    }
    if (more)
        w->append(cv->messages, root, results);
    json_decref(results);
    return more;
}

int ev_model_take(ev_convo *cv, const ev_response *r)
{
    const wire *w = &wires[cv->proto];
    ev_output *o = &cv->out;
    if (r->error) {
        set_error(cv, "%s", r->error);
        return 0;
    }
    o->steps++;
    o->latency_ms += r->latency_ms;
    if (r->status < 200 || r->status > 299) {
        ev_output_http_error(o, r, cv->ep->key);
        return 0;
    }
    json_error_t je;
    json_t *root = json_loadb(r->body, r->len, 0, &je);
    if (!w->valid(root)) {
        char *ex = ev_excerpt(r->body, 200);
        set_error(cv, "the answer is not %s: %s", w->answer, root ? ex : je.text);
        free(ex);
        json_decref(root);
        return 0;
    }
    sw_completion c;
    sw_completion_init(&c, 1);
    sw_proto_get(cv->proto)->read_response(&c, root);
    ev_output_add_completion(o, &c, &cv->rel->pricing);
    free(o->finish_reason);
    o->finish_reason = sw_xstrdup(w->finish(root, json_array_size(c.tools)));
    free(o->text);
    o->text = sw_xstrndup(c.text.data ? c.text.data : "", c.text.len);
    int more = take_calls(cv, w, root, &c);
    sw_completion_free(&c);
    json_decref(root);
    return more;
}
