/* joblist.h - the jobs a worker daemon serves: the ids of the jobs it
 * relayed an announcement of and no "end" or "cancel" yet.  Its presence
 * answer ("here") carries them, so that `krun status` can show their queue
 * depths and `krun down` can delete their queues: krun has no other way to
 * list queues (that would need RabbitMQ's management API).
 *
 * The list is bounded: a job whose launcher was killed never sends "end",
 * so adding to a full list forgets the least recently announced job.  A job
 * announced again (a launcher answering a starting slot's "joined", or
 * reconnecting) becomes the most recent and is not listed twice.
 */
#ifndef KRUN_JOBLIST_H
#define KRUN_JOBLIST_H

struct joblist;

/* An empty list of at most max (>= 1) jobs.  Returns the list (caller must
 * destroy) or NULL with errno (EINVAL, ENOMEM). */
struct joblist *joblist_create (int max);

/* Accepts NULL; keeps errno. */
void joblist_destroy (struct joblist *l);

/* Add id as the most recent job, forgetting the oldest if the list is full.
 * Returns 0, or -1 with errno EINVAL if id is not a valid job id
 * (protocol_job_id_valid(): it would not fit a "here" answer), ENOMEM. */
int joblist_add (struct joblist *l, const char *id);

/* Forget id.  Returns 1 if it was listed, else 0. */
int joblist_remove (struct joblist *l, const char *id);

int joblist_count (const struct joblist *l);

/* The ids, least recently announced first: joblist_count() entries,
 * borrowed until the next add, remove or destroy. */
char **joblist_ids (const struct joblist *l);

#endif
