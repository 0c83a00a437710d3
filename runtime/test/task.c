/* Unit tests of task start and exec failure reporting (vfork path). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task.h"
#include "tests/tap.h"

extern char **environ;

/* Start path; on failure give errno and the message. */
static struct task *start (const char *path, const char *cwd, int *err, char *text,
                           size_t size)
{
    char *argv[] = {(char *)path, NULL};
    struct krun_error error = {{0}};
    struct task *t;

    errno = 0;
    t = task_start (path, argv, environ, cwd, &error);
    *err = errno;
    if (size > 0) {
        strncpy (text, error.text, size - 1);
        text[size - 1] = 0;
    }
    return t;
}

static int wait_exit (struct task *t)
{
    int status = -1;

    for (int i = 0; i < 500 && !task_reap (t, &status); i++)
        usleep (10000);
    return status;
}

static void test_exec_failures (void)
{
    char text[400], dir[] = "/tmp/krun-task-test.XXXXXX", file[300];
    struct task *t;
    int err;

    t = start ("/nonexistent/krun-test-program", NULL, &err, text, sizeof (text));
    ok (!t && err == ENOENT, "a missing program: NULL, ENOENT (got errno %d)", err);
    ok (strstr (text, "/nonexistent/krun-test-program") != NULL,
        "the message names the program: %s", text);
    if (!mkdtemp (dir))
        bail_out ("mkdtemp");
    snprintf (file, sizeof (file), "%s/not-executable", dir);
    FILE *f = fopen (file, "w");
    if (!f)
        bail_out ("fopen");
    fputs ("#!/bin/sh\nexit 0\n", f);
    fclose (f);
    chmod (file, 0644);
    t = start (file, NULL, &err, text, sizeof (text));
    ok (!t && err == EACCES, "a file without x bit: NULL, EACCES (got errno %d)", err);
    t = start ("/bin/true", "/nonexistent-dir", &err, text, sizeof (text));
    ok (!t && err == ENOENT, "a missing working directory: NULL, ENOENT");
    ok (strstr (text, "/nonexistent-dir") != NULL, "... named: %s", text);
    unlink (file);
    rmdir (dir);
}

static void test_runs (void)
{
    char text[400];
    int err, status;
    struct task *t = start ("/bin/true", "/", &err, text, sizeof (text));

    ok (t != NULL, "/bin/true starts");
    if (!t)
        return;
    ok (task_pid (t) > 0, "it has a pid");
    status = wait_exit (t);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "and exits 0");
    task_destroy (t);
    /* Many in a row: the exec failure report must not leak into later
     * starts. */
    int good = 0;
    for (int i = 0; i < 50; i++) {
        t = start (i % 2 ? "/bin/false" : "/nonexistent/x", NULL, &err, text,
                   sizeof (text));
        if (i % 2 == 0 && !t && err == ENOENT)
            good++;
        if (i % 2 == 1 && t) {
            status = wait_exit (t);
            if (WIFEXITED (status) && WEXITSTATUS (status) == 1)
                good++;
        }
        task_destroy (t);
    }
    is_int (good, 50, "50 alternating starts: failures and exits reported right");
}

int main (void)
{
    plan (NO_PLAN);
    signal (SIGPIPE, SIG_IGN);
    test_exec_failures ();
    test_runs ();
    done_testing ();
    return exit_status ();
}
