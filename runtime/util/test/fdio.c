/* Unit tests of fdio_write_all() and fdio_close(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "tests/tap.h"

/* A buffer larger than a pipe's capacity goes through whole, also when
 * the pipe is non-blocking and full in between (the reader is slow). */
static void test_pipe (bool nonblocking)
{
    size_t len = 1 << 20;
    char *buf = malloc (len), *got = malloc (len);
    int fds[2];
    pid_t pid;

    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(i * 7);
    if (!buf || !got || pipe (fds) < 0)
        bail_out ("pipe");
    if (nonblocking)
        fcntl (fds[1], F_SETFL, fcntl (fds[1], F_GETFL) | O_NONBLOCK);
    if ((pid = fork ()) == 0) {
        close (fds[0]);
        _exit (fdio_write_all (fds[1], buf, len) == 0 ? 0 : 1);
    }
    close (fds[1]);
    size_t have = 0;
    ssize_t n;
    while (have < len && (n = read (fds[0], got + have, len - have)) > 0) {
        have += n;
        if (have < len / 2)
            usleep (100); /* let the pipe fill */
    }
    int status;
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0 && have == len &&
            memcmp (buf, got, len) == 0,
        "1 MiB through a %s pipe arrives whole",
        nonblocking ? "full non-blocking" : "blocking");
    close (fds[0]);
    free (buf);
    free (got);
}

static void test_failures (void)
{
    int fd = open ("/dev/full", O_WRONLY);
    int fds[2];

    errno = 0;
    ok (fd >= 0 && fdio_write_all (fd, "x", 1) < 0 && errno == ENOSPC,
        "/dev/full: -1 with ENOSPC");
    if (fd >= 0)
        close (fd);
    if (pipe (fds) < 0)
        bail_out ("pipe");
    close (fds[0]);
    signal (SIGPIPE, SIG_IGN);
    errno = 0;
    ok (fdio_write_all (fds[1], "x", 1) < 0 && errno == EPIPE,
        "a pipe without reader: -1 with EPIPE");
    close (fds[1]);
    errno = 0;
    ok (fdio_write_all (-1, "x", 1) < 0 && errno == EBADF, "a bad fd: -1 with EBADF");
    ok (fdio_write_all (-1, "", 0) == 0, "nothing to write: 0");
}

static void test_close (void)
{
    int fds[2], none = -1;

    if (pipe (fds) < 0)
        bail_out ("pipe");
    errno = ENOSPC;
    fdio_close (&fds[0]);
    ok (fds[0] == -1 && errno == ENOSPC,
        "fdio_close: the variable says -1, errno kept");
    ok (write (fds[1], "x", 1) < 0 && errno == EPIPE, "the fd is closed (no reader)");
    fdio_close (&fds[1]);
    fdio_close (&fds[1]);
    ok (fds[1] == -1, "closing twice is harmless");
    fdio_close (&none);
    ok (none == -1, "an fd of -1 stays -1");
}

int main (void)
{
    plan (NO_PLAN);
    test_pipe (false);
    test_pipe (true);
    test_failures ();
    test_close ();
    done_testing ();
    return exit_status ();
}
