/* daemon.h - the worker daemon (krund) of one node: finds the cores it may
 * use, forks one slot process per core and pins it there once, at start, so
 * that every later job starts warm; answers presence queries of its pool;
 * confirms or refuses each job that lists its node (the launcher hears why
 * a node cannot take part); restarts slots that die; leaves after
 * idle_timeout seconds without work, but not while a job it takes part in
 * still has tasks queued.
 */
#ifndef KRUN_DAEMON_H
#define KRUN_DAEMON_H

#include <stdbool.h>

#include "pool.h"
#include "sign.h"
#include "topology.h"

struct daemon_config {
    const char *url;            /* broker URL (secret: never logged) */
    const char *cacert;         /* CA file for amqps://, or NULL */
    const char *node;           /* node name */
    int slots;                  /* slot count; 0 = one per usable core */
    const char *topology;       /* NULL = this machine; else XML file or synthetic */
    enum topology_unit unit;    /* a slot per core (default) or per PU */
    int idle_timeout;           /* seconds without work before exiting */
    int heartbeat;              /* AMQP heartbeat, seconds */
    int grace;                  /* seconds running tasks get to finish on SIGTERM */
    int split_after_ms;         /* slot_config's: when a long message is split */
    const struct sign_key *key; /* checks job messages (secret: never logged) */
    const struct pool *pool;    /* the exchanges and queues of the node's pool */
    /* Each slot logs in to the broker itself, instead of sharing the
     * daemon's multiplexed connection (amqpmux.h; always so for amqps://). */
    bool connection_per_slot;
};

/* Run until SIGTERM/SIGINT or the idle timeout.  Returns the exit status. */
int daemon_run (const struct daemon_config *cfg);

#endif
