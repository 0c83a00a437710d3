/* jobqueues.h - the queues of the jobs the live daemons serve, for
 * `krun status` (how many tasks wait, how many slots consume them) and
 * `krun down` (delete them).
 *
 * krun cannot list the broker's queues: that needs RabbitMQ's management
 * API, which krun does not use.  Instead each daemon names the jobs it
 * relayed an announcement of and no end yet in its presence answer
 * (presence_node.jobs), and this module looks at the queues of their union
 * (protocol_task_queue(), protocol_results_queue()) with passive declares.
 * A job whose queues are gone (it just ended, or its launcher was killed
 * and they expired) is skipped, not an error.
 */
#ifndef KRUN_JOBQUEUES_H
#define KRUN_JOBQUEUES_H

#include <stdio.h>

#include "error.h"
#include "presence.h"
#include "transport.h"

struct jobqueue {
    const char *id;     /* the job id (borrowed from the presence) */
    unsigned queued;    /* tasks ready in its task queue, not yet taken */
    unsigned consumers; /* slots consuming its task queue */
};

struct jobqueues;

/* Look at the task queue of every job the nodes of p name, each job once,
 * in order of first mention.  Returns the jobs whose task queue exists
 * (caller must destroy; borrows p's strings: destroy it first), or NULL
 * with errno and errp if the broker failed. */
struct jobqueues *jobqueues_query (struct transport *t, const struct presence *p,
                                   struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void jobqueues_destroy (struct jobqueues *q);

int jobqueues_count (const struct jobqueues *q);
/* Job i (borrowed until destroy), or NULL. */
const struct jobqueue *jobqueues_job (const struct jobqueues *q, int i);

/* Print a JOB / QUEUED / CONSUMERS table, or "no running jobs". */
void jobqueues_print (const struct jobqueues *q, FILE *out);

/* Delete the task queue and then the results queue of every job the nodes
 * of p name.  The job's launcher sees its results queue go (its consumer
 * is cancelled) and fails: that is what `krun down` means.  Returns the
 * number of queues deleted, with the number of jobs they belonged to in
 * *njobs, or -1 with errno and errp if the broker failed. */
int jobqueues_delete (struct transport *t, const struct presence *p, int *njobs,
                      struct krun_error *errp);

#endif
