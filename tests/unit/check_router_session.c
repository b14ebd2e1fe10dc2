/* check_router_session.c - session keys: header, cookie, body fields, generated ids. */
#include <check.h>
#include <string.h>
#include <strings.h>

#include "router/session.h"

typedef struct fake {
    const char *header, *cookie;
} fake;

static const char *fake_header(void *ud, const char *name)
{
    fake *f = ud;
    if (strcasecmp(name, "cookie") == 0)
        return f->cookie;
    if (strcasecmp(name, "x-slipway-session") == 0)
        return f->header;
    return NULL;
}

static char *key_of(const char *header, const char *cookie, const char *body,
                    sw_session_source *src, sw_err *err)
{
    sw_session_cfg c;
    sw_session_cfg_default(&c);
    fake f = {header, cookie};
    json_t *b = body ? json_loads(body, 0, NULL) : NULL;
    sw_attrs a = {fake_header, &f, b};
    char *k = sw_session_key(&c, NULL, &a, src, err);
    json_decref(b);
    sw_session_cfg_free(&c);
    return k;
}

START_TEST(order_of_preference)
{
    sw_session_source src;
    sw_err err = {{0}};
    const char *body = "{\"user\": \"u-1\", \"metadata\": {\"session_id\": \"m-1\"}}";
    char *k = key_of("h-1", "a=b; slipway_session=c-1", body, &src, &err);
    ck_assert_str_eq(k, "h-1");
    ck_assert_int_eq(src, SW_SESSION_HEADER);
    free(k);
    k = key_of(NULL, "a=b; slipway_session=c-1", body, &src, &err);
    ck_assert_str_eq(k, "c-1");
    ck_assert_int_eq(src, SW_SESSION_COOKIE);
    free(k);
    k = key_of("", "other=1", body, &src, &err); /* an empty header counts as none */
    ck_assert_str_eq(k, "u-1");
    ck_assert_int_eq(src, SW_SESSION_BODY);
    free(k);
    k = key_of(NULL, NULL, "{\"metadata\": {\"session_id\": \"m-1\"}}", &src, &err);
    ck_assert_str_eq(k, "m-1");
    ck_assert_int_eq(src, SW_SESSION_BODY);
    free(k);
    k = key_of(NULL, NULL, "{\"user\": 42}", &src, &err);
    ck_assert_str_eq(k, "42");
    free(k);
    k = key_of(NULL, NULL, "{\"messages\": []}", &src, &err);
    ck_assert_int_eq(src, SW_SESSION_GENERATED);
    ck_assert_int_eq(strlen(k), 32);
    char *k2 = key_of(NULL, NULL, NULL, &src, &err);
    ck_assert_str_ne(k, k2); /* random */
    free(k);
    free(k2);
}
END_TEST

START_TEST(unusable_keys_are_errors)
{
    sw_session_source src;
    sw_err err = {{0}};
    ck_assert_ptr_null(key_of("has space", NULL, NULL, &src, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "visible ASCII"));
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_ptr_null(key_of(big, NULL, NULL, &src, &err));
    ck_assert_ptr_null(key_of(NULL, NULL, "{\"user\": \"line\\nbreak\"}", &src, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "control characters"));
    /* Non-ASCII text from the body is fine. */
    char *k = key_of(NULL, NULL, "{\"user\": \"Jos\\u00e9\"}", &src, &err);
    ck_assert_str_eq(k, "Jos\xc3\xa9");
    char *h = sw_session_header_value(k);
    ck_assert_str_eq(h, "Jos%C3%A9");
    free(h);
    free(k);
}
END_TEST

START_TEST(cookies)
{
    char out[64];
    ck_assert_int_eq(
        sw_cookie_value("a=1; slipway_session=xyz; b=2", "slipway_session", out, sizeof out), 0);
    ck_assert_str_eq(out, "xyz");
    ck_assert_int_eq(sw_cookie_value("slipway_session=\"q\"", "slipway_session", out, sizeof out),
                     0);
    ck_assert_str_eq(out, "q");
    ck_assert_int_eq(sw_cookie_value("xslipway_session=1", "slipway_session", out, sizeof out), -1);
    ck_assert_int_eq(sw_cookie_value("slipway_sessionx=1", "slipway_session", out, sizeof out), -1);
    ck_assert_int_eq(sw_cookie_value("", "a", out, sizeof out), -1);
    ck_assert_int_eq(sw_cookie_value("a=1234567", "a", out, 4), 0);
    ck_assert_str_eq(out, "123");
}
END_TEST

START_TEST(config_copies)
{
    sw_session_cfg a, b;
    sw_session_cfg_default(&a);
    sw_session_cfg_copy(&b, &a);
    ck_assert_str_eq(b.header, "x-slipway-session");
    ck_assert_str_eq(b.body_fields[1], "metadata.session_id");
    ck_assert_str_eq(sw_session_source_name(SW_SESSION_COOKIE), "cookie");
    sw_session_cfg_free(&a);
    sw_session_cfg_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_session");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, order_of_preference);
    tcase_add_test(tc, unusable_keys_are_errors);
    tcase_add_test(tc, cookies);
    tcase_add_test(tc, config_copies);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
