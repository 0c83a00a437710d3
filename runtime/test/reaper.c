/* Unit tests of runtime/reaper.c: orphans that left their process group
 * come back to the subreaper, which kills them, and only them. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reaper.h"
#include "tests/tap.h"

/* True while pid runs (a zombie counts as gone). */
static bool alive (pid_t pid)
{
    char path[64], buf[512], *paren;
    FILE *f;
    size_t n;

    snprintf (path, sizeof (path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen (path, "r")))
        return false;
    n = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[n] = '\0';
    paren = strrchr (buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Fork a child that starts a detached grandchild (setsid, as a task's
 * daemon would) and exits: the grandchild is re-parented to this process.
 * Returns the grandchild's pid. */
static pid_t orphan (void)
{
    int p[2];
    pid_t child, grandchild = -1;

    if (pipe (p) < 0 || (child = fork ()) < 0)
        bail_out ("pipe or fork");
    if (child == 0) {
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
        bail_out ("no grandchild pid");
    close (p[0]);
    waitpid (child, NULL, 0);
    return grandchild;
}

int main (void)
{
    plan (NO_PLAN);
    is_int (reaper_clear (1000), 0, "no child: nothing to clear");
    if (!ok (reaper_become () == 0, "the test becomes a child subreaper"))
        bail_out ("no child subreaper on this kernel");

    pid_t stray = orphan ();
    ok (alive (stray), "a setsid grandchild outlives its parent");
    is_int (reaper_clear (5000), 0, "reaper_clear() leaves no child");
    ok (!alive (stray), "the grandchild is gone");
    errno = 0;
    ok (waitpid (-1, NULL, WNOHANG) < 0 && errno == ECHILD, "and reaped");

    /* A kept child survives; a stray beside it does not. */
    pid_t keep = fork ();
    if (keep == 0) {
        execl ("/bin/sleep", "sleep", "300", (char *)NULL);
        _exit (127);
    }
    stray = orphan ();
    is_int (reaper_kill_strays (&keep, 1), 1, "one stray beside the kept child");
    ok (waitpid (stray, NULL, 0) == stray, "the stray died of SIGKILL");
    ok (alive (keep), "the kept child runs on");
    is_int (reaper_kill_strays (&keep, 1), 0, "no stray left");
    kill (keep, SIGKILL);
    waitpid (keep, NULL, 0);

    /* Three generations that each left the group of their parent: killing
     * one re-parents the next, until none is left. */
    pid_t top = fork ();
    if (top == 0) {
        setsid ();
        execl ("/bin/sh", "sh", "-c",
               "setsid sh -c 'setsid sleep 300 & sleep 300' & sleep 300", (char *)NULL);
        _exit (127);
    }
    usleep (200 * 1000);
    is_int (reaper_clear (5000), 0, "a chain of detached generations is cleared");
    errno = 0;
    ok (waitpid (-1, NULL, WNOHANG) < 0 && errno == ECHILD, "nothing is left");
    done_testing ();
    return exit_status ();
}
