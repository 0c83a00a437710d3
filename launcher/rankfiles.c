/* rankfiles.c - see rankfiles.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rankfiles.h"

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
    return 0;
}

int rankfiles_write (const char *dir, const char *name, const void *data, size_t len,
                     bool append, struct krun_error *errp)
{
    char path[PATH_MAX];
    const char *p = data;
    int fd;

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
               0666);
    if (fd < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errprintf_errno (errp, "cannot write %s", path);
            close (fd);
            return -1;
        }
        p += n;
        len -= n;
    }
    if (close (fd) < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    return 0;
}
