/*
 * fuzz_journal.c - a journal.jsonl with any bytes, read back as a resumed run
 * or `slipway runs show` would: whole events, at most one torn last line,
 * corruption before it an error.
 */
#include "fuzz_util.h"
#include "run/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    const char *dir = fz_tmpdir();
    fz_write(dir, "journal.jsonl", data, size);
    char *path = sw_path_join(dir, "journal.jsonl");
    size_t torn = 0;
    sw_err err = {{0}};
    json_t *events = sw_journal_read(path, &torn, &err);
    if (events) {
        if (!json_is_array(events) || torn > 1)
            abort();
        size_t i;
        json_t *ev;
        json_array_foreach(events, i, ev) if (!json_is_object(ev)) abort();
        json_decref(events);
    } else if (!err.msg[0]) {
        abort();
    }
    free(path);
    return 0;
}
