/* translate.c - the table of translated protocol pairs, and what every direction shares. */
#include "translate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/xlate_dirs.h"

static const sw_translator translators[] = {
    {SW_PROTO_CHAT, SW_PROTO_MESSAGES, sw_xlate_cm_request, sw_xlate_cm_response,
     sw_xlate_cm_stream_new, sw_xlate_cm_stream_event, sw_xlate_cm_stream_end,
     sw_xlate_cm_stream_free},
    {SW_PROTO_MESSAGES, SW_PROTO_CHAT, sw_xlate_mc_request, sw_xlate_mc_response,
     sw_xlate_mc_stream_new, sw_xlate_mc_stream_event, sw_xlate_mc_stream_end,
     sw_xlate_mc_stream_free},
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

int sw_xlate_refuse(sw_xlate_err *err, const char *param, const char *fmt, ...)
{
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}
