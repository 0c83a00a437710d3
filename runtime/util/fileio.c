/* fileio.c - see fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio.h"

/* The size fstat gives is a hint only: /proc and cgroup files say 0, and a
 * file may grow while it is read. */
char *fileio_read_fd (int fd, size_t max, size_t *lenp)
{
    struct stat st;
    size_t size = 4096, len = 0;
    char *buf, *bigger;

    if (fstat (fd, &st) == 0 && st.st_size > 0) {
        if ((size_t)st.st_size > max) {
            errno = EFBIG;
            return NULL;
        }
        size = (size_t)st.st_size + 2; /* room for the NUL and to see the end */
    }
    if (!(buf = malloc (size)))
        return NULL;
    for (;;) {
        if (len + 1 == size) {
            if (!(bigger = realloc (buf, size * 2)))
                goto error;
            buf = bigger;
            size *= 2;
        }
        ssize_t n = read (fd, buf + len, size - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto error;
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            errno = EFBIG;
            goto error;
        }
    }
    buf[len] = '\0';
    *lenp = len;
    return buf;
error:
    free (buf);
    return NULL;
}

char *fileio_read (const char *path, size_t max, size_t *lenp, struct krun_error *errp)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    size_t len;
    char *buf;

    if (fd < 0) {
        errprintf_errno (errp, "cannot read %s", path);
        return NULL;
    }
    buf = fileio_read_fd (fd, max, &len);
    if (!buf && errno == EFBIG)
        errprintf (errp, "%s: more than %zu bytes", path, max);
    else if (!buf)
        errprintf_errno (errp, "cannot read %s", path);
    fdio_close (&fd);
    if (buf && lenp)
        *lenp = len;
    return buf;
}

int fileio_write (const char *path, const void *buf, size_t len, mode_t mode,
                  struct krun_error *errp)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);

    if (fd < 0)
        return errprintf_errno (errp, "cannot open %s", path);
    if (fdio_write_all (fd, buf, len) < 0) {
        errprintf_errno (errp, "cannot write %s", path);
        fdio_close (&fd);
        return -1;
    }
    if (close (fd) < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    return 0;
}
