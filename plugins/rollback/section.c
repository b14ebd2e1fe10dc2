/* section.c - the rollback's section of the run report. */
#include "section.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

static json_t *str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("(not UTF-8)");
}

static void item(json_t *summary, const char *label, const char *fmt, ...) SW_PRINTF(3, 4);
static void item(json_t *summary, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(summary, json_pack("{s:o, s:o}", "label", str(label), "value", str(v)));
    free(v);
}

static void event(json_t *events, int64_t t, const char *status, const char *fmt, ...)
    SW_PRINTF(4, 5);
static void event(json_t *events, int64_t t, const char *status, const char *fmt, ...)
{
    if (t <= 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *label = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(events, json_pack("{s:I, s:o, s:s}", "t", (json_int_t)t, "label",
                                            str(label), "status", status));
    free(label);
}

json_t *rb_section_json(const rb_section_in *in)
{
    /* A rollback that happened is bad news, in red; one with nothing to do is not. */
    const char *status = in->error || !in->already ? "fail" : "info";
    json_t *summary = json_array(), *events = json_array();
    item(summary, "agent", "%s", in->agent);
    if (in->candidate)
        item(summary, "candidate", "%s", in->candidate);
    item(summary, "rolled back to", "%s", in->to ? in->to : "unknown");
    item(summary, "session policy", "%s", in->sessions);
    char label[64];
    snprintf(label, sizeof label, "sessions %s",
             strcmp(in->sessions, "drain") == 0       ? "drained"
             : strcmp(in->sessions, "migrate") == 0   ? "migrated"
             : strcmp(in->sessions, "terminate") == 0 ? "terminated"
                                                      : "affected");
    item(summary, label, "%lld", (long long)in->affected);
    if (in->detection_ms >= 0)
        item(summary, "detection time", "%.0f ms", in->detection_ms);
    else
        item(summary, "detection time", "unknown");
    item(summary, "switch time", "%.0f ms", in->switch_ms);
    if (in->breach_at > 0)
        item(summary, "breach to 0% candidate", "%.0f ms", in->breach_to_zero_ms);
    if (in->breach_at > 0) {
        if (in->monitor)
            event(events, in->breach_at, "fail", "breach detected by '%s'", in->monitor);
        else
            event(events, in->breach_at, "fail", "breach detected");
    }
    if (in->error) {
        event(events, in->ended_at, "fail", "rollback failed: %s", in->error);
    } else if (in->already) {
        event(events, in->ended_at, "info", "rollback: nothing left to do");
    } else {
        event(events, in->switched_at, "fail", "route switched to stable %s (sessions %s)",
              in->to ? in->to : "", in->sessions);
        if (in->candidate)
            event(events, in->cleared_at, "info", "candidate channel cleared (%s)", in->candidate);
        else
            event(events, in->cleared_at, "info", "candidate channel cleared");
    }
    json_t *j = json_pack("{s:i, s:s, s:s, s:o, s:o}", "format", 1, "title", "Rollback", "status",
                          status, "summary", summary, "events", events);
    char *text = NULL;
    if (in->error)
        text = sw_xasprintf("The rollback failed: %s", in->error);
    else if (in->already)
        text = sw_xasprintf("%s already served only %s: nothing was left to roll back.", in->agent,
                            in->to ? in->to : "stable");
    else if (in->reason)
        text = sw_xasprintf("Rolled back because: %s", in->reason);
    if (text)
        json_object_set_new(j, "text", str(text));
    free(text);
    return j;
}

int rb_write_section(const rb_section_in *in, const char *path, sw_err *err)
{
    json_t *j = rb_section_json(in);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return sw_err_set(err, "%s: the section could not be encoded", path);
    int rc = sw_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}
