/* rankresult.h - what the launcher makes of one rank's result: whether it
 * counts (at-least-once delivery brings duplicates, and a retried rank's
 * earlier attempts come late), whether --retries runs the rank again, what
 * the joblog calls it, and whether it shows a slot that failed (a rerun).
 * Pure functions of the result and the rank's counters, so the policy is
 * tested without a broker (launcher/test/rankresult.c); job.c applies it.
 * How results fold into krun's exit status is exitstatus.h's.
 */
#ifndef KRUN_RANKRESULT_H
#define KRUN_RANKRESULT_H

#include <stdbool.h>

#include "protocol.h"

/* The word the joblog uses for a result: "exited", "signaled", "timeout"
 * (a slot's --timeout kill, reported as a failure with code 124) or
 * "failed". */
const char *rankresult_status_name (const struct protocol_result *res);

/* Whether a result of attempt counts: the rank is not done yet (the first
 * final result wins) and the attempt is not one before a retry
 * (min_attempt). */
bool rankresult_counts (bool done, int min_attempt, int attempt);

/* Whether --retries runs the rank again: retries_used of retries_allowed
 * are left, the rank did not end with status 0, and it is not a failure to
 * run (a program that cannot run, or a rank that reached the delivery
 * limit, would only fail again), except a timeout, which may not. */
bool rankresult_retry (const struct protocol_result *res, int retries_used,
                       int retries_allowed);

/* Whether the final result's attempt shows that a slot failed under the
 * rank: attempts beyond the first and the --retries used. */
bool rankresult_rerun (const struct protocol_result *res, int retries_used);

#endif
