/* disposition.c - see disposition.h. */
#include "disposition.h"

enum disposition_route disposition_route (const struct delivery_facts *f)
{
    if (!f->job_known)
        return ROUTE_REQUEUE;
    if (!f->authentic || !f->well_formed)
        return ROUTE_DROP;
    if (f->stopping)
        return ROUTE_REQUEUE;
    if (f->busy)
        return ROUTE_BOUNCE;
    if (f->redelivered)
        return ROUTE_LAUNCHER;
    return ROUTE_RUN;
}

enum disposition disposition_finished (bool job_known, bool drop, bool give_back)
{
    if (job_known && !drop && !give_back)
        return DISPOSITION_ACK;
    return give_back && job_known ? DISPOSITION_REQUEUE : DISPOSITION_DROP;
}

int disposition_apply (struct transport *t, uint64_t tag, enum disposition d,
                       struct krun_error *errp)
{
    switch (d) {
        case DISPOSITION_ACK:
            return transport_ack (t, tag, errp);
        case DISPOSITION_REQUEUE:
        case DISPOSITION_DROP:
            transport_reject (t, tag, d == DISPOSITION_REQUEUE, NULL);
            return 0;
        case DISPOSITION_KEEP:
            break;
    }
    return 0;
}

const char *disposition_name (enum disposition d)
{
    static const char *names[] = {
        [DISPOSITION_KEEP] = "keep",
        [DISPOSITION_ACK] = "ack",
        [DISPOSITION_REQUEUE] = "requeue",
        [DISPOSITION_DROP] = "drop",
    };
    return (unsigned)d < sizeof (names) / sizeof (names[0]) ? names[d] : "?";
}
