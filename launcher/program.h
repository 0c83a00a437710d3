/* program.h - what a job runs: the program's absolute path (resolved and
 * checked by the launcher before anything is published) and the environment
 * the tasks receive.
 */
#ifndef KRUN_PROGRAM_H
#define KRUN_PROGRAM_H

#include <stdbool.h>

#include "error.h"

/* Resolve name as execvp() would: a name with a '/' is taken relative to the
 * current directory, another is searched in $PATH.  Returns a malloc'd
 * absolute path of an executable regular file (caller must free), or NULL
 * with errno (ENOENT, EACCES, EISDIR) and errp naming the program. */
char *program_resolve (const char *name, struct krun_error *errp);

/* The environment sent to the tasks (docs/environment.md): the launcher's
 * own, without the broker settings (KRUN_AMQP_*, KRUN_CONFIG: never sent)
 * and without host-specific variables (HOSTNAME, DISPLAY, SSH_*, PWD, ...:
 * sent only when named by -x); then exports, the -x arguments: "VAR" sends
 * the launcher's VAR, "VAR=value" sets it.  Returns a NULL-terminated array
 * of borrowed strings (from environ and exports; free the array only) and
 * its length in *countp, or NULL with errno (EPERM for a broker setting,
 * ENOENT for an unset VAR, EINVAL) and errp naming the -x argument. */
char **program_environment (char *const exports[], int nexports, int *countp,
                            struct krun_error *errp);

/* Whether fd (krun's standard input) holds data a user may expect the
 * tasks to read: a pipe with bytes waiting, or a regular file not read to
 * its end.  A terminal, /dev/null, an empty pipe: false.  The tasks' stdin
 * is /dev/null, so krun warns then. */
bool program_stdin_has_data (int fd);

#endif
