/* bench_store.c - release create and read latency of one release store, per operation,
   through the library (no process start in the figures).

   Creates N releases of the bundle in BUNDLE_DIR (a copy the program may change: each
   release appends one line to prompts/system.md, so each is new content), then opens the
   store again on the empty cache folder FRESH_CACHE ($SLIPWAY_STORE_CACHE, which only a
   database store uses) and reads every release back:
     - create:   sw_store_create_release of a new release (validate, manifest, store, diff
                 against stable);
     - manifest: sw_store_manifest;
     - dir_cold: sw_store_release_dir the first time (a database store fetches the files
                 into its cache; a folder store has the folder already);
     - dir_warm: sw_store_release_dir again.
   and opens the store N/4 times (open: connecting and checking the schema, for a database;
   what every CLI process pays once).
   Prints one line per operation: "op=NAME n=N p50_us=.. p99_us=.. mean_us=..".
     bench_store LOCATION BUNDLE_DIR N FRESH_CACHE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/util.h"
#include "slipway/store.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static double pct(const double *sorted, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    return sorted[(k > n ? n : k) - 1];
}

static void report(const char *op, double *ms, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ms[i];
    qsort(ms, n, sizeof *ms, cmp_double);
    printf("op=%s n=%zu p50_us=%.0f p99_us=%.0f mean_us=%.0f\n", op, n, pct(ms, n, 50) * 1000,
           pct(ms, n, 99) * 1000, sum / (double)n * 1000);
}

static sw_store *open_or_die(const char *location)
{
    sw_store_error se = {0};
    sw_store *s = sw_store_open(location, &se);
    if (!s) {
        fprintf(stderr, "bench_store: %s: %s\n", location, se.message);
        exit(1);
    }
    return s;
}

static void die_status(const char *what, size_t i, const sw_store_error *se)
{
    fprintf(stderr, "bench_store: %s of release %zu: %s\n", what, i, se->message);
    exit(1);
}

/* The id from sw_store_create_release's result (malloc'd), or NULL. */
static char *result_id(const char *result)
{
    json_t *r = json_loads(result, 0, NULL);
    const char *id = json_string_value(json_object_get(r, "id"));
    char *out = id ? sw_xstrdup(id) : NULL;
    json_decref(r);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_store LOCATION BUNDLE_DIR N FRESH_CACHE\n");
        return 2;
    }
    const char *location = argv[1], *bundle = argv[2], *fresh_cache = argv[4];
    size_t n = strtoul(argv[3], NULL, 10);
    if (n == 0) {
        fprintf(stderr, "bench_store: N must be a positive number, not '%s'\n", argv[3]);
        return 2;
    }
    char *prompt = sw_xasprintf("%s/prompts/system.md", bundle);
    char **ids = sw_xcalloc(n, sizeof *ids);
    double *create = sw_xcalloc(n, sizeof *create), *manifest = sw_xcalloc(n, sizeof *manifest),
           *cold = sw_xcalloc(n, sizeof *cold), *warm = sw_xcalloc(n, sizeof *warm);

    sw_store *s = open_or_die(location);
    sw_release_options opts = {.allow_dirty = 1, .info = {.by = "bench", .reason = "bench"}};
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(prompt, "a");
        if (!f) {
            perror(prompt);
            return 1;
        }
        /* The run's clock in the line too: a second run on the same store makes new releases. */
        fprintf(f, "\nBench line %zu of a run at %.0f.\n", i, sw_now_ms());
        fclose(f);
        sw_diags *d = sw_diags_new();
        sw_store_error se = {0};
        char *result = NULL;
        double t0 = sw_now_ms();
        if (sw_store_create_release(s, bundle, &opts, d, &result, &se) != SW_STORE_OK) {
            for (size_t k = 0; k < sw_diags_count(d); k++) {
                char *line = sw_diags_format(d, k);
                fprintf(stderr, "%s\n", line);
                sw_free(line);
            }
            die_status("create", i, &se);
        }
        create[i] = sw_now_ms() - t0;
        ids[i] = result_id(result);
        if (!ids[i]) {
            fprintf(stderr, "bench_store: no id in the result of release %zu\n", i);
            return 1;
        }
        sw_free(result);
        sw_diags_free(d);
    }
    sw_store_close(s);

    /* Read back on an empty cache: what a new replica or a new machine sees. */
    if (setenv("SLIPWAY_STORE_CACHE", fresh_cache, 1) != 0) {
        perror("setenv");
        return 1;
    }
    s = open_or_die(location);
    const char *agent = "support-agent";
    for (size_t i = 0; i < n; i++) {
        sw_store_error se = {0};
        char *text = NULL, *dir = NULL;
        double t0 = sw_now_ms();
        if (sw_store_manifest(s, agent, ids[i], &text, &se) != SW_STORE_OK)
            die_status("manifest", i, &se);
        manifest[i] = sw_now_ms() - t0;
        sw_free(text);
        t0 = sw_now_ms();
        if (sw_store_release_dir(s, agent, ids[i], &dir, &se) != SW_STORE_OK)
            die_status("release_dir", i, &se);
        cold[i] = sw_now_ms() - t0;
        sw_free(dir);
        t0 = sw_now_ms();
        if (sw_store_release_dir(s, agent, ids[i], &dir, &se) != SW_STORE_OK)
            die_status("release_dir again", i, &se);
        warm[i] = sw_now_ms() - t0;
        sw_free(dir);
    }
    sw_store_close(s);

    size_t n_open = n / 4 ? n / 4 : 1;
    double *opens = sw_xcalloc(n_open, sizeof *opens);
    for (size_t i = 0; i < n_open; i++) {
        double t0 = sw_now_ms();
        sw_store *o = open_or_die(location);
        opens[i] = sw_now_ms() - t0;
        sw_store_close(o);
    }

    report("open", opens, n_open);
    report("create", create, n);
    report("manifest", manifest, n);
    report("dir_cold", cold, n);
    report("dir_warm", warm, n);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(create);
    free(manifest);
    free(cold);
    free(warm);
    free(opens);
    free(prompt);
    return 0;
}
