/* nextjob.h - the next run's job, its two queues made ahead by the
 * connection agent.
 *
 * Before a warm run's tasks can go, the broker makes its job's two queues:
 * 1 to 1.5 ms, the longest of the run's waits before its tasks
 * (benchmarks/PROFILE.md).  So the connection agent (agent.h) keeps the
 * queues of a job id made on each broker connection it holds for the next
 * run (amqpmux_ahead(): declared on a channel of its own, with the
 * properties and x-expires of a job that is not durable), and tells the id
 * to the run that takes the connection, in the server properties of its
 * handshake.  The run uses that id for its job (nextjob_take()); its own
 * declarations find the queues made, and the broker answers at once.
 *
 * The agent tells an id to one run only, and only once the broker answered
 * both declarations: no declaration of those queues is still on its way when
 * the run deletes them, so none can make them again behind it.  A run that
 * does not use the id (a durable job, a command that runs no job) deletes
 * the queues (nextjob_drop()); a run that dies, or fails before its job
 * is created (a broker error while it stages its program or asks who is
 * there: run.c's fatal() paths), leaves them to x-expires (30 s), as a
 * dead run leaves its own.  An id older than NEXTJOB_MAX_AGE_MS is
 * declared again before it is told.  The agent lists the ids it holds in
 * STATE_DIR/agent-<digits>.next (for the tests, and a look by hand) and
 * deletes their queues when it leaves.
 */
#ifndef KRUN_NEXTJOB_H
#define KRUN_NEXTJOB_H

#include <stdbool.h>

#include "amqpmux.h"
#include "error.h"
#include "transport.h"

/* A job id: 16 lowercase hexadecimal digits and the NUL. */
#define NEXTJOB_ID_SIZE 17
/* Declared again when older (the queues' x-expires is 30 s). */
#define NEXTJOB_MAX_AGE_MS 20000

/* The agent's side (an amqpmux_ahead_fn): the two queues of job id (a new
 * id, written to id, for AMQPMUX_AHEAD_MAKE).  arg is unused. */
int nextjob_queues (void *arg, enum amqpmux_ahead_op op, char *id,
                    struct amqpmux_queue *q);

/* The run's side: the id whose queues the agent made for t's run, into id.
 * True if t's handshake told one (and it is a job id). */
bool nextjob_take (struct transport *t, char id[NEXTJOB_ID_SIZE]);

/* Delete the two queues of id (a run that does not use them), without
 * waiting for the broker.  Returns 0, or -1 with errno and errp. */
int nextjob_drop (struct transport *t, const char *id, struct krun_error *errp);

#endif
