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

int main (void)
{
    char dir[] = "/tmp/krun-joblog-test.XXXXXX", path[256];
    struct krun_error error;
    struct joblog *log;
    bool ok_ranks[4];
    char *text;

    plan (NO_PLAN);
    if (!mkdtemp (dir))
        bail_out ("mkdtemp");
    snprintf (path, sizeof (path), "%s/log", dir);

    struct joblog_entry e = {.rank = 3,
                             .node = "node\t1",
                             .slot = 7,
                             .attempts = 2,
                             .status = "timeout",
                             .exit = 124,
                             .start_us = 1795371475334785LL,
                             .end_us = 1795371480336012LL};
    log = joblog_open (path, false, &error);
    ok (log && joblog_write (log, &e, &error) == 0 && joblog_close (log, &error) == 0,
        "write one line");
    text = slurp (path);
    is_str (
        text,
        "# rank\tnode\tslot\tattempts\tstatus\texit\tstart\tend\tseconds\n"
        "3\tnode_1\t7\t2\ttimeout\t124\t1795371475.334785\t1795371480.336012\t5.001\n",
        "header and the documented line (a tab in the node name replaced)");
    free (text);

    e.rank = 3, e.exit = 0, e.status = "exited", e.node = "a";
    log = joblog_open (path, true, &error);
    ok (log && joblog_write (log, &e, &error) == 0, "append a later line of rank 3");
    e.rank = 1;
    ok (joblog_write (log, &e, &error) == 0, "and one of rank 1");
    e.rank = 9;
    ok (joblog_write (log, &e, &error) == 0, "and one of a rank beyond the job");
    e.rank = 0, e.exit = 2;
    ok (joblog_write (log, &e, &error) == 0 && joblog_close (log, &error) == 0,
        "and a failure of rank 0");
    text = slurp (path);
    ok (strncmp (text, "# rank", 6) == 0 && !strstr (text + 1, "# rank"),
        "appending does not repeat the header");
    free (text);

    memset (ok_ranks, 0, sizeof (ok_ranks));
    is_int (joblog_read_successes (path, 4, ok_ranks, &error), 2,
            "two successful ranks within the job");
    ok (!ok_ranks[0] && ok_ranks[1] && !ok_ranks[2] && ok_ranks[3],
        "ranks 1 and 3 (its last line counts), not 0 (failed) nor 2 (absent)");

    spit (path, "# header\n0\ta\t0\t1\texited\t0\t1.0\t2.0\t1.000\n1\ta\tx\n");
    errno = 0;
    ok (joblog_read_successes (path, 4, ok_ranks, &error) < 0 && errno == EINVAL &&
            strstr (error.text, ":3: not a joblog line"),
        "a malformed line is named: %s", error.text);
    spit (path, "garbage\n");
    errno = 0;
    ok (joblog_read_successes (path, 4, ok_ranks, &error) < 0 && errno == EINVAL,
        "a file that is not a joblog is refused");
    unlink (path);
    errno = 0;
    ok (joblog_read_successes (path, 4, ok_ranks, &error) < 0 && errno == ENOENT &&
            strstr (error.text, "cannot read joblog"),
        "a missing file: %s", error.text);
    snprintf (path, sizeof (path), "%s/no/such/dir", dir);
    ok (!joblog_open (path, false, &error) &&
            strstr (error.text, "cannot write joblog"),
        "an unwritable path is named");
    rmdir (dir);
    done_testing ();
    return exit_status ();
}
