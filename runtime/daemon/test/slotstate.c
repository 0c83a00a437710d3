/* Unit tests of runtime/slotstate.c: what a forked slot writes, its daemon
 * reads, with no system call in between. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "slotstate.h"
#include "tests/tap.h"

int main (void)
{
    struct slotstate *s;
    int status;
    pid_t pid;

    plan (NO_PLAN);
    errno = 0;
    ok (slotstate_create (0) == NULL && errno == EINVAL, "no slots: EINVAL");
    s = slotstate_create (4);
    if (!ok (s != NULL, "four slots"))
        bail_out ("slotstate_create");
    is_int (slotstate_busy_count (s), 0, "all idle at first");
    is_int (slotstate_last_change_ms (s), 0, "and never changed");

    int64_t before = clock_mono_ms ();
    /* A forked slot marks itself busy; the creator sees it. */
    if ((pid = fork ()) == 0) {
        slotstate_set_busy (s, 2, true);
        slotstate_set_busy (s, 3, true);
        slotstate_set_busy (s, 3, false);
        _exit (0);
    }
    ok (pid > 0 && waitpid (pid, &status, 0) == pid && status == 0, "the child ran");
    ok (slotstate_busy (s, 2), "slot 2 is busy, as the child said");
    ok (!slotstate_busy (s, 3), "slot 3 went busy and idle again");
    is_int (slotstate_busy_count (s), 1, "one busy slot");
    ok (slotstate_last_change_ms (s) >= before &&
            slotstate_last_change_ms (s) <= clock_mono_ms (),
        "the last change is the child's, on the same clock");

    is_int (slotstate_beat_ms (s, 1), 0, "no heartbeat before the first");
    if ((pid = fork ()) == 0) {
        slotstate_beat (s, 1);
        _exit (0);
    }
    ok (pid > 0 && waitpid (pid, &status, 0) == pid && status == 0, "a slot beat");
    ok (slotstate_beat_ms (s, 1) >= before &&
            slotstate_beat_ms (s, 1) <= clock_mono_ms (),
        "the daemon sees its heartbeat, on the same clock");
    is_int (slotstate_beat_ms (s, 0), 0, "the other slots' are untouched");
    slotstate_beat (s, 4);
    is_int (slotstate_beat_ms (s, 4) + slotstate_beat_ms (NULL, 0), 0,
            "out of range or NULL: no heartbeat");

    slotstate_set_busy (s, 2, false);
    is_int (slotstate_busy_count (s), 0, "idle again");
    slotstate_set_busy (s, 4, true);
    slotstate_set_busy (s, -1, true);
    is_int (slotstate_busy_count (s), 0, "out-of-range slots change nothing");
    ok (!slotstate_busy (s, 4) && !slotstate_busy (NULL, 0), "nor read as busy");
    slotstate_set_busy (NULL, 0, true);
    is_int (slotstate_busy_count (NULL), 0, "NULL: nobody to tell, nothing busy");
    slotstate_destroy (s);
    slotstate_destroy (NULL);
    done_testing ();
    return exit_status ();
}
