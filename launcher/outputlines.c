/* outputlines.c - see outputlines.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outputlines.h"

/* What follows the last newline of one rank's stream. */
struct held {
    char *data;
    size_t len;
};

struct outputlines {
    struct outputlines_sink sink;
    int nranks;
    bool tag;
    size_t hold_max;
    struct held (*held)[3]; /* per rank, per stream 1 and 2 */
    /* Per stream (1, 2): the rank whose line longer than hold_max is
     * written but not ended yet, or -1. */
    int midline[3];
    bool terminal[3]; /* per stream: a terminal */
};

struct outputlines *outputlines_create (int nranks, bool tag, size_t hold_max,
                                        const struct outputlines_sink *sink)
{
    struct outputlines *o = calloc (1, sizeof (*o));

    if (!o || !(o->held = calloc (nranks > 0 ? nranks : 1, sizeof (*o->held)))) {
        free (o);
        errno = ENOMEM;
        return NULL;
    }
    o->sink = *sink;
    o->nranks = nranks;
    o->tag = tag;
    o->hold_max = hold_max;
    o->midline[1] = o->midline[2] = -1;
    return o;
}

void outputlines_destroy (struct outputlines *o)
{
    if (o) {
        int saved_errno = errno;
        for (int i = 0; i < o->nranks; i++) {
            free (o->held[i][1].data);
            free (o->held[i][2].data);
        }
        free (o->held);
        free (o);
        errno = saved_errno;
    }
}

bool outputlines_midline (const struct outputlines *o)
{
    return o->midline[1] >= 0 || o->midline[2] >= 0;
}

/* End the line another rank left open on stream: two ranks never share a
 * line. */
static void end_midline (struct outputlines *o, int stream)
{
    int rank = o->midline[stream];

    if (rank < 0)
        return;
    o->midline[stream] = -1;
    o->sink.write (o->sink.arg, rank, stream, "\n", 1);
}

void outputlines_set_terminal (struct outputlines *o, int stream, bool terminal)
{
    if (stream >= 1 && stream <= 2)
        o->terminal[stream] = terminal;
}

bool outputlines_terminal_midline (const struct outputlines *o)
{
    return (o->midline[1] >= 0 && o->terminal[1]) ||
           (o->midline[2] >= 0 && o->terminal[2]);
}

void outputlines_end_terminal (struct outputlines *o)
{
    for (int stream = 1; stream <= 2; stream++)
        if (o->terminal[stream])
            end_midline (o, stream);
}

/* Write whole lines only, one write per line when tagged.  The last line
 * may lack its newline only when it is longer than hold_max. */
static void emit_lines (struct outputlines *o, int rank, int stream, const char *data,
                        size_t len)
{
    end_midline (o, stream);
    if (!o->tag) {
        o->sink.write (o->sink.arg, rank, stream, data, len);
        return;
    }
    while (len > 0) {
        const char *nl = memchr (data, '\n', len);
        size_t line = nl ? (size_t)(nl - data + 1) : len;
        char *buf = malloc (line + 32);
        if (!buf) {
            o->sink.lost (o->sink.arg, rank, stream,
                          "cannot tag its output: out of memory");
            return;
        }
        int n = snprintf (buf, 32, "[%d] ", rank);
        memcpy (buf + n, data, line);
        o->sink.write (o->sink.arg, rank, stream, buf, n + line);
        free (buf);
        data += line;
        len -= line;
    }
}

/* Keep len bytes of a line that has no newline yet.  Returns 0, or -1 if
 * they could not be kept (said, and counted as lost). */
static int hold (struct outputlines *o, int rank, int stream, const char *data,
                 size_t len)
{
    struct held *h = &o->held[rank][stream];
    char *p = realloc (h->data, h->len + len);

    if (!p) {
        o->sink.lost (o->sink.arg, rank, stream,
                      "cannot hold its output: out of memory");
        return -1;
    }
    memcpy (p + h->len, data, len);
    h->data = p;
    h->len += len;
    return 0;
}

static void drop_held (struct held *h)
{
    free (h->data);
    h->data = NULL;
    h->len = 0;
}

void outputlines_add (struct outputlines *o, int rank, int stream, const char *data,
                      size_t len)
{
    const char *last_nl;

    if (rank < 0 || rank >= o->nranks || stream < 1 || stream > 2)
        return;
    struct held *h = &o->held[rank][stream];
    if (o->midline[stream] == rank) {
        const char *nl = memchr (data, '\n', len);
        size_t piece = nl ? (size_t)(nl - data + 1) : len;
        o->sink.write (o->sink.arg, rank, stream, data, piece);
        if (!nl)
            return;
        o->midline[stream] = -1;
        data += piece;
        len -= piece;
    }
    if ((last_nl = memrchr (data, '\n', len))) {
        size_t head = last_nl - data + 1;
        if (h->len == 0)
            emit_lines (o, rank, stream, data, head);
        else if (hold (o, rank, stream, data, head) == 0) {
            /* The pending partial line, completed, with this chunk's
             * complete lines in one go. */
            emit_lines (o, rank, stream, h->data, h->len);
        }
        drop_held (h);
        data += head;
        len -= head;
    }
    if (len == 0 || hold (o, rank, stream, data, len) < 0)
        return;
    if (h->len > o->hold_max) {
        emit_lines (o, rank, stream, h->data, h->len);
        drop_held (h);
        o->midline[stream] = rank;
    }
}

void outputlines_flush (struct outputlines *o, int rank)
{
    if (rank < 0 || rank >= o->nranks)
        return;
    for (int stream = 1; stream <= 2; stream++) {
        struct held *h = &o->held[rank][stream];
        if (h->len > 0) {
            emit_lines (o, rank, stream, h->data, h->len);
            drop_held (h);
            o->midline[stream] = rank;
        }
        /* No program reads a terminal's bytes; a person reads its lines. */
        if (o->midline[stream] == rank && o->terminal[stream])
            end_midline (o, stream);
    }
}
