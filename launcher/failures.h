/* failures.h - the failed ranks of a job, as a person sees them: one line
 * per rank as it fails (which rank, on which node, how it ended, which
 * attempt), and one summary line at the end, the ranks compressed into
 * ranges when there are many ("3 of 225 ranks failed: 7, 19, 204";
 * "101 of 225 ranks failed: 0-99, 204").
 *
 * A rank fails when it exits non-zero, is killed by a signal, or cannot run
 * (the slot reports why: not found, timed out, delivered too often).
 */
#ifndef KRUN_FAILURES_H
#define KRUN_FAILURES_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol.h"

struct failures;

/* The failures of a job of size ranks (size >= 1).  Returns NULL with errno
 * (EINVAL, ENOMEM).  Caller must failures_destroy() it. */
struct failures *failures_create (int size);

/* Accepts NULL; keeps errno. */
void failures_destroy (struct failures *f);

/* Whether a final result counts as a failure. */
bool failures_is_failure (enum protocol_status status, int code);

/* Record rank as failed.  Returns 1 if it was new, 0 if it was known, -1
 * with errno EINVAL for a rank outside 0..size-1. */
int failures_add (struct failures *f, int rank);

/* How many ranks failed. */
int failures_count (const struct failures *f);

/* "N of SIZE ranks failed: RANKS" in buf (size >= 64), the list cut with
 * "... (K more)" when it does not fit; "" when no rank failed.  Returns
 * buf. */
const char *failures_summary (const struct failures *f, char *buf, size_t size);

/* The line for one failed rank, without "krun: " or a newline:
 *   rank 2 exited with status 3 on node n1 (attempt 1)
 *   rank 2 killed by signal 9 (SIGKILL) on node n1 (attempt 1)
 *   rank 2 failed on node n1 (attempt 2): timed out after 1 s
 * why is the slot's reason for PROTOCOL_FAILED (NULL: "unknown error"),
 * node NULL reads "(unknown)".  Returns buf (always NUL-terminated). */
const char *failures_rank_line (int rank, const char *node, enum protocol_status status,
                                int code, const char *why, int attempt, char *buf,
                                size_t size);

#endif
