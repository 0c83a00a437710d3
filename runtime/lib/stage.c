/* stage.c - see stage.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "scratch.h"
#include "stage.h"
#include "userdir.h"

/* Files above this are not worth sending through a broker. */
#define STAGE_MAX_BYTES (64 * 1024 * 1024)
/* How long to wait for a message another node holds: 30 s. */
#define FETCH_TRIES 600
#define FETCH_WAIT_US (50 * 1000)

static void to_hex (const unsigned char *md, unsigned int n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

_Static_assert(2 * SHA256_DIGEST_SIZE == STAGE_HASH_LEN, "a hash is SHA-256 in hex");

/* The digest of ctx, in hex (STAGE_HASH_LEN digits and a NUL). */
static void digest_hex (struct sha256_ctx *ctx, char *hex)
{
    unsigned char md[SHA256_DIGEST_SIZE];

    sha256_digest (ctx, sizeof (md), md);
    to_hex (md, sizeof (md), hex);
}

/* SHA-256 with nettle, as sign.c: hashing with OpenSSL 3 would build its
 * tables of digests first (see sign.c). */
void stage_hash_bytes (const void *data, size_t len, char *hex)
{
    struct sha256_ctx ctx;

    sha256_init (&ctx);
    sha256_update (&ctx, len, data);
    digest_hex (&ctx, hex);
}

int stage_hash_file (const char *path, char *hex, struct krun_error *errp)
{
    size_t len;
    void *data = fileio_read (path, STAGE_MAX_BYTES, &len, NULL);

    if (!data)
        return errprintf_errno (errp, "cannot read %s to stage it", path);
    stage_hash_bytes (data, len, hex);
    free (data);
    return 0;
}

int stage_publish (struct transport *t, const char *path, const char *hex,
                   struct krun_error *errp)
{
    char queue[sizeof (STAGE_QUEUE_PREFIX) + STAGE_HASH_LEN];
    unsigned messages = 0;
    char check[STAGE_HASH_LEN + 1];
    size_t len;
    void *data;
    int rc;

    snprintf (queue, sizeof (queue), "%s%s", STAGE_QUEUE_PREFIX, hex);
    if (transport_queue_info (t, queue, &messages, NULL, NULL) == 0 && messages > 0)
        return 0;
    if (!(data = fileio_read (path, STAGE_MAX_BYTES, &len, NULL)))
        return errprintf_errno (errp, "cannot read %s to stage it", path);
    /* The file may have changed since it was hashed: send what was hashed. */
    stage_hash_bytes (data, len, check);
    if (strcmp (check, hex) != 0) {
        free (data);
        errno = EAGAIN;
        return errprintf (errp, "%s changed while it was staged", path);
    }
    rc = transport_declare_queue (t, queue, 0, STAGE_QUEUE_EXPIRES_MS, NULL, errp);
    if (rc == 0)
        rc = transport_publish (t, "", queue, "stage", NULL, 0, data, len, errp);
    free (data);
    if (rc < 0 || transport_wait_confirms (t, TRANSPORT_CONFIRM_TIMEOUT_MS, errp) < 0)
        return -1;
    return 1;
}

char *stage_dir (const char *base)
{
    const char *env = getenv ("KRUN_STAGE_DIR");
    char *dir;

    if (env && *env)
        return strdup (env);
    if (!base) {
        errno = ENOENT;
        return NULL;
    }
    if (asprintf (&dir, "%s/stage", base) < 0)
        return NULL;
    return dir;
}

/* Write data as final (dir/hex), atomically, readable and executable by its
 * owner only: tasks cannot overwrite the node's copy by accident. */
static int store (const char *dir, const char *hex, const void *data, size_t len,
                  const char *final, struct krun_error *errp)
{
    char tmp[4096];

    snprintf (tmp, sizeof (tmp), "%s/.%s.%d", dir, hex, (int)getpid ());
    if (fileio_write (tmp, data, len, 0500, errp) < 0) {
        int saved_errno = errno;
        unlink (tmp);
        errno = saved_errno;
        return -1;
    }
    if (rename (tmp, final) < 0) {
        errprintf_errno (errp, "cannot store %s", final);
        unlink (tmp);
        return -1;
    }
    return 0;
}

/* Take the cache directory's lock (made if missing): the slots of a node
 * fetch a file once.  Returns the lock's fd or -1 with errno and errp. */
static int lock_dir (const char *dir, struct krun_error *errp)
{
    char lock[4096];
    int fd, rc;

    /* Checked at every use: the cache holds what krund runs. */
    struct krun_error why;
    if (userdir_make (dir, &why) < 0)
        return errprintf (errp, "stage directory: %s", why.text);
    snprintf (lock, sizeof (lock), "%s/.lock", dir);
    if ((fd = open (lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return errprintf_errno (errp, "cannot lock %s", lock);
    /* A signal (a stopping daemon's SIGTERM) must not fail the task. */
    while ((rc = flock (fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        errprintf_errno (errp, "cannot lock %s", lock);
        close (fd);
        return -1;
    }
    return fd;
}

/* With the lock held: cache path (dir/hex), reading the message of
 * krun.stage.<hex> without taking it. */
static int fetch_locked (struct transport *t, const char *dir, const char *hex,
                         const char *path, struct krun_error *errp)
{
    char queue[sizeof (STAGE_QUEUE_PREFIX) + STAGE_HASH_LEN];
    char check[STAGE_HASH_LEN + 1];
    void *data = NULL;
    size_t len;
    int rc;

    if (!t) {
        errno = ENOTCONN;
        return errprintf (errp, "staged file %s: not cached, and no broker to fetch it",
                          hex);
    }
    snprintf (queue, sizeof (queue), "%s%s", STAGE_QUEUE_PREFIX, hex);
    /* Another node reading the message holds it until it puts it back. */
    for (int tries = 0; transport_peek (t, queue, &data, &len, errp) < 0; tries++) {
        if ((errno != EAGAIN && errno != EINTR) || tries >= FETCH_TRIES)
            return -1;
        usleep (FETCH_WAIT_US);
    }
    stage_hash_bytes (data, len, check);
    if (strcmp (check, hex) != 0) {
        errno = EBADMSG;
        rc = errprintf (errp, "staged file %s: content does not match its hash", hex);
    } else
        rc = store (dir, hex, data, len, path, errp);
    free (data);
    return rc;
}

/* The file that says which job last checked the content of dir/hex:
 * dir/.<hex>.job.  The slots of a node check a cached file once per job. */
static void checked_path (const char *dir, const char *hex, char *buf, size_t size)
{
    snprintf (buf, size, "%s/.%s.job", dir, hex);
}

static bool checked_for (const char *dir, const char *hex, const char *job)
{
    char path[4096], text[256];
    ssize_t n = -1;
    int fd;

    if (!job)
        return false;
    checked_path (dir, hex, path, sizeof (path));
    if ((fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
        n = read (fd, text, sizeof (text) - 1);
        close (fd);
    }
    if (n < 0)
        return false;
    text[n] = '\0';
    return strcmp (text, job) == 0;
}

/* Best effort: without it the next slot only hashes the file again. */
static void mark_checked (const char *dir, const char *hex, const char *job)
{
    char path[4096];

    if (!job)
        return;
    checked_path (dir, hex, path, sizeof (path));
    (void)fileio_write (path, job, strlen (job), 0600, NULL);
}

/* With the lock held: make sure path (dir/hex) holds the file of hash hex
 * for job.  A missing file is fetched.  A cached one must be a regular file
 * of this user that others cannot write, and the first slot of the node
 * that uses it for job hashes it again: a copy changed since it was cached
 * is removed and fetched again, and notep says so. */
static int use_locked (struct transport *t, const char *dir, const char *hex,
                       const char *path, const char *job, struct krun_error *notep,
                       struct krun_error *errp)
{
    char check[STAGE_HASH_LEN + 1];
    struct stat st;
    size_t len;
    void *data;

    if (lstat (path, &st) < 0) {
        if (errno != ENOENT)
            return errprintf_errno (errp, "cannot use %s", path);
    } else {
        if (userdir_check_file (path, errp) < 0)
            return -1;
        if (checked_for (dir, hex, job))
            return 0;
        if (!(data = fileio_read (path, STAGE_MAX_BYTES, &len, NULL)))
            return errprintf_errno (errp, "cannot read %s", path);
        stage_hash_bytes (data, len, check);
        free (data);
        if (strcmp (check, hex) == 0) {
            mark_checked (dir, hex, job);
            return 0;
        }
        if (unlink (path) < 0)
            return errprintf_errno (
                errp, "%s does not match its hash and cannot be removed", path);
        errprintf (notep,
                   "%s did not match its hash (changed on this node): fetched again",
                   path);
    }
    if (fetch_locked (t, dir, hex, path, errp) < 0)
        return -1;
    mark_checked (dir, hex, job);
    return 0;
}

char *stage_fetch (struct transport *t, const char *dir, const char *hex,
                   const char *job, struct krun_error *notep, struct krun_error *errp)
{
    char *path = NULL;
    int fd, rc;

    if (!dir) {
        errno = ENOMEM;
        return errprintf (errp, "staged program: no cache directory"), NULL;
    }
    if (!stage_hash_valid (hex)) {
        errno = EINVAL;
        return errprintf (errp, "staged program: bad hash '%s'", hex), NULL;
    }
    if (asprintf (&path, "%s/%s", dir, hex) < 0)
        return errprintf_errno (errp, "staged program"), NULL;
    if ((fd = lock_dir (dir, errp)) < 0) {
        free (path);
        return NULL;
    }
    rc = use_locked (t, dir, hex, path, job, notep, errp);
    int err = errno;
    close (fd);
    if (rc < 0) {
        free (path);
        errno = err;
        return NULL;
    }
    return path;
}

/* ---- staged files ---- */

char *stage_name_for (const char *path)
{
    const char *name = path;
    const char *last;

    while (name[0] == '.' && name[1] == '/') {
        name += 2;
        while (*name == '/')
            name++;
    }
    if (stage_name_valid (name))
        return strdup (name);
    last = strrchr (path, '/');
    last = last ? last + 1 : path;
    if (!stage_name_valid (last)) {
        errno = EINVAL;
        return NULL;
    }
    return strdup (last);
}

char *stage_files_dir (const char *dir, int n, char *const names[],
                       char *const hashes[])
{
    char hex[STAGE_HASH_LEN + 1];
    struct sha256_ctx ctx;
    char *path = NULL;

    sha256_init (&ctx);
    /* Each name and hash with its NUL: "a" "bc" and "ab" "c" differ. */
    for (int i = 0; i < n; i++) {
        sha256_update (&ctx, strlen (names[i]) + 1, (const uint8_t *)names[i]);
        sha256_update (&ctx, strlen (hashes[i]) + 1, (const uint8_t *)hashes[i]);
    }
    digest_hex (&ctx, hex);
    if (asprintf (&path, "%s/files.%s", dir, hex) < 0)
        return NULL;
    return path;
}

/* Whether files_dir is private and each of its names a link to the cached
 * file of its hash. */
static bool files_complete (const char *dir, const char *files_dir, int n,
                            char *const names[], char *const hashes[])
{
    char path[8192], target[8192], want[8192];
    ssize_t len;

    if (userdir_check (files_dir, NULL) < 0)
        return false;
    for (int i = 0; i < n; i++) {
        snprintf (path, sizeof (path), "%s/%s", files_dir, names[i]);
        snprintf (want, sizeof (want), "%s/%s", dir, hashes[i]);
        len = readlink (path, target, sizeof (target) - 1);
        if (len < 0)
            return false;
        target[len] = '\0';
        if (strcmp (target, want) != 0)
            return false;
    }
    return true;
}

/* Remove path and what is below it, never following a link; a path that
 * is not there is fine. */
static int remove_tree (const char *path)
{
    return scratch_remove (path, NULL) < 0 && errno != ENOENT ? -1 : 0;
}

/* Make the directories above dir/name, inside dir. */
static int make_parents (const char *dir, const char *name)
{
    char path[8192];
    size_t base = strlen (dir) + 1;

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    for (char *p = path + base; (p = strchr (p, '/')); p++) {
        *p = '\0';
        int rc = mkdir (path, 0700);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* With the lock held: build files_dir aside, then rename it into place. */
static int make_files_dir (const char *dir, const char *files_dir, int n,
                           char *const names[], char *const hashes[],
                           struct krun_error *errp)
{
    char tmp[4096], link[8192], target[4096];

    snprintf (tmp, sizeof (tmp), "%s.%d.tmp", files_dir, (int)getpid ());
    if (remove_tree (files_dir) < 0 || remove_tree (tmp) < 0 || mkdir (tmp, 0700) < 0)
        return errprintf_errno (errp, "cannot make %s", files_dir);
    for (int i = 0; i < n; i++) {
        snprintf (link, sizeof (link), "%s/%s", tmp, names[i]);
        snprintf (target, sizeof (target), "%s/%s", dir, hashes[i]);
        if (make_parents (tmp, names[i]) < 0 || symlink (target, link) < 0) {
            errprintf_errno (errp, "cannot make %s", link);
            goto error;
        }
    }
    if (rename (tmp, files_dir) < 0) {
        errprintf_errno (errp, "cannot make %s", files_dir);
        goto error;
    }
    return 0;
error : {
    int err = errno;
    remove_tree (tmp);
    errno = err;
    return -1;
}
}

int stage_fetch_files (struct transport *t, const char *dir, const char *files_dir,
                       int n, char *const names[], char *const hashes[],
                       const char *job, struct krun_error *notep,
                       struct krun_error *errp)
{
    char path[4096];
    int fd, rc = 0;

    if (!dir || !files_dir) {
        errno = ENOMEM;
        return errprintf (errp, "staged files: no cache directory");
    }
    for (int i = 0; i < n; i++) {
        if (!stage_name_valid (names[i]) || !stage_hash_valid (hashes[i])) {
            errno = EINVAL;
            return errprintf (errp, "staged file '%s': bad name or hash", names[i]);
        }
    }
    if ((fd = lock_dir (dir, errp)) < 0)
        return -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        snprintf (path, sizeof (path), "%s/%s", dir, hashes[i]);
        struct krun_error why;
        if ((rc = use_locked (t, dir, hashes[i], path, job, notep, &why)) < 0)
            errprintf (errp, "staged file %s: %s", names[i], why.text);
    }
    if (rc == 0 && !files_complete (dir, files_dir, n, names, hashes))
        rc = make_files_dir (dir, files_dir, n, names, hashes, errp);
    int err = errno;
    close (fd);
    errno = err;
    return rc;
}
