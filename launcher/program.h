/* program.h - what a job runs: the program's absolute path (resolved and
 * checked by the launcher before anything is published) and the environment
 * the tasks receive.
 */
#ifndef KRUN_PROGRAM_H
#define KRUN_PROGRAM_H

#include "error.h"

/* Resolve name as execvp() would: a name with a '/' is taken relative to the
 * current directory, another is searched in $PATH.  Returns a malloc'd
 * absolute path of an executable regular file (caller must free), or NULL
 * with errno (ENOENT, EACCES, EISDIR) and errp naming the program. */
char *program_resolve (const char *name, struct krun_error *errp);

/* The environment sent to the tasks: the launcher's own, without the
 * variables that hold krun's secrets or broker settings (KRUN_AMQP_URL,
 * KRUN_AMQP_CACERT, KRUN_CONFIG).  Returns a NULL-terminated array of
 * borrowed strings (free the array only) and its length in *countp. */
char **program_environment (int *countp);

#endif
