/* inputs.h - per-rank data the launcher sends with the tasks: the lines of a
 * file (`--inputs FILE`, `-f COMMANDS`) or the files of a directory
 * (`--input-dir DIR`), rank i getting entry i.
 *
 * Everything travels through the broker, which keeps queued tasks in memory,
 * so sizes are bounded: one entry at most PROTOCOL_MAX_INPUT bytes, all of
 * them together at most INPUTS_MAX_TOTAL.  Larger data is refused with a
 * message saying what to do instead.
 */
#ifndef KRUN_INPUTS_H
#define KRUN_INPUTS_H

#include <stddef.h>

#include "error.h"

#define INPUTS_MAX_TOTAL (256 * 1024 * 1024)

struct inputs;

/* One entry per line of path, "-" for standard input (the newline removed;
 * a last line without one counts).  With text_only, a line holding a NUL byte is
 * refused (commands are C strings).  Returns NULL with errno (E2BIG for sizes, EINVAL
 * for a NUL, ENODATA for an empty file) and errp naming the file and line. */
struct inputs *inputs_from_lines (const char *path, int text_only,
                                  struct krun_error *errp);

/* One entry per regular file of dir, in natural order of their names
 * (2 before 10).  Returns NULL with errno and errp as above. */
struct inputs *inputs_from_dir (const char *dir, struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void inputs_destroy (struct inputs *in);

int inputs_count (const struct inputs *in);

/* Entry i (borrowed until inputs_destroy(); NUL-terminated, the NUL not
 * counted in *len). */
const char *inputs_get (const struct inputs *in, int i, size_t *len);

/* The file or directory the entries came from (borrowed). */
const char *inputs_source (const struct inputs *in);

#endif
