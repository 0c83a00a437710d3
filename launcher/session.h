/* session.h - what a run and the subcommands set up alike, whatever the
 * provider: the broker URL (starting the private broker of the state
 * directory when the provider uses it and no broker is configured), the
 * connection, the key that signs the job's messages and the pool they use.
 * These end krun on failure (die.h): they are the command's own steps.
 */
#ifndef KRUN_SESSION_H
#define KRUN_SESSION_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "nextjob.h"
#include "pool.h"
#include "provider.h"
#include "sign.h"
#include "transport.h"

/* Whether krun uses the private broker of its state directory: no broker
 * configured, local.broker on, and a provider that wants it. */
bool session_private_broker (const struct config *cfg);

/* The broker URL (caller must free): the configured one, else that of the
 * private broker, started first when start is true (a note on stderr unless
 * quiet).  Dies when it cannot start it; without start, returns NULL with
 * errno and errp (ESRCH: the private broker does not run). */
char *session_broker_url (const struct config *cfg, const char *state_dir, bool start,
                          bool quiet, struct krun_error *errp);

/* Connect to url (from session_broker_url()): through the connection
 * agent of url if via_agent is not NULL and one answers (*via_agent says
 * whether: agent.h), else to the broker itself.  A use of the private broker
 * keeps it from leaving idle.  The id of the job whose queues the agent made
 * ahead for this connection (nextjob.h) goes into job_id ("" if none); with
 * job_id NULL (the caller runs no job), those queues are deleted.  Dies on
 * failure.  Caller must destroy. */
struct transport *session_connect (const struct config *cfg, const char *url,
                                   const char *state_dir, bool *via_agent,
                                   char job_id[NEXTJOB_ID_SIZE]);

/* Start the connection agent of url for the next runs (agent_start()),
 * unless it is turned off or cannot serve url; a warning if it cannot be
 * started. */
void session_start_agent (const struct config *cfg, const char *url,
                          const char *state_dir);

/* The key that signs the job's messages: the provider's key file if it
 * names one, else $KRUN_KEY_FILE, which must exist, else STATE_DIR/key,
 * made on first use; $KRUN_KEY_FILE is set to the file used (the daemons
 * started now read it).  Workers refuse what it did not sign.  Dies on
 * failure.  Caller must sign_key_destroy() it. */
struct sign_key *session_signing_key (struct provider *prov, const char *state_dir);

/* Fill pool with the pool the provider names, else one named after key.
 * Dies on a bad name. */
void session_pool (struct provider *prov, const struct sign_key *key,
                   struct pool *pool);

/* The provider of cfg (caller must destroy); dies (status 1) if it cannot be
 * made (for Kubernetes: the credentials cannot be loaded), and with survey
 * also if the cluster cannot be read. */
struct provider *session_provider (const struct config *cfg, bool quiet, bool survey);

#endif
