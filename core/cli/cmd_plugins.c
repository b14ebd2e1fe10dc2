/* cmd_plugins.c - `slipway plugins` and `slipway plugins show NAME`. */
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char usage[] =
    "usage: slipway plugins [show NAME] [options]\n"
    "\n"
    "List the stage plugins on the search path (--plugin-path, $SLIPWAY_PLUGIN_PATH,\n"
    "then the built-in plugin folder), or describe one: its parameters with types,\n"
    "defaults and descriptions, the inputs it reads and the outputs it writes.\n"
    "\n"
    "Options:\n"
    "  --plugin-path DIR   search DIR first; repeatable\n"
    "  --json              the descriptors as JSON\n"
    "  -h, --help          this help\n";

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_list(json_t *plugins)
{
    cli_style s = cli_style_for(stdout);
    size_t i;
    json_t *p;
    json_array_foreach(plugins, i, p)
    {
        printf("%s%-14s%s %-8s %s\n", s.bold, str(p, "name"), s.reset, str(p, "version"),
               str(p, "summary"));
        printf("               %s%s%s\n", s.dim, str(p, "file"), s.reset);
    }
}

static void print_ports(const char *title, json_t *ports, const char *flag_key,
                        const char *flag_text)
{
    if (json_array_size(ports) == 0)
        return;
    printf("\n%s:\n", title);
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        printf("  %-20s %-7s %s%s\n", str(p, "name"), str(p, "type"), str(p, "description"),
               json_is_true(json_object_get(p, flag_key)) ? flag_text : "");
    }
}

static void print_one(json_t *p)
{
    cli_style s = cli_style_for(stdout);
    printf("%s%s%s %s (ABI %s)\n%s\n%s%s%s\n", s.bold, str(p, "name"), s.reset, str(p, "version"),
           str(p, "abi"), str(p, "summary"), s.dim, str(p, "file"), s.reset);
    json_t *params = json_object_get(p, "params");
    if (json_array_size(params) > 0) {
        printf("\nparameters (with:):\n");
        size_t i;
        json_t *q;
        json_array_foreach(params, i, q)
        {
            const char *type = str(q, "type");
            if (json_is_true(json_object_get(q, "duration")))
                type = "duration";
            else if (json_is_true(json_object_get(q, "path")))
                type = "path";
            json_t *def = json_object_get(q, "default");
            printf("  %-20s %-9s %s", str(q, "name"), type, str(q, "description"));
            if (json_is_true(json_object_get(q, "required")))
                printf(" (required)");
            else if (json_is_string(def))
                printf(" (default: %s)", json_string_value(def));
            if (json_is_true(json_object_get(q, "secret")))
                printf(" (secret)");
            printf("\n");
        }
    }
    print_ports("inputs (read from the context)", json_object_get(p, "inputs"), "optional",
                " (optional)");
    print_ports("outputs (written as <stage-id>.<name>)", json_object_get(p, "outputs"), "", "");
}

int cmd_plugins(int argc, char **argv)
{
    static const cli_list_show spec = {.cmd = "plugins",
                                       .usage = usage,
                                       .what = "NAME",
                                       .list = sw_plugins_json,
                                       .show = sw_plugin_json,
                                       .print_list = print_list,
                                       .print_one = print_one};
    return cli_list_or_show(&spec, argc, argv);
}
