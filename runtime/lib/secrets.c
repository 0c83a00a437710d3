/* secrets.c - see secrets.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "secrets.h"

/* Read fd to its end into buf (size bytes, one more than allowed, to tell
 * "too much"), within timeout_ms (< 0: no limit).  Returns the length, or
 * -1 with errno ETIMEDOUT, E2BIG or read's. */
static ssize_t read_to_end (int fd, char *buf, size_t size, int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    size_t len = 0;

    for (;;) {
        if (timeout_ms >= 0) {
            int64_t left = deadline - clock_mono_ms ();
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int n = left > 0 ? poll (&p, 1, (int)left) : 0;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -1;
            if (n == 0) {
                errno = ETIMEDOUT;
                return -1;
            }
        }
        ssize_t n = read (fd, buf + len, size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return (ssize_t)len;
        len += n;
        if (len == size) {
            errno = E2BIG;
            return -1;
        }
    }
}

/* One trailing newline (or CR LF) ends a key file's text, not the key. */
static size_t key_length (const char *key, size_t len)
{
    if (len > 0 && key[len - 1] == '\n')
        len--;
    if (len > 0 && key[len - 1] == '\r')
        len--;
    return len;
}

/* Read fd to its end within timeout_ms, at most max bytes, into a new
 * NUL-terminated buffer (*bufp, max + 1 bytes: the caller wipes and frees
 * it, after a failure too), whose first line must be a broker URL: its
 * newline becomes the URL's NUL.  what names the input in messages
 * ("secrets", "broker URL"), and hint is added to a timeout's.  Returns
 * the length read, or -1 with errno and errp. */
static ssize_t read_url_first (int fd, int timeout_ms, size_t max, const char *what,
                               const char *hint, char **bufp, struct krun_error *errp)
{
    char *newline;
    ssize_t len;

    if (!(*bufp = malloc (max + 1)))
        return errprintf_errno (errp, "cannot read the %s on standard input", what);
    if ((len = read_to_end (fd, *bufp, max + 1, timeout_ms)) < 0) {
        if (errno == ETIMEDOUT)
            errprintf (errp, "no end of the %s on standard input within %d ms%s", what,
                       timeout_ms, hint);
        else if (errno == E2BIG)
            errprintf (errp, "more than %zu bytes of %s on standard input", max, what);
        else
            errprintf_errno (errp, "cannot read the %s on standard input", what);
        return -1;
    }
    (*bufp)[len] = '\0';
    if (!(newline = memchr (*bufp, '\n', len)) || newline == *bufp) {
        errno = EINVAL;
        return errprintf (errp,
                          "no broker URL line in the %zd bytes of %s on standard input",
                          len, what);
    }
    *newline = '\0';
    if (transport_url_check (*bufp, errp) < 0)
        return -1;
    return len;
}

int secrets_read (int fd, int timeout_ms, char **urlp, struct sign_key **keyp,
                  struct krun_error *errp)
{
    char *buf = NULL;
    ssize_t len =
        read_url_first (fd, timeout_ms, SECRETS_MAX, "secrets",
                        " (the broker URL and the key, sent by krun)", &buf, errp);
    int rc = -1;

    *urlp = NULL;
    *keyp = NULL;
    if (len < 0)
        goto done;
    size_t url_len = strlen (buf);
    size_t key_len = key_length (buf + url_len + 1, len - (url_len + 1));
    if (!(*keyp = sign_key_create (buf + url_len + 1, key_len))) {
        if (errno == EINVAL)
            errprintf (errp,
                       "the key on standard input has %zu bytes, expected %d to %d",
                       key_len, SIGN_KEY_MIN, SIGN_KEY_MAX);
        else
            errprintf_errno (errp, "the key on standard input");
        goto done;
    }
    if (!(*urlp = strdup (buf))) {
        errprintf_errno (errp, "cannot read the secrets on standard input");
        sign_key_destroy (*keyp);
        *keyp = NULL;
        goto done;
    }
    rc = 0;
done:
    if (buf)
        explicit_bzero (buf, SECRETS_MAX + 1);
    free (buf);
    return rc;
}

int secrets_read_url (int fd, int timeout_ms, char **urlp, struct krun_error *errp)
{
    char *buf = NULL;
    int rc = -1;

    *urlp = NULL;
    if (read_url_first (fd, timeout_ms, TRANSPORT_URL_MAX + 1, "broker URL", "", &buf,
                        errp) >= 0) {
        if ((*urlp = strdup (buf)))
            rc = 0;
        else
            errprintf_errno (errp, "cannot read the broker URL on standard input");
    }
    if (buf)
        explicit_bzero (buf, TRANSPORT_URL_MAX + 2);
    free (buf);
    return rc;
}

char *secrets_encode (const char *url, const char *key_path, size_t *lenp,
                      struct krun_error *errp)
{
    size_t url_len = strlen (url), size = SECRETS_MAX + 1;
    struct sign_key *key;
    char *buf = NULL;
    ssize_t key_len;
    int fd = -1;

    if (transport_url_check (url, errp) < 0)
        return NULL;
    /* The URL is a line of its own. */
    if (strchr (url, '\n')) {
        errno = EINVAL;
        errprintf (errp, "the broker URL holds a newline");
        return NULL;
    }
    /* The key must be one krund accepts, from a file others cannot read. */
    if (!(key = sign_key_load (key_path, errp)))
        return NULL;
    sign_key_destroy (key);
    if (!(buf = malloc (size))) {
        errprintf_errno (errp, "signing key %s", key_path);
        return NULL;
    }
    memcpy (buf, url, url_len);
    buf[url_len] = '\n';
    if ((fd = open (key_path, O_RDONLY | O_CLOEXEC)) < 0 ||
        (key_len = read_to_end (fd, buf + url_len + 1, size - url_len - 1, -1)) < 0) {
        errprintf_errno (errp, "cannot read signing key %s", key_path);
        if (fd >= 0)
            close (fd);
        secrets_free (buf, size);
        return NULL;
    }
    close (fd);
    *lenp = url_len + 1 + key_len;
    return buf;
}

void secrets_free (char *secrets, size_t len)
{
    if (secrets) {
        explicit_bzero (secrets, len);
        free (secrets);
    }
}
