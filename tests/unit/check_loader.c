/*
 * check_loader.c - the plugin loader: search path, caching, ABI and
 * descriptor checks, scanning, describe, built-ins.
 *
 * Runs against the test plugins in SW_TEST_PLUGIN_DIR (built from tests/plugins/,
 * by the ALL target). Temporary folders live under one mkdtemp()
 * directory per test, removed at its end.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/loader.h"

#ifndef SW_TEST_PLUGIN_DIR
#error "SW_TEST_PLUGIN_DIR must name the folder of the built test plugins"
#endif

#define PDIR SW_TEST_PLUGIN_DIR

/* ---- a host table: the plugins call nothing at load time, but the table is complete ---- */

static void h_log(sw_stage *s, sw_log_level l, const char *fmt, ...)
{
}
static sw_status h_error(sw_stage *s, const char *fmt, ...)
{
    return SW_ERROR;
}
static sw_status h_fail(sw_stage *s, const char *fmt, ...)
{
    return SW_FAIL;
}
static const char *h_text(sw_stage *s)
{
    return "";
}
static void h_progress(sw_stage *s, double f, const char *note)
{
}
static int h_cancelled(sw_stage *s)
{
    return 0;
}
static int h_wait(sw_stage *s, int64_t ms)
{
    return 0;
}

static const sw_host host = {
    SW_ABI_INIT(sw_host), .host_version = "test", .log = h_log,           .error = h_error,
    .fail = h_fail,       .last_error = h_text,   .progress = h_progress, .cancelled = h_cancelled,
    .wait = h_wait,       .stage_id = h_text,     .run_id = h_text,       .artifacts_dir = h_text,
    .state_dir = h_text,
};

/* ---- helpers ---- */

static char tmp_root[64];

