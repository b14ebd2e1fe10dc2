/*
 * fuzz_yamldoc.c - any bytes as a YAML document, then the whole tree as JSON.
 *
 * JSON text is YAML too, so the JSON of a document, parsed again as YAML, must
 * give the same JSON: a fixed point of typing (ints stay ints, doubles doubles,
 * quoted text strings) and of escaping.
 */
#include "fuzz_util.h"
#include "model/yamldoc.h"

static char *as_json(const sw_ydoc *doc)
{
    sw_err err = {{0}};
    json_t *j = sw_yaml_to_json(doc->root, &err);
    if (!j) {
        if (!err.msg[0])
            abort(); /* failed without a message */
        return NULL;
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!text)
        abort();
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_string((const char *)data, size, "fuzz.yaml", d);
    for (size_t i = 0; i < sw_diags_count(d); i++)
        free(sw_diags_format(d, i));
    if (doc) {
        char *text = as_json(doc);
        if (text) {
            sw_ydoc *again = sw_yaml_parse_string(text, strlen(text), "again.yaml", NULL);
            char *text2 = again ? as_json(again) : NULL;
            if (!text2 || strcmp(text, text2) != 0) {
                fprintf(stderr, "JSON read back as YAML differs:\n%s\n%s\n", text,
                        text2 ? text2 : "(refused)");
                abort();
            }
            free(text2);
            sw_ydoc_free(again);
            free(text);
        }
        sw_ydoc_free(doc);
    } else if (sw_diags_errors(d) == 0) {
        abort();
    }
    sw_diags_free(d);
    return 0;
}
