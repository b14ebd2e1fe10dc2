/*
 * check_trust.c - where plugins may be loaded from (plugin/trust.h) and plugin
 * pins: every refusal of a folder or file, the ways to allow them, and
 * sha256 pins in the loader and in the pipeline file.
 *
 * The rule itself is tested on crafted stat results, so each refusal is tested
 * whatever user runs the suite; the same refusals are then shown end to end on
 * real folders (those needing another owner only when running as root, since
 * only root can give a file away). Temporary folders live under one mkdtemp()
 * directory per test, removed at its end.
 */
#include <check.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "model/pipeline.h"
#include "plugin/loader.h"
#include "plugin/trust.h"

#ifndef SW_TEST_PLUGIN_DIR
#error "SW_TEST_PLUGIN_DIR must name the folder of the built test plugins"
#endif
#define PDIR SW_TEST_PLUGIN_DIR

#define ck_assert_contains(hay, needle)                                                            \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), (hay))

/* ---- a host table: nothing is called at load time ---- */

static void h_log(sw_stage *s, sw_log_level l, const char *fmt, ...)
{
}
static sw_status h_error(sw_stage *s, const char *fmt, ...)
{
    return SW_ERROR;
}
static const char *h_text(sw_stage *s)
{
    return "";
}
static const sw_host host = {SW_ABI_INIT(sw_host), .host_version = "test", .log = h_log,
                             .error = h_error,     .fail = h_error,        .last_error = h_text,
                             .stage_id = h_text,   .run_id = h_text,       .artifacts_dir = h_text,
                             .state_dir = h_text};

/* ---- temporary folders ---- */

