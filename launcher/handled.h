/* handled.h - the messages of its results queue that a launcher handled
 * lately, to recognise the copies the broker delivers again after the
 * launcher's connection died.
 *
 * A durable job acks each message after handling it (job.c), so a message
 * handled while the connection was already dead (read from the socket after
 * the broker dropped it, e.g. after a long SIGSTOP) is acked nowhere: the
 * broker requeues it and delivers it again, redelivered, after the launcher
 * connects again.  A result would only be ignored as a duplicate, but output
 * would be printed twice.  The launcher notes the id of every message it
 * handles and skips a redelivered one whose id it noted.
 *
 * Ids are kept in two generations: handled_rotate(), called after each
 * successful round trip on the launcher's connection (every 10 s: such a
 * round trip proves the broker had the acks sent before it), drops the
 * older one.
 * So the set holds at most two renewal periods of messages.
 */
#ifndef KRUN_HANDLED_H
#define KRUN_HANDLED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct handled;

/* An empty set, or NULL on ENOMEM. */
struct handled *handled_create (void);

/* Accepts NULL; keeps errno. */
void handled_destroy (struct handled *h);

/* The id of a message: a 64-bit FNV-1a hash of its bytes.  Sealed messages
 * differ in their MAC and expiry, so two messages that the slots published
 * have the same id only by a chance of 2^-64. */
uint64_t handled_id (const void *data, size_t len);

/* Note id in the current generation.  Returns 0, or -1 with errno ENOMEM
 * (the set is then unchanged). */
int handled_add (struct handled *h, uint64_t id);

/* Whether id was noted in the current or the previous generation. */
bool handled_contains (const struct handled *h, uint64_t id);

/* Forget the previous generation; the current one becomes the previous. */
void handled_rotate (struct handled *h);

/* Number of ids held in both generations (for tests). */
size_t handled_count (const struct handled *h);

#endif
