/* Unit tests of launcher/inputs.c: lines of a file, files of a directory,
 * the size limits and their messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inputs.h"
#include "protocol.h"
#include "tests/tap.h"
#include "tests/testdir.h"

static const char *dir; /* testdir.h */

static void test_lines (void)
{
    struct krun_error error;
    struct inputs *in;
    size_t len;

    testdir_write_bytes ("lines", "a b\n\nlast", 9);
    in = inputs_from_lines (testdir_path ("lines"), 0, &error);
    ok (in && inputs_count (in) == 3, "three lines, the last without newline");
    ok (in && strcmp (inputs_get (in, 0, &len), "a b") == 0 && len == 3 &&
            inputs_get (in, 1, &len)[0] == '\0' && len == 0 &&
            strcmp (inputs_get (in, 2, &len), "last") == 0,
        "lines without their newline; an empty line is an empty input");
    inputs_destroy (in);

    testdir_write_bytes ("nul", "a\0b\n", 4);
    in = inputs_from_lines (testdir_path ("nul"), 0, &error);
    ok (in && inputs_get (in, 0, &len) && len == 3, "a NUL byte is data for --inputs");
    inputs_destroy (in);
    errno = 0;
    ok (!inputs_from_lines (testdir_path ("nul"), 1, &error) && errno == EINVAL &&
            strstr (error.text, "nul:1"),
        "but refused in a command file: %s", error.text);

    testdir_write_bytes ("empty", "", 0);
    errno = 0;
    ok (!inputs_from_lines (testdir_path ("empty"), 0, &error) && errno == ENODATA,
        "an empty file: %s", error.text);
    errno = 0;
    ok (!inputs_from_lines (testdir_path ("missing"), 0, &error) && errno == ENOENT &&
            strstr (error.text, "missing"),
        "a missing file: %s", error.text);

    char *big = malloc (PROTOCOL_MAX_INPUT + 3);
    memset (big, 'x', PROTOCOL_MAX_INPUT + 2);
    big[0] = '\n';
    big[PROTOCOL_MAX_INPUT + 2] = '\n';
    testdir_write_bytes ("big", big, PROTOCOL_MAX_INPUT + 3);
    errno = 0;
    ok (!inputs_from_lines (testdir_path ("big"), 0, &error) && errno == E2BIG &&
            strstr (error.text, "big:2") && strstr (error.text, "shared file system"),
        "a line over the limit names file and line and says what to do: %s",
        error.text);
    big[PROTOCOL_MAX_INPUT + 1] = '\n'; /* line 2 is exactly the limit */
    testdir_write_bytes ("limit", big, PROTOCOL_MAX_INPUT + 2);
    in = inputs_from_lines (testdir_path ("limit"), 0, &error);
    ok (in && inputs_count (in) == 2 &&
            (inputs_get (in, 1, &len), len) == PROTOCOL_MAX_INPUT,
        "a line of exactly the limit passes");
    inputs_destroy (in);
    free (big);
}

static void test_dir (void)
{
    struct krun_error error;
    struct inputs *in;
    size_t len;
    char sub[256];

    snprintf (sub, sizeof (sub), "%s/d", dir);
    mkdir (sub, 0700);
    testdir_write_bytes ("d/in10", "ten", 3);
    testdir_write_bytes ("d/in2", "two", 3);
    testdir_write_bytes ("d/in1", "o\0e", 3);
    testdir_write_bytes ("d/.hidden", "h", 1);
    snprintf (sub, sizeof (sub), "%s/d/subdir", dir);
    mkdir (sub, 0700);
    in = inputs_from_dir (testdir_path ("d"), &error);
    ok (in && inputs_count (in) == 3, "regular files only, hidden ones skipped");
    ok (in && memcmp (inputs_get (in, 0, &len), "o\0e", 3) == 0 && len == 3 &&
            strcmp (inputs_get (in, 1, &len), "two") == 0 &&
            strcmp (inputs_get (in, 2, &len), "ten") == 0,
        "natural order: in1, in2, in10; binary content kept");
    inputs_destroy (in);
    errno = 0;
    ok (!inputs_from_dir (testdir_path ("d/subdir"), &error) && errno == ENODATA,
        "a directory without files: %s", error.text);
}

int main (void)
{
    plan (NO_PLAN);
    dir = testdir_create ("inputs");
    test_lines ();
    test_dir ();
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
