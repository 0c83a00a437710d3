/* Unit tests of the job log (launcher/joblog.c): the line format, appending,
 * reading back the successful ranks (the last line of a rank counts), and
 * malformed files. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "joblog.h"
#include "tests/tap.h"

static char *slurp (const char *path)
{
    char *text = fileio_read (path, 1 << 20, NULL, NULL);

    if (!text)
        bail_out ("cannot read %s", path);
    return text;
}

static void spit (const char *path, const char *text)
{
    if (fileio_write (path, text, strlen (text), 0644, NULL) < 0)
        bail_out ("cannot write %s", path);
}

static void test_command_line (void)
{
    static const struct {
        char *argv[4];
        const char *want;
    } cases[] = {
        {{"./task", "-n", "3", NULL}, "./task -n 3"},
        {{"sh", "-c", "echo $KRUN_RANK; exit 3", NULL},
         "sh -c 'echo $KRUN_RANK; exit 3'"},
        {{"echo", "it's", "", NULL}, "echo 'it'\\''s' ''"},
        {{"a=b", "x@y:1,2%+", NULL}, "a=b x@y:1,2%+"},
    };

    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        char *got = joblog_command_line (cases[i].argv);
        is_str (got, cases[i].want, "command line %zu", i);
        free (got);
    }
}

/* Lines written in parallel's layout, and the history read back. */
static void test_write_and_read (const char *path)
{
    struct krun_error error;
    struct joblog *log;
    struct joblog_history *h;
    char *text;

    struct joblog_entry e = {.rank = 3,
                             .node = "node\t1",
                             .start_us = 1795371475334785LL,
                             .end_us = 1795371480336012LL,
                             .sent = 12,
                             .received = 345,
                             .exitval = 124,
                             .signal = 0,
                             .command = "sh -c 'a\tb\nc'"};
    log = joblog_open (path, false, &error);
    ok (log && joblog_write (log, &e, &error) == 0 && joblog_close (log, &error) == 0,
        "write one line");
    text = slurp (path);
    is_str (
        text,
        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
        "4\tnode 1\t1795371475.334\t     5.001\t12\t345\t124\t0\tsh -c 'a b c'\n",
        "parallel's header and line (Seq = rank + 1, tabs and newlines as spaces)");
    free (text);

    e.rank = 3, e.exitval = 0, e.node = "a", e.command = "cmd 3";
    log = joblog_open (path, true, &error);
    ok (log && joblog_write (log, &e, &error) == 0, "append a later line of rank 3");
    e.rank = 1, e.command = NULL;
    ok (joblog_write (log, &e, &error) == 0, "and one of rank 1 without a command");
    e.rank = 9;
    ok (joblog_write (log, &e, &error) == 0, "and one of a rank beyond the job");
    e.rank = 0, e.exitval = 2, e.command = "cmd 0";
    ok (joblog_write (log, &e, &error) == 0, "and a failure of rank 0");
    e.rank = 2, e.exitval = 0, e.signal = 15, e.command = "cmd 2";
    ok (joblog_write (log, &e, &error) == 0 && joblog_close (log, &error) == 0,
        "and rank 2 killed by a signal");
    text = slurp (path);
    ok (strncmp (text, "Seq\t", 4) == 0 && !strstr (text, "\nSeq\t"),
        "appending does not repeat the header");
    ok (strstr (text, "\n2\ta\t") && strstr (text, "\t0\t0\t-\n"),
        "rank 1 is Seq 2; no command is '-'");
    free (text);

    h = joblog_read (path, 4, &error);
    ok (h && joblog_history_found (h) && joblog_history_successes (h) == 2,
        "two successful ranks within the job");
    ok (h && !joblog_history_succeeded (h, 0) && joblog_history_succeeded (h, 1) &&
            !joblog_history_succeeded (h, 2) && joblog_history_succeeded (h, 3) &&
            !joblog_history_succeeded (h, 4),
        "ranks 1 and 3 (its last line counts), not 0 (exit 2) nor 2 (signal)");
    ok (h && !joblog_history_command_changed (h, 3, "cmd 3") &&
            joblog_history_command_changed (h, 3, "cmd 4") &&
            joblog_history_command_changed (h, 3, "cmd 33") &&
            joblog_history_command_changed (h, 3, "cmd") &&
            !joblog_history_command_changed (h, 1, "anything") &&
            !joblog_history_command_changed (h, 2, "cmd 2"),
        "a changed command is seen; '-' or no line compares with nothing");
    joblog_history_destroy (h);
}

/* Other files: a tab in a command, an earlier krun's joblog, malformed
 * ones, a missing file and an unwritable path. */
static void test_other_files (const char *dir, char *path, size_t size)
{
    struct krun_error error;
    struct joblog_history *h;

    spit (path, "Seq\tHost\n1\ta\t1.0\t1.0\t0\t0\t0\t0\tx\ty\n");
    h = joblog_read (path, 2, &error);
    ok (h && joblog_history_succeeded (h, 0) &&
            !joblog_history_command_changed (h, 0, "x\ty"),
        "a command with a tab compares as written");
    joblog_history_destroy (h);

    spit (path,
          "# rank\tnode\tslot\tattempts\tstatus\texit\tstart\tend\tseconds\n"
          "0\ta\t0\t1\texited\t0\t1.0\t2.0\t1.000\n"
          "1\ta\t0\t1\texited\t3\t1.0\t2.0\t1.000\n");
    h = joblog_read (path, 2, &error);
    ok (h && joblog_history_succeeded (h, 0) && !joblog_history_succeeded (h, 1),
        "a joblog of an earlier krun is read too");
    joblog_history_destroy (h);

    spit (path, "Seq\tHost\n1\ta\t1.0\t1.0\t0\t0\t0\t0\tx\n2\ta\tx\n");
    errno = 0;
    ok (!joblog_read (path, 4, &error) && errno == EINVAL &&
            strstr (error.text, ":3: not a joblog line"),
        "a malformed line is named: %s", error.text);
    spit (path, "garbage\n");
    errno = 0;
    ok (!joblog_read (path, 4, &error) && errno == EINVAL,
        "a file that is not a joblog is refused");
    spit (path, "0\ta\t1.0\t1.0\t0\t0\t0\t0\tx\n");
    errno = 0;
    ok (!joblog_read (path, 4, &error) && errno == EINVAL, "Seq 0 is refused");
    unlink (path);
    h = joblog_read (path, 4, &error);
    ok (h && !joblog_history_found (h) && joblog_history_successes (h) == 0,
        "a missing file: nothing ran yet");
    joblog_history_destroy (h);
    joblog_history_destroy (NULL);
    snprintf (path, size, "%s/no/such/dir", dir);
    ok (!joblog_open (path, false, &error) &&
            strstr (error.text, "cannot write joblog"),
        "an unwritable path is named");
    h = joblog_read (path, 4, &error);
    ok (h && !joblog_history_found (h), "a file in a missing directory: nothing ran");
    joblog_history_destroy (h);
}

int main (void)
{
    char dir[] = "/tmp/krun-joblog-test.XXXXXX", path[256];

    plan (NO_PLAN);
    test_command_line ();
    if (!mkdtemp (dir))
        bail_out ("mkdtemp");
    snprintf (path, sizeof (path), "%s/log", dir);
    test_write_and_read (path);
    test_other_files (dir, path, sizeof (path));
    rmdir (dir);
    done_testing ();
    return exit_status ();
}
