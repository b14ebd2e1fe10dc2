/* translate.c - the table of translated protocol pairs, and what every direction shares. */
#include "translate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/xlate_dirs.h"

/* Responses -> Messages goes through Chat Completions: Responses to Chat (rc), then Chat to
   Messages (cm); the answer and each stream event come back the same way. */
static json_t *rm_request(const json_t *req, sw_xlate_err *err)
{
    json_t *chat = sw_xlate_rc_request(req, err);
    json_t *m = chat ? sw_xlate_cm_request(chat, err) : NULL;
    json_decref(chat);
    return m;
}

static json_t *rm_response(const json_t *resp)
{
    json_t *chat = sw_xlate_cm_response(resp);
    json_t *r = sw_xlate_rc_response(chat);
    json_decref(chat);
    return r;
}

/* The chained stream's state: both halves', and the Chat events between them. */
struct sw_xlate_stream {
    sw_xlate_stream *to_chat, *to_responses;
    sw_buf mid;
};

static sw_xlate_stream *rm_stream_new(const json_t *req)
{
    sw_xlate_stream *s = sw_xcalloc(1, sizeof *s);
    /* The Chat half always asks for the usage chunk: response.completed carries it. */
    json_t *chat_req =
        json_pack("{s:b, s:{s:b}}", "stream", 1, "stream_options", "include_usage", 1);
    s->to_chat = sw_xlate_cm_stream_new(chat_req);
    json_decref(chat_req);
    s->to_responses = sw_xlate_rc_stream_new(req);
    return s;
}

/* The Chat events cm wrote ("data: ...\n\n" each, never named) fed on to rc. */
static void rm_forward(sw_xlate_stream *s, sw_buf *out)
{
    if (!s->mid.data)
        return; /* nothing written yet */
    const char *p = s->mid.data;
    const char *end = p + s->mid.len;
    while (p < end) {
        const char *stop = strstr(p, "\n\n");
        if (!stop)
            break;
        if (strncmp(p, "data: ", 6) == 0)
            sw_xlate_rc_stream_event(s->to_responses, NULL, p + 6, (size_t)(stop - p - 6), out);
        p = stop + 2;
    }
    s->mid.len = 0;
}

static void rm_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                            sw_buf *out)
{
    sw_xlate_cm_stream_event(s->to_chat, name, data, len, &s->mid);
    rm_forward(s, out);
}

static void rm_stream_end(sw_xlate_stream *s, sw_buf *out)
{
    sw_xlate_cm_stream_end(s->to_chat, &s->mid);
    rm_forward(s, out);
    sw_xlate_rc_stream_end(s->to_responses, out);
}

static void rm_stream_free(sw_xlate_stream *s)
{
    if (!s)
        return;
    sw_xlate_cm_stream_free(s->to_chat);
    sw_xlate_rc_stream_free(s->to_responses);
    sw_buf_free(&s->mid);
    free(s);
}

static const sw_translator translators[] = {
    {SW_PROTO_CHAT, SW_PROTO_MESSAGES, sw_xlate_cm_request, sw_xlate_cm_response,
     sw_xlate_cm_stream_new, sw_xlate_cm_stream_event, sw_xlate_cm_stream_end,
     sw_xlate_cm_stream_free},
    {SW_PROTO_MESSAGES, SW_PROTO_CHAT, sw_xlate_mc_request, sw_xlate_mc_response,
     sw_xlate_mc_stream_new, sw_xlate_mc_stream_event, sw_xlate_mc_stream_end,
     sw_xlate_mc_stream_free},
    {SW_PROTO_RESPONSES, SW_PROTO_CHAT, sw_xlate_rc_request, sw_xlate_rc_response,
     sw_xlate_rc_stream_new, sw_xlate_rc_stream_event, sw_xlate_rc_stream_end,
     sw_xlate_rc_stream_free},
    {SW_PROTO_RESPONSES, SW_PROTO_MESSAGES, rm_request, rm_response, rm_stream_new, rm_stream_event,
     rm_stream_end, rm_stream_free},
};

