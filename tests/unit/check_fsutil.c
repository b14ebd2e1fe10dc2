/* check_fsutil.c - folders, atomic writes and their failure paths, whole-file reads, paths. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"

static char tmpdir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    strcpy(tmpdir, "/tmp/check_fsutil.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path under the test's temp folder; the caller frees it. */
static char *tpath(const char *rel)
{
    return sw_path_join(tmpdir, rel);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    sw_err err = {{0}};
    char *s = sw_read_file(path, 0, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

/* Entries of the temp folder, to prove no temporary file is left behind. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(test_mkdir_p)
{
    sw_err err = {{0}};
    char want[512];
    char *deep = tpath("a/b/c");
    ck_assert_int_eq(sw_mkdir_p(deep, 0755, &err), 0);
    ck_assert(sw_is_dir(deep));
    ck_assert_int_eq(sw_mkdir_p(deep, 0755, &err), 0); /* existing is fine */

    char *doubled = tpath("x//y///z/");
    ck_assert_int_eq(sw_mkdir_p(doubled, 0755, &err), 0);
    char *z = tpath("x/y/z");
    ck_assert(sw_is_dir(z));

    /* Relative paths work from the current folder. */
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(sw_mkdir_p("rel/one/", 0755, &err), 0);
    ck_assert(sw_is_dir("rel/one"));
    ck_assert_int_eq(chdir(cwd), 0);

    char *file = tpath("file");
    put(file, "x");
    ck_assert_int_eq(sw_mkdir_p(file, 0755, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "exists and is not a directory"));
    ck_assert_ptr_nonnull(strstr(err.msg, file));
    char *under = tpath("file/sub/dir");
    ck_assert_int_eq(sw_mkdir_p(under, 0755, &err), -1);
    snprintf(want, sizeof want, "mkdir '%s': exists and is not a directory", file);
    ck_assert_str_eq(err.msg, want);
    /* A failure other than EEXIST carries the system's reason. */
    char *longname = malloc(400);
    memset(longname, 'n', 399);
    longname[399] = '\0';
    char *toolong = tpath(longname);
    ck_assert_int_eq(sw_mkdir_p(toolong, 0755, &err), -1);
    snprintf(want, sizeof want, "mkdir '%s': File name too long", toolong);
    ck_assert_str_eq(err.msg, want);
    free(longname);
    free(toolong);
    ck_assert_int_eq(sw_mkdir_p("", 0755, &err), -1);
    ck_assert_int_eq(sw_mkdir_p("/", 0755, &err), 0);
    free(deep);
    free(doubled);
    free(z);
    free(file);
    free(under);
}
END_TEST

START_TEST(test_write_atomic)
{
    sw_err err = {{0}};
    char *p = tpath("out.json");
    ck_assert_int_eq(sw_write_file_atomic(p, "first", 5, &err), 0);
    char *s = slurp(p);
    ck_assert_str_eq(s, "first");
    free(s);
    ck_assert_int_eq(sw_write_file_atomic(p, "second, longer", 14, &err), 0);
    s = slurp(p);
    ck_assert_str_eq(s, "second, longer");
    free(s);
    ck_assert_int_eq(sw_write_file_atomic(p, "", 0, &err), 0);
    size_t len = 99;
    s = sw_read_file(p, 0, &len, &err);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(s, "");
    free(s);

    /* A large write, bytes of every value. */
    size_t n = 3 * 1024 * 1024 + 17;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 31 + 7);
    ck_assert_int_eq(sw_write_file_atomic(p, big, n, &err), 0);
    s = sw_read_file(p, 0, &len, &err);
    ck_assert_uint_eq(len, n);
    ck_assert(memcmp(s, big, n) == 0);
    free(s);
    free(big);

    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0600, 0600);
    ck_assert_int_eq(count_entries(tmpdir), 1);
    free(p);
}
END_TEST

START_TEST(test_write_atomic_failures)
{
    sw_err err = {{0}};
    /* The parent is a regular file: nothing can be created (root or not). */
    char *file = tpath("plain");
    put(file, "old content");
    char *bad = tpath("plain/out.json");
    ck_assert_int_eq(sw_write_file_atomic(bad, "x", 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, bad));
    ck_assert_ptr_nonnull(strstr(err.msg, "Not a directory"));
    char *s = slurp(file);
    ck_assert_str_eq(s, "old content");
    free(s);

    /* The target is a folder: rename fails after the temp file was written. */
    char *dir = tpath("adir");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(sw_write_file_atomic(dir, "x", 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "rename"));
    ck_assert_ptr_nonnull(strstr(err.msg, dir));
    ck_assert(sw_is_dir(dir));
    ck_assert_int_eq(count_entries(tmpdir), 2); /* "plain" and "adir", no temp file */

    /* The write itself fails (file size limit): the old file survives untouched. */
    struct rlimit old_limit, small;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    small = old_limit;
    small.rlim_cur = 4096;
    char data[8192];
    memset(data, 'n', sizeof data);
    /* No assertion while the limit holds: every passing ck_assert writes a record, with
     * this file's path, to Check's own message file, which the limit would cut short
     * once the path is long (a deep checkout) and the file is over 4 KiB. */
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    int limited = setrlimit(RLIMIT_FSIZE, &small);
    int rc = sw_write_file_atomic(file, data, sizeof data, &err);
    int restored = setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(limited, 0);
    ck_assert_int_eq(restored, 0);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "write"));
    ck_assert_ptr_nonnull(strstr(err.msg, "File too large"));
    s = slurp(file);
    ck_assert_str_eq(s, "old content");
    free(s);
    ck_assert_int_eq(count_entries(tmpdir), 2);

    free(file);
    free(bad);
    free(dir);
}
END_TEST

