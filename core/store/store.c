/* store.c - the release store over either backend: opening, ids and digests, storing and
   reading releases, resolving references. */
#include "store_impl.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"

#define DEFAULT_LOCK_TIMEOUT_MS 30000

/* The keys of the release record: everything else is content, hashed into the id. */
static const char *const record_keys[] = {"id", "digest", "created_at", "created_by", "run_id"};

sw_store_status sw_store_fail(sw_store_error *err, sw_store_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

int sw_store_location_is_url(const char *location)
{
    return strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0;
}

int sw_store_locked_error(sw_err *err, const char *agent, long waited_ms, const char *what)
{
    return sw_err_set(err, "releases of '%s' are locked by another writer (waited %ld ms for %s)",
                      agent, waited_ms, what);
}

sw_store *sw_store_open(const char *location, sw_store_error *err)
{
    if (!location || !*location) {
        sw_store_fail(err, SW_STORE_INVALID, "release store: no state folder or URL given");
        return NULL;
    }
    sw_store *s = sw_xcalloc(1, sizeof *s);
    s->location = sw_xstrdup(location);
    s->lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS;
    int rc = sw_store_location_is_url(location) ? sw_pg_open(s, err) : sw_folder_open(s, err);
    if (rc != 0) {
        sw_store_close(s);
        return NULL;
    }
    return s;
}

void sw_store_close(sw_store *s)
{
    if (!s)
        return;
    if (s->backend)
        s->backend->close(s);
    free(s->location);
    free(s->root);
    free(s->state_dir);
    free(s);
}

const char *sw_store_dir(const sw_store *s)
{
    return s->root;
}

const char *sw_store_location(const sw_store *s)
{
    return s->location;
}

const char *sw_store_backend_name(const sw_store *s)
{
    return s->backend->name;
}

void sw_store_set_lock_timeout(sw_store *s, long ms)
{
    s->lock_timeout_ms = ms;
}

int sw_release_id_valid(const char *id)
{
    if (!id || strlen(id) != SW_RELEASE_ID_LEN)
        return 0;
    for (const char *p = id; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return 0;
    return 1;
}

const char *sw_change_user(const sw_change_info *info)
{
    if (info && info->by && *info->by)
        return info->by;
    const char *u = getenv("SLIPWAY_USER");
    if (u && *u)
        return u;
    u = getenv("USER");
    return u && *u ? u : "unknown";
}

/* ---- manifests ---- */

int sw_manifest_digest(const json_t *manifest, char digest[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    json_t *content = json_copy((json_t *)manifest);
    for (size_t i = 0; i < sizeof record_keys / sizeof record_keys[0]; i++)
        json_object_del(content, record_keys[i]);
    char *text = sw_canon_json(content, err);
    json_decref(content);
    if (!text)
        return -1;
    sw_sha256_hex(text, strlen(text), digest);
    free(text);
    return 0;
}

json_t *sw_manifest_parse(const char *text, size_t len, const char *where, sw_err *err)
{
    json_error_t je;
    json_t *m = json_loadb(text, len, 0, &je);
    if (!json_is_object(m)) {
        sw_err_set(err, "%s:%d: not a manifest: %s", where, je.line, m ? "not an object" : je.text);
        json_decref(m);
        return NULL;
    }
    return m;
}

json_t *sw_store_load_manifest(sw_store *s, const char *agent, const char *id, int *missing,
                               sw_err *err)
{
    int absent = 0;
    json_t *m = s->backend->load_manifest(s, agent, id, &absent, err);
    if (missing)
        *missing = absent;
    return m;
}

/* ---- writing ---- */

int sw_store_put(sw_store *s, const sw_bundle *b, const json_t *manifest, int *existed, sw_err *err)
{
    const char *agent = json_string_value(json_object_get(manifest, "agent"));
    const char *id = json_string_value(json_object_get(manifest, "id"));
    const char *digest = json_string_value(json_object_get(manifest, "digest"));
    if (!agent || !sw_agent_name_valid(agent) || !sw_release_id_valid(id) || !digest)
        return sw_err_set(err, "release store: the manifest lacks a valid agent, id or digest");
    char *text = sw_canon_json(manifest, err);
    if (!text)
        return -1;
    sw_buf full = {0};
    sw_buf_puts(&full, text);
    sw_buf_puts(&full, "\n");
    free(text);
    int rc = s->backend->put(s, b, agent, id, full.data, digest, existed, err);
    sw_buf_free(&full);
    return rc;
}

/* ---- reading ---- */

json_t *sw_channels_load(sw_store *s, const char *agent, sw_err *err)
{
    return s->backend->load_channels(s, agent, err);
}

sw_store_status sw_store_agents(sw_store *s, char **json, sw_store_error *err)
{
    *json = NULL;
    json_t *arr = json_array();
    sw_err e = {{0}};
    if (s->backend->agents(s, arr, &e) != 0) {
        json_decref(arr);
        return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    }
    *json = sw_json_text(arr);
    json_decref(arr);
    return SW_STORE_OK;
}

static sw_store_status check_agent(const char *agent, sw_store_error *err)
{
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    return SW_STORE_OK;
}

static int cmp_summary(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *ca = json_string_value(json_object_get(x, "created_at"));
    const char *cb = json_string_value(json_object_get(y, "created_at"));
    int c = strcmp(ca ? ca : "", cb ? cb : "");
    if (c)
        return c;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

/* The names pointing at id in channels.json: channels in one array, tags in another. */
static void names_for(const json_t *ch, const char *id, json_t *channels, json_t *tags)
{
    static const char *const chans[] = {"stable", "candidate"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(ch, chans[i]));
        if (v && strcmp(v, id) == 0)
            json_array_append_new(channels, json_string(chans[i]));
    }
    const char *tag;
    json_t *v;
    json_object_foreach(json_object_get(ch, "tags"), tag, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            json_array_append_new(tags, json_string(tag));
    }
}

sw_store_status sw_store_releases(sw_store *s, const char *agent, char **json, sw_store_error *err)
{
    *json = NULL;
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    json_t *ids = json_array();
    sw_err le = {{0}};
    if (s->backend->release_ids(s, agent, ids, &le) != 0) {
        json_decref(ids);
        return sw_store_fail(err, SW_STORE_ERROR, "%s", le.msg);
    }
    size_t n = json_array_size(ids);
    if (n == 0) {
        json_decref(ids);
        return sw_store_fail(err, SW_STORE_NOT_FOUND, "no releases of agent '%s' in %s", agent,
                             s->location);
    }
    sw_err e = {{0}};
    json_t *ch = sw_channels_load(s, agent, &e);
    json_t **rows = sw_xmalloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        json_t *m = sw_store_load_manifest(s, agent, id, NULL, &e);
        json_t *row;
        if (!m) {
            /* Listed rather than hidden, so a damaged store is noticed. */
            row = json_pack("{s:s, s:s, s:s}", "id", id, "agent", agent, "damaged", e.msg);
        } else {
            json_t *model = json_object_get(m, "model");
            row = json_pack("{s:s, s:s, s:s?, s:O?, s:O?, s:O?, s:O?}", "id", id, "agent", agent,
                            "model", json_string_value(json_object_get(model, "name")),
                            "created_at", json_object_get(m, "created_at"), "created_by",
                            json_object_get(m, "created_by"), "run_id",
                            json_object_get(m, "run_id"), "source", json_object_get(m, "source"));
        }
        json_t *channels = json_array(), *tags = json_array();
        names_for(ch, id, channels, tags);
        json_object_set_new(row, "channels", channels);
        json_object_set_new(row, "tags", tags);
        rows[i] = row;
        json_decref(m);
    }
    qsort(rows, n, sizeof *rows, cmp_summary);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, rows[i]);
    free(rows);
    json_decref(ids);
    json_decref(ch);
    *json = sw_json_text(arr);
    json_decref(arr);
    return SW_STORE_OK;
}

sw_store_status sw_store_manifest(sw_store *s, const char *agent, const char *id, char **json,
                                  sw_store_error *err)
{
    *json = NULL;
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    sw_err e = {{0}};
    int missing;
    json_t *m = sw_store_load_manifest(s, agent, id, &missing, &e);
    if (!m)
        return sw_store_fail(err, missing ? SW_STORE_NOT_FOUND : SW_STORE_ERROR, "%s",
                             missing ? "no such release" : e.msg);
    *json = sw_json_text(m);
    json_decref(m);
    return SW_STORE_OK;
}

sw_store_status sw_store_release_dir(sw_store *s, const char *agent, const char *id, char **path,
                                     sw_store_error *err)
{
    *path = NULL;
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    sw_err e = {{0}};
    int missing = 0;
    *path = s->backend->release_dir(s, agent, id, &missing, &e);
    if (!*path)
        return sw_store_fail(err, missing ? SW_STORE_NOT_FOUND : SW_STORE_ERROR, "%s", e.msg);
    return SW_STORE_OK;
}

typedef struct file_check {
    const char *id;
    const json_t *files; /* the manifest's: path -> {sha256} */
    json_t *seen;        /* path -> true */
    sw_store_error *err;
    sw_store_status st;
} file_check;

static int check_file(const char *path, const char *data, size_t len, void *ud)
{
    file_check *c = ud;
    const char *sha = json_string_value(json_object_get(json_object_get(c->files, path), "sha256"));
    char got[SW_SHA256_HEX_LEN + 1];
    sw_sha256_hex(data, len, got);
    if (!sha || strcmp(sha, got) != 0) {
        c->st = sw_store_fail(c->err, SW_STORE_ERROR, "release %s: %s has SHA-256 %s, not %s",
                              c->id, path, got, sha ? sha : "(none: not in the manifest)");
        return 1;
    }
    json_object_set_new(c->seen, path, json_true());
    return 0;
}

/* Every file the manifest lists against its SHA-256, in one read when the backend can. */
static sw_store_status verify_files(sw_store *s, const char *agent, const char *id,
                                    const json_t *files, sw_store_error *err)
{
    file_check c = {.id = id, .files = files, .seen = json_object(), .err = err};
    sw_err e = {{0}};
    const char *path;
    json_t *f;
    if (s->backend->each_file) {
        if (s->backend->each_file(s, agent, id, check_file, &c, &e) != 0)
            c.st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s", id, e.msg);
    } else {
        json_object_foreach((json_t *)files, path, f)
        {
            size_t len;
            char *data = s->backend->load_file(s, agent, id, path, &len, &e);
            if (!data)
                c.st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s", id, e.msg);
            else
                check_file(path, data, len, &c);
            free(data);
            if (c.st != SW_STORE_OK)
                break;
        }
    }
    json_object_foreach((json_t *)files, path, f)
    {
        if (c.st != SW_STORE_OK)
            break;
        if (!json_object_get(c.seen, path))
            c.st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s holds no file %s", id,
                                 sw_store_location(s), path);
    }
    json_decref(c.seen);
    return c.st;
}

