/* rankdata.h - what a slot prepares for one rank before it starts the task:
 * the argument vector (the announced argv, the task's own arguments from
 * `krun -f`, with {rank}, {size}, {#} and {} replaced) and the rank's input, written
 * to a file in the job's scratch directory (KRUN_INPUT_FILE).
 */
#ifndef KRUN_RANKDATA_H
#define KRUN_RANKDATA_H

#include <stddef.h>

#include "error.h"

/* Name of the input file inside a job's scratch directory. */
#define RANKDATA_INPUT_NAME "input"

/* arg with every "{rank}" and "{size}" replaced, "{#}" by rank + 1 (GNU
 * parallel's job number), and, when input is not NULL (the job has
 * inputs), "{}" by the input's input_len bytes (parallel's input line).
 * Returns a malloc'd string (caller must free), or NULL with errno ENOMEM,
 * or EINVAL when arg holds "{}" and the input a NUL byte. */
char *rankdata_expand (const char *arg, int rank, int size, const char *input,
                       size_t input_len);

/* The argv of one rank: the argc entries of argv then the nargs of args,
 * each expanded as above.  Returns a NULL-terminated malloc'd array of
 * malloc'd strings (free with rankdata_argv_free()), or NULL with errno
 * ENOMEM or EINVAL. */
char **rankdata_argv (char *const argv[], int argc, char *const args[], int nargs,
                      int rank, int size, const char *input, size_t input_len);

/* Accepts NULL. */
void rankdata_argv_free (char **argv);

/* Make a private scratch directory for job, job.<job>.XXXXXX, under base
 * (the slot's directory, which must pass userdir_check()).  Returns its
 * malloc'd path (caller must free and rankdata_scratch_remove() it), or NULL
 * with errno and errp. */
char *rankdata_scratch_create (const char *base, const char *job,
                               struct krun_error *errp);

/* Remove the scratch directory and everything in it (scratch_remove()).  Accepts NULL;
 * keeps errno. */
void rankdata_scratch_remove (const char *dir);

/* Write the rank's input (len bytes) to dir/RANKDATA_INPUT_NAME, replacing
 * the previous rank's.  Returns 0, or -1 with errno and errp. */
int rankdata_write_input (const char *dir, const void *data, size_t len,
                          struct krun_error *errp);

#endif
