/* check_mock_scenario.c - the mock's scenarios: parsing, every error with its
   position, rule matching, templates, seeded latencies and faults, tokens,
   request validation, and the wire form of answers and streams. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock/reply.h"
#include "mock/request.h"
#include "mock/rng.h"
#include "mock/scenario.h"
#include "mock/tmpl.h"

#include "diag_check.h"

#ifndef SW_TEST_SOURCE_DIR
#define SW_TEST_SOURCE_DIR "tests"
#endif
#define FIXTURE(name) SW_TEST_SOURCE_DIR "/fixtures/mock/" name

static sw_mock_scenario *parse(const char *text, sw_diags *d)
{
    return sw_mock_scenario_parse(text, strlen(text), "s.yaml", d);
}

static sw_mock_scenario *parse_ok(const char *text)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = parse(text, d);
    if (!sc)
        dump(d);
    ck_assert_ptr_nonnull(sc);
    sw_diags_free(d);
    return sc;
}

static const sw_mock_rule *rule_named(const sw_mock_scenario *sc, const char *name)
{
    for (size_t i = 0; i <= sc->n_rules; i++)
        if (strcmp(sw_mock_scenario_rule(sc, i)->name, name) == 0)
            return sw_mock_scenario_rule(sc, i);
    ck_abort_msg("no rule '%s'", name);
    return NULL;
}

/* ---- parsing ---- */

START_TEST(test_fixture)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = sw_mock_scenario_load(FIXTURE("basic.yaml"), d);
    if (!sc)
        dump(d);
    ck_assert_ptr_nonnull(sc);
    ck_assert_uint_eq(sw_diags_count(d), 0);
    ck_assert_uint_eq(sc->seed, 42);
    ck_assert_uint_eq(sw_mock_scenario_rule_count(sc), 12);
    ck_assert_str_eq(sc->rules[0].name, "judge");
    ck_assert_str_eq(sc->fallback.name, "defaults");
    ck_assert_uint_eq(sc->fallback.index, 12);
    /* models: listed, then exact match.model names, then the default; globs are not models */
    ck_assert_uint_eq(sc->n_models, 3);
    ck_assert_str_eq(sc->models[0], "gpt-4o-mini");
    ck_assert_str_eq(sc->models[1], "judge-model");
    ck_assert_str_eq(sc->models[2], SW_MOCK_DEFAULT_MODEL);

    const sw_mock_rule *slow = rule_named(sc, "slow");
    ck_assert_int_eq(slow->latency.kind, SW_MOCK_LAT_FIXED);
    ck_assert(slow->latency.a == 50);
    ck_assert_int_eq(slow->has_ttft, 0);
    const sw_mock_rule *limited = rule_named(sc, "limited");
    ck_assert_uint_eq(limited->n_faults, 1);
    ck_assert_int_eq(limited->faults[0].kind, SW_MOCK_FAULT_429);
    ck_assert_int_eq(limited->faults[0].retry_after, 7);
    /* no respond: the defaults' answer */
    ck_assert_str_eq(limited->respond.text, "default answer");
    ck_assert_int_eq(rule_named(sc, "stalled")->faults[0].stall_ms, 300);
    ck_assert_int_eq(rule_named(sc, "stalled")->chunk_bytes, 4);
    ck_assert_int_eq(rule_named(sc, "broken")->chunk_bytes, 16);
    const sw_mock_rule *lookup = rule_named(sc, "lookup");
    ck_assert_uint_eq(lookup->respond.n_calls, 1);
    ck_assert_str_eq(lookup->respond.calls[0].name, "lookup_order");
    ck_assert_int_eq(lookup->match.tools, 1);
    ck_assert_int_eq(lookup->match.user.kind, SW_MOCK_TEXT_REGEX);
    ck_assert_uint_eq(lookup->match.user.groups, 1);
    ck_assert_int_eq(rule_named(sc, "fixed-usage")->prompt_tokens, 100);
    ck_assert_int_eq(rule_named(sc, "echo")->prompt_tokens, -1);
    const sw_mock_rule *streamy = rule_named(sc, "streamy");
    ck_assert_int_eq(streamy->has_ttft, 1);
    ck_assert(streamy->ttft.a == 5 && streamy->latency.a == 20);
    sw_mock_scenario_free(sc);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_defaults_inherited)
{
    sw_mock_scenario *sc = parse_ok("defaults:\n"
                                    "  latency: {uniform: [10ms, 30ms]}\n"
                                    "  ttft: 5ms\n"
                                    "  errors: [{kind: 500, rate: 0.25}]\n"
                                    "  chunk_bytes: 8\n"
                                    "  usage: {completion_tokens: 3}\n"
                                    "rules:\n"
                                    "  - respond: {text: a}\n"
                                    "  - latency: 1s\n"
                                    "    errors: []\n"
                                    "    respond: {text: b}\n");
    const sw_mock_rule *a = &sc->rules[0], *b = &sc->rules[1];
    ck_assert_str_eq(a->name, "rule-1");
    ck_assert_str_eq(b->name, "rule-2");
    ck_assert_int_eq(a->latency.kind, SW_MOCK_LAT_UNIFORM);
    ck_assert(a->latency.a == 10 && a->latency.b == 30);
    ck_assert_int_eq(a->has_ttft, 1);
    ck_assert_uint_eq(a->n_faults, 1);
    ck_assert(a->faults[0].rate == 0.25);
    ck_assert_int_eq(a->faults[0].retry_after, -1);
    ck_assert_int_eq(a->chunk_bytes, 8);
    ck_assert_int_eq(a->completion_tokens, 3);
    ck_assert_int_eq(a->prompt_tokens, -1);
    ck_assert_int_eq(b->latency.kind, SW_MOCK_LAT_FIXED);
    ck_assert(b->latency.a == 1000);
    ck_assert_uint_eq(b->n_faults, 0); /* a rule's errors replace the defaults' */
    ck_assert_str_eq(sc->fallback.respond.text, SW_MOCK_DEFAULT_TEXT);
    ck_assert_uint_eq(sc->fallback.n_faults, 1);
    sw_mock_scenario_free(sc);
}
END_TEST

START_TEST(test_empty_and_default)
{
    sw_mock_scenario *sc = parse_ok("");
    ck_assert_uint_eq(sc->n_rules, 0);
    ck_assert_str_eq(sc->fallback.respond.text, SW_MOCK_DEFAULT_TEXT);
    ck_assert_uint_eq(sc->n_judge_markers, 3);
    sw_mock_scenario_free(sc);
    sc = sw_mock_scenario_default();
    ck_assert_uint_eq(sw_mock_scenario_rule_count(sc), 0);
    ck_assert_str_eq(sc->models[0], SW_MOCK_DEFAULT_MODEL);
    ck_assert_uint_eq(sc->n_models, 1);
    ck_assert_str_eq(sc->fallback.respond.text, SW_MOCK_DEFAULT_TEXT);
    sw_mock_scenario_free(sc);
}
END_TEST

