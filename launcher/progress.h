/* progress.h - the launcher's status line: done / running / failed / queued
 * ranks, how much of the job is done (counting the fractions running tasks
 * report), tasks per second, an estimate of the time left, and the busy
 * slots of each node, redrawn in place on stderr a few times per second.
 *
 * Slots report a task's start (and its krun_progress() calls) only when the
 * announcement asks for it, so a job without a status line costs no extra
 * message.  On a terminal the line is erased before output is written and
 * drawn again as soon as the output is out (so it is never blank for
 * longer than that), fitted to the terminal's width by leaving out the
 * least useful fields first (done, failed and the ETA stay); elsewhere
 * (--progress into a file or pipe) a line is written only when the counts
 * changed, at most every 2 s, and a last one at the end.
 */
#ifndef KRUN_PROGRESS_H
#define KRUN_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress;

/* A status line for a job of size ranks, drawn on fd.  Returns NULL with
 * errno ENOMEM. */
struct progress *progress_create (int size, int fd);

/* Accepts NULL. */
void progress_destroy (struct progress *p);

/* Node name takes part with slots slots (for the "busy/slots" figures). */
int progress_add_node (struct progress *p, const char *name, int slots);

/* Rank started on node, or reported fraction (0..1) of its work. */
void progress_rank_running (struct progress *p, int rank, const char *node,
                            double fraction);

/* Rank has its final result.  Accepts NULL (no status line). */
void progress_rank_done (struct progress *p, int rank, bool failed);

/* On a terminal: redraw if the line was erased, or if the last drawing is
 * older than the redraw interval, or if force.  Into a log: write a line if
 * the counts changed and the last line is older than the log interval, or
 * if force. */
void progress_draw (struct progress *p, int64_t now_ms, bool force);

/* Erase the line before other output goes to the terminal.  Accepts NULL. */
void progress_erase (struct progress *p);

/* Draw the final state and end the line. */
void progress_finish (struct progress *p, int64_t now_ms);

/* The text of the status line at now_ms, every field; into buf.  Returns
 * buf. */
const char *progress_text (struct progress *p, int64_t now_ms, char *buf, size_t size);

/* The same in at most width columns (width <= 0: all of it): the nodes go
 * first (the last first), then the rate, the queued count, the percentage
 * and the running count; done, failed and the ETA stay, cut only when even
 * they do not fit.  Returns buf. */
const char *progress_text_fit (struct progress *p, int64_t now_ms, int width, char *buf,
                               size_t size);

#endif
