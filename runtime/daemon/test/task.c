/* Unit tests of task start and exec failure reporting (vfork path). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "task.h"
#include "tests/tap.h"

extern char **environ;

/* Start path; on failure give errno and the message. */
static struct task *start (const char *path, const char *cwd, int *err, char *text,
                           size_t size)
{
    char *argv[] = {strdupa (path), NULL};
    struct krun_error error = {{0}};
    struct task *t;

    errno = 0;
    t = task_start (path, argv, environ, cwd, NULL, &error);
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
    if (fileio_write (file, "#!/bin/sh\nexit 0\n", 17, 0644, NULL) < 0)
        bail_out ("cannot write %s", file);
    chmod (file, 0644);
    t = start (file, NULL, &err, text, sizeof (text));
    ok (!t && err == EACCES, "a file without x bit: NULL, EACCES (got errno %d)", err);
    t = start ("/bin/true", "/nonexistent-dir", &err, text, sizeof (text));
    ok (!t && err == ENOENT, "a missing working directory: NULL, ENOENT");
    ok (strstr (text, "/nonexistent-dir") != NULL, "... named: %s", text);
    const char *script = "#!/nonexistent/interpreter -x\nexit 0\n";
    if (fileio_write (file, script, strlen (script), 0755, NULL) < 0)
        bail_out ("cannot write %s", file);
    chmod (file, 0755);
    t = start (file, dir, &err, text, sizeof (text));
    ok (!t && err == ENOENT &&
            strstr (text, "its interpreter /nonexistent/interpreter") &&
            !strstr (text, " in "),
        "a script whose interpreter is missing: the interpreter is named, not the "
        "directory: %s",
        text);
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

/* What task t writes to stdout until EOF (or 5 s), NUL-terminated. */
static void read_stdout (struct task *t, char *out, size_t size)
{
    size_t used = 0;

    for (int i = 0; i < 500; i++) {
        ssize_t n = task_read (t, 1, out + used, size - 1 - used);
        if (n > 0)
            used += (size_t)n;
        else if (n == 0)
            break;
        else
            usleep (10000);
    }
    out[used] = '\0';
}

/* The value of field (e.g. "SigIgn:") in the /proc/self/status a task
 * printed, or "?". */
static const char *status_field (const char *status, const char *field)
{
    static char value[64];
    const char *p = strstr (status, field);

    if (!p || sscanf (p + strlen (field), " %63s", value) != 1)
        return "?";
    return value;
}

static void on_term (int sig)
{
    (void)sig;
}

/* The caller catches SIGTERM, ignores SIGPIPE and blocks SIGUSR1: the task
 * gets none of it. */
static void test_signals (void)
{
    char *argv[] = {"/bin/cat", "/proc/self/status", NULL};
    struct krun_error error;
    char out[8192];
    struct task *t;
    sigset_t usr1, saved;

    sigemptyset (&usr1);
    sigaddset (&usr1, SIGUSR1);
    sigprocmask (SIG_BLOCK, &usr1, &saved);
    t = task_start (argv[0], argv, environ, NULL, NULL, &error);
    sigprocmask (SIG_SETMASK, &saved, NULL);
    if (!ok (t != NULL, "cat /proc/self/status starts"))
        return;
    read_stdout (t, out, sizeof (out));
    wait_exit (t);
    task_destroy (t);
    /* glibc keeps two real-time signals for itself (sigaction refuses
     * them): whatever the test's parent did with those is not ours. */
    unsigned long long ours = 0;
    for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
        struct sigaction sa;
        if (sigaction (sig, NULL, &sa) == 0)
            ours |= 1ULL << (sig - 1);
    }
    ok (ours & (1ULL << (SIGPIPE - 1)), "SIGPIPE is one of the signals checked");
    is_int ((long long)(strtoull (status_field (out, "SigIgn:"), NULL, 16) & ours), 0,
            "no signal is ignored in the task (SIGPIPE was reset)");
    is_int ((long long)(strtoull (status_field (out, "SigCgt:"), NULL, 16) & ours), 0,
            "no signal is caught in the task");
    is_int ((long long)(strtoull (status_field (out, "SigBlk:"), NULL, 16) & ours), 0,
            "no signal is blocked in the task (SIGUSR1 was, in the caller)");
}

/* What the task has open: stdin from /dev/null, fd 3 the control channel,
 * and no other descriptor of the slot's (the /dev/null it opens once stays
 * close-on-exec). */
static void test_fds (void)
{
    char *argv[] = {"/bin/sh", "-c",
                    "for f in /proc/$$/fd/*; do echo \"${f##*/} $(readlink $f)\"; done",
                    NULL};
    struct krun_error error;
    char out[8192], *line, *save;
    int extra = 0;
    bool stdin_null = false, control_socket = false;

    for (int round = 0; round < 2; round++) {
        struct task *t = task_start (argv[0], argv, environ, NULL, NULL, &error);
        if (!ok (t != NULL, "sh listing its fds starts (round %d)", round + 1))
            return;
        read_stdout (t, out, sizeof (out));
        wait_exit (t);
        task_destroy (t);
    }
    for (line = strtok_r (out, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save)) {
        int fd;
        char target[256] = "";
        if (sscanf (line, "%d %255s", &fd, target) < 1)
            continue;
        if (fd == 0 && strcmp (target, "/dev/null") == 0)
            stdin_null = true;
        else if (fd == TASK_CONTROL_FD && strncmp (target, "socket:", 7) == 0)
            control_socket = true;
        else if (fd > TASK_CONTROL_FD && target[0] && fcntl (fd, F_GETFD) < 0) {
            /* Not one the test process itself passes on. */
            diag ("unexpected fd in the task: %s", line);
            extra++;
        }
    }
    ok (stdin_null, "stdin is /dev/null");
    ok (control_socket, "fd %d is the control socket", TASK_CONTROL_FD);
    is_int (extra, 0, "no other descriptor of the slot's leaks into the task");
}

int main (void)
{
    plan (NO_PLAN);
    signal (SIGPIPE, SIG_IGN);
    signal (SIGTERM, on_term);
    test_exec_failures ();
    test_runs ();
    test_signals ();
    test_fds ();
    done_testing ();
    return exit_status ();
}
