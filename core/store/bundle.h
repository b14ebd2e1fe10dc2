/*
 * bundle.h - an agent bundle read from a folder and validated.
 *
 * A bundle is agent.yaml, the prompt files it names (prompts/<x>.md, with
 * {{var}} placeholders) and one tools/<name>.json per tool it lists (an
 * OpenAI function tool with a `side_effect` class). Loading reads only those
 * files, refuses paths that leave the folder (".." components, absolute
 * paths, symlinks resolving outside), files that are not UTF-8 or hold a NUL,
 * and bundles over the size cap; it validates every file and reports every
 * problem found as a diagnostic naming file, line and column. Nothing is
 * written anywhere.
 *
 * The result holds the manifest's content part (see docs/versioning.md): the
 * store adds the source commit, the id and the release record.
 * Ownership: sw_bundle_free releases the bundle and everything in it.
 */
#ifndef SW_STORE_BUNDLE_H
#define SW_STORE_BUNDLE_H

#include <jansson.h>
#include <stddef.h>

#include "base/diag.h"
#include "sha256.h"

#define SW_BUNDLE_DEFAULT_MAX ((size_t)10 * 1024 * 1024)
#define SW_MANIFEST_FORMAT    1

typedef struct sw_bundle_opts {
    const char *agent;  /* overrides agent.yaml's name; NULL to keep it */
    const json_t *vars; /* an object overriding agent.yaml's vars; may be NULL */
    size_t max_bytes;   /* cap on the total size of the files read; 0: the default */
} sw_bundle_opts;

typedef struct sw_bundle_file {
    char *path; /* relative to the bundle, '/'-separated */
    char *data;
    size_t len;
    char sha256[SW_SHA256_HEX_LEN + 1];
} sw_bundle_file;

typedef struct sw_bundle {
    char *dir;      /* as given (diagnostics use it) */
    char *real_dir; /* canonical */
    char *agent;
    char *provider;
    char *model;
    char *agent_file;          /* dir/agent.yaml as shown in diagnostics */
    int model_line, model_col; /* of the model name in agent.yaml */
    json_t *manifest;          /* the content part of the manifest */
    sw_bundle_file *files;     /* sorted by path */
    size_t n_files;
} sw_bundle;

/* NULL when the bundle is unusable; the reasons are in d (which should not be
   NULL). Warnings (e.g. a tool file no agent.yaml entry names) may be added
   to d on success too. */
sw_bundle *sw_bundle_load(const char *dir, const sw_bundle_opts *opts, sw_diags *d);
void sw_bundle_free(sw_bundle *b);

/* Agent names become folder names: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64. */
int sw_agent_name_valid(const char *name);

#endif
