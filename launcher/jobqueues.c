/* jobqueues.c - see jobqueues.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jobqueues.h"
#include "protocol.h"

struct jobqueues {
    int count;
    struct jobqueue *jobs;
};

/* The job ids the nodes of p name, each once, in order of first mention
 * (borrowed from p).  A daemon lists the jobs its node takes part in, at
 * most 64, so the union is small: quadratic is fine.  Returns the
 * count and a malloc'd array in *idsp (caller must free), or -1. */
static int job_ids (const struct presence *p, const char ***idsp)
{
    const char **ids = NULL;
    int count = 0;

    for (int i = 0; i < presence_count (p); i++) {
        const struct presence_node *n = presence_node (p, i);
        for (int k = 0; k < n->njobs; k++) {
            bool known = false;
            for (int u = 0; u < count && !known; u++)
                known = strcmp (ids[u], n->jobs[k]) == 0;
            if (known)
                continue;
            const char **more = realloc (ids, (count + 1) * sizeof (*ids));
            if (!more) {
                free (ids);
                return -1;
            }
            ids = more;
            ids[count++] = n->jobs[k];
        }
    }
    *idsp = ids;
    return count;
}

/* Whether queue exists: 1, 0, or -1 with errp if the broker failed.  A
 * passive declare of a missing queue closes only the transport's private
 * channel, which it opens again for the next call. */
static int queue_exists (struct transport *t, const char *queue, unsigned *messages,
                         unsigned *consumers, struct krun_error *errp)
{
    if (transport_queue_info (t, queue, messages, consumers, errp) == 0)
        return 1;
    return errno == ENOENT ? 0 : -1;
}

struct jobqueues *jobqueues_query (struct transport *t, const struct presence *p,
                                   struct krun_error *errp)
{
    struct jobqueues *q = calloc (1, sizeof (*q));
    const char **ids = NULL;
    char queue[128];
    int n;

    if (!q || (n = job_ids (p, &ids)) < 0) {
        errprintf_errno (errp, "job queues");
        goto error;
    }
    if (n > 0 && !(q->jobs = calloc (n, sizeof (*q->jobs)))) {
        errprintf_errno (errp, "job queues");
        goto error;
    }
    for (int i = 0; i < n; i++) {
        struct jobqueue *job = &q->jobs[q->count];
        int rc = queue_exists (t, protocol_task_queue (ids[i], queue, sizeof (queue)),
                               &job->queued, &job->consumers, errp);
        if (rc < 0)
            goto error;
        if (rc > 0) {
            job->id = ids[i];
            q->count++;
        }
    }
    free (ids);
    return q;
error:
    free (ids);
    jobqueues_destroy (q);
    return NULL;
}

void jobqueues_destroy (struct jobqueues *q)
{
    int saved_errno = errno;

    if (q) {
        free (q->jobs);
        free (q);
    }
    errno = saved_errno;
}

int jobqueues_count (const struct jobqueues *q)
{
    return q->count;
}

const struct jobqueue *jobqueues_job (const struct jobqueues *q, int i)
{
    return i >= 0 && i < q->count ? &q->jobs[i] : NULL;
}

void jobqueues_print (const struct jobqueues *q, FILE *out)
{
    if (q->count == 0) {
        fprintf (out, "no running jobs\n");
        return;
    }
    fprintf (out, "%-20s %8s %10s\n", "JOB", "QUEUED", "CONSUMERS");
    for (int i = 0; i < q->count; i++)
        fprintf (out, "%-20s %8u %10u\n", q->jobs[i].id, q->jobs[i].queued,
                 q->jobs[i].consumers);
}

/* Delete queue if it exists.  Returns 1 if it was deleted, 0 if it was
 * gone already (the broker would take the deletion of a missing queue
 * without a word: it is checked first, to count only real deletions), or
 * -1. */
static int delete_queue (struct transport *t, const char *queue,
                         struct krun_error *errp)
{
    int rc = queue_exists (t, queue, NULL, NULL, errp);

    if (rc <= 0)
        return rc;
    return transport_delete_queue (t, queue, errp) < 0 ? -1 : 1;
}

/* Delete the queues of job id.  Returns how many existed (0 to 2), or -1. */
static int delete_job (struct transport *t, const char *id, struct krun_error *errp)
{
    char queue[128];
    int tasks, results;

    /* The task queue first: once its results queue goes, the job's launcher
     * (whose consumer the broker cancels) deletes the task queue itself, and
     * the count would depend on who came first.  The launcher does not
     * declare a task queue it finds gone again (job.c). */
    protocol_task_queue (id, queue, sizeof (queue));
    if ((tasks = delete_queue (t, queue, errp)) < 0)
        return -1;
    protocol_results_queue (id, queue, sizeof (queue));
    if ((results = delete_queue (t, queue, errp)) < 0)
        return -1;
    return tasks + results;
}

int jobqueues_delete (struct transport *t, const struct presence *p, int *njobs,
                      struct krun_error *errp)
{
    const char **ids = NULL;
    int n, deleted = 0;

    *njobs = 0;
    if ((n = job_ids (p, &ids)) < 0)
        return errprintf_errno (errp, "job queues");
    for (int i = 0; i < n; i++) {
        int rc = delete_job (t, ids[i], errp);
        if (rc < 0) {
            free (ids);
            return -1;
        }
        deleted += rc;
        *njobs += rc > 0;
    }
    free (ids);
    return deleted;
}
