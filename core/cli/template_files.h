/*
 * template_files.h - the plugin project template (sdk/template/), compiled into
 * the `slipway` command by sdk/CMakeLists.txt so `slipway new-plugin` needs no
 * file from the source tree or the install tree.
 */
#ifndef SW_CLI_TEMPLATE_FILES_H
#define SW_CLI_TEMPLATE_FILES_H

#include <stddef.h>

typedef struct cli_template_file {
    const char *path;          /* relative, '/'-separated; may contain @NAME@ */
    const unsigned char *data; /* the file's bytes, NUL-terminated */
    size_t size;               /* without the NUL */
} cli_template_file;

/* Every file of the template; the last entry has a NULL path. */
extern const cli_template_file cli_template_files[];

#endif
