/* pool.c - see pool.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "protocol.h"

bool pool_name_valid (const char *name)
{
    /* The rule of job ids: both become parts of AMQP names. */
    return protocol_job_id_valid (name);
}

int pool_init (struct pool *p, const char *name, struct krun_error *errp)
{
    if (!pool_name_valid (name)) {
        errno = EINVAL;
        return errprintf (errp,
                          "pool name '%.80s' is not valid: 1 to %d letters, digits, "
                          "'-' or '_'",
                          name ? name : "", POOL_NAME_MAX);
    }
    memset (p, 0, sizeof (*p));
    snprintf (p->name, sizeof (p->name), "%s", name);
    snprintf (p->control, sizeof (p->control), "krun.%s.control", name);
    snprintf (p->presence, sizeof (p->presence), "krun.%s.presence", name);
    snprintf (p->roster, sizeof (p->roster), "krun.%s.roster", name);
    return 0;
}

int pool_init_default (struct pool *p, const char *name, const struct sign_key *key,
                       struct krun_error *errp)
{
    char id[SIGN_KEY_ID_LEN + 2];

    if (name && *name)
        return pool_init (p, name, errp);
    id[0] = 'k';
    if (sign_key_id (key, id + 1, sizeof (id) - 1) < 0)
        return errprintf_errno (errp, "cannot name the key's pool");
    return pool_init (p, id, errp);
}