/* Every error, with its position. */
static const struct {
    const char *yaml;
    const char *message;
    int line, col;
} errors[] = {
    {"rulez: []\n", "scenario: unknown key 'rulez' (did you mean 'rules'?)", 1, 1},
    {"rules:\n  - mtach: {}\n", "rule: unknown key 'mtach' (did you mean 'match'?)", 2, 5},
    {"rules:\n  - match: {usr: x}\n", "match: unknown key 'usr' (did you mean 'user'?)", 2, 13},
    {"rules:\n  - respond: {txt: x}\n", "respond: unknown key 'txt' (did you mean 'text'?)", 2, 15},
    {"defaults:\n  latncy: 1s\n", "defaults: unknown key 'latncy' (did you mean 'latency'?)", 2, 3},
    {"rules:\n  - latency: fast\n", "latency: invalid duration 'fast'", 2, 14},
    {"rules:\n  - latency: -5ms\n", "latency cannot be negative", 2, 14},
    {"rules:\n  - latency: 2h\n", "longer than an hour", 2, 14},
    {"rules:\n  - latency: [1, 2]\n", "latency must be a duration (20ms) or a mapping", 2, 14},
    {"rules:\n  - latency: {uniform: [50ms, 10ms]}\n", "low (50ms) is above high (10ms)", 2, 24},
    {"rules:\n  - latency: {uniform: [50ms]}\n", "two durations [low, high]", 2, 24},
    {"rules:\n  - latency: {lognormal: {median: 100ms}}\n", "needs median and sigma", 2, 26},
    {"rules:\n  - latency: {lognormal: {median: 100ms, sigma: -1}}\n",
     "sigma must be between 0 and 10", 2, 49},
    {"rules:\n  - latency: {lognormal: {median: 0ms, sigma: 1}}\n", "median must be positive", 2,
     35},
    {"rules:\n  - latency: {normal: 5ms}\n", "unknown key 'normal'", 2, 15},
    {"rules:\n  - ttft: {fixd: 5ms}\n", "unknown key 'fixd' (did you mean 'fixed'?)", 2, 12},
    {"rules:\n  - errors: [{kind: stal, rate: 0.1}]\n",
     "unknown kind 'stal' (did you mean 'stall'?)", 2, 21},
    {"rules:\n  - errors: [{kind: 404, rate: 0.1}]\n", "kind must be one of 429", 2, 21},
    {"rules:\n  - errors: [{rate: 0.1}]\n", "errors[0] needs a kind", 2, 14},
    {"rules:\n  - errors: [{kind: 500}]\n", "errors[0] needs a rate", 2, 14},
    {"rules:\n  - errors: [{kind: 500, rate: 1.5}]\n", "rate must be between 0 and 1", 2, 32},
    {"rules:\n  - errors: [{kind: 500, rate: lots}]\n", "must be a number, found 'lots'", 2, 32},
    {"rules:\n  - errors:\n      - {kind: 500, rate: 0.6}\n      - {kind: 503, rate: 0.6}\n",
     "the error rates add up to 1.2, more than 1", 3, 7},
    {"rules:\n  - errors: [{kind: 500, rate: 0.1, retry_after: 3}]\n",
     "retry_after is for 429 and 503 only", 2, 37},
    {"rules:\n  - errors: [{kind: drop, rate: 0.1, message: x}]\n", "a drop sends no message", 2,
     38},
    {"rules:\n  - errors: [{kind: 429, rate: 0.1, for: 1s}]\n", "'for' is for stall only", 2, 37},
    {"rules:\n  - errors: {kind: 500}\n", "'errors' must be a sequence", 2, 13},
    {"rules:\n  - errors: [{kind: 429, rate: 0.1, retry_ater: 3}]\n",
     "unknown key 'retry_ater' (did you mean 'retry_after'?)", 2, 37},
    {"rules:\n  - match: {user: '/(unclosed/'}\n", "match.user: invalid regex '/(unclosed/'", 2,
     19},
    {"rules:\n  - match: {system: '/x/g'}\n", "unknown regex flag 'g'", 2, 21},
    {"rules:\n  - match: {user: '/[\\D]/'}\n", "'\\D' inside [...] is not supported", 2, 19},
    {"rules:\n  - match: {tools: maybe}\n", "match.tools must be true or false, found 'maybe'", 2,
     20},
    {"rules:\n  - match: {judge: 1}\n", "match.judge must be true or false", 2, 20},
    {"rules:\n  - match: {tool_result: [a]}\n", "must be true, false or a tool name", 2, 26},
    {"rules:\n  - match: {model: [a]}\n", "match.model must be a string", 2, 20},
    {"rules:\n  - match: [x]\n", "match must be a mapping, found a sequence", 2, 12},
    {"rules:\n  - respond: {text: 'hi {{usr}}'}\n", "unknown placeholder '{{usr}}'", 2, 21},
    {"rules:\n  - respond: {text: 'hi {{user'}\n", "unclosed '{{'", 2, 21},
    {"rules:\n  - respond: {text: 'order {{user.1}}'}\n",
     "'{{user.1}}' needs a /regex/ in match.user", 2, 21},
    {"rules:\n  - match: {user: '/(a)b/'}\n    respond: {text: '{{user.2}}'}\n",
     "the match.user regex has 1 capture group", 3, 21},
    {"rules:\n  - respond: {json: {reason: '{{system.1}}'}}\n",
     "'reason': '{{system.1}}' needs a /regex/ in match.system", 2, 21},
    {"rules:\n  - respond: {}\n", "respond needs text, tool_calls or json", 2, 14},
    {"rules:\n  - respond: {text: a, json: {x: 1}}\n", "json is the whole answer", 2, 24},
    {"rules:\n  - respond: {text: [a]}\n", "respond.text must be a string", 2, 21},
    {"rules:\n  - respond: {tool_calls: []}\n", "must be a non-empty sequence", 2, 27},
    {"rules:\n  - respond: {tool_calls: [{arguments: {}}]}\n", "tool_calls[0] needs a name", 2, 28},
    {"rules:\n  - respond: {tool_calls: [{name: 'bad name'}]}\n", "is not a tool name", 2, 35},
    {"rules:\n  - respond: {tool_calls: [{name: f, arguments: '[1]'}]}\n",
     "arguments must be a mapping or a JSON object text", 2, 49},
    {"rules:\n  - respond: {tool_calls: [{name: f, arguments: [1]}]}\n",
     "arguments must be a mapping, found a sequence", 2, 49},
    {"rules:\n  - respond: {tool_calls: [{name: f, argument: {}}]}\n",
     "unknown key 'argument' (did you mean 'arguments'?)", 2, 38},
    {"rules:\n  - name: a\n  - name: a\n", "rule name 'a' is used twice (first at line 2)", 3, 11},
    {"rules:\n  - name: defaults\n", "reserved", 2, 11},
    {"rules:\n  - name: [x]\n", "rule name must be a string", 2, 11},
    {"rules:\n  - just a string\n", "a rule must be a mapping, found a scalar", 2, 5},
    {"rules: {a: 1}\n", "'rules' must be a sequence of rules", 1, 8},
    {"seed: -1\n", "seed must be between 0 and", 1, 7},
    {"seed: abc\n", "seed must be an integer, found 'abc'", 1, 7},
    {"models: gpt\n", "'models' must be a sequence of strings", 1, 9},
    {"models: [[a]]\n", "models must be a string, found a sequence", 1, 10},
    {"judge_markers: ['']\n", "an empty marker", 1, 16},
    {"rules:\n  - chunk_bytes: 0\n", "chunk_bytes must be between 1 and 65536", 2, 18},
    {"rules:\n  - usage: {prompt_tokens: -1}\n", "usage.prompt_tokens must be between 0", 2, 28},
    {"rules:\n  - usage: {promt_tokens: 1}\n",
     "unknown key 'promt_tokens' (did you mean 'prompt_tokens'?)", 2, 13},
    {"rules:\n  - usage: lots\n", "usage must be 'auto' or a mapping", 2, 12},
    {"modifiers:\n  - latency_scale: 0\n", "latency_scale must be more than 0 and at most 1000", 2,
     20},
    {"modifiers:\n  - usage_scale: lots\n", "usage_scale must be a number, found 'lots'", 2, 18},
    {"modifiers:\n  - latency_scal: 2\n",
     "unknown key 'latency_scal' (did you mean 'latency_scale'?)", 2, 5},
    {"modifiers:\n  - match: {sytem: x}\n", "unknown key 'sytem' (did you mean 'system'?)", 2, 13},
    {"modifiers: {a: 1}\n", "'modifiers' must be a sequence of modifiers", 1, 12},
    {"- a\n", "a scenario must be a mapping, found a sequence", 1, 1},
    {"rules: [\n", "", 2, 1}, /* a YAML syntax error, positioned by the YAML reader */
};

