/*
 * loader.c - finding plugins on the search path, opening them, and checking
 * the descriptor each one hands back before the host relies on any of it.
 *
 * Everything a plugin declares is checked here, once, at load time, so that
 * the checker, the runner and `slipway plugins` can trust a loaded descriptor
 * without re-validating it: a bad plugin is refused with a message naming the
 * plugin, its file and the offending field, never discovered mid-run.
 *
 * Unloading: sw_loader_free dlcloses every plugin. When the environment
 * variable SLIPWAY_NO_DLCLOSE is set (to anything) it leaves them mapped, so
 * that valgrind and ASan can still symbolize plugin frames in leak reports
 * printed at exit; the cost is only that the mappings live until exit.
 *
 * Trust: unless allowed (sw_loader_allow_insecure, or the environment variable
 * SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH=1), a plugin is loaded only from a folder
 * and a file that trust.h accepts: nobody but root and the current user can
 * write them. A pinned plugin (sw_loader_pin) is hashed from an open
 * descriptor and loaded from that same descriptor (/proc/self/fd/N), so what
 * was hashed is the inode that is mapped, whatever happens to the name
 * meanwhile; docs/security.md says what window remains.
 */
#include "loader.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "model/params.h"
#include "model/value.h"
#include "trust.h"

/* The descriptor as ABI 1.0 defined it ends with fini. A plugin built against
   any 1.x declares at least this much; later minors only append. */
#define DESC_MIN_1_0 (offsetof(sw_stage_desc, fini) + sizeof(((sw_stage_desc *)0)->fini))

#define NAME_MAX_LEN 64
#define BUILTIN_PATH "(built-in)"
#define INSECURE_ENV "SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH"
#define INSECURE_HOW                                                                               \
    "; allow it with " INSECURE_ENV "=1 or, in the pipeline, plugins: {allow_insecure_path: true}"

typedef struct entry {
    sw_plugin pub;
    char *real; /* canonical path of the .so; NULL for built-ins */
    int fd;     /* a pinned plugin: the descriptor it was hashed from and loaded through; else -1 */
    char sha256[SW_SHA256_HEX_LEN + 1]; /* a pinned plugin's verified digest; else "" */
} entry;

typedef struct pin {
    char *name;
    char sha256[SW_SHA256_HEX_LEN + 1];
} pin;

struct sw_loader {
    const sw_host *host;
    char **dirs;
    size_t ndirs;
    entry **items; /* pointers, so a returned sw_plugin * survives later loads */
    size_t n, cap;
    int allow_insecure;
    pin *pins;
    size_t npins;
};

/* ---- small helpers ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "dir/emit.so" -> "emit": the name a file would be found under. Caller frees. */
static char *file_stem(const char *path)
{
    const char *b = base_name(path);
    size_t n = strlen(b);
    if (ends_with(b, ".so"))
        n -= 3;
    return sw_xstrndup(b, n);
}

