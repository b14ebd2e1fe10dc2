/* release.c - making a release from a bundle (validate, pin, hash, store, diff,
   candidate), and diffing stored releases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "base/fsutil.h"
#include "canon.h"
#include "gitinfo.h"
#include "reldiff.h"
#include "store_impl.h"

/* Parse the JSON options; returns INVALID with a diagnostic on bad ones. */
static sw_store_status parse_opts(const sw_release_options *o, json_t **deny, json_t **vars,
                                  sw_diags *d, sw_store_error *err)
{
    json_error_t je;
    *deny = o->deny_models_json ? json_loads(o->deny_models_json, 0, &je) : json_array();
    int ok = json_is_array(*deny);
    size_t i;
    json_t *v;
    json_array_foreach(*deny, i, v)
    {
        ok = ok && json_is_string(v);
    }
    if (!ok) {
        sw_diag_error(d, (sw_pos){0}, "deny_models must be a list of glob patterns (strings)");
        return sw_store_fail(err, SW_STORE_INVALID,
                             "deny_models must be a list of glob patterns (strings)");
    }
    *vars = o->vars_json ? json_loads(o->vars_json, 0, &je) : json_object();
    if (!json_is_object(*vars)) {
        sw_diag_error(d, (sw_pos){0}, "vars must be a map of template values");
        return sw_store_fail(err, SW_STORE_INVALID, "vars must be a map of template values");
    }
    return SW_STORE_OK;
}

/* Floating alias policy. Returns REFUSED (with a diagnostic at the model's line)
   unless the model is pinned or the caller allows aliases. */
static sw_store_status check_model(const sw_bundle *b, const json_t *deny, int allow, sw_diags *d,
                                   sw_store_error *err)
{
    size_t n = json_array_size(deny);
    const char **pats = sw_xmalloc((n + 1) * sizeof *pats);
    for (size_t i = 0; i < n; i++)
        pats[i] = json_string_value(json_array_get(deny, i));
    sw_alias_verdict v;
    sw_model_alias_check(b->provider, b->model, pats, n, &v);
    free(pats);
    if (!v.floating)
        return SW_STORE_OK;
    sw_pos at = {b->agent_file, b->model_line, b->model_col};
    char hint[200] = "";
    if (v.suggestion[0])
        snprintf(hint, sizeof hint, "; pin a version such as '%s'", v.suggestion);
    if (allow) {
        sw_diag_warning(d, at, "%s%s (allowed by allow_floating_alias)", v.reason, hint);
        json_object_set_new(json_object_get(b->manifest, "model"), "floating", json_true());
        return SW_STORE_OK;
    }
    sw_diag_error(d, at, "%s%s, or set allow_floating_alias", v.reason, hint);
    return sw_store_fail(err, SW_STORE_REFUSED, "%s:%d:%d: %s%s", b->agent_file, b->model_line,
                         b->model_col, v.reason, hint);
}

static sw_store_status load_stable(sw_store *s, const char *agent, char **stable, json_t **m,
                                   sw_store_error *err)
{
    *m = NULL;
    sw_store_status st = sw_store_channel(s, agent, "stable", stable, err);
    if (st != SW_STORE_OK || !*stable)
        return st;
    sw_err e = {{0}};
    *m = sw_store_load_manifest(s, agent, *stable, NULL, &e);
    if (!*m)
        return sw_store_fail(err, SW_STORE_ERROR, "the stable release %s of '%s': %s", *stable,
                             agent, e.msg);
    return SW_STORE_OK;
}

