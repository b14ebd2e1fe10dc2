/*
 * stage.c - binding a stage's parameters and calling its callbacks, shared by
 * the runner and the stage test harness.
 */
#include "run/stage.h"

#include <stdio.h>
#include <stdlib.h>

#include "model/params.h"
#include "plugin/host.h"

/* A secret parameter's value is masked wherever the run writes text, whatever a
   plugin does with it (echoing it in a log line or a failure reason). */
static void remember_secret_params(sw_run *run, const sw_plugin *plugin, const void *config)
{
    for (const sw_param *p = plugin->desc.params; p && p->name; p++) {
        if (!(p->flags & SW_PARAM_SECRET) || p->type == SW_TYPE_BOOL || p->type == SW_TYPE_INT ||
            p->type == SW_TYPE_DOUBLE)
            continue;
        const char *text = *(const char *const *)((const char *)config + p->offset);
        sw_run_add_secret(run, text);
    }
}

sw_stage *sw_stage_prepare(sw_run *run, const sw_stage_spec *s, json_t **shown, char **reason)
{
    sw_err err;
    const sw_plugin *plugin =
        sw_loader_find(run->pipeline->loader, s->uses, run->pipeline->dir, &err);
    if (!plugin) {
        *reason = sw_xstrdup(err.msg);
        return NULL;
    }
    sw_stage *st = sw_stage_new(run, s, plugin);
    st->started_ms = sw_now_ms();
    if (sw_stage_outputs(run->pipeline, s, plugin, &st->outputs, &st->n_outputs, NULL) != 0) {
        *reason = sw_xstrdup("cannot read the stage's declared outputs");
        sw_stage_free(st);
        return NULL;
    }
    pthread_mutex_lock(&run->lock);
    st->config = sw_params_bind(plugin->desc.params, plugin->desc.config_size, s->with,
                                run->pipeline->dir, run->ctx, shown, &err);
    pthread_mutex_unlock(&run->lock);
    if (!st->config) {
        *reason = sw_xasprintf("bad parameters: %s", err.msg);
        sw_stage_free(st);
        return NULL;
    }
    remember_secret_params(run, plugin, st->config);
    return st;
}

sw_status sw_stage_call(sw_stage *st)
{
    const sw_stage_desc *desc = &st->plugin->desc;
    sw_status status = SW_OK;
    if (desc->init) {
        status = desc->init(st, st->config);
        if (status != SW_OK && !st->reason[0])
            snprintf(st->reason, sizeof st->reason, "init failed without a message");
        if (status != SW_OK) /* init cannot judge the candidate: it either works or not */
            status = SW_ERROR;
    }
    if (status == SW_OK) {
        status = desc->run(st, st->config);
        if (status != SW_OK && status != SW_FAIL && status != SW_ERROR) {
            snprintf(st->reason, sizeof st->reason, "run returned %d, not an sw_status",
                     (int)status);
            status = SW_ERROR;
        }
    }
    /* Also after a failed init: init may fail halfway, and fini is where a plugin
       releases whatever it had built by then. */
    if (desc->fini)
        desc->fini(st);
    return status;
}

void sw_stage_release(sw_stage *st)
{
    if (!st)
        return;
    sw_params_free(st->plugin->desc.params, st->config);
    sw_stage_free(st);
}
