/* testproc.h - processes for the unit tests of what kills them: a detached
 * process whose parent has exited, as a task's daemon would leave it.
 */
#ifndef KRUN_TESTPROC_H
#define KRUN_TESTPROC_H

#include <sys/types.h>

/* Fork a child that runs before(arg) (if not NULL; a non-zero return makes
 * the child exit at once), starts `sleep 300` in a session of its own and
 * exits: the sleep is re-parented to the caller's nearest subreaper, or to
 * init.  Returns the sleep's pid, or -1 if before() failed.  Bails out if
 * it cannot fork. */
pid_t testproc_orphan (int (*before) (void *arg), void *arg);

#endif
