/*
 * check_eval_assert.c - every assertion type of the eval stage: passing,
 * failing, erroring and negated; parse errors; scoring a case.
 *
 * The plugin's modules are compiled into this program (tests link the core's
 * archive, not plugins).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/eval/assert_json.c"
#include "../../plugins/eval/assert_lua.c"
#include "../../plugins/eval/assert_metric.c"
#include "../../plugins/eval/assert_text.c"
#include "../../plugins/eval/assert_tools.c"
#include "../../plugins/eval/assertion.c"
#include "../../plugins/eval/common.c"
#include "../../plugins/eval/judge.c"
#include "../../plugins/eval/schema.c"

/* ---- helpers ---- */

static ev_output out;

static void set_output(const char *text)
{
    ev_output_clear(&out);
    out.text = sw_xstrdup(text);
    out.finish_reason = sw_xstrdup("stop");
    out.latency_ms = 250;
    out.cost_usd = 0.002;
    out.tokens_in = 100;
    out.tokens_out = 20;
    out.steps = 1;
}

static void setup(void)
{
    memset(&out, 0, sizeof out);
    set_output("Your order NW-104233 was delivered on 18 November.");
}

static void teardown(void)
{
    ev_output_clear(&out);
}

/* Parse spec (JSON) with vars and expected (JSON or NULL); -1 with err on failure. */
static int parse(const char *spec, const char *vars, const char *expected, ev_assert *a,
                 sw_err *err)
{
    json_t *s = json_loads(spec, 0, NULL);
    ck_assert_msg(s != NULL, "bad test spec: %s", spec);
    json_t *v = vars ? json_loads(vars, 0, NULL) : json_object();
    json_t *e = expected ? json_loads(expected, JSON_DECODE_ANY, NULL) : NULL;
    int rc = ev_assert_parse(s, v, e, NULL, a, err);
    json_decref(s);
    json_decref(v);
    json_decref(e);
    return rc;
}

/* The outcome of spec on the current output; the message goes to msg (may be NULL). */
static ev_outcome grade_with(const char *spec, const char *vars, const char *expected,
                             double *score, char *msg, size_t msgsize)
{
    ev_assert a;
    sw_err err;
    int rc = parse(spec, vars, expected, &a, &err);
    ck_assert_msg(rc == 0, "%s: %s", spec, err.msg);
    json_t *tags = json_array();
    json_t *vj = vars ? json_loads(vars, 0, NULL) : json_object();
    ev_subject s = {.case_id = "c1",
                    .vars = vj,
                    .expected = NULL,
                    .tags = tags,
                    .input = "where is my order?",
                    .out = &out,
                    .sample = 0};
    ev_aresult r;
    ev_assert_eval(&a, &s, &r);
    ev_outcome o = r.outcome;
    if (score)
        *score = r.score;
    if (msg)
        snprintf(msg, msgsize, "%s", r.message);
    ev_aresult_clear(&r);
    ev_assert_clear(&a);
    json_decref(tags);
    json_decref(vj);
    return o;
}

static ev_outcome grade(const char *spec)
{
    return grade_with(spec, NULL, NULL, NULL, NULL, 0);
}

static void parse_fails(const char *spec, const char *want)
{
    ev_assert a;
    sw_err err;
    ck_assert_msg(parse(spec, NULL, NULL, &a, &err) == -1, "%s parsed", spec);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s: got '%s', want '%s'", spec, err.msg, want);
}

/* ---- text ---- */

START_TEST(test_equals)
{
    set_output("yes");
    ck_assert_int_eq(grade("{\"type\": \"equals\", \"value\": \"yes\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"equals\", \"value\": \"Yes\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-equals\", \"value\": \"no\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"not-equals\", \"value\": \"yes\"}"), EV_FAIL);
    /* A JSON value compares structurally with the answer parsed. */
    set_output("{\"b\": 2, \"a\": [1, 2]}");
    ck_assert_int_eq(grade("{\"type\": \"equals\", \"value\": {\"a\": [1, 2], \"b\": 2}}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"equals\", \"value\": {\"a\": [2, 1], \"b\": 2}}"),
                     EV_FAIL);
    /* Without a value, the case's expected answer. */
    set_output("42");
    ck_assert_int_eq(grade_with("{\"type\": \"equals\"}", NULL, "\"42\"", NULL, NULL, 0), EV_PASS);
    parse_fails("{\"type\": \"equals\"}", "needs a value (or the case's 'expected')");
}
END_TEST