static char tmp_root[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void tmp_setup(void)
{
    unsetenv("SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH");
    strcpy(tmp_root, "/tmp/check_trust.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void tmp_teardown(void)
{
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH");
}

/* tmp_root/rel as a folder with exactly this mode. Caller frees. */
static char *make_dir(const char *rel, mode_t mode)
{
    char *p = sw_xasprintf("%s/%s", tmp_root, rel);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    ck_assert_int_eq(chmod(p, mode), 0);
    return p;
}

/* Copy a test plugin into dir (mode 0755 unless changed later). Caller frees. */
static char *copy_plugin(const char *name, const char *dir)
{
    char *from = sw_xasprintf("%s/%s.so", PDIR, name);
    char *to = sw_xasprintf("%s/%s.so", dir, name);
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
    ck_assert_int_eq(chmod(to, 0755), 0);
    free(from);
    return to;
}

static void file_digest(const char *path, char hex[SW_SHA256_HEX_LEN + 1])
{
    size_t len;
    sw_err err = {{0}};
    char *data = sw_read_file(path, 0, &len, &err);
    ck_assert_msg(data != NULL, "%s", err.msg);
    sw_sha256_hex(data, len, hex);
    free(data);
}

/* Find uses in a loader searching dir (NULL: none); expect failure with want in the message. */
static void expect_refused(sw_loader *L, const char *uses, const char *want)
{
    sw_err err = {{0}};
    ck_assert_msg(sw_loader_find(L, uses, tmp_root, &err) == NULL, "'%s' loaded", uses);
    ck_assert_contains(err.msg, want);
}

static const sw_plugin *expect_loads(sw_loader *L, const char *uses)
{
    sw_err err = {{0}};
    const sw_plugin *p = sw_loader_find(L, uses, tmp_root, &err);
    ck_assert_msg(p != NULL, "'%s' refused: %s", uses, err.msg);
    return p;
}

/* ---- the rule, on crafted stat results ---- */

#define ME    1000
#define MYGRP 1000
#define OTHER 2000

static struct stat st_of(mode_t type, mode_t perm, uid_t uid, gid_t gid)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = type | perm;
    st.st_uid = uid;
    st.st_gid = gid;
    return st;
}

static int judge(mode_t type, mode_t perm, uid_t uid, gid_t gid, sw_trust_kind kind, gid_t ogid,
                 sw_err *err)
{
    struct stat st = st_of(type, perm, uid, gid);
    return sw_trust_check_stat(&st, kind, "/p", ME, ogid, err);
}

START_TEST(test_rule_accepts)
{
    sw_err err = {{0}};
    /* Mine or root's, written by the owner only, or by the owner's own group. */
    ck_assert_int_eq(judge(S_IFDIR, 0755, ME, MYGRP, SW_TRUST_FOLDER, MYGRP, &err), 0);
    ck_assert_int_eq(judge(S_IFDIR, 0775, ME, MYGRP, SW_TRUST_FOLDER, MYGRP, &err), 0);
    ck_assert_int_eq(judge(S_IFDIR, 0755, 0, 0, SW_TRUST_FOLDER, 0, &err), 0);
    ck_assert_int_eq(judge(S_IFREG, 0644, ME, MYGRP, SW_TRUST_FILE, MYGRP, &err), 0);
    ck_assert_int_eq(judge(S_IFREG, 0555, 0, 0, SW_TRUST_FILE, 0, &err), 0);
    /* Above the plugin folder, a shared folder with the sticky bit (/tmp) is fine. */
    ck_assert_int_eq(judge(S_IFDIR, 01777, 0, 0, SW_TRUST_ANCESTOR, 0, &err), 0);
}
END_TEST

START_TEST(test_rule_world_writable)
{
    sw_err err = {{0}};
    ck_assert_int_eq(judge(S_IFDIR, 0777, ME, MYGRP, SW_TRUST_FOLDER, MYGRP, &err), -1);
    ck_assert_str_eq(err.msg, "folder '/p' is writable by everyone (mode 0777)");
    /* The plugin folder itself: sticky or not, anyone could add a plugin to it. */
    ck_assert_int_eq(judge(S_IFDIR, 01777, 0, 0, SW_TRUST_FOLDER, 0, &err), -1);
    ck_assert_str_eq(err.msg, "folder '/p' is writable by everyone (mode 1777)");
    ck_assert_int_eq(judge(S_IFDIR, 0757, 0, 0, SW_TRUST_ANCESTOR, 0, &err), -1);
    ck_assert_str_eq(err.msg,
                     "folder '/p' (above the plugin folder) is writable by everyone (mode 0757)");
    ck_assert_int_eq(judge(S_IFREG, 0666, ME, MYGRP, SW_TRUST_FILE, MYGRP, &err), -1);
    ck_assert_str_eq(err.msg, "file '/p' is writable by everyone (mode 0666)");
}
END_TEST

START_TEST(test_rule_group_writable)
{
    sw_err err = {{0}};
    ck_assert_int_eq(judge(S_IFDIR, 0775, ME, OTHER, SW_TRUST_FOLDER, MYGRP, &err), -1);
    ck_assert_contains(err.msg, "folder '/p' is writable by ");
    ck_assert_contains(err.msg, "which is not its owner's own group (mode 0775)");
    ck_assert_int_eq(judge(S_IFREG, 0664, ME, OTHER, SW_TRUST_FILE, MYGRP, &err), -1);
    ck_assert_contains(err.msg, "file '/p' is writable by ");
    /* An owner without an account has no group of its own to trust. */
    ck_assert_int_eq(judge(S_IFDIR, 0775, ME, MYGRP, SW_TRUST_FOLDER, (gid_t)-1, &err), -1);
    /* Group-readable is not group-writable. */
    ck_assert_int_eq(judge(S_IFDIR, 0755, ME, OTHER, SW_TRUST_FOLDER, MYGRP, &err), 0);
}
END_TEST

START_TEST(test_rule_owner)
{
    sw_err err = {{0}};
    ck_assert_int_eq(judge(S_IFDIR, 0755, OTHER, MYGRP, SW_TRUST_FOLDER, MYGRP, &err), -1);
    ck_assert_contains(err.msg, "folder '/p' is owned by ");
    ck_assert_contains(err.msg, ", neither root nor the current user");
    ck_assert_int_eq(judge(S_IFREG, 0755, OTHER, MYGRP, SW_TRUST_FILE, MYGRP, &err), -1);
    ck_assert_contains(err.msg, "file '/p' is owned by ");
    ck_assert_int_eq(judge(S_IFDIR, 0755, OTHER, MYGRP, SW_TRUST_ANCESTOR, MYGRP, &err), -1);
    ck_assert_contains(err.msg, "(above the plugin folder) is owned by ");
}
END_TEST

START_TEST(test_rule_kinds)
{
    sw_err err = {{0}};
    ck_assert_int_eq(judge(S_IFDIR, 0755, ME, MYGRP, SW_TRUST_FILE, MYGRP, &err), -1);
    ck_assert_str_eq(err.msg, "'/p' is not a regular file");
    ck_assert_int_eq(judge(S_IFREG, 0755, ME, MYGRP, SW_TRUST_FOLDER, MYGRP, &err), -1);
    ck_assert_str_eq(err.msg, "'/p' is not a folder");
}
END_TEST

/* ---- refusals on real folders ---- */

START_TEST(test_trusted_folder_loads)
{
    tmp_setup();
    char *dir = make_dir("ok", 0755);
    char *so = copy_plugin("noop", dir);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    ck_assert_str_eq(expect_loads(L, "noop")->name, "noop");
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_world_writable_folder)
{
    tmp_setup();
    char *dir = make_dir("ww", 0777);
    char *so = copy_plugin("noop", dir);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    char *want = sw_xasprintf("refusing to load plugin '%s': folder '%s' is writable by everyone "
                              "(mode 0777); allow it with SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH=1 "
                              "or, in the pipeline, plugins: {allow_insecure_path: true}",
                              so, dir);
    expect_refused(L, "noop", want);
    free(want);
    /* The same file by path, and a symlink in a trusted folder leading into it. */
    expect_refused(L, so, "is writable by everyone (mode 0777)");
    char *okdir = make_dir("ok", 0755);
    char *link = sw_xasprintf("%s/noop.so", okdir);
    ck_assert_int_eq(symlink(so, link), 0);
    expect_refused(L, link, "is writable by everyone (mode 0777)");
    /* Sticky does not help the folder the plugin is in. */
    ck_assert_int_eq(chmod(dir, 01777), 0);
    expect_refused(L, "noop", "is writable by everyone (mode 1777)");
    ck_assert_uint_eq(sw_loader_count(L), 0);
    sw_loader_free(L);
    free(link);
    free(okdir);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_world_writable_file)
{
    tmp_setup();
    char *dir = make_dir("ok", 0755);
    char *so = copy_plugin("noop", dir);
    ck_assert_int_eq(chmod(so, 0757), 0);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    char *want = sw_xasprintf("file '%s' is writable by everyone (mode 0757)", so);
    expect_refused(L, "noop", want);
    free(want);
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_ancestor_writable)
{
    tmp_setup();
    char *top = make_dir("top", 0777); /* no sticky bit: plugins/ could be renamed away */
    char *dir = make_dir("top/plugins", 0755);
    char *so = copy_plugin("noop", dir);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    char *want = sw_xasprintf("folder '%s' (above the plugin folder) is writable by everyone", top);
    expect_refused(L, "noop", want);
    free(want);
    /* With the sticky bit (as /tmp has) nobody can rename another's folder: fine. */
    ck_assert_int_eq(chmod(top, 01777), 0);
    expect_loads(L, "noop");
    sw_loader_free(L);
    free(so);
    free(dir);
    free(top);
    tmp_teardown();
}
END_TEST

/* A group the current user may give files to that is not the user's primary one. */
static int other_group(gid_t *out)
{
    if (geteuid() == 0) {
        *out = getegid() == 1 ? 2 : 1;
        return 1;
    }
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] != getegid()) {
            *out = groups[i];
            return 1;
        }
    return 0;
}

