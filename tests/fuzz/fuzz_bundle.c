/*
 * fuzz_bundle.c - an agent bundle from the input: the text before the first
 * "\n---tool---\n" is agent.yaml, the text after it is tools/lookup_order.json
 * (seeds list lookup_order among their tools). A fixed prompts/system.md is
 * beside them. The loader must accept or refuse with diagnostics, never crash.
 */
#include "fuzz_util.h"
#include "store/bundle.h"
#include "store/canon.h"

#define SEP "\n---tool---\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    char *agent, *tool;
    size_t alen, tlen;
    fz_split(data, size, SEP, &agent, &alen, &tool, &tlen);
    const char *dir = fz_tmpdir();
    static const char prompt[] = "You help {{company}} customers. Hours: {{support_hours}}.\n";
    fz_write(dir, "prompts/system.md", prompt, sizeof prompt - 1);
    fz_write(dir, "agent.yaml", agent, alen);
    fz_write(dir, "tools/lookup_order.json", tool, tlen);
    free(agent);
    free(tool);

    sw_diags *d = sw_diags_new();
    /* A small cap, so the cap's own path is reached too. */
    sw_bundle_opts opts = {.max_bytes = 64 * 1024};
    sw_bundle *b = sw_bundle_load(dir, &opts, d);
    for (size_t i = 0; i < sw_diags_count(d); i++)
        free(sw_diags_format(d, i));
    if (b) {
        if (sw_diags_errors(d) != 0 || !b->manifest)
            abort();
        /* The store hashes the canonical manifest: a bundle that loads must have
           one, and the same files must give the same bytes. */
        sw_err err = {{0}};
        char *canon = sw_canon_json(b->manifest, &err);
        if (!canon) {
            fprintf(stderr, "a loaded bundle's manifest has no canonical form: %s\n", err.msg);
            abort();
        }
        sw_bundle *again = sw_bundle_load(dir, &opts, NULL);
        char *canon2 = again ? sw_canon_json(again->manifest, &err) : NULL;
        if (!canon2 || strcmp(canon, canon2) != 0)
            abort();
        free(canon);
        free(canon2);
        sw_bundle_free(again);
        sw_bundle_free(b);
    } else if (sw_diags_errors(d) == 0) {
        abort();
    }
    sw_diags_free(d);
    return 0;
}
