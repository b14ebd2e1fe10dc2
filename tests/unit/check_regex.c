/* check_regex.c - patterns from outside input: what regcomp may be given. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/regex.h"
#include "store/utf8.h"

static void refused(const char *pattern, const char *why)
{
    const char *r = sw_regex_risky(pattern);
    ck_assert_msg(r && strstr(r, why), "'%s': got '%s', want '%s'", pattern, r ? r : "(allowed)",
                  why);
}

static void allowed(const char *pattern)
{
    const char *r = sw_regex_risky(pattern);
    ck_assert_msg(!r, "'%s' refused: %s", pattern, r);
}

START_TEST(risky_patterns)
{
    refused("a+++++++++++++++++++++++", "right after another");
    refused("a*{2}", "right after another");
    refused("(a{100}){100}", "more than 1024 times");
    refused("((((((((((a*)*)*)*)*)*)*)*)*)*)*", "more than 1024 times");
    refused("a{2000}", "more than 1024 times");
    char *long_one = malloc(SW_REGEX_MAX_LEN + 2);
    memset(long_one, 'a', SW_REGEX_MAX_LEN + 1);
    long_one[SW_REGEX_MAX_LEN + 1] = '\0';
    refused(long_one, "longer than 1024 bytes");
    free(long_one);
}
END_TEST

START_TEST(ordinary_patterns)
{
    allowed("^refund (requested|denied)$");
    allowed("[0-9]+-[A-Z]{2,4}");
    allowed("[+*?]+x");    /* operators in brackets are literal */
    allowed("[]*]+");      /* a ']' first in a bracket is literal too */
    allowed("a\\+\\+\\+"); /* escaped */
    allowed("a{0}b{1,}c?");
    allowed("x{"); /* not a bound: regcomp decides */
    allowed("(ab){10}(cd){10}x*");
}
END_TEST

START_TEST(compile_says_why)
{
    regex_t re;
    sw_err err;
    ck_assert_int_eq(sw_regex_compile(&re, "a+++", REG_EXTENDED, &err), -1);
    ck_assert_str_eq(err.msg, "refused: a repetition operator right after another");
    ck_assert_int_eq(sw_regex_compile(&re, "(unclosed", REG_EXTENDED, &err), -1);
    ck_assert(strncmp(err.msg, "refused", 7) != 0 && err.msg[0]);
    ck_assert_int_eq(sw_regex_compile(&re, "^v[0-9]+$", REG_EXTENDED | REG_NOSUB, &err), 0);
    ck_assert_int_eq(regexec(&re, "v12", 0, NULL, 0), 0);
    regfree(&re);
}
END_TEST

START_TEST(utf8_scrub_and_clip)
{
    char *s = sw_utf8_scrub("agent \xff\xfe and caf\xc3\xa9 and \xc3");
    ck_assert_str_eq(s, "agent ?? and caf\xc3\xa9 and ?");
    free(s);
    s = sw_utf8_scrub("");
    ck_assert_str_eq(s, "");
    free(s);
    /* "é" is two bytes: a cut between them moves back before it. */
    ck_assert_int_eq(sw_utf8_clip("caf\xc3\xa9!", 4), 3);
    ck_assert_int_eq(sw_utf8_clip("caf\xc3\xa9!", 5), 5);
    ck_assert_int_eq(sw_utf8_clip("short", 128), 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regex");
    TCase *tc = tcase_create("regex");
    tcase_add_test(tc, risky_patterns);
    tcase_add_test(tc, ordinary_patterns);
    tcase_add_test(tc, compile_says_why);
    tcase_add_test(tc, utf8_scrub_and_clip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