static void tmp_setup(void)
{
    strcpy(tmp_root, "/tmp/check_loader.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *p = sw_xasprintf("%s/%s", path, de->d_name);
            rm_tree(p);
            free(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void tmp_teardown(void)
{
    rm_tree(tmp_root);
}

/* A new folder under the temp root. Caller frees. */
static char *tmp_dir(const char *name)
{
    char *p = sw_xasprintf("%s/%s", tmp_root, name);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    return p;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    ck_assert_msg(in != NULL, "cannot open %s (are the test plugins built?)", from);
    FILE *out = fopen(to, "wb");
    ck_assert_ptr_nonnull(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

static sw_loader *loader_with_test_dir(void)
{
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, PDIR);
    return L;
}

#define ck_assert_contains(hay, needle)                                                            \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), (hay))

/* Find `uses`, expecting failure; the message must contain `want`. */
static void expect_find_error(sw_loader *L, const char *uses, const char *base, const char *want)
{
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, uses, base, &err);
    ck_assert_msg(p == NULL, "'%s' loaded but should not", uses);
    ck_assert_contains(err.msg, want);
}

static size_t count_entries(const sw_param *params)
{
    size_t n = 0;
    while (params && params[n].name)
        n++;
    return n;
}

/* ---- loading by name ---- */

START_TEST(test_load_emit)
{
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "emit", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->name, "emit");
    ck_assert_str_eq(p->path, PDIR "/emit.so");
    ck_assert_ptr_nonnull(p->handle);
    ck_assert_int_eq(p->builtin, 0);
    ck_assert_ptr_nonnull(p->desc.run);
    ck_assert_ptr_null(p->desc.init);
    ck_assert_str_eq(p->desc.version, "1.0.0");
    ck_assert_uint_eq(count_entries(p->desc.params), 10);
    ck_assert_str_eq(p->desc.params[0].name, "int");
    ck_assert_str_eq(p->desc.params[0].default_value, "42");
    ck_assert_str_eq(p->desc.outputs[4].name, "j");
    ck_assert_int_eq(p->desc.outputs[4].type, SW_TYPE_JSON);

    /* Cached by name: the same object, nothing loaded twice. */
    ck_assert_ptr_eq(sw_loader_find(L, "emit", NULL, &err), p);
    ck_assert_uint_eq(sw_loader_count(L), 1);
    ck_assert_ptr_eq(sw_loader_at(L, 0), p);
    ck_assert_ptr_null(sw_loader_at(L, 1));
    sw_loader_free(L);
}
END_TEST

START_TEST(test_load_noop)
{
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "noop", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->name, "noop");
    ck_assert_ptr_null(p->desc.params);
    ck_assert_ptr_null(p->desc.outputs);
    ck_assert_uint_eq(p->desc.config_size, 0);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_same_real_path_is_cached)
{
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    const sw_plugin *a = sw_loader_find(L, "emit", NULL, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    /* Another spelling of the same file, and a symlink to it: one plugin. */
    const sw_plugin *b = sw_loader_load_file(L, PDIR "/./emit.so", &err);
    ck_assert_ptr_eq(a, b);
    tmp_setup();
    char *link = sw_xasprintf("%s/link.so", tmp_root);
    ck_assert_int_eq(symlink(PDIR "/emit.so", link), 0);
    ck_assert_ptr_eq(sw_loader_load_file(L, link, &err), a);
    ck_assert_ptr_eq(sw_loader_find(L, link, NULL, &err), a);
    ck_assert_uint_eq(sw_loader_count(L), 1);
    free(link);
    sw_loader_free(L);
    tmp_teardown();
}
END_TEST

START_TEST(test_init_fail_and_old_minor_load)
{
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    /* init runs per stage, not at load: a plugin whose init fails loads fine. */
    const sw_plugin *p = sw_loader_find(L, "init_fail", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(p->desc.init);

    /* A descriptor of exactly the ABI 1.0 size (through fini) is accepted, and
       whatever lies past struct_size reads as zero. */
    p = sw_loader_find(L, "old_minor", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    size_t min = offsetof(sw_stage_desc, fini) + sizeof(void (*)(void));
    ck_assert_uint_eq(p->desc.struct_size, min);
    ck_assert_str_eq(p->desc.outputs[0].name, "ok");
    ck_assert_ptr_nonnull(p->desc.run);
    ck_assert_ptr_null(p->desc.fini);
    const unsigned char *bytes = (const unsigned char *)&p->desc;
    for (size_t i = min; i < sizeof(sw_stage_desc); i++)
        ck_assert_uint_eq(bytes[i], 0);
    sw_loader_free(L);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_not_found)
{
    tmp_setup();
    char *a = tmp_dir("a"), *b = tmp_dir("b");
    sw_loader *L = sw_loader_new(&host);
    expect_find_error(L, "nope", NULL, "plugin 'nope' not found; no plugin folders configured");
    sw_loader_add_dir(L, a);
    sw_loader_add_dir(L, b);
    char *want = sw_xasprintf("plugin 'nope' not found; searched: %s, %s", a, b);
    expect_find_error(L, "nope", NULL, want);
    free(want);
    sw_loader_free(L);
    free(a);
    free(b);
    tmp_teardown();
}
END_TEST

START_TEST(test_not_found_suggests)
{
    sw_loader *L = loader_with_test_dir();
    expect_find_error(L, "emitt", NULL, "(did you mean 'emit'?)");
    sw_loader_free(L);
}
END_TEST

START_TEST(test_not_elf)
{
    sw_loader *L = loader_with_test_dir();
    expect_find_error(L, "not_elf", NULL, "cannot load plugin '" PDIR "/not_elf.so': ");
    ck_assert_uint_eq(sw_loader_count(L), 0);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_no_entry)
{
    sw_loader *L = loader_with_test_dir();
    expect_find_error(L, "no_entry", NULL,
                      "'" PDIR "/no_entry.so' is not a Slipway plugin: it exports no "
                      "sw_plugin_entry");
    sw_loader_free(L);
}
END_TEST

START_TEST(test_abi_major)
{
    sw_loader *L = loader_with_test_dir();
    expect_find_error(L, "abi_major2", NULL,
                      "plugin 'abi_major2' (" PDIR "/abi_major2.so) built for ABI 2.0, host "
                      "speaks 1.1");
    sw_loader_free(L);
}
END_TEST

START_TEST(test_desc_small)
{
    sw_loader *L = loader_with_test_dir();
    char *want = sw_xasprintf("plugin 'desc_small' (%s/desc_small.so): descriptor is 16 bytes, "
                              "smaller than the ABI 1.0 minimum of %zu",
                              PDIR, offsetof(sw_stage_desc, fini) + sizeof(void (*)(void)));
    expect_find_error(L, "desc_small", NULL, want);
    free(want);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_wrong_name)
{
    sw_loader *L = loader_with_test_dir();
    expect_find_error(L, "wrong_name", NULL,
                      "'" PDIR "/wrong_name.so' declares plugin 'other_name', expected "
                      "'wrong_name'");
    ck_assert_uint_eq(sw_loader_count(L), 0);
    /* By path the file's name does not matter. */
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_load_file(L, PDIR "/wrong_name.so", &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->name, "other_name");
    ck_assert_ptr_eq(sw_loader_find(L, "other_name", NULL, &err), p);
    /* Once loaded, the file still does not answer to its file name. */
    expect_find_error(L, "wrong_name", NULL, "declares plugin 'other_name', expected 'wrong_name'");
    sw_loader_free(L);
}
END_TEST

START_TEST(test_duplicate_name)
{
    sw_loader *L = sw_loader_new(&host);
    sw_err err = {{0}};
    const sw_plugin *a = sw_loader_load_file(L, PDIR "/dup_a.so", &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_str_eq(a->name, "dup");
    ck_assert_ptr_null(sw_loader_load_file(L, PDIR "/dup_b.so", &err));
    ck_assert_contains(err.msg, "duplicate plugin name 'dup': " PDIR "/dup_b.so and " PDIR
                                "/dup_a.so both declare it");
    ck_assert_uint_eq(sw_loader_count(L), 1);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_bad_param)
{
    sw_loader *L = loader_with_test_dir();
    expect_find_error(L, "bad_param", NULL,
                      "plugin 'bad_param' (" PDIR "/bad_param.so): parameter 'target' is "
                      "required and has a default");
    sw_loader_free(L);
}
END_TEST

/* Each SW_TEST_BAD_DESC case of tests/plugins/bad_desc.c and the message it must give. */
static const struct {
    const char *which;
    const char *want;
    const char *also; /* a second substring, or NULL */
} bad_cases[] = {
    {"", "refused to load: set SW_TEST_BAD_DESC", NULL},
    {"refuse",
     "plugin '" PDIR "/bad_desc.so' refused to load: this host is too old: bad_desc "
     "needs ABI 1.99",
     NULL},
    {"null", "plugin 'bad_desc' (" PDIR "/bad_desc.so): sw_plugin_entry returned no descriptor",
     NULL},
    {"no_name", "(" PDIR "/bad_desc.so): the descriptor has no name", NULL},
    {"bad_name", "invalid name 'Bad Name': a plugin name matches [a-z][a-z0-9_-]*", NULL},
    {"long_name", "at most 64 characters", NULL},
    {"no_run", "plugin 'bad_desc' (" PDIR "/bad_desc.so): run is NULL", NULL},
    {"no_version", "plugin 'bad_desc' (" PDIR "/bad_desc.so): version is NULL", NULL},
    {"no_summary", "summary is NULL", NULL},
    {"param_name", "parameter 'Threshold' has an invalid name", NULL},
    {"param_dup", "parameter 'n' is declared twice", NULL},
    {"param_type", "parameter 's' has an invalid type (42)", NULL},
    {"param_null", "parameter 's' has type null", NULL},
    {"param_offset",
     "parameter 's' (string, 8 bytes at offset 12) does not fit in the config "
     "struct (config_size 16)",
     NULL},
    {"param_default", "bad_desc.so): parameter 'n'", "'abc'"},
    {"input_empty", "input #1 has an empty name", NULL},
    {"output_name", "output 'pass-rate' has an invalid name", NULL},
    {"output_dup", "output 'a' is declared twice", NULL},
    {"output_type", "output 'b' has an invalid type (-1)", NULL},
    {"output_any", "output 'b' has type any", NULL},
};

START_TEST(test_descriptor_rules)
{
    const char *which = bad_cases[_i].which;
    setenv("SW_TEST_BAD_DESC", which, 1);
    sw_loader *L = loader_with_test_dir();
    char *label = sw_xasprintf("SW_TEST_BAD_DESC=%s", which);
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "bad_desc", NULL, &err);
    ck_assert_msg(p == NULL, "%s: loaded", label);
    ck_assert_msg(strstr(err.msg, bad_cases[_i].want), "%s: expected \"%s\" in \"%s\"", label,
                  bad_cases[_i].want, err.msg);
    if (bad_cases[_i].also)
        ck_assert_msg(strstr(err.msg, bad_cases[_i].also), "%s: expected \"%s\" in \"%s\"", label,
                      bad_cases[_i].also, err.msg);
    ck_assert_uint_eq(sw_loader_count(L), 0);
    free(label);
    sw_loader_free(L);
    unsetenv("SW_TEST_BAD_DESC");
}
END_TEST

START_TEST(test_descriptor_valid_control)
{
    /* The same plugin with no case broken loads: the failures above are the cases'. */
    setenv("SW_TEST_BAD_DESC", "valid", 1);
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "bad_desc", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->desc.inputs[0].name, "vars.x");
    sw_loader_free(L);
    unsetenv("SW_TEST_BAD_DESC");
}
END_TEST

/* ---- search order, paths ---- */

START_TEST(test_search_order_and_shadowing)
{
    tmp_setup();
    char *a = tmp_dir("a"), *b = tmp_dir("b");
    char *ea = sw_xasprintf("%s/emit.so", a), *eb = sw_xasprintf("%s/emit.so", b);
    copy_file(PDIR "/emit.so", ea);
    copy_file(PDIR "/emit.so", eb);
    sw_err err = {{0}};

    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, a);
    sw_loader_add_dir(L, b);
    const sw_plugin *p = sw_loader_find(L, "emit", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->path, ea);
    /* The copy in b is shadowed: a warning from the scan, not an error. */
    sw_diags *d = sw_diags_new();
    ck_assert_uint_eq(sw_loader_scan(L, d), 1);
    ck_assert_uint_eq(sw_diags_errors(d), 0);
    ck_assert_uint_eq(sw_diags_count(d), 1);
    const sw_diagnostic *g = sw_diags_at(d, 0);
    ck_assert_int_eq(g->severity, SW_SEVERITY_WARNING);
    ck_assert_str_eq(g->file, eb);
    char *want = sw_xasprintf("plugin 'emit' in %s is shadowed by %s", eb, ea);
    ck_assert_str_eq(g->message, want);
    free(want);
    sw_diags_free(d);
    ck_assert_uint_eq(sw_loader_count(L), 1);
    sw_loader_free(L);

    /* Folders added first are searched first. */
    L = sw_loader_new(&host);
    sw_loader_add_dir(L, b);
    sw_loader_add_dir(L, a);
    p = sw_loader_find(L, "emit", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->path, eb);
    sw_loader_free(L);

    /* A scan alone shadows the same way. */
    L = sw_loader_new(&host);
    sw_loader_add_dir(L, a);
    sw_loader_add_dir(L, b);
    d = sw_diags_new();
    ck_assert_uint_eq(sw_loader_scan(L, d), 1);
    ck_assert_uint_eq(sw_diags_errors(d), 0);
    ck_assert_uint_eq(sw_diags_count(d), 1);
    ck_assert_str_eq(sw_loader_at(L, 0)->path, ea);
    sw_diags_free(d);
    sw_loader_free(L);

    free(ea);
    free(eb);
    free(a);
    free(b);
    tmp_teardown();
}
END_TEST

START_TEST(test_first_hit_wins_even_when_broken)
{
    /* A broken emit.so earlier on the path is reported, not skipped for a later one. */
    tmp_setup();
    char *a = tmp_dir("a");
    char *ea = sw_xasprintf("%s/emit.so", a);
    copy_file(PDIR "/not_elf.so", ea);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, a);
    sw_loader_add_dir(L, PDIR);
    char *want = sw_xasprintf("cannot load plugin '%s': ", ea);
    expect_find_error(L, "emit", NULL, want);
    free(want);
    sw_loader_free(L);
    free(ea);
    free(a);
    tmp_teardown();
}
END_TEST

START_TEST(test_dirs)
{
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, "/x/a");
    sw_loader_add_dir(L, "/x/b/");
    sw_loader_add_dir(L, "/x/a/");
    sw_loader_add_dir(L, "/x/b");
    sw_loader_add_dir(L, "");
    ck_assert_uint_eq(sw_loader_dir_count(L), 2);
    ck_assert_str_eq(sw_loader_dir_at(L, 0), "/x/a");
    ck_assert_str_eq(sw_loader_dir_at(L, 1), "/x/b");
    ck_assert_ptr_null(sw_loader_dir_at(L, 2));
    sw_loader_free(L);
}
END_TEST

