/*
 * bench_pipeline - the process time of `check` plus a run of a pipeline, through
 * the public API, as `slipway run` does it: load, check (plugins loaded,
 * parameters and references checked, gates compiled), create the run folder,
 * run every stage, checkpoint after each, write the report.
 *
 * usage: bench_pipeline PIPELINE.yaml PLUGIN_DIR STATE_DIR [ITERATIONS]
 * Prints: pipeline_cpu_ms <mean CPU ms per check+run>, pipeline_wall_ms <mean wall ms>
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "base/util.h"
#include "slipway/slipway.h"

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_pipeline PIPELINE.yaml PLUGIN_DIR STATE_DIR [ITERATIONS]\n");
        return 2;
    }
    int n = argc > 4 ? atoi(argv[4]) : 50;
    double cpu0 = cpu_ms(), wall0 = sw_now_ms();
    for (int i = 0; i < n; i++) {
        sw_engine *e = sw_engine_new();
        sw_engine_add_plugin_dir(e, argv[2]);
        sw_engine_set_state_dir(e, argv[3]);
        sw_diags *d = sw_diags_new();
        sw_pipeline *p = sw_pipeline_load(e, argv[1], d);
        if (!p || sw_pipeline_check(e, p, d) != 0) {
            for (size_t k = 0; k < sw_diags_count(d); k++) {
                char *msg = sw_diags_format(d, k);
                fprintf(stderr, "%s\n", msg);
                sw_free(msg);
            }
            return 1;
        }
        sw_run *run = sw_run_new(e, p, d);
        if (!run || sw_run_execute(run) != SW_EXIT_OK)
            return 1;
        sw_run_free(run);
        sw_pipeline_free(p);
        sw_diags_free(d);
        sw_engine_free(e);
    }
    printf("pipeline_cpu_ms %.2f\npipeline_wall_ms %.2f\n", (cpu_ms() - cpu0) / n,
           (sw_now_ms() - wall0) / n);
    return 0;
}
