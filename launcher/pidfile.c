/* pidfile.c - see pidfile.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "pidfile.h"
#include "procstat.h"

struct identity {
    unsigned long long start_ticks;
    unsigned long long dev;
    unsigned long long ino;
    char state;
};

/* What /proc says about pid.  Returns 0, or -1 with errno (ESRCH if gone,
 * EPERM if it is another user's). */
static int identify (pid_t pid, struct identity *id)
{
    char path[64];
    struct stat st;

    if (procstat_read (pid, &id->state, &id->start_ticks) < 0)
        return -1;
    snprintf (path, sizeof (path), "/proc/%d", (int)pid);
    if (stat (path, &st) < 0 || st.st_uid != getuid ()) {
        errno = EPERM;
        return -1;
    }
    snprintf (path, sizeof (path), "/proc/%d/exe", (int)pid);
    if (stat (path, &st) < 0) {
        errno = errno == ENOENT ? ESRCH : errno;
        return -1;
    }
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return 0;
}

int pidfile_record (const char *path, pid_t pid, struct krun_error *errp)
{
    char tmp[PATH_MAX], text[128];
    struct identity id;
    int fd, len;

    if (identify (pid, &id) < 0)
        return errprintf_errno (errp, "cannot record process %d in %s", (int)pid, path);
    if (snprintf (tmp, sizeof (tmp), "%s.XXXXXX", path) >= (int)sizeof (tmp)) {
        errno = ENAMETOOLONG;
        return errprintf_errno (errp, "%s", path);
    }
    len = snprintf (text, sizeof (text), "%d %llu %llu %llu\n", (int)pid,
                    id.start_ticks, id.dev, id.ino);
    /* mkstemp: mode 0600, and never through a symbolic link. */
    if ((fd = mkostemp (tmp, O_CLOEXEC)) < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    if (write (fd, text, len) != len || close (fd) < 0 || rename (tmp, path) < 0) {
        int saved = errno;
        unlink (tmp);
        errno = saved;
        return errprintf_errno (errp, "cannot write %s", path);
    }
    return 0;
}

pid_t pidfile_running (const char *path)
{
    int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    unsigned long long start, dev, ino;
    struct identity id;
    char text[128];
    struct stat st;
    ssize_t n;
    int pid;

    if (fd < 0)
        return 0;
    n = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == getuid ()
            ? read (fd, text, sizeof (text) - 1)
            : -1;
    close (fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    if (sscanf (text, "%d %llu %llu %llu", &pid, &start, &dev, &ino) != 4 || pid <= 0)
        return 0;
    if (identify (pid, &id) < 0 || id.state == 'Z' || id.state == 'X')
        return 0;
    if (id.start_ticks != start || id.dev != dev || id.ino != ino)
        return 0;
    return pid;
}

bool pidfile_is_running (pid_t pid)
{
    unsigned long long start;
    char state;

    return procstat_read (pid, &state, &start) == 0 && state != 'Z' && state != 'X';
}

bool pidfile_wait_stopped (pid_t pid, int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;

    while (pidfile_is_running (pid)) {
        if (clock_mono_ms () > deadline)
            return false;
        usleep (20 * 1000);
    }
    return true;
}
