/* check_router_config.c - router.yaml: defaults, a full file, and errors with file:line:col. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "router/config.h"

static sw_router_config *parse(const char *text, sw_diags *d)
{
    return sw_router_config_parse(text, strlen(text), "/etc/slipway/router.yaml", d);
}

/* The formatted diagnostics, one per line (caller frees). */
static char *all_diags(const sw_diags *d)
{
    sw_buf b = {0};
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *t = sw_diags_format(d, i);
        sw_buf_printf(&b, "%s\n", t);
        free(t);
    }
    return sw_buf_steal(&b);
}

START_TEST(empty_file_gives_defaults)
{
    sw_diags *d = sw_diags_new();
    sw_router_config *c = parse("", d);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->host, "127.0.0.1");
    ck_assert_int_eq(c->port, 8700);
    ck_assert_str_eq(c->state_file, "/etc/slipway/router-state.json");
    ck_assert_str_eq(c->sessions.header, "x-slipway-session");
    ck_assert_uint_eq(c->n_agents, 0);
    ck_assert_int_eq(c->shared_read_ms, 500);
    sw_router_config_free(c);
    sw_diags_free(d);
}
END_TEST

START_TEST(full_file)
{
    const char *text =
        "version: 1\n"
        "listen: \"[::1]:0\"\n"
        "admin: {token_file: secrets/admin.token}\n"
        "state_file: /var/lib/slipway/router.json\n"
        "store: ../state\n"
        "limits: {max_body_bytes: 2048, max_header_bytes: 4096, client_timeout_s: 5}\n"
        "upstream: {retries: 0, timeout_ms: 1500}\n"
        "sessions: {header: X-Conversation, cookie: conv, body_fields: [metadata.conv], ttl_s: "
        "60, shared_read_timeout_ms: 250}\n"
        "shadow: {queue: 5, concurrency: 2, pairs_file: pairs.jsonl}\n"
        "providers:\n"
        "  openai: {base_url: \"https://api.openai.com/v1/\", api_key_env: OPENAI_API_KEY}\n"
        "agents:\n"
        "  support-agent:\n"
        "    versions:\n"
        "      v1: {url: \"http://127.0.0.1:9001/v1\"}\n"
        "      v2: {url: \"http://127.0.0.1:9002/v1\"}\n"
        "    route: {stable: v1, candidate: v2, weight: 2.5}\n"
        "    sessions: {header: x-user}\n"
        "    retries: 3\n"
        "  billing:\n"
        "    mode: gateway\n"
        "    inject_usage: false\n";
    sw_diags *d = sw_diags_new();
    sw_router_config *c = parse(text, d);
    char *msgs = all_diags(d);
    ck_assert_msg(c != NULL, "%s", msgs);
    free(msgs);
    ck_assert_str_eq(c->host, "::1");
    ck_assert_int_eq(c->port, 0);
    ck_assert_str_eq(c->token_file, "/etc/slipway/secrets/admin.token");
    ck_assert_str_eq(c->store_dir, "/etc/slipway/../state");
    ck_assert_str_eq(c->pairs_file, "/etc/slipway/pairs.jsonl");
    ck_assert_uint_eq(c->max_body_bytes, 2048);
    ck_assert_int_eq(c->retries, 0);
    ck_assert_str_eq(c->sessions.header, "x-conversation");
    ck_assert_uint_eq(c->sessions.n_body_fields, 1);
    ck_assert_int_eq(c->shared_read_ms, 250);
    ck_assert_str_eq(sw_router_config_provider(c, "openai")->base_url, "https://api.openai.com/v1");
    const sw_agent_cfg *a = sw_router_config_agent(c, "support-agent");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->retries, 3);
    ck_assert(a->has_sessions);
    ck_assert_str_eq(a->sessions.header, "x-user");
    ck_assert_str_eq(a->sessions.cookie, "conv"); /* the rest inherited */
    ck_assert_ptr_nonnull(json_object_get(a->versions, "v2"));
    const sw_agent_cfg *g = sw_router_config_agent(c, "billing");
    ck_assert_int_eq(g->mode, SW_MODE_GATEWAY);
    ck_assert(!g->inject_usage);
    ck_assert_ptr_null(sw_router_config_agent(c, "nobody"));
    sw_router_config_free(c);
    sw_diags_free(d);
}
END_TEST

START_TEST(errors_have_positions)
{
    const char *text = "listen: 127.0.0.1:99999\n"                 /* 1 */
                       "admin:\n"                                  /* 2 */
                       "  token: hunter2hunter2hunter2\n"          /* 3 */
                       "limits: {max_body_bytes: 12}\n"            /* 4 */
                       "sesions: {}\n"                             /* 5 */
                       "agents:\n"                                 /* 6 */
                       "  bad name!: {}\n"                         /* 7 */
                       "  a:\n"                                    /* 8 */
                       "    versions: {v1: {url: ftp://x}}\n"      /* 9 */
                       "  b:\n"                                    /* 10 */
                       "    versions: {v1: {url: \"http://x\"}}\n" /* 11 */
                       "    route: {stable: v1, candidate: v9}\n"  /* 12 */
                       "  g: {mode: gateway}\n";                   /* 13 */
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(parse(text, d));
    char *msgs = all_diags(d);
    const char *want[] = {
        "router.yaml:1:9: error: 'listen': port '99999' must be 0 to 65535",
        "router.yaml:3:3: error: admin: the token is never written in the config",
        "router.yaml:4:26: error: 'max_body_bytes' must be an integer from 1024",
        "router.yaml:5:1: error: router.yaml: unknown key 'sesions' (did you mean 'sessions'?)",
        "router.yaml:7:3: error: agent name 'bad name!'",
        "router.yaml:9:15: error: agent 'a': version 'v1': url 'ftp://x' must start with http://",
        "router.yaml:12:12: error: agent 'b': route: candidate 'v9' is not one of the",
        "router.yaml:13:3: error: agent 'g' is a gateway agent: set 'store'",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(msgs, want[i]) != NULL, "missing '%s' in:\n%s", want[i], msgs);
    free(msgs);
    sw_diags_free(d);
}
END_TEST

START_TEST(loopback)
{
    ck_assert(sw_host_is_loopback("127.0.0.1"));
    ck_assert(sw_host_is_loopback("127.8.9.10"));
    ck_assert(sw_host_is_loopback("::1"));
    ck_assert(sw_host_is_loopback("localhost"));
    ck_assert(!sw_host_is_loopback("0.0.0.0"));
    ck_assert(!sw_host_is_loopback("10.0.0.1"));
    ck_assert(!sw_host_is_loopback("::"));
    ck_assert(!sw_host_is_loopback(NULL));
}
END_TEST

START_TEST(missing_file)
{
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_router_config_load("/nonexistent/router.yaml", d));
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    sw_diags_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, empty_file_gives_defaults);
    tcase_add_test(tc, full_file);
    tcase_add_test(tc, errors_have_positions);
    tcase_add_test(tc, loopback);
    tcase_add_test(tc, missing_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
