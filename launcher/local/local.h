/* local.h - the embedded provider: this machine is the cluster.
 *
 * With no broker configured, krun uses a private RabbitMQ instance of the
 * user's own (privatebroker.h).  It then makes sure a
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

/* Start a krund for every configured local node that is missing from p, or
 * that answers with another slot count than configured (that one is stopped
 * first).  slots > 0 overrides the slot count of the default node.  Does not
 * wait for them.  Returns the number started, or -1. */
int local_daemons_ensure (const struct config *cfg, const char *url,
                          const char *state_dir, const struct presence *p, int slots,
                          struct krun_error *errp);

/* Stop the daemons that krun started on this machine with this state
 * directory: SIGTERM to each process its record (STATE_DIR/krund-NODE.pid,
 * see pidfile.h) still names, never to a PID learned over the broker; wait
 * for them at most 15 s.  Returns the number signalled. */
int local_daemons_stop (const char *state_dir);

/* The name of the default node (when local.nodes is empty): the host's
 * name, else "localhost", into buf (NUL-terminated, truncated to size). */
void local_default_node (char *buf, size_t size);

/* The node names and slot counts krun expects locally (for waiting).
 * Returns the count; *names borrowed from cfg or a static host name. */
int local_node_count (const struct config *cfg);

#endif
