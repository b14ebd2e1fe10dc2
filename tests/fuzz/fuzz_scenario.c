/*
 * fuzz_scenario.c - a `slipway mock` scenario file (YAML), parsed and
 * validated as `slipway mock --scenario` does; a scenario that loads then
 * answers a few fixed requests (text, tools, a tool result, a judge call,
 * a stream) the way the server does.
 *
 * Properties: a refused scenario has a diagnostic; a loaded one answers every
 * request with a chat.completion that is JSON, and with stream events that
 * are whole SSE events ("data: ...\n\n") which the router's SSE reader
 * (sse.c, completion.c) splits back into the same events, with the same
 * text, tool calls and usage as the whole answer.
 */
#include "fuzz_util.h"
#include "mock/reply.h"
#include "mock/request.h"
#include "mock/scenario.h"
#include "proto/completion.h"
#include "router/sse.h"
#include "slipway/mock.h"

static const char *const requests[] = {
    "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hello refund 42\"}]}",
    "{\"model\": \"gpt-x\", \"stream\": true, \"stream_options\": {\"include_usage\": true},"
    " \"messages\": [{\"role\": \"system\", \"content\": \"You are a grader.\"},"
    " {\"role\": \"user\", \"content\": \"order 1234 please\"}]}",
    "{\"model\": \"m\", \"stream\": true, \"tools\": [{\"type\": \"function\", \"function\":"
    " {\"name\": \"lookup_order\", \"parameters\": {}}}], \"messages\": [{\"role\": \"user\","
    " \"content\": \"where is my order 77\"}]}",
    "{\"model\": \"m\", \"max_tokens\": 3, \"messages\": [{\"role\": \"user\", \"content\": "
    "\"x\"}, {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\","
    " \"function\": {\"name\": \"lookup_order\", \"arguments\": \"{}\"}}]},"
    " {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"shipped\"}]}",
};

typedef struct seen {
    size_t n;
    sw_buf data;
    sw_completion c;
} seen;

static void on_event(void *ud, const char *ev, size_t len)
{
    seen *s = ud;
    s->n++;
    if (sw_sse_data(ev, len, &s->data) != 0)
        abort();
    if (strcmp(s->data.data, "[DONE]") == 0)
        return;
    json_t *chunk = json_loadb(s->data.data, s->data.len, 0, NULL);
    if (!chunk)
        abort(); /* the mock wrote a chunk that is not JSON */
    sw_completion_chunk(&s->c, chunk);
    json_decref(chunk);
}

static void answer(const sw_mock_scenario *sc, const char *body, uint64_t seed)
{
    sw_mock_req req;
    sw_mock_refusal why;
    memset(&req, 0, sizeof req);
    if (sw_mock_req_parse(body, strlen(body), sc, &req, &why) != 0) {
        if (!why.message[0])
            abort();
        sw_mock_req_free(&req);
        return;
    }
    char **ucaps = NULL, **scaps = NULL;
    const sw_mock_rule *rule = sw_mock_select(sc, &req, &ucaps, &scaps);
    if (!rule)
        abort();
    sw_mock_answer a;
    sw_mock_answer_build(rule, &req, ucaps, scaps, seed, &a);
    sw_mock_wire w = {"chatcmpl-fuzz", req.model ? req.model : "m", 1};
    char *text = sw_mock_completion_json(&a, &w);
    json_t *whole = json_loads(text, 0, NULL);
    if (!whole)
        abort();
    sw_completion wc;
    sw_completion_init(&wc, 1);
    sw_completion_response(&wc, whole);

    size_t n = 0, n_body = 0;
    char **evs = sw_mock_stream_events(&a, &w, 1, rule->chunk_bytes, &n, &n_body);
    seen s = {0};
    sw_completion_init(&s.c, 1);
    sw_sse sse = {0};
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(evs[i]);
        if (len < 8 || strncmp(evs[i], "data: ", 6) != 0 || strcmp(evs[i] + len - 2, "\n\n") != 0)
            abort();
        sw_sse_feed(&sse, evs[i], len, on_event, &s);
    }
    if (s.n != n || sw_sse_pending(&sse) != 0)
        abort();
    if (s.c.text.len != wc.text.len ||
        (wc.text.len && memcmp(s.c.text.data, wc.text.data, wc.text.len) != 0) ||
        s.c.tool_calls != wc.tool_calls || s.c.tokens_in != wc.tokens_in ||
        s.c.tokens_out != wc.tokens_out)
        abort();
    json_t *t1 = sw_completion_tools(&s.c), *t2 = sw_completion_tools(&wc);
    if (!json_equal(t1, t2))
        abort();
    json_decref(t1);
    json_decref(t2);
    sw_sse_free(&sse);
    sw_buf_free(&s.data);
    sw_completion_free(&s.c);
    sw_completion_free(&wc);
    sw_mock_events_free(evs, n);
    json_decref(whole);
    free(text);
    sw_mock_answer_free(&a);
    sw_mock_caps_free(ucaps);
    sw_mock_caps_free(scaps);
    sw_mock_req_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = sw_mock_scenario_parse((const char *)data, size, "scenario.yaml", d);
    if (!sc) {
        if (sw_diags_count(d) == 0)
            abort();
        for (size_t i = 0; i < sw_diags_count(d); i++)
            free(sw_diags_format(d, i));
    } else {
        for (size_t i = 0; i < sizeof requests / sizeof *requests; i++)
            answer(sc, requests[i], i + 1);
        char *models = sw_mock_models_json(sc, NULL);
        json_t *mj = models ? json_loads(models, 0, NULL) : NULL;
        if (!mj)
            abort();
        json_decref(mj);
        free(models);
        sw_mock_scenario_free(sc);
    }
    sw_diags_free(d);
    return 0;
}