START_TEST(test_errors)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = parse(errors[_i].yaml, d);
    int found = has_diag(d, errors[_i].message, errors[_i].line, errors[_i].col);
    if (sc || !found) {
        fprintf(stderr, "case %d: want '%s' at %d:%d, got:\n", _i, errors[_i].message,
                errors[_i].line, errors[_i].col);
        dump(d);
    }
    ck_assert_ptr_null(sc);
    ck_assert(found);
    const sw_diagnostic *g = sw_diags_at(d, 0);
    ck_assert_str_eq(g->file, "s.yaml");
    char *text = sw_diags_format(d, 0);
    ck_assert_msg(strncmp(text, "s.yaml:", 7) == 0, "%s", text);
    free(text);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_every_error_reported)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = parse("sed: 1\n"
                                 "rules:\n"
                                 "  - latency: fast\n"
                                 "    respond: {txt: a}\n"
                                 "  - errors: [{kind: 500, rate: 2}]\n",
                                 d);
    ck_assert_ptr_null(sc);
    ck_assert_uint_ge(sw_diags_errors(d), 4);
    ck_assert(has_diag(d, "did you mean 'seed'", 1, 1));
    ck_assert(has_diag(d, "invalid duration 'fast'", 3, 14));
    ck_assert(has_diag(d, "did you mean 'text'", 4, 15));
    ck_assert(has_diag(d, "rate must be between 0 and 1", 5, 32));
    sw_diags_free(d);
}
END_TEST

START_TEST(test_missing_file)
{
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_mock_scenario_load(FIXTURE("no-such-file.yaml"), d));
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    char *text = sw_diags_format(d, 0);
    ck_assert_msg(strstr(text, "no-such-file.yaml"), "%s", text);
    free(text);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_bad_fixture)
{
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_mock_scenario_load(FIXTURE("bad.yaml"), d));
    ck_assert(has_diag(d, "unknown key 'latncy' (did you mean 'latency'?)", 5, 5));
    const sw_diagnostic *g = sw_diags_at(d, 0);
    ck_assert_str_eq(g->file, FIXTURE("bad.yaml"));
    sw_diags_free(d);
}
END_TEST

/* ---- requests ---- */

static void req_ok(const sw_mock_scenario *sc, const char *json, sw_mock_req *q)
{
    sw_mock_refusal why;
    int rc = sw_mock_req_parse(json, strlen(json), sc, q, &why);
    ck_assert_msg(rc == 0, "%s: %s", json, why.message);
}

static const struct {
    const char *body;
    const char *param;
    const char *message;
} refusals[] = {
    {"{", "", "We could not parse the JSON body"},
    {"[1]", "", "must be a JSON object"},
    {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model", "provide a model"},
    {"{\"model\":\"m\"}", "messages", "Missing required parameter: 'messages'"},
    {"{\"model\":\"m\",\"messages\":{}}", "messages", "Missing required parameter"},
    {"{\"model\":\"m\",\"messages\":[]}", "messages", "empty array"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"robot\"}]}", "messages[0].role",
     "Invalid value for 'messages[0].role'"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}, 3]}", "messages[1].role", "Invalid"},
    {"{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\"}]}", "stream",
     "expected a boolean"},
    {"{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\"}]}", "max_tokens",
     "at least 1"},
};

START_TEST(test_refusals)
{
    sw_mock_scenario *sc = sw_mock_scenario_default();
    sw_mock_req q;
    sw_mock_refusal why;
    const char *body = refusals[_i].body;
    ck_assert_int_eq(sw_mock_req_parse(body, strlen(body), sc, &q, &why), -1);
    ck_assert_int_eq(why.status, 400);
    ck_assert_str_eq(why.type, "invalid_request_error");
    ck_assert_str_eq(why.param, refusals[_i].param);
    ck_assert_msg(strstr(why.message, refusals[_i].message), "%s", why.message);
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);
}
END_TEST