START_TEST(test_contains_family)
{
    ck_assert_int_eq(grade("{\"type\": \"contains\", \"value\": \"delivered\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"contains\", \"value\": \"Delivered\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"icontains\", \"value\": \"DELIVERED\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"not-icontains\", \"value\": \"DELIVERED\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-contains\", \"value\": \"tracking\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"starts-with\", \"value\": \"Your order\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"starts-with\", \"value\": \"order\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"contains-any\", \"value\": [\"shipped\", \"delivered\"]}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"contains-any\", \"value\": [\"shipped\", \"lost\"]}"),
                     EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"contains-all\", \"value\": [\"NW-104233\", \"18\"]}"),
                     EV_PASS);
    char msg[256];
    ck_assert_int_eq(grade_with("{\"type\": \"contains-all\", \"value\": [\"NW-104233\", "
                                "\"refund\"]}",
                                NULL, NULL, NULL, msg, sizeof msg),
                     EV_FAIL);
    ck_assert_str_eq(msg, "output lacks 'refund'");
    /* promptfoo's comma-separated form. */
    ck_assert_int_eq(grade("{\"type\": \"icontains-all\", \"value\": \"ORDER, november\"}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"icontains-any\", \"value\": \"lost, NOVEMBER\"}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"not-contains-any\", \"value\": [\"lost\", \"late\"]}"),
                     EV_PASS);
    parse_fails("{\"type\": \"contains\", \"value\": [\"a\"]}", "value must be a string");
    parse_fails("{\"type\": \"contains-any\", \"value\": []}", "non-empty list");
}
END_TEST

START_TEST(test_vars_in_values)
{
    ck_assert_int_eq(grade_with("{\"type\": \"contains\", \"value\": \"{{order}}\"}",
                                "{\"order\": \"NW-104233\"}", NULL, NULL, NULL, 0),
                     EV_PASS);
    ck_assert_int_eq(grade_with("{\"type\": \"contains\", \"value\": \"{{order}}\"}",
                                "{\"order\": \"NW-999999\"}", NULL, NULL, NULL, 0),
                     EV_FAIL);
    /* A lone "{{" is text, not a placeholder. */
    set_output("a {{ b");
    ck_assert_int_eq(grade("{\"type\": \"contains\", \"value\": \"{{\"}"), EV_PASS);
    parse_fails("{\"type\": \"contains\", \"value\": \"{{nope}}\"}", "nope");
}
END_TEST

START_TEST(test_regex)
{
    ck_assert_int_eq(grade("{\"type\": \"regex\", \"value\": \"NW-\\\\d{6}\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"regex\", \"value\": \"^delivered\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"regex\", \"value\": \"(?i)^YOUR\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"regex\", \"value\": \"^YOUR\", \"config\": {\"flags\": "
                           "\"i\"}}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"regex\", \"value\": \"(?:order|parcel) \\\\S+ was\"}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"regex\", \"value\": \"[\\\\d]+ Nov.*?\\\\.$\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"not-regex\", \"value\": \"\\\\bcancel\"}"), EV_PASS);
    parse_fails("{\"type\": \"regex\", \"value\": \"a(?=b)\"}", "lookaround");
    parse_fails("{\"type\": \"regex\", \"value\": \"(a\"}", "bad regular expression");
    parse_fails("{\"type\": \"regex\", \"value\": \"(a)\\\\1\"}", "backreferences");
}
END_TEST

