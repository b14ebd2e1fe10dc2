/* judge.c - the llm-rubric assertion: the grader's prompt and reading its verdict. */
#include "judge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/apply.h"
#include "store/sha256.h"

/* "grader" also tells `slipway mock` this is a judge call. */
static const char judge_system[] =
    "You are a strict grader. You are given the input a user sent to an AI assistant, the "
    "assistant's output (with any tool calls it made) and a rubric. Decide whether the output "
    "satisfies the rubric. Answer with one JSON object and nothing else:\n"
    "{\"reason\": \"<one or two sentences>\", \"score\": <a number from 0.0 to 1.0>, "
    "\"pass\": <true or false>}";

static const char judge_user[] = "<Input>\n%s\n</Input>\n<Output>\n%s\n</Output>\n"
                                 "%s<Rubric>\n%s\n</Rubric>";

const char *ev_judge_prompt_hash(void)
{
    static char hex[SW_SHA256_HEX_LEN + 1];
    if (!hex[0]) {
        sw_sha256_ctx c;
        unsigned char d[SW_SHA256_LEN];
        sw_sha256_init(&c);
        sw_sha256_update(&c, judge_system, sizeof judge_system);
        sw_sha256_update(&c, judge_user, sizeof judge_user);
        sw_sha256_final(&c, d);
        sw_hex(d, sizeof d, hex);
    }
    return hex;
}

static int prepare_rubric(ev_assert *a, sw_err *err)
{
    if (!json_is_string(a->value) || !*json_string_value(a->value))
        return sw_err_set(err, "value must be the rubric (text)");
    if (a->has_threshold && (a->threshold < 0 || a->threshold > 1))
        return sw_err_set(err, "threshold is a score in [0, 1]");
    return 0;
}

const ev_kind ev_kind_llm_rubric = {"llm-rubric",
                                    EV_K_NEGATABLE | EV_K_VALUE | EV_K_THRESHOLD | EV_K_JUDGE,
                                    prepare_rubric, NULL, NULL};

json_t *ev_judge_request(const char *model, sw_proto_id proto, int max_tokens, const ev_assert *a,
                         const ev_subject *s, sw_err *err)
{
    sw_buf calls = {0};
    if (s->out && s->out->n_calls) {
        sw_buf_puts(&calls, "<ToolCalls>\n");
        for (size_t i = 0; i < s->out->n_calls; i++)
            sw_buf_printf(&calls, "%s(%s)\n", s->out->calls[i].name, s->out->calls[i].arguments);
        sw_buf_puts(&calls, "</ToolCalls>\n");
    }
    char *user = sw_xasprintf(judge_user, s->input ? s->input : "",
                              s->out && s->out->text ? s->out->text : "",
                              calls.data ? calls.data : "", json_string_value(a->value));
    sw_buf_free(&calls);
    /* The grader is a release of its own: its prompt applied in its protocol's terms. */
    json_t *grader = json_pack("{s:{s:s}, s:{s:{s:s}}, s:{s:f, s:i}}", "model", "name", model,
                               "prompts", "system", "text", judge_system, "parameters",
                               "temperature", 0.0, "max_tokens", max_tokens);
    json_t *req = json_pack("{s:[{s:s, s:s}]}", sw_proto_get(proto)->messages_field, "role", "user",
                            "content", user);
    free(user);
    int rc = sw_proto_apply_release(grader, proto, 0, req, err);
    json_decref(grader);
    if (rc < 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

/* The first JSON object in text (a judge may wrap it in prose or a code fence). */
static json_t *first_object(const char *text)
{
    size_t len = strlen(text);
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        json_t *j = json_loadb(p, len - (size_t)(p - text), JSON_DISABLE_EOF_CHECK, NULL);
        if (json_is_object(j))
            return j;
        json_decref(j);
    }
    return NULL;
}

static int read_bool(const json_t *v, int *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 1;
    }
    const char *s = json_string_value(v);
    if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "pass") == 0)) {
        *out = 1;
        return 1;
    }
    if (s && (strcasecmp(s, "false") == 0 || strcasecmp(s, "fail") == 0)) {
        *out = 0;
        return 1;
    }
    return 0;
}

void ev_judge_verdict(const ev_assert *a, sw_proto_id proto, long status, const char *body,
                      size_t len, ev_aresult *r, int64_t *tokens_in, int64_t *tokens_out)
{
    memset(r, 0, sizeof *r);
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    sw_completion c;
    sw_completion_init(&c, 1);
    sw_proto_get(proto)->read_response(&c, root);
    *tokens_in = c.tokens_in;
    *tokens_out = c.tokens_out;
    int parsed = root != NULL;
    json_decref(root);
    if (status < 200 || status > 299) {
        char *ex = ev_excerpt(body, 200);
        ev_result_set(r, EV_ERROR, 0, "judge: HTTP %ld: %s", status, ex);
        free(ex);
        sw_completion_free(&c);
        return;
    }
    sw_buf_append(&c.text, "", 0);
    const char *content = c.text.data;
    if (!parsed || !c.text.len) {
        ev_result_set(r, EV_ERROR, 0, "judge: the answer has no text (not %s)",
                      proto == SW_PROTO_MESSAGES    ? "an Anthropic message"
                      : proto == SW_PROTO_RESPONSES ? "a Responses API response"
                                                    : "a chat completion");
        sw_completion_free(&c);
        return;
    }
    json_t *v = first_object(content);
    if (!v) {
        char *ex = ev_excerpt(content, 200);
        ev_result_set(r, EV_ERROR, 0, "judge: no JSON verdict in its answer: '%s'", ex);
        free(ex);
        sw_completion_free(&c);
        return;
    }
    int pass = 0, has_pass = read_bool(json_object_get(v, "pass"), &pass);
    json_t *sc = json_object_get(v, "score");
    int has_score = json_is_number(sc);
    double score = has_score ? json_number_value(sc) : (pass ? 1 : 0);
    const char *reason = json_string_value(json_object_get(v, "reason"));
    if (!reason)
        reason = "";
    if (has_score && !(score >= 0 && score <= 1)) {
        ev_result_set(r, EV_ERROR, 0, "judge: score %g is outside [0, 1]", score);
    } else if (!has_pass && !has_score) {
        ev_result_set(r, EV_ERROR, 0, "judge: the verdict has neither pass nor score");
    } else {
        double thr = a->has_threshold ? a->threshold : 0.5;
        int ok = has_pass ? pass && (!a->has_threshold || score >= thr) : score >= thr;
        ev_result_set(r, ok ? EV_PASS : EV_FAIL, score, "judge: %s (score %.2f): %s",
                      ok ? "pass" : "fail", score, reason);
    }
    json_decref(v);
    sw_completion_free(&c);
}