const sw_translator *sw_translator_find(sw_proto_id client, sw_proto_id upstream)
{
    for (size_t i = 0; i < sizeof translators / sizeof translators[0]; i++)
        if (translators[i].client == client && translators[i].upstream == upstream)
            return &translators[i];
    return NULL;
}

json_t *sw_xlate_error(const sw_proto *client, int status, const json_t *upstream_error)
{
    /* Both shapes keep the error object under "error", with "type" and "message". */
    const json_t *e = json_object_get(upstream_error, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (!msg && json_is_string(e))
        msg = json_string_value(e);
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *param = json_string_value(json_object_get(e, "param"));
    char fallback[64];
    if (!msg) {
        snprintf(fallback, sizeof fallback, "the provider answered with status %d", status);
        msg = fallback;
    }
    return sw_proto_error(client, status, type ? type : "upstream_error", code, param, msg);
}

void sw_xlate_emit(sw_buf *out, const char *name, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (name) {
        sw_buf_puts(out, "event: ");
        sw_buf_puts(out, name);
        sw_buf_append(out, "\n", 1);
    }
    sw_buf_puts(out, "data: ");
    sw_buf_puts(out, text ? text : "{}");
    sw_buf_append(out, "\n\n", 2);
    free(text);
}

json_t *sw_xlate_fields(const sw_xlate_field *table, size_t n, const json_t *req,
                        const char *target, sw_xlate_err *err)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(table[i].name, k) != 0)
            i++;
        int rc = i < n ? table[i].conv(k, v, out, err)
                       : sw_xlate_refuse(err, k, "'%s' has no %s equivalent", k, target);
        if (rc < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int sw_xlate_conv_copy(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)err;
    json_object_set(out, key, (json_t *)v);
    return 0;
}

int sw_xlate_text(const json_t *content, const char *const *types, sw_buf *buf, const char *where,
                  sw_xlate_err *err)
{
    if (json_is_string(content)) {
        sw_buf_append(buf, json_string_value(content), json_string_length(content));
        return 0;
    }
    size_t j;
    json_t *part;
    json_array_foreach(content, j, part)
    {
        const char *type = json_string_value(json_object_get(part, "type"));
        const json_t *t = json_object_get(part, "text");
        size_t k = 0;
        while (type && types[k] && strcmp(types[k], type) != 0)
            k++;
        if (!type || !types[k] || !json_is_string(t))
            return sw_xlate_refuse(err, where, "%s[%zu]: a '%s' part cannot be translated here",
                                   where, j, type ? type : "(untyped)");
        if (buf->len)
            sw_buf_append(buf, "\n", 1);
        sw_buf_append(buf, json_string_value(t), json_string_length(t));
    }
    return 0;
}

void sw_xlate_read_chunk(const sw_xlate_chunk_fns *f, sw_xlate_stream *s, const char *data,
                         size_t len, sw_buf *out)
{
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        f->done(s, out);
        return;
    }
    json_t *c = json_loadb(data, len, 0, NULL);
    if (!json_is_object(c)) {
        json_decref(c);
        return;
    }
    const json_t *e = json_object_get(c, "error");
    if (e) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        f->error(s, msg ? msg : "the provider's stream failed", out);
        json_decref(c);
        return;
    }
    f->start(s, c, out);
    const json_t *choice = json_array_get(json_object_get(c, "choices"), 0);
    const json_t *d = json_object_get(choice, "delta");
    const json_t *text = json_object_get(d, "content");
    if (json_is_string(text) && json_string_length(text))
        f->text(s, text, out);
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(d, "tool_calls"), i, call) f->tool(s, call, out);
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    if (finish)
        f->finish(s, finish);
    const json_t *u = json_object_get(c, "usage");
    if (json_is_object(u))
        f->usage(s, u);
    json_decref(c);
}

int sw_xlate_refuse(sw_xlate_err *err, const char *param, const char *fmt, ...)
{
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}
