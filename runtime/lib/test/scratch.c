/* Unit tests of task scratch directories (runtime/scratch.c): made private,
 * emptied between tasks and removed at the end, with nested and unwritable
 * content, links removed and not followed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"
#include "tests/tap.h"

static void touch (const char *dir, const char *name)
{
    char path[4096];
    int fd;

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    if ((fd = open (path, O_WRONLY | O_CREAT, 0600)) < 0 || close (fd) < 0)
        bail_out ("cannot create %s", path);
}

/* What a task might leave in dir: nested, unwritable, links out of it to
 * base/outside and to base. */
static void leave_mess (const char *base, const char *dir)
{
    char path[4096], target[4096];

    snprintf (path, sizeof (path), "%s/a", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof (path), "%s/a/b", dir);
    mkdir (path, 0700);
    touch (path, "deep");
    chmod (path, 0500); /* no write: deep cannot be unlinked as is */
    touch (dir, "file");
    snprintf (target, sizeof (target), "%s/outside", base);
    snprintf (path, sizeof (path), "%s/link", dir);
    if (symlink (target, path) < 0)
        bail_out ("symlink");
    snprintf (path, sizeof (path), "%s/dirlink", dir);
    if (symlink (base, path) < 0)
        bail_out ("symlink");
}

/* Entries of dir other than . and .., or -1. */
static int entries (const char *dir)
{
    DIR *d = opendir (dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir (d)))
        n += strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0;
    closedir (d);
    return n;
}

/* A scratch directory held open and emptied task after task: what each
 * "task" leaves goes, also when it comes after an empty round; a path that
 * no longer names the held directory is refused and nothing is removed. */
static void test_held (const char *base)
{
    struct krun_error error;
    struct scratch_dir *d;
    char path[4096], moved[4096];
    struct stat st;
    char *dir = scratch_create (base, "held", &error);

    if (!dir)
        bail_out ("scratch_create: %s", error.text);
    ok ((d = scratch_dir_open (dir, &error)) != NULL, "held open");
    if (!d)
        return;
    int good = 0;
    for (int round = 0; round < 6; round++) {
        /* Every other round the task leaves nothing. */
        if (round % 2 == 1)
            leave_mess (base, dir);
        if (round == 3)
            chmod (dir, 0);
        good += scratch_dir_empty (d, &error) == 0 && entries (dir) == 0 &&
                stat (dir, &st) == 0 && (st.st_mode & 07777) == 0700;
    }
    is_int (good, 6, "6 rounds, every other one with a mess (one mode 0): emptied");
    snprintf (path, sizeof (path), "%s/outside", base);
    ok (stat (path, &st) == 0, "what a link pointed to is kept");

    /* The task renames it away and puts a link, then another directory, in
     * its place. */
    snprintf (moved, sizeof (moved), "%s/moved", base);
    if (rename (dir, moved) < 0 || symlink (moved, dir) < 0)
        bail_out ("rename, symlink");
    touch (moved, "kept");
    errno = 0;
    ok (scratch_dir_empty (d, &error) < 0 && errno == ENOTDIR &&
            strstr (error.text, dir) && entries (moved) == 1,
        "replaced by a link: refused, nothing removed: %s", error.text);
    unlink (dir);
    mkdir (dir, 0700);
    touch (dir, "theirs");
    errno = 0;
    ok (scratch_dir_empty (d, &error) < 0 && errno == EPERM && entries (dir) == 1 &&
            entries (moved) == 1,
        "replaced by another directory: refused, nothing removed: %s", error.text);
    scratch_remove (dir, NULL);
    errno = 0;
    ok (scratch_dir_empty (d, &error) < 0 && errno == ENOENT, "removed: refused: %s",
        error.text);
    scratch_dir_destroy (d);
    scratch_remove (moved, NULL);
    errno = 0;
    ok (!scratch_dir_open (dir, &error) && errno == ENOENT &&
            strstr (error.text, "cannot empty scratch"),
        "a missing directory is not opened: %s", error.text);
    scratch_dir_destroy (NULL);
    free (dir);
}

