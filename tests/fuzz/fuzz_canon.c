/*
 * fuzz_canon.c - canonical JSON (core/store/canon.h) of parsed input.
 *
 * The canonical form is what release ids hash, so it must be a fixed point:
 * the canonical text parsed and canonicalized again gives the same bytes.
 */
#include "fuzz_util.h"
#include "store/canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j)
        return 0;
    sw_err err = {{0}};
    char *a = sw_canon_json(j, &err);
    char *any = sw_json_text(j); /* never NULL, whatever j holds */
    free(any);
    json_decref(j);
    if (!a) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    json_t *k = json_loads(a, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!k) {
        fprintf(stderr, "canonical text does not parse (%s): %s\n", jerr.text, a);
        abort();
    }
    char *b = sw_canon_json(k, &err);
    if (!b) {
        fprintf(stderr, "canonical text does not canonicalize (%s): %s\n", err.msg, a);
        abort();
    }
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "not a fixed point:\n%s\n%s\n", a, b);
        abort();
    }
    free(a);
    free(b);
    json_decref(k);
    return 0;
}