START_TEST(test_read_file)
{
    sw_err err = {{0}};
    char *p = tpath("ten");
    put(p, "0123456789");
    size_t len = 0;
    char *s = sw_read_file(p, 10, &len, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(s, "0123456789");
    free(s);

    ck_assert_ptr_null(sw_read_file(p, 4, &len, &err));
    char want[512];
    snprintf(want, sizeof want, "%s: file is 10 bytes, over the limit of 4", p);
    ck_assert_str_eq(err.msg, want);

    char *missing = tpath("missing");
    ck_assert_ptr_null(sw_read_file(missing, 0, NULL, &err));
    snprintf(want, sizeof want, "%s: No such file or directory", missing);
    ck_assert_str_eq(err.msg, want);

    ck_assert_ptr_null(sw_read_file(tmpdir, 0, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "is a directory"));

    /* Files whose size stat does not know (procfs) are read to the end, and capped. */
    s = sw_read_file("/proc/self/status", 0, &len, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert(len > 0 && strlen(s) == len);
    ck_assert_ptr_nonnull(strstr(s, "Name:"));
    free(s);
    ck_assert_ptr_null(sw_read_file("/proc/self/status", 8, &len, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "over the limit of 8 bytes"));
    free(p);
    free(missing);
}
END_TEST

START_TEST(test_exists_and_fsync_dir)
{
    sw_err err = {{0}};
    char *p = tpath("f");
    ck_assert(!sw_file_exists(p));
    put(p, "");
    ck_assert(sw_file_exists(p));
    ck_assert(!sw_is_dir(p));
    ck_assert(sw_is_dir(tmpdir));
    ck_assert(sw_file_exists(tmpdir));
    ck_assert(!sw_file_exists(NULL));
    ck_assert_int_eq(sw_fsync_dir(tmpdir, &err), 0);
    char *missing = tpath("nope");
    ck_assert_int_eq(sw_fsync_dir(missing, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    free(p);
    free(missing);
}
END_TEST

static void check_str(char *got, const char *want)
{
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_paths)
{
    check_str(sw_path_join("a", "b"), "a/b");
    check_str(sw_path_join("a/", "b"), "a/b");
    check_str(sw_path_join("a//", "/b"), "a/b");
    check_str(sw_path_join("/", "b"), "/b");
    check_str(sw_path_join("", "b"), "b");
    check_str(sw_path_join("a", ""), "a");
    check_str(sw_path_join("/x/y", "c/d.txt"), "/x/y/c/d.txt");

    check_str(sw_path_dirname("a/b"), "a");
    check_str(sw_path_dirname("a/b/"), "a");
    check_str(sw_path_dirname("a"), ".");
    check_str(sw_path_dirname(""), ".");
    check_str(sw_path_dirname("/a"), "/");
    check_str(sw_path_dirname("/"), "/");
    check_str(sw_path_dirname("//a//b//"), "//a");
    check_str(sw_path_dirname("/x/y/z.yaml"), "/x/y");

    ck_assert_str_eq(sw_path_basename("a/b.c"), "b.c");
    ck_assert_str_eq(sw_path_basename("b.c"), "b.c");
    ck_assert_str_eq(sw_path_basename("/"), "");
    ck_assert_str_eq(sw_path_basename("a/"), "");

    check_str(sw_path_resolve("/base", "rel/x"), "/base/rel/x");
    check_str(sw_path_resolve("/base", "/abs/x"), "/abs/x");
    check_str(sw_path_resolve("pipelines", "../agents"), "pipelines/../agents");
    check_str(sw_path_resolve(NULL, "x"), "x");
    check_str(sw_path_resolve("", "x"), "x");
}
END_TEST

START_TEST(test_path_real)
{
    sw_err err = {{0}};
    char *sub = tpath("sub");
    ck_assert_int_eq(sw_mkdir_p(sub, 0755, &err), 0);
    char *link = tpath("link");
    ck_assert_int_eq(symlink("sub", link), 0);
    char *via = tpath("link/../sub/.");
    char *real_tmp = realpath(tmpdir, NULL);
    char *want = sw_path_join(real_tmp, "sub");
    check_str(sw_path_real(via, &err), want);
    char *missing = tpath("missing/x");
    ck_assert_ptr_null(sw_path_real(missing, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
    ck_assert_ptr_null(sw_path_real("", &err));
    free(sub);
    free(link);
    free(via);
    free(real_tmp);
    free(want);
    free(missing);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fsutil");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mkdir_p);
    tcase_add_test(tc, test_write_atomic);
    tcase_add_test(tc, test_write_atomic_failures);
    tcase_add_test(tc, test_read_file);
    tcase_add_test(tc, test_exists_and_fsync_dir);
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_path_real);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
