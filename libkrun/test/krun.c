/* Unit tests of libkrun (include/krun/krun.h): the standalone defaults, the
 * environment a slot sets, the input file, and the records on the control
 * channel as the slot's reader (runtime/taskchannel.c) decodes them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "krun/krun.h"
#include "taskchannel.h"
#include "tests/tap.h"

static void clear_env (void)
{
    const char *names[] = {"KRUN_RANK",      "KRUN_SIZE",    "KRUN_LOCAL_RANK",
                           "KRUN_NODE",      "KRUN_ATTEMPT", "KRUN_CONTROL_FD",
                           "KRUN_INPUT_FILE"};
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
        unsetenv (names[i]);
}

static void test_before_init (void)
{
    const void *data;
    size_t len;

    errno = 0;
    ok (krun_rank () == -1 && errno == EINVAL, "krun_rank before krun_init: EINVAL");
    errno = 0;
    ok (krun_node () == NULL && errno == EINVAL, "krun_node before krun_init: EINVAL");
    errno = 0;
    ok (krun_input (&data, &len) == -1 && errno == EINVAL,
        "krun_input before krun_init: EINVAL");
    errno = 0;
    ok (krun_result ("x", 1) == -1 && errno == EINVAL,
        "krun_result before krun_init: EINVAL");
    errno = 0;
    ok (krun_finalize () == -1 && errno == EINVAL,
        "krun_finalize before krun_init: EINVAL");
}

static void test_standalone (void)
{
    const void *data = NULL;
    size_t len = 99;
    char host[256] = "";

    clear_env ();
    gethostname (host, sizeof (host));
    ok (krun_init () == 0, "krun_init without krun succeeds");
    ok (krun_init () == 0, "krun_init twice is fine");
    ok (krun_rank () == 0 && krun_size () == 1 && krun_local_rank () == 0 &&
            krun_attempt () == 1,
        "without krun: rank 0 of 1, local rank 0, attempt 1");
    ok (krun_node () && strcmp (krun_node (), host) == 0, "without krun: node = host");
    ok (krun_input (&data, &len) == 0 && len == 0 && data && *(const char *)data == 0,
        "without krun: no input (empty)");
    ok (krun_result ("abc", 3) == 0, "without krun: result discarded");
    ok (krun_progress (0.5) == 0, "without krun: progress discarded");
    errno = 0;
    ok (krun_progress (1.5) == -1 && errno == EINVAL, "progress over 1: EINVAL");
    errno = 0;
    ok (krun_progress (NAN) == -1 && errno == EINVAL, "progress NaN: EINVAL");
    errno = 0;
    ok (krun_result (NULL, 1) == -1 && errno == EINVAL, "NULL result data: EINVAL");
    errno = 0;
    ok (krun_result ("", (size_t)KRUN_RESULT_MAX + 1) == -1 && errno == E2BIG,
        "result over KRUN_RESULT_MAX: E2BIG");
    errno = 0;
    ok (krun_input (NULL, &len) == -1 && errno == EINVAL, "krun_input(NULL): EINVAL");
    ok (krun_finalize () == 0, "krun_finalize");
}

static void test_bad_env (void)
{
    static const char *const cases[][2] = {
        {"KRUN_RANK", "x"},   {"KRUN_RANK", "-1"},   {"KRUN_SIZE", "0"},
        {"KRUN_RANK", "5"},   {"KRUN_ATTEMPT", "0"}, {"KRUN_CONTROL_FD", "999"},
        {"KRUN_RANK", "1e3"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        clear_env ();
        setenv ("KRUN_SIZE", "4", 1);
        setenv (cases[i][0], cases[i][1], 1);
        errno = 0;
        int rc = krun_init ();
        int err = errno;
        ok (rc == -1 && (err == EINVAL || err == EBADF) && krun_rank () == -1,
            "krun_init refuses %s=%s (errno %d)", cases[i][0], cases[i][1], err);
    }
    char big[] = "/tmp/krun-libtest-big.XXXXXX";
    int fd = mkstemp (big);
    if (fd < 0 || ftruncate (fd, KRUN_INPUT_MAX + 1) < 0)
        bail_out ("cannot make %s", big);
    close (fd);
    clear_env ();
    setenv ("KRUN_INPUT_FILE", big, 1);
    errno = 0;
    ok (krun_init () == -1 && errno == EFBIG && krun_rank () == -1,
        "an input file over KRUN_INPUT_MAX: EFBIG, nothing initialized");
    if (truncate (big, KRUN_INPUT_MAX) < 0)
        bail_out ("truncate");
    const void *data;
    size_t len;
    ok (krun_init () == 0 && krun_input (&data, &len) == 0 && len == KRUN_INPUT_MAX,
        "an input file of exactly KRUN_INPUT_MAX bytes is read whole");
    krun_finalize ();
    unlink (big);
    clear_env ();
    setenv ("KRUN_INPUT_FILE", "/nonexistent/krun-input", 1);
    errno = 0;
    ok (krun_init () == -1 && errno == ENOENT, "a missing input file: ENOENT");
}

/* Read what the task side sent into a channel. */
static void drain (int fd, struct taskchannel *c)
{
    struct krun_error error;
    fcntl (fd, F_SETFL, O_NONBLOCK);
    if (taskchannel_read (c, fd, &error) < 0)
        diag ("taskchannel_read: %s", error.text);
}