START_TEST(test_group_writable_folder)
{
    gid_t g;
    if (!other_group(&g))
        return; /* no such group: test_rule_group_writable covers the rule */
    tmp_setup();
    char *dir = make_dir("grp", 0755);
    char *so = copy_plugin("noop", dir);
    ck_assert_int_eq(chown(dir, (uid_t)-1, g), 0);
    ck_assert_int_eq(chmod(dir, 0775), 0);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    expect_refused(L, "noop", "which is not its owner's own group (mode 0775)");
    /* Group-writable by the owner's own group is fine. */
    ck_assert_int_eq(chown(dir, (uid_t)-1, getegid()), 0);
    expect_loads(L, "noop");
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_other_owner)
{
    if (geteuid() != 0)
        return; /* only root can give a file away; test_rule_owner covers the rule */
    tmp_setup();
    char *dir = make_dir("theirs", 0755);
    char *so = copy_plugin("noop", dir);
    ck_assert_int_eq(chown(so, 65534, 65534), 0);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    char *want = sw_xasprintf("file '%s' is owned by ", so);
    expect_refused(L, "noop", want);
    expect_refused(L, "noop", ", neither root nor the current user");
    free(want);
    ck_assert_int_eq(chown(so, 0, 0), 0);
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    want = sw_xasprintf("folder '%s' is owned by ", dir);
    expect_refused(L, "noop", want);
    free(want);
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_relative_folder)
{
    tmp_setup();
    char *dir = make_dir("rel", 0755);
    char *so = copy_plugin("noop", dir);
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmp_root), 0);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, "rel");
    expect_refused(L, "noop",
                   "plugin folder 'rel' is a relative path: what it names would depend on the "
                   "current folder");
    /* Allowed, it means the folder under the current one. */
    sw_loader_allow_insecure(L, 1);
    expect_loads(L, "noop");
    sw_loader_free(L);
    ck_assert_int_eq(chdir(cwd), 0);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_scan_refuses_folder)
{
    tmp_setup();
    char *dir = make_dir("ww", 0777);
    char *so = copy_plugin("noop", dir);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    sw_diags *d = sw_diags_new();
    ck_assert_uint_eq(sw_loader_scan(L, d), 0);
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    ck_assert_contains(sw_diags_at(d, 0)->message, "refusing to load plugins from '");
    ck_assert_contains(sw_diags_at(d, 0)->message, "is writable by everyone (mode 0777)");
    ck_assert_uint_eq(sw_loader_count(L), 0);
    sw_diags_free(d);
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_allowed_by_env_and_call)
{
    tmp_setup();
    char *dir = make_dir("ww", 0777);
    char *so = copy_plugin("noop", dir);
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    setenv("SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH", "0", 1); /* only "1" allows */
    expect_refused(L, "noop", "is writable by everyone");
    setenv("SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH", "1", 1);
    expect_loads(L, "noop");
    sw_loader_free(L);
    unsetenv("SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH");
    L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    sw_loader_allow_insecure(L, 1);
    expect_loads(L, "noop");
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

/* ---- pins in the loader ---- */

START_TEST(test_pin_good)
{
    tmp_setup();
    char *dir = make_dir("ok", 0755);
    char *so = copy_plugin("noop", dir);
    char hex[SW_SHA256_HEX_LEN + 1];
    file_digest(so, hex);
    for (char *c = hex; *c; c++) /* digests compare without regard to case */
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_loader_pin(L, "noop", hex, &err), 0);
    const sw_plugin *p = expect_loads(L, "noop");
    ck_assert_str_eq(p->name, "noop");
    ck_assert_str_eq(p->path, so);
    ck_assert_ptr_nonnull(p->desc.run);
    /* Found again: the same plugin, not loaded twice. */
    ck_assert_ptr_eq(expect_loads(L, "noop"), p);
    ck_assert_uint_eq(sw_loader_count(L), 1);
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_pin_bad)
{
    tmp_setup();
    char *dir = make_dir("ok", 0755);
    char *so = copy_plugin("noop", dir);
    char hex[SW_SHA256_HEX_LEN + 1];
    file_digest(so, hex);
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    sw_loader *L = sw_loader_new(&host);
    sw_loader_add_dir(L, dir);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_loader_pin(L, "noop", wrong, &err), 0);
    char *want = sw_xasprintf("plugin 'noop' (%s) does not match its pin: the file's SHA-256 is "
                              "%s, the pipeline pins %s",
                              so, hex, wrong);
    expect_refused(L, "noop", want);
    free(want);
    ck_assert_uint_eq(sw_loader_count(L), 0);
    /* A pin applies to a path by its file name too, and with insecure paths allowed. */
    sw_loader_allow_insecure(L, 1);
    expect_refused(L, so, "does not match its pin");
    /* A changed file no longer matches a pin taken before the change. */
    ck_assert_int_eq(sw_loader_pin(L, "noop", hex, &err), 0);
    FILE *f = fopen(so, "ab");
    ck_assert_ptr_nonnull(f);
    fputs("appended", f);
    fclose(f);
    expect_refused(L, "noop", "does not match its pin");
    sw_loader_free(L);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

