/* fdio.h - file descriptors, the one way krun and krund handle them.
 * Writing a whole buffer: a short write or EINTR goes on, a full
 * non-blocking pipe is waited for (with a bound), and any other failure is
 * returned, never dropped, so that a caller can say which output was lost.
 * Closing: an fd is closed once and its variable says so.
 */
#ifndef KRUN_FDIO_H
#define KRUN_FDIO_H

#include <stddef.h>

/* The longest wait for a non-blocking fd that is full (EAGAIN) to take
 * more bytes. */
#define FDIO_STALL_MS 30000

/* Write all len bytes of buf to fd.  Returns 0, or -1 with errno (ENOSPC,
 * EPIPE, EIO, ..., ETIMEDOUT when a non-blocking fd took nothing for
 * FDIO_STALL_MS); some bytes may have been written then. */
int fdio_write_all (int fd, const void *buf, size_t len);

/* Close *fd if it is open (>= 0) and set it to -1.  errno is kept: a
 * cleanup path may close after the failure it reports. */
void fdio_close (int *fd);

#endif