START_TEST(test_request_reduced)
{
    sw_mock_scenario *sc = sw_mock_scenario_default();
    sw_mock_req q;
    req_ok(sc,
           "{\"model\":\"gpt\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
           "\"max_completion_tokens\":9,\"tools\":[{\"type\":\"function\"}],\"messages\":["
           "{\"role\":\"system\",\"content\":\"abcd\"},"
           "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"ef\"}]},"
           "{\"role\":\"user\",\"content\":\"first\"},"
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
           "\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{}\"}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"sec\"},"
           "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},{\"type\":\"text\",\"text\":"
           "\"ond\"}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"{\\\"ok\\\":1}\"}]}",
           &q);
    ck_assert_str_eq(q.model, "gpt");
    ck_assert_int_eq(q.stream, 1);
    ck_assert_int_eq(q.include_usage, 1);
    ck_assert_int_eq(q.max_tokens, 9);
    ck_assert_int_eq(q.has_tools, 1);
    ck_assert_str_eq(q.system, "abcd\nef");
    ck_assert_str_eq(q.user, "second"); /* the last user message, text parts joined */
    ck_assert_int_eq(q.last_is_tool, 1);
    ck_assert_str_eq(q.tool_name, "lookup"); /* found through tool_call_id */
    ck_assert_str_eq(q.tool_result, "{\"ok\":1}");
    /* abcd + ef + first + lookup + {} + second + {"ok":1} */
    ck_assert_uint_eq(q.prompt_bytes, 4 + 2 + 5 + 6 + 2 + 6 + 8);
    ck_assert_int_eq(q.judge, 0);
    sw_mock_req_free(&q);

    req_ok(sc, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", &q);
    ck_assert_int_eq(q.stream, 0);
    ck_assert_int_eq(q.max_tokens, -1);
    ck_assert_int_eq(q.has_tools, 0);
    ck_assert_ptr_null(q.system);
    ck_assert_int_eq(q.last_is_tool, 0);
    ck_assert_ptr_null(q.tool_result);
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);
}
END_TEST

START_TEST(test_tokens)
{
    ck_assert_int_eq(sw_mock_tokens(0), 0);
    ck_assert_int_eq(sw_mock_tokens(1), 1);
    ck_assert_int_eq(sw_mock_tokens(4), 1);
    ck_assert_int_eq(sw_mock_tokens(5), 2);
    ck_assert_int_eq(sw_mock_tokens(400), 100);
    ck_assert_int_eq(sw_mock_tokens(401), 101);
}
END_TEST

START_TEST(test_judge_detection)
{
    sw_mock_scenario *sc = sw_mock_scenario_default();
    ck_assert(sw_mock_is_judge(sc, "gpt", "You are a JUDGE of answers"));
    ck_assert(sw_mock_is_judge(sc, "gpt", "You are grading output according to a rubric"));
    ck_assert(sw_mock_is_judge(sc, "gpt", "act as a grader"));
    ck_assert(sw_mock_is_judge(sc, "my-judge-1", NULL));
    ck_assert(!sw_mock_is_judge(sc, "gpt", "You are a support agent"));
    ck_assert(!sw_mock_is_judge(sc, "gpt", NULL));
    sw_mock_scenario_free(sc);
    sc = parse_ok("judge_markers: [referee]\n");
    ck_assert(sw_mock_is_judge(sc, "gpt", "You are the Referee"));
    ck_assert(!sw_mock_is_judge(sc, "gpt", "You are a judge"));
    sw_mock_scenario_free(sc);
}
END_TEST

/* ---- matching ---- */

static const char *const match_scenario = "rules:\n"
                                          "  - name: by-model\n"
                                          "    match: {model: 'claude-*'}\n"
                                          "  - name: judge\n"
                                          "    match: {judge: true}\n"
                                          "  - name: refund-result\n"
                                          "    match: {tool_result: issue_refund}\n"
                                          "  - name: any-result\n"
                                          "    match: {tool_result: true}\n"
                                          "  - name: order-with-tools\n"
                                          "    match: {tools: true, user: '/order #?(\\d+)/i'}\n"
                                          "  - name: order-no-tools\n"
                                          "    match: {tools: false, user: order}\n"
                                          "  - name: french\n"
                                          "    match: {system: '/^Tu es/'}\n"
                                          "  - name: exact\n"
                                          "    match: {model: gpt-4o, user: 'hello'}\n";

#define U(text) "{\"role\":\"user\",\"content\":\"" text "\"}"
#define S(text) "{\"role\":\"system\",\"content\":\"" text "\"}"
#define TOOLS   ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"

static const struct {
    const char *request;
    const char *rule;
} matches[] = {
    {"{\"model\":\"claude-3\",\"messages\":[" U("order 5") "]}", "by-model"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" S("You are a judge") "," U("hello") "]}", "judge"},
    {"{\"model\":\"judge-v2\",\"messages\":[" U("hello") "]}", "judge"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" U(
         "refund") ",{\"role\":\"assistant\",\"tool_calls\":"
                   "[{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"issue_refund\","
                   "\"arguments\":"
                   "\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":\"done\"}]}",
     "refund-result"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" U("x") ",{\"role\":\"tool\",\"name\":\"lookup_order\","
                                                   "\"content\":\"{}\"}]}",
     "any-result"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" U("x") ",{\"role\":\"tool\",\"tool_call_id\":\"zz\","
                                                   "\"content\":\"{}\"}]}",
     "any-result"},
    {"{\"model\":\"gpt-4o\"" TOOLS ",\"messages\":[" U("Where is ORDER #123?") "]}",
     "order-with-tools"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" U("Where is order #123?") "]}", "order-no-tools"},
    {"{\"model\":\"gpt-4o\"" TOOLS ",\"messages\":[" U("Where is my order?") "]}", "defaults"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" S("Tu es un assistant") "," U("salut") "]}", "french"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" S("You are: Tu es") "," U("salut") "]}", "defaults"},
    {"{\"model\":\"gpt-4o\",\"messages\":[" U("hello there") "]}", "exact"},
    {"{\"model\":\"gpt-4o-mini\",\"messages\":[" U("hello there") "]}", "defaults"},
    /* only the last user message counts */
    {"{\"model\":\"gpt-4o\",\"messages\":[" U("hello") ",{\"role\":\"assistant\",\"content\":"
                                                       "\"hi\"}," U("bye") "]}",
     "defaults"},
    /* a tool result that is not the last message does not count */
    {"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"tool\",\"name\":\"f\",\"content\":\"x\"}," U(
         "hello") "]}",
     "exact"},
};

