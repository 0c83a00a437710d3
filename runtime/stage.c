/* stage.c - see stage.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"

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

static int hash_bytes (const void *data, size_t len, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!EVP_Digest (data, len, md, &n, EVP_sha256 (), NULL) ||
        n * 2 != STAGE_HASH_LEN) {
        errno = EIO;
        return -1;
    }
    to_hex (md, n, hex);
    return 0;
}

/* The whole file (caller must free), or NULL with errno. */
static void *read_all (const char *path, size_t *lenp)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t len = 0;

    if (fd < 0)
        return NULL;
    if (fstat (fd, &st) < 0)
        goto error;
    if (st.st_size > STAGE_MAX_BYTES) {
        errno = EFBIG;
        goto error;
    }
    if (!(buf = malloc ((size_t)st.st_size + 1)))
        goto error;
    while (len < (size_t)st.st_size) {
        ssize_t n = read (fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* shrank while read */
            goto error;
        }
        len += (size_t)n;
    }
    close (fd);
    *lenp = len;
    return buf;
error:
    free (buf);
    close (fd);
    return NULL;
}

int stage_hash_file (const char *path, char *hex, struct krun_error *errp)
{
    size_t len;
    void *data = read_all (path, &len);
    int rc;

    if (!data)
        return errprintf_errno (errp, "cannot read %s to stage it", path);
    rc = hash_bytes (data, len, hex);
    free (data);
    return rc < 0 ? errprintf_errno (errp, "cannot hash %s", path) : 0;
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
    if (!(data = read_all (path, &len)))
        return errprintf_errno (errp, "cannot read %s to stage it", path);
    /* The file may have changed since it was hashed: send what was hashed. */
    if (hash_bytes (data, len, check) < 0 || strcmp (check, hex) != 0) {
        free (data);
        errno = EAGAIN;
        return errprintf (errp, "%s changed while it was staged", path);
    }
    rc = transport_declare_queue (t, queue, 0, STAGE_QUEUE_EXPIRES_MS, NULL, errp);
    if (rc == 0)
        rc = transport_publish (t, "", queue, "stage", NULL, 0, data, len, errp);
    free (data);
    if (rc < 0 || transport_wait_confirms (t, -1, errp) < 0)
        return -1;
    return 1;
}

char *stage_dir (void)
{
    const char *env = getenv ("KRUN_STAGE_DIR");
    char *dir;

    if (env && *env)
        return strdup (env);
    if (asprintf (&dir, "/tmp/krun-stage-%u", (unsigned)getuid ()) < 0)
        return NULL;
    return dir;
}

static bool valid_hash (const char *hex)
{
    size_t n = strspn (hex, "0123456789abcdef");
    return n == STAGE_HASH_LEN && hex[n] == '\0';
}

/* Write data as dir/hex, atomically, executable by its owner only. */
static int store (const char *dir, const char *hex, const void *data, size_t len,
                  const char *final, struct krun_error *errp)
{
    char tmp[4096];
    int fd;

    snprintf (tmp, sizeof (tmp), "%s/.%s.%d", dir, hex, (int)getpid ());
    if ((fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700)) < 0)
        return errprintf_errno (errp, "cannot write %s", tmp);
    for (size_t done = 0; done < len;) {
        ssize_t n = write (fd, (const char *)data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errprintf_errno (errp, "cannot write %s", tmp);
            close (fd);
            unlink (tmp);
            return -1;
        }
        done += (size_t)n;
    }
    if (close (fd) < 0 || rename (tmp, final) < 0) {
        errprintf_errno (errp, "cannot store %s", final);
        unlink (tmp);
        return -1;
    }
    return 0;
}

char *stage_fetch (struct transport *t, const char *dir, const char *hex,
                   struct krun_error *errp)
{
    char queue[sizeof (STAGE_QUEUE_PREFIX) + STAGE_HASH_LEN];
    char lock[4096], check[STAGE_HASH_LEN + 1];
    char *path = NULL;
    void *data = NULL;
    size_t len;
    int fd = -1;

    if (!dir) {
        errno = ENOMEM;
        return errprintf (errp, "staged program: no cache directory"), NULL;
    }
    if (!valid_hash (hex)) {
        errno = EINVAL;
        return errprintf (errp, "staged program: bad hash '%s'", hex), NULL;
    }
    if (asprintf (&path, "%s/%s", dir, hex) < 0)
        return errprintf_errno (errp, "staged program"), NULL;
    if (access (path, X_OK) == 0)
        return path; /* warm: cached by an earlier job */
    if (mkdir (dir, 0700) < 0 && errno != EEXIST) {
        errprintf_errno (errp, "cannot create stage directory %s", dir);
        goto error;
    }
    /* One slot of the node fetches; the others wait and find it. */
    snprintf (lock, sizeof (lock), "%s/.lock", dir);
    if ((fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        errprintf_errno (errp, "cannot lock %s", lock);
        goto error;
    }
    /* A signal (a stopping daemon's SIGTERM) must not fail the task. */
    int rc;
    while ((rc = flock (fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        errprintf_errno (errp, "cannot lock %s", lock);
        goto error;
    }
    if (access (path, X_OK) == 0)
        goto done;
    snprintf (queue, sizeof (queue), "%s%s", STAGE_QUEUE_PREFIX, hex);
    /* Another node reading the message holds it until it puts it back. */
    for (int tries = 0; transport_peek (t, queue, &data, &len, errp) < 0; tries++) {
        if ((errno != EAGAIN && errno != EINTR) || tries >= FETCH_TRIES)
            goto error;
        usleep (FETCH_WAIT_US);
    }
    if (hash_bytes (data, len, check) < 0 || strcmp (check, hex) != 0) {
        errno = EBADMSG;
        errprintf (errp, "staged program %s: content does not match its hash", hex);
        goto error;
    }
    if (store (dir, hex, data, len, path, errp) < 0)
        goto error;
done:
    free (data);
    close (fd);
    return path;
error:
    free (data);
    free (path);
    if (fd >= 0)
        close (fd);
    return NULL;
}
