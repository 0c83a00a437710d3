/* nextjob.c - see nextjob.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "job.h"
#include "nextjob.h"
#include "protocol.h"

/* AMQP 0-9-1: a method frame is type 1, channel, payload size, class and
 * method ids, the arguments, and 0xCE. */
#define QUEUE_CLASS 50
#define QUEUE_DECLARE 10
#define QUEUE_DELETE 40
/* queue.declare's bits */
#define DECLARE_AUTO_DELETE 8
/* queue.delete's bits */
#define DELETE_NOWAIT 4

struct frames {
    unsigned char *p, *end;
    bool full;
};

static void put (struct frames *f, const void *data, size_t n)
{
    if (f->full || (size_t)(f->end - f->p) < n) {
        f->full = true;
        return;
    }
    memcpy (f->p, data, n);
    f->p += n;
}

static void put_uint (struct frames *f, uint64_t v, int bytes)
{
    unsigned char b[8];

    for (int i = 0; i < bytes; i++)
        b[i] = v >> (8 * (bytes - 1 - i));
    put (f, b, bytes);
}

static void put_shortstr (struct frames *f, const char *s)
{
    size_t n = strlen (s);

    put_uint (f, n, 1);
    put (f, s, n);
}

/* One queue method on channel: queue.declare of name (bits, and x-expires
 * as AMQP's signed 64-bit 'l', as transport.c declares it: the broker finds
 * the two declarations equivalent only if the types match too), or
 * queue.delete of it (bits). */
static void put_queue_method (struct frames *f, int channel, int method,
                              const char *name, int bits)
{
    static const char expires[] = "x-expires";
    unsigned char *size_at;
    size_t table = 1 + strlen (expires) + 1 + 8;

    put_uint (f, 1, 1);
    put_uint (f, channel, 2);
    size_at = f->p;
    put_uint (f, 0, 4); /* the payload's size, set below */
    unsigned char *start = f->p;
    put_uint (f, QUEUE_CLASS, 2);
    put_uint (f, method, 2);
    put_uint (f, 0, 2); /* reserved */
    put_shortstr (f, name);
    put_uint (f, bits, 1);
    if (method == QUEUE_DECLARE) {
        put_uint (f, table, 4);
        put_shortstr (f, expires);
        put_uint (f, 'l', 1);
        put_uint (f, PROTOCOL_JOB_QUEUE_EXPIRES_MS, 8);
    }
    if (f->full)
        return;
    uint32_t size = f->p - start;
    for (int i = 0; i < 4; i++)
        size_at[i] = size >> (8 * (3 - i));
    put_uint (f, 0xCE, 1);
}

long nextjob_frames (void *arg, enum amqpmux_ahead_op op, char *id, int channel,
                     unsigned char *buf, size_t size, int *replies)
{
    struct frames f = {buf, buf + size, false};
    char tasks[128], results[128];

    (void)arg;
    if (op == AMQPMUX_AHEAD_MAKE && job_new_id (id, NEXTJOB_ID_SIZE) < 0)
        return -1;
    protocol_task_queue (id, tasks, sizeof (tasks));
    protocol_results_queue (id, results, sizeof (results));
    if (op == AMQPMUX_AHEAD_DELETE) {
        put_queue_method (&f, channel, QUEUE_DELETE, tasks, DELETE_NOWAIT);
        put_queue_method (&f, channel, QUEUE_DELETE, results, DELETE_NOWAIT);
        *replies = 0;
    } else {
        /* As job.c declares them for a job that is not durable: the task
         * queue plain, the results queue auto-delete, both with x-expires. */
        put_queue_method (&f, channel, QUEUE_DECLARE, tasks, 0);
        put_queue_method (&f, channel, QUEUE_DECLARE, results, DECLARE_AUTO_DELETE);
        *replies = 2;
    }
    if (f.full) {
        errno = ENOBUFS;
        return -1;
    }
    return f.p - buf;
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
