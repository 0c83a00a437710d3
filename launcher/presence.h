/* presence.h - "who is there": the launcher's view of the live worker
 * daemons of its pool.  It reads the consumer count of the pool's roster
 * queue (one consumer per live daemon), asks them all on the pool's
 * presence exchange and waits until that many have answered, or until the
 * timeout, so a warm query costs one round trip instead of a fixed waiting
 * window.  The question ("who") and the answers ("here") are sealed with
 * the pool's key, and each answer repeats the question's random nonce: an
 * answer that is not sealed with the key is ignored and counted (and said
 * once per process); one that answers another query (a late answer to an
 * earlier query of this launcher, or a replay) does not count.
 */
#ifndef KRUN_PRESENCE_H
#define KRUN_PRESENCE_H

#include <stdint.h>

#include "cpumap.h"
#include "error.h"
#include "pool.h"
#include "sign.h"
#include "transport.h"

struct presence;

struct presence_node {
    char *name;
    int pid;
    int nslots;
    int *cores; /* nslots entries, -1 = unbound */
    int busy;
    int64_t started_us;
    char *version;
    int njobs;   /* jobs the daemon serves (announced, not ended) */
    char **jobs; /* njobs valid job ids (protocol_job_id_valid()); none from
                    a daemon older than this field */
};

/* Ask the live daemons.  Answers go to reply_queue, consumed by t with
 * consumer tag reply_tag (other deliveries meanwhile are dropped), or, if
 * reply_queue is NULL, to a queue made for this query.  Returns a presence
 * (caller must destroy) or NULL with errno and errp.  When two daemons answer
 * for the same node name, the first is kept and a warning is printed. */
struct presence *presence_query (struct transport *t, const struct pool *pool,
                                 const struct sign_key *key, const char *reply_queue,
                                 const char *reply_tag, int timeout_ms,
                                 struct krun_error *errp);

/* An empty presence, for when nobody is asked. */
struct presence *presence_create (void);

/* Accepts NULL; keeps errno. */
void presence_destroy (struct presence *p);

int presence_count (const struct presence *p);
/* Node i in order of arrival (borrowed until destroy), or NULL. */
const struct presence_node *presence_node (const struct presence *p, int i);
/* The node called name, or NULL. */
const struct presence_node *presence_find (const struct presence *p, const char *name);

/* The global CPU map of the nodes (caller must destroy), or NULL. */
struct cpumap *presence_cpumap (const struct presence *p, struct krun_error *errp);

#endif
