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

/* Publish who, sealed, with a fresh nonce (written into nonce). */
static int ask (struct transport *t, const struct pool *pool,
                const struct sign_key *key, const char *reply_queue, char *nonce,
                struct krun_error *errp)
{
    struct protocol_msg who = {.type = PROTOCOL_WHO, .who.nonce = nonce};
    const struct sealed_dest dest = {.exchange = pool->presence,
                                     .routing_key = PROTOCOL_KEY_WHO,
                                     .reply_to = reply_queue,
                                     .ttl_us = SIGN_CONTROL_TTL_US};
    unsigned char raw[8];

    if (getrandom (raw, sizeof (raw), 0) != sizeof (raw))
        return errprintf_errno (errp, "cannot make a presence nonce");
    for (size_t i = 0; i < sizeof (raw); i++)
        snprintf (nonce + 2 * i, 3, "%02x", raw[i]);
    return sealed_publish (t, key, &dest, &who, errp);
}

struct presence *presence_query (struct transport *t, const struct pool *pool,
                                 const struct sign_key *key, const char *reply_queue,
                                 const char *reply_tag, int timeout_ms,
                                 struct krun_error *errp)
{
    struct presence *p;
    unsigned consumers = 0;
    char *own_queue = NULL;
    char nonce[17];

    if (!(p = presence_create ()))
        return NULL;
    if (transport_queue_info (t, pool->roster, NULL, &consumers, errp) < 0) {
        if (errno == ENOENT)
            return p; /* no daemon of the pool ever ran against this broker */
        goto error;
    }
    if (consumers == 0)
        return p;
    /* Daemons exist, so does the presence exchange they declared. */
    if (!reply_queue) {
        if (transport_declare_queue (t, "", TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE,
                                     0, &own_queue, errp) < 0 ||
            transport_consume (t, own_queue, HERE_TAG, true, errp) < 0)
            goto error;
        reply_queue = own_queue;
        reply_tag = HERE_TAG;
    }
    if (ask (t, pool, key, reply_queue, nonce, errp) < 0 ||
        collect (p, t, key, nonce, reply_tag, consumers, timeout_ms, errp) < 0)
        goto error;
    if (own_queue && (transport_cancel (t, HERE_TAG, errp) < 0 ||
                      transport_delete_queue (t, own_queue, errp) < 0))
        goto error;
    free (own_queue);
    return p;
error:
    free (own_queue);
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
