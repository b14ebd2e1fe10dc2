/* cli.c - options, engines, diagnostics and styles shared by the subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_common_option(cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_STATE_DIR:
        c->state_dir = arg;
        return 1;
    case OPT_STORE:
        c->store = arg;
        return 1;
    case OPT_PLUGIN_PATH:
        if (c->n_plugin_dirs == (int)(sizeof c->plugin_dirs / sizeof *c->plugin_dirs)) {
            fprintf(stderr, "slipway: too many --plugin-path options\n");
            return -1;
        }
        c->plugin_dirs[c->n_plugin_dirs++] = arg;
        return 1;
    case OPT_JSON:
        c->json = 1;
        return 1;
    default:
        return 0;
    }
}

sw_engine *cli_engine(const cli_common *c)
{
    sw_engine *e = sw_engine_new();
    if (c->state_dir)
        sw_engine_set_state_dir(e, c->state_dir);
    if (c->store)
        sw_engine_set_store(e, c->store);
    for (int i = 0; i < c->n_plugin_dirs; i++)
        sw_engine_add_plugin_dir(e, c->plugin_dirs[i]);
    return e;
}

cli_style cli_style_for(FILE *stream)
{
    const char *no_color = getenv("NO_COLOR");
    int tty = isatty(fileno(stream));
    const char *term = getenv("TERM");
    if (!tty || (no_color && *no_color) || (term && strcmp(term, "dumb") == 0))
        return (cli_style){"", "", "", "", "", "", "", tty};
    return (cli_style){"\033[1m",  "\033[2m",  "\033[31m", "\033[32m",
                       "\033[33m", "\033[36m", "\033[0m",  tty};
}

void cli_print_diags(const sw_diags *d)
{
    cli_style st = cli_style_for(stderr);
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        const sw_diagnostic *g = sw_diags_at(d, i);
        char *text = sw_diags_format(d, i);
        const char *color = g->severity == SW_SEVERITY_ERROR     ? st.red
                            : g->severity == SW_SEVERITY_WARNING ? st.yellow
                                                                 : st.cyan;
        fprintf(stderr, "%s%s%s\n", color, text, st.reset);
        sw_free(text);
    }
}

void cli_print_diags_json(const sw_diags *d)
{
    static const char *const sev[] = {"error", "warning", "note"};
    json_t *arr = json_array();
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        const sw_diagnostic *g = sw_diags_at(d, i);
        json_t *o = json_pack("{s:s, s:s}", "severity", sev[g->severity], "message", g->message);
        if (g->file)
            json_object_set_new(o, "file", json_string(g->file));
        if (g->line)
            json_object_set_new(o, "line", json_integer(g->line));
        if (g->col)
            json_object_set_new(o, "col", json_integer(g->col));
        json_array_append_new(arr, o);
    }
    json_t *out =
        json_pack("{s:o, s:I}", "diagnostics", arr, "errors", (json_int_t)sw_diags_errors(d));
    json_dumpf(out, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(out);
}

int cli_usage(FILE *out, const char *text, int code)
{
    fputs(text, out);
    return code;
}

int cli_fail_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "slipway %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'slipway %s --help')\n", cmd);
    va_end(ap);
    return 2;
}

json_t *cli_json(char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    sw_free(text);
    return j ? j : json_array();
}

int cli_parse_common_only(const char *cmd, const char *usage, int argc, char **argv, cli_common *c)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {0, 0, 0, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int common = cli_common_option(c, opt, optarg);
        if (common < 0)
            return 2;
        if (common)
            continue;
        if (opt == 'h')
            return cli_usage(stdout, usage, 0);
        return cli_fail_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    return -1;
}

int cli_list_or_show(const cli_list_show *spec, int argc, char **argv)
{
    cli_common c = {0};
    int parsed = cli_parse_common_only(spec->cmd, spec->usage, argc, argv, &c);
    if (parsed >= 0)
        return parsed;
    int rest = argc - optind;
    int show = rest >= 1 && strcmp(argv[optind], "show") == 0;
    if ((show && rest != 2) || (!show && rest != 0))
        return cli_fail_usage(spec->cmd, "expected '%s' or '%s show %s'", spec->cmd, spec->cmd,
                              spec->what);
    sw_engine *e = cli_engine(&c);
    sw_diags *d = sw_diags_new();
    char *text = show ? spec->show(e, argv[optind + 1], d) : spec->list(e, d);
    cli_print_diags(d);
    sw_diags_free(d);
    int rc = text ? 0 : 2;
    if (text) {
        json_t *j = cli_json(text);
        if (c.json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        } else {
            (show ? spec->print_one : spec->print_list)(j);
        }
        json_decref(j);
    }
    sw_engine_free(e);
    return rc;
}