static char *join(const char *dir, const char *name)
{
    return sw_xasprintf("%s%s%s", dir, ends_with(dir, "/") ? "" : "/", name);
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int valid_plugin_name(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n <= NAME_MAX_LEN;
}

/* [a-z_][a-z0-9_]*: parameter and output names, which are also Lua field names. */
static int valid_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int valid_type(sw_type t)
{
    /* Cast first: the value comes from foreign code and may be any int. */
    return (unsigned)t <= (unsigned)SW_TYPE_ANY;
}

/* The bytes a parameter of type t occupies in the config struct (plugin.h's table). */
static size_t field_size(sw_type t)
{
    switch (t) {
    case SW_TYPE_BOOL:
        return sizeof(int);
    case SW_TYPE_INT:
        return sizeof(int64_t);
    case SW_TYPE_DOUBLE:
        return sizeof(double);
    default:
        return sizeof(const char *);
    }
}

static void unload(void *handle)
{
    if (handle && !getenv("SLIPWAY_NO_DLCLOSE"))
        dlclose(handle);
}

static void fd_name(int fd, char out[32])
{
    snprintf(out, 32, "/proc/self/fd/%d", fd);
}

/*
 * A pinned plugin is known to the dynamic linker as "/proc/self/fd/N", and it
 * matches names before files: were N closed and reused for another plugin
 * while the object stays mapped (a library that cannot be unloaded, or one
 * another loader holds), dlopen of the new "/proc/self/fd/N" would return the
 * old object. So N is closed only once no object answers to that name.
 */
static void unload_pinned(void *handle, int fd)
{
    if (getenv("SLIPWAY_NO_DLCLOSE"))
        return;
    if (handle)
        dlclose(handle);
    if (fd < 0)
        return;
    char name[32];
    fd_name(fd, name);
    void *still = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
    if (still) {
        dlclose(still);
        return; /* keep fd open: the name must keep meaning this file */
    }
    close(fd);
}

static int insecure_allowed(const sw_loader *L)
{
    const char *env = getenv(INSECURE_ENV);
    return L->allow_insecure || (env && strcmp(env, "1") == 0);
}

static pin *find_pin(const sw_loader *L, const char *name)
{
    for (size_t i = 0; i < L->npins; i++)
        if (strcmp(L->pins[i].name, name) == 0)
            return &L->pins[i];
    return NULL;
}

static entry *by_name(const sw_loader *L, const char *name)
{
    for (size_t i = 0; i < L->n; i++)
        if (strcmp(L->items[i]->pub.name, name) == 0)
            return L->items[i];
    return NULL;
}

static entry *by_real(const sw_loader *L, const char *real)
{
    for (size_t i = 0; i < L->n; i++)
        if (L->items[i]->real && strcmp(L->items[i]->real, real) == 0)
            return L->items[i];
    return NULL;
}

/* Takes ownership of real. */
static entry *add_entry(sw_loader *L, const sw_stage_desc *desc, const char *path, char *real,
                        void *handle, int builtin)
{
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 8;
        L->items = sw_xrealloc(L->items, L->cap * sizeof *L->items);
    }
    entry *e = sw_xcalloc(1, sizeof *e);
    e->fd = -1;
    e->pub.desc = *desc;
    e->pub.name = sw_xstrdup(desc->name);
    e->pub.path = sw_xstrdup(path);
    e->pub.handle = handle;
    e->pub.builtin = builtin;
    e->real = real;
    L->items[L->n++] = e;
    return e;
}

/* ---- descriptor checks ---- */

/*
 * sw_param and sw_port have no ABI header of their own: their layout is
 * frozen for ABI major 1, and were a later minor ever to need a per-entry
 * field, the host would know each entry's size from the descriptor's
 * abi_minor (minor 1 changed neither). Unknown flag bits are ignored
 * rather than refused, for the same forward-compatibility reason.
 */
static int check_params(const sw_stage_desc *d, const char *who, sw_err *err)
{
    if (!d->params)
        return 0;
    for (size_t i = 0; d->params[i].name; i++) {
        const sw_param *p = &d->params[i];
        if (!valid_ident(p->name))
            return sw_err_set(err,
                              "%s: parameter '%s' has an invalid name: parameter names match "
                              "[a-z_][a-z0-9_]*",
                              who, p->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->params[j].name, p->name) == 0)
                return sw_err_set(err, "%s: parameter '%s' is declared twice", who, p->name);
        if (!valid_type(p->type))
            return sw_err_set(err, "%s: parameter '%s' has an invalid type (%d)", who, p->name,
                              (int)p->type);
        if (p->type == SW_TYPE_NULL)
            return sw_err_set(err, "%s: parameter '%s' has type null, which can hold no value", who,
                              p->name);
        size_t size = field_size(p->type);
        if (p->offset > d->config_size || size > d->config_size - p->offset)
            return sw_err_set(err,
                              "%s: parameter '%s' (%s, %zu bytes at offset %zu) does not fit in "
                              "the config struct (config_size %zu)",
                              who, p->name, sw_type_name(p->type), size, p->offset, d->config_size);
        if ((p->flags & SW_PARAM_REQUIRED) && p->default_value)
            return sw_err_set(err,
                              "%s: parameter '%s' is required and has a default (\"%s\"); a "
                              "required parameter has none",
                              who, p->name, p->default_value);
        if (p->default_value) {
            sw_err e = {{0}};
            /* Its message names the parameter and the default already. */
            if (sw_param_default_valid(p, &e) < 0)
                return sw_err_set(err, "%s: %s", who, e.msg);
        }
    }
    return 0;
}

