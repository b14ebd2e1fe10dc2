/*
 * bench_loader - how long loading one plugin takes: dlopen, the entry call and
 * the descriptor checks, with a fresh loader each time (so dlclose really
 * unloads and the next load is a real one).
 *
 * usage: bench_loader PLUGIN.so [ITERATIONS]
 * Prints: plugin_load_us <mean microseconds>
 */
#include <stdio.h>
#include <stdlib.h>

#include "plugin/host.h"
#include "plugin/loader.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_loader PLUGIN.so [ITERATIONS]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    double start = sw_now_ms();
    for (int i = 0; i < n; i++) {
        sw_loader *loader = sw_loader_new(sw_host_table());
        sw_err err;
        if (!sw_loader_load_file(loader, argv[1], &err)) {
            fprintf(stderr, "bench_loader: %s\n", err.msg);
            return 1;
        }
        sw_loader_free(loader);
    }
    double per = (sw_now_ms() - start) * 1000.0 / n;
    printf("plugin_load_us %.1f\n", per);
    return 0;
}