START_TEST(test_levenshtein)
{
    set_output("hello world");
    ck_assert_int_eq(grade("{\"type\": \"levenshtein\", \"value\": \"hallo world\"}"), EV_PASS);
    char msg[128];
    ck_assert_int_eq(grade_with("{\"type\": \"levenshtein\", \"value\": \"help\", \"threshold\": "
                                "3}",
                                NULL, NULL, NULL, msg, sizeof msg),
                     EV_FAIL);
    ck_assert_str_eq(msg, "edit distance 8 > 3");
    ck_assert_int_eq(grade("{\"type\": \"not-levenshtein\", \"value\": \"goodbye\", "
                           "\"threshold\": 2}"),
                     EV_PASS);
}
END_TEST

/* ---- JSON ---- */

START_TEST(test_is_json)
{
    set_output("{\"order\": \"NW-104233\", \"total\": 89.9, \"items\": [\"JKT\"]}");
    ck_assert_int_eq(grade("{\"type\": \"is-json\"}"), EV_PASS);
    const char *schema =
        "{\"type\": \"is-json\", \"value\": {\"type\": \"object\", \"required\": [\"order\"], "
        "\"properties\": {\"order\": {\"type\": \"string\", \"pattern\": \"^NW-\\\\d{6}$\"}, "
        "\"total\": {\"type\": \"number\", \"maximum\": 150}, \"items\": {\"type\": \"array\", "
        "\"items\": {\"type\": \"string\"}, \"minItems\": 1}}, \"additionalProperties\": false}}";
    ck_assert_int_eq(grade(schema), EV_PASS);
    set_output("{\"order\": \"NW-10423\", \"total\": 89.9, \"items\": [\"JKT\"]}");
    char msg[256];
    ck_assert_int_eq(grade_with(schema, NULL, NULL, NULL, msg, sizeof msg), EV_FAIL);
    ck_assert_msg(strstr(msg, "$.order") != NULL, "%s", msg);
    set_output("{\"order\": \"NW-104233\", \"extra\": 1}");
    ck_assert_int_eq(grade(schema), EV_FAIL);
    set_output("not json at all");
    ck_assert_int_eq(grade("{\"type\": \"is-json\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-is-json\"}"), EV_PASS);
    set_output("[1, 2, 3]");
    ck_assert_int_eq(grade("{\"type\": \"is-json\", \"value\": {\"type\": \"array\", "
                           "\"uniqueItems\": true, \"items\": {\"type\": \"integer\", "
                           "\"enum\": [1, 2, 3]}}}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"is-json\", \"value\": {\"anyOf\": [{\"type\": "
                           "\"string\"}, {\"type\": \"object\"}]}}"),
                     EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"is-json\", \"value\": {\"not\": {\"type\": "
                           "\"object\"}}}"),
                     EV_PASS);
    parse_fails("{\"type\": \"is-json\", \"value\": {\"$ref\": \"#/x\"}}", "'$ref' is not "
                                                                           "supported");
    parse_fails("{\"type\": \"is-json\", \"value\": \"object\"}", "JSON Schema");
}
END_TEST

START_TEST(test_contains_json)
{
    set_output("Here you go: {\"refund\": 49.9, \"currency\": \"EUR\"} as requested.");
    ck_assert_int_eq(grade("{\"type\": \"contains-json\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"contains-json\", \"value\": {\"required\": "
                           "[\"refund\"]}}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"contains-json\", \"value\": {\"required\": "
                           "[\"order\"]}}"),
                     EV_FAIL);
    set_output("braces { but no json }");
    ck_assert_int_eq(grade("{\"type\": \"contains-json\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-contains-json\"}"), EV_PASS);
}
END_TEST

/* ---- tools ---- */

static void with_calls(void)
{
    set_output("Done.");
    free(out.finish_reason);
    out.finish_reason = sw_xstrdup("stop");
    ev_output_add_call(&out, "c1", "lookup_order",
                       "{\"order_id\": \"NW-301122\", "
                       "\"include_items\": true}");
    ev_output_add_call(&out, "c2", "issue_refund",
                       "{\"order_id\": \"NW-301122\", \"amount_eur\": 119, \"reason\": "
                       "\"wrong_size\", \"items\": [\"BOOT-42\"]}");
    ev_output_add_call(&out, "c3", "lookup_order", "not json");
}

