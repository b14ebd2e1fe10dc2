/*
 * reply.h - what the mock says: the answer a rule gives a request, and its
 * wire forms in each protocol (a chat.completion and its chat.completion.chunk
 * events; a Responses `response` and its response.* events; an Anthropic
 * `message` and its message_start ... message_stop events), OpenAI-style
 * errors, the model list.
 */
#ifndef SW_MOCK_REPLY_H
#define SW_MOCK_REPLY_H

#include <stdint.h>

#include "request.h"

typedef struct sw_mock_call_out {
    char *id; /* "call_" + 24 hex digits, from the request's generator */
    char *name;
    char *arguments; /* compact JSON text */
} sw_mock_call_out;

typedef struct sw_mock_answer {
    char *content; /* NULL when the answer is only tool calls */
    sw_mock_call_out *calls;
    size_t n_calls;
    const char *finish_reason; /* "stop", "tool_calls", or "length" (cut at max_tokens) */
    int64_t prompt_tokens, completion_tokens;
} sw_mock_answer;

/* Render rule's answer to req. ucaps/scaps: capture groups (may be NULL);
   id_seed makes the tool call ids. */
void sw_mock_answer_build(const sw_mock_rule *rule, const sw_mock_req *req, char **ucaps,
                          char **scaps, uint64_t id_seed, sw_mock_answer *out);
void sw_mock_answer_free(sw_mock_answer *a);

/* Where a stream is: what the chunks repeat. */
typedef struct sw_mock_wire {
    const char *id;
    const char *model;
    long long created;
} sw_mock_wire;

/* The chat.completion object. Caller frees. */
char *sw_mock_completion_json(const sw_mock_answer *a, const sw_mock_wire *w);

/* The events of a stream, each a whole "data: ...\n\n": the role chunk,
   content chunks of chunk_bytes (never splitting a UTF-8 character), for
   each tool call a header chunk and argument chunks, the chunk with
   finish_reason, the usage chunk (include_usage), "data: [DONE]".
   *n_body receives the index of the finish chunk (the events before it are
   the role and the deltas). Caller frees with sw_mock_events_free. */
char **sw_mock_stream_events(const sw_mock_answer *a, const sw_mock_wire *w, int include_usage,
                             int chunk_bytes, size_t *n, size_t *n_body);
void sw_mock_events_free(char **events, size_t n);

/* The Responses API's `response` object. Caller frees. */
char *sw_mock_response_json(const sw_mock_answer *a, const sw_mock_wire *w);
/* Its stream: response.created, response.in_progress, for the text an output_item.added,
   content_part.added, output_text.delta events of chunk_bytes, output_text.done,
   content_part.done, output_item.done; for each tool call output_item.added,
   function_call_arguments.delta events, function_call_arguments.done, output_item.done; and
   response.completed (response.incomplete when cut at max_output_tokens). Each event is
   "event: <type>\ndata: {...}\n\n" with a sequence_number. *n_head: the events before the
   first delta; *n_body: the index of the last event. */
char **sw_mock_response_events(const sw_mock_answer *a, const sw_mock_wire *w, int chunk_bytes,
                               size_t *n, size_t *n_head, size_t *n_body);
/* Anthropic's `message` object. Caller frees. */
char *sw_mock_message_json(const sw_mock_answer *a, const sw_mock_wire *w);
/* Its stream: message_start, for the text a content_block_start, a ping, text_delta events,
   content_block_stop; for each tool call a content_block_start (tool_use), input_json_delta
   events, content_block_stop; then message_delta (stop_reason, output usage) and message_stop.
   *n_head, *n_body: as for sw_mock_response_events (n_body: message_delta). */
char **sw_mock_message_events(const sw_mock_answer *a, const sw_mock_wire *w, int chunk_bytes,
                              size_t *n, size_t *n_head, size_t *n_body);

/* {"error": {"message", "type", "param", "code"}}; code and param may be NULL or "". */
char *sw_mock_error_json(const char *message, const char *type, const char *code,
                         const char *param);
/* GET /v1/models; NULL id: the list, else that model or NULL when unknown. */
char *sw_mock_models_json(const sw_mock_scenario *sc, const char *id);

#endif
