#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "presence.h"
#include "protocol.h"
#include "sealed.h"

#define HERE_TAG "here"
/* RabbitMQ's pseudo-queue: answers published to it reach the consumer of
 * the channel that asked, with no queue made or deleted. */
#define DIRECT_REPLY_TO "amq.rabbitmq.reply-to"

struct presence {
    int count;
    struct presence_node *nodes;
    unsigned long ignored; /* answers not sealed with the key */
};

struct presence *presence_create (void)
{
    return calloc (1, sizeof (struct presence));
}

static void node_clear (struct presence_node *n)
{
    free (n->name);
    free (n->cores);
    free (n->version);
    for (int k = 0; k < n->njobs; k++)
        free (n->jobs[k]);
    free (n->jobs);
}

void presence_destroy (struct presence *p)
{
    int saved_errno = errno;
    if (p) {
        for (int i = 0; i < p->count; i++)
            node_clear (&p->nodes[i]);
        free (p->nodes);
        free (p);
    }
    errno = saved_errno;
}

int presence_count (const struct presence *p)
{
    return p->count;
}

const struct presence_node *presence_node (const struct presence *p, int i)
{
    return i >= 0 && i < p->count ? &p->nodes[i] : NULL;
}

const struct presence_node *presence_find (const struct presence *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp (p->nodes[i].name, name) == 0)
            return &p->nodes[i];
    return NULL;
}

/* Take over the strings of a decoded "here" message. */
static int presence_add (struct presence *p, struct protocol_here *here)
{
    struct presence_node *nodes;

    const struct presence_node *known = presence_find (p, here->node);

    /* A late answer to an earlier query of the same launcher. */
    if (known && known->pid == here->pid)
        return 0;
    if (known) {
        fprintf (stderr,
                 "krun: warning: two daemons answer for node %s; using the first\n",
                 here->node);
        return 0;
    }
    if (!(nodes = realloc (p->nodes, (p->count + 1) * sizeof (*nodes))))
        return -1;
    p->nodes = nodes;
    nodes[p->count++] = (struct presence_node){
        .name = here->node,
        .pid = here->pid,
        .nslots = here->nslots,
        .cores = here->cores,
        .busy = here->busy,
        .started_us = here->started_us,
        .version = here->version,
        .batches = here->batches,
        .njobs = here->njobs,
        .jobs = here->jobs,
    };
    here->node = here->version = NULL;
    here->cores = NULL;
    here->jobs = NULL;
    here->njobs = 0;
    return 0;
}

/* An answer that does not count: say so once per process, count them all. */
static void ignore (struct presence *p, const char *why)
{
    static bool said;

    if (p->ignored++ == 0 && !said) {
        said = true;
        fprintf (stderr,
                 "krun: warning: ignoring a presence answer: %s (further ones are "
                 "counted, not shown)\n",
                 why);
    }
}

static int collect (struct presence *p, struct transport *t, const struct sign_key *key,
                    const char *nonce, const char *tag, unsigned expected,
                    int timeout_ms, struct krun_error *errp)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    struct transport_message m;
    unsigned answers = 0;

    while (answers < expected) {
        int64_t left = deadline - clock_mono_ms ();
        int rc;
        if (left <= 0)
            break;
        if ((rc = transport_next (t, (int)left, &m, errp)) < 0)
            return -1;
        if (rc != TRANSPORT_DELIVERY || strcmp (m.consumer_tag, tag) != 0)
            continue;
        struct protocol_msg msg = {0};
        struct krun_error error;
        const char *body;
        size_t len;
        /* The job's results queue is the reply queue too: only "here"
         * answers are looked at now, sealed or not. */
        if (sign_open (key, m.body, m.len, clock_wall_us (), &body, &len, NULL,
                       &error) < 0) {
            ignore (p, error.text);
            continue;
        }
        if (protocol_decode (body, len, &msg, &error) < 0)
            ignore (p, error.text);
        else if (msg.type == PROTOCOL_HERE && strcmp (msg.here.nonce, nonce) != 0)
            ; /* a late answer to an earlier query, or a replay: not counted */
        else if (msg.type == PROTOCOL_HERE) {
            answers++;
            if (presence_add (p, &msg.here) < 0) {
                protocol_msg_clear (&msg);
                return errprintf_errno (errp, "presence");
            }
        }
        protocol_msg_clear (&msg);
    }
    return 0;
}

