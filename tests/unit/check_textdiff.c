/* check_textdiff.c - the prompt diff: minimal hunks, and the cap on its table. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/textdiff.h"

START_TEST(a_small_change)
{
    size_t added, removed;
    char *d = sw_text_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n", "old", "new", &added, &removed);
    ck_assert_uint_eq(added, 2);
    ck_assert_uint_eq(removed, 1);
    ck_assert_ptr_nonnull(strstr(d, "--- old\n+++ new\n"));
    ck_assert_ptr_nonnull(strstr(d, "-b\n+B\n"));
    ck_assert_ptr_nonnull(strstr(d, "+e\n"));
    free(d);
    d = sw_text_diff("same\n", "same\n", "a", "b", &added, &removed);
    ck_assert_str_eq(d, "");
    ck_assert_uint_eq(added + removed, 0);
    free(d);
}
END_TEST

/* Two texts of 3,000 lines that share none: 9 M cells of LCS table, over the 4 Mi cap, so
   the change is shown as a whole replacement instead of filling memory. */
START_TEST(a_huge_change_is_a_replacement)
{
    sw_buf a = {0}, b = {0};
    for (int i = 0; i < 3000; i++) {
        sw_buf_printf(&a, "old line %d\n", i);
        sw_buf_printf(&b, "new line %d\n", i);
    }
    size_t added, removed;
    char *d = sw_text_diff(a.data, b.data, "a", "b", &added, &removed);
    ck_assert_uint_eq(added, 3000);
    ck_assert_uint_eq(removed, 3000);
    ck_assert_ptr_nonnull(strstr(d, "-old line 2999\n"));
    ck_assert_ptr_nonnull(strstr(d, "+new line 0\n"));
    free(d);
    /* Under the cap the diff stays minimal: one line changed in 1,000. */
    sw_buf c = {0}, e = {0};
    for (int i = 0; i < 1000; i++) {
        sw_buf_printf(&c, "line %d\n", i);
        sw_buf_printf(&e, i == 500 ? "LINE %d\n" : "line %d\n", i);
    }
    d = sw_text_diff(c.data, e.data, "a", "b", &added, &removed);
    ck_assert_uint_eq(added, 1);
    ck_assert_uint_eq(removed, 1);
    free(d);
    sw_buf_free(&a);
    sw_buf_free(&b);
    sw_buf_free(&c);
    sw_buf_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("textdiff");
    TCase *tc = tcase_create("textdiff");
    tcase_add_test(tc, a_small_change);
    tcase_add_test(tc, a_huge_change_is_a_replacement);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
