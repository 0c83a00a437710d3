/* die.h - how the krun command ends on an error it cannot go on from: one
 * line "krun: ..." on stderr and the exit status that says whose fault it
 * was (docs/exit-status.md).  Only the command's own files (krun.c, run.c,
 * commands.c, session.c) call these; modules return errors.
 */
#ifndef KRUN_DIE_H
#define KRUN_DIE_H

/* Bad usage or input, or the local setup: exit status 2. */
void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

/* A failure of the cluster, the broker or their API (not of the user's
 * input): exit status 1. */
void fatal (const char *text) __attribute__ ((noreturn));

#endif