START_TEST(test_path_lookup)
{
    sw_loader *L = sw_loader_new(&host); /* no folders: paths need none */
    sw_err err = {{0}};
    /* Relative to base_dir: a value with a '/', or ending in ".so". */
    const char *leaf = strrchr(PDIR, '/') + 1;
    char *rel = sw_xasprintf("../%s/noop.so", leaf);
    char *full = sw_xasprintf("%s/%s", PDIR, rel);
    const sw_plugin *p = sw_loader_find(L, rel, PDIR, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->name, "noop");
    ck_assert_str_eq(p->path, full);
    free(rel);
    free(full);
    ck_assert_ptr_eq(sw_loader_find(L, "noop.so", PDIR, &err), p);
    ck_assert_ptr_eq(sw_loader_find(L, PDIR "/noop.so", "/nonexistent", &err), p);
    /* A path's plugin can declare any name. */
    const sw_plugin *w = sw_loader_find(L, "./wrong_name.so", PDIR, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    ck_assert_str_eq(w->name, "other_name");
    expect_find_error(L, "missing/x.so", PDIR,
                      "cannot load plugin '" PDIR "/missing/x.so': No such file or directory");
    expect_find_error(L, "", PDIR, "empty plugin name");
    ck_assert_uint_eq(sw_loader_count(L), 2);
    sw_loader_free(L);
}
END_TEST

/* ---- scan ---- */

static int has_diag(const sw_diags *d, sw_severity sev, const char *file, const char *text)
{
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        const sw_diagnostic *g = sw_diags_at(d, i);
        if (g->severity == sev && g->file && strcmp(g->file, file) == 0 && g->line == 0 &&
            strstr(g->message, text))
            return 1;
    }
    return 0;
}

