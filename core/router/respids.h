/*
 * respids.h - the response ids the router served, and whose session each was.
 *
 * A Responses API conversation goes on with `previous_response_id` and nothing
 * else: no `user`, no header. The router remembers the id of every answer it
 * passed on (per agent) with the answer's session, so the next request of the
 * conversation finds its session again, and with it its pin and version.
 *
 * Ids are kept in the order they came, each until its expiry (the session TTL
 * when it was served); the oldest leave first, so an id lives at least its TTL
 * unless the table is full (`max`), when the oldest make room. The table is the
 * loop thread's, held in memory only (a restarted router forgets it: a
 * conversation continued across a restart starts a new session).
 */
#ifndef SW_ROUTER_RESPIDS_H
#define SW_ROUTER_RESPIDS_H

#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

typedef struct sw_respid sw_respid;

typedef struct sw_respids {
    sw_hmap map;            /* "<agent>\n<id>" -> sw_respid* */
    sw_respid *head, *tail; /* oldest first */
    size_t max;
} sw_respids;

void sw_respids_init(sw_respids *t, size_t max);
void sw_respids_free(sw_respids *t);
/* Remember that agent's answer id belongs to session until expires_ms (wall clock). An id
   seen again takes the new session. */
void sw_respids_put(sw_respids *t, const char *agent, const char *id, const char *session,
                    int64_t expires_ms);
/* The session of agent's answer id, or NULL (borrowed: valid until the next put or expire). */
const char *sw_respids_session(const sw_respids *t, const char *agent, const char *id);
/* Forget the ids expired at now_ms, oldest first, stopping at the first that is not. */
void sw_respids_expire(sw_respids *t, int64_t now_ms);
size_t sw_respids_count(const sw_respids *t);

#endif