static int check_inputs(const sw_stage_desc *d, const char *who, sw_err *err)
{
    if (!d->inputs)
        return 0;
    /* Inputs are full keys ("failure.reason", "env.API_KEY"): their owners follow
       other rules than output names, so only emptiness, types and repeats are checked. */
    for (size_t i = 0; d->inputs[i].name; i++) {
        const sw_port *p = &d->inputs[i];
        if (!*p->name)
            return sw_err_set(err, "%s: input #%zu has an empty name", who, i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->inputs[j].name, p->name) == 0)
                return sw_err_set(err, "%s: input '%s' is declared twice", who, p->name);
        if (!valid_type(p->type))
            return sw_err_set(err, "%s: input '%s' has an invalid type (%d)", who, p->name,
                              (int)p->type);
    }
    return 0;
}

static int check_outputs(const sw_stage_desc *d, const char *who, sw_err *err)
{
    if (!d->outputs)
        return 0;
    for (size_t i = 0; d->outputs[i].name; i++) {
        const sw_port *p = &d->outputs[i];
        if (!valid_ident(p->name))
            return sw_err_set(err,
                              "%s: output '%s' has an invalid name: output names match "
                              "[a-z_][a-z0-9_]*",
                              who, p->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->outputs[j].name, p->name) == 0)
                return sw_err_set(err, "%s: output '%s' is declared twice", who, p->name);
        if (!valid_type(p->type))
            return sw_err_set(err, "%s: output '%s' has an invalid type (%d)", who, p->name,
                              (int)p->type);
        if (p->type == SW_TYPE_ANY)
            return sw_err_set(err,
                              "%s: output '%s' has type any; an output declares the one type it "
                              "writes, so later stages can be type-checked",
                              who, p->name);
    }
    return 0;
}

/* Check the descriptor a plugin returned and copy it, zero-extended, into *out. */
static int check_desc(const sw_stage_desc *raw, const char *path, sw_stage_desc *out, sw_err *err)
{
    char *stem = file_stem(path);
    int rc = -1;
    if (!raw) {
        sw_err_set(err, "plugin '%s' (%s): sw_plugin_entry returned no descriptor", stem, path);
        goto done;
    }
    /* The header is the same in every major; name is assumed to stay the first field
       after it, so a plugin of another major can still be named in the message. */
    const char *shown = stem;
    if (raw->struct_size >= offsetof(sw_stage_desc, name) + sizeof raw->name && raw->name)
        shown = raw->name;
    if (raw->abi_major != SW_ABI_MAJOR) {
        sw_err_set(err, "plugin '%s' (%s) built for ABI %u.%u, host speaks %d.%d", shown, path,
                   (unsigned)raw->abi_major, (unsigned)raw->abi_minor, SW_ABI_MAJOR, SW_ABI_MINOR);
        goto done;
    }
    if (raw->struct_size < DESC_MIN_1_0) {
        sw_err_set(err,
                   "plugin '%s' (%s): descriptor is %u bytes, smaller than the ABI 1.0 "
                   "minimum of %zu",
                   shown, path, (unsigned)raw->struct_size, (size_t)DESC_MIN_1_0);
        goto done;
    }
    /* Read only what the plugin says it has: fields a newer host appended after the
       plugin was built read as zero (NULL callbacks, no tables). */
    size_t n = raw->struct_size < sizeof *out ? raw->struct_size : sizeof *out;
    memset(out, 0, sizeof *out);
    memcpy(out, raw, n);

    if (!out->name) {
        sw_err_set(err, "plugin '%s' (%s): the descriptor has no name", stem, path);
        goto done;
    }
    if (!valid_plugin_name(out->name)) {
        sw_err_set(err,
                   "plugin '%s' (%s): invalid name '%s': a plugin name matches [a-z][a-z0-9_-]* "
                   "and has at most %d characters",
                   stem, path, out->name, NAME_MAX_LEN);
        goto done;
    }
    char *who = sw_xasprintf("plugin '%s' (%s)", out->name, path);
    if (!out->run)
        sw_err_set(err, "%s: run is NULL; every stage needs a run callback", who);
    else if (!out->version)
        sw_err_set(err, "%s: version is NULL", who);
    else if (!out->summary)
        sw_err_set(err, "%s: summary is NULL (use \"\" for none)", who);
    else if (check_params(out, who, err) == 0 && check_inputs(out, who, err) == 0 &&
             check_outputs(out, who, err) == 0)
        rc = 0;
    free(who);
done:
    free(stem);
    return rc;
}

