/*
 * emit - writes one output of every type, each taken from a parameter, so
 * runner tests can check typed values, references and defaults end to end.
 *
 * run, in order:
 *   logs "emitting" (info) and reports progress 0.5;
 *   appends "<stage_id>\n" to append_to when set (O_APPEND), so a test can
 *     count how often each stage started, across resumes too;
 *   sets i, d, s, b, j from int, double, string, bool, json;
 *   when sleep > 0, waits that many milliseconds through host->wait and
 *     returns SW_ERROR "cancelled" when the wait was cancelled;
 *   reports progress 1.0;
 *   returns host->fail(fail_with) or host->error(error_with) when set (fail_with
 *     is checked first), else SW_OK.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <slipway/plugin.h>

typedef struct emit_config {
    int64_t i;
    double d;
    const char *s;
    int b;
    const char *json;
    const char *fail_with;
    const char *error_with;
    int64_t sleep_ms;
    const char *append_to;
    const char *token;
} emit_config;

static const sw_param params[] = {
    {.name = "int",
     .type = SW_TYPE_INT,
     .default_value = "42",
     .offset = offsetof(emit_config, i),
     .description = "written to output i"},
    {.name = "double",
     .type = SW_TYPE_DOUBLE,
     .default_value = "0.5",
     .offset = offsetof(emit_config, d),
     .description = "written to output d"},
    {.name = "string",
     .type = SW_TYPE_STRING,
     .default_value = "hello",
     .offset = offsetof(emit_config, s),
     .description = "written to output s"},
    {.name = "bool",
     .type = SW_TYPE_BOOL,
     .default_value = "true",
     .offset = offsetof(emit_config, b),
     .description = "written to output b"},
    {.name = "json",
     .type = SW_TYPE_JSON,
     .default_value = "{\"a\": [1, 2]}",
     .offset = offsetof(emit_config, json),
     .description = "written to output j"},
    {.name = "fail_with",
     .type = SW_TYPE_STRING,
     .offset = offsetof(emit_config, fail_with),
     .description = "when set, the stage fails with this reason (after writing its outputs)"},
    {.name = "error_with",
     .type = SW_TYPE_STRING,
     .offset = offsetof(emit_config, error_with),
     .description = "when set, the stage errors with this message (after writing its outputs)"},
    {.name = "sleep",
     .type = SW_TYPE_INT,
     .flags = SW_PARAM_DURATION,
     .default_value = "0",
     .offset = offsetof(emit_config, sleep_ms),
     .description = "wait this long (cancellable) before returning"},
    {.name = "append_to",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_PATH,
     .offset = offsetof(emit_config, append_to),
     .description = "append a line with the stage id to this file"},
    {.name = "token",
     .type = SW_TYPE_STRING,
     .flags = SW_PARAM_SECRET,
     .offset = offsetof(emit_config, token),
     .description = "a secret this stage carelessly logs, as real plugins sometimes do"},
    {0},
};

static const sw_port outputs[] = {
    {.name = "i", .type = SW_TYPE_INT, .description = "the int parameter"},
    {.name = "d", .type = SW_TYPE_DOUBLE, .description = "the double parameter"},
    {.name = "s", .type = SW_TYPE_STRING, .description = "the string parameter"},
    {.name = "b", .type = SW_TYPE_BOOL, .description = "the bool parameter"},
    {.name = "j", .type = SW_TYPE_JSON, .description = "the json parameter"},
    {0},
};

static sw_status append_line(sw_stage *stage, const char *path)
{
    const sw_host *h = sw_host_api;
    const char *id = h->stage_id(stage);
    size_t n = strlen(id);
    char line[256];
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    memcpy(line, id, n);
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return h->error(stage, "cannot open '%s': %s", path, strerror(errno));
    /* One write with O_APPEND: concurrent stages never interleave within a line. */
    ssize_t w = write(fd, line, n);
    int saved = errno;
    close(fd);
    if (w != (ssize_t)n)
        return h->error(stage, "cannot append to '%s': %s", path,
                        w < 0 ? strerror(saved) : "short write");
    return SW_OK;
}

/* A failed set_* already recorded why; pass that message on as the stage's error. */
static sw_status passed_on(sw_stage *stage, sw_status st)
{
    if (st == SW_OK)
        return SW_OK;
    return sw_host_api->error(stage, "%s", sw_host_api->last_error(stage));
}

static sw_status emit_run(sw_stage *stage, const void *config)
{
    const emit_config *c = config;
    const sw_host *h = sw_host_api;
    sw_status st;

    h->log(stage, SW_LOG_INFO, "emitting");
    h->progress(stage, 0.5, NULL);
    if (c->token)
        h->log(stage, SW_LOG_INFO, "calling the API with token %s", c->token);
    if (c->append_to && (st = append_line(stage, c->append_to)) != SW_OK)
        return st;

    if ((st = passed_on(stage, h->set_int(stage, "i", c->i))) != SW_OK ||
        (st = passed_on(stage, h->set_double(stage, "d", c->d))) != SW_OK ||
        (st = passed_on(stage, c->s ? h->set_string(stage, "s", c->s) : h->set_null(stage, "s"))) !=
            SW_OK ||
        (st = passed_on(stage, h->set_bool(stage, "b", c->b))) != SW_OK ||
        (st = passed_on(stage, c->json ? h->set_json(stage, "j", c->json)
                                       : h->set_null(stage, "j"))) != SW_OK)
        return st;

    if (c->sleep_ms > 0 && h->wait(stage, c->sleep_ms))
        return h->error(stage, "cancelled");
    h->progress(stage, 1.0, NULL);

    if (c->fail_with)
        return h->fail(stage, "%s", c->fail_with);
    if (c->error_with)
        return h->error(stage, "%s", c->error_with);
    return SW_OK;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc), .name = "emit",
    .version = "1.0.0",         .summary = "Writes one output of each type from its parameters",
    .params = params,           .config_size = sizeof(emit_config),
    .outputs = outputs,         .run = emit_run,
};

SW_PLUGIN(desc)