START_TEST(test_finish_reason)
{
    ck_assert_int_eq(grade("{\"type\": \"finish-reason\", \"value\": \"stop\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"finish-reason\", \"value\": \"length\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-finish-reason\", \"value\": \"length\"}"), EV_PASS);
}
END_TEST

START_TEST(test_tool_call)
{
    with_calls();
    ck_assert_int_eq(grade("{\"type\": \"tool-call\", \"value\": \"issue_refund\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"tool-call\", \"value\": \"escalate_to_human\"}"), EV_FAIL);
    /* Arguments as a JSON subset; 119 and 119.0 are the same number. */
    ck_assert_int_eq(grade("{\"type\": \"tool-call\", \"value\": {\"name\": \"issue_refund\", "
                           "\"arguments\": {\"amount_eur\": 119.0, \"items\": [\"BOOT-42\"]}}}"),
                     EV_PASS);
    char msg[256];
    ck_assert_int_eq(grade_with("{\"type\": \"tool-call\", \"value\": {\"name\": "
                                "\"issue_refund\", \"arguments\": {\"reason\": "
                                "\"changed_mind\"}}}",
                                NULL, NULL, NULL, msg, sizeof msg),
                     EV_FAIL);
    ck_assert_msg(strstr(msg, "arguments.reason is \"wrong_size\", expected \"changed_mind\""),
                  "%s", msg);
    /* The shorthand and the spellings of carried-over datasets. */
    ck_assert_int_eq(grade("{\"type\": \"tool-called\", \"name\": \"lookup_order\", \"args\": "
                           "{\"order_id\": \"NW-301122\"}}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"tool-not-called\", \"name\": \"escalate_to_human\"}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"not-tool-call\", \"value\": \"issue_refund\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"tool-call-count\", \"name\": \"lookup_order\", "
                           "\"value\": 2}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"tool-call-count\", \"value\": {\"name\": "
                           "\"issue_refund\", \"count\": 2}}"),
                     EV_FAIL);
    parse_fails("{\"type\": \"contains\", \"name\": \"x\"}", "belong to tool-call");
    parse_fails("{\"type\": \"tool-call\", \"value\": {\"nam\": \"x\"}}", "not 'nam'");
}
END_TEST

START_TEST(test_tool_sequence)
{
    with_calls(); /* lookup_order, issue_refund, lookup_order */
    double score;
    ck_assert_int_eq(grade_with("{\"type\": \"tool-sequence\", \"value\": [\"lookup_order\", "
                                "\"issue_refund\", \"lookup_order\"]}",
                                NULL, NULL, &score, NULL, 0),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 1.0, 1e-12);
    ck_assert_int_eq(grade("{\"type\": \"tool-sequence\", \"value\": [\"lookup_order\", "
                           "\"issue_refund\"]}"),
                     EV_FAIL);
    /* ordered: a subsequence. F1: tp 2, precision 2/3, recall 1 -> 0.8. */
    ck_assert_int_eq(grade_with("{\"type\": \"tool-sequence\", \"value\": [\"lookup_order\", "
                                "\"issue_refund\"], \"config\": {\"mode\": \"ordered\"}}",
                                NULL, NULL, &score, NULL, 0),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 0.8, 1e-12);
    ck_assert_int_eq(grade("{\"type\": \"tool-sequence\", \"value\": [\"issue_refund\", "
                           "\"escalate_to_human\"], \"config\": {\"mode\": \"ordered\"}}"),
                     EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"tool-sequence\", \"value\": [\"issue_refund\", "
                           "\"lookup_order\"], \"config\": {\"mode\": \"set\"}}"),
                     EV_PASS);
    /* F1 against a threshold: expected [lookup_order, escalate_to_human] -> tp 1,
       precision 1/3, recall 1/2, F1 0.4. */
    ck_assert_int_eq(grade_with("{\"type\": \"tool-sequence\", \"value\": [\"lookup_order\", "
                                "\"escalate_to_human\"], \"threshold\": 0.4}",
                                NULL, NULL, &score, NULL, 0),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 0.4, 1e-12);
    ck_assert_int_eq(grade("{\"type\": \"tool-sequence\", \"value\": [\"lookup_order\", "
                           "\"escalate_to_human\"], \"threshold\": 0.5}"),
                     EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-tool-sequence\", \"value\": [\"issue_refund\"]}"),
                     EV_PASS);
    set_output("no tools");
    ck_assert_int_eq(
        grade_with("{\"type\": \"tool-sequence\", \"value\": []}", NULL, NULL, &score, NULL, 0),
        EV_PASS);
    ck_assert_double_eq_tol(score, 1.0, 1e-12);
    parse_fails("{\"type\": \"tool-sequence\", \"value\": [\"a\"], \"threshold\": 0.5, "
                "\"config\": {\"mode\": \"set\"}}",
                "not both");
    parse_fails("{\"type\": \"tool-sequence\", \"value\": [\"a\"], \"config\": {\"mode\": "
                "\"sorted\"}}",
                "expected exact, ordered or set");
}
END_TEST

