/* Unit tests of the status line (launcher/progress.c): its text, fitting
 * it to a width, when it is drawn into a log and on a terminal (a pty). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"
#include "tests/tap.h"

/* What can be read from fd now (non-blocking), into buf. */
static size_t drain (int fd, char *buf, size_t size)
{
    size_t n = 0;
    ssize_t k;

    while (n + 1 < size && (k = read (fd, buf + n, size - 1 - n)) > 0)
        n += k;
    buf[n] = '\0';
    return n;
}

/* A job of 225 ranks on 3 nodes, half done, 2 failed. */
static struct progress *big_job (int fd, int64_t *t0)
{
    struct progress *p = progress_create (225, fd);

    *t0 = clock_mono_ms ();
    progress_add_node (p, "node-alpha", 75);
    progress_add_node (p, "node-beta", 75);
    progress_add_node (p, "node-gamma", 75);
    for (int r = 0; r < 112; r++)
        progress_rank_done (p, r, r == 7 || r == 19);
    for (int r = 112; r < 150; r++)
        progress_rank_running (p, r, r % 2 ? "node-alpha" : "node-beta", 0.5);
    return p;
}

static void test_fit (void)
{
    static const struct {
        int width;
        const char *want;
    } cases[] = {
        {0,
         "krun: 112/225 done, 38 running, 2 failed, 75 queued | 58% | 1.1 tasks/s | "
         "ETA 1:12 | node-alpha 19/75 node-beta 19/75 node-gamma 0/75"},
        {120,
         "krun: 112/225 done, 38 running, 2 failed, 75 queued | 58% | 1.1 tasks/s | "
         "ETA 1:12 | node-alpha 19/75 node-beta 19/75"},
        {90,
         "krun: 112/225 done, 38 running, 2 failed, 75 queued | 58% | 1.1 tasks/s | "
         "ETA 1:12"},
        {79, "krun: 112/225 done, 38 running, 2 failed, 75 queued | 58% | ETA 1:12"},
        {60, "krun: 112/225 done, 38 running, 2 failed | 58% | ETA 1:12"},
        {52, "krun: 112/225 done, 38 running, 2 failed | ETA 1:12"},
        {40, "krun: 112/225 done, 2 failed | ETA 1:12"},
        {20, "krun: 112/225 done, "},
    };
    char buf[512];
    int64_t t0;
    struct progress *p = big_job (-1, &t0);

    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        is_str (progress_text_fit (p, t0 + 100000, cases[i].width, buf, sizeof (buf)),
                cases[i].want, "fitted to %d columns", cases[i].width);
    bool all = true;
    for (int width = 40; width <= 200; width++) {
        progress_text_fit (p, t0 + 100000, width, buf, sizeof (buf));
        if (strlen (buf) > (size_t)width || !strstr (buf, "112/225 done") ||
            !strstr (buf, "2 failed") || !strstr (buf, "ETA 1:12")) {
            diag ("width %d: '%s'", width, buf);
            all = false;
        }
    }
    ok (all, "at every width from 40 to 200: fits, with done, failed and the ETA");
    progress_destroy (p);
}

static void test_log (void)
{
    char buf[2048];
    int fds[2];
    int64_t t0;

    if (pipe2 (fds, O_NONBLOCK) < 0)
        bail_out ("pipe");
    struct progress *p = big_job (fds[1], &t0);
    progress_draw (p, t0, false);
    ok (drain (fds[0], buf, sizeof (buf)) > 0 &&
            strchr (buf, '\n') == strrchr (buf, '\n'),
        "into a log: the first line at once");
    progress_draw (p, t0 + 2500, false);
    ok (drain (fds[0], buf, sizeof (buf)) == 0,
        "nothing changed: no line, however late");
    progress_rank_done (p, 112, false);
    progress_draw (p, t0 + 3000, false);
    ok (drain (fds[0], buf, sizeof (buf)) > 0 && strstr (buf, "113/225 done"),
        "a change 2 s after the last line: a line");
    progress_rank_done (p, 113, false);
    progress_draw (p, t0 + 4000, false);
    ok (drain (fds[0], buf, sizeof (buf)) == 0,
        "a change 1 s after the last line: none yet");
    progress_draw (p, t0 + 5000, false);
    ok (drain (fds[0], buf, sizeof (buf)) > 0 && strstr (buf, "114/225 done"),
        "2 s after the last line: it comes");
    progress_draw (p, t0 + 5001, true);
    ok (drain (fds[0], buf, sizeof (buf)) > 0, "forced: a line");
    progress_destroy (p);
    close (fds[0]);
    close (fds[1]);
}

static void test_terminal (void)
{
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    char buf[4096];
    int master = posix_openpt (O_RDWR | O_NOCTTY), tty;
    int64_t t0;

    if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0 ||
        (tty = open (ptsname (master), O_RDWR | O_NOCTTY)) < 0)
        bail_out ("no pty");
    ioctl (tty, TIOCSWINSZ, &ws);
    fcntl (master, F_SETFL, O_NONBLOCK);
    struct progress *p = big_job (tty, &t0);
    progress_draw (p, t0 + 100000, false);
    drain (master, buf, sizeof (buf));
    char *frame = strrchr (buf, '\r');
    ok (frame && strstr (frame, "ETA 1:12\033[K") && strlen (frame) - 1 - 3 <= 79,
        "on an 80-column terminal: one frame of at most 79 columns ending with the "
        "ETA");
    progress_draw (p, t0 + 100010, false);
    ok (drain (master, buf, sizeof (buf)) == 0, "shown 10 ms ago: not redrawn");
    progress_erase (p);
    drain (master, buf, sizeof (buf));
    ok (strcmp (buf, "\r\033[K") == 0, "erased before output");
    progress_draw (p, t0 + 100020, false);
    ok (drain (master, buf, sizeof (buf)) > 0 && strstr (buf, "ETA"),
        "erased: redrawn at the next draw, without waiting for the interval");
    progress_destroy (p);
    close (tty);
    close (master);
}

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
    test_fit ();
    test_log ();
    test_terminal ();
    done_testing ();
    return exit_status ();
}
