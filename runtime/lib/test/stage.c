/* Unit tests of the staged-file names and directories (runtime/stage.c):
 * which names are valid, the name a path gets, the directory of a set of
 * files, and making it from a warm cache (no broker needed: every file is
 * cached already), again after a task damaged it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "stage.h"
#include "tests/tap.h"

/* sha256("abc") and sha256("") */
#define HASH_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_names (void)
{
    static const char *const valid[] = {"x",    "data.txt", "a/b/c", ".hidden",
                                        "a/.b", "..x",      "x.."};
    static const char *const invalid[] = {"",    "/x",  "x/",     "a//b", ".",    "..",
                                          "./x", "a/.", "a/../b", "../x", "a/./b"};
    char *long_name = malloc (STAGE_NAME_MAX + 2);

    for (size_t i = 0; i < sizeof (valid) / sizeof (valid[0]); i++)
        ok (stage_name_valid (valid[i]), "valid: '%s'", valid[i]);
    for (size_t i = 0; i < sizeof (invalid) / sizeof (invalid[0]); i++)
        ok (!stage_name_valid (invalid[i]), "invalid: '%s'", invalid[i]);
    ok (!stage_name_valid (NULL), "invalid: NULL");
    memset (long_name, 'x', STAGE_NAME_MAX + 1);
    long_name[STAGE_NAME_MAX + 1] = '\0';
    ok (!stage_name_valid (long_name), "invalid: longer than STAGE_NAME_MAX");
    long_name[STAGE_NAME_MAX] = '\0';
    ok (stage_name_valid (long_name), "valid: STAGE_NAME_MAX bytes");
    free (long_name);
}

static void name_for (const char *path, const char *want)
{
    char *got = stage_name_for (path);
    is_str (got, want, "stage_name_for ('%s')", path);
    free (got);
}

static void test_name_for (void)
{
    name_for ("data.txt", "data.txt");
    name_for ("./data.txt", "data.txt");
    name_for (".//./data.txt", "data.txt");
    name_for ("data/x.dat", "data/x.dat");
    name_for ("./data/x.dat", "data/x.dat");
    name_for ("/srv/data/x.dat", "x.dat");
    name_for ("../x.dat", "x.dat");
    name_for ("a/../b/x.dat", "x.dat");
    name_for ("a//x.dat", "x.dat");
    errno = 0;
    ok (stage_name_for ("/") == NULL && errno == EINVAL, "'/' has no name: EINVAL");
    errno = 0;
    ok (stage_name_for ("dir/") == NULL && errno == EINVAL, "'dir/' has no name");
    errno = 0;
    ok (stage_name_for ("..") == NULL && errno == EINVAL, "'..' has no name");
}