sw_store_status sw_store_create_release(sw_store *s, const char *bundle_dir,
                                        const sw_release_options *opts, sw_diags *diags,
                                        char **result, sw_store_error *err)
{
    *result = NULL;
    sw_release_options none = {0};
    if (!opts)
        opts = &none;
    sw_diags *own = diags ? NULL : sw_diags_new();
    if (own)
        diags = own;
    json_t *deny = NULL, *vars = NULL, *stable_m = NULL, *stored = NULL;
    sw_bundle *b = NULL;
    char *commit = NULL, *stable = NULL, *cand_before = NULL, *dir = NULL;
    sw_store_status st = parse_opts(opts, &deny, &vars, diags, err);
    if (st != SW_STORE_OK)
        goto out;

    sw_bundle_opts bo = {opts->agent, vars, opts->max_bundle_bytes};
    b = sw_bundle_load(bundle_dir, &bo, diags);
    if (!b) {
        /* The first error itself, so a one-line reason (a run's failure, a log
           shown without the diagnostics) says what and where. */
        char *first = NULL;
        for (size_t i = 0; i < sw_diags_count(diags) && !first; i++)
            if (sw_diags_at(diags, i)->severity == SW_SEVERITY_ERROR)
                first = sw_diags_format(diags, i);
        size_t more = sw_diags_errors(diags) ? sw_diags_errors(diags) - 1 : 0;
        char tail[64] = "";
        if (more)
            snprintf(tail, sizeof tail, " (and %zu more error(s))", more);
        st = sw_store_fail(err, SW_STORE_INVALID, "bundle '%s' is not valid: %s%s", bundle_dir,
                           first ? first : "no detail", tail);
        free(first);
        goto out;
    }
    if ((st = check_model(b, deny, opts->allow_floating_alias, diags, err)) != SW_STORE_OK)
        goto out;

    int dirty = 0;
    commit = sw_git_commit(b->real_dir, &dirty);
    if (commit && dirty && !opts->allow_dirty) {
        sw_diag_error(diags, (sw_pos){b->dir, 0, 0},
                      "the bundle's git work tree has uncommitted changes (HEAD %.12s): commit "
                      "them, or set allow_dirty",
                      commit);
        st = sw_store_fail(err, SW_STORE_REFUSED,
                           "%s: the git work tree has uncommitted changes (allow_dirty is off)",
                           b->dir);
        goto out;
    }
    json_object_set_new(b->manifest, "source",
                        json_pack("{s:s?, s:b}", "commit", commit, "dirty", commit && dirty));

    /* The candidate as it was before the work: changed meanwhile means another
       pipeline is releasing this agent, which the compare-and-swap below reports. */
    if (opts->set_candidate &&
        (st = sw_store_channel(s, b->agent, "candidate", &cand_before, err)) != SW_STORE_OK)
        goto out;

    sw_err e = {{0}};
    char digest[SW_SHA256_HEX_LEN + 1], id[SW_RELEASE_ID_LEN + 1];
    if (sw_manifest_digest(b->manifest, digest, &e) != 0) {
        st = sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
        goto out;
    }
    memcpy(id, digest, SW_RELEASE_ID_LEN);
    id[SW_RELEASE_ID_LEN] = '\0';
    json_t *m = json_copy(b->manifest);
    char now[32];
    sw_iso8601_now(now);
    json_object_set_new(m, "id", json_string(id));
    json_object_set_new(m, "digest", json_string(digest));
    json_object_set_new(m, "created_at", json_string(now));
    json_object_set_new(m, "created_by", json_string(sw_change_user(&opts->info)));
    json_object_set_new(m, "run_id",
                        opts->info.run_id ? json_string(opts->info.run_id) : json_null());
    int existed = 0;
    int rc = sw_store_put(s, b, m, &existed, &e);
    json_decref(m);
    if (rc != 0) {
        st = sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
        goto out;
    }
    int missing;
    stored = sw_store_load_manifest(s, b->agent, id, &missing, &e);
    if (!stored) {
        st = sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
        goto out;
    }

    if ((st = load_stable(s, b->agent, &stable, &stable_m, err)) != SW_STORE_OK)
        goto out;
    json_t *diff = sw_release_diff(stable_m, stored);

    const char *candidate = cand_before;
    if (opts->set_candidate) {
        sw_change_info info = opts->info;
        if (!info.reason)
            info.reason = existed ? "release (unchanged content)" : "new release";
        st = sw_store_set_channel(s, b->agent, "candidate", id, cand_before, &info, err);
        if (st != SW_STORE_OK) {
            json_decref(diff);
            goto out;
        }
        candidate = id;
    } else {
        free(cand_before);
        cand_before = NULL;
        sw_store_channel(s, b->agent, "candidate", &cand_before, NULL);
        candidate = cand_before;
    }
    if ((st = sw_store_release_dir(s, b->agent, id, &dir, err)) != SW_STORE_OK) {
        json_decref(diff);
        goto out;
    }
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:O, s:s?, s:b, s:O, s:o, s:s, s:s?}", "id", id, "agent",
                  b->agent, "model", b->model, "manifest", stored, "previous", stable, "changed",
                  !existed, "breaking_changes", json_object_get(diff, "breaking_changes"), "diff",
                  diff, "dir", dir, "candidate", candidate);
    *result = sw_json_text(r);
    json_decref(r);
    st = SW_STORE_OK;
out:
    json_decref(deny);
    json_decref(vars);
    json_decref(stable_m);
    json_decref(stored);
    sw_bundle_free(b);
    free(commit);
    free(stable);
    free(cand_before);
    free(dir);
    sw_diags_free(own);
    return st;
}

static sw_store_status load_for_diff(sw_store *s, const char *agent, const char *id, json_t **m,
                                     sw_store_error *err)
{
    *m = NULL;
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    sw_err e = {{0}};
    int missing;
    *m = sw_store_load_manifest(s, agent, id, &missing, &e);
    if (!*m)
        return sw_store_fail(err, missing ? SW_STORE_NOT_FOUND : SW_STORE_ERROR, "%s: %s", id,
                             missing ? "no such release" : e.msg);
    return SW_STORE_OK;
}

sw_store_status sw_store_diff(sw_store *s, const char *agent_a, const char *id_a,
                              const char *agent_b, const char *id_b, char **json, char **text,
                              sw_store_error *err)
{
    *json = NULL;
    if (text)
        *text = NULL;
    json_t *a = NULL, *b = NULL;
    sw_store_status st = SW_STORE_OK;
    if (id_a)
        st = load_for_diff(s, agent_a, id_a, &a, err);
    if (st == SW_STORE_OK)
        st = load_for_diff(s, agent_b, id_b, &b, err);
    if (st == SW_STORE_OK) {
        json_t *d = sw_release_diff(a, b);
        *json = sw_json_text(d);
        if (text)
            *text = sw_release_diff_text(d);
        json_decref(d);
    }
    json_decref(a);
    json_decref(b);
    return st;
}
