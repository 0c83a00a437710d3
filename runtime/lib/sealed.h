/* sealed.h - publishing a protocol message sealed with a key (encode, then
 * sign_seal(), then transport_publish()), the one way krun and krund send
 * what the other side must trust: tasks, reports, announcements, "who" and
 * "joined".
 */
#ifndef KRUN_SEALED_H
#define KRUN_SEALED_H

#include <stdint.h>

#include "error.h"
#include "protocol.h"
#include "sign.h"
#include "transport.h"

/* Where a sealed message goes and how long its seal holds. */
struct sealed_dest {
    const char *exchange;    /* "" for the default exchange */
    const char *routing_key; /* a queue's name on the default exchange */
    const char *reply_to;    /* may be NULL */
    int flags;               /* TRANSPORT_MANDATORY, TRANSPORT_PERSISTENT, ... */
    int64_t ttl_us;          /* valid this long from now (SIGN_*_TTL_US) */
};

/* Encode msg, seal it with key and publish it to dest, with msg's type name
 * as the AMQP type.  Does not wait for the broker's confirmation.  Returns 0,
 * or -1 with errno and errp (the encoder's, the seal's or the broker's
 * reason). */
int sealed_publish (struct transport *t, const struct sign_key *key,
                    const struct sealed_dest *dest, const struct protocol_msg *msg,
                    struct krun_error *errp);

/* The same for a body already encoded (one encoded once and sent again,
 * such as a job's announcement), published with the AMQP type `type`. */
int sealed_publish_body (struct transport *t, const struct sign_key *key,
                         const struct sealed_dest *dest, const char *type,
                         const char *body, size_t len, struct krun_error *errp);

#endif
