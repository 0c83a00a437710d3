/* heldresults.h - the results a slot holds back while it runs the ranks of
 * one task message of several ranks (its "count", docs/protocol.md).
 *
 * A slot that runs ranks 0..15 of one message publishes their results in a
 * few "results" messages instead of sixteen "result" ones: the broker's work
 * per rank is mostly per message.  A result is held for at most
 * HELDRESULTS_HOLD_MS, or until the message's last rank finished; the
 * message is acked only after every result it held was published.
 *
 * The holder copies what it is given (error text, krun_result bytes), so
 * the caller may reuse its buffers at once.
 */
#ifndef KRUN_HELDRESULTS_H
#define KRUN_HELDRESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/* How long a finished rank's result may wait for the next ones. */
#define HELDRESULTS_HOLD_MS 20
/* Most krun_result bytes held at once: a result that would go over waits
 * for the held ones to be published first (heldresults_fits()). */
#define HELDRESULTS_MAX_BYTES (2 * 1024 * 1024)

struct heldresults;

/* NULL with errno ENOMEM. */
struct heldresults *heldresults_create (void);

/* Accepts NULL. */
void heldresults_destroy (struct heldresults *h);

/* Hold a copy of res (its node, cpus, error and data are copied), held
 * since now_ms if it is the first.  Returns 0, or -1 with errno (ENOMEM;
 * ENOSPC when PROTOCOL_MAX_BATCH results are held already: publish them
 * first). */
int heldresults_add (struct heldresults *h, const struct protocol_result *res,
                     int64_t now_ms);

/* Whether a result of data_len bytes can be held with the ones held now,
 * within HELDRESULTS_MAX_BYTES and PROTOCOL_MAX_BATCH (always true when
 * none is held). */
bool heldresults_fits (const struct heldresults *h, size_t data_len);

/* How many results are held. */
int heldresults_count (const struct heldresults *h);

/* Whether the oldest held result has waited HELDRESULTS_HOLD_MS at now_ms
 * (false when none is held). */
bool heldresults_due (const struct heldresults *h, int64_t now_ms);

/* Milliseconds from now_ms until heldresults_due(), 0 if due, -1 when none
 * is held: a poll() timeout. */
int heldresults_wait_ms (const struct heldresults *h, int64_t now_ms);

/* The held results, in the order they were added, as a "results" message
 * of job can carry them (msg->results; its items stay the holder's: do not
 * clear msg, nor change them), or NULL with errno ENOENT when none is held. */
struct protocol_result *heldresults_items (const struct heldresults *h, int *n);

/* Forget every held result. */
void heldresults_clear (struct heldresults *h);

#endif
