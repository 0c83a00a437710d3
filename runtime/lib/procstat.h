/* procstat.h - what /proc/PID/stat says of a process: its state letter and
 * its start time.  The one reader of that file, for krund's reapers (is a
 * slot stopped?) and krun's records of the daemons it started (is this PID
 * still the process krun started?).
 */
#ifndef KRUN_PROCSTAT_H
#define KRUN_PROCSTAT_H

#include <sys/types.h>

/* Read pid's state letter (R, S, D, T, t, Z, X...) into *state and its
 * start time in clock ticks after boot into *start_ticks (either may be
 * NULL).  Returns 0, or -1 with errno ESRCH if the file cannot be read or
 * parsed (the process is gone). */
int procstat_read (pid_t pid, char *state, unsigned long long *start_ticks);

#endif
