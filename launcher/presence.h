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

#include <stdbool.h>
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
    bool batches; /* its slots run task messages of several ranks */
    int njobs;    /* jobs the daemon serves (announced, not ended) */
    char **jobs;  /* njobs valid job ids (protocol_job_id_valid()); none from
                     a daemon older than this field */
};

/* A question asked ahead of the query that reads its answers
 * (presence_ask()).  Zero-initialise it. */
struct presence_question {
    char nonce[17];
    bool asked; /* sent, and its answers not read yet */
};

/* Ask the pool's live daemons who is there, without waiting for anything:
 * the presence exchange is declared (daemons declare it; nobody may have
 * yet) and a sealed `who` published on t's main channel, its answers
 * coming to t's consumer of the direct reply-to pseudo-queue (made at the
 * first question on t, and kept: it costs the broker no queue).  A run asks
 * before it declares its job's queues, so that the daemons answer while the
 * broker makes them; the next presence_query() given q reads the answers.
 * A question nobody hears is dropped.  Returns 0, or -1 with errno and
 * errp. */
int presence_ask (struct transport *t, const struct pool *pool,
                  const struct sign_key *key, struct presence_question *q,
                  struct krun_error *errp);

/* Ask the live daemons and collect their answers: as many as the pool's
 * roster has consumers (live daemons), or what came within timeout_ms.  If
 * q holds a question asked and not read yet, its answers are collected
 * instead of asking again (and q is marked read).  Answers come to t's
 * direct reply-to consumer (other deliveries meanwhile are dropped).
 * Returns a presence (caller must destroy) or NULL with errno and errp.
 * When two daemons answer for the same node name, the first is kept and a
 * warning is printed. */
struct presence *presence_query (struct transport *t, const struct pool *pool,
                                 const struct sign_key *key,
                                 struct presence_question *q, int timeout_ms,
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
