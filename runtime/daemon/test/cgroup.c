/* Unit tests of runtime/cgroup.c: what a slot's task detached, and nobody
 * adopted, dies with cgroup_kill(); what a dead daemon left is killed by
 * the next one.  Skipped where no cgroup v2 can be made. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "reaper.h"
#include "tests/tap.h"
#include "tests/testproc.h"

static bool alive (pid_t pid)
{
    char state = reaper_process_state (pid);
    return state && state != 'Z' && state != 'X';
}

static bool gone_within (pid_t pid, int ms)
{
    for (int i = 0; i < ms / 10 && alive (pid); i++)
        usleep (10000);
    return !alive (pid);
}

struct place {
    const struct cgroup *cg; /* slot of cg, or */
    int slot;
    const char *dir; /* a cgroup directory */
};

/* Writes text to the file at path (a cgroup's interface file). */
static int write_text (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");

    if (!f)
        return -1;
    fputs (text, f);
    return fclose (f) == 0 ? 0 : -1;
}

static int enter (void *arg)
{
    const struct place *p = arg;
    char procs[PATH_MAX + 16];

    if (p->cg)
        return cgroup_enter (p->cg, p->slot);
    snprintf (procs, sizeof (procs), "%s/cgroup.procs", p->dir);
    return write_text (procs, "0");
}

/* A detached `sleep 300`, started from slot of cg or from dir, whose
 * parent exited: nobody adopts it but init. */
static pid_t detached_in (const struct cgroup *cg, int slot, const char *dir)
{
    struct place p = {.cg = cg, .slot = slot, .dir = dir};
    return testproc_orphan (enter, &p);
}

int main (void)
{
    struct krun_error error = {{0}};
    struct cgroup *cg = cgroup_create (2, &error);

    if (!cg) {
        printf ("1..0 # SKIP no cgroup for the slots here: %s\n", error.text);
        return 0;
    }
    plan (NO_PLAN);
    char path[PATH_MAX], sub[PATH_MAX + 64];
    struct stat st;
    int status = -1;
    snprintf (path, sizeof (path), "%s", cgroup_path (cg));
    diag ("slots' cgroups in %s", path);
    snprintf (sub, sizeof (sub), "%s/slot.0", path);
    ok (stat (sub, &st) == 0 && S_ISDIR (st.st_mode), "slot 0's cgroup is made: %s",
        sub);
    snprintf (sub, sizeof (sub), "%s/slot.1", path);
    ok (stat (sub, &st) < 0 && errno == ENOENT, "slot 1's is left to slot 1");
    ok (cgroup_kill (cg, 1) == 0,
        "killing in a slot's cgroup not made yet: nothing to do");
    errno = 0;
    ok (cgroup_enter (cg, 2) < 0 && errno == EINVAL, "no slot 2: EINVAL");

    /* A slot whose cgroup cannot be made: the kernel's limit on the
     * daemon's descendants (slot 0 already is one) refuses slot 1's. */
    char limit[PATH_MAX + 64];
    snprintf (limit, sizeof (limit), "%s/cgroup.max.descendants", path);
    ok (write_text (limit, "1") == 0, "at most 1 cgroup below the daemon's");
    pid_t refused = fork ();
    if (refused == 0)
        _exit (cgroup_enter (cg, 1) < 0 ? errno : 0);
    ok (refused > 0 && waitpid (refused, &status, 0) == refused && WIFEXITED (status) &&
            WEXITSTATUS (status) == EAGAIN,
        "entering slot 1's cgroup fails with the kernel's EAGAIN, not EEXIST");
    snprintf (sub, sizeof (sub), "%s/slot.1", path);
    ok (stat (sub, &st) < 0 && errno == ENOENT, "and slot 1's cgroup is not there");
    ok (cgroup_kill (cg, 1) == 0, "so killing in it has nothing to do");
    ok (write_text (limit, "max") == 0, "the limit lifted");

    pid_t stray = detached_in (cg, 0, NULL);
    ok (stray > 0 && alive (stray), "a detached process in slot 0's cgroup runs");
    pid_t other = detached_in (cg, 1, NULL);
    snprintf (sub, sizeof (sub), "%s/slot.1", path);
    ok (other > 0 && stat (sub, &st) == 0 && S_ISDIR (st.st_mode),
        "slot 1 made its cgroup when it entered it");
    ok (cgroup_kill (cg, 0) == 0, "slot 0's cgroup killed");
    ok (gone_within (stray, 5000), "the detached process is gone");
    ok (alive (other), "slot 1's is not");

    /* A daemon that died without cleaning up: its set stays, with a
     * process in it, under a pid that no krund has. */
    char parent[PATH_MAX], dead[PATH_MAX + 32];
    snprintf (parent, sizeof (parent), "%s", path);
    dirname (parent);
    pid_t gone = fork ();
    if (gone == 0)
        _exit (0);
    waitpid (gone, NULL, 0);
    snprintf (dead, sizeof (dead), "%s/krund.%d", parent, (int)gone);
    snprintf (sub, sizeof (sub), "%s/slot.0", dead);
    if (mkdir (dead, 0755) < 0 || mkdir (sub, 0755) < 0)
        bail_out ("mkdir %s: %s", sub, strerror (errno));
    pid_t left = detached_in (NULL, 0, sub);
    ok (left > 0 && alive (left), "a dead daemon's cgroup holds a process");
    /* The next daemon, another process. */
    pid_t next = fork ();
    if (next == 0) {
        struct cgroup *n = cgroup_create (1, NULL);
        cgroup_destroy (n);
        _exit (n ? 0 : 1);
    }
    status = -1;
    ok (next > 0 && waitpid (next, &status, 0) == next && status == 0,
        "the next daemon makes its cgroups");
    ok (gone_within (left, 5000), "after killing what the dead daemon left");
    ok (access (dead, F_OK) < 0 && errno == ENOENT, "and removing its cgroup");
    ok (alive (other), "a live daemon's is left alone");

    cgroup_destroy (cg);
    cgroup_destroy (NULL);
    ok (gone_within (other, 5000), "cgroup_destroy() kills what is left");
    ok (access (path, F_OK) < 0 && errno == ENOENT, "and removes the directories");
    done_testing ();
    return exit_status ();
}
