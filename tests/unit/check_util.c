/* check_util - errors as values, buffers, typo suggestions, diagnostics. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/diag.h"
#include "base/util.h"

START_TEST(edit_distance_counts_a_swap_as_one)
{
    ck_assert_uint_eq(sw_edit_distance("gate", "gate", 3), 0);
    ck_assert_uint_eq(sw_edit_distance("gaet", "gate", 3), 1);
    ck_assert_uint_eq(sw_edit_distance("treshold", "threshold", 3), 1);
    ck_assert_uint_eq(sw_edit_distance("kitten", "sitting", 5), 3);
    ck_assert_uint_eq(sw_edit_distance("", "abc", 5), 3);
    ck_assert_uint_eq(sw_edit_distance("abcdef", "uvwxyz", 2), 3); /* capped at max + 1 */
}
END_TEST

START_TEST(did_you_mean_finds_plausible_typos_only)
{
    const char *const keys[] = {"version", "name", "stages", "on_failure", "gate", "background"};
    size_t n = sizeof keys / sizeof *keys;
    ck_assert_str_eq(sw_did_you_mean("stagse", keys, n), "stages");
    ck_assert_str_eq(sw_did_you_mean("gaet", keys, n), "gate");
    ck_assert_str_eq(sw_did_you_mean("backgorund", keys, n), "background");
    ck_assert_str_eq(sw_did_you_mean("nmae", keys, n), "name");
    ck_assert_ptr_null(sw_did_you_mean("timeout", keys, n));
    ck_assert_ptr_null(sw_did_you_mean("x", keys, n));
}
END_TEST

START_TEST(errors_compose_with_context)
{
    sw_err err;
    ck_assert_int_eq(sw_err_set(&err, "bad value %d", 7), -1);
    sw_err_prefix(&err, "stage '%s': ", "golden");
    ck_assert_str_eq(err.msg, "stage 'golden': bad value 7");
    /* An overlong message is cut, never overflowed. */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sw_err_set(&err, "%s", big);
    sw_err_prefix(&err, "p: ");
    ck_assert_uint_eq(strlen(err.msg), SW_ERR_MAX - 1);
    ck_assert(strncmp(err.msg, "p: xxx", 6) == 0);
}
END_TEST

START_TEST(buffers_grow_and_hand_over)
{
    sw_buf b = {0};
    for (int i = 0; i < 1000; i++)
        sw_buf_printf(&b, "%d,", i);
    sw_buf_puts(&b, "end");
    char *s = sw_buf_steal(&b);
    ck_assert(strncmp(s, "0,1,2,", 6) == 0);
    ck_assert(strcmp(s + strlen(s) - 7, "999,end") == 0);
    ck_assert_ptr_null(b.data);
    free(s);
    s = sw_buf_steal(&b);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(buffers_take_integers_in_decimal)
{
    const int64_t v[] = {0, 7, -7, 1700000000123, INT64_MAX, INT64_MIN};
    sw_buf b = {0}, want = {0};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        sw_buf_put_i64(&b, v[i]);
        sw_buf_append(&b, " ", 1);
        sw_buf_printf(&want, "%lld ", (long long)v[i]);
    }
    ck_assert_str_eq(b.data, want.data);
    sw_buf_free(&b);
    sw_buf_free(&want);
}
END_TEST

START_TEST(utc_times_match_libc)
{
    /* Either side of the epoch, leap days and centuries, and a spread of instants. */
    int64_t ms[200] = {
        0, -1, 951782400000, 951868799999, 4107542400000, -2208988800001, 1795651200123};
    for (int i = 7; i < 200; i++)
        ms[i] = (int64_t)i * 86399999 * 397 - 40000000000000;
    for (int i = 0; i < 200; i++) {
        char got[32], want[64];
        sw_iso8601_ms(ms[i], got);
        int64_t secs = ms[i] >= 0 ? ms[i] / 1000 : -((-ms[i] + 999) / 1000);
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(ms[i] - secs * 1000));
        ck_assert_str_eq(got, want);
    }
}
END_TEST

START_TEST(diagnostics_format_like_a_compiler)
{
    sw_diags *d = sw_diags_new();
    sw_diag_error(d, (sw_pos){"p.yaml", 12, 7}, "stage '%s': unknown parameter", "golden");
    sw_diag_warning(d, (sw_pos){"p.yaml", 3, 0}, "shadowed");
    sw_diag_note(d, (sw_pos){0}, "no position");
    ck_assert_uint_eq(sw_diags_count(d), 3);
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    char *s = sw_diags_format(d, 0);
    ck_assert_str_eq(s, "p.yaml:12:7: error: stage 'golden': unknown parameter");
    free(s);
    s = sw_diags_format(d, 1);
    ck_assert_str_eq(s, "p.yaml:3: warning: shadowed");
    free(s);
    s = sw_diags_format(d, 2);
    ck_assert_str_eq(s, "note: no position");
    free(s);
    ck_assert_ptr_null(sw_diags_at(d, 3));
    sw_diags_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, edit_distance_counts_a_swap_as_one);
    tcase_add_test(tc, did_you_mean_finds_plausible_typos_only);
    tcase_add_test(tc, errors_compose_with_context);
    tcase_add_test(tc, buffers_grow_and_hand_over);
    tcase_add_test(tc, buffers_take_integers_in_decimal);
    tcase_add_test(tc, utc_times_match_libc);
    tcase_add_test(tc, diagnostics_format_like_a_compiler);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
