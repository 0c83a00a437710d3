/* nextjob.c - see nextjob.h. */
#include <string.h>

#include "job.h"
#include "nextjob.h"
#include "protocol.h"

int nextjob_queues (void *arg, enum amqpmux_ahead_op op, char *id,
                    struct amqpmux_queue *q)
{
    (void)arg;
    if (op == AMQPMUX_AHEAD_MAKE && job_new_id (id, NEXTJOB_ID_SIZE) < 0)
        return -1;
    /* As job.c declares them for a job that is not durable: the task queue
     * plain, the results queue auto-delete (both with x-expires). */
    protocol_task_queue (id, q[0].name, sizeof (q[0].name));
    q[0].auto_delete = false;
    protocol_results_queue (id, q[1].name, sizeof (q[1].name));
    q[1].auto_delete = true;
    return 2;
}

static bool is_job_id (const char *s)
{
    size_t n = strspn (s, "0123456789abcdef");

    return n == NEXTJOB_ID_SIZE - 1 && s[n] == '\0';
}

bool nextjob_take (struct transport *t, char id[NEXTJOB_ID_SIZE])
{
    return transport_server_property (t, AMQPMUX_TOKEN_PROPERTY, id, NEXTJOB_ID_SIZE) >
               0 &&
           is_job_id (id);
}

int nextjob_drop (struct transport *t, const char *id, struct krun_error *errp)
{
    char queue[128];

    protocol_task_queue (id, queue, sizeof (queue));
    if (transport_delete_queue_nowait (t, queue, errp) < 0)
        return -1;
    protocol_results_queue (id, queue, sizeof (queue));
    return transport_delete_queue_nowait (t, queue, errp);
}
