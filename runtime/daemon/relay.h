/* relay.h - control messages from a daemon to its slot processes, over one
 * pipe per slot.
 *
 * A daemon consumes the broker's control fanout (announce, end, cancel) once
 * for its node and relays each message body to its slots, instead of every
 * slot declaring, binding and consuming a queue of its own: queue creation is
 * the most expensive thing a RabbitMQ broker does for a client, and a node of
 * 128 slots made 128 of them at start and received 128 copies of every
 * announcement.
 *
 * A frame is a 4-byte length in host byte order followed by the body.  The
 * writer never blocks: what the pipe does not take waits in a per-pipe buffer
 * until the pipe is writable again (relay_writer_pending()).  The reader
 * reassembles frames from a non-blocking read end.
 */
#ifndef KRUN_RELAY_H
#define KRUN_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct relay_writer;
struct relay_reader;

/* A writer on fd (made non-blocking; the writer owns it from now on).
 * Returns NULL with errno set on failure (fd is then left open).  Caller
 * destroys. */
struct relay_writer *relay_writer_create (int fd);
/* Frees the buffer and closes the fd.  Accepts NULL, keeps errno. */
void relay_writer_destroy (struct relay_writer *w);
/* The pipe's fd (to poll for POLLOUT, or to close in a forked child). */
int relay_writer_fd (const struct relay_writer *w);

/* Queue one frame and write as much as the pipe takes.  Returns 0, or -1 with
 * errno: ENOBUFS when more than max_pending bytes would wait (nothing is
 * queued then), EPIPE when the reader is gone, ENOMEM. */
int relay_writer_push (struct relay_writer *w, const void *body, size_t len,
                       size_t max_pending);
/* Write what waits.  Returns 0, or -1 with errno (EPIPE: the reader is gone). */
int relay_writer_flush (struct relay_writer *w);
/* True if bytes wait for the pipe to become writable. */
bool relay_writer_pending (const struct relay_writer *w);

/* A reader on fd (made non-blocking; the reader does not own it).  Frames
 * larger than max_frame are a protocol error.  Returns NULL with errno set. */
struct relay_reader *relay_reader_create (int fd, size_t max_frame);
void relay_reader_destroy (struct relay_reader *r);

/* Read what the pipe has and call fn once per complete frame (body borrowed
 * for the duration of the call).  Returns 0 while the writer is there, 1 at
 * end of file (the daemon is gone), -1 with errno on a read error or EPROTO
 * for a frame over max_frame. */
int relay_reader_read (struct relay_reader *r,
                       void (*fn) (void *arg, const char *body, size_t len), void *arg);

#endif
