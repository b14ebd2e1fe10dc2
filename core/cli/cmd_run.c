/*
 * cmd_run.c - `slipway run`, `slipway check` and `slipway resume`.
 *
 * A run's events are shown as they happen: on a terminal with colors and a
 * live progress line, otherwise as plain lines, or with --json as one JSON
 * object per line. SIGINT and SIGTERM ask the engine to stop (the run exits 3
 * and stays resumable; a second signal stops without waiting for stages);
 * a crash notes itself in the journal before the process dies.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

typedef struct view {
    int json;
    int verbose;
    int quiet;
    int progress_shown;
    cli_style style;
} view;

static sw_engine *signal_engine;
static volatile sig_atomic_t stop_signalled;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_signalled = 1;
    if (signal_engine)
        sw_engine_request_stop(signal_engine);
}

static void on_crash_signal(int sig)
{
    static const char msg[] = "slipway: crashed; the run's journal records the crash and "
                              "'slipway resume' continues from the stage that crashed\n";
    if (signal_engine)
        sw_engine_note_crash(signal_engine, sig);
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installed as soon as the engine exists: a signal while the run folder is being made
   is a stop request that the run honours at its first step, so the folder is never left
   half made. */
static void install_signals(sw_engine *e)
{
    signal_engine = e;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_crash_signal;
    sa.sa_flags = SA_RESETHAND;
    int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash / sizeof *crash; i++)
        sigaction(crash[i], &sa, NULL);
}

static const char *level_name(sw_log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return names[l];
}

static void clear_progress(view *v)
{
    if (v->progress_shown) {
        fputs("\r\033[K", stdout);
        v->progress_shown = 0;
    }
}

static void observe_json(const sw_event *ev)
{
    static const char *const kinds[] = {"run_start", "stage_start", "stage_end", "gate",
                                        "log",       "progress",    "run_end"};
    json_t *o = json_pack("{s:s, s:s}", "event", kinds[ev->kind], "run_id", ev->run_id);
    if (ev->stage_id)
        json_object_set_new(o, "stage", json_string(ev->stage_id));
    if (ev->plugin)
        json_object_set_new(o, "uses", json_string(ev->plugin));
    if (ev->message)
        json_object_set_new(o, "message", json_string(ev->message));
    switch (ev->kind) {
    case SW_EVENT_STAGE_END:
    case SW_EVENT_GATE:
    case SW_EVENT_RUN_END:
        json_object_set_new(o, "status", json_integer(ev->status));
        json_object_set_new(o, "elapsed_ms", json_real(ev->elapsed_ms));
        break;
    case SW_EVENT_LOG:
        json_object_set_new(o, "level", json_string(level_name(ev->level)));
        break;
    case SW_EVENT_PROGRESS:
        json_object_set_new(o, "progress", json_real(ev->progress));
        break;
    default:
        break;
    }
    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(o);
}

static void observe(void *ud, const sw_event *ev)
{
    view *v = ud;
    if (v->json) {
        observe_json(ev);
        return;
    }
    cli_style s = v->style;
    const char *tag = ev->background ? " (background)" : "";
    switch (ev->kind) {
    case SW_EVENT_RUN_START:
        printf("%srun %s%s %s\n", s.bold, ev->run_id, s.reset, ev->message);
        break;
    case SW_EVENT_STAGE_START:
        clear_progress(v);
        printf("  %s>%s %-14s %s%s%s%s\n", s.cyan, s.reset, ev->stage_id, s.dim, ev->plugin, tag,
               s.reset);
        break;
    case SW_EVENT_STAGE_END: {
        clear_progress(v);
        const char *mark = ev->status == SW_OK ? "ok" : ev->status == SW_FAIL ? "FAIL" : "ERROR";
        const char *color = ev->status == SW_OK ? s.green : s.red;
        printf("  %s%-5s%s %-14s %.2fs%s%s\n", color, mark, s.reset, ev->stage_id,
               ev->elapsed_ms / 1000.0, ev->message ? "  " : "", ev->message ? ev->message : "");
        break;
    }
    case SW_EVENT_GATE:
        clear_progress(v);
        if (ev->status == SW_OK)
            printf("        %sgate passed%s\n", s.green, s.reset);
        else
            printf("        %sgate said no: %s%s\n", s.red, ev->message ? ev->message : "",
                   s.reset);
        break;
    case SW_EVENT_LOG:
        if (v->quiet || (ev->level == SW_LOG_DEBUG && !v->verbose))
            break;
        clear_progress(v);
        if (ev->stage_id)
            printf("        %s[%s %s] %s: %s%s\n", s.dim, ev->stage_id, ev->plugin,
                   level_name(ev->level), ev->message, s.reset);
        else
            printf("        %s: %s\n", level_name(ev->level), ev->message);
        break;
    case SW_EVENT_PROGRESS:
        if (!s.tty || v->quiet)
            break;
        printf("\r\033[K        %s%s %3.0f%%%s%s%s", s.dim, ev->stage_id, ev->progress * 100,
               ev->message ? " " : "", ev->message ? ev->message : "", s.reset);
        v->progress_shown = 1;
        break;
    case SW_EVENT_RUN_END:
        clear_progress(v);
        if (ev->status == SW_EXIT_OK)
            printf("%s%ssucceeded%s in %.2fs\n", s.bold, s.green, s.reset, ev->elapsed_ms / 1e3);
        else if (ev->status == SW_EXIT_INTERRUPTED)
            printf("%s%sinterrupted%s: resume with 'slipway resume %s'\n", s.bold, s.yellow,
                   s.reset, ev->run_id);
        else
            printf("%s%sfailed%s: %s\n", s.bold, s.red, s.reset, ev->message);
        break;
    }
    fflush(stdout);
}

