/* scratch.c - see scratch.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"
#include "userdir.h"

char *scratch_create (const char *base, const char *name, struct krun_error *errp)
{
    struct krun_error ignored;
    char *path;

    if (userdir_check (base, errp) < 0)
        return NULL;
    if (asprintf (&path, "%s/%s", base, name) < 0) {
        errprintf_errno (errp, "cannot make a scratch directory in %s", base);
        return NULL;
    }
    /* The base is private: nobody else can have put anything there. */
    if (mkdir (path, 0700) == 0)
        return path;
    if (errno == EEXIST) {
        if (scratch_empty (path, &ignored) == 0)
            return path;
        /* What a task left in its place, or a directory it could not
         * empty: away with it (never followed: a link goes, not its
         * target). */
        scratch_remove (path, NULL);
        if (mkdir (path, 0700) == 0)
            return path;
    }
    errprintf_errno (errp, "cannot make scratch directory %s", path);
    free (path);
    return NULL;
}

/* The first failure of a removal, for the message. */
struct removal {
    int err;
    char failed[PATH_MAX];
};

static void note_failure (struct removal *r, int dirfd, const char *name)
{
    char dir[64];

    if (r->err)
        return;
    r->err = errno;
    /* The full path is not known below the top: name the entry. */
    snprintf (dir, sizeof (dir), "/proc/self/fd/%d", dirfd);
    ssize_t n =
        dirfd == AT_FDCWD ? -1 : readlink (dir, r->failed, sizeof (r->failed) - 1);
    if (n < 0)
        n = 0;
    r->failed[n] = '\0';
    snprintf (r->failed + n, sizeof (r->failed) - n, "%s%s", n ? "/" : "", name);
}

static void remove_entries (DIR *dir, struct removal *r);

/* Remove name (relative to directory at) and, if it is a directory, what it holds.
 * Works on file descriptors and never follows a link, so a task cannot
 * redirect the removal elsewhere by swapping a directory for a link. */
static void remove_at (int at, const char *name, struct removal *r)
{
    struct stat st;
    DIR *dir;
    int fd;

    if (fstatat (at, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        note_failure (r, at, name);
        return;
    }
    if (!S_ISDIR (st.st_mode)) {
        if (unlinkat (at, name, 0) < 0)
            note_failure (r, at, name);
        return;
    }
    /* A task may leave directories without write or search permission. */
    if ((st.st_mode & S_IRWXU) != S_IRWXU)
        fchmodat (at, name, (st.st_mode & 07777) | S_IRWXU, 0);
    fd = openat (at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !(dir = fdopendir (fd))) {
        if (fd >= 0)
            close (fd);
        note_failure (r, at, name);
        return;
    }
    remove_entries (dir, r);
    closedir (dir);
    if (unlinkat (at, name, AT_REMOVEDIR) < 0)
        note_failure (r, at, name);
}

int scratch_remove (const char *path, struct krun_error *errp)
{
    struct removal r = {0};

    if (!path)
        return 0;
    remove_at (AT_FDCWD, path, &r);
    if (r.err != 0) {
        errno = r.err;
        return errprintf_errno (errp, "cannot remove scratch %s", r.failed);
    }
    return 0;
}

/* Remove what the open directory dir holds from where it is read. */
static void remove_entries (DIR *dir, struct removal *r)
{
    struct dirent *e;

    while ((e = readdir (dir))) {
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
            remove_at (dirfd (dir), e->d_name, r);
    }
}

struct scratch_dir {
    char *path;
    DIR *dir;
    dev_t dev;
    ino_t ino;
    uid_t uid;
};

struct scratch_dir *scratch_dir_open (const char *path, struct krun_error *errp)
{
    struct scratch_dir *d = calloc (1, sizeof (*d));
    struct stat st;
    int fd = -1, err;

    if (!d || !(d->path = strdup (path)))
        goto error;
    fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && fstat (fd, &st) < 0)
        goto error;
    if (fd >= 0 && st.st_uid != geteuid ()) {
        errno = EPERM; /* not the directory the slot made */
        goto error;
    }
    if (fd < 0 || !(d->dir = fdopendir (fd)))
        goto error;
    d->dev = st.st_dev;
    d->ino = st.st_ino;
    d->uid = st.st_uid;
    return d;
error:
    err = errno;
    if (fd >= 0)
        close (fd);
    scratch_dir_destroy (d);
    errno = err;
    errprintf_errno (errp, "cannot empty scratch %s", path);
    return NULL;
}

void scratch_dir_destroy (struct scratch_dir *d)
{
    int saved = errno;

    if (d) {
        if (d->dir)
            closedir (d->dir);
        free (d->path);
        free (d);
    }
    errno = saved;
}

int scratch_dir_empty (struct scratch_dir *d, struct krun_error *errp)
{
    struct removal r = {0};
    struct stat st;

    /* The path must still name the directory held open: a task may have
     * removed it or put a link or another directory in its place.  The
     * held one cannot have been freed, so its inode number is not reused. */
    if (fstatat (AT_FDCWD, d->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errprintf_errno (errp, "cannot empty scratch %s", d->path);
    if (!S_ISDIR (st.st_mode) || st.st_dev != d->dev || st.st_ino != d->ino ||
        st.st_uid != d->uid) {
        errno = S_ISDIR (st.st_mode) ? EPERM : ENOTDIR;
        return errprintf_errno (errp, "cannot empty scratch %s: replaced", d->path);
    }
    if ((st.st_mode & 07777) != 0700)
        fchmod (dirfd (d->dir), 0700); /* a task made it unreadable, or readable */
    /* Read from the start again: the last emptying read to the end. */
    rewinddir (d->dir);
    remove_entries (d->dir, &r);
    if (r.err != 0) {
        errno = r.err;
        return errprintf_errno (errp, "cannot empty scratch %s: cannot remove %s",
                                d->path, r.failed);
    }
    return 0;
}

int scratch_empty (const char *path, struct krun_error *errp)
{
    struct scratch_dir *d = scratch_dir_open (path, errp);
    int rc;

    if (!d)
        return -1;
    rc = scratch_dir_empty (d, errp);
    scratch_dir_destroy (d);
    return rc;
}