static const sw_plugin *loaded(const sw_loader *L, const char *name)
{
    for (size_t i = 0; i < sw_loader_count(L); i++)
        if (strcmp(sw_loader_at(L, i)->name, name) == 0)
            return sw_loader_at(L, i);
    return NULL;
}

START_TEST(test_scan)
{
    unsetenv("SW_TEST_BAD_DESC");
    sw_loader *L = loader_with_test_dir();
    sw_diags *d = sw_diags_new();
    size_t n = sw_loader_scan(L, d);

    static const char *const good[] = {"noop",  "emit",      "probe",    "hang",
                                       "crash", "init_fail", "old_minor"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(loaded(L, good[i]) != NULL, "'%s' not loaded by the scan", good[i]);
    ck_assert_uint_eq(n, sw_loader_count(L));

    static const struct {
        const char *file, *text;
    } bad[] = {
        {PDIR "/not_elf.so", "cannot load plugin"},
        {PDIR "/no_entry.so", "exports no sw_plugin_entry"},
        {PDIR "/abi_major2.so", "built for ABI 2.0"},
        {PDIR "/desc_small.so", "descriptor is 16 bytes"},
        {PDIR "/wrong_name.so", "declares plugin 'other_name', expected 'wrong_name'"},
        {PDIR "/dup_a.so", "declares plugin 'dup', expected 'dup_a'"},
        {PDIR "/dup_b.so", "declares plugin 'dup', expected 'dup_b'"},
        {PDIR "/bad_param.so", "is required and has a default"},
        {PDIR "/bad_desc.so", "refused to load"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(has_diag(d, SW_SEVERITY_ERROR, bad[i].file, bad[i].text),
                      "no error for %s containing \"%s\"", bad[i].file, bad[i].text);
    ck_assert_uint_eq(sw_diags_errors(d), sizeof bad / sizeof *bad);
    ck_assert_uint_eq(sw_diags_count(d), sw_diags_errors(d)); /* no warnings */
    ck_assert_ptr_null(loaded(L, "dup"));
    ck_assert_ptr_null(loaded(L, "other_name"));

    /* Loaded in file-name order within the folder. */
    for (size_t i = 1; i < sw_loader_count(L); i++)
        ck_assert_int_lt(strcmp(sw_loader_at(L, i - 1)->path, sw_loader_at(L, i)->path), 0);

    /* A second scan finds the same plugins, loads nothing new and says the same. */
    size_t count = sw_loader_count(L);
    sw_diags *d2 = sw_diags_new();
    ck_assert_uint_eq(sw_loader_scan(L, d2), n);
    ck_assert_uint_eq(sw_loader_count(L), count);
    ck_assert_uint_eq(sw_diags_errors(d2), sw_diags_errors(d));
    sw_diags_free(d2);
    sw_diags_free(d);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_scan_ignores_other_files)
{
    tmp_setup();
    char *a = tmp_dir("a");
    char *p = sw_xasprintf("%s/noop.so", a);
    copy_file(PDIR "/noop.so", p);
    free(p);
    p = sw_xasprintf("%s/readme.txt", a);
    copy_file(PDIR "/not_elf.so", p);
    free(p);
    p = sw_xasprintf("%s/.hidden.so", a);
    copy_file(PDIR "/not_elf.so", p);
    free(p);
    p = sw_xasprintf("%s/folder.so", a);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    free(p);

    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, a);
    sw_loader_add_dir(L, "/nonexistent/slipway/plugins"); /* absent folders are skipped */
    sw_diags *d = sw_diags_new();
    ck_assert_uint_eq(sw_loader_scan(L, d), 1);
    ck_assert_uint_eq(sw_diags_count(d), 0);
    ck_assert_str_eq(sw_loader_at(L, 0)->name, "noop");
    sw_diags_free(d);
    sw_loader_free(L);
    free(a);
    tmp_teardown();
}
END_TEST

/* ---- describe ---- */

static json_t *find_named(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            return v;
    }
    return NULL;
}

START_TEST(test_describe)
{
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "emit", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    json_t *j = sw_plugin_describe(p);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "emit");
    ck_assert_str_eq(json_string_value(json_object_get(j, "version")), "1.0.0");
    ck_assert_str_eq(json_string_value(json_object_get(j, "summary")),
                     "Writes one output of each type from its parameters");
    ck_assert_str_eq(json_string_value(json_object_get(j, "file")), PDIR "/emit.so");
    ck_assert(json_is_false(json_object_get(j, "builtin")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "abi")), "1.1");

    json_t *params = json_object_get(j, "params");
    ck_assert_uint_eq(json_array_size(params), 10);
    json_t *q = json_array_get(params, 0);
    ck_assert_str_eq(json_string_value(json_object_get(q, "name")), "int");
    ck_assert_str_eq(json_string_value(json_object_get(q, "type")), "int");
    ck_assert_str_eq(json_string_value(json_object_get(q, "default")), "42");
    ck_assert(json_is_false(json_object_get(q, "required")));
    ck_assert(json_is_false(json_object_get(q, "secret")));
    ck_assert_str_eq(json_string_value(json_object_get(q, "description")), "written to output i");
    q = find_named(params, "json");
    ck_assert_str_eq(json_string_value(json_object_get(q, "default")), "{\"a\": [1, 2]}");
    q = find_named(params, "fail_with");
    ck_assert(json_is_null(json_object_get(q, "default")));
    q = find_named(params, "sleep");
    ck_assert(json_is_true(json_object_get(q, "duration")));
    ck_assert(json_is_false(json_object_get(q, "path")));
    q = find_named(params, "append_to");
    ck_assert(json_is_true(json_object_get(q, "path")));
    ck_assert_str_eq(json_string_value(json_object_get(q, "type")), "string");

    ck_assert_uint_eq(json_array_size(json_object_get(j, "inputs")), 0);
    json_t *outs = json_object_get(j, "outputs");
    ck_assert_uint_eq(json_array_size(outs), 5);
    static const char *const types[][2] = {
        {"i", "int"}, {"d", "double"}, {"s", "string"}, {"b", "bool"}, {"j", "json"}};
    for (size_t i = 0; i < 5; i++) {
        json_t *o = json_array_get(outs, i);
        ck_assert_str_eq(json_string_value(json_object_get(o, "name")), types[i][0]);
        ck_assert_str_eq(json_string_value(json_object_get(o, "type")), types[i][1]);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "description")));
        ck_assert_ptr_null(json_object_get(o, "optional"));
    }
    json_decref(j);

    /* probe: a required parameter. */
    p = sw_loader_find(L, "probe", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    j = sw_plugin_describe(p);
    q = find_named(json_object_get(j, "params"), "key");
    ck_assert(json_is_true(json_object_get(q, "required")));
    ck_assert(json_is_null(json_object_get(q, "default")));
    json_decref(j);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_describe_inputs)
{
    setenv("SW_TEST_BAD_DESC", "valid", 1);
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "bad_desc", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    json_t *j = sw_plugin_describe(p);
    json_t *in = json_array_get(json_object_get(j, "inputs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(in, "name")), "vars.x");
    ck_assert_str_eq(json_string_value(json_object_get(in, "type")), "any");
    ck_assert(json_is_true(json_object_get(in, "optional")));
    ck_assert_str_eq(json_string_value(json_object_get(in, "description")), "");
    json_decref(j);
    sw_loader_free(L);
    unsetenv("SW_TEST_BAD_DESC");
}
END_TEST

/* ---- built-ins ---- */

static sw_status builtin_run(sw_stage *stage, const void *config)
{
    return SW_OK;
}

static const sw_port builtin_outputs[] = {
    {.name = "result", .type = SW_TYPE_JSON, .description = "what the script returned"},
    {0},
};

static const sw_stage_desc builtin_desc = {
    SW_ABI_INIT(sw_stage_desc),    .name = "script",           .version = "0.1.0",
    .summary = "A built-in stage", .outputs = builtin_outputs, .run = builtin_run,
};

static const sw_stage_desc builtin_noop = {
    SW_ABI_INIT(sw_stage_desc), .name = "noop",
    .version = "9.9.9",         .summary = "A built-in that takes a plugin's name",
    .run = builtin_run,
};

START_TEST(test_builtin)
{
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_builtin(L, &builtin_desc);
    sw_loader_add_builtin(L, &builtin_desc); /* once only */
    ck_assert_uint_eq(sw_loader_count(L), 1);
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "script", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->name, "script");
    ck_assert_str_eq(p->path, "(built-in)");
    ck_assert_ptr_null(p->handle);
    ck_assert_int_eq(p->builtin, 1);
    ck_assert_ptr_eq(p->desc.run, builtin_run);
    json_t *j = sw_plugin_describe(p);
    ck_assert(json_is_true(json_object_get(j, "builtin")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "file")), "(built-in)");
    ck_assert_str_eq(json_string_value(json_object_get(j, "abi")), "1.1");
    ck_assert_uint_eq(json_array_size(json_object_get(j, "outputs")), 1);
    json_decref(j);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_builtin_before_search_path)
{
    sw_loader *L = loader_with_test_dir();
    sw_loader_add_builtin(L, &builtin_noop);
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, "noop", NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_int_eq(p->builtin, 1);
    ck_assert_str_eq(p->desc.version, "9.9.9");

    /* The scan sees noop.so shadowed by the built-in. */
    sw_diags *d = sw_diags_new();
    sw_loader_scan(L, d);
    ck_assert(has_diag(d, SW_SEVERITY_WARNING, PDIR "/noop.so",
                       "plugin 'noop' in " PDIR "/noop.so is shadowed by (built-in)"));
    sw_diags_free(d);

    /* Loading the file by path collides with the built-in's name. */
    ck_assert_ptr_null(sw_loader_load_file(L, PDIR "/noop.so", &err));
    ck_assert_contains(err.msg, "duplicate plugin name 'noop': " PDIR "/noop.so and (built-in)");
    sw_loader_free(L);
}
END_TEST

