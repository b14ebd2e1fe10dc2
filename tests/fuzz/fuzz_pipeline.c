/* fuzz_pipeline.c - pipeline YAML text through the structural validator. */
#include "fuzz_util.h"
#include "model/pipeline.h"
#include "model/refs.h"

/* Every key exists, with a type picked from its name, so references get checked
   (the checker's real scope needs plugins). */
static int scope(void *ud, const char *key, sw_type *type, const char **why)
{
    (void)ud;
    size_t n = strlen(key);
    *type = (sw_type)(n % ((unsigned)SW_TYPE_ANY + 1));
    if (key[0] == 'z') {
        *why = "stage 'z' runs later";
        return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    sw_diags *d = sw_diags_new();
    sw_pipeline *p =
        sw_pipeline_parse_string((const char *)data, size, "fuzz.yaml", "/nonexistent", d);
    /* Every diagnostic must format (positions and messages stay printable). */
    for (size_t i = 0; i < sw_diags_count(d); i++)
        free(sw_diags_format(d, i));
    if (p) {
        /* A pipeline that parsed has no errors, and its lookups hold. */
        if (sw_diags_errors(d) != 0)
            abort();
        for (size_t i = 0; i < p->n_stages; i++) {
            if (sw_pipeline_find_stage(p, p->stages[i].id) == NULL)
                abort();
            if (p->stages[i].with) {
                sw_type t;
                sw_diags *rd = sw_diags_new();
                sw_refs_check_node(p->doc, p->stages[i].with, scope, NULL, &t, rd);
                for (size_t k = 0; k < sw_diags_count(rd); k++)
                    free(sw_diags_format(rd, k));
                sw_diags_free(rd);
            }
        }
        sw_pipeline_destroy(p);
    } else if (sw_diags_errors(d) == 0) {
        abort(); /* refused without saying why */
    }
    sw_diags_free(d);
    return 0;
}