START_TEST(test_pin_malformed)
{
    sw_loader *L = sw_loader_new(&host);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_loader_pin(L, "noop", "abc", &err), -1);
    ck_assert_str_eq(err.msg, "pin for plugin 'noop': expected 64 hexadecimal digits, got 'abc'");
    ck_assert_int_eq(
        sw_loader_pin(L, "noop", "g000000000000000000000000000000000000000000000000000000000000000",
                      &err),
        -1);
    ck_assert_int_eq(sw_loader_pin(L, "", "0", &err), -1);
    sw_loader_free(L);
}
END_TEST

START_TEST(test_pin_already_loaded_unpinned)
{
    /* The same file loaded by path before a pin named it: refused, not trusted. */
    tmp_setup();
    char *dir = make_dir("ok", 0755);
    char *so = copy_plugin("noop", dir);
    char *link = sw_xasprintf("%s/other.so", dir);
    ck_assert_int_eq(symlink(so, link), 0);
    char hex[SW_SHA256_HEX_LEN + 1];
    file_digest(so, hex);
    sw_loader *L = sw_loader_new(&host);
    expect_loads(L, link);
    sw_err err = {{0}};
    ck_assert_int_eq(sw_loader_pin(L, "noop", hex, &err), 0);
    expect_refused(L, so, "was already loaded without a pin");
    sw_loader_free(L);
    free(link);
    free(so);
    free(dir);
    tmp_teardown();
}
END_TEST