/* The consumer of t's direct reply-to pseudo-queue, made at the first
 * question on t and kept. */
static int reply_consumer (struct transport *t, struct krun_error *errp)
{
    if (transport_consuming (t, HERE_TAG))
        return 0;
    return transport_consume_defer (t, DIRECT_REPLY_TO, HERE_TAG, true, errp);
}

/* Publish who, sealed, with a fresh nonce (written into q). */
static int ask (struct transport *t, const struct pool *pool,
                const struct sign_key *key, struct presence_question *q,
                struct krun_error *errp)
{
    struct protocol_msg who = {.type = PROTOCOL_WHO, .who.nonce = q->nonce};
    const struct sealed_dest dest = {.exchange = pool->presence,
                                     .routing_key = PROTOCOL_KEY_WHO,
                                     .reply_to = DIRECT_REPLY_TO,
                                     .ttl_us = SIGN_CONTROL_TTL_US};
    unsigned char raw[8];

    _Static_assert(sizeof (q->nonce) == 2 * sizeof (raw) + 1, "nonce size");
    if (getrandom (raw, sizeof (raw), 0) != sizeof (raw))
        return errprintf_errno (errp, "cannot make a presence nonce");
    for (size_t i = 0; i < sizeof (raw); i++)
        snprintf (q->nonce + 2 * i, 3, "%02x", raw[i]);
    if (reply_consumer (t, errp) < 0 || sealed_publish (t, key, &dest, &who, errp) < 0)
        return -1;
    q->asked = true;
    return 0;
}

int presence_ask (struct transport *t, const struct pool *pool,
                  const struct sign_key *key, struct presence_question *q,
                  struct krun_error *errp)
{
    /* On the main channel, before the question: a publication to a missing
     * exchange would close that channel. */
    if (transport_declare_exchange_nowait (t, pool->presence, "direct", errp) < 0)
        return -1;
    return ask (t, pool, key, q, errp);
}

struct presence *presence_query (struct transport *t, const struct pool *pool,
                                 const struct sign_key *key,
                                 struct presence_question *q, int timeout_ms,
                                 struct krun_error *errp)
{
    struct presence_question own = {0};
    struct presence *p;
    unsigned consumers = 0;

    if (!(p = presence_create ()))
        return NULL;
    if (!q || !q->asked)
        q = &own;
    /* While the daemons answer a question asked ahead, this round trip
     * waits for what went before it on the private channel too (a run's
     * task queue declaration). */
    if (transport_queue_info (t, pool->roster, NULL, &consumers, errp) < 0) {
        if (errno == ENOENT)
            goto none; /* no daemon of the pool ever ran against this broker */
        goto error;
    }
    if (consumers == 0)
        goto none;
    /* Daemons exist, so does the presence exchange they declared. */
    if ((!q->asked && ask (t, pool, key, q, errp) < 0) ||
        collect (p, t, key, q->nonce, HERE_TAG, consumers, timeout_ms, errp) < 0)
        goto error;
none:
    q->asked = false;
    return p;
error:
    q->asked = false;
    presence_destroy (p);
    return NULL;
}

struct cpumap *presence_cpumap (const struct presence *p, struct krun_error *errp)
{
    struct cpumap *m = cpumap_create ();

    if (!m) {
        errprintf_errno (errp, "cpu map");
        return NULL;
    }
    for (int i = 0; i < p->count; i++) {
        if (cpumap_add_node (m, p->nodes[i].name, p->nodes[i].nslots, p->nodes[i].cores,
                             errp) < 0) {
            cpumap_destroy (m);
            return NULL;
        }
    }
    return m;
}