static void test_hash_valid (void)
{
    ok (stage_hash_valid (HASH_ABC), "a SHA-256 in lower-case hex is valid");
    ok (!stage_hash_valid (
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
        "upper case is not");
    ok (!stage_hash_valid (HASH_ABC "0"), "65 digits are not");
    ok (!stage_hash_valid ("ba7816bf"), "8 digits are not");
    ok (!stage_hash_valid (
            "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "a non-hex digit is not");
}

static void test_files_dir (void)
{
    char *names[] = {"a", "b/c"}, *hashes[] = {HASH_ABC, HASH_EMPTY};
    char *swapped[] = {HASH_EMPTY, HASH_ABC};
    char *joined[] = {"ab", "/c"};
    char *d1 = stage_files_dir ("/cache", 2, names, hashes);
    char *d2 = stage_files_dir ("/cache", 2, names, hashes);
    char *d3 = stage_files_dir ("/cache", 2, names, swapped);
    char *d4 = stage_files_dir ("/cache", 1, names, hashes);
    char *d5 = stage_files_dir ("/cache", 2, joined, hashes);

    ok (d1 && strncmp (d1, "/cache/files.", 13) == 0 && strlen (d1) == 13 + 64,
        "the directory is dir/files.<sha256>: %s", d1 ? d1 : "(null)");
    ok (d1 && d2 && strcmp (d1, d2) == 0, "the same files give the same directory");
    ok (d1 && d3 && strcmp (d1, d3) != 0, "other contents give another one");
    ok (d1 && d4 && strcmp (d1, d4) != 0, "fewer files give another one");
    ok (d1 && d5 && strcmp (d1, d5) != 0, "names are not just concatenated");
    free (d1);
    free (d2);
    free (d3);
    free (d4);
    free (d5);
}

static void put (const char *dir, const char *name, const char *data)
{
    char path[4096];

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    if (fileio_write (path, data, strlen (data), 0500, NULL) < 0)
        bail_out ("cannot write %s", path);
}

/* The content of dir/name, or NULL; valid until the next call. */
static char *slurp (const char *dir, const char *name)
{
    static char *last;
    char path[4096];

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    free (last);
    return last = fileio_read (path, 1 << 20, NULL, NULL);
}

static void test_fetch_files_warm (void)
{
    char cache[] = "/tmp/krun-stage-test.XXXXXX", path[4096];
    char *names[] = {"in.txt", "sub/dir/empty"}, *hashes[] = {HASH_ABC, HASH_EMPTY};
    char *bad_names[] = {"../escape"};
    struct krun_error error;
    struct stat st;
    char *files;

    if (!mkdtemp (cache))
        bail_out ("mkdtemp");
    put (cache, HASH_ABC, "abc");
    put (cache, HASH_EMPTY, "");
    files = stage_files_dir (cache, 2, names, hashes);
    /* Every file is cached: no broker is asked (t is NULL). */
    ok (stage_fetch_files (NULL, cache, files, 2, names, hashes, "j1", NULL, &error) ==
            0,
        "made from the cache");
    is_str (slurp (files, "in.txt"), "abc", "in.txt reads as the cached file");
    is_str (slurp (files, "sub/dir/empty"), "", "sub/dir/empty is there, empty");
    snprintf (path, sizeof (path), "%s/in.txt", files);
    ok (lstat (path, &st) == 0 && S_ISLNK (st.st_mode), "a link to the cache");
    ok (stat (path, &st) == 0 && (st.st_mode & 07777) == 0500,
        "the cached copy is mode 0500: a task cannot write it by accident");

    /* A task removed a file: the next job makes the directory again. */
    unlink (path);
    ok (stage_fetch_files (NULL, cache, files, 2, names, hashes, "j1", NULL, &error) ==
            0,
        "made again after a link was removed");
    is_str (slurp (files, "in.txt"), "abc", "in.txt is back");

    errno = 0;
    ok (stage_fetch_files (NULL, cache, files, 1, bad_names, hashes, "j1", NULL,
                           &error) < 0 &&
            errno == EINVAL,
        "a name leaving the directory is refused: %s", error.text);
    snprintf (path, sizeof (path), "%s/../escape", files);
    ok (access (path, F_OK) < 0, "and nothing was made outside");

    snprintf (path, sizeof (path), "rm -rf '%s'", cache);
    if (system (path) != 0)
        diag ("cannot remove %s", cache);
    free (files);
}

/* The checks of issue 10: a cache directory or cached file others could
 * have changed is refused, and a cached file changed in place is found by
 * its hash once per job. */
static void test_cache_checks (void)
{
    char top[] = "/tmp/krun-stage-test.XXXXXX", cache[4096], link[4096], path[8192];
    char *names[] = {"in.txt"}, *hashes[] = {HASH_ABC};
    struct krun_error error, note;
    char *files, *got;

    if (!mkdtemp (top))
        bail_out ("mkdtemp");
    got = stage_dir (top);
    snprintf (cache, sizeof (cache), "%s/stage", top);
    is_str (got, cache, "the cache is base/stage");
    free (got);
    unsetenv ("KRUN_STAGE_DIR");
    errno = 0;
    ok (stage_dir (NULL) == NULL && errno == ENOENT,
        "no base and no $KRUN_STAGE_DIR: ENOENT");
    setenv ("KRUN_STAGE_DIR", "/elsewhere", 1);
    got = stage_dir (NULL);
    is_str (got, "/elsewhere", "$KRUN_STAGE_DIR first");
    free (got);
    unsetenv ("KRUN_STAGE_DIR");

    /* Another user made the cache directory, open to all. */
    mkdir (cache, 0777);
    chmod (cache, 0777);
    put (cache, HASH_ABC, "abc");
    files = stage_files_dir (cache, 1, names, hashes);
    errno = 0;
    ok (stage_fetch_files (NULL, cache, files, 1, names, hashes, "j1", NULL, &error) <
                0 &&
            errno == EACCES && strstr (error.text, cache) &&
            strstr (error.text, "mode 0777"),
        "a cache directory others may write is refused: %s", error.text);
    errno = 0;
    ok (!stage_fetch (NULL, cache, HASH_ABC, "j1", NULL, &error) && errno == EACCES,
        "for a program too: %s", error.text);
    chmod (cache, 0700);
    ok (stage_fetch_files (NULL, cache, files, 1, names, hashes, "j1", NULL, &error) ==
            0,
        "once private it is used");

    snprintf (link, sizeof (link), "%s/link", top);
    if (symlink (cache, link) < 0)
        bail_out ("symlink");
    errno = 0;
    ok (!stage_fetch (NULL, link, HASH_ABC, "j1", NULL, &error) && errno == ELOOP &&
            strstr (error.text, "symbolic link"),
        "a cache directory that is a link is refused: %s", error.text);

    /* A cached file others may write, or a link. */
    snprintf (path, sizeof (path), "%s/%s", cache, HASH_ABC);
    chmod (path, 0777);
    errno = 0;
    ok (!stage_fetch (NULL, cache, HASH_ABC, "j1", NULL, &error) && errno == EACCES &&
            strstr (error.text, path),
        "a cached file others may write is refused: %s", error.text);
    chmod (path, 0500);
    got = stage_fetch (NULL, cache, HASH_ABC, "j1", NULL, &error);
    ok (got != NULL, "mode 0500 is fine");
    free (got);
    if (geteuid () == 0) {
        if (chown (path, 65534, 65534) < 0)
            bail_out ("chown");
        errno = 0;
        ok (!stage_fetch (NULL, cache, HASH_ABC, "j1", NULL, &error) &&
                errno == EPERM && strstr (error.text, "owned by uid 65534"),
            "a cached file of another user is refused: %s", error.text);
        if (chown (path, 0, 0) < 0)
            bail_out ("chown");
    }

    /* Changed in place after job j1 checked it: j1 does not hash it again
     * (a warm task costs no hashing), the next job does. */
    chmod (path, 0700);
    put (cache, HASH_ABC, "evil");
    chmod (path, 0500);
    got = stage_fetch (NULL, cache, HASH_ABC, "j1", NULL, &error);
    ok (got != NULL, "the job that checked it already does not hash it again");
    free (got);
    note.text[0] = '\0';
    errno = 0;
    ok (!stage_fetch (NULL, cache, HASH_ABC, "j2", &note, &error) && errno == ENOTCONN,
        "the next job finds it changed and fetches it again (no broker here): %s",
        error.text);
    ok (strstr (note.text, path) && strstr (note.text, "did not match its hash"),
        "and says so: %s", note.text);
    ok (access (path, F_OK) < 0, "the changed copy is removed");
    put (cache, HASH_ABC, "evil");
    errno = 0;
    ok (stage_fetch_files (NULL, cache, files, 1, names, hashes, NULL, &note, &error) <
                0 &&
            errno == ENOTCONN,
        "a staged file is checked the same way: %s", error.text);

    snprintf (path, sizeof (path), "rm -rf '%s'", top);
    if (system (path) != 0)
        diag ("cannot remove %s", top);
    free (files);
}

int main (void)
{
    plan (NO_PLAN);
    test_names ();
    test_name_for ();
    test_hash_valid ();
    test_files_dir ();
    test_fetch_files_warm ();
    test_cache_checks ();
    done_testing ();
    return exit_status ();
}
