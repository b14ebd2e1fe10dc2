/*
 * store_fixture.h - helpers shared by check_bundle.c and check_store.c: a
 * temporary folder, a small valid bundle written into it, and diagnostics search.
 */
#ifndef SW_TEST_STORE_FIXTURE_H
#define SW_TEST_STORE_FIXTURE_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/fsutil.h"

static const char *const fx_agent_yaml = "name: demo\n"
                                         "model:\n"
                                         "  provider: openai\n"
                                         "  name: gpt-4o-2024-08-06\n"
                                         "parameters:\n"
                                         "  temperature: 0.5\n"
                                         "prompts:\n"
                                         "  system: prompts/system.md\n"
                                         "vars:\n"
                                         "  company: Acme\n"
                                         "tools:\n"
                                         "  - lookup\n";

static const char *const fx_prompt = "You help {{company}} customers.\nBe brief.\n";

static const char *const fx_tool =
    "{\n"
    "  \"type\": \"function\",\n"
    "  \"side_effect\": \"read_only\",\n"
    "  \"function\": {\n"
    "    \"name\": \"lookup\",\n"
    "    \"parameters\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\"q\": {\"type\": \"string\"}, \"n\": {\"type\": \"integer\"}},\n"
    "      \"required\": [\"q\"]\n"
    "    }\n"
    "  }\n"
    "}\n";

static int fx_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void fx_rm_rf(const char *path)
{
    nftw(path, fx_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *fx_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *t = sw_xasprintf("%s/sw-store-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

static void fx_write(const char *dir, const char *rel, const char *content)
{
    char *path = sw_path_join(dir, rel);
    char *parent = sw_path_dirname(path);
    sw_err err = {{0}};
    ck_assert_msg(sw_mkdir_p(parent, 0755, &err) == 0, "%s", err.msg);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(content, 1, strlen(content), f);
    fclose(f);
    free(parent);
    free(path);
}

/* A valid bundle in dir/name; returns its path. */
static char *fx_bundle(const char *dir, const char *name)
{
    char *b = sw_path_join(dir, name);
    fx_write(b, "agent.yaml", fx_agent_yaml);
    fx_write(b, "prompts/system.md", fx_prompt);
    fx_write(b, "tools/lookup.json", fx_tool);
    return b;
}

/* Does any diagnostic, formatted, contain every one of the (NULL-ended) substrings? */
static int fx_has_diag(const sw_diags *d, const char *a, const char *b)
{
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *t = sw_diags_format(d, i);
        int ok = strstr(t, a) && (!b || strstr(t, b));
        free(t);
        if (ok)
            return 1;
    }
    return 0;
}

static char *fx_all_diags(const sw_diags *d)
{
    sw_buf b = {0};
    sw_buf_puts(&b, "");
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *t = sw_diags_format(d, i);
        sw_buf_printf(&b, "%s\n", t);
        free(t);
    }
    return sw_buf_steal(&b);
}

#define ASSERT_DIAG(d, a, b)                                                                       \
    do {                                                                                           \
        char *all_ = fx_all_diags(d);                                                              \
        ck_assert_msg(fx_has_diag(d, a, b), "no diagnostic with '%s' and '%s' in:\n%s", a,         \
                      b ? b : "", all_);                                                           \
        free(all_);                                                                                \
    } while (0)

#endif