/* ---- loading ---- */

/* The folders a file is loaded from must be trusted: the search folder it was
   found in (search_dir), or for a path the folder its name is in, and the
   folder the file really is in when a symlink leads elsewhere. */
static int check_folders(const char *path, const char *real, const char *search_dir, sw_err *err)
{
    char *named = NULL;
    if (search_dir) {
        if (sw_trust_check_dir(search_dir, err) < 0)
            return -1;
        named = realpath(search_dir, NULL);
    } else {
        char *dir = sw_path_dirname(path);
        named = realpath(dir, NULL);
        if (!named) {
            sw_err_errno(err, "%s", dir);
            free(dir);
            return -1;
        }
        free(dir);
        if (sw_trust_check_dir(named, err) < 0) {
            free(named);
            return -1;
        }
    }
    char *real_dir = sw_path_dirname(real);
    int rc = 0;
    if (!named || strcmp(named, real_dir) != 0)
        rc = sw_trust_check_dir(real_dir, err);
    free(real_dir);
    free(named);
    return rc;
}

/* Open the file to load: checked on the descriptor unless insecure paths are
   allowed (then only opened, for a pin's hash). */
static int open_plugin(const sw_loader *L, const char *real, sw_err *err)
{
    if (!insecure_allowed(L))
        return sw_trust_open_file(real, err);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        sw_err_errno(err, "%s", real);
    return fd;
}

/* Load the file at path, or return the plugin already loaded from the same real
   file. expected, when not NULL, is the name the plugin was looked up by;
   search_dir the search folder it was found in (NULL for a path). */
