/*
 * xlate_dirs.h - each translation direction's functions, the rows of
 * translate.c's table (internal to core/proto; callers use sw_translator).
 * cm: a Chat Completions client, an Anthropic Messages provider; mc: the reverse.
 */
#ifndef SW_PROTO_XLATE_DIRS_H
#define SW_PROTO_XLATE_DIRS_H

#include "proto/translate.h"

json_t *sw_xlate_cm_request(const json_t *req, sw_xlate_err *err);
json_t *sw_xlate_cm_response(const json_t *resp);
sw_xlate_stream *sw_xlate_cm_stream_new(const json_t *req);
void sw_xlate_cm_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                              sw_buf *out);
void sw_xlate_cm_stream_end(sw_xlate_stream *s, sw_buf *out);
void sw_xlate_cm_stream_free(sw_xlate_stream *s);

json_t *sw_xlate_mc_request(const json_t *req, sw_xlate_err *err);
json_t *sw_xlate_mc_response(const json_t *resp);
sw_xlate_stream *sw_xlate_mc_stream_new(const json_t *req);
void sw_xlate_mc_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                              sw_buf *out);
void sw_xlate_mc_stream_end(sw_xlate_stream *s, sw_buf *out);
void sw_xlate_mc_stream_free(sw_xlate_stream *s);

/* The stop reasons, both ways (one table, translate_chat_messages.c). */
const char *sw_xlate_finish_to_stop(const char *finish_reason);
const char *sw_xlate_stop_to_finish(const char *stop_reason);

#endif
