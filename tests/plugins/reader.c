/*
 * reader - declares the inputs it reads, so tests can check that a stage's
 * inputs are checked before it runs; and writes an artifact.
 *
 * run: reads release.id (required input, string) and release.size (optional
 * input, int), writes notes.txt in the artifacts folder, records it, and sets
 * summary to "<id> (<size> bytes)" or "<id>".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <slipway/plugin.h>

static const sw_port inputs[] = {
    {.name = "release.id", .type = SW_TYPE_STRING, .description = "the release"},
    {.name = "release.size",
     .type = SW_TYPE_INT,
     .flags = SW_PORT_OPTIONAL,
     .description = "its size in bytes"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "summary", .type = SW_TYPE_STRING, .description = "what was read"},
    {0},
};

static sw_status reader_run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const char *id;
    if (h->get_string(stage, "release.id", &id) != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));
    char summary[256];
    int64_t size;
    if (h->has(stage, "release.size") && h->get_int(stage, "release.size", &size) == SW_OK)
        snprintf(summary, sizeof summary, "%s (%" PRId64 " bytes)", id, size);
    else
        snprintf(summary, sizeof summary, "%s", id);

    const char *dir = h->artifacts_dir(stage);
    if (!dir)
        return h->error(stage, "%s", h->last_error(stage));
    char path[4096];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return h->error(stage, "cannot write %s", path);
    fprintf(f, "%s\n", summary);
    fclose(f);
    if (h->add_artifact(stage, path, "what was read") != SW_OK)
        return h->error(stage, "%s", h->last_error(stage));
    return h->set_string(stage, "summary", summary);
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "reader",
    .version = "1.0.0",         .summary = "Reads declared inputs and writes an artifact",
    .inputs = inputs,           .outputs = outputs,
    .run = reader_run,
};

SW_PLUGIN(desc)
