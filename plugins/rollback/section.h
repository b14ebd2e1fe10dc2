/*
 * section.h - the rollback stage's section of the run report
 * (report-section.json in its artifacts folder): what was rolled back, to
 * what, with which session policy, how fast, and the moments on the run's
 * timeline.
 */
#ifndef RB_SECTION_H
#define RB_SECTION_H

#include <jansson.h>
#include <stdint.h>

#include "base/util.h"

typedef struct rb_section_in {
    const char *agent;
    const char *to;        /* the release stable holds (the router's version), or NULL */
    const char *candidate; /* the release rolled back, or NULL when unknown */
    const char *sessions;  /* drain, migrate or terminate */
    const char *monitor;   /* the monitor stage's id, or NULL */
    const char *reason;    /* why the run failed (failure.reason), or NULL */
    const char *error;     /* set: the rollback itself failed, with this message */
    int already;           /* nothing was left to do */
    int64_t affected;      /* pinned sessions drained, migrated or terminated */
    double detection_ms;   /* the monitor's; < 0: unknown */
    double switch_ms;      /* the stage's start to 0% candidate */
    double breach_to_zero_ms;
    /* Epoch ms; 0: did not happen (or unknown). */
    int64_t breach_at, switched_at, cleared_at, ended_at;
} rb_section_in;

/* The section. New reference. */
json_t *rb_section_json(const rb_section_in *in);
/* Written atomically at path. */
int rb_write_section(const rb_section_in *in, const char *path, sw_err *err);

#endif