static const sw_plugin *load(sw_loader *L, const char *path, const char *expected,
                             const char *search_dir, sw_err *err)
{
    char *real = realpath(path, NULL);
    if (!real) {
        sw_err_errno(err, "cannot load plugin '%s'", path);
        return NULL;
    }
    /* Pins name the file as `uses:` reaches it: the name searched for, or a
       path's file name without ".so". */
    char *stem = file_stem(path);
    const pin *pinned = find_pin(L, expected ? expected : stem);
    free(stem);
    entry *same = by_real(L, real);
    if (same) {
        free(real);
        if (expected && strcmp(same->pub.name, expected) != 0) {
            sw_err_set(err, "'%s' declares plugin '%s', expected '%s'", path, same->pub.name,
                       expected);
            return NULL;
        }
        if (pinned && strcmp(same->sha256, pinned->sha256) != 0) {
            sw_err_set(err,
                       "plugin '%s' (%s) is pinned to sha256:%s but this file was already loaded "
                       "%s",
                       pinned->name, path, pinned->sha256,
                       same->sha256[0] ? "with another digest" : "without a pin");
            return NULL;
        }
        return &same->pub;
    }

    void *handle = NULL;
    int fd = -1;
    char digest[SW_SHA256_HEX_LEN + 1] = "";
    sw_err why_err = {{0}};
    if (!insecure_allowed(L) && check_folders(path, real, search_dir, &why_err) < 0) {
        sw_err_set(err, "refusing to load plugin '%s': %s" INSECURE_HOW, path, why_err.msg);
        goto fail;
    }
    fd = open_plugin(L, real, &why_err);
    if (fd < 0) {
        sw_err_set(err, "refusing to load plugin '%s': %s%s", path, why_err.msg,
                   insecure_allowed(L) ? "" : INSECURE_HOW);
        goto fail;
    }

    dlerror();
    if (pinned) {
        if (sw_trust_sha256_fd(fd, path, digest, err) < 0)
            goto fail;
        if (strcmp(digest, pinned->sha256) != 0) {
            sw_err_set(err,
                       "plugin '%s' (%s) does not match its pin: the file's SHA-256 is %s, the "
                       "pipeline pins %s",
                       pinned->name, path, digest, pinned->sha256);
            goto fail;
        }
        /* The descriptor that was hashed is the one mapped: renaming another file
           over path since does not change what loads. */
        char name[32];
        fd_name(fd, name);
        if (access(name, R_OK) != 0) {
            sw_err_set(err,
                       "plugin '%s' (%s) is pinned, and pins need /proc to load the file that "
                       "was verified: %s is not available",
                       pinned->name, path, name);
            goto fail;
        }
        handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    } else {
        /* The file passed its checks on fd; the canonical path always has a '/', so
           dlopen never searches the library path. */
        close(fd);
        fd = -1;
        handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    }
    if (!handle) {
        const char *why = dlerror();
        sw_err_set(err, "cannot load plugin '%s': %s", path, why ? why : "unknown dlopen error");
        goto fail;
    }
    void *sym = dlsym(handle, SW_PLUGIN_ENTRY_NAME);
    if (!sym) {
        sw_err_set(err, "'%s' is not a Slipway plugin: it exports no " SW_PLUGIN_ENTRY_NAME, path);
        goto fail;
    }
    sw_plugin_entry_fn entry_fn = (sw_plugin_entry_fn)sym;
    char why[512] = "";
    const sw_stage_desc *raw = NULL;
    sw_status st = entry_fn(L->host, &raw, why, sizeof why);
    why[sizeof why - 1] = '\0';
    if (st != SW_OK) {
        sw_err_set(err, "plugin '%s' refused to load: %s", path,
                   why[0] ? why : "(no reason given)");
        goto fail;
    }
    sw_stage_desc desc;
    if (check_desc(raw, path, &desc, err) < 0)
        goto fail;
    if (expected && strcmp(desc.name, expected) != 0) {
        sw_err_set(err, "'%s' declares plugin '%s', expected '%s'", path, desc.name, expected);
        goto fail;
    }
    entry *other = by_name(L, desc.name);
    if (other) {
        sw_err_set(err, "duplicate plugin name '%s': %s and %s both declare it", desc.name, path,
                   other->pub.path);
        goto fail;
    }
    entry *e = add_entry(L, &desc, path, real, handle, 0);
    e->fd = fd;
    memcpy(e->sha256, digest, sizeof digest);
    return &e->pub;

fail:
    if (handle && fd >= 0) {
        unload_pinned(handle, fd);
    } else {
        unload(handle);
        if (fd >= 0)
            close(fd);
    }
    free(real);
    return NULL;
}