START_TEST(test_no_dlclose_env)
{
    /* With SLIPWAY_NO_DLCLOSE the handles stay mapped; freeing still releases memory. */
    setenv("SLIPWAY_NO_DLCLOSE", "1", 1);
    sw_loader *L = loader_with_test_dir();
    sw_err err = {{0}};
    ck_assert_ptr_nonnull(sw_loader_find(L, "noop", NULL, &err));
    sw_loader_free(L);
    unsetenv("SLIPWAY_NO_DLCLOSE");
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_load_emit);
    tcase_add_test(tc, test_load_noop);
    tcase_add_test(tc, test_same_real_path_is_cached);
    tcase_add_test(tc, test_init_fail_and_old_minor_load);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_not_found_suggests);
    tcase_add_test(tc, test_not_elf);
    tcase_add_test(tc, test_no_entry);
    tcase_add_test(tc, test_abi_major);
    tcase_add_test(tc, test_desc_small);
    tcase_add_test(tc, test_wrong_name);
    tcase_add_test(tc, test_duplicate_name);
    tcase_add_test(tc, test_bad_param);
    tcase_add_loop_test(tc, test_descriptor_rules, 0, (int)(sizeof bad_cases / sizeof *bad_cases));
    tcase_add_test(tc, test_descriptor_valid_control);
    suite_add_tcase(s, tc);

    tc = tcase_create("search");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_search_order_and_shadowing);
    tcase_add_test(tc, test_first_hit_wins_even_when_broken);
    tcase_add_test(tc, test_dirs);
    tcase_add_test(tc, test_path_lookup);
    tcase_add_test(tc, test_scan);
    tcase_add_test(tc, test_scan_ignores_other_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("describe");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_describe);
    tcase_add_test(tc, test_describe_inputs);
    tcase_add_test(tc, test_builtin);
    tcase_add_test(tc, test_builtin_before_search_path);
    tcase_add_test(tc, test_no_dlclose_env);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
