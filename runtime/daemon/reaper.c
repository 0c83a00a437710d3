/* reaper.c - see reaper.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "procstat.h"
#include "reaper.h"

int reaper_become (void)
{
    return prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* The pid's state letter in /proc/PID/stat (R, S, D, T, t, Z...), or 0 if
 * it cannot be read. */
char reaper_process_state (pid_t pid)
{
    char state;

    return procstat_read (pid, &state, NULL) == 0 ? state : 0;
}

static bool kept (pid_t pid, const pid_t *keep, int nkeep)
{
    for (int i = 0; i < nkeep; i++)
        if (keep[i] == pid)
            return true;
    return false;
}

int reaper_kill_strays (const pid_t *keep, int nkeep)
{
    char path[64];
    FILE *f;
    int pid, n = 0;

    /* Orphans are re-parented to the thread group leader: krund's processes
     * have no other thread. */
    snprintf (path, sizeof (path), "/proc/self/task/%d/children", (int)getpid ());
    if (!(f = fopen (path, "re")))
        return -1;
    while (fscanf (f, "%d", &pid) == 1) {
        if (pid <= 0 || kept (pid, keep, nkeep))
            continue;
        /* The group too: its members are the stray's descendants (a process
         * joins a group only within its own session), and they die now
         * rather than one generation per call. */
        kill (-pid, SIGKILL);
        kill (pid, SIGKILL);
        n++;
    }
    fclose (f);
    return n;
}

/* Reap every exited child.  Returns true once there is no child at all. */
static bool reap_all (void)
{
    for (;;) {
        pid_t pid = waitpid (-1, NULL, WNOHANG);
        if (pid > 0)
            continue;
        if (pid < 0 && errno == EINTR)
            continue;
        return pid < 0 && errno == ECHILD;
    }
}

int reaper_clear (int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    struct timespec pause = {.tv_nsec = 1000 * 1000};
    int n;

    for (;;) {
        if (reap_all ())
            return 0;
        if ((n = reaper_kill_strays (NULL, 0)) <= 0 || clock_mono_ms () >= deadline)
            return n;
        /* SIGKILL takes effect when the process next runs. */
        nanosleep (&pause, NULL);
    }
}
