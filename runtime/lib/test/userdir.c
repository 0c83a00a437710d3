/* Unit tests of krund's private directories (runtime/userdir.c): a directory
 * or file that is a link, of another owner or open to others is refused with
 * errno and a message naming it and what is wrong; the base directory's
 * order; a dead daemon's directory taken over (trimmed to the slots' own)
 * and other dead daemons' removed, a live daemon's kept; a slot's directory
 * emptied, its scratch directory kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tap.h"
#include "tests/testdir.h"
#include "userdir.h"

static char *path_of (const char *name)
{
    char *p = strdup (testdir_path (name));
    if (!p)
        bail_out ("out of memory");
    return p;
}

static bool exists (const char *path)
{
    struct stat st;
    return lstat (path, &st) == 0;
}

/* A directory (or file) another user owns: root can give one away; others
 * use / (owned by root). */
static const char *foreign (bool dir)
{
    static char path[4096];

    if (geteuid () != 0)
        return dir ? "/" : "/etc/passwd";
    snprintf (path, sizeof (path), "%s", testdir_path (dir ? "theirs" : "theirs.f"));
    if (dir)
        mkdir (path, 0700);
    else
        testdir_write (dir ? "theirs" : "theirs.f", "x");
    chmod (path, dir ? 0700 : 0600);
    if (chown (path, 65534, 65534) < 0)
        bail_out ("chown %s", path);
    return path;
}

static void test_check (void)
{
    struct krun_error error;
    char *dir = path_of ("private");
    char *link = path_of ("link");
    char *file = path_of ("file");
    const char *theirs;

    ok (userdir_make (dir, &error) == 0, "made: %s", dir);
    struct stat st;
    ok (stat (dir, &st) == 0 && (st.st_mode & 07777) == 0700, "mode 0700");
    ok (userdir_make (dir, &error) == 0, "an existing private one is fine");
    ok (userdir_check (dir, &error) == 0, "checked");

    chmod (dir, 0777);
    errno = 0;
    ok (userdir_check (dir, &error) < 0 && errno == EACCES &&
            strstr (error.text, dir) && strstr (error.text, "mode 0777"),
        "mode 0777 refused: %s", error.text);
    chmod (dir, 0750);
    errno = 0;
    ok (userdir_make (dir, &error) < 0 && errno == EACCES &&
            strstr (error.text, "mode 0750"),
        "mode 0750 refused, also when it exists already: %s", error.text);
    chmod (dir, 02700); /* a setgid directory (a pod's fsGroup) is private */
    ok (userdir_check (dir, &error) == 0, "mode 02700 is private");
    chmod (dir, 0700);

    if (symlink (dir, link) < 0)
        bail_out ("symlink");
    errno = 0;
    ok (userdir_check (link, &error) < 0 && errno == ELOOP &&
            strstr (error.text, link) && strstr (error.text, "symbolic link"),
        "a symbolic link to a private directory is refused: %s", error.text);
    errno = 0;
    ok (userdir_make (link, &error) < 0 && errno == ELOOP,
        "userdir_make refuses the link too");

    testdir_write ("file", "x");
    errno = 0;
    ok (userdir_check (file, &error) < 0 && errno == ENOTDIR &&
            strstr (error.text, "not a directory"),
        "a file is not a directory: %s", error.text);

    theirs = foreign (true);
    errno = 0;
    ok (userdir_check (theirs, &error) < 0 && errno == EPERM &&
            strstr (error.text, theirs) && strstr (error.text, "owned by uid"),
        "another owner's directory is refused: %s", error.text);

    errno = 0;
    ok (userdir_check ("/nonexistent-krun-dir", &error) < 0 && errno == ENOENT &&
            strstr (error.text, "/nonexistent-krun-dir"),
        "a missing directory: %s", error.text);
    free (dir);
    free (link);
    free (file);
}

/* Files (after test_check(), which made them): a link, another owner,
 * writable by others; and krun's state directory. */