START_TEST(test_matching)
{
    sw_mock_scenario *sc = parse_ok(match_scenario);
    sw_mock_req q;
    req_ok(sc, matches[_i].request, &q);
    char **uc, **scp;
    const sw_mock_rule *r = sw_mock_select(sc, &q, &uc, &scp);
    ck_assert_msg(strcmp(r->name, matches[_i].rule) == 0, "case %d: got %s, want %s", _i, r->name,
                  matches[_i].rule);
    if (strcmp(r->name, "order-with-tools") == 0) {
        ck_assert_ptr_nonnull(uc);
        ck_assert_str_eq(uc[0], "ORDER #123");
        ck_assert_str_eq(uc[1], "123");
    }
    sw_mock_caps_free(uc);
    sw_mock_caps_free(scp);
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);
}
END_TEST

/* Modifiers are all-match, on top of the first-match rules: the scales of
   every modifier that matches multiply; one that does not match counts 1. */
START_TEST(test_modifier_scales)
{
    sw_mock_scenario *sc = parse_ok("rules:\n"
                                    "  - name: any\n"
                                    "    respond: {text: hi}\n"
                                    "modifiers:\n"
                                    "  - name: slow\n"
                                    "    match: {system: SLOW}\n"
                                    "    latency_scale: 3\n"
                                    "  - match: {system: '/COST(LY)?/'}\n"
                                    "    usage_scale: 2\n"
                                    "  - match: {system: SLOW, user: big}\n"
                                    "    latency_scale: 1.5\n"
                                    "    usage_scale: 4\n");
    ck_assert_uint_eq(sc->n_modifiers, 3);
    ck_assert_str_eq(sc->modifiers[0].name, "slow");
    ck_assert_str_eq(sc->modifiers[1].name, "modifier-2");
    ck_assert(sc->modifiers[0].usage_scale == 1 && sc->modifiers[1].latency_scale == 1);
    static const struct {
        const char *system, *user;
        double latency, usage;
    } cases[] = {{"plain", "x", 1, 1},
                 {"SLOW", "x", 3, 1},
                 {"COSTLY", "x", 1, 2},
                 {"SLOW and COST", "x", 3, 2},
                 {"SLOW and COST", "a big one", 4.5, 8}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *body = sw_xasprintf("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
                                  "\"%s\"},{\"role\":\"user\",\"content\":\"%s\"}]}",
                                  cases[i].system, cases[i].user);
        sw_mock_req q;
        req_ok(sc, body, &q);
        double lat, use;
        sw_mock_scales(sc, &q, &lat, &use);
        ck_assert_msg(lat == cases[i].latency && use == cases[i].usage,
                      "case %zu: latency x%g usage x%g, want x%g x%g", i, lat, use,
                      cases[i].latency, cases[i].usage);
        char **uc, **scp; /* the rule that answers is unchanged */
        ck_assert_str_eq(sw_mock_select(sc, &q, &uc, &scp)->name, "any");
        sw_mock_caps_free(uc);
        sw_mock_caps_free(scp);
        sw_mock_req_free(&q);
        free(body);
    }
    sw_mock_scenario_free(sc);
}
END_TEST

START_TEST(test_regex_translation)
{
    sw_mock_scenario *sc = parse_ok("rules:\n"
                                    "  - match: {user: '/^\\w+ [\\d.]+\\s\\S+$/'}\n"
                                    "  - match: {user: '/[]x]/'}\n");
    ck_assert(sw_mock_text_matches(&sc->rules[0].match.user, "abc_1 12.5 x!", NULL));
    ck_assert(!sw_mock_text_matches(&sc->rules[0].match.user, "abc 1a x", NULL));
    ck_assert(sw_mock_text_matches(&sc->rules[1].match.user, "a]b", NULL));
    ck_assert(!sw_mock_text_matches(&sc->rules[1].match.user, "ab", NULL));
    ck_assert(!sw_mock_text_matches(&sc->rules[1].match.user, NULL, NULL));
    sw_mock_scenario_free(sc);
}
END_TEST

/* ---- answers ---- */

START_TEST(test_templates)
{
    sw_mock_scenario *sc =
        parse_ok("rules:\n"
                 "  - match: {user: '/order (NW-[0-9]+)/', system: '/shop (\\w+)/'}\n"
                 "    respond:\n"
                 "      text: '{{ user.1 }} at {{system.1}} for {{model}}; \\{{user}} {{user}}'\n");
    sw_mock_req q;
    req_ok(
        sc,
        "{\"model\":\"gpt\",\"messages\":[" S("The shop Northwind") "," U("my order NW-1234") "]}",
        &q);
    char **uc, **scp;
    const sw_mock_rule *r = sw_mock_select(sc, &q, &uc, &scp);
    ck_assert_str_eq(r->name, "rule-1");
    sw_mock_answer a;
    sw_mock_answer_build(r, &q, uc, scp, 1, &a);
    ck_assert_str_eq(a.content, "NW-1234 at Northwind for gpt; {{user}} my order NW-1234");
    ck_assert_str_eq(a.finish_reason, "stop");
    sw_mock_answer_free(&a);
    sw_mock_caps_free(uc);
    sw_mock_caps_free(scp);
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);

    /* a capture cutting a UTF-8 character in two still renders valid UTF-8 */
    sw_mock_vars v = {0};
    char *caps[SW_MOCK_MAX_GROUPS] = {"\xc3", "ok"};
    v.user_caps = caps;
    char *s = sw_mock_tmpl_string("[{{user.0}}|{{user.1}}|{{tool_name}}]", &v);
    ck_assert_str_eq(s, "[?|ok|]");
    free(s);
}
END_TEST

