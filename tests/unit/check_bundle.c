/* check_bundle.c - loading and validating bundles: every bad input names file and line. */
#include "store/bundle.h"
#include "store_fixture.h"

static char *tmp;
static char *bundle;

static void setup(void)
{
    tmp = fx_tmpdir();
    bundle = fx_bundle(tmp, "b");
}

static void teardown(void)
{
    fx_rm_rf(tmp);
    free(bundle);
    free(tmp);
}

/* Load the bundle; expect failure; d holds the diagnostics. */
static sw_diags *load_fails(const sw_bundle_opts *o)
{
    sw_diags *d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, o, d);
    ck_assert_msg(b == NULL, "the bundle loaded");
    ck_assert_uint_gt(sw_diags_errors(d), 0);
    return d;
}

static char *file_in(const char *rel)
{
    return sw_path_join(bundle, rel);
}

START_TEST(test_valid_bundle)
{
    sw_diags *d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, NULL, d);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(sw_diags_errors(d), 0);
    ck_assert(!fx_has_diag(d, "Anthropic", NULL));
    ck_assert_str_eq(b->agent, "demo");
    ck_assert_str_eq(b->provider, "openai");
    ck_assert_str_eq(b->model, "gpt-4o-2024-08-06");
    ck_assert_int_eq(b->model_line, 4);
    json_t *m = b->manifest;
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(m, "prompts"), "system"), "text")),
                     "You help Acme customers.\nBe brief.\n");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "vars"), "company")),
                     "Acme");
    ck_assert(json_is_real(json_object_get(json_object_get(m, "parameters"), "temperature")));
    json_t *tools = json_object_get(m, "tools");
    ck_assert_uint_eq(json_array_size(tools), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tools, 0), "side_effect")),
                     "read_only");
    /* Files sorted, each with the SHA-256 of its bytes. */
    ck_assert_uint_eq(b->n_files, 3);
    ck_assert_str_eq(b->files[0].path, "agent.yaml");
    ck_assert_str_eq(b->files[1].path, "prompts/system.md");
    ck_assert_str_eq(b->files[2].path, "tools/lookup.json");
    char want[65];
    sw_sha256_hex(fx_prompt, strlen(fx_prompt), want);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(m, "files"), "prompts/system.md"), "sha256")),
        want);
    sw_bundle_free(b);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_vars_override_and_agent_override)
{
    json_t *vars = json_pack("{s:s, s:i}", "company", "Globex", "unused", 3);
    sw_bundle_opts o = {.agent = "demo-eu", .vars = vars};
    sw_diags *d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, &o, d);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b->agent, "demo-eu");
    json_t *m = b->manifest;
    ck_assert_str_eq(json_string_value(json_object_get(m, "agent")), "demo-eu");
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(
                   json_object_get(json_object_get(m, "prompts"), "system"), "text")),
               "Globex"));
    /* Only the variables the prompts used are recorded. */
    ck_assert_uint_eq(json_object_size(json_object_get(m, "vars")), 1);
    sw_bundle_free(b);
    sw_diags_free(d);
    json_decref(vars);
}
END_TEST

START_TEST(test_unknown_key)
{
    char *yaml = sw_xasprintf("%stemprature: 1\n", fx_agent_yaml);
    fx_write(bundle, "agent.yaml", yaml);
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "b/agent.yaml:13:1: error: unknown key 'temprature'", NULL);
    sw_diags_free(d);
    free(yaml);

    /* A typo inside a section, with a suggestion. */
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o-2024-08-06\n"
             "parameters:\n  temperatur: 0.5\nprompts:\n  system: prompts/system.md\n"
             "vars:\n  company: Acme\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:6:3: error: parameters: unknown key 'temperatur'",
                "did you mean 'temperature'?");
    sw_diags_free(d);
}
END_TEST

