/* userdir.c - see userdir.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "scratch.h"
#include "userdir.h"

/* The longest part of a node name kept in a daemon directory's name. */
#define NODE_NAME_MAX 64
/* A daemon that starts waits this long for another of the same base to
 * finish making its directory (which takes milliseconds). */
#define BASE_LOCK_WAIT_MS 10000
#define LOCK_NAME ".lock"

/* What a path is checked for. */
enum kind {
    PRIVATE_DIR, /* nobody else may enter it */
    OWN_FILE,    /* nobody else may change it */
    OWN_DIR,     /* nobody else may change what is in it */
};

/* What is wrong with st (of path) for kind. */
static int check_stat (const char *path, const struct stat *st, enum kind kind,
                       struct krun_error *errp)
{
    uid_t me = geteuid ();
    bool dir = kind != OWN_FILE;

    if (S_ISLNK (st->st_mode)) {
        errno = ELOOP;
        return errprintf (errp, "refusing %s: it is a symbolic link", path);
    }
    if (dir && !S_ISDIR (st->st_mode)) {
        errno = ENOTDIR;
        return errprintf (errp, "refusing %s: not a directory", path);
    }
    if (!dir && !S_ISREG (st->st_mode)) {
        errno = EINVAL;
        return errprintf (errp, "refusing %s: not a regular file", path);
    }
    if (st->st_uid != me) {
        errno = EPERM;
        return errprintf (errp,
                          "refusing %s: owned by uid %u, not by uid %u (this user)",
                          path, (unsigned)st->st_uid, (unsigned)me);
    }
    if (st->st_mode & (kind == PRIVATE_DIR ? 077 : 022)) {
        errno = EACCES;
        return errprintf (errp, "refusing %s: mode %04o lets group or others %s", path,
                          (unsigned)(st->st_mode & 07777),
                          kind == PRIVATE_DIR ? "in (must be 0700)" : "write it");
    }
    return 0;
}

/* Check path with lstat, or stat (follow) to check what a link leads to. */
static int check_path (const char *path, bool follow, enum kind kind,
                       struct krun_error *errp)
{
    struct stat st;

    if ((follow ? stat (path, &st) : lstat (path, &st)) < 0)
        return errprintf_errno (errp, "cannot use %s", path);
    return check_stat (path, &st, kind, errp);
}

int userdir_check (const char *path, struct krun_error *errp)
{
    return check_path (path, false, PRIVATE_DIR, errp);
}

int userdir_check_file (const char *path, struct krun_error *errp)
{
    return check_path (path, false, OWN_FILE, errp);
}

int userdir_check_owned (const char *path, struct krun_error *errp)
{
    return check_path (path, true, OWN_DIR, errp);
}

int userdir_make (const char *path, struct krun_error *errp)
{
    if (mkdir (path, 0700) < 0 && errno != EEXIST)
        return errprintf_errno (errp, "cannot create %s", path);
    return userdir_check (path, errp);
}

/* Whether others cannot replace what is in dir: it belongs to this user or
 * root, and who else may write there cannot rename others' entries
 * (sticky, as /tmp). */
