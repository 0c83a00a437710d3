/* taskoutput.h - a task's output on its way to the launcher: the bytes of
 * each stream (1 stdout, 2 stderr) are gathered into lines, so that a
 * message carries whole lines (a line longer than the buffer goes in
 * pieces), and the job's output limit holds: the bytes up to the limit,
 * then one marker line on the stream that crossed it, and nothing after
 * (the task's pipes are still drained, so it is not blocked).  A task
 * printing without end costs the broker no more than the limit.
 */
#ifndef KRUN_TASKOUTPUT_H
#define KRUN_TASKOUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* Send len bytes of stream's output (called by taskoutput_forward()). */
typedef void taskoutput_send_fn (void *arg, int stream, const char *data, size_t len);

struct taskoutput;

/* Returns the output buffers (caller must taskoutput_destroy()) or NULL
 * with ENOMEM.  send and arg are borrowed. */
struct taskoutput *taskoutput_create (taskoutput_send_fn *send, void *arg);
void taskoutput_destroy (struct taskoutput *o);

/* Start a task: empty buffers, nothing sent yet, limit bytes of output in
 * all (0: no limit); rank names the task in the marker. */
void taskoutput_reset (struct taskoutput *o, int rank, size_t limit);

/* Where to read stream's next bytes, and how many fit (*room; 0 when the
 * buffer is full and waits for taskoutput_forward()). */
char *taskoutput_space (struct taskoutput *o, int stream, size_t *room);

/* Count n bytes read into the space taskoutput_space() gave. */
void taskoutput_append (struct taskoutput *o, int stream, size_t n);

/* Send stream's buffered output: everything up to the last newline, or all
 * of it when flushing or when the buffer is full of one long line. */
void taskoutput_forward (struct taskoutput *o, int stream, bool flush);

/* Whether the limit was reached (the rest is dropped). */
bool taskoutput_capped (const struct taskoutput *o);

#endif
