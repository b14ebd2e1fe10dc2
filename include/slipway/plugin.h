/*
 * slipway/plugin.h - the only header a Slipway stage plugin needs.
 *
 * A plugin is a shared object exporting one function, sw_plugin_entry (write
 * it with SW_PLUGIN). The host calls it once after dlopen, handing over its
 * function table; the plugin answers with a stage descriptor. A plugin links
 * nothing of the host: everything it may ask of Slipway is in sw_host.
 *
 * ABI rules
 *   - Every struct that crosses the boundary starts with SW_ABI_HEADER:
 *     abi_major, abi_minor and struct_size.
 *   - A different abi_major is refused at load time with a clear message.
 *   - Within one major, fields are only ever appended. A reader uses a field
 *     only when struct_size says it is there (SW_HAS_FIELD), so a plugin built
 *     against an older minor keeps loading, and a newer plugin learns from
 *     host->abi_minor which host functions exist.
 *   - Minor 1 appended sw_host.param_origin.
 *
 * Ownership
 *   - Strings passed to the host are copied by it; the plugin keeps its own.
 *   - Strings returned by the host (context getters, config strings,
 *     artifacts_dir, stage_id) are owned by the host and stay valid until the
 *     stage's fini returns, unless the same key is written again.
 *   - The descriptor and its tables are owned by the plugin and must stay
 *     valid until the object is unloaded (static storage is the usual way).
 *   - The config struct (desc->config_size bytes) is allocated, filled and
 *     freed by the host; the plugin only reads it.
 *
 * Threading
 *   - init, run and fini of one stage are called from one thread, but not
 *     necessarily the host's main thread (background stages run beside the
 *     others). Every host function may be called from any thread.
 */
#ifndef SLIPWAY_PLUGIN_H
#define SLIPWAY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SW_ABI_MAJOR 1
#define SW_ABI_MINOR 1

/* First fields of every boundary struct. */
#define SW_ABI_HEADER                                                                              \
    uint16_t abi_major;                                                                            \
    uint16_t abi_minor;                                                                            \
    uint32_t struct_size

/* Initializer for SW_ABI_HEADER in a struct of type T. */
#define SW_ABI_INIT(T)                                                                             \
    .abi_major = SW_ABI_MAJOR, .abi_minor = SW_ABI_MINOR, .struct_size = sizeof(T)

/* True when the struct pointed to by p (of type T) is large enough to hold field f. */
#define SW_HAS_FIELD(p, T, f) ((p)->struct_size >= offsetof(T, f) + sizeof(((T *)0)->f))

#if defined(__GNUC__)
#define SW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SW_EXPORT            __attribute__((visibility("default")))
#define SW_HIDDEN            __attribute__((visibility("hidden")))
#else
#define SW_HIDDEN
#define SW_PRINTF(fmt, args)
#define SW_EXPORT
#endif

/* What a stage (or a host call) reports. Never a bare integer. */
typedef enum sw_status {
    SW_OK = 0,   /* done; for a stage: the candidate passed */
    SW_FAIL = 1, /* the stage ran and says the candidate is not good enough */
    SW_ERROR = 2 /* the stage could not do its job (network, bad file, bad value) */
} sw_status;

/* The types of context values and parameters. */
typedef enum sw_type {
    SW_TYPE_NULL = 0,
    SW_TYPE_BOOL,
    SW_TYPE_INT,    /* int64_t */
    SW_TYPE_DOUBLE, /* double; never silently narrowed to int */
    SW_TYPE_STRING, /* UTF-8 text */
    SW_TYPE_JSON,   /* an object or array, carried as compact JSON text */
    SW_TYPE_ANY     /* in declarations only: any of the above */
} sw_type;

typedef enum sw_log_level { SW_LOG_DEBUG = 0, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR } sw_log_level;

/* Parameter flags. */
#define SW_PARAM_REQUIRED 0x1u /* `with:` must give it; no default */
#define SW_PARAM_SECRET   0x2u /* never logged, journaled or reported */
#define SW_PARAM_PATH     0x4u /* a string resolved against the pipeline file's folder */
#define SW_PARAM_DURATION 0x8u /* an int in ms, written 250ms, 30s, 5m, 1h or seconds */

/*
 * One `with:` parameter. The host parses and validates the pipeline's value,
 * applies the default, and stores it at `offset` in the config struct:
 *   SW_TYPE_BOOL   -> int          (0 or 1)
 *   SW_TYPE_INT    -> int64_t
 *   SW_TYPE_DOUBLE -> double       (an int value is widened)
 *   SW_TYPE_STRING -> const char * (NULL when absent and no default)
 *   SW_TYPE_JSON   -> const char * (compact JSON text; NULL when absent)
 *   SW_TYPE_ANY    -> const char * (the value as JSON text: "5", "\"x\"", "[1]")
 * `default_value` is written as in YAML ("0.95", "true", "[5, 25]", "30s").
 * A table ends with an entry whose name is NULL.
 */
