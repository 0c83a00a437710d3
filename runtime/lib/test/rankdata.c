/* Unit tests of runtime/rankdata.c: placeholder expansion, per-rank argv,
 * the scratch directory and its input file. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "rankdata.h"
#include "tests/tap.h"

static void test_expand (void)
{
    static const struct {
        const char *in, *input, *out; /* out NULL: EINVAL */
    } cases[] = {
        {"plain", NULL, "plain"},
        {"{rank}", NULL, "12"},
        {"in.{rank}.of.{size}", NULL, "in.12.of.100"},
        {"{rank}{rank}{size}", NULL, "1212100"},
        {"{rnk} {ran", NULL, "{rnk} {ran"},
        {"{{rank}}", NULL, "{12}"},
        {"", NULL, ""},
        {"{#}", NULL, "13"},
        {"job {#} of {size}", NULL, "job 13 of 100"},
        /* {} only for a job with inputs: find -exec's {} stays. */
        {"{}", NULL, "{}"},
        {"echo {}", "word", "echo word"},
        {"{}{}-{#}", "ab", "abab-13"},
        {"{}", "", ""},
        {"{rank}", "x\0y", "12"},
        {"{}", "x\0y", NULL},
        {"{ }{", "w", "{ }{"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        const char *input = cases[i].input;
        /* "x\0y" is the one input with a NUL: 3 bytes. */
        size_t len = !input ? 0 : strcmp (input, "x") == 0 ? 3 : strlen (input);
        errno = 0;
        char *got = rankdata_expand (cases[i].in, 12, 100, input, len);
        if (cases[i].out)
            is_str (got, cases[i].out, "expand '%s'", cases[i].in);
        else
            ok (!got && errno == EINVAL, "'%s' with an input holding a NUL: EINVAL",
                cases[i].in);
        free (got);
    }
}

static void test_argv (void)
{
    char *argv[] = {"/bin/sh", "-c"};
    char *args[] = {"echo {rank}/{size} {}"};
    char **v = rankdata_argv (argv, 2, args, 1, 3, 8, "in put", 6);

    ok (v && strcmp (v[0], "/bin/sh") == 0 && strcmp (v[1], "-c") == 0 &&
            strcmp (v[2], "echo 3/8 in put") == 0 && v[3] == NULL,
        "argv: announced entries, then the task's args, expanded, NULL-terminated");
    rankdata_argv_free (v);
    v = rankdata_argv (argv, 1, NULL, 0, 0, 1, NULL, 0);
    ok (v && strcmp (v[0], "/bin/sh") == 0 && v[1] == NULL, "argv without args");
    rankdata_argv_free (v);
    errno = 0;
    ok (!rankdata_argv (args, 1, NULL, 0, 0, 1, "a\0b", 3) && errno == EINVAL,
        "argv: EINVAL for {} with an input holding a NUL");
    rankdata_argv_free (NULL);
}

static void test_scratch (void)
{
    struct krun_error error;
    char dir[] = "/tmp/krun-rankdata.XXXXXX";
    char path[128];
    struct stat st;

    if (!mkdtemp (dir))
        bail_out ("mkdtemp");
    char *scratch = rankdata_scratch_create (dir, "abc", &error);
    ok (scratch && strncmp (scratch, dir, strlen (dir)) == 0 &&
            strstr (scratch, "/job.abc.") && stat (scratch, &st) == 0 &&
            S_ISDIR (st.st_mode) && (st.st_mode & 077) == 0,
        "scratch directory in the slot's directory, private");
    ok (rankdata_write_input (scratch, "a\0b", 3, &error) == 0 &&
            rankdata_write_input (scratch, "xy", 2, &error) == 0,
        "input written twice");
    snprintf (path, sizeof (path), "%s/%s", scratch, RANKDATA_INPUT_NAME);
    size_t n = 0;
    char *text = fileio_read (path, 1024, &n, NULL);
    ok (text && n == 2 && memcmp (text, "xy", 2) == 0,
        "the input file holds the last input");
    free (text);
    ok (rankdata_write_input (scratch, NULL, 0, &error) == 0 && stat (path, &st) == 0 &&
            st.st_size == 0,
        "an empty input makes an empty file");
    rankdata_scratch_remove (scratch);
    ok (stat (scratch, &st) < 0 && errno == ENOENT, "scratch directory removed");
    free (scratch);
    errno = 0;
    ok (rankdata_scratch_create ("/nonexistent-krun", "abc", &error) == NULL &&
            errno == ENOENT && strstr (error.text, "/nonexistent-krun"),
        "no scratch directory in a missing directory: %s", error.text);
    errno = 0;
    ok (rankdata_scratch_create (NULL, "abc", &error) == NULL && errno == ENOENT &&
            strstr (error.text, "job abc"),
        "none without a directory: %s", error.text);
    chmod (dir, 0777);
    errno = 0;
    ok (rankdata_scratch_create (dir, "abc", &error) == NULL && errno == EACCES &&
            strstr (error.text, "mode 0777"),
        "none in a directory others may write: %s", error.text);
    rmdir (dir);
}

int main (void)
{
    plan (NO_PLAN);
    test_expand ();
    test_argv ();
    test_scratch ();
    done_testing ();
    return exit_status ();
}
