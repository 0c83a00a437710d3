/* Unit tests of the status line text (launcher/progress.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"
#include "tests/tap.h"

int main (void)
{
    char buf[512];
    int fds[2];

    plan (NO_PLAN);
    if (pipe (fds) < 0)
        bail_out ("pipe");
    struct progress *p = progress_create (10, fds[1]);
    int64_t t0 = clock_mono_ms ();
    progress_add_node (p, "a", 2);
    progress_add_node (p, "b", 1);
    is_str (
        progress_text (p, t0, buf, sizeof (buf)),
        "krun: 0/10 done, 0 running, 0 failed, 10 queued | 0% | 0.0 tasks/s | ETA ? | "
        "a 0/2 b 0/1",
        "initial line");
    progress_rank_running (p, 0, "a", 0);
    progress_rank_running (p, 1, "a", 0);
    progress_rank_running (p, 2, "b", 0);
    progress_rank_running (p, 2, "b", 0.5);
    progress_rank_done (p, 0, false);
    progress_rank_done (p, 1, true);
    progress_rank_done (p, 1, false); /* a duplicate result changes nothing */
    /* 2 done + 0.5 partial in 10 s: 7.5 left at 0.25/s = 30 s. */
    is_str (progress_text (p, t0 + 10000, buf, sizeof (buf)),
            "krun: 2/10 done, 1 running, 1 failed, 7 queued | 25% | 0.2 tasks/s | ETA "
            "0:30 | "
            "a 0/2 b 1/1",
            "running, done, failed, percent and ETA from fractions, rate, busy slots");
    progress_rank_running (p, 3, "unknown-node", 0);
    is_str (progress_text (p, t0 + 10000, buf, sizeof (buf)),
            "krun: 2/10 done, 2 running, 1 failed, 6 queued | 25% | 0.2 tasks/s | ETA "
            "0:30 | "
            "a 0/2 b 1/1",
            "a rank on a node outside the map counts as running");
    for (int r = 2; r < 10; r++)
        progress_rank_done (p, r, false);
    is_str (progress_text (p, t0 + 4000000, buf, sizeof (buf)),
            "krun: 10/10 done, 0 running, 1 failed, 0 queued | 100% | 0.0 tasks/s | "
            "ETA 0:00 | "
            "a 0/2 b 0/1",
            "finished");
    progress_draw (p, t0 + 4000000, true);
    progress_finish (p, t0 + 4000000);
    close (fds[1]);
    ssize_t n = read (fds[0], buf, sizeof (buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    ok (n > 0 && strncmp (buf, "krun: 10/10 done", 16) == 0 && !strchr (buf, '\r') &&
            !strchr (buf, '\033') && strchr (buf, '\n') &&
            strchr (buf, '\n') != strrchr (buf, '\n'),
        "not a terminal: plain lines, no carriage return or escape");
    progress_destroy (p);
    progress_destroy (NULL);
    done_testing ();
    return exit_status ();
}