START_TEST(test_missing_model)
{
    fx_write(bundle, "agent.yaml",
             "name: demo\nprompts:\n  system: prompts/system.md\nvars:\n  company: Acme\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:1:1: error: missing 'model'", NULL);
    sw_diags_free(d);

    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\nprompts:\n  system: prompts/system.md\n"
             "vars:\n  company: Acme\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:3:3: error: 'model' is missing 'name'", NULL);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_bad_parameter_value)
{
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o-2024-08-06\n"
             "parameters:\n  temperature: 3\n  max_tokens: 1.5\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:6:16: error: parameter 'temperature' must be between 0 and 2", NULL);
    ASSERT_DIAG(d, "agent.yaml:7:15: error: parameter 'max_tokens' must be an integer", NULL);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_parameters_of_a_messages_provider)
{
    /* Anthropic Messages has no seed and no penalties: refused at release time, each at its
       line, rather than by the router on every request. */
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: anthropic\n  name: claude-sonnet-4-5-20250929\n"
             "parameters:\n  temperature: 0.2\n  seed: 7\n  presence_penalty: 0.5\n"
             "  max_tokens: 800\n  extra: {top_k: 5}\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d,
                "agent.yaml:7:3: error: parameter 'seed': provider 'anthropic' speaks Anthropic "
                "Messages, which refuses it ('seed' has no Anthropic Messages equivalent)",
                NULL);
    ASSERT_DIAG(d, "agent.yaml:8:3: error: parameter 'presence_penalty'", NULL);
    ck_assert_uint_eq(sw_diags_errors(d), 2);
    sw_diags_free(d);

    /* The same parameters are fine on OpenAI; on Anthropic without max_tokens, a warning. */
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o-2024-08-06\n"
             "parameters:\n  seed: 7\n  presence_penalty: 0.5\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\n");
    d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, NULL, d);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(sw_diags_errors(d), 0);
    ck_assert(!fx_has_diag(d, "Anthropic", NULL));
    sw_bundle_free(b);
    sw_diags_free(d);
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: anthropic\n  name: claude-sonnet-4-5-20250929\n"
             "parameters:\n  temperature: 0.2\nprompts:\n"
             "  system: prompts/system.md\nvars:\n  company: Acme\n");
    d = sw_diags_new();
    b = sw_bundle_load(bundle, NULL, d);
    ck_assert_ptr_nonnull(b);
    ASSERT_DIAG(d,
                "agent.yaml:6:3: warning: provider 'anthropic' speaks Anthropic Messages, "
                "which requires max_tokens",
                NULL);
    sw_bundle_free(b);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_invalid_tool_json)
{
    fx_write(bundle, "tools/lookup.json",
             "{\n  \"type\": \"function\",\n  \"side_effect\": ,\n}\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "b/tools/lookup.json:3:", "error: invalid JSON");
    sw_diags_free(d);
}
END_TEST

START_TEST(test_invalid_tool_schema)
{
    const char *bad = "{\n"
                      "  \"type\": \"function\",\n"
                      "  \"side_effect\": \"read_only\",\n"
                      "  \"function\": {\n"
                      "    \"name\": \"lookup\",\n"
                      "    \"parameters\": {\n"
                      "      \"type\": \"object\",\n"
                      "      \"properties\": {\n"
                      "        \"q\": {\"type\": \"strin\"}\n"
                      "      },\n"
                      "      \"requried\": [\"q\"]\n"
                      "    }\n"
                      "  }\n"
                      "}\n";
    fx_write(bundle, "tools/lookup.json", bad);
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d,
                "tools/lookup.json:9:23: error: tool 'lookup': invalid JSON Schema at "
                "parameters.properties.q: unknown type 'strin'",
                NULL);
    ASSERT_DIAG(d,
                "tools/lookup.json:11:7:", "unknown keyword 'requried' (did you mean 'required'?)");
    sw_diags_free(d);

    /* Required names a property that is not there; a bad side effect. */
    fx_write(bundle, "tools/lookup.json",
             "{\"type\": \"function\", \"side_effect\": \"sometimes\", \"function\": {\"name\": "
             "\"lookup\", \"parameters\": {\"type\": \"object\", \"properties\": {}, "
             "\"required\": [\"q\"]}}}\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "tools/lookup.json:1:", "required property 'q' is not defined");
    ASSERT_DIAG(d, "tools/lookup.json:1:", "\"side_effect\" must be read_only");
    sw_diags_free(d);

    /* The function's name must match the file. */
    fx_write(bundle, "tools/lookup.json",
             "{\"type\": \"function\", \"side_effect\": \"read_only\", \"function\": {\"name\": "
             "\"search\"}}\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "tools/lookup.json:1:", "must match");
    sw_diags_free(d);
}
END_TEST

/* The tool's definition in the manifest, as loaded from tools/lookup.json now. */
static json_t *lookup_definition(void)
{
    sw_diags *d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, NULL, d);
    ck_assert_msg(b != NULL, "the bundle did not load");
    ck_assert_uint_eq(sw_diags_errors(d), 0);
    json_t *def = json_incref(
        json_object_get(json_array_get(json_object_get(b->manifest, "tools"), 0), "definition"));
    sw_bundle_free(b);
    sw_diags_free(d);
    return def;
}

/* A tool written as the Responses API or Anthropic write them is the same tool. */
START_TEST(test_tool_formats)
{
    json_t *chat = lookup_definition();
    fx_write(bundle, "tools/lookup.json",
             "{\"type\": \"function\", \"name\": \"lookup\", \"side_effect\": \"read_only\", "
             "\"parameters\": {\"type\": \"object\", \"properties\": {\"q\": {\"type\": "
             "\"string\"}, \"n\": {\"type\": \"integer\"}}, \"required\": [\"q\"]}}\n");
    json_t *responses = lookup_definition();
    ck_assert_msg(json_equal(chat, responses), "the Responses tool reads differently");
    fx_write(bundle, "tools/lookup.json",
             "{\"name\": \"lookup\", \"side_effect\": \"read_only\", \"input_schema\": "
             "{\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}, \"n\": "
             "{\"type\": \"integer\"}}, \"required\": [\"q\"]}}\n");
    json_t *anthropic = lookup_definition();
    ck_assert_msg(json_equal(chat, anthropic), "the Anthropic tool reads differently");
    json_decref(chat);
    json_decref(responses);
    json_decref(anthropic);

    /* Each format's own mistakes, with positions. */
    fx_write(bundle, "tools/lookup.json",
             "{\"type\": \"function\", \"name\": \"lookup\", \"side_effect\": \"read_only\",\n"
             " \"paramters\": {}}\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d,
                "tools/lookup.json:2:2:", "unknown key 'paramters' (did you mean 'parameters'?)");
    sw_diags_free(d);
    fx_write(bundle, "tools/lookup.json",
             "{\"type\": \"web_search_20250305\", \"name\": \"lookup\", \"side_effect\": "
             "\"read_only\", \"input_schema\": {\"type\": \"array\"}}\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "tools/lookup.json:1:", "an Anthropic tool's \"type\" may only be \"custom\"");
    ASSERT_DIAG(
        d, "tools/lookup.json:1:", "\"input_schema\" must be a schema of \"type\": \"object\"");
    sw_diags_free(d);
}
END_TEST

START_TEST(test_tool_not_defined)
{
    char *yaml = sw_xasprintf("%s  - refund\n", fx_agent_yaml);
    fx_write(bundle, "agent.yaml", yaml);
    free(yaml);
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:13:5: error: tool 'refund' is referenced but not defined",
                "tools/refund.json");
    sw_diags_free(d);
}
END_TEST

START_TEST(test_unlisted_tool_warns)
{
    fx_write(bundle, "tools/extra.json", "{}");
    sw_diags *d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, NULL, d);
    ck_assert_ptr_nonnull(b);
    ASSERT_DIAG(d, "tools/extra.json: warning: tool 'extra' is not listed", NULL);
    sw_bundle_free(b);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_template_variable_without_value)
{
    fx_write(bundle, "prompts/system.md", "Hello.\nYou help {{company}} with {{ product }}.\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "prompts/system.md:2:27: error: template variable 'product' has no value", NULL);
    sw_diags_free(d);

    fx_write(bundle, "prompts/system.md", "Hello {{company.\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "prompts/system.md:1:7: error: unclosed '{{'", NULL);
    sw_diags_free(d);

    /* An escaped brace pair is text. */
    fx_write(bundle, "prompts/system.md", "Literal \\{{company}} and {{company}}.\n");
    d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, NULL, d);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(b->manifest, "prompts"), "system"), "text")),
        "Literal {{company}} and Acme.\n");
    sw_bundle_free(b);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_not_utf8)
{
    fx_write(bundle, "prompts/system.md", "Hello.\nCaf\xe9 {{company}}.\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "prompts/system.md:2:4: error: not valid UTF-8 (byte 0xe9)", NULL);
    sw_diags_free(d);

    /* Overlong encodings and surrogates are not UTF-8 either. */
    fx_write(bundle, "prompts/system.md", "x\xc0\xaf");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "system.md:1:2: error: not valid UTF-8", NULL);
    sw_diags_free(d);
    fx_write(bundle, "prompts/system.md", "\xed\xa0\x80");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "system.md:1:1: error: not valid UTF-8", NULL);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_over_size_cap)
{
    sw_bundle_opts o = {.max_bytes = 200};
    sw_diags *d = load_fails(&o);
    ASSERT_DIAG(d, "over its size cap of 200 bytes", NULL);
    sw_diags_free(d);
    /* Just under the cap is fine. */
    size_t total = strlen(fx_agent_yaml) + strlen(fx_prompt) + strlen(fx_tool);
    o.max_bytes = total;
    d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, &o, d);
    ck_assert_ptr_nonnull(b);
    sw_bundle_free(b);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_symlink_escaping)
{
    fx_write(tmp, "outside.md", "secret\n");
    char *target = sw_path_join(tmp, "outside.md");
    char *link = file_in("prompts/system.md");
    unlink(link);
    ck_assert_int_eq(symlink(target, link), 0);
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "prompts/system.md", "a symlink that leads outside the bundle");
    sw_diags_free(d);
    /* A symlink that stays inside is fine. */
    unlink(link);
    fx_write(bundle, "prompts/real.md", fx_prompt);
    ck_assert_int_eq(symlink("real.md", link), 0);
    d = sw_diags_new();
    sw_bundle *b = sw_bundle_load(bundle, NULL, d);
    ck_assert_ptr_nonnull(b);
    sw_bundle_free(b);
    sw_diags_free(d);
    free(target);
    free(link);
}
END_TEST

