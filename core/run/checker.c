/*
 * checker.c - everything `slipway check` proves before anything runs.
 *
 * For each stage, in the order the runner will meet them: its plugin loads;
 * its `with:` fits the plugin's parameter table; every ${...} names a value
 * that exists at that point with a compatible type (an earlier foreground
 * stage's declared output, a variable, the environment, or failure.* in
 * on_failure stages); its declared inputs exist; its gate compiles.
 * Every problem is reported, each at its file:line:col.
 */
#include <stdlib.h>
#include <string.h>

#include "lua/lua_stage.h"
#include "model/params.h"
#include "run/run_impl.h"

typedef struct scope {
    sw_pipeline *p;
    const sw_stage_spec *at; /* the stage being checked */
    sw_port **ports;         /* per stage: main stages first, then on_failure */
    size_t *n_ports;
    int *known; /* the stage's outputs are known (its plugin loaded) */
    char why[SW_ERR_MAX];
} scope;

static size_t global_index(const sw_pipeline *p, const sw_stage_spec *s)
{
    return s->on_failure ? p->n_stages + s->index : s->index;
}

static void note_env_key(sw_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_env_keys; i++)
        if (strcmp(p->env_keys[i], name) == 0)
            return;
    p->env_keys = sw_xrealloc(p->env_keys, (p->n_env_keys + 1) * sizeof *p->env_keys);
    p->env_keys[p->n_env_keys++] = sw_xstrdup(name);
}

static sw_type var_type(const sw_var *v)
{
    return v->value.type;
}

