/* halt.h - when a job stops early: `--halt when,why=N` with GNU parallel's
 * meaning, and mpirun's `--kill-on-bad-exit` (= now,fail=1).
 *
 * when is "never" (the default: every rank runs), "soon" (start no new
 * rank, let the running ones finish) or "now" (cancel the running ranks
 * too).  why is fail=N, success=N or done=N: the count of failed,
 * successful or finished ranks that triggers it, or N% of the job's ranks.
 * parallel's short forms are accepted too: 0 = never, 1 = soon,fail=1,
 * 2 = now,fail=1, -1 = soon,success=1, -2 = now,success=1, N% =
 * soon,fail=N%.  The decision is pure: the job asks after each final
 * result and acts on the answer.
 */
#ifndef KRUN_HALT_H
#define KRUN_HALT_H

#include <stdbool.h>

#include "error.h"

enum halt_when { HALT_NEVER = 0, HALT_SOON, HALT_NOW };
enum halt_why { HALT_FAIL = 0, HALT_SUCCESS, HALT_DONE };

/* A plain value: zero-initialized it is "never". */
struct halt_policy {
    enum halt_when when;
    enum halt_why why;
    int count;    /* ranks, or percent of the job's ranks (1..100) */
    bool percent; /* count is a percentage */
};

/* Parse text (see above) into *policy.  Returns 0, or -1 with errno
 * EINVAL and errp quoting the text and saying what was expected;
 * *policy is then unchanged. */
int halt_parse (const char *text, struct halt_policy *policy, struct krun_error *errp);

/* The policy's spelling, parallel's long form ("now,fail=1", "never"), in
 * buf.  Returns buf. */
const char *halt_format (const struct halt_policy *policy, char *buf, size_t size);

/* After a final result: size ranks in the job, done of them finished,
 * failed of those failed.  Returns HALT_NEVER (go on), or when the job
 * must stop. */
enum halt_when halt_check (const struct halt_policy *policy, int size, int done,
                           int failed);

#endif
