/*
 * fuzz_dataset.c - an eval dataset, as the eval stage opens it: the same
 * bytes as a JSONL file and as a YAML file (dataset.c picks the reader by
 * the extension), then every selected case read again from the file as a
 * run does, and once more with a tag filter and a limit.
 *
 * Properties: a refused dataset has a diagnostic; an opened one selects at
 * most as many cases as it has, every selected case reads back (the file did
 * not change) with an id, a line, chat messages and its assertions, and the
 * filtered selection is no larger than the full one and within the limit.
 */
#include "../../plugins/eval/dataset.h"
#include "fuzz_util.h"

static void check(const char *path, const ev_dataset_opts *opts, size_t *count)
{
    sw_diags *d = sw_diags_new();
    ev_dataset *ds = ev_dataset_open(path, opts, d);
    if (!ds) {
        if (sw_diags_count(d) == 0)
            abort();
        for (size_t i = 0; i < sw_diags_count(d); i++)
            free(sw_diags_format(d, i));
        sw_diags_free(d);
        *count = 0;
        return;
    }
    size_t n = ev_dataset_count(ds);
    if (n > ev_dataset_total(ds) || (opts->limit && n > opts->limit) ||
        ev_dataset_input_bytes_max(ds) > ev_dataset_input_bytes_sum(ds) ||
        strlen(ev_dataset_sha256(ds)) != 64)
        abort();
    for (size_t i = 0; i < n; i++) {
        sw_err err = {{0}};
        ev_case *c = ev_dataset_case(ds, i, &err);
        if (!c || !c->id || c->line <= 0 || !json_is_array(c->messages) || !c->input ||
            !json_is_object(c->vars) || !json_is_array(c->tags) || c->n_judged > c->n_asserts)
            abort();
        ev_case *again = ev_case_ref(c);
        ev_case_unref(again);
        ev_case_unref(c);
    }
    if (ev_dataset_case(ds, n, &(sw_err){{0}}) != NULL)
        abort();
    *count = n;
    ev_dataset_close(ds);
    sw_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    const char *dir = fz_tmpdir();
    static const char *const names[] = {"cases.jsonl", "cases.yaml"};
    json_t *tags = json_pack("[s]", "smoke");
    for (size_t k = 0; k < 2; k++) {
        fz_write(dir, names[k], data, size);
        char *path = sw_path_join(dir, names[k]);
        ev_dataset_opts all = {0}, some = {tags, 2};
        size_t n_all, n_some;
        check(path, &all, &n_all);
        check(path, &some, &n_some);
        if (n_all && n_some > n_all)
            abort();
        free(path);
    }
    json_decref(tags);
    return 0;
}