static int lookup_var(scope *sc, const char *name, sw_type *type, const char **why)
{
    const char **names = sw_xcalloc(sc->p->n_vars + 1, sizeof *names);
    for (size_t i = 0; i < sc->p->n_vars; i++) {
        if (strcmp(sc->p->vars[i].name, name) == 0) {
            *type = var_type(&sc->p->vars[i]);
            free(names);
            return 1;
        }
        names[i] = sc->p->vars[i].name;
    }
    const char *hint = sw_did_you_mean(name, names, sc->p->n_vars);
    snprintf(sc->why, sizeof sc->why, "no variable '%s' in vars%s%s%s", name,
             hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    free(names);
    *why = sc->why;
    return 0;
}

static int lookup_output(scope *sc, const sw_stage_spec *owner, const char *name, sw_type *type,
                         const char **why)
{
    size_t g = global_index(sc->p, owner);
    if (!sc->known[g]) { /* its plugin failed to load: that error is reported already */
        *type = SW_TYPE_ANY;
        return 1;
    }
    const char **names = sw_xcalloc(sc->n_ports[g] + 1, sizeof *names);
    for (size_t i = 0; i < sc->n_ports[g]; i++) {
        if (strcmp(sc->ports[g][i].name, name) == 0) {
            *type = sc->ports[g][i].type;
            free(names);
            return 1;
        }
        names[i] = sc->ports[g][i].name;
    }
    const char *hint = sw_did_you_mean(name, names, sc->n_ports[g]);
    snprintf(sc->why, sizeof sc->why, "stage '%s' (%s) has no output '%s'%s%s%s", owner->id,
             owner->uses, name, hint ? " (did you mean '" : "", hint ? hint : "",
             hint ? "'?)" : "");
    free(names);
    *why = sc->why;
    return 0;
}

/* Can the stage being checked see the outputs of `owner`? */
static int visible(scope *sc, const sw_stage_spec *owner, const char **why)
{
    const sw_stage_spec *at = sc->at;
    if (owner == at) {
        snprintf(sc->why, sizeof sc->why, "a stage cannot read its own outputs");
    } else if (!at->on_failure && owner->on_failure) {
        snprintf(sc->why, sizeof sc->why,
                 "stage '%s' is an on_failure stage; it runs only after a failure", owner->id);
    } else if (owner->on_failure == at->on_failure && owner->index > at->index) {
        snprintf(sc->why, sizeof sc->why, "stage '%s' runs later (a forward reference)", owner->id);
    } else if (!at->on_failure && owner->background) {
        snprintf(sc->why, sizeof sc->why,
                 "stage '%s' runs in the background; its outputs are visible only to on_failure "
                 "stages",
                 owner->id);
    } else {
        return 1;
    }
    *why = sc->why;
    return 0;
}

static int scope_lookup(void *ud, const char *key, sw_type *type, const char **why)
{
    scope *sc = ud;
    const char *dot = strchr(key, '.');
    if (!dot) {
        snprintf(sc->why, sizeof sc->why, "expected OWNER.NAME");
        *why = sc->why;
        return 0;
    }
    char *owner = sw_xstrndup(key, (size_t)(dot - key));
    const char *name = dot + 1;
    int found = 0;
    if (strcmp(owner, "vars") == 0) {
        found = lookup_var(sc, name, type, why);
    } else if (strcmp(owner, "env") == 0) {
        note_env_key(sc->p, name);
        *type = SW_TYPE_STRING;
        found = 1;
    } else if (strcmp(owner, "failure") == 0) {
        if (!sc->at->on_failure) {
            snprintf(sc->why, sizeof sc->why, "failure.* exists only in on_failure stages");
            *why = sc->why;
        } else if (strcmp(name, "stage") == 0 || strcmp(name, "reason") == 0) {
            *type = SW_TYPE_STRING;
            found = 1;
        } else {
            snprintf(sc->why, sizeof sc->why, "failure has only 'stage' and 'reason'");
            *why = sc->why;
        }
    } else {
        const sw_stage_spec *s = sw_pipeline_find_stage(sc->p, owner);
        if (!s) {
            size_t n = sc->p->n_stages + sc->p->n_on_failure;
            const char **ids = sw_xcalloc(n + 2, sizeof *ids);
            for (size_t i = 0; i < sc->p->n_stages; i++)
                ids[i] = sc->p->stages[i].id;
            for (size_t i = 0; i < sc->p->n_on_failure; i++)
                ids[sc->p->n_stages + i] = sc->p->on_failure[i].id;
            ids[n] = "vars";
            ids[n + 1] = "env";
            const char *hint = sw_did_you_mean(owner, ids, n + 2);
            snprintf(sc->why, sizeof sc->why, "no stage '%s'%s%s%s", owner,
                     hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
            free(ids);
            *why = sc->why;
        } else if (visible(sc, s, why)) {
            found = lookup_output(sc, s, name, type, why);
        }
    }
    free(owner);
    return found;
}

void sw_ports_free(sw_port *ports, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)ports[i].name);
        free((char *)ports[i].description);
    }
    free(ports);
}

static sw_port *copy_ports(const sw_port *src, size_t *n)
{
    size_t count = 0;
    while (src && src[count].name)
        count++;
    sw_port *out = sw_xcalloc(count + 1, sizeof *out);
    for (size_t i = 0; i < count; i++) {
        out[i] = src[i];
        out[i].name = sw_xstrdup(src[i].name);
        out[i].description = sw_xstrdup(src[i].description ? src[i].description : "");
    }
    *n = count;
    return out;
}

int sw_stage_outputs(const sw_pipeline *p, const sw_stage_spec *spec, const sw_plugin *plugin,
                     sw_port **out, size_t *n, sw_diags *d)
{
    if (plugin->builtin && strcmp(plugin->name, "lua") == 0) {
        sw_port *lua_ports = NULL;
        size_t count = 0;
        if (sw_lua_stage_outputs(p->doc, spec->with, &lua_ports, &count, d) != 0)
            return -1;
        sw_port *terminated = sw_xcalloc(count + 1, sizeof *terminated);
        memcpy(terminated, lua_ports, count * sizeof *lua_ports);
        *out = copy_ports(terminated, n);
        free(terminated);
        sw_lua_stage_outputs_free(lua_ports, count);
        return 0;
    }
    *out = copy_ports(plugin->desc.outputs, n);
    return 0;
}

