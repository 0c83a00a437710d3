/* scratch.h - the private scratch directory of one task: made before the
 * task starts (under the worker's $TMPDIR, else /tmp, mode 0700), given to
 * it as KRUN_TMPDIR and TMPDIR, and removed with everything in it when the
 * task has ended, so that nothing a rank leaves there outlives it.  The
 * task's working directory stays the launcher's (as a local run expects);
 * only temporary files move here.
 */
#ifndef KRUN_SCRATCH_H
#define KRUN_SCRATCH_H

#include "error.h"

/* Make a new directory "krun.JOB.RANK.XXXXXX" under base (NULL = $TMPDIR,
 * else /tmp).  Returns its path (caller must free, after scratch_remove()),
 * or NULL with errno and errp naming the directory. */
char *scratch_create (const char *base, const char *job, int rank,
                      struct krun_error *errp);

/* Remove path and everything below it, never following symbolic links
 * (a link is removed, not what it points to).  Entries a task made
 * unwritable are made writable first.  Returns 0, or -1 with errno and errp
 * naming the first entry that could not be removed (the rest is still
 * removed). */
int scratch_remove (const char *path, struct krun_error *errp);

#endif