static void test_check_files (void)
{
    struct krun_error error;
    char *dir = path_of ("private");
    char *link = path_of ("link");
    char *file = path_of ("file");
    const char *theirs;

    chmod (file, 0500);
    ok (userdir_check_file (file, &error) == 0, "a file of mode 0500 is fine");
    chmod (file, 0755);
    ok (userdir_check_file (file, &error) == 0, "one others may read is fine");
    chmod (file, 0757);
    errno = 0;
    ok (userdir_check_file (file, &error) < 0 && errno == EACCES &&
            strstr (error.text, "mode 0757") && strstr (error.text, "write"),
        "a file others may write is refused: %s", error.text);
    chmod (file, 0770);
    ok (userdir_check_file (file, &error) < 0 && errno == EACCES,
        "a file the group may write is refused");
    unlink (link);
    if (symlink (file, link) < 0)
        bail_out ("symlink");
    errno = 0;
    ok (userdir_check_file (link, &error) < 0 && errno == ELOOP,
        "a link to a file is refused: %s", error.text);
    errno = 0;
    ok (userdir_check_file (dir, &error) < 0 && errno == EINVAL,
        "a directory is not a regular file: %s", error.text);
    theirs = foreign (false);
    errno = 0;
    ok (userdir_check_file (theirs, &error) < 0 && errno == EPERM &&
            strstr (error.text, "owned by uid"),
        "another owner's file is refused: %s", error.text);
    unlink (link);

    /* krun's state directory: the user's, not writable by others; a link
     * to such a directory and read access are fine. */
    chmod (dir, 0755);
    if (symlink (dir, link) < 0)
        bail_out ("symlink");
    ok (userdir_check_owned (link, &error) == 0,
        "userdir_check_owned: a link to the user's directory, mode 0755, is fine");
    chmod (dir, 0775);
    errno = 0;
    ok (userdir_check_owned (link, &error) < 0 && errno == EACCES &&
            strstr (error.text, "mode 0775"),
        "group-writable is refused: %s", error.text);
    chmod (dir, 0700);
    theirs = foreign (true);
    errno = 0;
    ok (userdir_check_owned (theirs, &error) < 0 && errno == EPERM,
        "another owner's is refused: %s", error.text);
    errno = 0;
    ok (userdir_check_owned (file, &error) < 0 && errno == ENOTDIR,
        "a file is refused: %s", error.text);
    unlink (link);
    free (dir);
    free (link);
    free (file);
}

static void test_base (void)
{
    struct krun_error error;
    char *state = path_of ("state");
    char *runtime = path_of ("runtime");
    char *tmp = path_of ("tmp");
    char want[4096];
    char *base;

    mkdir (runtime, 0700);
    mkdir (tmp, 0700);
    setenv ("KRUN_STATE_DIR", state, 1);
    setenv ("XDG_RUNTIME_DIR", runtime, 1);
    setenv ("TMPDIR", tmp, 1);
    snprintf (want, sizeof (want), "%s/krund", state);
    base = userdir_base (&error);
    is_str (base, want, "first $KRUN_STATE_DIR/krund (the state directory made)");
    free (base);
    unsetenv ("KRUN_STATE_DIR");
    snprintf (want, sizeof (want), "%s/krun", runtime);
    base = userdir_base (&error);
    is_str (base, want, "then $XDG_RUNTIME_DIR/krun");
    free (base);
    unsetenv ("XDG_RUNTIME_DIR");
    snprintf (want, sizeof (want), "%s/krun-%u", tmp, (unsigned)geteuid ());
    base = userdir_base (&error);
    is_str (base, want, "then $TMPDIR/krun-<uid>");
    free (base);

    /* The attack of issue 10: another user made the directory first, open
     * to all. */
    chmod (want, 0777);
    errno = 0;
    ok (!userdir_base (&error) && errno == EACCES && strstr (error.text, want) &&
            strstr (error.text, "mode 0777"),
        "a base others may write is refused: %s", error.text);
    rmdir (want);
    if (symlink (runtime, want) < 0)
        bail_out ("symlink");
    errno = 0;
    ok (!userdir_base (&error) && errno == ELOOP &&
            strstr (error.text, "symbolic link"),
        "a base that is a link is refused: %s", error.text);
    unlink (want);
    /* Its parent: others could rename the base away and put theirs. */
    chmod (tmp, 0777);
    errno = 0;
    ok (!userdir_base (&error) && errno == EACCES && strstr (error.text, "not sticky"),
        "a parent others may write, not sticky, is refused: %s", error.text);
    chmod (tmp, 01777);
    base = userdir_base (&error);
    ok (base != NULL, "a sticky parent (as /tmp) is fine");
    free (base);
    chmod (tmp, 0700);
    unsetenv ("TMPDIR");
    free (state);
    free (runtime);
    free (tmp);
}

/* Make parent/name (mode 0700); returns its path (a static buffer). */
static const char *mkdir_in (const char *parent, const char *name)
{
    static char path[8400];

    snprintf (path, sizeof (path), "%s/%s", parent, name);
    if (mkdir (path, 0700) < 0)
        bail_out ("mkdir %s", path);
    return path;
}

