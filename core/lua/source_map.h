/*
 * source_map.h - Lua's positions mapped back to the file the code was written in.
 *
 * Lua names a chunk in its messages ("name:LINE: ...") but cuts the name to
 * LUA_IDSIZE bytes, so a pipeline file on a long path would lose its own name
 * (".../tests/pipelines/gate_error.ya:8:"). Chunks are therefore loaded under
 * the short SW_SOURCE_MAP_CHUNKNAME, and every position Lua writes with it is
 * rewritten here to "file:line:col" of the user's file, at any path length.
 *
 * Lua knows lines only. The column given is where the code of that line
 * starts in the file: the snippet's own column on its first line, and on later
 * lines of a literal block the block's indentation plus the line's own.
 */
#ifndef SW_LUA_SOURCE_MAP_H
#define SW_LUA_SOURCE_MAP_H

#include <stddef.h>

#include "base/util.h"

/* What chunks are named when loaded ("=" keeps Lua from decorating it), and
   the tag Lua then writes in positions. */
#define SW_SOURCE_MAP_TAG       "\x01"
#define SW_SOURCE_MAP_CHUNKNAME "=" SW_SOURCE_MAP_TAG

typedef struct sw_source_map sw_source_map;

/* A map for code (len bytes) written at origin; origin NULL or with no file
   shows positions as "lua:LINE". Copies what it keeps. */
sw_source_map *sw_source_map_new(const char *code, size_t len, const sw_origin *origin);
void sw_source_map_free(sw_source_map *map);
/* The file as positions name it. */
const char *sw_source_map_file(const sw_source_map *map);
/* Line `line` of the code (1-based) as a position in the file. */
sw_origin sw_source_map_at(const sw_source_map *map, int line);
/* msg with every position under SW_SOURCE_MAP_CHUNKNAME ("\x01:LINE") replaced
   by "file:line:col" (map NULL: by "lua:LINE"). Caller frees. */
char *sw_source_map_rewrite(const sw_source_map *map, const char *msg);

#endif
