/* bench_pins.c - what the router's periodic pin work costs its event loop, by table size.

   For N pins of one agent (default 10,000, 100,000 and 1,000,000) and a second's worth of
   new sessions (1,000 by default), side by side in one run:
     - full_dump_ms: writing every pin out, what a save cost the loop when it wrote the whole
       table itself;
     - new_sessions_ms: pinning those new sessions, their change log included;
     - save_us: what a save costs the loop now: taking that change log;
     - sweep_us: an idle sweep that removes nothing (it used to visit every pin);
     - summary_us: the per-version summary behind /metrics and /admin/stats;
     - writer_ms: the state writer replaying those changes into its copy and writing the
       copy out (off the loop: the time a save now takes to reach the disk, less the disk);
     - table_mb, copy_mb: resident memory of the table (with its change log until taken) and
       of the writer's copy.
   Prints one line per size; asserts nothing.
     bench_pins [N...] */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "router/pins.h"

#define NEW_PER_SAVE 1000

static int64_t ttl_30min(void *ud, const char *agent)
{
    (void)ud;
    (void)agent;
    return 1800 * 1000;
}

/* Resident memory now, in MB (0 where /proc is not there). */
static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * 4096 / 1e6;
}

static void add(sw_pins *p, size_t from, size_t to, int64_t now)
{
    char session[48];
    for (size_t i = from; i < to; i++) {
        snprintf(session, sizeof session, "session-%zu-3f9a7c21", i);
        sw_pins_set(p, "support-agent", session, i % 20 ? "v41-stable" : "v42-canary",
                    SW_REASON_SPLIT, now + (int64_t)i);
    }
}

static void run(size_t n)
{
    const int64_t t0 = 1790000000000;
    sw_pins p;
    sw_pins_init(&p, 0);
    sw_pins_track(&p, 30000);
    sw_pin_rows rows;
    sw_pin_rows_init(&rows);
    double rss0 = rss_mb();
    add(&p, 0, n, t0);
    sw_buf log = sw_pins_take_changes(&p);
    double table_mb = rss_mb() - rss0 - (double)log.len / 1e6;
    double rss1 = rss_mb();
    sw_err err = {{0}};
    sw_pin_rows_apply(&rows, log.data, log.len, &err); /* the copy as of the last save */
    double copy_mb = rss_mb() - rss1;
    sw_buf_free(&log);

    double t = sw_now_ms();
    sw_buf all = {0};
    sw_pins_dump(&p, &all);
    double full_dump = sw_now_ms() - t;

    t = sw_now_ms();
    add(&p, n, n + NEW_PER_SAVE, t0 + (int64_t)n);
    double sessions = sw_now_ms() - t;
    t = sw_now_ms();
    log = sw_pins_take_changes(&p);
    double save = sw_now_ms() - t;

    t = sw_now_ms();
    size_t gone = sw_pins_expire(&p, t0 + (int64_t)n, ttl_30min, NULL);
    double sweep = sw_now_ms() - t;

    t = sw_now_ms();
    json_t *sum = sw_pins_summary(&p, "support-agent");
    double summary = sw_now_ms() - t;
    json_decref(sum);

    t = sw_now_ms();
    sw_buf out = {0};
    if (sw_pin_rows_apply(&rows, log.data, log.len, &err) < 0)
        fprintf(stderr, "bench_pins: %s\n", err.msg);
    sw_pin_rows_dump(&rows, &out);
    double writer = sw_now_ms() - t;

    printf("pins %zu  full_dump_ms %.2f  new_sessions_ms %.3f  save_us %.1f  sweep_us %.1f (%zu "
           "gone)  summary_us %.1f  writer_ms %.1f  file_mb %.1f  table_mb %.0f  copy_mb %.0f\n",
           n, full_dump, sessions, save * 1000, sweep * 1000, gone, summary * 1000, writer,
           (double)out.len / 1e6, table_mb, copy_mb);
    sw_buf_free(&all);
    sw_buf_free(&out);
    sw_buf_free(&log);
    sw_pin_rows_free(&rows);
    sw_pins_free(&p);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        run(10000);
        run(100000);
        run(1000000);
    }
    for (int i = 1; i < argc; i++)
        run((size_t)strtoull(argv[i], NULL, 10));
    return 0;
}
