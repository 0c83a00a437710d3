/* ranklist.h - a set of ranks 0..size-1, to name many ranks in one short
 * line: "3, 7-12, 40" rather than one line each (the ranks whose output or
 * result could not be written, for instance).
 */
#ifndef KRUN_RANKLIST_H
#define KRUN_RANKLIST_H

#include <stddef.h>

struct ranklist;

/* An empty set of ranks 0..size-1 (size >= 1).  Returns NULL with errno on
 * failure.  Caller must ranklist_destroy() it. */
struct ranklist *ranklist_create (int size);

/* Accepts NULL; keeps errno. */
void ranklist_destroy (struct ranklist *l);

/* Add rank.  Returns 1 if it was new, 0 if it was there already, -1 with
 * errno EINVAL if it is outside 0..size-1. */
int ranklist_add (struct ranklist *l, int rank);

/* How many ranks the set holds. */
int ranklist_count (const struct ranklist *l);

/* The ranks in increasing order, runs as ranges: "0-3, 7, 9-12", in buf of
 * size bytes (NUL-terminated, size >= 32).  A list that does not fit ends
 * with ", ... (N more)", N counting the ranks not shown.  Returns buf. */
char *ranklist_format (const struct ranklist *l, char *buf, size_t size);

#endif
