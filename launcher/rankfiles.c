/* rankfiles.c - see rankfiles.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "rankfiles.h"

/* Write a byte to an unnamed file in dir: a read-only, full or forbidden
 * directory is found before anything runs, and nothing is left behind.
 * Where unnamed files are not supported, ask access() instead. */
static int probe (const char *dir, struct krun_error *errp)
{
    int fd = open (dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    int rc = 0;

    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
        rc = faccessat (AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS);
    else if (fd < 0 || fdio_write_all (fd, "\n", 1) < 0)
        rc = -1;
    if (rc < 0)
        errprintf_errno (errp, "cannot write files in %s", dir);
    if (fd >= 0)
        close (fd);
    return rc;
}

int rankfiles_prepare (const char *dir, struct krun_error *errp)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf (path, sizeof (path), "%s", dir) >= (int)sizeof (path)) {
        errno = ENAMETOOLONG;
        return errprintf_errno (errp, "%s", dir);
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir (path, 0777) < 0 && errno != EEXIST)
            return errprintf_errno (errp, "cannot make the directory %s", path);
        *p = '/';
    }
    if (mkdir (path, 0777) < 0 && errno != EEXIST)
        return errprintf_errno (errp, "cannot make the directory %s", dir);
    if (stat (path, &st) < 0 || !S_ISDIR (st.st_mode)) {
        errno = ENOTDIR;
        return errprintf_errno (errp, "%s", dir);
    }
    return probe (dir, errp);
}

int rankfiles_write (const char *dir, const char *name, const void *data, size_t len,
                     bool append, struct krun_error *errp)
{
    char path[PATH_MAX];
    int fd;

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
               0666);
    if (fd < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    if (fdio_write_all (fd, data, len) < 0 || close (fd) < 0) {
        int saved_errno = errno;
        close (fd); /* EBADF after a failed close: harmless */
        /* A cut file must not pass for the whole one. */
        if (!append)
            unlink (path);
        errno = saved_errno;
        return errprintf_errno (errp, "cannot write %s", path);
    }
    return 0;
}
