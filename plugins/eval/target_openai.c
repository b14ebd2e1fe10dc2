/* target_openai.c - the release applied to an OpenAI-compatible API: the agent loop. */
#include <stdlib.h>
#include <string.h>

#include "store/canon.h"
#include "target.h"

static int64_t max_tokens(const json_t *params)
{
    json_t *v = json_object_get(params, "max_completion_tokens");
    if (!json_is_integer(v))
        v = json_object_get(params, "max_tokens");
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The body is written from the release's canonical fragments around the
   conversation's messages, so a 5 KB system prompt and tool list are not
   serialized again for every request; the text is exactly the canonical JSON
   of the whole body (members in RFC 8785 order), which the cache key hashes. */
int ev_openai_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    const ev_release *rel = cv->rel;
    if (!cv->messages) {
        cv->messages = json_array();
        json_array_extend(cv->messages, cv->c->messages);
    }
    sw_buf b = {0};
    sw_buf_puts(&b, "{");
    sw_buf_puts(&b, rel->canon_head);
    sw_buf_puts(&b, rel->canon_head[0] ? ",\"messages\":[" : "\"messages\":[");
    int first = 1;
    if (rel->canon_system) {
        sw_buf_puts(&b, rel->canon_system);
        first = 0;
    }
    size_t i;
    json_t *m;
    json_array_foreach(cv->messages, i, m)
    {
        if (!first)
            sw_buf_puts(&b, ",");
        first = 0;
        if (sw_canon_append(&b, m, err) < 0) {
            sw_buf_free(&b);
            return sw_err_prefix(err, "building the request: ");
        }
    }
    sw_buf_puts(&b, "]");
    if (rel->canon_tail[0]) {
        sw_buf_puts(&b, ",");
        sw_buf_puts(&b, rel->canon_tail);
    }
    sw_buf_puts(&b, "}");
    spec->body_len = b.len;
    spec->body = sw_buf_steal(&b);
    if (cv->t->keyed) {
        ev_cache_key_canon("chat", spec->body, cv->sample, key);
        spec->cache_key = key;
    }
    spec->est_tokens = (int64_t)(spec->body_len / 4) + max_tokens(rel->params);
    return 0;
}

static void content_text(const json_t *content, sw_buf *out)
{
    if (json_is_string(content)) {
        sw_buf_puts(out, json_string_value(content));
        return;
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part)
    {
        const char *t = json_string_value(json_object_get(part, "text"));
        if (t)
            sw_buf_puts(out, t);
    }
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
    cv->out.error = ev_scrub(raw, cv->t->key);
    free(raw);
}

int ev_openai_take(ev_convo *cv, const ev_response *r)
{
    ev_output *o = &cv->out;
    if (r->error) {
        set_error(cv, "%s", r->error);
        return 0;
    }
    o->steps++;
    o->latency_ms += r->latency_ms;
    if (r->status < 200 || r->status > 299) {
        ev_output_http_error(o, r, cv->t->key);
        return 0;
    }
    json_error_t je;
    json_t *root = json_loadb(r->body, r->len, 0, &je);
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        char *ex = ev_excerpt(r->body, 200);
        set_error(cv, "the answer is not a chat completion: %s", root ? ex : je.text);
        free(ex);
        json_decref(root);
        return 0;
    }
    ev_output_add_usage(o, json_object_get(root, "usage"), &cv->rel->pricing);
    free(o->finish_reason);
    o->finish_reason = sw_xstrdup(json_string_value(json_object_get(choice, "finish_reason")));
    json_t *content = json_object_get(msg, "content");
    json_t *calls = json_object_get(msg, "tool_calls");
    if (json_array_size(calls) == 0) {
        sw_buf t = {0};
        content_text(content, &t);
        free(o->text);
        o->text = sw_buf_steal(&t);
        json_decref(root);
        return 0;
    }
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        json_t *fn = json_object_get(call, "function");
        json_t *args = json_object_get(fn, "arguments");
        char *atext = json_is_string(args) ? sw_xstrdup(json_string_value(args))
                                           : json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
        ev_output_add_call(o, json_string_value(json_object_get(call, "id")),
                           json_string_value(json_object_get(fn, "name")), atext);
        free(atext);
    }
    if (o->steps >= cv->t->max_steps) {
        o->max_steps_reached = 1;
        sw_buf t = {0};
        content_text(content, &t);
        free(o->text);
        o->text = sw_buf_steal(&t);
        json_decref(root);
        return 0;
    }
    /* The assistant turn as the model wrote it, then one tool message per call. */
    json_t *turn = json_pack("{s:s, s:O, s:O}", "role", "assistant", "content",
                             content ? content : json_null(), "tool_calls", calls);
    json_array_append_new(cv->messages, turn);
    json_array_foreach(calls, i, call)
    {
        const char *name =
            json_string_value(json_object_get(json_object_get(call, "function"), "name"));
        const char *id = json_string_value(json_object_get(call, "id"));
        char *result = canned(cv, name ? name : "");
        char *fallback = id ? NULL : sw_xasprintf("call_%zu", i);
        json_array_append_new(cv->messages,
                              json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id",
                                        id ? id : fallback, "content", result));
        free(fallback);
        free(result);
    }
    json_decref(root);
    return 1;
}