int main (void)
{
    char base[] = "/tmp/krun-scratch-test.XXXXXX", path[4096];
    struct krun_error error;
    struct stat st;
    char *dir;

    plan (NO_PLAN);
    if (!mkdtemp (base))
        bail_out ("mkdtemp");
    dir = scratch_create (base, "node-a.7", &error);
    ok (dir != NULL, "created");
    snprintf (path, sizeof (path), "%s/node-a.7", base);
    is_str (dir, path, "named base/name");
    ok (dir && stat (dir, &st) == 0 && S_ISDIR (st.st_mode) &&
            (st.st_mode & 07777) == 0700,
        "a directory of mode 0700");

    /* Content a task might leave: nested, unwritable, and a link out. */
    touch (base, "outside");
    leave_mess (base, dir);
    chmod (dir, 0755); /* and the directory itself opened to others */
    ok (scratch_empty (dir, &error) == 0, "emptied with all its content");
    ok (stat (dir, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 07777) == 0700,
        "the directory stays, mode 0700 again");
    ok (entries (dir) == 0, "nothing is left in it");
    snprintf (path, sizeof (path), "%s/outside", base);
    ok (stat (path, &st) == 0, "what a link pointed to is kept");
    ok (scratch_empty (dir, &error) == 0, "an empty one empties");
    errno = 0;
    snprintf (path, sizeof (path), "%s/missing", base);
    ok (scratch_empty (path, &error) < 0 && errno == ENOENT &&
            strstr (error.text, "cannot empty scratch"),
        "emptying a missing directory fails: %s", error.text);

    leave_mess (base, dir);
    char target[4096];
    snprintf (target, sizeof (target), "%s/outside", base);

    ok (scratch_remove (dir, &error) == 0, "removed with all its content");
    ok (lstat (dir, &st) < 0 && errno == ENOENT, "the directory is gone");
    ok (stat (target, &st) == 0, "what a link pointed to is kept");
    ok (scratch_remove (NULL, &error) == 0, "NULL is nothing to remove");
    errno = 0;
    ok (scratch_remove (dir, &error) < 0 && errno == ENOENT &&
            strstr (error.text, "cannot remove scratch"),
        "removing a missing directory fails: %s", error.text);
    free (dir);

    /* The one already there is taken, emptied; what a task put in its place
     * is removed (a link: not what it points to) and a directory made. */
    dir = scratch_create (base, "again", &error);
    leave_mess (base, dir);
    chmod (dir, 0755);
    char *same = scratch_create (base, "again", &error);
    is_str (same, dir, "the same name again");
    ok (same && stat (same, &st) == 0 && (st.st_mode & 07777) == 0700 &&
            entries (same) == 0,
        "the one there, emptied, mode 0700: %s", same ? same : error.text);
    free (same);
    scratch_remove (dir, NULL);
    if (symlink (target, dir) < 0)
        bail_out ("symlink");
    same = scratch_create (base, "again", &error);
    ok (same && lstat (same, &st) == 0 && S_ISDIR (st.st_mode) &&
            (st.st_mode & 07777) == 0700 && stat (target, &st) == 0,
        "a link in its place: replaced by a directory, its target kept");
    free (same);
    scratch_remove (dir, NULL);
    touch (base, "again");
    same = scratch_create (base, "again", &error);
    ok (same && lstat (same, &st) == 0 && S_ISDIR (st.st_mode),
        "a file in its place: replaced by a directory");
    free (same);
    free (dir);

    errno = 0;
    ok (!scratch_create ("/nonexistent-krun-dir", "j", &error) && errno == ENOENT &&
            strstr (error.text, "/nonexistent-krun-dir: No such file"),
        "a missing base is named: %s", error.text);

    /* The base must be private (userdir_check()): a task's TMPDIR where
     * others could look or put things is refused. */
    chmod (base, 0755);
    errno = 0;
    ok (!scratch_create (base, "j", &error) && errno == EACCES &&
            strstr (error.text, "mode 0755"),
        "a base others can enter is refused: %s", error.text);
    chmod (base, 0700);
    snprintf (path, sizeof (path), "%s/link", base);
    if (symlink (base, path) < 0)
        bail_out ("symlink");
    errno = 0;
    ok (!scratch_create (path, "j", &error) && errno == ELOOP &&
            strstr (error.text, "symbolic link"),
        "a base that is a symbolic link is refused: %s", error.text);
    errno = 0;
    ok (scratch_empty (path, &error) < 0 && errno == ENOTDIR,
        "a scratch directory replaced by a link is not emptied: %s", error.text);
    unlink (path);
    if (geteuid () == 0) {
        /* Only root can give a directory away. */
        snprintf (path, sizeof (path), "%s/theirs", base);
        mkdir (path, 0700);
        if (chown (path, 65534, 65534) < 0)
            bail_out ("chown");
        errno = 0;
        ok (scratch_empty (path, &error) < 0 && errno == EPERM,
            "a scratch directory of another owner is not emptied: %s", error.text);
        ok (!scratch_create (path, "j", &error) && errno == EPERM &&
                strstr (error.text, "owned by uid 65534"),
            "a base of another owner is refused: %s", error.text);
        rmdir (path);
    } else {
        errno = 0;
        ok (scratch_empty ("/", &error) < 0 && errno == EPERM,
            "a scratch directory of another owner (/) is not emptied: %s", error.text);
        ok (!scratch_create ("/", "j", &error) && errno == EPERM &&
                strstr (error.text, "owned by uid 0"),
            "a base of another owner (/) is refused: %s", error.text);
    }

    test_held (base);
    unlink (target);
    rmdir (base);
    done_testing ();
    return exit_status ();
}
