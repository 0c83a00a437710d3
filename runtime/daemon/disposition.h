/* disposition.h - what a slot does with a task delivered to it, and how the
 * delivery is settled with the broker.
 *
 * The choice is made once, from what is known of the delivery, in an order
 * that matters: a task of a job the slot does not know goes back to its
 * queue; a message that is not sealed with the pool's key, or malformed, is
 * dropped (never run, never delivered again); a stopping slot gives the task
 * back; a busy slot (a task of another job) bounces it to the end of its
 * queue; a redelivered task goes to the launcher, which alone knows its
 * attempt; else the task runs.  Whatever a handler decides is applied in
 * one place (disposition_apply()).
 */
#ifndef KRUN_DISPOSITION_H
#define KRUN_DISPOSITION_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

/* How a delivery is settled. */
enum disposition {
    DISPOSITION_KEEP,    /* unsettled: the task runs and is settled when it ends */
    DISPOSITION_ACK,     /* done with (a result or a copy is published) */
    DISPOSITION_REQUEUE, /* rejected, back to its queue */
    DISPOSITION_DROP,    /* rejected for good */
};

/* What a slot does with a delivered task. */
enum disposition_route {
    ROUTE_REQUEUE,  /* give it back at once */
    ROUTE_DROP,     /* refuse it */
    ROUTE_BOUNCE,   /* put it at the end of its queue (the slot is busy) */
    ROUTE_LAUNCHER, /* hand the redelivered task to the launcher */
    ROUTE_RUN,      /* run it */
};

/* What is known of a delivery, learnt in this order: a fact after a false
 * one is not looked at (the seal of a task of an unknown job is not
 * checked). */
struct delivery_facts {
    bool job_known;   /* the slot takes part in the task's job */
    bool authentic;   /* sealed with the pool's key, not expired */
    bool well_formed; /* a task of that job, of a rank within it */
    bool stopping;    /* the slot is stopping */
    bool busy;        /* the slot runs a task */
    bool redelivered; /* the broker delivered it before */
};

enum disposition_route disposition_route (const struct delivery_facts *f);

/* How a task that ran is settled: DISPOSITION_ACK when its result is to be
 * published (acked after it: AMQP keeps a channel's order, so the broker has
 * the result before it forgets the task), which is when its job is still
 * known and the task was neither dropped (cancelled, launcher gone) nor
 * given back; requeued when the slot gave it back while the job goes on;
 * else dropped. */
enum disposition disposition_finished (bool job_known, bool drop, bool give_back);

/* Settle delivery tag on t as d (DISPOSITION_KEEP: nothing).  Returns 0, or
 * -1 with errno and errp when an ack fails (a reject's failure shows as the
 * channel's next error). */
int disposition_apply (struct transport *t, uint64_t tag, enum disposition d,
                       struct krun_error *errp);

/* The disposition's name, for messages and tests. */
const char *disposition_name (enum disposition d);

#endif