static void test_under_krun (void)
{
    char dir[] = "/tmp/krun-libtest.XXXXXX";
    char path[64];
    int sv[2];
    const void *data;
    size_t len;
    double fraction;
    struct taskchannel *c = taskchannel_create ();

    if (!c || !mkdtemp (dir) || socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        bail_out ("setup: %s", strerror (errno));
    snprintf (path, sizeof (path), "%s/input", dir);
    if (fileio_write (path, "line 7\0x", 8, 0644, NULL) < 0)
        bail_out ("cannot write %s", path);

    clear_env ();
    char fd_text[16];
    snprintf (fd_text, sizeof (fd_text), "%d", sv[1]);
    setenv ("KRUN_RANK", "7", 1);
    setenv ("KRUN_SIZE", "10", 1);
    setenv ("KRUN_LOCAL_RANK", "3", 1);
    setenv ("KRUN_NODE", "node-x", 1);
    setenv ("KRUN_ATTEMPT", "2", 1);
    setenv ("KRUN_CONTROL_FD", fd_text, 1);
    setenv ("KRUN_INPUT_FILE", path, 1);
    ok (krun_init () == 0, "krun_init under krun");
    ok (krun_rank () == 7 && krun_size () == 10 && krun_local_rank () == 3 &&
            krun_attempt () == 2 && strcmp (krun_node (), "node-x") == 0,
        "rank, size, local rank, attempt, node from the environment");
    ok (krun_input (&data, &len) == 0 && len == 8 &&
            memcmp (data, "line 7\0x", 8) == 0 && ((const char *)data)[8] == '\0',
        "input: the file's bytes (binary), NUL-terminated");
    ok (fcntl (sv[1], F_GETFD) & FD_CLOEXEC, "the control fd is close-on-exec");

    ok (krun_progress (0.25) == 0, "progress sent");
    drain (sv[0], c);
    ok (taskchannel_take_progress (c, &fraction) && fraction == 0.25,
        "the slot reads progress 0.25");
    ok (!taskchannel_take_progress (c, &fraction), "progress is taken once");
    ok (krun_progress (0.5) == 0 && krun_progress (1) == 0, "progress in a tight loop");
    drain (sv[0], c);
    ok (taskchannel_take_progress (c, &fraction) && fraction == 1.0,
        "1.0 always reaches the slot, however soon after the last one");

    ok (krun_result ("first", 5) == 0 && krun_result ("sec\0nd", 6) == 0,
        "two results sent");
    drain (sv[0], c);
    const char *r = taskchannel_result (c, &len);
    ok (r && len == 6 && memcmp (r, "sec\0nd", 6) == 0, "the last result counts");

    /* A result larger than the socket buffer: the slot reads while the task
     * writes, as a slot's poll loop does. */
    char *big = malloc (KRUN_RESULT_MAX);
    if (!big)
        bail_out ("out of memory");
    for (size_t i = 0; i < KRUN_RESULT_MAX; i++)
        big[i] = (char)(i * 7);
    pid_t pid = fork ();
    if (pid == 0)
        _exit (krun_result (big, KRUN_RESULT_MAX) == 0 ? 0 : 1);
    close (sv[1]);
    fcntl (sv[0], F_SETFL, 0);
    struct krun_error error;
    char buf[65536];
    ssize_t n;
    while ((n = read (sv[0], buf, sizeof (buf))) > 0)
        taskchannel_feed (c, buf, (size_t)n, &error);
    int status;
    waitpid (pid, &status, 0);
    r = taskchannel_result (c, &len);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0 && r &&
            len == KRUN_RESULT_MAX && memcmp (r, big, len) == 0,
        "a result of KRUN_RESULT_MAX bytes arrives whole");
    free (big);
    krun_finalize ();
    close (sv[0]);

    /* The slot gone: EPIPE, not SIGPIPE. */
    if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        bail_out ("socketpair");
    snprintf (fd_text, sizeof (fd_text), "%d", sv[1]);
    setenv ("KRUN_CONTROL_FD", fd_text, 1);
    close (sv[0]);
    ok (krun_init () == 0, "krun_init again after krun_finalize");
    errno = 0;
    ok (krun_result ("x", 1) == -1 && errno == EPIPE, "slot gone: EPIPE");
    krun_finalize ();

    unlink (path);
    rmdir (dir);
    taskchannel_destroy (c);
    clear_env ();
}

int main (void)
{
    plan (NO_PLAN);
    test_before_init ();
    test_standalone ();
    test_bad_env ();
    test_under_krun ();
    done_testing ();
    return exit_status ();
}
