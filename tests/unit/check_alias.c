/* check_alias.c - floating model aliases: -latest, bare families, deny patterns, suggestions. */
#include <check.h>
#include <string.h>

#include "store/alias.h"

static sw_alias_verdict check(const char *provider, const char *model)
{
    sw_alias_verdict v;
    sw_model_alias_check(provider, model, NULL, 0, &v);
    return v;
}

START_TEST(test_pinned_names_pass)
{
    static const char *const pinned[] = {"gpt-4o-2024-08-06",
                                         "gpt-4o-mini-2024-07-18",
                                         "gpt-4-0613",
                                         "gpt-3.5-turbo-0125",
                                         "claude-3-5-sonnet-20241022",
                                         "gemini-1.5-pro-002",
                                         "mistral-large-2411",
                                         "o1-2024-12-17",
                                         "llama3.1:8b",
                                         "ft:gpt-4o-2024-08-06:acme::9xYz",
                                         "my-internal-model"};
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
        sw_alias_verdict v = check("openai", pinned[i]);
        ck_assert_msg(!v.floating, "%s refused: %s", pinned[i], v.reason);
    }
}
END_TEST

START_TEST(test_latest_suffix)
{
    sw_alias_verdict v = check("anthropic", "claude-3-5-sonnet-latest");
    ck_assert(v.floating);
    ck_assert_ptr_nonnull(strstr(v.reason, "-latest"));
    ck_assert_str_eq(v.suggestion, "claude-3-5-sonnet-20241022");

    v = check("openai", "chatgpt-4o-latest");
    ck_assert(v.floating);
    ck_assert_str_eq(v.suggestion, "gpt-4o-2024-08-06");

    v = check("ollama", "llama3:latest");
    ck_assert(v.floating);
    ck_assert_str_eq(v.suggestion, "");

    v = check("acme", "some-model-latest");
    ck_assert(v.floating);
    ck_assert_str_eq(v.suggestion, "");
}
END_TEST

START_TEST(test_bare_families)
{
    static const struct {
        const char *model, *suggestion;
    } cases[] = {
        {"gpt-4o", "gpt-4o-2024-08-06"},
        {"gpt-4", "gpt-4-0613"},
        {"gpt-4o-mini", "gpt-4o-mini-2024-07-18"},
        {"claude-3-5-sonnet", "claude-3-5-sonnet-20241022"},
        {"o3-mini", "o3-mini-2025-01-31"},
        {"gemini-1.5-pro", "gemini-1.5-pro-002"},
        /* A vendor family the table does not know yet: refused, no suggestion. */
        {"gpt-7-turbo", ""},
        {"claude-sonnet-9", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sw_alias_verdict v = check("openai", cases[i].model);
        ck_assert_msg(v.floating, "%s accepted", cases[i].model);
        ck_assert_str_eq(v.suggestion, cases[i].suggestion);
        ck_assert_ptr_nonnull(strstr(v.reason, cases[i].model));
    }
}
END_TEST

START_TEST(test_deny_patterns)
{
    const char *deny[] = {"*-preview*", "openai/gpt-3.5-*", "claude-3-haiku-*"};
    sw_alias_verdict v;
    sw_model_alias_check("openai", "gpt-4o-realtime-preview-2024-12-17", deny, 3, &v);
    ck_assert(v.floating);
    ck_assert_ptr_nonnull(strstr(v.reason, "'*-preview*'"));

    /* A pattern with a '/' matches provider/name. */
    sw_model_alias_check("openai", "gpt-3.5-turbo-0125", deny, 3, &v);
    ck_assert(v.floating);
    ck_assert_ptr_nonnull(strstr(v.reason, "openai/gpt-3.5-*"));
    sw_model_alias_check("azure", "gpt-3.5-turbo-0125", deny, 3, &v);
    ck_assert(!v.floating);

    /* A pinned name on the deny list is refused too. */
    sw_model_alias_check("anthropic", "claude-3-haiku-20240307", deny, 3, &v);
    ck_assert(v.floating);

    sw_model_alias_check("openai", "gpt-4o-2024-08-06", deny, 3, &v);
    ck_assert(!v.floating);
    ck_assert_str_eq(v.reason, "");
}
END_TEST

START_TEST(test_pinned_for)
{
    ck_assert_str_eq(sw_model_pinned_for("gpt-4o"), "gpt-4o-2024-08-06");
    ck_assert_str_eq(sw_model_pinned_for("gpt-4o-latest"), "gpt-4o-2024-08-06");
    ck_assert_ptr_null(sw_model_pinned_for("gpt-4o-2024-08-06"));
    ck_assert_ptr_null(sw_model_pinned_for(""));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alias");
    TCase *tc = tcase_create("alias");
    tcase_add_test(tc, test_pinned_names_pass);
    tcase_add_test(tc, test_latest_suffix);
    tcase_add_test(tc, test_bare_families);
    tcase_add_test(tc, test_deny_patterns);
    tcase_add_test(tc, test_pinned_for);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