START_TEST(test_answers)
{
    sw_mock_scenario *sc = sw_mock_scenario_load(FIXTURE("basic.yaml"), NULL);
    ck_assert_ptr_nonnull(sc);
    sw_mock_req q;
    char **uc, **scp;
    sw_mock_answer a;

    /* tool calls: arguments rendered and serialized, ids deterministic */
    req_ok(sc, "{\"model\":\"gpt-4o-mini\"" TOOLS ",\"messages\":[" U("my order NW-104233") "]}",
           &q);
    const sw_mock_rule *r = sw_mock_select(sc, &q, &uc, &scp);
    ck_assert_str_eq(r->name, "lookup");
    sw_mock_answer_build(r, &q, uc, scp, 77, &a);
    ck_assert_ptr_null(a.content);
    ck_assert_uint_eq(a.n_calls, 1);
    ck_assert_str_eq(a.calls[0].name, "lookup_order");
    ck_assert_str_eq(a.calls[0].arguments, "{\"order_id\":\"NW-104233\",\"include_items\":true}");
    ck_assert_str_eq(a.finish_reason, "tool_calls");
    ck_assert_uint_eq(strlen(a.calls[0].id), 5 + 24);
    char *id = strdup(a.calls[0].id);
    ck_assert_int_eq(a.prompt_tokens, sw_mock_tokens(strlen("my order NW-104233")));
    ck_assert_int_eq(a.completion_tokens,
                     sw_mock_tokens(strlen("lookup_order") + strlen(a.calls[0].arguments)));
    sw_mock_answer_free(&a);
    sw_mock_answer_build(r, &q, uc, scp, 77, &a);
    ck_assert_str_eq(a.calls[0].id, id);
    sw_mock_answer_free(&a);
    sw_mock_answer_build(r, &q, uc, scp, 78, &a);
    ck_assert_str_ne(a.calls[0].id, id);
    sw_mock_answer_free(&a);
    free(id);
    sw_mock_caps_free(uc);
    sw_mock_caps_free(scp);
    sw_mock_req_free(&q);

    /* json: the verdict as content, numbers as written */
    req_ok(sc, "{\"model\":\"gpt-4o-mini\",\"messages\":[" S("You are a judge") "," U("x") "]}",
           &q);
    r = sw_mock_select(sc, &q, &uc, &scp);
    ck_assert_str_eq(r->name, "judge");
    sw_mock_answer_build(r, &q, uc, scp, 1, &a);
    ck_assert_str_eq(a.content, "{\"pass\":true,\"score\":0.9,\"reason\":\"meets the rubric\"}");
    sw_mock_answer_free(&a);
    sw_mock_req_free(&q);

    /* fixed usage */
    req_ok(sc, "{\"model\":\"fixed-1\",\"messages\":[" U("x") "]}", &q);
    r = sw_mock_select(sc, &q, &uc, &scp);
    ck_assert_str_eq(r->name, "fixed-usage");
    sw_mock_answer_build(r, &q, uc, scp, 1, &a);
    ck_assert_int_eq(a.prompt_tokens, 100);
    ck_assert_int_eq(a.completion_tokens, 20);
    sw_mock_answer_free(&a);
    sw_mock_req_free(&q);

    /* max_tokens cuts the text: finish_reason length */
    req_ok(sc, "{\"model\":\"m\",\"max_tokens\":2,\"messages\":[" U("echo: a long message") "]}",
           &q);
    r = sw_mock_select(sc, &q, &uc, &scp);
    ck_assert_str_eq(r->name, "echo");
    sw_mock_answer_build(r, &q, uc, scp, 1, &a);
    ck_assert_str_eq(a.content, "You said");
    ck_assert_str_eq(a.finish_reason, "length");
    ck_assert_int_eq(a.completion_tokens, 2);
    sw_mock_answer_free(&a);
    sw_mock_req_free(&q);
    sw_mock_scenario_free(sc);
}
END_TEST

START_TEST(test_completion_json)
{
    sw_mock_answer a = {0};
    a.content = strdup("hi");
    a.finish_reason = "stop";
    a.prompt_tokens = 3;
    a.completion_tokens = 1;
    sw_mock_wire w = {"chatcmpl-1", "gpt", 1700000000};
    char *text = sw_mock_completion_json(&a, &w);
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "object")), "chat.completion");
    ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "chatcmpl-1");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "created")), 1700000000);
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(choice, "finish_reason")), "stop");
    json_t *msg = json_object_get(choice, "message");
    ck_assert_str_eq(json_string_value(json_object_get(msg, "role")), "assistant");
    ck_assert_str_eq(json_string_value(json_object_get(msg, "content")), "hi");
    ck_assert_ptr_null(json_object_get(msg, "tool_calls"));
    json_t *usage = json_object_get(j, "usage");
    ck_assert_int_eq(json_integer_value(json_object_get(usage, "total_tokens")), 4);
    json_decref(j);
    free(text);
    sw_mock_answer_free(&a);
}
END_TEST

/* Reassemble a stream: content, tool call arguments, and the shape of each event. */
START_TEST(test_stream_events)
{
    sw_mock_answer a = {0};
    a.content = strdup("h\xc3\xa9llo w\xe2\x82\xacrld"); /* é and € must not be split */
    a.n_calls = 1;
    a.calls = calloc(1, sizeof *a.calls);
    a.calls[0].id = strdup("call_1");
    a.calls[0].name = strdup("lookup_order");
    a.calls[0].arguments = strdup("{\"order_id\":\"NW-104233\"}");
    a.finish_reason = "tool_calls";
    a.prompt_tokens = 10;
    a.completion_tokens = 5;
    sw_mock_wire w = {"chatcmpl-9", "gpt", 1};
    for (int usage = 0; usage <= 1; usage++) {
        size_t n, n_body;
        char **ev = sw_mock_stream_events(&a, &w, usage, 2, &n, &n_body);
        ck_assert_str_eq(ev[n - 1], "data: [DONE]\n\n");
        ck_assert_uint_eq(n, n_body + (usage ? 3 : 2));
        sw_buf content = {0}, args = {0};
        for (size_t i = 0; i + 1 < n; i++) {
            ck_assert(strncmp(ev[i], "data: ", 6) == 0);
            ck_assert(strcmp(ev[i] + strlen(ev[i]) - 2, "\n\n") == 0);
            json_t *j = json_loads(ev[i] + 6, 0, NULL);
            ck_assert_msg(j != NULL, "event %zu is not JSON: %s", i, ev[i]);
            ck_assert_str_eq(json_string_value(json_object_get(j, "object")),
                             "chat.completion.chunk");
            ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "chatcmpl-9");
            json_t *choices = json_object_get(j, "choices");
            if (usage && i == n - 2) { /* the usage chunk */
                ck_assert_uint_eq(json_array_size(choices), 0);
                ck_assert_int_eq(json_integer_value(
                                     json_object_get(json_object_get(j, "usage"), "total_tokens")),
                                 15);
                json_decref(j);
                continue;
            }
            ck_assert_int_eq(json_is_null(json_object_get(j, "usage")), usage);
            json_t *choice = json_array_get(choices, 0);
            json_t *delta = json_object_get(choice, "delta");
            json_t *fin = json_object_get(choice, "finish_reason");
            if (i == 0)
                ck_assert_str_eq(json_string_value(json_object_get(delta, "role")), "assistant");
            if (i == n_body)
                ck_assert_str_eq(json_string_value(fin), "tool_calls");
            else
                ck_assert(json_is_null(fin));
            const char *c = json_string_value(json_object_get(delta, "content"));
            if (c) {
                ck_assert_uint_le(strlen(c), 3); /* 2 bytes, or one whole 3-byte character */
                sw_buf_puts(&content, c);
            }
            json_t *tc = json_array_get(json_object_get(delta, "tool_calls"), 0);
            if (tc) {
                ck_assert_int_eq(json_integer_value(json_object_get(tc, "index")), 0);
                json_t *fn = json_object_get(tc, "function");
                if (json_object_get(tc, "id")) {
                    ck_assert_str_eq(json_string_value(json_object_get(tc, "id")), "call_1");
                    ck_assert_str_eq(json_string_value(json_object_get(fn, "name")),
                                     "lookup_order");
                }
                sw_buf_puts(&args, json_string_value(json_object_get(fn, "arguments")));
            }
            json_decref(j);
        }
        ck_assert_str_eq(content.data, a.content);
        ck_assert_str_eq(args.data, a.calls[0].arguments);
        sw_buf_free(&content);
        sw_buf_free(&args);
        sw_mock_events_free(ev, n);
    }
    sw_mock_answer_free(&a);
}
END_TEST