sw_store_status sw_store_verify(sw_store *s, const char *agent, const char *id, sw_store_error *err)
{
    if (check_agent(agent, err) != SW_STORE_OK)
        return SW_STORE_INVALID;
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id ? id : "");
    sw_err e = {{0}};
    int missing;
    json_t *m = sw_store_load_manifest(s, agent, id, &missing, &e);
    if (!m)
        return sw_store_fail(err, missing ? SW_STORE_NOT_FOUND : SW_STORE_ERROR, "%s", e.msg);
    sw_store_status st = SW_STORE_OK;
    char digest[SW_SHA256_HEX_LEN + 1];
    const char *want = json_string_value(json_object_get(m, "digest"));
    if (sw_manifest_digest(m, digest, &e) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR, "release %s: %s", id, e.msg);
    else if (!want || strcmp(want, digest) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR,
                           "release %s: manifest content does not match its digest", id);
    else if (strncmp(digest, id, SW_RELEASE_ID_LEN) != 0 ||
             !json_is_string(json_object_get(m, "id")) ||
             strcmp(json_string_value(json_object_get(m, "id")), id) != 0)
        st = sw_store_fail(err, SW_STORE_ERROR, "release %s: the manifest hashes to %.*s", id,
                           SW_RELEASE_ID_LEN, digest);
    if (st == SW_STORE_OK)
        st = verify_files(s, agent, id, json_object_get(m, "files"), err);
    json_decref(m);
    return st;
}

