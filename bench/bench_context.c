/* bench_context.c - context get and set throughput over a pipeline-sized context.
 *
 * Prints one "<name>_per_sec <ops>" line per measurement; asserts nothing about
 * time. The target is >= 10,000,000 gets or scalar sets per second. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/context.h"

#define KEYS 50

static char keys[KEYS][32];

/* Runs fn until at least min_ms passed, doubling the batch; returns ops per second. */
static double measure(const char *name, uint64_t (*fn)(sw_context *, uint64_t), sw_context *ctx,
                      uint64_t *sink)
{
    const double min_ms = 300.0;
    uint64_t n = 1u << 16;
    for (;;) {
        double t0 = sw_now_ms();
        *sink += fn(ctx, n);
        double ms = sw_now_ms() - t0;
        if (ms >= min_ms) {
            double rate = (double)n / (ms / 1000.0);
            printf("%s %.0f\n", name, rate);
            fflush(stdout);
            return rate;
        }
        n *= 2;
    }
}

static uint64_t run_get(sw_context *ctx, uint64_t n)
{
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        const sw_value *v = sw_context_get(ctx, keys[i % KEYS]);
        acc += (uint64_t)v->as.i;
    }
    return acc;
}

static uint64_t run_get_missing(sw_context *ctx, uint64_t n)
{
    uint64_t acc = 0;
    static const char *absent[4] = {"stage3.output99", "vars.nothing", "x", "golden.pass_rat"};
    for (uint64_t i = 0; i < n; i++)
        acc += sw_context_get(ctx, absent[i & 3]) == NULL;
    return acc;
}

static uint64_t run_set_int(sw_context *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sw_value v = sw_value_int((int64_t)i);
        sw_context_set(ctx, keys[i % KEYS], &v, "bench", 0);
    }
    return n;
}

static uint64_t run_set_string(sw_context *ctx, uint64_t n)
{
    /* A different string every time: the allocating path. */
    static const char *texts[2] = {"candidate-7f3a9c", "candidate-11b2e0"};
    for (uint64_t i = 0; i < n; i++) {
        sw_value v = {.type = SW_TYPE_STRING, .as.s = (char *)texts[(i / KEYS) & 1]};
        sw_context_set(ctx, keys[i % KEYS], &v, "bench", 0);
    }
    return n;
}

static uint64_t run_set_same_string(sw_context *ctx, uint64_t n)
{
    sw_value v = {.type = SW_TYPE_STRING, .as.s = (char *)"candidate-7f3a9c"};
    for (uint64_t i = 0; i < n; i++)
        sw_context_set(ctx, keys[i % KEYS], &v, "bench", 0);
    return n;
}

static void fill(sw_context *ctx)
{
    for (int i = 0; i < KEYS; i++) {
        sw_value v = sw_value_int(i);
        sw_context_set(ctx, keys[i], &v, "bench", 0);
    }
}

int main(void)
{
    for (int i = 0; i < KEYS; i++)
        snprintf(keys[i], sizeof keys[i], "stage%d.output%d", i / 5, i % 5);
    uint64_t sink = 0;

    sw_context *ctx = sw_context_new();
    fill(ctx);
    measure("context_get_per_sec", run_get, ctx, &sink);
    measure("context_get_missing_per_sec", run_get_missing, ctx, &sink);
    measure("context_set_int_per_sec", run_set_int, ctx, &sink);
    measure("context_set_new_string_per_sec", run_set_string, ctx, &sink);
    measure("context_set_same_string_per_sec", run_set_same_string, ctx, &sink);
    sw_context_free(ctx);

    /* Building a context from empty, including its growth. */
    double t0 = sw_now_ms();
    uint64_t built = 0;
    while (sw_now_ms() - t0 < 300.0) {
        sw_context *c = sw_context_new();
        fill(c);
        sw_context_free(c);
        built += KEYS;
    }
    printf("context_insert_per_sec %.0f\n", (double)built / ((sw_now_ms() - t0) / 1000.0));

    fflush(stdout);
    /* Keeps the loops from being optimized away; not a measurement. */
    fprintf(stderr, "checksum %" PRIu64 "\n", sink);
    return 0;
}
