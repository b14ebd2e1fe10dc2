/*
 * loader.h - finding, loading and ABI-checking stage plugins.
 *
 * A plugin is found by name (`uses: eval` -> eval.so on the search path) or
 * by path (`uses: ./x/eval.so`, relative to the pipeline). It is opened with
 * dlopen(RTLD_NOW | RTLD_LOCAL); its sw_plugin_entry is called with the host
 * table; the descriptor it returns is checked (ABI major, struct sizes, a
 * valid name, params with valid defaults, outputs) and copied, zero-extended,
 * so the host reads only struct_size bytes of it and sees absent newer fields
 * as zero. Built-in stages (lua) register a descriptor directly.
 *
 * The loader owns every plugin it loaded; dlclose happens in sw_loader_free.
 */
#ifndef SW_PLUGIN_LOADER_H
#define SW_PLUGIN_LOADER_H

#include <jansson.h>

#include "base/diag.h"

typedef struct sw_plugin {
    char *name;
    char *path;         /* the .so, or "(built-in)" */
    void *handle;       /* dlopen handle; NULL for built-ins */
    sw_stage_desc desc; /* the plugin's descriptor, zero-extended to this host's size */
    int builtin;
} sw_plugin;

typedef struct sw_loader sw_loader;

sw_loader *sw_loader_new(const sw_host *host);
void sw_loader_free(sw_loader *loader);
/* Append a folder to the search path (duplicates ignored). */
void sw_loader_add_dir(sw_loader *loader, const char *dir);
size_t sw_loader_dir_count(const sw_loader *loader);
const char *sw_loader_dir_at(const sw_loader *loader, size_t i);
void sw_loader_add_builtin(sw_loader *loader, const sw_stage_desc *desc);

/* Trust (trust.h): a plugin is loaded only from a search folder that is absolute
   and that, with every folder above it, only root or the current user can write,
   and only from such a file; otherwise finding it is an error naming the folder
   or file and why. allow turns the checks off, as the environment variable
   SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH=1 does. */
void sw_loader_allow_insecure(sw_loader *loader, int allow);
/* Pin the plugin found as `name` (`uses: name`, or for a path its file name
   without ".so") to a SHA-256 of its file, 64 hex digits: the file is hashed
   from an open descriptor and loaded through that descriptor, never loaded when
   the digest differs. -1 with err for a malformed digest. */
int sw_loader_pin(sw_loader *loader, const char *name, const char *sha256_hex, sw_err *err);

/* Find (and load on first use) the plugin `uses` names. A name is searched as
   <dir>/<name>.so in path order; a value with a '/' or ending in ".so" is a
   path, relative to base_dir. Errors: not found (listing the folders searched),
   not a shared object (dlerror's text), no entry point, entry refused, ABI
   major mismatch ("plugin 'x' (path) built for ABI 2.0, host speaks 1.0"),
   descriptor too small, bad name, the file's name differing from the plugin's,
   a name already loaded from another file. */
const sw_plugin *sw_loader_find(sw_loader *loader, const char *uses, const char *base_dir,
                                sw_err *err);
/* Load one file (by path) whatever its name. */
const sw_plugin *sw_loader_load_file(sw_loader *loader, const char *path, sw_err *err);
/* Load every *.so on the search path, as `uses: <name>` would reach it: a file
   must declare the name it is called by. A name met again in a later folder is
   shadowed (a warning); any other problem is an error in d, and the scan goes
   on. Returns the number of plugins the search path provides. */
size_t sw_loader_scan(sw_loader *loader, sw_diags *d);
size_t sw_loader_count(const sw_loader *loader);
const sw_plugin *sw_loader_at(const sw_loader *loader, size_t i);

/* A plugin's descriptor as JSON: name, version, summary, file, abi, params
   (name, type, required, secret, path, duration, default, description), inputs, outputs. */
json_t *sw_plugin_describe(const sw_plugin *plugin);

#endif
