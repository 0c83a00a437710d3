/* Unit tests of the failed ranks' lines and summary (launcher/failures.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "launcher/failures.h"
#include "tests/tap.h"

static void test_lines (void)
{
    static const struct {
        int rank;
        const char *node;
        enum protocol_status status;
        int code;
        const char *why;
        int attempt;
        const char *want;
    } cases[] = {
        {2, "n1", PROTOCOL_EXITED, 3, NULL, 1,
         "rank 2 exited with status 3 on node n1 (attempt 1)"},
        {7, "n2", PROTOCOL_SIGNALED, SIGKILL, NULL, 2,
         "rank 7 killed by signal 9 (SIGKILL) on node n2 (attempt 2)"},
        {0, "n1", PROTOCOL_SIGNALED, 77, NULL, 1,
         "rank 0 killed by signal 77 on node n1 (attempt 1)"},
        {3, "n1", PROTOCOL_FAILED, 124, "timed out after 1 s", 1,
         "rank 3 failed on node n1 (attempt 1): timed out after 1 s"},
        {3, NULL, PROTOCOL_FAILED, 127, NULL, 5,
         "rank 3 failed on node (unknown) (attempt 5): unknown error"},
    };
    char buf[256];

    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        is_str (failures_rank_line (cases[i].rank, cases[i].node, cases[i].status,
                                    cases[i].code, cases[i].why, cases[i].attempt, buf,
                                    sizeof (buf)),
                cases[i].want, "line %zu", i);
    failures_rank_line (1, "a-very-long-node-name", PROTOCOL_EXITED, 1, NULL, 1, buf,
                        16);
    ok (strlen (buf) == 15, "a line is cut to the buffer");
}

static void test_summary (void)
{
    struct failures *f = failures_create (225);
    char buf[128];

    is_str (failures_summary (f, buf, sizeof (buf)), "", "nothing failed: empty");
    failures_add (f, 204);
    failures_add (f, 7);
    ok (failures_add (f, 19) == 1 && failures_add (f, 19) == 0, "a rank counts once");
    is_int (failures_count (f), 3, "3 failed");
    is_str (failures_summary (f, buf, sizeof (buf)),
            "3 of 225 ranks failed: 7, 19, 204", "a few ranks one by one");
    failures_destroy (f);

    f = failures_create (225);
    for (int r = 0; r < 100; r++)
        failures_add (f, r);
    failures_add (f, 204);
    is_str (failures_summary (f, buf, sizeof (buf)),
            "101 of 225 ranks failed: 0-99, 204", "many ranks compressed into ranges");
    errno = 0;
    ok (failures_add (f, 225) < 0 && errno == EINVAL, "rank 225 of 225: EINVAL");
    failures_destroy (f);

    f = failures_create (100000);
    for (int r = 0; r < 100000; r += 2)
        failures_add (f, r);
    failures_summary (f, buf, sizeof (buf));
    ok (strlen (buf) < sizeof (buf) &&
            strstr (buf, "50000 of 100000 ranks failed: 0, 2,") &&
            strstr (buf, "more)"),
        "a list too long is cut and counted: %s", buf);
    failures_destroy (f);

    f = failures_create (1);
    failures_add (f, 0);
    is_str (failures_summary (f, buf, sizeof (buf)), "1 of 1 rank failed: 0",
            "one rank");
    failures_destroy (f);
    errno = 0;
    ok (failures_create (0) == NULL && errno == EINVAL, "size 0: EINVAL");
    errno = ENOENT;
    failures_destroy (NULL);
    ok (errno == ENOENT, "destroy (NULL) keeps errno");
}

int main (void)
{
    plan (NO_PLAN);
    ok (!failures_is_failure (PROTOCOL_EXITED, 0) &&
            failures_is_failure (PROTOCOL_EXITED, 1) &&
            failures_is_failure (PROTOCOL_SIGNALED, 0) &&
            failures_is_failure (PROTOCOL_FAILED, 0),
        "only exit 0 is a success");
    test_lines ();
    test_summary ();
    done_testing ();
    return exit_status ();
}