/* ---- references ---- */

static int is_hex(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return 0;
    return 1;
}

/* Ids of one agent starting with prefix, appended as "agent\tid" strings to out. */
static void match_prefix(sw_store *s, const char *agent, const char *prefix, json_t *out)
{
    json_t *ids = json_array();
    sw_err e = {{0}};
    s->backend->release_ids(s, agent, ids, &e);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (strncmp(json_string_value(v), prefix, strlen(prefix)) == 0)
            json_array_append_new(out, json_pack("[s,s]", agent, json_string_value(v)));
    }
    json_decref(ids);
}

static sw_store_status pick(json_t *matches, const char *ref, char **agent_out, char **id_out,
                            sw_store_error *err)
{
    size_t n = json_array_size(matches);
    if (n == 0)
        return sw_store_fail(err, SW_STORE_NOT_FOUND, "no release matches '%s'", ref);
    if (n > 1) {
        sw_buf b = {0};
        for (size_t i = 0; i < n && i < 5; i++) {
            json_t *m = json_array_get(matches, i);
            sw_buf_printf(&b, "%s%s:%s", i ? ", " : "", json_string_value(json_array_get(m, 0)),
                          json_string_value(json_array_get(m, 1)));
        }
        sw_store_status st =
            sw_store_fail(err, SW_STORE_INVALID, "'%s' is ambiguous: it matches %s%s", ref, b.data,
                          n > 5 ? ", ..." : "");
        sw_buf_free(&b);
        return st;
    }
    json_t *m = json_array_get(matches, 0);
    *agent_out = sw_xstrdup(json_string_value(json_array_get(m, 0)));
    *id_out = sw_xstrdup(json_string_value(json_array_get(m, 1)));
    return SW_STORE_OK;
}