static int parent_safe (const char *dir, struct krun_error *errp)
{
    struct stat st;

    if (stat (dir, &st) < 0)
        return errprintf_errno (errp, "cannot use %s", dir);
    if (!S_ISDIR (st.st_mode)) {
        errno = ENOTDIR;
        return errprintf (errp, "refusing %s: not a directory", dir);
    }
    if (st.st_uid != geteuid () && st.st_uid != 0) {
        errno = EPERM;
        return errprintf (errp,
                          "refusing %s: owned by uid %u, not by this user or root", dir,
                          (unsigned)st.st_uid);
    }
    if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
        errno = EACCES;
        return errprintf (errp,
                          "refusing %s: mode %04o lets others replace what is in it "
                          "(not sticky)",
                          dir, (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

char *userdir_base (struct krun_error *errp)
{
    const char *state = getenv ("KRUN_STATE_DIR");
    const char *runtime = getenv ("XDG_RUNTIME_DIR");
    const char *parent = getenv ("TMPDIR");
    char *base = NULL;
    int rc;

    if (state && *state) {
        /* A pod's state directory is in its empty work directory. */
        if (mkdir (state, 0700) < 0 && errno != EEXIST) {
            errprintf_errno (errp, "cannot create state directory %s", state);
            return NULL;
        }
        parent = state;
        rc = asprintf (&base, "%s/krund", state);
    } else if (runtime && *runtime) {
        parent = runtime;
        rc = asprintf (&base, "%s/krun", runtime);
    } else {
        if (!parent || !*parent)
            parent = "/tmp";
        rc = asprintf (&base, "%s/krun-%u", parent, (unsigned)geteuid ());
    }
    if (rc < 0) {
        errprintf_errno (errp, "krund's directory");
        return NULL;
    }
    if (parent_safe (parent, errp) < 0 || userdir_make (base, errp) < 0) {
        int err = errno;
        free (base);
        errno = err;
        return NULL;
    }
    return base;
}

/* Take an exclusive lock on the open file fd, waiting at most wait_ms. */
static int lock_within (int fd, int64_t wait_ms)
{
    int64_t deadline = clock_mono_ms () + wait_ms;

    while (flock (fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (clock_mono_ms () >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        usleep (10 * 1000);
    }
    return 0;
}

/* The node name as a part of a file name: letters, digits, '.', '-', '_'
 * kept, anything else '_', at most NODE_NAME_MAX bytes. */
static void node_part (const char *node, char *out)
{
    size_t n = 0;

    for (; node[n] && n < NODE_NAME_MAX; n++)
        out[n] =
            isalnum ((unsigned char)node[n]) || strchr (".-_", node[n]) ? node[n] : '_';
    out[n] = '\0';
}

/* Whether the directory base/name is not in use: nobody holds its lock (or
 * it has none: its daemon died before it took it). */
static bool unused (int base_fd, const char *name)
{
    char lock[512]; /* a d_name and LOCK_NAME */
    int fd;

    snprintf (lock, sizeof (lock), "%s/" LOCK_NAME, name);
    fd = openat (base_fd, lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT;
    bool free_now = flock (fd, LOCK_EX | LOCK_NB) == 0;
    close (fd); /* the lock goes with it: the directory is taken or removed next */
    return free_now;
}

/* Whether name is a daemon directory's of node part: <part>.<digits>. */
static bool daemon_dir_name (const char *name, const char *part)
{
    size_t len = strlen (part);
    const char *pid = name + len + 1;

    return strncmp (name, part, len) == 0 && name[len] == '.' && *pid &&
           strspn (pid, "0123456789") == strlen (pid);
}

/* Whether name is "slot<N>" with 0 <= N < nslots, written as slots write it. */
static bool slot_dir_name (const char *name, int nslots)
{
    char want[32];
    long n;

    if (strncmp (name, "slot", 4) != 0 || !isdigit ((unsigned char)name[4]))
        return false;
    n = strtol (name + 4, NULL, 10);
    snprintf (want, sizeof (want), "slot%ld", n);
    return n < nslots && strcmp (name, want) == 0;
}

/* The directories of daemons of node part that no daemon holds: the first
 * (or one already named mine: a dead daemon had this pid) becomes mine, the
 * others are removed.  Returns how many were removed. */
static int take_leftovers (const char *base, const char *part, const char *mine,
                           bool *reused)
{
    struct dirent *e;
    struct stat st;
    int removed = 0;
    DIR *dir = opendir (base);

    if (!dir)
        return 0;
    *reused = fstatat (dirfd (dir), mine, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              unused (dirfd (dir), mine);
    while ((e = readdir (dir))) {
        /* Renamed to mine, it may come again. */
        if (strcmp (e->d_name, mine) == 0 || !daemon_dir_name (e->d_name, part) ||
            !unused (dirfd (dir), e->d_name))
            continue;
        if (!*reused && renameat (dirfd (dir), e->d_name, dirfd (dir), mine) == 0) {
            *reused = true;
            continue;
        }
        char *path;
        if (asprintf (&path, "%s/%s", base, e->d_name) < 0)
            continue;
        removed += scratch_remove (path, NULL) == 0;
        free (path);
    }
    closedir (dir);
    return removed;
}

/* In a directory taken over: remove all but the lock and the directories
 * of slots 0 to nslots - 1. */
static void trim_daemon_dir (const char *path, int nslots)
{
    struct dirent *e;
    DIR *dir = opendir (path);

    if (!dir)
        return;
    while ((e = readdir (dir))) {
        if (!strcmp (e->d_name, ".") || !strcmp (e->d_name, "..") ||
            !strcmp (e->d_name, LOCK_NAME) || slot_dir_name (e->d_name, nslots))
            continue;
        char *sub;
        if (asprintf (&sub, "%s/%s", path, e->d_name) < 0)
            continue;
        scratch_remove (sub, NULL);
        free (sub);
    }
    closedir (dir);
}

char *userdir_daemon_create (const char *base, const char *node, int nslots,
                             int *lock_fd, int *removed, bool *reused,
                             struct krun_error *errp)
{
    char part[NODE_NAME_MAX + 1], mine[NODE_NAME_MAX + 32];
    char *path = NULL, *lock = NULL;
    int base_lock = -1, fd = -1;

    node_part (node, part);
    snprintf (mine, sizeof (mine), "%s.%d", part, (int)getpid ());
    if (asprintf (&lock, "%s/" LOCK_NAME, base) < 0 ||
        asprintf (&path, "%s/%s", base, mine) < 0) {
        errprintf_errno (errp, "krund's directory");
        goto error;
    }
    if (userdir_check (base, errp) < 0)
        goto error;
    /* Under the base's lock: a daemon that starts meanwhile sees this one's
     * directory either not yet made or already locked. */
    if ((base_lock = open (lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) <
            0 ||
        lock_within (base_lock, BASE_LOCK_WAIT_MS) < 0) {
        errprintf_errno (errp, "cannot lock %s", lock);
        goto error;
    }
    *removed = take_leftovers (base, part, mine, reused);
    /* One that a task made open to others, or replaced: made anew. */
    if (*reused && userdir_check (path, NULL) < 0) {
        *reused = false;
        *removed += scratch_remove (path, NULL) == 0;
    }
    if (userdir_make (path, errp) < 0)
        goto error;
    free (lock);
    if (asprintf (&lock, "%s/" LOCK_NAME, path) < 0 ||
        (fd = open (lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
        flock (fd, LOCK_EX | LOCK_NB) < 0) {
        errprintf_errno (errp, "cannot lock %s", lock ? lock : path);
        goto error;
    }
    close (base_lock);
    base_lock = -1;
    if (*reused)
        trim_daemon_dir (path, nslots);
    free (lock);
    *lock_fd = fd;
    return path;
error : {
    int err = errno;
    if (fd >= 0)
        close (fd);
    if (base_lock >= 0)
        close (base_lock);
    free (lock);
    free (path);
    errno = err;
    return NULL;
}
}

/* Whether directory path has no entry (or cannot be read: then emptying it
 * says why). */
static bool dir_is_empty (const char *path)
{
    struct dirent *e;
    DIR *dir = opendir (path);
    bool empty = true;

    if (!dir)
        return false;
    while (empty && (e = readdir (dir)))
        empty = !strcmp (e->d_name, ".") || !strcmp (e->d_name, "..");
    closedir (dir);
    return empty;
}

int userdir_slot_clear (const char *path, int *found, struct krun_error *errp)
{
    struct krun_error first = {0}, error;
    struct dirent *e;
    struct stat st;
    DIR *dir;
    int rc = 0, first_errno = 0;

    *found = 0;
    if (!(dir = opendir (path)))
        return errprintf_errno (errp, "cannot read %s", path);
    while ((e = readdir (dir))) {
        if (!strcmp (e->d_name, ".") || !strcmp (e->d_name, ".."))
            continue;
        char *sub;
        if (asprintf (&sub, "%s/%s", path, e->d_name) < 0) {
            if (rc == 0) {
                first_errno = errno;
                errprintf_errno (&first, "cannot empty %s", path);
                rc = -1;
            }
            break;
        }
        bool scratch =
            !strcmp (e->d_name, USERDIR_SCRATCH) &&
            fstatat (dirfd (dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR (st.st_mode);
        if (scratch && dir_is_empty (sub)) {
            free (sub);
            continue;
        }
        *found = 1;
        /* A scratch directory that cannot be emptied (another owner's, as
         * root's tasks may make) goes: the next task gets a new one. */
        if ((!scratch || scratch_empty (sub, &error) < 0) &&
            scratch_remove (sub, &error) < 0 && rc == 0) {
            first_errno = errno;
            first = error;
            rc = -1;
        }
        free (sub);
    }
    closedir (dir);
    if (rc < 0) {
        if (errp)
            *errp = first;
        errno = first_errno;
    }
    return rc;
}

char *userdir_slot_create (const char *daemon_dir, int local, int *found,
                           struct krun_error *errp)
{
    struct stat st;
    char *path;

    *found = 0;
    if (userdir_check (daemon_dir, errp) < 0)
        return NULL;
    if (asprintf (&path, "%s/slot%d", daemon_dir, local) < 0) {
        errprintf_errno (errp, "slot %d's directory", local);
        return NULL;
    }
    if (lstat (path, &st) == 0) {
        if (userdir_check (path, NULL) == 0) {
            if (userdir_slot_clear (path, found, errp) < 0)
                goto error;
            return path;
        }
        /* What a task made of it: removed, made anew. */
        *found = 1;
        if (scratch_remove (path, errp) < 0)
            goto error;
    }
    if (userdir_make (path, errp) < 0)
        goto error;
    return path;
error : {
    int err = errno;
    free (path);
    errno = err;
    return NULL;
}
}