static int execute(sw_engine *e, sw_run *run, view *v)
{
    sw_exit code = sw_run_execute(run);
    signal_engine = NULL;
    if (!v->json) {
        printf("run folder: %s\n", sw_run_dir(run));
        char html[4096];
        snprintf(html, sizeof html, "%s/report.html", sw_run_dir(run));
        if (access(html, F_OK) == 0)
            printf("report:     %s\n", html);
    }
    sw_run_free(run);
    return (int)code;
}

static const char run_usage[] =
    "usage: slipway run PIPELINE [options]\n"
    "\n"
    "Run a pipeline: check it, then run its stages in order (background stages beside\n"
    "the later ones), evaluate gates, and run on_failure stages when anything fails.\n"
    "Everything is recorded in <state-dir>/runs/<run-id>/: journal.jsonl, context.json\n"
    "(the checkpoint), report.json and report.html, pipeline.yaml (a snapshot) and\n"
    "artifacts/.\n"
    "\n"
    "Options:\n"
    "  --set vars.NAME=VALUE  override a variable (VALUE typed as YAML); repeatable\n"
    "  --state-dir DIR        where runs are kept (default $SLIPWAY_STATE_DIR or ./.slipway)\n"
    "  --store WHERE          the store: a folder or a postgres:// URL (default\n"
    "                         $SLIPWAY_STORE, else the state folder). With a database, the\n"
    "                         run is recorded there too (docs/scale-out.md): listed, shown\n"
    "                         and resumed from any machine, held by a lease while it runs\n"
    "  --plugin-path DIR      search DIR for plugins first; repeatable\n"
    "  --json                 one JSON object per event on stdout\n"
    "  -v, --verbose          show debug logs\n"
    "  -q, --quiet            hide stage logs\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit codes: 0 succeeded, 1 failed (on_failure ran), 2 invalid input (nothing ran),\n"
    "3 interrupted (resume with 'slipway resume RUN').\n";

static const char check_usage[] =
    "usage: slipway check PIPELINE [options]\n"
    "\n"
    "Validate a pipeline without running it: load every plugin, check every with:\n"
    "against its parameter table, resolve every ${...} against earlier outputs with\n"
    "types, compile every gate. Errors are printed as file:line:col: error: message.\n"
    "\n"
    "Options:\n"
    "  --set vars.NAME=VALUE  override a variable; repeatable\n"
    "  --plugin-path DIR      search DIR for plugins first; repeatable\n"
    "  --json                 diagnostics as JSON\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit codes: 0 valid, 2 invalid.\n";

static const char resume_usage[] =
    "usage: slipway resume RUN [options]\n"
    "\n"
    "Continue an interrupted run (a signal, a crash, kill -9) after its last finished\n"
    "stage, with the pipeline snapshot, variables and context it had. With a\n"
    "postgres:// store the run may have run on another machine: its folder is restored\n"
    "from the database. A run another process holds (its lease) is refused, naming the\n"
    "holder and when its lease expires.\n"
    "\n"
    "Options:\n"
    "  --state-dir DIR        where runs are kept\n"
    "  --store WHERE          a folder or a postgres:// URL (default: the run's own, else\n"
    "                         $SLIPWAY_STORE)\n"
    "  --plugin-path DIR      search DIR for plugins first; repeatable\n"
    "  --json                 one JSON object per event on stdout\n"
    "  -v, --verbose / -q, --quiet\n"
    "  -h, --help             this help\n";

