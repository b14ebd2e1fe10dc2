/* fuzz_refs.c - ${...} reference syntax, and resolution against a small context. */
#include "fuzz_util.h"
#include "model/refs.h"

static sw_context *ctx;

static void make_context(void)
{
    ctx = sw_context_new();
    sw_value v = sw_value_string("r-123");
    sw_context_set(ctx, "release.id", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_int(42);
    sw_context_set(ctx, "vars.n", &v, "vars", 0);
    v = sw_value_double(0.5);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_bool(1);
    sw_context_set(ctx, "golden.ok", &v, "golden", 0);
    v = sw_value_json_text("{\"a\":[1,2,{\"b\":null}]}");
    sw_context_set(ctx, "release.manifest", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_string("s3cr3t");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    v = SW_VALUE_NULL;
    sw_context_set(ctx, "vars.nothing", &v, "vars", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    if (!ctx)
        make_context();
    char *s = fz_cstr(data, size);
    sw_refs refs = {0};
    sw_err err = {{0}};
    int rc = sw_refs_parse(s, &refs, &err);
    if (rc == 0) {
        /* Offsets lie inside the string, in order, each on "${...}". */
        size_t len = strlen(s), prev = 0;
        for (size_t i = 0; i < refs.n; i++) {
            const sw_ref *r = &refs.items[i];
            if (r->start < prev || r->end <= r->start || r->end > len ||
                strncmp(s + r->start, "${", 2) != 0 || s[r->end - 1] != '}' || !r->key)
                abort();
            prev = r->end;
        }
        if (refs.whole && refs.n != 1)
            abort();
        if (sw_refs_has_any(s) != (refs.n > 0))
            abort();
        sw_refs_free(&refs);
    } else if (!err.msg[0]) {
        abort();
    }
    sw_value out = SW_VALUE_NULL;
    int secret = 0;
    if (sw_refs_resolve_string(s, ctx, &out, &secret, &err) == 0)
        sw_value_free(&out);
    free(s);
    return 0;
}