START_TEST(test_path_traversal)
{
    fx_write(tmp, "evil.md", "x\n");
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o-2024-08-06\nprompts:\n"
             "  system: prompts/../../evil.md\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d,
                "agent.yaml:6:11: error: prompt 'system': 'prompts/../../evil.md' leaves the "
                "bundle",
                NULL);
    sw_diags_free(d);
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodel:\n  provider: openai\n  name: gpt-4o-2024-08-06\nprompts:\n"
             "  system: /etc/passwd\n");
    d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:6:11:", "leaves the bundle");
    sw_diags_free(d);
    /* A tool name cannot carry a path either. */
    char *yaml = sw_xasprintf("%s  - ../../evil\n", fx_agent_yaml);
    fx_write(bundle, "agent.yaml", yaml);
    free(yaml);
    d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:13:5:", "tool name '../../evil'");
    sw_diags_free(d);
}
END_TEST

/* A schema nested deeper than the validator walks is refused, not followed. */
START_TEST(test_schema_depth_cap)
{
    sw_buf b = {0};
    sw_buf_puts(&b, "{\"type\": \"function\", \"side_effect\": \"read_only\", \"function\": "
                    "{\"name\": \"lookup\", \"parameters\": ");
    for (int i = 0; i < 100; i++)
        sw_buf_puts(&b, "{\"type\": \"array\", \"items\": ");
    sw_buf_puts(&b, "{\"type\": \"string\"}");
    for (int i = 0; i < 100; i++)
        sw_buf_puts(&b, "}");
    sw_buf_puts(&b, "}}\n");
    fx_write(bundle, "tools/lookup.json", b.data);
    sw_buf_free(&b);
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "tools/lookup.json:1:", "nested deeper than 64 levels");
    sw_diags_free(d);
}
END_TEST

