/*
 * fuzz_request.c - a chat-completion request as `slipway serve` reads it:
 * optional header lines ("name: value"), then "\n---body---\n" and the JSON
 * body (an input without the separator is all body).
 *
 * The body is checked by server.c's handle_chat, which is not separable from
 * the HTTP plumbing; this target runs the same steps on the pure modules it
 * calls, in the same order: the JSON, 'model', 'messages', 'stream', the
 * session key (header, cookie, then body fields 'user' and
 * 'metadata.session_id'), the route's targeting rules on headers and body
 * attributes (every operator), the shadow choice, and the stream_options
 * injection. Properties: a session key is 1..256 bytes from where it says, or
 * an error with a message; the version assigned is one the route has; adding
 * include_usage keeps every other field.
 */
#include <ctype.h>
#include <strings.h>

#include "fuzz_util.h"
#include "router/route.h"
#include "router/session.h"

#define MAX_HEADERS 16

typedef struct hdrs {
    char *name[MAX_HEADERS], *value[MAX_HEADERS];
    size_t n;
} hdrs;

static const char *header(void *ud, const char *name)
{
    hdrs *h = ud;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static void parse_headers(char *text, hdrs *h)
{
    for (char *line = strtok(text, "\n"); line && h->n < MAX_HEADERS; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        h->name[h->n] = line;
        h->value[h->n] = v;
        h->n++;
    }
}

static const char route_text[] =
    "{\"agent\": \"a\", \"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 50,"
    " \"rollout_id\": \"r1\", \"versions\": {\"v1\": {\"url\": \"http://127.0.0.1:1/v1\"},"
    " \"v2\": {\"url\": \"http://127.0.0.1:2/v1\"}, \"v3\": {\"url\": \"http://127.0.0.1:3/v1\"}},"
    " \"shadow\": {\"version\": \"v3\", \"percent\": 50},"
    " \"rules\": ["
    "  {\"name\": \"h\", \"version\": \"v2\", \"header\": \"x-tier\", \"op\": \"eq\", \"value\": "
    "\"beta\"},"
    "  {\"name\": \"t\", \"version\": \"v1\", \"attr\": \"metadata.tenant\", \"op\": \"in\","
    "   \"values\": [\"acme\", \"7\", \"true\"]},"
    "  {\"name\": \"p\", \"version\": \"v2\", \"attr\": \"user\", \"op\": \"prefix\", \"value\": "
    "\"int-\"},"
    "  {\"name\": \"r\", \"version\": \"v1\", \"all\": ["
    "    {\"attr\": \"metadata.region\", \"op\": \"regex\", \"value\": \"^(eu|us)-[a-z]+[0-9]*$\"},"
    "    {\"header\": \"x-canary\", \"op\": \"eq\", \"value\": \"1\"}]}]}";

static sw_route *route;
static sw_session_cfg scfg;

static void setup(void)
{
    json_t *j = json_loads(route_text, 0, NULL);
    sw_route_ctx ctx = {SW_MODE_SERVICE, NULL, NULL};
    sw_err err = {{0}};
    route = j ? sw_route_from_json("a", j, &ctx, &err) : NULL;
    json_decref(j);
    if (!route)
        abort(); /* the fixture itself is wrong */
    sw_session_cfg_default(&scfg);
}

static void check_session(const hdrs *h, const json_t *body)
{
    sw_attrs attrs = {header, (void *)h, body};
    sw_session_source src;
    sw_err err = {{0}};
    char *session = sw_session_key(&scfg, NULL, &attrs, &src, &err);
    if (!session) {
        if (!err.msg[0])
            abort();
        return;
    }
    size_t n = strlen(session);
    if (n == 0 || n > SW_SESSION_MAX)
        abort();
    if (src == SW_SESSION_HEADER || src == SW_SESSION_COOKIE)
        for (const unsigned char *p = (const unsigned char *)session; *p; p++)
            if (*p < 0x21 || *p > 0x7e)
                abort();
    char *hv = sw_session_header_value(session);
    for (const unsigned char *p = (const unsigned char *)hv; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            abort();
    free(hv);

    sw_reason reason;
    const char *rule = NULL;
    const char *version = sw_route_assign(route, session, &attrs, &reason, &rule);
    if (!version || !sw_route_find(route, version) || !sw_route_is_active(route, version))
        abort();
    if ((reason == SW_REASON_RULE) != (rule != NULL))
        abort();
    const char *sv = sw_route_shadow_for(route, session, version);
    if (sv && (!sw_route_find(route, sv) || strcmp(sv, version) == 0))
        abort();
    free(session);
}

/* What handle_chat does to a streaming request without include_usage. */
static void check_inject(const json_t *body)
{
    json_t *b = json_deep_copy(body);
    if (!b)
        abort();
    json_t *so = json_object_get(b, "stream_options");
    if (!json_is_true(json_object_get(so, "include_usage"))) {
        if (!json_is_object(so)) {
            so = json_object();
            json_object_set_new(b, "stream_options", so);
        }
        json_object_set_new(so, "include_usage", json_true());
    }
    char *text = json_dumps(b, JSON_COMPACT);
    json_t *back = text ? json_loads(text, 0, NULL) : NULL;
    if (!back || !json_equal(back, b))
        abort();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        if (strcmp(k, "stream_options") != 0 && !json_equal(v, json_object_get(back, k)))
            abort();
    }
    if (!json_is_true(json_object_get(json_object_get(back, "stream_options"), "include_usage")))
        abort();
    json_decref(back);
    free(text);
    json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    if (!route)
        setup();
    char *head, *text;
    size_t hlen, len;
    fz_split(data, size, "\n---body---\n", &head, &hlen, &text, &len);
    if (hlen == size) { /* no separator: all body */
        free(text);
        text = head;
        len = hlen;
        head = sw_xstrdup("");
    }
    hdrs h = {0};
    parse_headers(head, &h);

    json_error_t je;
    json_t *body = json_loadb(text, len, 0, &je);
    if (!body) {
        /* The 400 message quotes jansson's text: it must be a C string. */
        if (strnlen(je.text, sizeof je.text) == sizeof je.text)
            abort();
    } else if (json_is_object(body)) {
        const char *model = json_string_value(json_object_get(body, "model"));
        const json_t *stream = json_object_get(body, "stream");
        if (model && json_is_array(json_object_get(body, "messages")) &&
            (!stream || json_is_boolean(stream))) {
            check_session(&h, body);
            if (json_is_true(stream))
                check_inject(body);
        }
        /* Attributes are read from any body, valid or not. */
        char tmp[64];
        sw_attr_text(body, "metadata.session_id", tmp);
        sw_attr_text(body, "a.b.c.d.e.f.g.h", tmp);
    }
    json_decref(body);
    free(head);
    free(text);
    return 0;
}