/* The *.so file names in dir, sorted; hidden files are skipped as a shell glob would. */
static char **list_plugins(const char *dir, size_t *count, int *errnum)
{
    *count = 0;
    *errnum = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        *errnum = errno;
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ".so"))
            continue;
        char *path = join(dir, de->d_name);
        int regular = is_regular(path);
        free(path);
        if (!regular)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = sw_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = sw_xstrdup(de->d_name);
    }
    closedir(dp);
    *count = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append " (did you mean 'x'?)" when a loaded plugin or a file on the path is close to name. */
static void suggest(const sw_loader *L, const char *name, sw_buf *msg)
{
    size_t n = 0, cap = L->n;
    char **cands = sw_xmalloc((cap ? cap : 1) * sizeof *cands);
    for (size_t i = 0; i < L->n; i++)
        cands[n++] = sw_xstrdup(L->items[i]->pub.name);
    for (size_t i = 0; i < L->ndirs; i++) {
        size_t count;
        int errnum;
        char **files = list_plugins(L->dirs[i], &count, &errnum);
        for (size_t j = 0; j < count; j++) {
            if (n == cap) {
                cap = cap * 2 + 8;
                cands = sw_xrealloc(cands, cap * sizeof *cands);
            }
            cands[n++] = file_stem(files[j]);
        }
        free_names(files, count);
    }
    const char *best = sw_did_you_mean(name, (const char *const *)cands, n);
    if (best)
        sw_buf_printf(msg, " (did you mean '%s'?)", best);
    free_names(cands, n);
}

/* ---- public ---- */

sw_loader *sw_loader_new(const sw_host *host)
{
    sw_loader *L = sw_xcalloc(1, sizeof *L);
    L->host = host;
    return L;
}

void sw_loader_free(sw_loader *L)
{
    if (!L)
        return;
    /* Last loaded first, the reverse of dlopen order. */
    for (size_t i = L->n; i-- > 0;) {
        entry *e = L->items[i];
        if (e->fd >= 0)
            unload_pinned(e->pub.handle, e->fd);
        else
            unload(e->pub.handle);
        free(e->pub.name);
        free(e->pub.path);
        free(e->real);
        free(e);
    }
    free(L->items);
    for (size_t i = 0; i < L->ndirs; i++)
        free(L->dirs[i]);
    free(L->dirs);
    for (size_t i = 0; i < L->npins; i++)
        free(L->pins[i].name);
    free(L->pins);
    free(L);
}

void sw_loader_allow_insecure(sw_loader *L, int allow)
{
    L->allow_insecure = allow != 0;
}

int sw_loader_pin(sw_loader *L, const char *name, const char *sha256_hex, sw_err *err)
{
    if (!name || !*name)
        return sw_err_set(err, "a plugin pin needs a plugin name");
    size_t n = sha256_hex ? strlen(sha256_hex) : 0;
    int ok = n == SW_SHA256_HEX_LEN;
    for (size_t i = 0; ok && i < n; i++)
        ok = isxdigit((unsigned char)sha256_hex[i]);
    if (!ok)
        return sw_err_set(err, "pin for plugin '%s': expected %d hexadecimal digits, got '%s'",
                          name, SW_SHA256_HEX_LEN, sha256_hex ? sha256_hex : "");
    pin *p = find_pin(L, name);
    if (!p) {
        L->pins = sw_xrealloc(L->pins, (L->npins + 1) * sizeof *L->pins);
        p = &L->pins[L->npins++];
        p->name = sw_xstrdup(name);
    }
    for (size_t i = 0; i < n; i++)
        p->sha256[i] = (char)tolower((unsigned char)sha256_hex[i]);
    p->sha256[n] = '\0';
    return 0;
}

void sw_loader_add_dir(sw_loader *L, const char *dir)
{
    if (!dir || !*dir)
        return;
    /* "a/b/" and "a/b" are one folder; "/" stays "/". */
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    char *d = sw_xstrndup(dir, len);
    for (size_t i = 0; i < L->ndirs; i++) {
        if (strcmp(L->dirs[i], d) == 0) {
            free(d);
            return;
        }
    }
    L->dirs = sw_xrealloc(L->dirs, (L->ndirs + 1) * sizeof *L->dirs);
    L->dirs[L->ndirs++] = d;
}

