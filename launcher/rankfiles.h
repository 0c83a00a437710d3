/* rankfiles.h - per-rank files the launcher writes: the results of
 * `--results DIR` (DIR/<rank>) and the output of `--output-dir DIR`
 * (DIR/<rank>.out, DIR/<rank>.err).
 */
#ifndef KRUN_RANKFILES_H
#define KRUN_RANKFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Make dir and its missing parents (mode 0777 & ~umask), as `mkdir -p`,
 * and check that a file can be written in it (not read-only, not full, not
 * forbidden).  Returns 0, or -1 with errno and errp naming dir. */
int rankfiles_prepare (const char *dir, struct krun_error *errp);

/* Write len bytes to dir/name: replace the file, or append to it.  Returns
 * 0, or -1 with errno and errp naming the file; a file being replaced is
 * then removed rather than left cut. */
int rankfiles_write (const char *dir, const char *name, const void *data, size_t len,
                     bool append, struct krun_error *errp);

#endif
