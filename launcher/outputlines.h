/* outputlines.h - the ranks' output on krun's stdout and stderr, in whole
 * lines: two ranks never share a line.
 *
 * What follows a chunk's last newline is held until its line is complete.
 * A line that grows beyond hold_max is written out as it is instead, and
 * the rest of it as it comes: the bytes stay exact, and krun's memory stays
 * bounded.  Should another rank write to the same stream before that line
 * ends, a newline ends it first and its rest starts a line of its own.
 * With --tag-output every line is written as "[rank] line", in one write.
 * When a rank ends its last line is written as it is, without a newline
 * added (one rank's output is byte-exact: `krun -n 1 gzip -c f | gunzip`);
 * should another rank write to the stream after it, a newline ends it
 * first.  On a terminal stream it is ended at once.
 * Pure logic: the bytes go to a sink the job gives, so the line assembly
 * is tested without a broker (launcher/test/outputlines.c).
 */
#ifndef KRUN_OUTPUTLINES_H
#define KRUN_OUTPUTLINES_H

#include <stdbool.h>
#include <stddef.h>

/* Where the lines go.  write: len bytes of rank's stream (1 stdout, 2
 * stderr); lost: they could not be held or tagged (out of memory), why
 * says so. */
struct outputlines_sink {
    void (*write) (void *arg, int rank, int stream, const char *data, size_t len);
    void (*lost) (void *arg, int rank, int stream, const char *why);
    void *arg;
};

struct outputlines;

/* For nranks ranks; tag: prefix every line with "[rank] ".  sink is copied.
 * Returns NULL on ENOMEM. */
struct outputlines *outputlines_create (int nranks, bool tag, size_t hold_max,
                                        const struct outputlines_sink *sink);
/* Accepts NULL; keeps errno. */
void outputlines_destroy (struct outputlines *o);

/* A chunk of rank's output on stream (1 or 2; others are ignored). */
void outputlines_add (struct outputlines *o, int rank, int stream, const char *data,
                      size_t len);

/* Stream (1 or 2) is a terminal: a rank's last line is ended when the rank
 * ends, and outputlines_end_terminal() ends an open line there. */
void outputlines_set_terminal (struct outputlines *o, int stream, bool terminal);

/* The rank ended: its held line is written as it is, and stays open (a
 * newline ends it when another rank writes), but on a terminal. */
void outputlines_flush (struct outputlines *o, int rank);

/* Whether a line is written but not ended yet on either stream. */
bool outputlines_midline (const struct outputlines *o);

/* Whether one is open on a terminal stream (a status line must not be
 * drawn over it). */
bool outputlines_terminal_midline (const struct outputlines *o);

/* End the lines open on terminal streams, before krun writes a line of its
 * own there (a failure line, the status line). */
void outputlines_end_terminal (struct outputlines *o);

#endif
