/* sealed.c - see sealed.h. */
#include <stdlib.h>

#include "clock.h"
#include "sealed.h"

int sealed_publish_body (struct transport *t, const struct sign_key *key,
                         const struct sealed_dest *dest, const char *type,
                         const char *body, size_t len, struct krun_error *errp)
{
    size_t sealed_len;
    char *sealed =
        sign_seal (key, body, len, clock_wall_us () + dest->ttl_us, &sealed_len, errp);
    int rc;

    if (!sealed)
        return -1;
    rc = transport_publish (t, dest->exchange, dest->routing_key, type, dest->reply_to,
                            dest->flags, sealed, sealed_len, errp);
    free (sealed);
    return rc;
}

int sealed_publish (struct transport *t, const struct sign_key *key,
                    const struct sealed_dest *dest, const struct protocol_msg *msg,
                    struct krun_error *errp)
{
    size_t len;
    char *body = protocol_encode (msg, &len, errp);
    int rc = -1;

    if (body)
        rc = sealed_publish_body (t, key, dest, protocol_type_name (msg->type), body,
                                  len, errp);
    free (body);
    return rc;
}