size_t sw_loader_dir_count(const sw_loader *L)
{
    return L->ndirs;
}

const char *sw_loader_dir_at(const sw_loader *L, size_t i)
{
    return i < L->ndirs ? L->dirs[i] : NULL;
}

void sw_loader_add_builtin(sw_loader *L, const sw_stage_desc *desc)
{
    /* Built-ins are compiled with the host, so their descriptors are trusted, not
       checked; one registered twice keeps its first registration. */
    if (!desc || !desc->name || by_name(L, desc->name))
        return;
    sw_stage_desc copy;
    size_t n = desc->struct_size < sizeof copy ? desc->struct_size : sizeof copy;
    memset(&copy, 0, sizeof copy);
    memcpy(&copy, desc, n);
    add_entry(L, &copy, BUILTIN_PATH, NULL, NULL, 1);
}

const sw_plugin *sw_loader_find(sw_loader *L, const char *uses, const char *base_dir, sw_err *err)
{
    if (!uses || !*uses) {
        sw_err_set(err, "empty plugin name");
        return NULL;
    }
    if (strchr(uses, '/') || ends_with(uses, ".so")) {
        char *path = uses[0] == '/' || !base_dir ? sw_xstrdup(uses) : join(base_dir, uses);
        const sw_plugin *p = load(L, path, NULL, NULL, err);
        free(path);
        return p;
    }
    /* Built-ins and anything loaded before win over the search path. */
    entry *e = by_name(L, uses);
    if (e)
        return &e->pub;
    if (L->ndirs == 0) {
        sw_err_set(err, "plugin '%s' not found; no plugin folders configured", uses);
        return NULL;
    }
    char *file = sw_xasprintf("%s.so", uses);
    for (size_t i = 0; i < L->ndirs; i++) {
        char *path = join(L->dirs[i], file);
        if (is_regular(path)) {
            /* The first hit wins, even when it fails to load: falling through to a
               later folder would run a plugin other than the one the path names. */
            const sw_plugin *p = load(L, path, uses, L->dirs[i], err);
            free(path);
            free(file);
            return p;
        }
        free(path);
    }
    free(file);
    sw_buf msg = {0};
    sw_buf_printf(&msg, "plugin '%s' not found; searched: ", uses);
    for (size_t i = 0; i < L->ndirs; i++)
        sw_buf_printf(&msg, "%s%s", i ? ", " : "", L->dirs[i]);
    suggest(L, uses, &msg);
    sw_err_set(err, "%s", msg.data);
    sw_buf_free(&msg);
    return NULL;
}

const sw_plugin *sw_loader_load_file(sw_loader *L, const char *path, sw_err *err)
{
    return load(L, path, NULL, NULL, err);
}

/*
 * The scan lists what `uses: <name>` can reach, so each file must declare the
 * name it is found under (dup_a.so declaring "dup" is an error here). A file
 * whose name an earlier folder (or a built-in) already provides is shadowed, as
 * it would be for sw_loader_find: a warning, and the file is not opened.
 * Returns the number of plugins the path provides (loaded now or before).
 */