/* ---- metrics ---- */

START_TEST(test_latency_cost)
{
    ck_assert_int_eq(grade("{\"type\": \"latency\", \"threshold\": 300}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"latency\", \"threshold\": 200}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"cost\", \"threshold\": 0.01}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"cost\", \"threshold\": 0.001}"), EV_FAIL);
    out.cost_unknown = 1;
    ck_assert_int_eq(grade("{\"type\": \"cost\", \"threshold\": 0.01}"), EV_ERROR);
    out.cost_unknown = 0;
    out.usage_missing = 1;
    ck_assert_int_eq(grade("{\"type\": \"cost\", \"threshold\": 0.01}"), EV_ERROR);
    parse_fails("{\"type\": \"latency\"}", "threshold is required");
    parse_fails("{\"type\": \"not-latency\", \"threshold\": 5}", "cannot be negated");
    parse_fails("{\"type\": \"cost\", \"threshold\": 1, \"value\": 2}", "not a value");
}
END_TEST

/* ---- lua ---- */

START_TEST(test_lua)
{
    with_calls();
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"output == 'Done.'\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"#output > 100\"}"), EV_FAIL);
    ck_assert_int_eq(grade("{\"type\": \"not-lua\", \"value\": \"#output > 100\"}"), EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"#tool_calls == 3 and "
                           "tool_calls[2].name == 'issue_refund' and "
                           "tool_calls[2].arguments.amount_eur == 119\"}"),
                     EV_PASS);
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"usage.tokens_in == 100 and "
                           "usage.latency_ms == 250 and case.id == 'c1'\"}"),
                     EV_PASS);
    double score;
    ck_assert_int_eq(grade_with("{\"type\": \"lua\", \"value\": \"return 0.7\", \"threshold\": "
                                "0.5}",
                                NULL, NULL, &score, NULL, 0),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 0.7, 1e-12);
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"return 0.3\", \"threshold\": 0.5}"),
                     EV_FAIL);
    char msg[256];
    ck_assert_int_eq(grade_with("{\"type\": \"lua\", \"value\": \"local n = 0\\nfor _ in "
                                "output:gmatch('o') do n = n + 1 end\\nreturn {pass = n == 1, "
                                "score = 0.25, reason = 'one o'}\"}",
                                NULL, NULL, &score, msg, sizeof msg),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 0.25, 1e-12);
    ck_assert_str_eq(msg, "lua: pass: one o");
    ck_assert_int_eq(grade_with("{\"type\": \"lua\", \"value\": \"false, 'too short'\"}", NULL,
                                NULL, NULL, msg, sizeof msg),
                     EV_FAIL);
    ck_assert_str_eq(msg, "lua returned false: too short");
    /* A broken assertion is ERROR, and not- does not flip it. */
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"nothing.here == 1\"}"), EV_ERROR);
    ck_assert_int_eq(grade("{\"type\": \"not-lua\", \"value\": \"nothing.here == 1\"}"), EV_ERROR);
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"'a string'\"}"), EV_ERROR);
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"while true do end\"}"), EV_ERROR);
    /* The sandbox: no io, no os. */
    ck_assert_int_eq(grade("{\"type\": \"lua\", \"value\": \"io.open('/etc/passwd')\"}"), EV_ERROR);
    parse_fails("{\"type\": \"lua\", \"value\": \"return (\"}", "lua assertion");
}
END_TEST

