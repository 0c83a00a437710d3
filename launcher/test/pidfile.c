/* Unit tests of the process records (launcher/pidfile.c): a recorded
 * process is found while it runs; a record is refused once the process is
 * gone or is a zombie, when its start time or executable do not match (a
 * reused PID), when it is malformed, and when it is missing. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/pidfile.h"
#include "tests/tap.h"
#include "tests/testdir.h"

static pid_t start_sleeper (void)
{
    pid_t pid = fork ();

    if (pid < 0)
        bail_out ("fork: %s", strerror (errno));
    if (pid == 0) {
        execl ("/bin/sleep", "sleep", "60", (char *)NULL);
        _exit (127);
    }
    return pid;
}

/* Replace field `field` (0-based, space separated) of the record. */
static void edit_record (const char *path, int field, const char *value)
{
    char text[256], out[256] = "", *save = NULL;
    FILE *f = fopen (path, "r");
    int i = 0;

    if (!f || !fgets (text, sizeof (text), f))
        bail_out ("cannot read %s", path);
    fclose (f);
    for (char *w = strtok_r (text, " \n", &save); w; w = strtok_r (NULL, " \n", &save))
        snprintf (out + strlen (out), sizeof (out) - strlen (out), "%s%s", i ? " " : "",
                  i == field ? value : w),
            i++;
    strcat (out, "\n");
    testdir_write ("edited", out);
    if (rename (testdir_path ("edited"), path) < 0)
        bail_out ("rename: %s", strerror (errno));
}

int main (void)
{
    struct krun_error error;
    struct stat st;
    const char *rec;
    pid_t pid;
    int status;

    plan (14);
    testdir_create ("pidfile");
    rec = testdir_path ("sleeper.pid");

    pid = start_sleeper ();
    /* The record must name sleep, not the fork of this test before exec. */
    for (int i = 0; i < 200; i++) {
        char exe[64], target[256] = "";
        snprintf (exe, sizeof (exe), "/proc/%d/exe", (int)pid);
        if (readlink (exe, target, sizeof (target) - 1) > 0 && strstr (target, "sleep"))
            break;
        usleep (10 * 1000);
    }
    ok (pidfile_record (rec, pid, &error) == 0, "a running process is recorded");
    ok (stat (rec, &st) == 0 && (st.st_mode & 07777) == 0600,
        "the record is mode 0600");
    is_int (pidfile_running (rec), pid, "the recorded process is found");
    ok (pidfile_is_running (pid), "pidfile_is_running: it runs");

    edit_record (rec, 1, "12345");
    is_int (pidfile_running (rec), 0, "another start time: not that process");
    ok (pidfile_record (rec, pid, &error) == 0, "recorded again");
    edit_record (rec, 3, "1");
    is_int (pidfile_running (rec), 0, "another executable: not that process");

    /* The PID of this test, with the start time of the sleeper: a reused
     * PID. */
    ok (pidfile_record (rec, pid, &error) == 0, "recorded again");
    {
        char self[32];
        snprintf (self, sizeof (self), "%d", (int)getpid ());
        edit_record (rec, 0, self);
        is_int (pidfile_running (rec), 0, "another PID with that start time: refused");
    }

    ok (pidfile_record (rec, pid, &error) == 0, "recorded again");
    kill (pid, SIGKILL);
    /* Not reaped yet: a zombie does not run. */
    usleep (100 * 1000);
    is_int (pidfile_running (rec), 0, "a zombie does not count");
    waitpid (pid, &status, 0);
    ok (!pidfile_is_running (pid), "pidfile_is_running: gone after it was reaped");

    errno = 0;
    ok (pidfile_record (rec, pid, &error) < 0 && errno == ESRCH,
        "a process that is gone cannot be recorded (ESRCH): %s", error.text);

    testdir_write ("bad.pid", "not a record\n");
    is_int (pidfile_running (testdir_path ("bad.pid")) +
                pidfile_running (testdir_path ("missing.pid")),
            0, "a malformed or missing record names no process");
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