static bool dir_empty (const char *path)
{
    char cmd[8300];
    snprintf (cmd, sizeof (cmd), "[ -d '%s' ] && [ -z \"$(ls -A '%s')\" ]", path, path);
    return system (cmd) == 0;
}

static void test_leftovers (void)
{
    struct krun_error error;
    char *base = path_of ("base");
    char dead[4096], dead2[4096], other[4096], live[4096], junk[4096], lock[8192];
    char path[8400];
    int lock_fd = -1, removed = -1, holder;
    bool reused = false;
    char *dir, *slot;

    mkdir (base, 0700);
    /* Two dead daemons of node n/1 (its name cleaned): no process holds
     * their locks.  The first has slots 0 and 5 and an input file. */
    snprintf (dead, sizeof (dead), "%s/n_1.99999999", base);
    mkdir (dead, 0700);
    testdir_write ("base/n_1.99999999/.lock", "");
    testdir_write ("base/n_1.99999999/input", "rank data");
    mkdir_in (dead, "slot0");
    mkdir_in (dead, "slot5");
    mkdir_in (dead, "slot05");
    testdir_write ("base/n_1.99999999/slot5/left", "x");
    snprintf (dead2, sizeof (dead2), "%s", mkdir_in (base, "n_1.88888888"));
    mkdir_in (dead2, "slot0");
    /* Another node's, and one not named as a daemon's. */
    snprintf (other, sizeof (other), "%s", mkdir_in (base, "m.12"));
    snprintf (junk, sizeof (junk), "%s", mkdir_in (base, "n_1.x"));
    /* A live daemon of the node: a child holds its lock. */
    snprintf (live, sizeof (live), "%s", mkdir_in (base, "n_1.12345"));
    testdir_write ("base/n_1.12345/.lock", "");
    snprintf (lock, sizeof (lock), "%s/.lock", live);
    int ready[2], hold[2];
    if (pipe (ready) < 0 || pipe (hold) < 0)
        bail_out ("pipe");
    if ((holder = fork ()) == 0) {
        int fd = open (lock, O_RDWR);
        char c;
        close (hold[1]);
        if (fd < 0 || flock (fd, LOCK_EX) < 0 || write (ready[1], "x", 1) != 1)
            _exit (1);
        while (read (hold[0], &c, 1) < 0)
            ; /* until the parent closes its end */
        _exit (0);
    }
    char c;
    close (ready[1]);
    close (hold[0]);
    if (read (ready[0], &c, 1) != 1)
        bail_out ("the lock holder did not start");
    close (ready[0]);

    dir = userdir_daemon_create (base, "n/1", 4, &lock_fd, &removed, &reused, &error);
    ok (dir != NULL, "the daemon's directory is made: %s", dir ? dir : error.text);
    char want[4096];
    snprintf (want, sizeof (want), "%s/n_1.%d", base, (int)getpid ());
    is_str (dir, want, "named <node>.<pid>, the node name cleaned");
    ok (reused, "a dead daemon's directory is taken over");
    is_int (removed, 1, "the other dead daemon's is removed");
    ok (!exists (dead) && !exists (dead2), "neither keeps its name");
    snprintf (path, sizeof (path), "%s/slot0", want);
    ok (exists (path), "the directory of slot 0 (of 4) is kept");
    snprintf (path, sizeof (path), "%s/slot5", want);
    ok (!exists (path), "the directory of slot 5 (of 4) is removed");
    snprintf (path, sizeof (path), "%s/slot05", want);
    ok (!exists (path), "a name that is not a slot's (slot05) is removed");
    snprintf (path, sizeof (path), "%s/input", want);
    ok (!exists (path), "a file in it is removed");
    snprintf (path, sizeof (path), "%s/.lock", want);
    ok (exists (path), "its lock is kept");
    ok (exists (live), "the live daemon's is kept");
    ok (exists (other), "another node's is kept");
    ok (exists (junk), "a name that is not a daemon's is kept");
    close (hold[1]);
    waitpid (holder, NULL, 0);

    /* A second daemon of the node while the first runs: the first's is
     * kept, the one whose holder left is taken over. */
    pid_t child = fork ();
    if (child == 0) {
        int lock2 = -1, removed2 = -1;
        bool reused2 = false;
        char *dir2 =
            userdir_daemon_create (base, "n/1", 4, &lock2, &removed2, &reused2, NULL);
        _exit (dir2 && exists (dir) && reused2 && removed2 == 0 ? 0 : 1);
    }
    int status;
    waitpid (child, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
        "a second daemon keeps the first's (locked) and takes over the unlocked one");
    ok (!exists (live), "the directory whose holder left has a new name");
    is_int (lock_fd >= 0, 1, "the lock is held through an fd");

    /* A leftover open to others (here one of a dead daemon that had this
     * pid) is not taken over: removed, made anew. */
    child = fork ();
    if (child == 0) {
        char wanted[4096], *dir3;
        int lock3 = -1, removed3 = -1;
        bool reused3 = true;
        struct stat st3;
        snprintf (wanted, sizeof (wanted), "%s/n_1.%d", base, (int)getpid ());
        mkdir (wanted, 0755);
        dir3 =
            userdir_daemon_create (base, "n/1", 4, &lock3, &removed3, &reused3, NULL);
        _exit (dir3 && !reused3 && removed3 >= 1 && stat (dir3, &st3) == 0 &&
                       (st3.st_mode & 07777) == 0700 && exists (dir)
                   ? 0
                   : 1);
    }
    waitpid (child, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
        "a leftover others may enter is not taken over: made anew, mode 0700");

    /* Slots: the directory of a dead slot is emptied by the next, its
     * scratch directory kept. */
    int found = -1;
    slot = userdir_slot_create (dir, 3, &found, &error);
    ok (slot && found == 0, "slot 3's directory made: %s", slot ? slot : error.text);
    char leftover[8300], scratch[8300];
    snprintf (leftover, sizeof (leftover), "%s/job.x.123456", slot);
    mkdir (leftover, 0700);
    snprintf (scratch, sizeof (scratch), "%s/" USERDIR_SCRATCH, slot);
    mkdir (scratch, 0700);
    snprintf (path, sizeof (path), "%s/file", scratch);
    FILE *f = fopen (path, "w");
    if (!f)
        bail_out ("cannot write %s", path);
    fputs ("a task's", f);
    fclose (f);
    free (slot);
    slot = userdir_slot_create (dir, 3, &found, &error);
    ok (slot && found == 1 && !exists (leftover),
        "the next slot 3 removes what the dead one left");
    ok (slot && dir_empty (scratch), "and keeps its scratch directory, emptied");
    is_int (userdir_slot_clear (slot, &found, &error), 0, "an emptied one is cleared");
    is_int (found, 0, "with nothing found");
    ok (dir_empty (scratch), "its scratch directory still there");
    rmdir (scratch);
    if (symlink (base, scratch) < 0)
        bail_out ("symlink");
    is_int (userdir_slot_clear (slot, &found, &error), 0,
            "a link for scratch: cleared");
    ok (found == 1 && !exists (scratch) && exists (base),
        "the link is removed, not what it points to");
    /* An entry nobody may remove (immutable, as root can make on ext4):
     * the failure names it, with its errno, and the rest is still removed. */
    snprintf (path, sizeof (path), "%s/stuck", slot);
    char other_file[8400];
    snprintf (other_file, sizeof (other_file), "%s/other", slot);
    FILE *g = fopen (path, "w"), *h = fopen (other_file, "w");
    if (!g || !h)
        bail_out ("cannot write in %s", slot);
    fclose (g);
    fclose (h);
    char cmd[8500];
    snprintf (cmd, sizeof (cmd), "chattr +i '%s' 2>/dev/null", path);
    if (system (cmd) == 0) {
        errno = 0;
        error.text[0] = '\0';
        ok (userdir_slot_clear (slot, &found, &error) < 0 && errno == EPERM &&
                strstr (error.text, "stuck") && !exists (other_file),
            "an entry that cannot be removed is named, the others go: %s", error.text);
        snprintf (cmd, sizeof (cmd), "chattr -i '%s'", path);
        if (system (cmd) != 0)
            bail_out ("chattr -i %s", path);
    } else
        diag ("not checked: chattr +i is refused here (not root, or not ext4)");
    unlink (path);
    unlink (other_file);
    chmod (slot, 0755);
    free (slot);
    slot = userdir_slot_create (dir, 3, &found, &error);
    struct stat st;
    ok (slot && found == 1 && stat (slot, &st) == 0 && (st.st_mode & 07777) == 0700,
        "a slot directory a task opened to others is made anew: %s",
        slot ? slot : error.text);
    free (slot);
    chmod (dir, 0755);
    errno = 0;
    ok (!userdir_slot_create (dir, 4, &found, &error) && errno == EACCES,
        "a slot refuses a daemon directory others may enter: %s", error.text);
    chmod (dir, 0700);
    close (lock_fd);
    free (dir);
    free (base);
}

int main (void)
{
    plan (NO_PLAN);
    testdir_create ("userdir");
    test_check ();
    test_check_files ();
    test_base ();
    test_leftovers ();
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