static sw_pos node_pos(const sw_pipeline *p, const sw_ynode *node)
{
    return sw_ynode_pos(p->doc, node);
}

static sw_pos uses_pos(const sw_pipeline *p, const sw_stage_spec *s)
{
    const sw_ynode *u = sw_ynode_get(s->node, "uses");
    return node_pos(p, u ? u : s->node);
}

static void check_inputs(scope *sc, const sw_stage_spec *s, const sw_plugin *plugin, sw_diags *d)
{
    for (const sw_port *in = plugin->desc.inputs; in && in->name; in++) {
        sw_type have;
        const char *why = NULL;
        if (!scope_lookup(sc, in->name, &have, &why)) {
            if (!(in->flags & SW_PORT_OPTIONAL))
                sw_diag_error(d, uses_pos(sc->p, s),
                              "stage '%s': plugin '%s' needs input '%s' (%s): %s", s->id,
                              plugin->name, in->name, sw_type_name(in->type),
                              why ? why : "not available here");
        } else if (in->type != SW_TYPE_ANY && !sw_type_compatible(have, in->type)) {
            sw_diag_error(d, uses_pos(sc->p, s),
                          "stage '%s': plugin '%s' needs input '%s' as %s, but it is %s", s->id,
                          plugin->name, in->name, sw_type_name(in->type), sw_type_name(have));
        }
    }
}

static void check_gate(const sw_pipeline *p, const sw_stage_spec *s, sw_diags *d)
{
    if (!s->gate)
        return;
    sw_err err;
    sw_gate *g = sw_gate_compile(s->gate, &s->gate_origin, NULL, &err);
    if (!g)
        sw_diag_error(d, s->gate_pos, "stage '%s': gate does not compile: %s", s->id, err.msg);
    sw_gate_free(g);
}

int sw_check_pipeline(sw_engine *engine, sw_pipeline *p, sw_diags *d)
{
    (void)engine;
    size_t before = sw_diags_errors(d);
    size_t total = p->n_stages + p->n_on_failure;
    scope sc = {.p = p,
                .ports = sw_xcalloc(total + 1, sizeof *sc.ports),
                .n_ports = sw_xcalloc(total + 1, sizeof *sc.n_ports),
                .known = sw_xcalloc(total + 1, sizeof *sc.known)};
    const sw_plugin **plugins = sw_xcalloc(total + 1, sizeof *plugins);

    /* Load every plugin and learn every stage's outputs first, so a reference to a
       later stage is reported as "runs later" rather than "unknown". */
    for (size_t g = 0; g < total; g++) {
        const sw_stage_spec *s = g < p->n_stages ? &p->stages[g] : &p->on_failure[g - p->n_stages];
        sw_err err;
        plugins[g] = sw_loader_find(p->loader, s->uses, p->dir, &err);
        if (!plugins[g]) {
            sw_diag_error(d, uses_pos(p, s), "stage '%s': %s", s->id, err.msg);
            continue;
        }
        if (sw_stage_outputs(p, s, plugins[g], &sc.ports[g], &sc.n_ports[g], d) == 0)
            sc.known[g] = 1;
    }
    for (size_t g = 0; g < total; g++) {
        const sw_stage_spec *s = g < p->n_stages ? &p->stages[g] : &p->on_failure[g - p->n_stages];
        sc.at = s;
        if (plugins[g]) {
            sw_params_check(plugins[g]->desc.params, p->doc, s->node, s->with, s->id, scope_lookup,
                            &sc, d);
            check_inputs(&sc, s, plugins[g], d);
        }
        check_gate(p, s, d);
    }
    for (size_t g = 0; g < total; g++)
        sw_ports_free(sc.ports[g], sc.n_ports[g]);
    free(sc.ports);
    free(sc.n_ports);
    free(sc.known);
    free(plugins);
    return sw_diags_errors(d) > before ? -1 : 0;
}