START_TEST(test_missing_bundle)
{
    sw_diags *d = sw_diags_new();
    char *nowhere = sw_path_join(tmp, "nowhere");
    ck_assert_ptr_null(sw_bundle_load(nowhere, NULL, d));
    ASSERT_DIAG(d, "does not exist", NULL);
    sw_diags_free(d);
    /* A folder without agent.yaml. */
    char *empty = sw_path_join(tmp, "empty");
    mkdir(empty, 0755);
    d = sw_diags_new();
    ck_assert_ptr_null(sw_bundle_load(empty, NULL, d));
    ASSERT_DIAG(d, "empty/agent.yaml", "No such file");
    sw_diags_free(d);
    /* Unreadable (skipped as root, who reads anything). */
    if (geteuid() != 0) {
        char *p = file_in("prompts/system.md");
        chmod(p, 0);
        d = load_fails(NULL);
        ASSERT_DIAG(d, "system.md", "Permission denied");
        sw_diags_free(d);
        chmod(p, 0644);
        free(p);
    }
    free(nowhere);
    free(empty);
}
END_TEST

START_TEST(test_all_errors_reported)
{
    /* Three independent problems: all three are reported in one pass. */
    fx_write(bundle, "agent.yaml",
             "name: demo\nmodle: x\nprompts:\n  system: prompts/system.md\ntools:\n  - nope\n");
    sw_diags *d = load_fails(NULL);
    ASSERT_DIAG(d, "agent.yaml:2:1:", "unknown key 'modle'");
    ASSERT_DIAG(d, "agent.yaml:1:1:", "missing 'model'");
    ASSERT_DIAG(d, "agent.yaml:6:5:", "referenced but not defined");
    ASSERT_DIAG(d, "system.md:1:", "'company' has no value");
    sw_diags_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bundle");
    TCase *tc = tcase_create("bundle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_valid_bundle);
    tcase_add_test(tc, test_vars_override_and_agent_override);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_missing_model);
    tcase_add_test(tc, test_bad_parameter_value);
    tcase_add_test(tc, test_parameters_of_a_messages_provider);
    tcase_add_test(tc, test_invalid_tool_json);
    tcase_add_test(tc, test_invalid_tool_schema);
    tcase_add_test(tc, test_tool_formats);
    tcase_add_test(tc, test_tool_not_defined);
    tcase_add_test(tc, test_unlisted_tool_warns);
    tcase_add_test(tc, test_template_variable_without_value);
    tcase_add_test(tc, test_not_utf8);
    tcase_add_test(tc, test_over_size_cap);
    tcase_add_test(tc, test_symlink_escaping);
    tcase_add_test(tc, test_path_traversal);
    tcase_add_test(tc, test_schema_depth_cap);
    tcase_add_test(tc, test_missing_bundle);
    tcase_add_test(tc, test_all_errors_reported);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
