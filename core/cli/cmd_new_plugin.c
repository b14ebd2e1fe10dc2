/*
 * cmd_new_plugin.c - `slipway new-plugin NAME [DIR]`: write a plugin project
 * from the template compiled into this binary (sdk/template/), with the
 * placeholders filled in:
 *   @NAME@             the plugin's name, as `uses:` writes it ("my-check")
 *   @IDENT@            the name as a C identifier ("my_check")
 *   @SLIPWAY_VERSION@  this Slipway's version
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "template_files.h"

static const char usage[] =
    "usage: slipway new-plugin NAME [DIR]\n"
    "\n"
    "Write a stage plugin project named NAME into DIR (default ./NAME): a CMake\n"
    "project built with find_package(Slipway), one stage with a parameter table,\n"
    "declared inputs and outputs, a Check test that runs it through the stage test\n"
    "harness, and a README. NAME is what a pipeline's `uses:` will say:\n"
    "[a-z][a-z0-9_-]*, at most 64 characters. DIR must not exist or be empty.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this help\n";

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || !(name[0] >= 'a' && name[0] <= 'z'))
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return 0;
    return 1;
}

/* text with every placeholder replaced; malloc'd. */
static char *fill(const char *text, size_t len, const char *name, const char *ident,
                  size_t *out_len)
{
    static const char *const keys[] = {"@NAME@", "@IDENT@", "@SLIPWAY_VERSION@"};
    const char *values[] = {name, ident, sw_version()};
    size_t cap = len + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    for (size_t i = 0; i < len;) {
        const char *with = NULL;
        size_t key_len = 0;
        for (size_t k = 0; k < sizeof keys / sizeof *keys && !with; k++) {
            key_len = strlen(keys[k]);
            if (len - i >= key_len && memcmp(text + i, keys[k], key_len) == 0)
                with = values[k];
        }
        size_t add = with ? strlen(with) : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            out = realloc(out, cap);
            if (!out)
                abort();
        }
        if (with) {
            memcpy(out + n, with, add);
            i += key_len;
        } else {
            out[n] = text[i++];
        }
        n += add;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int dir_is_empty_or_absent(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    int empty = 1;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

static int write_file(const char *path, const char *data, size_t len)
{
    /* "x": never overwrite a file that is already there. */
    FILE *f = fopen(path, "wx");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return w == len && rc == 0 ? 0 : -1;
}

int cmd_new_plugin(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(stdout, usage, 0);
        return cli_fail_usage("new-plugin", "bad option");
    }
    int rest = argc - optind;
    if (rest < 1 || rest > 2)
        return cli_fail_usage("new-plugin", "expected NAME [DIR]");
    const char *name = argv[optind];
    if (!valid_name(name))
        return cli_fail_usage("new-plugin",
                              "'%s' is not a plugin name: [a-z][a-z0-9_-]*, at most 64 characters",
                              name);
    const char *dir = rest == 2 ? argv[optind + 1] : name;
    if (!dir_is_empty_or_absent(dir)) {
        fprintf(stderr, "slipway new-plugin: '%s' exists and is not an empty folder\n", dir);
        return 2;
    }
    char *ident = strdup(name);
    if (!ident)
        abort();
    for (char *c = ident; *c; c++)
        if (*c == '-')
            *c = '_';

    int rc = 0;
    size_t written = 0;
    for (const cli_template_file *f = cli_template_files; f->path; f++) {
        size_t rel_len, len;
        char *rel = fill(f->path, strlen(f->path), name, ident, &rel_len);
        char *body = fill((const char *)f->data, f->size, name, ident, &len);
        size_t n = strlen(dir) + rel_len + 2;
        char *path = malloc(n);
        if (!path)
            abort();
        snprintf(path, n, "%s/%s", dir, rel);
        char *parent = strdup(path);
        if (!parent)
            abort();
        *strrchr(parent, '/') = '\0';
        if (make_dirs(parent) != 0 || write_file(path, body, len) != 0) {
            fprintf(stderr, "slipway new-plugin: cannot write '%s': %s\n", path, strerror(errno));
            rc = 1;
        } else {
            written++;
        }
        free(parent);
        free(path);
        free(body);
        free(rel);
        if (rc)
            break;
    }
    if (rc == 0) {
        printf("Created plugin '%s' in %s/ (%zu files).\n\n", name, dir, written);
        printf("Build it and run its tests against the installed SDK:\n"
               "  cmake -S %s -B %s/build\n"
               "  cmake --build %s/build\n"
               "  ctest --test-dir %s/build --output-on-failure\n\n"
               "Then use it in a pipeline:  uses: %s   (with --plugin-path %s/build)\n",
               dir, dir, dir, dir, name, dir);
    }
    free(ident);
    return rc;
}
