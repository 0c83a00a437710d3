/* taskchannel.h - the slot's end of a task's control channel: it reads the
 * records libkrun sends (libkrun/record.h) and keeps the task's latest
 * result and progress until the slot reports them.
 *
 * Bytes may arrive in any pieces; a record that breaks the format (unknown
 * type, result over PROTOCOL_MAX_RESULT, bad progress text) stops the
 * channel: later bytes are ignored and the error is kept for the log.
 */
#ifndef KRUN_TASKCHANNEL_H
#define KRUN_TASKCHANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct taskchannel;

/* Returns NULL with errno ENOMEM. */
struct taskchannel *taskchannel_create (void);

/* Accepts NULL; keeps errno. */
void taskchannel_destroy (struct taskchannel *c);

/* Forget the result, progress and any error: ready for the next task. */
void taskchannel_reset (struct taskchannel *c);

/* Take len bytes of the stream.  Returns 0, or -1 with errno EPROTO (or
 * ENOMEM) and errp saying what was wrong; after a failure the channel
 * ignores everything until taskchannel_reset(). */
int taskchannel_feed (struct taskchannel *c, const void *data, size_t len,
                      struct krun_error *errp);

/* Read what fd has and feed it, without blocking: a socket is read with
 * MSG_DONTWAIT, another fd must be non-blocking.  Returns 1 when fd reached
 * EOF or an error (stop polling it), 0 when it would block, -1 as
 * taskchannel_feed(). */
int taskchannel_read (struct taskchannel *c, int fd, struct krun_error *errp);

/* The last complete result, borrowed until the next call that changes the
 * channel; NULL (and *len 0) when the task sent none. */
const char *taskchannel_result (const struct taskchannel *c, size_t *len);

/* True when a progress record arrived since the last call; its fraction in
 * *fraction. */
bool taskchannel_take_progress (struct taskchannel *c, double *fraction);

#endif
