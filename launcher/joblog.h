/* joblog.h - the job log of `krun --joblog FILE`, and reading it back for
 * `krun --resume FILE`.
 *
 * One tab-separated line per rank, written (and flushed) when the rank's
 * final result arrives, after one header line starting with '#':
 *
 *   rank node slot attempts status exit start end seconds
 *
 * status is exited, signaled, failed or timeout; exit is the rank's status
 * as it counts for krun's exit status (0..255, see docs/exit-status.md);
 * start and end are seconds since the epoch with microseconds; seconds is
 * end - start.  A file may hold several runs (--resume with the same file
 * appends): the last line of a rank is what counts.
 */
#ifndef KRUN_JOBLOG_H
#define KRUN_JOBLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct joblog_entry {
    int rank;
    const char *node;
    int slot;
    int attempts;
    const char *status; /* "exited", "signaled", "failed", "timeout" */
    int exit;           /* 0..255 */
    int64_t start_us, end_us;
};

struct joblog;

/* Open path for writing: truncated, or appended to if append is true.  The
 * header line is written when the file is empty.  Returns NULL with errno
 * and errp naming the file. */
struct joblog *joblog_open (const char *path, bool append, struct krun_error *errp);

/* Close it.  Returns 0, or -1 with errp if data could not be written.
 * Accepts NULL. */
int joblog_close (struct joblog *log, struct krun_error *errp);

/* Append one line and flush it.  Returns 0 or -1 with errno and errp. */
int joblog_write (struct joblog *log, const struct joblog_entry *e,
                  struct krun_error *errp);

/* Read path and set succeeded[r] for each rank r < size whose last line has
 * exit 0 (other entries are left as they are; lines of ranks >= size are
 * ignored).  Returns the number of ranks set, or -1 with errno (EINVAL for
 * a malformed line) and errp naming the file and line. */
int joblog_read_successes (const char *path, int size, bool *succeeded,
                           struct krun_error *errp);

#endif
