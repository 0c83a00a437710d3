/* spawn.h - starting a process that outlives krun.
 *
 * The providers' daemons (a local krund, the srun step that holds a Slurm
 * allocation's krund) stay warm after the krun that started them has
 * exited: they run in a session of their own (no terminal's Ctrl-C or
 * hangup reaches them), are not krun's children (nothing for krun to
 * reap) and append their output to a log file.  Their standard input is
 * /dev/null, or a pipe holding the bytes given (the secrets an srun step
 * hands its daemons, secrets.h), closed after them.
 */
#ifndef KRUN_SPAWN_H
#define KRUN_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Run path with argv, the environment plus env_add (NAME=VALUE entries,
 * NULL-terminated; may be NULL), standard output and error appended to log
 * (created mode 0600), standard input the len bytes of input (at most a
 * pipe's capacity, 64 KiB) or /dev/null if input is NULL.  Returns its PID
 * once it executes path (so that a record of it names path), or -1 with
 * errno and errp ("cannot start PATH"). */
pid_t spawn_detached (const char *path, char *const argv[], char *const env_add[],
                      const char *log, const void *input, size_t len,
                      struct krun_error *errp);

/* The directory of this program's executable (/proc/self/exe) into dir,
 * where the programs krun starts are looked for first (krund, krun-tls).
 * Returns 0, or -1 if it cannot be read or does not fit. */
int spawn_self_dir (char *dir, size_t size);

#endif
