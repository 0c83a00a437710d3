/* taskoutput.c - see taskoutput.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "protocol.h"
#include "taskoutput.h"

struct taskoutput {
    taskoutput_send_fn *send;
    void *arg;
    int rank;
    size_t limit;                           /* 0: none */
    char out[3][PROTOCOL_MAX_OUTPUT_CHUNK]; /* by stream (1, 2) */
    size_t used[3];
    size_t forwarded; /* bytes of both streams sent, for the limit */
    bool capped;      /* the limit was reached: the rest is dropped */
};

struct taskoutput *taskoutput_create (taskoutput_send_fn *send, void *arg)
{
    struct taskoutput *o = calloc (1, sizeof (*o));

    if (o) {
        o->send = send;
        o->arg = arg;
    }
    return o;
}

void taskoutput_destroy (struct taskoutput *o)
{
    free (o);
}

void taskoutput_reset (struct taskoutput *o, int rank, size_t limit)
{
    memset (o->used, 0, sizeof (o->used));
    o->forwarded = 0;
    o->capped = false;
    o->rank = rank;
    o->limit = limit;
}

char *taskoutput_space (struct taskoutput *o, int stream, size_t *room)
{
    *room = sizeof (o->out[stream]) - o->used[stream];
    return o->out[stream] + o->used[stream];
}

void taskoutput_append (struct taskoutput *o, int stream, size_t n)
{
    o->used[stream] += n;
}

bool taskoutput_capped (const struct taskoutput *o)
{
    return o->capped;
}

/* Send len bytes of stream's buffer within the limit. */
static void send_limited (struct taskoutput *o, int stream, size_t len)
{
    size_t room = o->limit > o->forwarded ? o->limit - o->forwarded : 0;
    char marker[160];
    int n;

    if (o->capped)
        return;
    if (o->limit == 0 || len <= room) {
        o->send (o->arg, stream, o->out[stream], len);
        o->forwarded += len;
        return;
    }
    if (room > 0)
        o->send (o->arg, stream, o->out[stream], room);
    n = snprintf (marker, sizeof (marker),
                  "\n[krun: output of rank %d cut at %zu bytes (--output-limit); "
                  "the rest is dropped]\n",
                  o->rank, o->limit);
    o->send (o->arg, stream, marker, (size_t)n);
    o->forwarded = o->limit;
    o->capped = true;
    log_msg ("rank %d: output limit of %zu bytes reached", o->rank, o->limit);
}

void taskoutput_forward (struct taskoutput *o, int stream, bool flush)
{
    size_t len = o->used[stream];

    if (len == 0)
        return;
    if (!flush && len < sizeof (o->out[stream])) {
        char *nl = memrchr (o->out[stream], '\n', len);
        if (!nl)
            return;
        len = (size_t)(nl - o->out[stream]) + 1;
    }
    send_limited (o, stream, len);
    memmove (o->out[stream], o->out[stream] + len, o->used[stream] - len);
    o->used[stream] -= len;
}
