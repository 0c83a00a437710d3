/* detach.h - krund started over ssh: leaving the session, and being
 * stopped by the one who started it.
 *
 * An ssh session ends when its command has exited and nothing holds its
 * output any more; a daemon meant to stay warm after it must leave it.
 * `krund --detach` does so once its secrets are read and checked (so that
 * the session's exit status and error output say whether it started), and
 * prints one line for the launcher to keep:
 *
 *     krund pid PID start TICKS log PATH
 *
 * TICKS is the process's start time (/proc/PID/stat), so that `krund --stop
 * PID:TICKS`, run later through ssh by `krun down`, signals that very
 * process and not one that reused its PID.
 */
#ifndef KRUN_DETACH_H
#define KRUN_DETACH_H

#include "error.h"

/* Fork; the parent prints the line above once the child has left the
 * session (setsid, standard input /dev/null, output appended to the state
 * directory's krund-NODE.log, see userdir.h) and exits 0.  Returns 0 in
 * the child, or -1 with errno and errp (nothing forked). */
int detach_session (const char *node, struct krun_error *errp);

/* SIGTERM to the process PID:TICKS names if it still runs the same
 * executable as this one, then wait for it at most 15 s (running tasks get
 * their grace).  Prints what happened.  Returns main's exit status: 0
 * stopped or not running, 1 not stopped, 2 a malformed argument. */
int detach_stop (const char *arg);

#endif