START_TEST(test_models_and_errors_json)
{
    sw_mock_scenario *sc = parse_ok("models: [a, b]\nrules:\n  - match: {model: c}\n");
    char *text = sw_mock_models_json(sc, NULL);
    ck_assert_str_eq(text, "{\"object\":\"list\",\"data\":["
                           "{\"id\":\"a\",\"object\":\"model\",\"created\":1735689600,"
                           "\"owned_by\":\"slipway-mock\"},"
                           "{\"id\":\"b\",\"object\":\"model\",\"created\":1735689600,"
                           "\"owned_by\":\"slipway-mock\"},"
                           "{\"id\":\"c\",\"object\":\"model\",\"created\":1735689600,"
                           "\"owned_by\":\"slipway-mock\"},"
                           "{\"id\":\"slipway-mock\",\"object\":\"model\",\"created\":1735689600,"
                           "\"owned_by\":\"slipway-mock\"}]}");
    free(text);
    text = sw_mock_models_json(sc, "b");
    ck_assert_ptr_nonnull(strstr(text, "\"id\":\"b\""));
    free(text);
    ck_assert_ptr_null(sw_mock_models_json(sc, "zz"));
    sw_mock_scenario_free(sc);
    text = sw_mock_error_json("bad", "invalid_request_error", "", "model");
    ck_assert_str_eq(text, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\","
                           "\"param\":\"model\",\"code\":null}}");
    free(text);
}
END_TEST

/* The demo's scenario: the agent's turns and the judge's verdicts. */
#define AGENT "{\"model\":\"gpt-4o-2024-08-06\"" TOOLS ",\"messages\":["