typedef struct sw_param {
    const char *name;
    sw_type type;
    unsigned flags;
    const char *default_value;
    size_t offset;
    const char *description;
} sw_param;

/* A typed value a stage reads or writes. Tables end with a NULL name. */
#define SW_PORT_OPTIONAL 0x1u /* an input that may be absent */
typedef struct sw_port {
    const char
        *name; /* outputs: a plain name ("pass_rate"); inputs: a full key ("failure.reason") */
    sw_type type;
    unsigned flags;
    const char *description;
} sw_port;

/*
 * Where a piece of text was written, so that a message about it can point into
 * the user's file. Its layout is final for ABI major 1 (it never grows), which
 * is why it carries no header.
 */
typedef struct sw_origin {
    const char *file; /* as the user named it (relative to where the command ran); NULL: unknown */
    int line;         /* 1-based line of the text's first character; 0: unknown */
    int col;          /* 1-based column of the text's first character; 0: unknown */
    int literal;      /* nonzero when the text's lines are the file's lines, each starting at
                         column col (a YAML literal block, a whole file); zero when the text's
                         line breaks are not the file's (a quoted or folded YAML string) */
} sw_origin;

typedef struct sw_stage sw_stage; /* one stage instance in one run; opaque */
struct sw_http_request;
struct sw_http_response;

typedef struct sw_stage_desc {
    SW_ABI_HEADER;
    const char *name;    /* what `uses:` names: [a-z][a-z0-9_-]* */
    const char *version; /* the plugin's own version, e.g. "1.2.0" */
    const char *summary; /* one line */
    const sw_param *params;
    size_t config_size; /* bytes of the config struct the params are stored in */
    const sw_port *inputs;
    const sw_port *outputs;
    /* May be NULL. Validate the config beyond types, allocate state
       (host->set_data). Return SW_ERROR with host->error() on bad values. */
    sw_status (*init)(sw_stage *stage, const void *config);
    /* Do the work. SW_OK, SW_FAIL (with host->fail) or SW_ERROR (with host->error). */
    sw_status (*run)(sw_stage *stage, const void *config);
    /* May be NULL. Release what init made. Called after run, and also when init
       failed (it may have failed halfway), so it must cope with partial state. */
    void (*fini)(sw_stage *stage);
} sw_stage_desc;

/*
 * The host's function table. Functions returning sw_status record a message
 * on failure (readable with last_error) so a plugin can pass it on.
 */
