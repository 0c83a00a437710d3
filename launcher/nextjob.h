/* nextjob.h - the next run's queues, made ahead by the run before it.
 *
 * A warm run waits 1 to 1.5 ms for the broker to make its job's two queues
 * (benchmarks/PROFILE.md), the longest of its waits before the tasks can
 * go.  A run that went through the connection agent (agent.h) therefore
 * declares the queues of another job as it ends, without waiting for the
 * broker (queue.declare no-wait, on its way out: the connection goes back to
 * the agent and the broker makes them while the next run starts), and
 * leaves that job's id in STATE_DIR/agent-<digits>.next.  The next run
 * through the same agent claims the id (the file is renamed away: one run
 * per id) and runs its job under it.  It declares the queues as any run
 * does: the broker answers at once for queues that exist with the same
 * properties, and makes them if they do not (the run before died before
 * its declarations went out, or they expired), so an id made ahead is never
 * worse than a new one.
 *
 * Only for jobs that are not durable (durable_queues: the queues' properties
 * differ), and only ids at most NEXTJOB_MAX_AGE_S old: a task queue nobody
 * uses expires after PROTOCOL_JOB_QUEUE_EXPIRES_MS (30 s), and its results
 * queue likewise, so the queues of an id that nobody claims go by themselves.
 * `krun down` deletes them.
 */
#ifndef KRUN_NEXTJOB_H
#define KRUN_NEXTJOB_H

#include <stdbool.h>

#include "job.h"
#include "transport.h"

/* Older ids are not claimed (the queues' x-expires is 30 s). */
#define NEXTJOB_MAX_AGE_S 20
/* A job id: 16 lowercase hexadecimal digits and the NUL. */
#define NEXTJOB_ID_SIZE 17

/* Claim the id made ahead for runs of url in state_dir into id: true if
 * there was one (a file of this user, at most NEXTJOB_MAX_AGE_S old,
 * holding a job id), false otherwise; the file is gone either way. */
bool nextjob_claim (const char *state_dir, const char *url, char id[NEXTJOB_ID_SIZE]);

/* Leave the id of a new job for the next run and declare its queues on t
 * without waiting, as job_create() would for opts; nothing when a fresh id
 * waits already (runs that end at once make one pair of queues, not one
 * each).  Best effort: nothing is said when it cannot (a broken connection,
 * a full disk); errno is kept. */
void nextjob_prepare (struct transport *t, const struct job_options *opts,
                      const char *state_dir, const char *url);

/* `krun down`: claim the id left for runs of url, and delete its queues on
 * t (waiting for the broker).  Quiet; errno is kept. */
void nextjob_discard (struct transport *t, const char *state_dir, const char *url);

#endif
