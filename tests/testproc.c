/* testproc.c - see testproc.h. */
#define _GNU_SOURCE
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tap.h"
#include "tests/testproc.h"

pid_t testproc_orphan (int (*before) (void *arg), void *arg)
{
    int p[2];
    pid_t child, grandchild = -1;

    if (pipe (p) < 0 || (child = fork ()) < 0)
        bail_out ("pipe or fork");
    if (child == 0) {
        close (p[0]);
        if (before && before (arg) != 0)
            _exit (1);
        pid_t g = fork ();
        if (g == 0) {
            setsid ();
            execl ("/bin/sleep", "sleep", "300", (char *)NULL);
            _exit (127);
        }
        if (write (p[1], &g, sizeof (g)) != sizeof (g))
            _exit (1);
        _exit (0);
    }
    close (p[1]);
    if (read (p[0], &grandchild, sizeof (grandchild)) != sizeof (grandchild))
        grandchild = -1;
    close (p[0]);
    waitpid (child, NULL, 0);
    return grandchild;
}
