/* pidfile.h - records of the processes this machine's krun started.
 *
 * `krun down` must stop only what krun itself started here: a PID learned
 * over the broker may belong to a remote or containerised daemon, and a PID
 * written long ago may since have been reused by an unrelated process.  A
 * record therefore names the process by PID, its start time (clock ticks
 * since boot, /proc/PID/stat field 22) and the device and inode of its
 * executable (/proc/PID/exe); a process matches only if all three still
 * agree and it belongs to this user.  Records are written atomically,
 * mode 0600.
 */
#ifndef KRUN_PIDFILE_H
#define KRUN_PIDFILE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Record the running process pid in path.  Returns 0, or -1 with errno and
 * errp (the process is gone: ESRCH; the file cannot be written). */
int pidfile_record (const char *path, pid_t pid, struct krun_error *errp);

/* The PID recorded in path if that very process still runs (not a zombie),
 * as this user; 0 if not (no record, a bad record, the process is gone or
 * the PID now names another process). */
pid_t pidfile_running (const char *path);

/* Whether pid runs (exists and is not a zombie). */
bool pidfile_is_running (pid_t pid);

/* Wait until pid no longer runs, at most timeout_ms.  Returns true if it
 * stopped. */
bool pidfile_wait_stopped (pid_t pid, int timeout_ms);

#endif