/* ---- llm-rubric ---- */

static ev_outcome verdict(const char *spec, long status, const char *content, double *score)
{
    ev_assert a;
    sw_err err;
    ck_assert_int_eq(parse(spec, NULL, NULL, &a, &err), 0);
    json_t *resp = json_pack("{s:[{s:{s:s, s:s}, s:s}], s:{s:i, s:i}}", "choices", "message",
                             "role", "assistant", "content", content, "finish_reason", "stop",
                             "usage", "prompt_tokens", 300, "completion_tokens", 25);
    char *body = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    ev_aresult r;
    int64_t in, o;
    ev_judge_verdict(&a, SW_PROTO_CHAT, status, body, strlen(body), &r, &in, &o);
    ev_assert_negate(&a, &r);
    if (status == 200) {
        ck_assert_int_eq(in, 300);
        ck_assert_int_eq(o, 25);
    }
    ev_outcome oc = r.outcome;
    if (score)
        *score = r.score;
    free(body);
    ev_aresult_clear(&r);
    ev_assert_clear(&a);
    return oc;
}

START_TEST(test_llm_rubric)
{
    const char *rubric = "{\"type\": \"llm-rubric\", \"value\": \"Is polite.\"}";
    double score;
    ck_assert_int_eq(
        verdict(rubric, 200, "{\"reason\": \"ok\", \"score\": 0.9, \"pass\": true}", &score),
        EV_PASS);
    ck_assert_double_eq_tol(score, 0.9, 1e-12);
    ck_assert_int_eq(
        verdict(rubric, 200, "{\"pass\": false, \"score\": 0.1, \"reason\": \"rude\"}", NULL),
        EV_FAIL);
    /* In prose or a fence, the first object is the verdict. */
    ck_assert_int_eq(verdict(rubric, 200, "Sure.\n```json\n{\"pass\": true}\n```", &score),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 1.0, 1e-12);
    /* Score only: 0.5 without a threshold. */
    ck_assert_int_eq(verdict(rubric, 200, "{\"score\": 0.4}", NULL), EV_FAIL);
    const char *thr = "{\"type\": \"llm-rubric\", \"value\": \"Is polite.\", \"threshold\": 0.95}";
    ck_assert_int_eq(verdict(thr, 200, "{\"pass\": true, \"score\": 0.9}", NULL), EV_FAIL);
    ck_assert_int_eq(verdict("{\"type\": \"not-llm-rubric\", \"value\": \"Is rude.\"}", 200,
                             "{\"pass\": false, \"score\": 0.0}", &score),
                     EV_PASS);
    ck_assert_double_eq_tol(score, 1.0, 1e-12);
    /* A judge that cannot be read is ERROR, negated or not. */
    ck_assert_int_eq(verdict(rubric, 200, "I think it is fine.", NULL), EV_ERROR);
    ck_assert_int_eq(
        verdict("{\"type\": \"not-llm-rubric\", \"value\": \"x\"}", 200, "no verdict", NULL),
        EV_ERROR);
    ck_assert_int_eq(verdict(rubric, 200, "{\"reason\": \"no verdict\"}", NULL), EV_ERROR);
    ck_assert_int_eq(verdict(rubric, 200, "{\"pass\": true, \"score\": 7}", NULL), EV_ERROR);
    ck_assert_int_eq(verdict(rubric, 500, "{\"pass\": true}", NULL), EV_ERROR);
    /* The request: the grader prompt, the output, the rubric. */
    ev_assert a;
    sw_err err;
    ck_assert_int_eq(parse(rubric, NULL, NULL, &a, &err), 0);
    ev_subject s = {.case_id = "c", .input = "hi", .out = &out};
    json_t *req = ev_judge_request("judge-model", SW_PROTO_CHAT, 512, &a, &s, &err);
    ck_assert_str_eq(json_string_value(json_object_get(req, "model")), "judge-model");
    ck_assert_int_eq(json_integer_value(json_object_get(req, "max_tokens")), 512);
    const char *sys = json_string_value(
        json_object_get(json_array_get(json_object_get(req, "messages"), 0), "content"));
    ck_assert_ptr_nonnull(strstr(sys, "grader"));
    const char *user = json_string_value(
        json_object_get(json_array_get(json_object_get(req, "messages"), 1), "content"));
    ck_assert_ptr_nonnull(strstr(user, "<Rubric>\nIs polite.\n</Rubric>"));
    ck_assert_ptr_nonnull(strstr(user, "delivered on 18 November"));
    ck_assert_uint_eq(strlen(ev_judge_prompt_hash()), 64);
    json_decref(req);

    /* The judge over Anthropic Messages: the grader prompt is `system`, max_tokens set; its
       answer's text blocks hold the verdict, its usage read as Messages counts it. */
    req = ev_judge_request("claude-judge", SW_PROTO_MESSAGES, 256, &a, &s, &err);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(req, "system")), "grader"));
    ck_assert_int_eq(json_integer_value(json_object_get(req, "max_tokens")), 256);
    ck_assert_uint_eq(json_array_size(json_object_get(req, "messages")), 1);
    json_decref(req);
    const char *msg = "{\"type\": \"message\", \"role\": \"assistant\", \"content\": [{\"type\": "
                      "\"text\", \"text\": \"{\\\"pass\\\": true, \\\"score\\\": 0.8}\"}], "
                      "\"stop_reason\": \"end_turn\", \"usage\": {\"input_tokens\": 90, "
                      "\"cache_read_input_tokens\": 10, \"output_tokens\": 12}}";
    ev_aresult r;
    int64_t in, o;
    ev_judge_verdict(&a, SW_PROTO_MESSAGES, 200, msg, strlen(msg), &r, &in, &o);
    ck_assert_int_eq(r.outcome, EV_PASS);
    ck_assert_int_eq(in, 100);
    ck_assert_int_eq(o, 12);
    ev_aresult_clear(&r);
    /* A chat completion read as a message has no text: ERROR, saying what was expected. */
    const char *chat = "{\"choices\": [{\"message\": {\"content\": \"{\\\"pass\\\": true}\"}}]}";
    ev_judge_verdict(&a, SW_PROTO_MESSAGES, 200, chat, strlen(chat), &r, &in, &o);
    ck_assert_int_eq(r.outcome, EV_ERROR);
    ck_assert_ptr_nonnull(strstr(r.message, "not an Anthropic message"));
    ev_aresult_clear(&r);

    /* Over the Responses API: instructions, max_output_tokens; output_text read. */
    req = ev_judge_request("gpt-judge", SW_PROTO_RESPONSES, 256, &a, &s, &err);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(req, "instructions")), "grader"));
    ck_assert_int_eq(json_integer_value(json_object_get(req, "max_output_tokens")), 256);
    ck_assert_ptr_null(json_object_get(req, "max_tokens"));
    json_decref(req);
    const char *resp = "{\"id\": \"resp_1\", \"status\": \"completed\", \"output\": [{\"type\": "
                       "\"message\", \"content\": [{\"type\": \"output_text\", \"text\": "
                       "\"{\\\"pass\\\": false, \\\"score\\\": 0.1}\"}]}], \"usage\": "
                       "{\"input_tokens\": 70, \"output_tokens\": 9}}";
    ev_judge_verdict(&a, SW_PROTO_RESPONSES, 200, resp, strlen(resp), &r, &in, &o);
    ck_assert_int_eq(r.outcome, EV_FAIL);
    ck_assert_int_eq(in, 70);
    ev_aresult_clear(&r);
    ev_assert_clear(&a);
}
END_TEST

