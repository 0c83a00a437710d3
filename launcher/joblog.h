/* joblog.h - the job log of `krun --joblog FILE`, and reading it back for
 * `krun --resume FILE`.
 *
 * GNU parallel's format, so that scripts written for parallel's joblog read
 * it: a header line, then one tab-separated line per rank, written (and
 * flushed) when the rank's final result arrives:
 *
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *
 * Seq is the rank + 1 ({#}); Host the node; Starttime seconds since the
 * epoch with milliseconds; JobRuntime seconds; Send the bytes of the rank's
 * input, Receive the bytes of output it forwarded; Exitval the exit status
 * (a task that could not run: its reported code, 124 for a timeout, 127 not
 * found; 0 when killed), Signal the signal that killed it (else 0); Command
 * the rank's command line, placeholders replaced (tabs and newlines in it
 * written as spaces).  A file may hold several runs (--resume with the same
 * file appends): the last line of a rank is what counts.
 */
#ifndef KRUN_JOBLOG_H
#define KRUN_JOBLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct joblog_entry {
    int rank;
    const char *node;
    int64_t start_us, end_us;
    long long sent, received; /* bytes of input, of output */
    int exitval;
    int signal;
    const char *command; /* NULL: "-" */
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

/* argv (NULL-terminated) as one command line: the words separated by
 * spaces, a word holding anything but letters, digits and -_./=:,+@%
 * single-quoted the way sh reads it.  Returns a malloc'd string (caller
 * must free) or NULL with errno ENOMEM. */
char *joblog_command_line (char *const argv[]);

/* What an earlier run left in a joblog: for each rank of the job, whether
 * its last line is a success (Exitval and Signal 0) and its command. */
struct joblog_history;

/* Read path for a job of size ranks (lines of ranks beyond it are ignored).
 * A file that does not exist is an empty history (parallel: nothing ran
 * yet).  Joblogs of earlier krun versions ("# rank node slot ..." header)
 * are read too.  Returns NULL with errno (EINVAL for a malformed line) and
 * errp naming the file and line.  Caller must joblog_history_destroy() it. */
struct joblog_history *joblog_read (const char *path, int size,
                                    struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void joblog_history_destroy (struct joblog_history *h);

/* Whether the file existed. */
bool joblog_history_found (const struct joblog_history *h);

/* Whether rank's last line is a success. */
bool joblog_history_succeeded (const struct joblog_history *h, int rank);

/* How many ranks' last lines are successes. */
int joblog_history_successes (const struct joblog_history *h);

/* Whether rank's last line names another command than command (compared
 * as written: tabs and newlines as spaces).  False when the rank has no
 * line or its line no command (older format). */
bool joblog_history_command_changed (const struct joblog_history *h, int rank,
                                     const char *command);

#endif
