/* spawn.c - see spawn.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "spawn.h"

#define SPAWN_INPUT_MAX 65536

pid_t spawn_detached (const char *path, char *const argv[], char *const env_add[],
                      const char *log, const void *input, size_t len,
                      struct krun_error *errp)
{
    int status, fds[2], in[2] = {-1, -1};
    pid_t pid, detached = -1;

    if (input && len > SPAWN_INPUT_MAX) {
        errno = E2BIG;
        return errprintf (errp, "cannot start %s: %zu bytes of input", path, len);
    }
    /* The grandchild writes its PID, and the pipe closes when it executes
     * path (close-on-exec) or dies. */
    if ((input && pipe2 (in, O_CLOEXEC) < 0) || pipe2 (fds, O_CLOEXEC) < 0 ||
        (pid = fork ()) < 0) {
        errprintf_errno (errp, "cannot start %s", path);
        goto error;
    }
    if (pid == 0) {
        close (fds[0]);
        if (setsid () < 0 || fork () != 0)
            _exit (0);
        pid_t self = getpid ();
        if (write (fds[1], &self, sizeof (self)) != sizeof (self))
            _exit (127);
        int stdin_fd = input ? in[0] : open ("/dev/null", O_RDONLY);
        int out = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (stdin_fd < 0 || out < 0 || dup2 (stdin_fd, 0) < 0 || dup2 (out, 1) < 0 ||
            dup2 (out, 2) < 0)
            _exit (127);
        for (int i = 0; env_add && env_add[i]; i++)
            putenv (env_add[i]);
        execv (path, argv);
        dprintf (2, "cannot execute %s: %s\n", path, strerror (errno));
        _exit (127);
    }
    close (fds[1]);
    if (input) {
        /* It fits in the pipe: written now, read when the process wants.  A
         * process that died first is reported by the caller's wait for it,
         * not by SIGPIPE here. */
        struct sigaction ignore = {.sa_handler = SIG_IGN}, saved;
        close (in[0]);
        in[0] = -1;
        sigaction (SIGPIPE, &ignore, &saved);
        fdio_write_all (in[1], input, len);
        sigaction (SIGPIPE, &saved, NULL);
        close (in[1]);
        in[1] = -1;
    }
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (read (fds[0], &detached, sizeof (detached)) != sizeof (detached))
        detached = -1;
    /* EOF: executed (or failed to). */
    char byte;
    while (read (fds[0], &byte, 1) < 0 && errno == EINTR)
        ;
    close (fds[0]);
    if (detached <= 0) {
        errno = ECHILD;
        return errprintf (errp, "cannot start %s", path);
    }
    return detached;
error:
    if (in[0] >= 0) {
        close (in[0]);
        close (in[1]);
    }
    return -1;
}

int spawn_self_dir (char *dir, size_t size)
{
    ssize_t n = readlink ("/proc/self/exe", dir, size);

    if (n <= 0 || (size_t)n >= size)
        return -1;
    dir[n] = '\0';
    char *slash = strrchr (dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}
