/* Unit tests of spawn_detached(). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/spawn.h"
#include "tests/tap.h"
#include "tests/testdir.h"

/* Wait (at most 10 s) until path exists and is not empty. */
static bool appears (const char *path)
{
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen (path, "r");
        if (f) {
            int c = fgetc (f);
            fclose (f);
            if (c != EOF)
                return true;
        }
        usleep (10000);
    }
    return false;
}

static char *slurp (const char *path)
{
    static char buf[4096];
    FILE *f = fopen (path, "r");
    size_t n = f ? fread (buf, 1, sizeof (buf) - 1, f) : 0;

    if (f)
        fclose (f);
    buf[n] = '\0';
    return buf;
}

int main (void)
{
    struct krun_error error;
    char script[1024];
    pid_t pid;

    plan (NO_PLAN);
    testdir_create ("spawn");

    /* Where krun looks for krund and krun-tls first. */
    char dir[4096], exe[4096], tiny[4];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    ok (spawn_self_dir (dir, sizeof (dir)) == 0 &&
            strncmp (exe, dir, strlen (dir)) == 0 &&
            strcmp (exe + strlen (dir), "/spawn.t") == 0,
        "spawn_self_dir: the directory of this program (%s)", dir);
    ok (spawn_self_dir (tiny, sizeof (tiny)) < 0,
        "spawn_self_dir: -1 when it does not fit");
    char *log = strdup (testdir_path ("log"));
    char *out = strdup (testdir_path ("out"));
    char *env_add[] = {"SPAWN_TEST=from-env", NULL};

    /* It writes its input, its environment entry, its session and parent
     * into out, and something to stderr (the log); then waits to be
     * stopped. */
    snprintf (script, sizeof (script),
              "echo \"input=$(cat) env=$SPAWN_TEST sid=$(ps -o sid= -p $$ | tr -d ' ') "
              "ppid=$(ps -o ppid= -p $$ | tr -d ' ')\" >%s.tmp && mv %s.tmp %s; "
              "echo to-the-log >&2; exec sleep 60",
              out, out, out);
    char *argv[] = {"sh", "-c", script, NULL};
    pid = spawn_detached ("/bin/sh", argv, env_add, log, "the secrets", 11, &error);
    ok (pid > 0, "started (%s)", pid > 0 ? "" : error.text);
    ok (appears (out), "it ran");
    char want[256];
    snprintf (want, sizeof (want), "input=the secrets env=from-env sid=");
    ok (strncmp (slurp (out), want, strlen (want)) == 0,
        "its input and its environment: %s", slurp (out));
    ok (atoi (slurp (out) + strlen (want)) != getsid (0), "its own session");
    ok (atoi (strstr (slurp (out), "ppid=") + 5) != getpid (),
        "and it is not our child");
    ok (appears (log) && strcmp (slurp (log), "to-the-log\n") == 0,
        "its stderr in the log");
    ok (pid > 0 && kill (pid, SIGTERM) == 0, "stopped");
    unlink (out);

    /* Without input: /dev/null. */
    snprintf (script, sizeof (script), "echo \"input=$(cat)\" >%s.tmp && mv %s.tmp %s",
              out, out, out);
    pid = spawn_detached ("/bin/sh", argv, NULL, log, NULL, 0, &error);
    ok (pid > 0 && appears (out) && strcmp (slurp (out), "input=\n") == 0,
        "no input: an empty standard input");

    errno = 0;
    ok (spawn_detached ("/bin/sh", argv, NULL, log, "x", 65537, &error) < 0 &&
            errno == E2BIG,
        "more input than a pipe holds: E2BIG");
    is_str (error.text, "cannot start /bin/sh: 65537 bytes of input", "its message");
    char *missing_argv[] = {"missing", NULL};
    unlink (log);
    spawn_detached ("/nonexistent/program", missing_argv, NULL, log, NULL, 0, &error);
    ok (appears (log) && strstr (slurp (log),
                                 "cannot execute /nonexistent/program: No "
                                 "such file or directory"),
        "a program that cannot be executed: the reason is in the log");
    testdir_remove ();
    free (log);
    free (out);
    done_testing ();
    return exit_status ();
}