/* ---- parsing ---- */

START_TEST(test_parse_errors)
{
    parse_fails("{\"type\": \"contians\", \"value\": \"x\"}",
                "unknown assertion type 'contians' (did you mean 'contains'?)");
    parse_fails("{\"type\": \"not-icontians\", \"value\": \"x\"}", "did you mean 'not-icontains'?");
    parse_fails("{\"type\": \"contains\", \"valeu\": \"x\"}", "unknown key 'valeu' (did you mean "
                                                              "'value'?)");
    parse_fails("{\"value\": \"x\"}", "'type' is required");
    parse_fails("[\"contains\"]", "must be a mapping");
    parse_fails("{\"type\": \"contains\", \"value\": \"x\", \"threshold\": 0.5}",
                "threshold does not apply");
    parse_fails("{\"type\": \"contains\", \"value\": \"x\", \"weight\": -1}", "weight");
    parse_fails("{\"type\": \"llm-rubric\", \"value\": \"x\", \"threshold\": 2}", "[0, 1]");
}
END_TEST

/* ---- a case's score ---- */

START_TEST(test_case_outcome)
{
    ev_assert as[4] = {{.weight = 1}, {.weight = 3}, {.weight = 0}, {.weight = 1}};
    ev_aresult rs[4] = {{.outcome = EV_PASS, .score = 1},
                        {.outcome = EV_FAIL, .score = 0},
                        {.outcome = EV_FAIL, .score = 0},
                        {.outcome = EV_PASS, .score = 0.5}};
    double score;
    /* (1*1 + 3*0 + 1*0.5) / 5 = 0.3; the weight-0 failure does not count. */
    ck_assert_int_eq(ev_case_outcome(as, rs, 4, 0, 0, &score), EV_FAIL);
    ck_assert_double_eq_tol(score, 0.3, 1e-12);
    ck_assert_int_eq(ev_case_outcome(as, rs, 4, 1, 0.3, &score), EV_PASS);
    ck_assert_int_eq(ev_case_outcome(as, rs, 4, 1, 0.31, &score), EV_FAIL);
    rs[1].outcome = EV_PASS;
    rs[1].score = 1;
    ck_assert_int_eq(ev_case_outcome(as, rs, 4, 0, 0, &score), EV_PASS);
    ck_assert_double_eq_tol(score, 0.9, 1e-12);
    rs[3].outcome = EV_ERROR;
    ck_assert_int_eq(ev_case_outcome(as, rs, 4, 1, 0.0, &score), EV_ERROR);
    /* Only an informational assertion failed. */
    rs[3].outcome = EV_PASS;
    ck_assert_int_eq(ev_case_outcome(as, rs, 4, 0, 0, &score), EV_PASS);
    /* No counted assertion at all: a pass with score 1. */
    ck_assert_int_eq(ev_case_outcome(as + 2, rs + 2, 1, 0, 0, &score), EV_PASS);
    ck_assert_double_eq_tol(score, 1.0, 1e-12);
    ck_assert_int_eq(ev_case_outcome(NULL, NULL, 0, 0, 0, &score), EV_PASS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_assert");
    TCase *tc = tcase_create("assertions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_equals);
    tcase_add_test(tc, test_contains_family);
    tcase_add_test(tc, test_vars_in_values);
    tcase_add_test(tc, test_regex);
    tcase_add_test(tc, test_levenshtein);
    tcase_add_test(tc, test_is_json);
    tcase_add_test(tc, test_contains_json);
    tcase_add_test(tc, test_finish_reason);
    tcase_add_test(tc, test_tool_call);
    tcase_add_test(tc, test_tool_sequence);
    tcase_add_test(tc, test_latency_cost);
    tcase_add_test(tc, test_lua);
    tcase_add_test(tc, test_llm_rubric);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_case_outcome);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