/* Pinned plugins are known to the dynamic linker as /proc/self/fd/N. While any
   loader still holds the object, N must stay open: were it reused for another
   pinned plugin, dlopen would match the old name and hand back the old plugin. */
START_TEST(test_pin_descriptor_names_never_reused_early)
{
    tmp_setup();
    char *dir = make_dir("ok", 0755);
    char *noop = copy_plugin("noop", dir);
    char *emit = copy_plugin("emit", dir);
    char hn[SW_SHA256_HEX_LEN + 1], he[SW_SHA256_HEX_LEN + 1];
    file_digest(noop, hn);
    file_digest(emit, he);
    sw_err err = {{0}};
    sw_loader *a = sw_loader_new(&host), *b = sw_loader_new(&host);
    sw_loader_add_dir(a, dir);
    sw_loader_add_dir(b, dir);
    ck_assert_int_eq(sw_loader_pin(a, "noop", hn, &err), 0);
    ck_assert_int_eq(sw_loader_pin(b, "noop", hn, &err), 0);
    ck_assert_str_eq(expect_loads(a, "noop")->name, "noop");
    ck_assert_str_eq(expect_loads(b, "noop")->name, "noop");
    /* a lets go first while b still holds the same object. */
    sw_loader_free(a);
    for (int i = 0; i < 3; i++) {
        sw_loader *c = sw_loader_new(&host);
        sw_loader_add_dir(c, dir);
        ck_assert_int_eq(sw_loader_pin(c, "emit", he, &err), 0);
        const sw_plugin *p = expect_loads(c, "emit");
        ck_assert_str_eq(p->name, "emit");
        ck_assert_ptr_nonnull(p->desc.params);
        sw_loader_free(c);
    }
    sw_loader_free(b);
    free(emit);
    free(noop);
    free(dir);
    tmp_teardown();
}
END_TEST

/* ---- the pipeline's plugins: key ---- */

static sw_pipeline *parse(const char *text, sw_diags *d)
{
    return sw_pipeline_parse_string(text, strlen(text), "p.yaml", "/tmp", d);
}

static const char *const pins_head = "version: 1\n"
                                     "name: pins\n"
                                     "plugins:\n"
                                     "  allow_insecure_path: true\n"
                                     "  pins:\n";

START_TEST(test_pipeline_pins)
{
    char *text =
        sw_xasprintf("%s"
                     "    emit: \"sha256:%s\"\n"
                     "    probe: sha256:%s\n"
                     "stages:\n"
                     "  - {id: a, uses: emit}\n"
                     "  - {id: b, uses: ./lib/probe.so}\n",
                     pins_head, "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
                     "0000000000000000000000000000000000000000000000000000000000000000");
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(text, d);
    ck_assert_msg(p != NULL, "%s", sw_diags_count(d) ? sw_diags_at(d, 0)->message : "");
    ck_assert_int_eq(p->allow_insecure_plugin_path, 1);
    ck_assert_uint_eq(p->n_plugin_pins, 2);
    ck_assert_str_eq(p->plugin_pins[0].name, "emit");
    ck_assert_str_eq(p->plugin_pins[0].sha256,
                     "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    ck_assert_int_eq(p->plugin_pins[0].pos.line, 6);
    ck_assert_int_eq(p->plugin_pins[0].pos.col, 5);
    ck_assert_str_eq(p->plugin_pins[1].name, "probe");
    sw_pipeline_destroy(p);
    sw_diags_free(d);
    free(text);
}
END_TEST

static void expect_parse_error(const char *text, const char *want)
{
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(text, d);
    ck_assert_msg(p == NULL, "parsed: %s", text);
    int found = 0;
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *line = sw_diags_format(d, i);
        found |= strstr(line, want) != NULL;
        if (!found && i + 1 == sw_diags_count(d))
            ck_abort_msg("expected \"%s\", last diagnostic \"%s\"", want, line);
        free(line);
    }
    ck_assert_msg(found, "no diagnostic at all, expected \"%s\"", want);
    sw_diags_free(d);
}

