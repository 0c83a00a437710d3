/* fileio.h - reading and writing a whole file, the one way krun and krund
 * do it.  Errors follow error.h: -1 or NULL with errno, and a message naming
 * the path in errp (may be NULL).
 */
#ifndef KRUN_FILEIO_H
#define KRUN_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read all of path, followed by a NUL byte that *lenp (may be NULL) does
 * not count.  Fails with EFBIG if the file holds more than max bytes, EIO if
 * it shrinks while read, else the errno of open/read.  Returns the content
 * (caller must free) or NULL. */
char *fileio_read (const char *path, size_t max, size_t *lenp, struct krun_error *errp);

/* The same from the current offset of fd, which stays open (for a caller
 * that checked the open file first, as a key's mode).  Returns the content
 * (caller must free) or NULL with errno. */
char *fileio_read_fd (int fd, size_t max, size_t *lenp);

/* Write the len bytes of buf to path, created with mode if missing and
 * truncated otherwise (O_NOFOLLOW: a symbolic link is not followed).
 * Returns 0, or -1 with errno; some bytes may have been written then. */
int fileio_write (const char *path, const void *buf, size_t len, mode_t mode,
                  struct krun_error *errp);

#endif
