/* sealed.c - see sealed.h. */
#include <stdlib.h>

#include "clock.h"
#include "sealed.h"

int sealed_publish (struct transport *t, const struct sign_key *key,
                    const struct sealed_dest *dest, const struct protocol_msg *msg,
                    struct krun_error *errp)
{
    size_t len, sealed_len;
    char *body, *sealed = NULL;
    int rc = -1;

    if ((body = protocol_encode (msg, &len, errp)) &&
        (sealed = sign_seal (key, body, len, clock_wall_us () + dest->ttl_us,
                             &sealed_len, errp)))
        rc = transport_publish (t, dest->exchange, dest->routing_key,
                                protocol_type_name (msg->type), dest->reply_to,
                                dest->flags, sealed, sealed_len, errp);
    free (sealed);
    free (body);
    return rc;
}
