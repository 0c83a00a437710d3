/* fdio.c - see fdio.h. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "fdio.h"

int fdio_write_all (int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Someone made our output non-blocking: wait for room, but not
             * for ever (a reader that never reads). */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int rc = poll (&pfd, 1, FDIO_STALL_MS);
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc == 0)
                errno = ETIMEDOUT;
            if (rc <= 0)
                return -1;
            continue;
        }
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO; /* write(2) of a non-empty buffer never returns 0 */
            return -1;
        }
        p += n;
        len -= n;
    }
    return 0;
}

void fdio_close (int *fd)
{
    int saved_errno = errno;

    if (*fd >= 0)
        close (*fd);
    *fd = -1;
    errno = saved_errno;
}
