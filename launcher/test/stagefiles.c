/* Unit tests of launcher/stagefiles.c: the files of --stage are checked,
 * named and hashed before anything is published, with one clear error per
 * kind of mistake. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stagefiles.h"
#include "tests/tap.h"
#include "tests/testdir.h"

#define HASH_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static const char *dir; /* testdir.h */

/* stagefiles_create() on the paths; expect failure with errno err and a
 * message containing text. */
static void refused (char **paths, int n, int err, const char *text, const char *what)
{
    struct krun_error error = {""};
    struct stagefiles *sf;

    errno = 0;
    sf = stagefiles_create (paths, n, &error);
    ok (!sf && errno == err && strstr (error.text, text), "%s: errno %d, '%s'", what,
        errno, error.text);
    stagefiles_destroy (sf);
}

static void test_good (void)
{
    char abs[4096];
    snprintf (abs, sizeof (abs), "%s/other/b.txt", dir);
    char *paths[] = {"a.txt", "./sub/c.txt", abs};
    struct krun_error error;
    struct stagefiles *sf = stagefiles_create (paths, 3, &error);

    if (!ok (sf != NULL, "three good files"))
        diag ("%s", error.text);
    is_int (stagefiles_count (sf), 3, "count");
    is_str (sf ? stagefiles_names (sf)[0] : NULL, "a.txt", "a plain name is kept");
    is_str (sf ? stagefiles_names (sf)[1] : NULL, "sub/c.txt",
            "a relative path is kept, without ./");
    is_str (sf ? stagefiles_names (sf)[2] : NULL, "b.txt",
            "an absolute path gives its last part");
    is_str (sf ? stagefiles_hashes (sf)[0] : NULL, HASH_ABC, "the SHA-256 of a.txt");
    ok (sf && strcmp (stagefiles_hashes (sf)[1], stagefiles_hashes (sf)[2]) != 0,
        "other contents, other hashes");
    stagefiles_destroy (sf);
    is_int (stagefiles_count (NULL), 0, "no set, no files");
}

static void test_refused (void)
{
    char abs[4096], *too_many[STAGEFILES_MAX + 1];
    snprintf (abs, sizeof (abs), "%s/other/a.txt", dir);

    refused ((char *[]){"missing"}, 1, ENOENT, "--stage missing", "a missing file");
    refused ((char *[]){"sub"}, 1, EISDIR, "--stage sub: is a directory",
             "a directory");
    refused ((char *[]){"fifo"}, 1, EINVAL, "not a regular file", "a fifo");
    refused ((char *[]){"a.txt", abs}, 2, EEXIST, "both would be 'a.txt'",
             "two files of the same name");
    refused ((char *[]){"a.txt", "a.txt"}, 2, EEXIST, "both would be", "a file twice");
    char abs_sub[4096];
    snprintf (abs_sub, sizeof (abs_sub), "%s/other/sub", dir);
    refused ((char *[]){"sub/c.txt", abs_sub}, 2, EEXIST, "both would be 'sub'",
             "a file named like another's directory");
    refused ((char *[]){abs_sub, "sub/c.txt"}, 2, EEXIST, "both would be 'sub'",
             "the same, the other way round");
    refused ((char *[]){"sub/"}, 1, EISDIR, "is a directory", "a trailing slash");
    for (int i = 0; i <= STAGEFILES_MAX; i++)
        too_many[i] = "a.txt";
    refused (too_many, STAGEFILES_MAX + 1, E2BIG, "at most", "too many files");
    if (geteuid () != 0) {
        chmod ("secret", 0);
        refused ((char *[]){"secret"}, 1, EACCES, "--stage secret", "unreadable");
    }
}

int main (void)
{
    plan (NO_PLAN);
    dir = testdir_create ("stagefiles");
    if (chdir (dir) < 0 || mkdir ("sub", 0700) < 0 || mkdir ("other", 0700) < 0 ||
        mkfifo ("fifo", 0600) < 0)
        bail_out ("cannot set up %s", dir);
    testdir_write ("a.txt", "abc");
    testdir_write ("sub/c.txt", "c");
    testdir_write ("other/b.txt", "b");
    testdir_write ("other/a.txt", "another a");
    testdir_write ("other/sub", "a file called sub");
    testdir_write ("secret", "s");
    test_good ();
    test_refused ();
    if (chdir ("/") < 0)
        diag ("cannot leave %s", dir);
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
