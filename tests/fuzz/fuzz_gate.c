/*
 * fuzz_gate.c - any text as a gate: compiled and evaluated in the sandbox with
 * tight caps (1 MiB, 200,000 instructions, 100 ms), over a small context.
 * Whatever the code does, the result is PASS, FAIL or ERROR and the process
 * survives: no crash, no leak, no escape from the caps.
 */
#include "fuzz_util.h"
#include "lua/gate.h"

static sw_context *ctx;

/* The value of env.SECRET: spelled by nothing in the corpus or the dictionary. */
#define SECRET "s3cr3t-7f1c9a2e"

static void make_context(void)
{
    ctx = sw_context_new();
    sw_value v = sw_value_double(0.97);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_int(1200);
    sw_context_set(ctx, "golden.latency_p95_ms", &v, "golden", 0);
    v = sw_value_string("r-abc");
    sw_context_set(ctx, "release.id", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_json_text("{\"tools\":[\"a\",\"b\"],\"n\":{\"x\":1.5}}");
    sw_context_set(ctx, "release.manifest", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_bool(0);
    sw_context_set(ctx, "vars.strict", &v, "vars", 0);
    v = sw_value_string(SECRET);
    sw_context_set(ctx, "env.SECRET", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    if (!ctx)
        make_context();
    char *src = fz_cstr(data, size);
    sw_lua_limits limits = {.memory_bytes = 1024 * 1024, .max_steps = 200000, .timeout_ms = 100};
    sw_err err = {{0}};
    sw_gate *g = sw_gate_compile(src, &(sw_origin){"fuzz.yaml", 1, 0, 1}, &limits, &err);
    if (g) {
        /* Twice: the second evaluation reuses the cached view of the context. */
        for (int i = 0; i < 2; i++) {
            char *reason = NULL;
            sw_gate_result r = sw_gate_eval(g, ctx, &reason);
            if (r != SW_GATE_PASS && r != SW_GATE_FAIL && r != SW_GATE_ERROR)
                abort();
            if (r != SW_GATE_PASS && !reason)
                abort(); /* a failed gate always says why */
            /* env.* is never visible to a gate (unless the input itself spells the value,
               which a reason may quote). */
            if (reason && strstr(reason, SECRET) && !strstr(src, SECRET))
                abort();
            free(reason);
        }
        sw_gate_free(g);
    } else if (!err.msg[0]) {
        abort();
    }
    free(src);
    return 0;
}
