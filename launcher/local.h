/* local.h - the embedded provider: this machine is the cluster.
 *
 * With no configuration, krun uses the broker at the default URL and, if
 * nothing listens there, starts a private RabbitMQ instance of the user's own
 * under STATE_DIR/broker (never the system service).  It then makes sure a
 * krund runs for every configured local node (one node named after the host
 * by default, or the simulated nodes of `local.nodes`), each left running
 * warm until its idle timeout.  Daemons and broker are detached from the
 * launcher (their own session) and log to STATE_DIR.
 */
#ifndef KRUN_LOCAL_H
#define KRUN_LOCAL_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "presence.h"

/* Start the private broker on cfg->local_broker_port and wait until it
 * accepts connections (bounded by cfg->start_timeout).  Returns 0 or -1. */
int local_broker_start (const struct config *cfg, const char *state_dir,
                        struct krun_error *errp);

/* Note that the private broker (if any) was just used: its watchdog stops
 * it after idle_timeout + 60 s without use. */
void local_broker_touch (const char *state_dir);
void local_broker_touch_dir (const char *broker_dir);

/* Stop the private broker (by the PID it recorded).  Returns 1 if one was
 * stopped, 0 if none ran, -1 on error. */
int local_broker_stop (const char *state_dir, struct krun_error *errp);

/* Start a krund for every configured local node that is missing from p, or
 * that answers with another slot count than configured (that one is stopped
 * first).  slots > 0 overrides the slot count of the default node.  Does not
 * wait for them.  Returns the number started, or -1. */
int local_daemons_ensure (const struct config *cfg, const char *url,
                          const char *state_dir, const struct presence *p, int slots,
                          struct krun_error *errp);

/* Stop the daemons of p that run on this machine (SIGTERM by PID; only
 * processes that are krund).  Returns the number signalled. */
int local_daemons_stop (const struct presence *p);

/* The node names and slot counts krun expects locally (for waiting).
 * Returns the count; *names borrowed from cfg or a static host name. */
int local_node_count (const struct config *cfg);

#endif