START_TEST(test_pipeline_pin_errors)
{
    const char *digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    /* A pin nothing uses: an error at the pin's key, with a hint. */
    char *text =
        sw_xasprintf("%s    emitt: %s\nstages:\n  - {id: a, uses: emit}\n", pins_head, digest);
    expect_parse_error(text,
                       "p.yaml:6:5: error: plugins: pins: no stage uses plugin 'emitt' (did you "
                       "mean 'emit'?)");
    free(text);
    text = sw_xasprintf("%s    zzz: %s\nstages:\n  - {id: a, uses: emit}\n", pins_head, digest);
    expect_parse_error(text, "p.yaml:6:5: error: plugins: pins: no stage uses plugin 'zzz'");
    free(text);
    /* An on_failure stage's plugin counts. */
    text = sw_xasprintf("%s    noop: %s\nstages:\n  - {id: a, uses: emit}\n"
                        "on_failure:\n  - {id: r, uses: noop}\n",
                        pins_head, digest);
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(text, d);
    ck_assert_ptr_nonnull(p);
    sw_pipeline_destroy(p);
    sw_diags_free(d);
    free(text);
    /* Malformed digests, at the value. */
    text = sw_xasprintf("%s    emit: md5:abc\nstages:\n  - {id: a, uses: emit}\n", pins_head);
    expect_parse_error(text, "p.yaml:6:11: error: plugins: pins: 'emit' must be \"sha256:\" and "
                             "64 hexadecimal digits, found 'md5:abc'");
    free(text);
    text = sw_xasprintf("%s    emit: sha256:00\nstages:\n  - {id: a, uses: emit}\n", pins_head);
    expect_parse_error(text, "must be \"sha256:\" and 64 hexadecimal digits, found 'sha256:00'");
    free(text);
    text = sw_xasprintf("%s    emit: [1]\nstages:\n  - {id: a, uses: emit}\n", pins_head);
    expect_parse_error(text, "found a sequence");
    free(text);
    /* The built-in lua stage has no file. */
    text = sw_xasprintf("%s    lua: %s\nstages:\n  - {id: a, uses: lua}\n", pins_head, digest);
    expect_parse_error(text, "p.yaml:6:5: error: plugins: pins: 'lua' is built into Slipway");
    free(text);
    /* pins must be a mapping; allow_insecure_path a boolean. */
    expect_parse_error("version: 1\nname: x\nplugins: {pins: [a]}\nstages: [{id: a, uses: b}]\n",
                       "p.yaml:3:17: error: plugins: 'pins' must map plugin names to");
    expect_parse_error("version: 1\nname: x\nplugins: {allow_insecure_path: yes}\n"
                       "stages: [{id: a, uses: b}]\n",
                       "p.yaml:3:32: error: plugins: 'allow_insecure_path' must be true or "
                       "false, found 'yes'");
}
END_TEST

static Suite *trust_suite(void)
{
    Suite *s = suite_create("trust");
    TCase *tc = tcase_create("rule");
    tcase_add_test(tc, test_rule_accepts);
    tcase_add_test(tc, test_rule_world_writable);
    tcase_add_test(tc, test_rule_group_writable);
    tcase_add_test(tc, test_rule_owner);
    tcase_add_test(tc, test_rule_kinds);
    suite_add_tcase(s, tc);

    tc = tcase_create("folders");
    tcase_add_test(tc, test_trusted_folder_loads);
    tcase_add_test(tc, test_world_writable_folder);
    tcase_add_test(tc, test_world_writable_file);
    tcase_add_test(tc, test_ancestor_writable);
    tcase_add_test(tc, test_group_writable_folder);
    tcase_add_test(tc, test_other_owner);
    tcase_add_test(tc, test_relative_folder);
    tcase_add_test(tc, test_scan_refuses_folder);
    tcase_add_test(tc, test_allowed_by_env_and_call);
    suite_add_tcase(s, tc);

    tc = tcase_create("pins");
    tcase_add_test(tc, test_pin_good);
    tcase_add_test(tc, test_pin_bad);
    tcase_add_test(tc, test_pin_malformed);
    tcase_add_test(tc, test_pin_already_loaded_unpinned);
    tcase_add_test(tc, test_pin_descriptor_names_never_reused_early);
    tcase_add_test(tc, test_pipeline_pins);
    tcase_add_test(tc, test_pipeline_pin_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trust_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
