/*
 * xlate_dirs.h - each translation direction's functions, the rows of
 * translate.c's table (internal to core/proto; callers use sw_translator).
 * cm: a Chat Completions client, an Anthropic Messages provider; mc: the reverse;
 * rc: an OpenAI Responses client, a Chat Completions provider.
 */
#ifndef SW_PROTO_XLATE_DIRS_H
#define SW_PROTO_XLATE_DIRS_H

#include <stdint.h>

#include "proto/completion.h"
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

json_t *sw_xlate_rc_request(const json_t *req, sw_xlate_err *err);
json_t *sw_xlate_rc_response(const json_t *resp);
sw_xlate_stream *sw_xlate_rc_stream_new(const json_t *req);
void sw_xlate_rc_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                              sw_buf *out);
void sw_xlate_rc_stream_end(sw_xlate_stream *s, sw_buf *out);
void sw_xlate_rc_stream_free(sw_xlate_stream *s);

/* Shared by the direction modules (translate.c). A request field's converter: sets what the
   field becomes on out, or refuses (-1, err). */
typedef int (*sw_xlate_conv)(const char *key, const json_t *v, json_t *out, sw_xlate_err *err);
typedef struct sw_xlate_field {
    const char *name;
    sw_xlate_conv conv;
} sw_xlate_field;
/* The request with every field converted by its row of table (a field without a row is
   refused as having no `target` equivalent); NULL and err on a refusal. */
json_t *sw_xlate_fields(const sw_xlate_field *table, size_t n, const json_t *req,
                        const char *target, sw_xlate_err *err);
int sw_xlate_conv_copy(const char *key, const json_t *v, json_t *out, sw_xlate_err *err);
/* A content (a text, or a list of parts whose type is one of `types`, NULL-terminated, each
   with a "text") appended to buf, parts joined by newlines; -1 and err naming `where` when a
   part is of another type. */
int sw_xlate_text(const json_t *content, const char *const *types, sw_buf *buf, const char *where,
                  sw_xlate_err *err);

/* A Chat Completions stream event, read for a module that turns it into another protocol's:
   [DONE], an error event, or a chunk (start, with every chunk; its text; each tool call
   delta; its finish reason; its usage). */
typedef struct sw_xlate_chunk_fns {
    void (*done)(sw_xlate_stream *s, sw_buf *out);
    void (*error)(sw_xlate_stream *s, const char *message, sw_buf *out);
    void (*start)(sw_xlate_stream *s, const json_t *chunk, sw_buf *out);
    void (*text)(sw_xlate_stream *s, const json_t *text, sw_buf *out);
    void (*tool)(sw_xlate_stream *s, const json_t *call, sw_buf *out);
    void (*finish)(sw_xlate_stream *s, const char *finish_reason);
    void (*usage)(sw_xlate_stream *s, const json_t *usage);
} sw_xlate_chunk_fns;
void sw_xlate_read_chunk(const sw_xlate_chunk_fns *f, sw_xlate_stream *s, const char *data,
                         size_t len, sw_buf *out);

#endif
