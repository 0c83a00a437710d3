/* pool.h - the names a pool of workers uses on a shared broker.
 *
 * Several users (or one user's several configurations) may share one
 * RabbitMQ broker and vhost.  Each runs its jobs on its own pool: the
 * exchanges that carry presence and control messages and the queue that
 * counts the live daemons all carry the pool's name, so two pools never see
 * each other's daemons in presence, `krun status`, `krun down` or the CPU
 * map, and never receive each other's announcements.  The Kubernetes
 * provider names the pool (its pool name); the local provider derives it
 * from the key (sign_key_id()), unless the configuration sets `pool`.
 * Job queues are named by the job id, which only the pool learns (from
 * sealed announcements and presence answers); staged files by their hash.
 */
#ifndef KRUN_POOL_H
#define KRUN_POOL_H

#include <stdbool.h>

#include "error.h"
#include "sign.h"

#define POOL_NAME_MAX 64

struct pool {
    char name[POOL_NAME_MAX + 1];
    char control[POOL_NAME_MAX + 32];  /* fanout exchange: announce, end, cancel */
    char presence[POOL_NAME_MAX + 32]; /* direct exchange: who, joined */
    char roster[POOL_NAME_MAX + 32];   /* queue every live daemon consumes */
};

/* Whether name may name a pool: 1 to POOL_NAME_MAX letters, digits, '-' or
 * '_' (it becomes part of exchange and queue names). */
bool pool_name_valid (const char *name);

/* Fill p for the pool called name.  Returns 0, or -1 with errno EINVAL and
 * errp naming the pool if the name is not valid. */
int pool_init (struct pool *p, const char *name, struct krun_error *errp);

/* Fill p for name if it is not NULL or empty, else for the pool of key:
 * "k" and the key's id (sign_key_id()).  Returns 0 or -1 as pool_init(). */
int pool_init_default (struct pool *p, const char *name, const struct sign_key *key,
                       struct krun_error *errp);

#endif
