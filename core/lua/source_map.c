/* source_map.c - see source_map.h. */
#include "source_map.h"

#include <stdlib.h>
#include <string.h>
struct sw_source_map {
    char *file;
    int line, col, literal;
    int *indent; /* leading blanks of each line of the code */
    int n_lines;
    int last_text; /* the last line with anything but blanks on it (0: none) */
};

sw_source_map *sw_source_map_new(const char *code, size_t len, const sw_origin *origin)
{
    sw_source_map *map = sw_xcalloc(1, sizeof *map);
    map->file = sw_xstrdup(origin && origin->file ? origin->file : "lua");
    map->line = origin && origin->line > 0 ? origin->line : 1;
    map->col = origin && origin->col > 0 ? origin->col : 0;
    map->literal = origin ? origin->literal : 1;
    int cap = 16;
    map->indent = sw_xmalloc((size_t)cap * sizeof *map->indent);
    size_t i = 0;
    do {
        int blanks = 0;
        while (i < len && (code[i] == ' ' || code[i] == '\t'))
            blanks++, i++;
        if (map->n_lines == cap) {
            cap *= 2;
            map->indent = sw_xrealloc(map->indent, (size_t)cap * sizeof *map->indent);
        }
        map->indent[map->n_lines++] = blanks;
        if (i < len && code[i] != '\n' && code[i] != '\r')
            map->last_text = map->n_lines;
        const char *nl = i < len ? memchr(code + i, '\n', len - i) : NULL;
        i = nl ? (size_t)(nl - code) + 1 : len + 1;
    } while (i <= len);
    return map;
}

void sw_source_map_free(sw_source_map *map)
{
    if (!map)
        return;
    free(map->file);
    free(map->indent);
    free(map);
}

const char *sw_source_map_file(const sw_source_map *map)
{
    return map ? map->file : "lua";
}

sw_origin sw_source_map_at(const sw_source_map *map, int line)
{
    sw_origin at = {sw_source_map_file(map), line, 0, 0};
    if (!map)
        return at;
    /* Text whose line breaks are not the file's (a quoted or folded string)
       sits on the file's line where it starts. */
    if (!map->literal || line < 1) {
        at.line = map->line;
        at.col = map->col;
        return at;
    }
    /* "near <eof>" is past the end: point at the code's last line instead, not
       at whatever the file has after it. */
    if (map->last_text > 0 && line > map->last_text)
        line = map->last_text;
    at.line = map->line + line - 1;
    if (map->col > 0)
        at.col = map->col + (line <= map->n_lines ? map->indent[line - 1] : 0);
    return at;
}

char *sw_source_map_rewrite(const sw_source_map *map, const char *msg)
{
    static const char tag[] = SW_SOURCE_MAP_TAG;
    sw_buf out = {0};
    const char *p = msg, *hit;
    while ((hit = strstr(p, tag)) != NULL) {
        sw_buf_append(&out, p, (size_t)(hit - p));
        p = hit + sizeof tag - 1;
        char *end;
        long line = p[0] == ':' && p[1] >= '0' && p[1] <= '9' ? strtol(p + 1, &end, 10) : -1;
        if (line < 0 || line > 1000000000L) {
            sw_buf_puts(&out, sw_source_map_file(map));
            continue;
        }
        p = end;
        sw_origin at = sw_source_map_at(map, (int)line);
        if (at.col > 0)
            sw_buf_printf(&out, "%s:%d:%d", at.file, at.line, at.col);
        else
            sw_buf_printf(&out, "%s:%d", at.file, at.line);
    }
    sw_buf_puts(&out, p);
    return sw_buf_steal(&out);
}