size_t sw_loader_scan(sw_loader *L, sw_diags *d)
{
    size_t found = 0;
    for (size_t i = 0; i < L->ndirs; i++) {
        size_t n;
        int errnum;
        char **names = list_plugins(L->dirs[i], &n, &errnum);
        if (!names && errnum && errnum != ENOENT) {
            /* A missing folder (an install folder not created yet) is normal; an
               unreadable one is worth a word. */
            sw_diag_warning(d, (sw_pos){L->dirs[i], 0, 0}, "cannot read plugin folder '%s': %s",
                            L->dirs[i], strerror(errnum));
        }
        sw_err terr = {{0}};
        if (n > 0 && !insecure_allowed(L) && sw_trust_check_dir(L->dirs[i], &terr) < 0) {
            /* Nothing in it is opened: loading is where the harm would be. */
            sw_diag_error(d, (sw_pos){L->dirs[i], 0, 0},
                          "refusing to load plugins from '%s': %s" INSECURE_HOW, L->dirs[i],
                          terr.msg);
            free_names(names, n);
            continue;
        }
        if (n > 1)
            qsort(names, n, sizeof *names, cmp_names);
        for (size_t j = 0; j < n; j++) {
            char *path = join(L->dirs[i], names[j]);
            char *stem = file_stem(names[j]);
            entry *e = by_name(L, stem);
            if (e) {
                char *real = realpath(path, NULL);
                if (real && e->real && strcmp(real, e->real) == 0)
                    found++;
                else
                    sw_diag_warning(d, (sw_pos){path, 0, 0}, "plugin '%s' in %s is shadowed by %s",
                                    stem, path, e->pub.path);
                free(real);
            } else {
                sw_err err = {{0}};
                if (load(L, path, stem, L->dirs[i], &err))
                    found++;
                else
                    sw_diag_error(d, (sw_pos){path, 0, 0}, "%s", err.msg);
            }
            free(stem);
            free(path);
        }
        free_names(names, n);
    }
    return found;
}

size_t sw_loader_count(const sw_loader *L)
{
    return L->n;
}

const sw_plugin *sw_loader_at(const sw_loader *L, size_t i)
{
    return i < L->n ? &L->items[i]->pub : NULL;
}

/* ---- describe ---- */

/* Plugin strings are foreign bytes: jansson refuses invalid UTF-8, so such text is
   shown with '?' for every non-ASCII byte rather than dropped. NULL becomes null. */
static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = sw_xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *jtext(const char *s)
{
    return jstr(s ? s : "");
}

static json_t *describe_ports(const sw_port *ports, int inputs)
{
    json_t *arr = json_array();
    for (size_t i = 0; ports && ports[i].name; i++) {
        const sw_port *p = &ports[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(p->name));
        json_object_set_new(o, "type", json_string(sw_type_name(p->type)));
        if (inputs)
            json_object_set_new(o, "optional", json_boolean(p->flags & SW_PORT_OPTIONAL));
        json_object_set_new(o, "description", jtext(p->description));
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *sw_plugin_describe(const sw_plugin *plugin)
{
    const sw_stage_desc *d = &plugin->desc;
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(plugin->name));
    json_object_set_new(o, "version", jtext(d->version));
    json_object_set_new(o, "summary", jtext(d->summary));
    json_object_set_new(o, "file", jstr(plugin->path));
    json_object_set_new(o, "builtin", json_boolean(plugin->builtin));
    char abi[16];
    snprintf(abi, sizeof abi, "%u.%u", (unsigned)d->abi_major, (unsigned)d->abi_minor);
    json_object_set_new(o, "abi", json_string(abi));

    json_t *params = json_array();
    for (size_t i = 0; d->params && d->params[i].name; i++) {
        const sw_param *p = &d->params[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", jstr(p->name));
        json_object_set_new(j, "type", json_string(sw_type_name(p->type)));
        json_object_set_new(j, "required", json_boolean(p->flags & SW_PARAM_REQUIRED));
        json_object_set_new(j, "secret", json_boolean(p->flags & SW_PARAM_SECRET));
        json_object_set_new(j, "path", json_boolean(p->flags & SW_PARAM_PATH));
        json_object_set_new(j, "duration", json_boolean(p->flags & SW_PARAM_DURATION));
        json_object_set_new(j, "default", jstr(p->default_value));
        json_object_set_new(j, "description", jtext(p->description));
        json_array_append_new(params, j);
    }
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "inputs", describe_ports(d->inputs, 1));
    json_object_set_new(o, "outputs", describe_ports(d->outputs, 0));
    return o;
}