START_TEST(test_support_agent_scenario)
{
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc =
        sw_mock_scenario_load(SW_TEST_SOURCE_DIR "/../pipelines/mock/support-agent.yaml", d);
    if (!sc)
        dump(d);
    ck_assert_ptr_nonnull(sc);
    sw_diags_free(d);
    static const struct {
        const char *request;
        const char *rule;
        const char *tool;  /* the tool called, or NULL */
        const char *order; /* its order_id argument */
    } turns[] = {
        {AGENT U("Hi") "]}", "defaults", NULL, NULL},
        {AGENT U("Where is order NW-104233?") "]}", "lookup", "lookup_order", "NW-104233"},
        {AGENT U("Yes, refund NW-104233") "]}", "refund", "issue_refund", "NW-104233"},
        {AGENT U("Let me speak to a human") "]}", "escalate", "escalate_to_human", NULL},
        {AGENT U("My parcel is late") "]}", "ask-order-number", NULL, NULL},
        {AGENT U(
             "NW-104233") ",{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
                          "\"function\",\"function\":{\"name\":\"lookup_order\",\"arguments\":\"{}"
                          "\"}}]},"
                          "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"delivered\"}]}",
         "after-lookup", NULL, NULL},
        {"{\"model\":\"gpt-4o-mini\",\"messages\":[" S(
             "You are grading output according to a "
             "rubric") "," U("<Output>On its way</Output>") "]}",
         "judge", NULL, NULL},
        {"{\"model\":\"judge-model\",\"messages\":[" U("<Output>We guarantee it</Output>") "]}",
         "judge-overpromise", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof turns / sizeof *turns; i++) {
        sw_mock_req q;
        req_ok(sc, turns[i].request, &q);
        char **uc, **scp;
        const sw_mock_rule *r = sw_mock_select(sc, &q, &uc, &scp);
        ck_assert_msg(strcmp(r->name, turns[i].rule) == 0, "turn %zu: %s, want %s", i, r->name,
                      turns[i].rule);
        sw_mock_answer a;
        sw_mock_answer_build(r, &q, uc, scp, 1, &a);
        if (turns[i].tool) {
            ck_assert_uint_eq(a.n_calls, 1);
            ck_assert_str_eq(a.calls[0].name, turns[i].tool);
            json_t *args = json_loads(a.calls[0].arguments, 0, NULL);
            ck_assert_ptr_nonnull(args);
            if (turns[i].order)
                ck_assert_str_eq(json_string_value(json_object_get(args, "order_id")),
                                 turns[i].order);
            json_decref(args);
        } else {
            ck_assert_uint_eq(a.n_calls, 0);
            ck_assert_ptr_nonnull(a.content);
        }
        if (strncmp(r->name, "judge", 5) == 0) {
            json_t *v = json_loads(a.content, 0, NULL);
            ck_assert(json_is_boolean(json_object_get(v, "pass")));
            ck_assert(json_is_number(json_object_get(v, "score")));
            ck_assert(json_is_string(json_object_get(v, "reason")));
            ck_assert_int_eq(json_is_true(json_object_get(v, "pass")),
                             strcmp(r->name, "judge") == 0);
            json_decref(v);
        }
        sw_mock_answer_free(&a);
        sw_mock_caps_free(uc);
        sw_mock_caps_free(scp);
        sw_mock_req_free(&q);
    }
    sw_mock_scenario_free(sc);
}
END_TEST

/* ---- randomness ---- */

START_TEST(test_rng_deterministic)
{
    sw_mock_rng a = sw_mock_rng_for(42, 3, 7), b = sw_mock_rng_for(42, 3, 7);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(sw_mock_rng_next(&a), sw_mock_rng_next(&b));
    sw_mock_rng c = sw_mock_rng_for(42, 3, 8), d = sw_mock_rng_for(43, 3, 7),
                e = sw_mock_rng_for(42, 4, 7);
    a = sw_mock_rng_for(42, 3, 7);
    uint64_t x = sw_mock_rng_next(&a);
    ck_assert_uint_ne(x, sw_mock_rng_next(&c));
    ck_assert_uint_ne(x, sw_mock_rng_next(&d));
    ck_assert_uint_ne(x, sw_mock_rng_next(&e));
    for (int i = 0; i < 10000; i++) {
        double u = sw_mock_rng_uniform(&a);
        ck_assert(u >= 0 && u < 1);
    }
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(test_latency_distributions)
{
    enum { N = 20001 };
    double *v = malloc(N * sizeof *v), *again = malloc(N * sizeof *v);
    sw_mock_latency fixed = {SW_MOCK_LAT_FIXED, 20, 0, 0};
    sw_mock_latency uni = {SW_MOCK_LAT_UNIFORM, 10, 50, 0};
    sw_mock_latency logn = {SW_MOCK_LAT_LOGNORMAL, 200, 0.5, 1000};

    for (int i = 0; i < N; i++) {
        sw_mock_rng g = sw_mock_rng_for(7, 0, (uint64_t)i);
        ck_assert(sw_mock_latency_sample(&fixed, &g) == 20);
    }
    double sum = 0;
    for (int i = 0; i < N; i++) {
        sw_mock_rng g = sw_mock_rng_for(7, 0, (uint64_t)i);
        v[i] = sw_mock_latency_sample(&uni, &g);
        ck_assert(v[i] >= 10 && v[i] < 50);
        sum += v[i];
    }
    ck_assert(fabs(sum / N - 30) < 0.5);
    for (int i = 0; i < N; i++) {
        sw_mock_rng g = sw_mock_rng_for(7, 1, (uint64_t)i);
        v[i] = sw_mock_latency_sample(&logn, &g);
        ck_assert(v[i] > 0 && v[i] <= 1000);
        g = sw_mock_rng_for(7, 1, (uint64_t)i);
        again[i] = sw_mock_latency_sample(&logn, &g);
        ck_assert(v[i] == again[i]); /* the same seed, the same draw */
    }
    qsort(v, N, sizeof *v, cmp_double);
    ck_assert_msg(fabs(v[N / 2] - 200) < 8, "median %g", v[N / 2]);
    /* the 84th percentile of a lognormal is median * e^sigma */
    double p84 = v[(int)(N * 0.8413)];
    ck_assert_msg(fabs(p84 - 200 * exp(0.5)) < 15, "p84 %g", p84);
    /* the cap holds: sigma 3 puts a large share above it */
    sw_mock_latency wide = {SW_MOCK_LAT_LOGNORMAL, 200, 3, 500};
    int capped = 0;
    for (int i = 0; i < N; i++) {
        sw_mock_rng g = sw_mock_rng_for(9, 0, (uint64_t)i);
        double x = sw_mock_latency_sample(&wide, &g);
        ck_assert(x <= 500);
        capped += x == 500;
    }
    ck_assert_int_gt(capped, N / 10);
    free(v);
    free(again);
}
END_TEST

START_TEST(test_fault_pick)
{
    sw_mock_scenario *sc = parse_ok("seed: 5\n"
                                    "rules:\n"
                                    "  - errors:\n"
                                    "      - {kind: 429, rate: 0.1}\n"
                                    "      - {kind: 500, rate: 0.2}\n"
                                    "      - {kind: drop, rate: 0.05}\n");
    const sw_mock_rule *r = &sc->rules[0];
    ck_assert_int_eq(sw_mock_fault_pick(r, 0.0)->kind, SW_MOCK_FAULT_429);
    ck_assert_int_eq(sw_mock_fault_pick(r, 0.0999)->kind, SW_MOCK_FAULT_429);
    ck_assert_int_eq(sw_mock_fault_pick(r, 0.1)->kind, SW_MOCK_FAULT_500);
    ck_assert_int_eq(sw_mock_fault_pick(r, 0.2999)->kind, SW_MOCK_FAULT_500);
    ck_assert_int_eq(sw_mock_fault_pick(r, 0.3001)->kind, SW_MOCK_FAULT_DROP);
    ck_assert_ptr_null(sw_mock_fault_pick(r, 0.3501));
    ck_assert_ptr_null(sw_mock_fault_pick(r, 0.999));
    ck_assert_ptr_null(sw_mock_fault_pick(&sc->fallback, 0.0));
    /* the n-th request of a rule draws the same fault in every run */
    int counts[2][SW_MOCK_FAULT_KINDS + 1] = {{0}};
    for (int run = 0; run < 2; run++)
        for (uint64_t n = 0; n < 10000; n++) {
            sw_mock_rng g = sw_mock_rng_for(sc->seed, r->index, n);
            const sw_mock_fault *f = sw_mock_fault_pick(r, sw_mock_rng_uniform(&g));
            counts[run][f ? (int)f->kind : SW_MOCK_FAULT_KINDS]++;
        }
    ck_assert_mem_eq(counts[0], counts[1], sizeof counts[0]);
    ck_assert_int_gt(counts[0][SW_MOCK_FAULT_429], 900);
    ck_assert_int_lt(counts[0][SW_MOCK_FAULT_429], 1100);
    ck_assert_int_gt(counts[0][SW_MOCK_FAULT_500], 1850);
    ck_assert_int_lt(counts[0][SW_MOCK_FAULT_500], 2150);
    ck_assert_int_gt(counts[0][SW_MOCK_FAULT_KINDS], 6300);
    sw_mock_scenario_free(sc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mock_scenario");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_fixture);
    tcase_add_test(tc, test_defaults_inherited);
    tcase_add_test(tc, test_empty_and_default);
    tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof errors / sizeof *errors));
    tcase_add_test(tc, test_every_error_reported);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_bad_fixture);
    suite_add_tcase(s, tc);
    tc = tcase_create("requests");
    tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof refusals / sizeof *refusals));
    tcase_add_test(tc, test_request_reduced);
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_judge_detection);
    tcase_add_loop_test(tc, test_matching, 0, (int)(sizeof matches / sizeof *matches));
    tcase_add_test(tc, test_modifier_scales);
    tcase_add_test(tc, test_regex_translation);
    suite_add_tcase(s, tc);
    tc = tcase_create("answers");
    tcase_add_test(tc, test_templates);
    tcase_add_test(tc, test_answers);
    tcase_add_test(tc, test_completion_json);
    tcase_add_test(tc, test_stream_events);
    tcase_add_test(tc, test_models_and_errors_json);
    tcase_add_test(tc, test_support_agent_scenario);
    suite_add_tcase(s, tc);
    tc = tcase_create("random");
    tcase_add_test(tc, test_rng_deterministic);
    tcase_add_test(tc, test_latency_distributions);
    tcase_add_test(tc, test_fault_pick);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
