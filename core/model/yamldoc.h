/*
 * yamldoc.h - a YAML document as a tree of nodes that remember where they were.
 *
 * Built on libyaml's parser. Aliases are expanded (a reference to the anchored
 * node), duplicate mapping keys and multiple documents are errors, every node
 * has its 1-based line and column. The document owns all nodes.
 */
#ifndef SW_MODEL_YAMLDOC_H
#define SW_MODEL_YAMLDOC_H

#include <jansson.h>

#include "base/diag.h"
#include "value.h"

typedef enum sw_ynode_kind { SW_YAML_SCALAR, SW_YAML_SEQ, SW_YAML_MAP } sw_ynode_kind;

typedef struct sw_ynode sw_ynode;
struct sw_ynode {
    sw_ynode_kind kind;
    int line, col;
    /* SCALAR */
    char *text;
    int quoted;  /* single- or double-quoted, or a block scalar: always a string */
    int block;   /* a literal (|) or folded (>) block scalar */
    int literal; /* a literal (|) block scalar: its text's lines are the file's */
    /* Where the text itself starts: a block scalar's on the line after its
       indicator, at its indentation; a quoted one after the quote. */
    int text_line, text_col;
    /* SEQ: items; MAP: keys[i] -> items[i] (keys are scalar nodes) */
    sw_ynode **items;
    sw_ynode **keys;
    size_t n;
};

typedef struct sw_ydoc {
    char *file;     /* as given; positions point at it */
    sw_ynode *root; /* NULL for an empty document */
    /* private: every node allocated, for freeing */
    sw_ynode **all;
    size_t n_all, cap_all;
} sw_ydoc;

/* Parse a file (capped at max_bytes; 0 for 16 MiB). NULL with a diagnostic on error. */
sw_ydoc *sw_yaml_parse_file(const char *path, size_t max_bytes, sw_diags *d);
/* Parse text; filename is used in positions. */
sw_ydoc *sw_yaml_parse_string(const char *text, size_t len, const char *filename, sw_diags *d);
void sw_ydoc_free(sw_ydoc *doc);

sw_pos sw_ynode_pos(const sw_ydoc *doc, const sw_ynode *node);
/* Where a scalar's text was written, for messages about positions inside it
   (Lua snippets). The file string is the document's. */
sw_origin sw_ynode_origin(const sw_ydoc *doc, const sw_ynode *node);
/* The value of key in a MAP node, or NULL. */
const sw_ynode *sw_ynode_get(const sw_ynode *map, const char *key);
/* The key node for key in a MAP (for positions of key errors), or NULL. */
const sw_ynode *sw_ynode_key(const sw_ynode *map, const char *key);
const char *sw_ynode_kind_name(sw_ynode_kind kind); /* "scalar", "sequence", "mapping" */
/* True for a missing node or a plain null scalar (null, Null, NULL, ~, nothing). */
int sw_ynode_is_null(const sw_ynode *node);
/* "a sequence", "a mapping", "null" or "a scalar": the Y of "must be X, found Y". */
const char *sw_ynode_describe(const sw_ynode *node);
/* Report each key of map not among known, at the key's position, as
   "<prefix>unknown key 'k' (did you mean 'x'?)". Returns the number of errors added. */
int sw_ynode_check_keys(const sw_ydoc *doc, const sw_ynode *map, const char *const *known, size_t n,
                        const char *prefix, sw_diags *d);

/* A scalar typed by YAML 1.2's core schema: plain null/~/empty -> null, true/false
   -> bool, integers (decimal, 0x, 0o) -> int, floats (.inf, .nan too) -> double,
   anything else or quoted -> string. Out-of-range integers are an error. */
int sw_yaml_scalar_value(const sw_ynode *node, sw_value *out, sw_err *err);
/* Type a bare scalar text the same way (for --set vars.k=v). */
int sw_yaml_text_value(const char *text, sw_value *out, sw_err *err);
/* A whole node as JSON (scalars typed as above). New reference. */
json_t *sw_yaml_to_json(const sw_ynode *node, sw_err *err);

#endif