typedef struct run_args {
    cli_common common;
    const char *sets[64];
    int n_sets;
    view view;
    const char *target;
} run_args;

static int parse_args(const char *cmd, const char *usage, int argc, char **argv, run_args *a)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {"set", required_argument, NULL, OPT_SET},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {0, 0, 0, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        int common = cli_common_option(&a->common, opt, optarg);
        if (common < 0)
            return 2;
        if (common)
            continue;
        switch (opt) {
        case 'h':
            cli_usage(stdout, usage, 0);
            return 0;
        case 'v':
            a->view.verbose = 1;
            break;
        case 'q':
            a->view.quiet = 1;
            break;
        case OPT_SET:
            if (a->n_sets == (int)(sizeof a->sets / sizeof *a->sets))
                return cli_fail_usage(cmd, "too many --set options");
            a->sets[a->n_sets++] = optarg;
            break;
        default:
            return cli_fail_usage(cmd, "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_fail_usage(cmd, "expected exactly one %s",
                              strcmp(cmd, "resume") == 0 ? "run id" : "pipeline file");
    a->target = argv[optind];
    a->view.json = a->common.json;
    a->view.style = cli_style_for(stdout);
    return -1; /* go on */
}

/* Load, apply --set, check. On failure prints diagnostics and returns NULL. */
static sw_pipeline *load_checked(sw_engine *e, run_args *a)
{
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = sw_pipeline_load(e, a->target, d);
    for (int i = 0; p && i < a->n_sets; i++)
        if (sw_pipeline_set(p, a->sets[i], d) != 0)
            break;
    if (p && sw_diags_errors(d) == 0)
        sw_pipeline_check(e, p, d);
    if (sw_diags_errors(d) > 0) {
        sw_pipeline_free(p);
        p = NULL;
    }
    if (a->common.json && !p)
        cli_print_diags_json(d);
    else
        cli_print_diags(d);
    sw_diags_free(d);
    return p;
}

int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_args("run", run_usage, argc, argv, &a);
    if (rc >= 0)
        return rc;
    sw_engine *e = cli_engine(&a.common);
    install_signals(e);
    sw_pipeline *p = load_checked(e, &a);
    if (!p) {
        signal_engine = NULL;
        sw_engine_free(e);
        return SW_EXIT_INVALID;
    }
    if (stop_signalled) { /* before anything was made: nothing to resume */
        signal_engine = NULL;
        sw_pipeline_free(p);
        sw_engine_free(e);
        return SW_EXIT_INTERRUPTED;
    }
    sw_diags *d = sw_diags_new();
    sw_run *run = sw_run_new(e, p, d);
    cli_print_diags(d);
    sw_diags_free(d);
    if (!run) {
        signal_engine = NULL;
        sw_pipeline_free(p);
        sw_engine_free(e);
        return SW_EXIT_INVALID;
    }
    sw_engine_set_observer(e, observe, &a.view);
    rc = execute(e, run, &a.view);
    sw_pipeline_free(p);
    sw_engine_free(e);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_args("check", check_usage, argc, argv, &a);
    if (rc >= 0)
        return rc;
    sw_engine *e = cli_engine(&a.common);
    sw_pipeline *p = load_checked(e, &a);
    if (p && a.common.json) {
        sw_diags *none = sw_diags_new();
        cli_print_diags_json(none);
        sw_diags_free(none);
    } else if (p) {
        printf("%s: ok (pipeline '%s')\n", a.target, sw_pipeline_name(p));
    }
    rc = p ? 0 : SW_EXIT_INVALID;
    sw_pipeline_free(p);
    sw_engine_free(e);
    return rc;
}

int cmd_resume(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_args("resume", resume_usage, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.n_sets > 0) /* a resumed run keeps the variables it started with */
        return cli_fail_usage("resume", "--set is not allowed: the run keeps its variables");
    sw_engine *e = cli_engine(&a.common);
    install_signals(e);
    sw_diags *d = sw_diags_new();
    sw_run *run = sw_run_open(e, a.target, d);
    cli_print_diags(d);
    sw_diags_free(d);
    if (!run) {
        signal_engine = NULL;
        sw_engine_free(e);
        return SW_EXIT_INVALID;
    }
    sw_engine_set_observer(e, observe, &a.view);
    rc = execute(e, run, &a.view);
    sw_engine_free(e);
    return rc;
}