/* NAME within one agent: a channel, a tag, or an id prefix. */
static void resolve_in(sw_store *s, const char *agent, const char *name, json_t *matches)
{
    if (strcmp(name, "stable") == 0 || strcmp(name, "candidate") == 0) {
        sw_err e = {{0}};
        json_t *ch = sw_channels_load(s, agent, &e);
        const char *id = json_string_value(json_object_get(ch, name));
        if (id)
            json_array_append_new(matches, json_pack("[s,s]", agent, id));
        json_decref(ch);
        return;
    }
    sw_err e = {{0}};
    json_t *ch = sw_channels_load(s, agent, &e);
    const char *tagged = json_string_value(json_object_get(json_object_get(ch, "tags"), name));
    if (tagged)
        json_array_append_new(matches, json_pack("[s,s]", agent, tagged));
    json_decref(ch);
    if (!tagged && is_hex(name) && strlen(name) >= 4)
        match_prefix(s, agent, name, matches);
}

sw_store_status sw_store_resolve(sw_store *s, const char *agent, const char *ref, char **agent_out,
                                 char **id_out, sw_store_error *err)
{
    *agent_out = *id_out = NULL;
    if (!ref || !*ref)
        return sw_store_fail(err, SW_STORE_INVALID, "empty release reference");
    json_t *matches = json_array();
    const char *colon = strchr(ref, ':');
    if (colon) {
        char *a = sw_xstrndup(ref, (size_t)(colon - ref));
        if (!sw_agent_name_valid(a)) {
            free(a);
            json_decref(matches);
            return sw_store_fail(err, SW_STORE_INVALID, "'%s': '%.*s' is not an agent name", ref,
                                 (int)(colon - ref), ref);
        }
        resolve_in(s, a, colon + 1, matches);
        free(a);
    } else if (agent) {
        if (check_agent(agent, err) != SW_STORE_OK) {
            json_decref(matches);
            return SW_STORE_INVALID;
        }
        resolve_in(s, agent, ref, matches);
    } else {
        if (is_hex(ref) && strlen(ref) < 4) {
            json_decref(matches);
            return sw_store_fail(err, SW_STORE_INVALID,
                                 "'%s': give at least 4 digits of a release id", ref);
        }
        json_t *agents = json_array();
        sw_err e = {{0}};
        if (s->backend->agents(s, agents, &e) != 0) {
            json_decref(agents);
            json_decref(matches);
            return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
        }
        size_t i;
        json_t *v;
        json_array_foreach(agents, i, v)
        {
            resolve_in(s, json_string_value(v), ref, matches);
        }
        json_decref(agents);
    }
    sw_store_status st = pick(matches, ref, agent_out, id_out, err);
    json_decref(matches);
    return st;
}
