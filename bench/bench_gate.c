/* bench_gate.c - gate evaluations per second over a realistic context.

   The runner's gate `golden.pass_rate >= 0.95 and golden.latency_p95_ms < 1500`
   over a context with those two keys and twenty others, evaluated repeatedly
   without the context changing (as a monitor polling a rollback condition
   between writes does). Prints `gate_evals_per_sec N`; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "lua/gate.h"

#define WARMUP 10000
#define ROUNDS 2000000

static sw_context *make_context(void)
{
    sw_context *ctx = sw_context_new();
    sw_value v = sw_value_double(0.97);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_double(1234.5);
    sw_context_set(ctx, "golden.latency_p95_ms", &v, "golden", 0);
    for (int i = 0; i < 20; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s.key_%d",
                 i % 3 == 0   ? "vars"
                 : i % 3 == 1 ? "release"
                              : "canary",
                 i);
        if (i % 4 == 0) {
            v = sw_value_string("some text value");
        } else if (i % 4 == 1) {
            v = sw_value_int(i);
        } else if (i % 4 == 2) {
            v = sw_value_double(i * 0.5);
        } else {
            v = sw_value_json_text("{\"steps\":[5,25,50,100],\"name\":\"x\"}");
        }
        sw_context_set(ctx, key, &v, "bench", 0);
        sw_value_free(&v);
    }
    return ctx;
}

int main(void)
{
    sw_err err;
    sw_gate *gate = sw_gate_compile("golden.pass_rate >= 0.95 and golden.latency_p95_ms < 1500",
                                    &(sw_origin){"bench.yaml", 1, 1, 0}, NULL, &err);
    if (!gate) {
        fprintf(stderr, "bench_gate: %s\n", err.msg);
        return 1;
    }
    sw_context *ctx = make_context();
    long passed = 0;
    for (int i = 0; i < WARMUP; i++) {
        char *why;
        passed += sw_gate_eval(gate, ctx, &why) == SW_GATE_PASS;
        free(why);
    }
    double start = sw_now_ms();
    for (int i = 0; i < ROUNDS; i++) {
        char *why;
        passed += sw_gate_eval(gate, ctx, &why) == SW_GATE_PASS;
        free(why);
    }
    double elapsed = sw_now_ms() - start;
    if (passed != WARMUP + ROUNDS)
        fprintf(stderr, "bench_gate: the gate did not pass every time\n");
    printf("gate_evals_per_sec %.0f\n", ROUNDS / (elapsed / 1000.0));
    sw_context_free(ctx);
    sw_gate_free(gate);
    return 0;
}
