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
#include "tests/testproc.h"

/* True while pid runs (a zombie counts as gone). */
static bool alive (pid_t pid)
{
    char state = reaper_process_state (pid);
    return state && state != 'Z' && state != 'X';
}

int main (void)
{
    plan (NO_PLAN);
    is_int (reaper_clear (1000), 0, "no child: nothing to clear");
    if (!ok (reaper_become () == 0, "the test becomes a child subreaper"))
        bail_out ("no child subreaper on this kernel");

    pid_t stray = testproc_orphan (NULL, NULL);
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
    stray = testproc_orphan (NULL, NULL);
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
