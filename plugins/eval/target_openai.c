/* target_openai.c - a Chat Completions request: the release's fixed parts around the conversation.
 */
#include <stdlib.h>
#include <string.h>

#include "store/canon.h"
#include "target.h"

/* The body is written from the release's canonical fragments around the
   conversation's messages, so a 5 KB system prompt and tool list are not
   serialized again for every request; the text is exactly the canonical JSON
   of the whole body (members in RFC 8785 order), which the cache key hashes. */
int ev_openai_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    const ev_release *rel = cv->rel;
    if (!cv->messages) {
        cv->messages = json_array();
        json_array_extend(cv->messages, cv->c->messages);
    }
    sw_buf b = {0};
    sw_buf_puts(&b, "{");
    sw_buf_puts(&b, rel->canon_head);
    sw_buf_puts(&b, rel->canon_head[0] ? ",\"messages\":[" : "\"messages\":[");
    int first = 1;
    if (rel->canon_system) {
        sw_buf_puts(&b, rel->canon_system);
        first = 0;
    }
    size_t i;
    json_t *m;
    json_array_foreach(cv->messages, i, m)
    {
        if (!first)
            sw_buf_puts(&b, ",");
        first = 0;
        if (sw_canon_append(&b, m, err) < 0) {
            sw_buf_free(&b);
            return sw_err_prefix(err, "building the request: ");
        }
    }
    sw_buf_puts(&b, "]");
    if (rel->canon_tail[0]) {
        sw_buf_puts(&b, ",");
        sw_buf_puts(&b, rel->canon_tail);
    }
    sw_buf_puts(&b, "}");
    spec->body_len = b.len;
    spec->body = sw_buf_steal(&b);
    if (cv->t->keyed) {
        ev_cache_key_canon("chat", spec->body, cv->sample, key);
        spec->cache_key = key;
    }
    spec->est_tokens = (int64_t)(spec->body_len / 4) + ev_release_max_tokens(rel);
    return 0;
}
