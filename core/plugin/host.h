/*
 * host.h - the function table handed to plugins, and the internal side of a
 * stage instance that built-in stages (lua) may use directly.
 */
#ifndef SW_PLUGIN_HOST_H
#define SW_PLUGIN_HOST_H

#include "model/context.h"

/* The one host table of this process (static storage). */
const sw_host *sw_host_table(void);

/* For built-in stages: read the context under the run's lock. Every
   sw_stage_lock_context must be paired with sw_stage_unlock_context. */
const sw_context *sw_stage_lock_context(sw_stage *stage);
void sw_stage_unlock_context(sw_stage *stage);
/* Write one output (declared and type-checked as set_* do). */
sw_status sw_stage_set_value(sw_stage *stage, const char *name, const sw_value *value);
/* The folder of the pipeline file (relative paths resolve here). */
const char *sw_stage_pipeline_dir(sw_stage *stage);
/* The pipeline file as the user named it (NULL in a harness). */
const char *sw_stage_pipeline_file(sw_stage *stage);

#endif
