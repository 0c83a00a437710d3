/* detach.c - see detach.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detach.h"
#include "procstat.h"
#include "userdir.h"

int detach_session (const char *node, struct krun_error *errp)
{
    char *base = userdir_base (errp), path[PATH_MAX];
    unsigned long long start = 0;
    int fds[2] = {-1, -1}, log = -1, null = -1;
    pid_t pid = -1;
    char go;

    if (!base)
        return -1;
    snprintf (path, sizeof (path), "%s/krund-%s.log", base, node);
    free (base);
    if ((log = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 ||
        (null = open ("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
        pipe2 (fds, O_CLOEXEC) < 0 || (pid = fork ()) < 0) {
        errprintf_errno (errp, "cannot detach (log %s)", path);
        goto error;
    }
    if (pid > 0) {
        /* The daemon closes its end once it has left the session. */
        close (fds[1]);
        while (read (fds[0], &go, 1) < 0 && errno == EINTR)
            ;
        procstat_read (pid, NULL, &start);
        printf ("krund pid %d start %llu log %s\n", (int)pid, start, path);
        exit (fflush (stdout) == 0 ? 0 : 1);
    }
    if (setsid () < 0 || dup2 (null, 0) < 0 || dup2 (log, 1) < 0 || dup2 (log, 2) < 0)
        _exit (1);
    close (log);
    close (null);
    close (fds[0]);
    close (fds[1]);
    return 0;
error:
    if (log >= 0)
        close (log);
    if (null >= 0)
        close (null);
    if (fds[0] >= 0) {
        close (fds[0]);
        close (fds[1]);
    }
    return -1;
}

int detach_stop (const char *arg)
{
    unsigned long long want, start;
    char exe[64], self[PATH_MAX], other[PATH_MAX];
    int pid = 0, n = 0;
    ssize_t len;

    if (sscanf (arg, "%d:%llu%n", &pid, &want, &n) != 2 || arg[n] || pid <= 0) {
        fprintf (stderr, "krund: --stop: expected PID:TICKS, got '%s'\n", arg);
        return 2;
    }
    snprintf (exe, sizeof (exe), "/proc/%d/exe", pid);
    if (procstat_read (pid, NULL, &start) < 0 || start != want ||
        (len = readlink (exe, other, sizeof (other) - 1)) < 0) {
        printf ("krund: pid %d: not running\n", pid);
        return 0;
    }
    other[len] = '\0';
    if ((len = readlink ("/proc/self/exe", self, sizeof (self) - 1)) < 0 ||
        (self[len] = '\0', strcmp (self, other) != 0)) {
        fprintf (stderr, "krund: pid %d runs %s, not krund: not stopped\n", pid, other);
        return 1;
    }
    if (kill (pid, SIGTERM) < 0) {
        fprintf (stderr, "krund: cannot stop pid %d: %s\n", pid, strerror (errno));
        return 1;
    }
    /* Running tasks get their grace (10 s by default) to finish. */
    for (int i = 0; i < 150; i++) {
        char state = 0;
        if (procstat_read (pid, &state, &start) < 0 || start != want || state == 'Z')
            return printf ("krund: stopped pid %d\n", pid) < 0;
        usleep (100000);
    }
    fprintf (stderr, "krund: pid %d still runs 15 s after SIGTERM\n", pid);
    return 1;
}