typedef struct sw_host {
    SW_ABI_HEADER;
    const char *host_version; /* Slipway's version string */

    /* Logging, prefixed with "[stage-id plugin]". */
    void (*log)(sw_stage *stage, sw_log_level level, const char *fmt, ...) SW_PRINTF(3, 4);
    /* Record why the stage could not work; returns SW_ERROR for `return host->error(...)`. */
    sw_status (*error)(sw_stage *stage, const char *fmt, ...) SW_PRINTF(2, 3);
    /* Record why the candidate is not good enough; returns SW_FAIL. */
    sw_status (*fail)(sw_stage *stage, const char *fmt, ...) SW_PRINTF(2, 3);
    /* The message recorded by the last failing host call on this stage, or "". */
    const char *(*last_error)(sw_stage *stage);
    /* Progress in [0, 1] with a short note (may be NULL); shown on a terminal, journaled. */
    void (*progress)(sw_stage *stage, double fraction, const char *note);

    /* Cancellation: nonzero once the run is stopping (signal, timeout, an aborting
       background stage, or the run ending while this background stage runs). */
    int (*cancelled)(sw_stage *stage);
    /* Sleep up to `ms` milliseconds; returns early with nonzero when cancelled. */
    int (*wait)(sw_stage *stage, int64_t ms);

    /* Identity and places. */
    const char *(*stage_id)(sw_stage *stage);
    const char *(*run_id)(sw_stage *stage);
    const char *(*artifacts_dir)(sw_stage *stage); /* created on first call */
    const char *(*state_dir)(sw_stage *stage);

    /* Per-stage private data. */
    void (*set_data)(sw_stage *stage, void *data);
    void *(*data)(sw_stage *stage);

    /* Context reads by full key ("release.id", "vars.router"). A getter fails with
       SW_ERROR when the key is absent or of another type (an int is read as a
       double on request); the message names the key and both types. */
    sw_type (*type_of)(sw_stage *stage, const char *key); /* SW_TYPE_NULL when absent */
    int (*has)(sw_stage *stage, const char *key);
    sw_status (*get_bool)(sw_stage *stage, const char *key, int *out);
    sw_status (*get_int)(sw_stage *stage, const char *key, int64_t *out);
    sw_status (*get_double)(sw_stage *stage, const char *key, double *out);
    sw_status (*get_string)(sw_stage *stage, const char *key, const char **out);
    sw_status (*get_json)(sw_stage *stage, const char *key, const char **out);

    /* Context writes by output name ("pass_rate"), stored as "<stage-id>.<name>".
       Only declared outputs of a matching type are accepted. */
    sw_status (*set_null)(sw_stage *stage, const char *name);
    sw_status (*set_bool)(sw_stage *stage, const char *name, int value);
    sw_status (*set_int)(sw_stage *stage, const char *name, int64_t value);
    sw_status (*set_double)(sw_stage *stage, const char *name, double value);
    sw_status (*set_string)(sw_stage *stage, const char *name, const char *value);
    sw_status (*set_json)(sw_stage *stage, const char *name, const char *json_text);

    /* Record an artifact file (a path under artifacts_dir) in the run's report. */
    sw_status (*add_artifact)(sw_stage *stage, const char *path, const char *description);

    /* HTTP through the host's client (libcurl): retries with jittered exponential
       back-off on connect errors, 429 and 5xx (Retry-After honoured), a timeout per
       attempt, and an early return when the stage is cancelled. SW_OK when a
       response arrived (whatever its status); SW_ERROR with last_error otherwise.
       Free the response with http_response_free. */
    sw_status (*http)(sw_stage *stage, const struct sw_http_request *request,
                      struct sw_http_response *response);
    void (*http_response_free)(sw_stage *stage, struct sw_http_response *response);

    /* ABI minor 1. Where the `with:` parameter `name` was written in the pipeline
       file, for messages about its text (a Lua snippet's errors, say). SW_ERROR
       when it was not written there as it is now: absent (a default), or built
       from ${...} references. The file string is owned by the host, as above. */
    sw_status (*param_origin)(sw_stage *stage, const char *name, sw_origin *out);
    /* ABI minor 1. The release store to open with sw_store_open (slipway/store.h):
       the state folder, or a postgres:// URL (--store, $SLIPWAY_STORE). */
    const char *(*store)(sw_stage *stage);
} sw_host;

/* An HTTP request for host->http. Zeroed fields take their defaults. */
typedef struct sw_http_request {
    SW_ABI_HEADER;
    const char *method;         /* "GET" (default), "POST", "PUT", ... */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;            /* 0 with a body: strlen(body) */
    int64_t timeout_ms;         /* per attempt; 0: 30000 */
    int max_retries;            /* 0: no retry; at most 10 */
    int64_t backoff_ms;         /* the first back-off; 0: 200; doubled each retry, with jitter */
} sw_http_request;

/* What host->http received. Owned by the host until http_response_free. */
typedef struct sw_http_response {
    SW_ABI_HEADER;
    long status; /* the HTTP status of the last attempt */
    char *body;  /* NUL-terminated (the body may contain NULs: use body_len) */
    size_t body_len;
    char *content_type; /* may be NULL */
    int attempts;       /* 1 + retries made */
    double elapsed_ms;  /* over every attempt and back-off */
} sw_http_response;

/*
 * The one exported function. Return SW_OK and set *out, or SW_ERROR with a
 * message in err (at most errsize bytes, NUL included), e.g. when the host is
 * older than the plugin needs (check host->abi_minor).
 */
typedef sw_status (*sw_plugin_entry_fn)(const sw_host *host, const sw_stage_desc **out, char *err,
                                        size_t errsize);
#define SW_PLUGIN_ENTRY_NAME "sw_plugin_entry"

/* The host table as handed to this plugin; set by SW_PLUGIN's entry before any
   stage callback runs. Plugins call host functions through it. */
extern SW_HIDDEN const sw_host *sw_host_api;

/* Write the entry function of a plugin whose descriptor is `desc`. */
#define SW_PLUGIN(desc)                                                                            \
    SW_EXPORT sw_status sw_plugin_entry(const sw_host *host, const sw_stage_desc **out, char *err, \
                                        size_t errsize);                                           \
    SW_HIDDEN const sw_host *sw_host_api;                                                          \
    SW_EXPORT sw_status sw_plugin_entry(const sw_host *host, const sw_stage_desc **out, char *err, \
                                        size_t errsize)                                            \
    {                                                                                              \
        (void)err;                                                                                 \
        (void)errsize;                                                                             \
        sw_host_api = host;                                                                        \
        *out = &(desc);                                                                            \
        return SW_OK;                                                                              \
    }

#ifdef __cplusplus
}
#endif

#endif /* SLIPWAY_PLUGIN_H */
