/* slot.h - a slot process: one per core, pinned there by the daemon.  It
 * speaks AMQP on a pair of channels of the daemon's broker connection
 * (amqpmux.h), or on a connection of its own (krund --connection-per-slot,
 * amqps://); either way its channels close when it dies.  It hears job announcements
 * from its daemon, which relays the node's control queue to its slots (relay.h), pulls
 * tasks from the job's task queue one at a time (prefetch 1), runs each as a child
 * process, forwards its output, publishes its result and only then acknowledges the
 * task, so a slot that dies mid-task gives the task back to the broker.
 */
#ifndef KRUN_SLOT_H
#define KRUN_SLOT_H

#include "pool.h"
#include "topology.h"
#include "sign.h"
#include "slotstate.h"

struct slot_config {
    const char *url;            /* broker URL (with password: never log it) */
    const char *cacert;         /* CA file for amqps://, or NULL */
    const char *node;           /* node name */
    int local;                  /* index of this slot on the node */
    int core;                   /* OS index of the core it is pinned to, -1 if none */
    const char *cpus;           /* the CPUs it is bound to ("2-3") or "unbound" */
    int heartbeat;              /* AMQP heartbeat in seconds */
    int grace;                  /* seconds a running task may finish after SIGTERM */
    int split_after_ms;         /* a message of several ranks that has run this
                                   long puts its ranks not started back */
    struct slotstate *state;    /* shared with the daemon: this slot's entry is
                                   local; NULL = nobody to tell */
    int control_fd;             /* pipe from the daemon: relayed control messages */
    int mux_fd;                 /* socket to the daemon's shared broker connection
                                   (amqpmux.h), or -1: log in to url itself */
    const char *control_queue;  /* the daemon's control queue (reply_to of joined) */
    const struct sign_key *key; /* checks job messages (borrowed) */
    const char *base;           /* krund's private directory (userdir.h), or NULL */
    const char *daemon_dir;     /* the daemon's directory in it, or NULL */
    const char *dir_error;      /* why there is no base or daemon_dir */
    const struct pool *pool;    /* the node's pool: where "joined" goes */
    /* The node's cores (borrowed; NULL: none known): for a job whose ranks
     * get several slots' cores (krun -c N) or all of them (--bind-to none).
     * Slot k of nslots is bound to core k % ncores. */
    const struct topology *topology;
    int ncores;
    int nslots;
};

/* Serve until SIGTERM (or the daemon's death).  Returns the process exit
 * status: 0 after a clean stop, 1 if the broker could not be reached or the
 * connection failed. */
int slot_run (const struct slot_config *cfg);

#endif
