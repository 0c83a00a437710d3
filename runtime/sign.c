/* sign.c - HMAC-SHA256 seals on message bodies and the key file.  See
 * sign.h.  The only module that includes OpenSSL's headers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"

#define MAC_LEN 32 /* SHA-256 */
#define MAC_HEX (2 * MAC_LEN)
#define NEW_KEY_BYTES 32
/* The expiry is written as decimal microseconds: at most 19 digits. */
#define MAX_EXPIRY_DIGITS 19
/* "krun-sig-v1 " + expiry + " " + MAC + "\n" */
#define MAX_HEADER (sizeof (SIGN_HEADER) + MAX_EXPIRY_DIGITS + 1 + MAC_HEX + 1)

struct sign_key {
    size_t len;
    unsigned char bytes[SIGN_KEY_MAX];
};

struct sign_key *sign_key_create (const void *bytes, size_t len)
{
    struct sign_key *key;

    if (!bytes || len < SIGN_KEY_MIN || len > SIGN_KEY_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!(key = calloc (1, sizeof (*key))))
        return NULL;
    memcpy (key->bytes, bytes, len);
    key->len = len;
    return key;
}

void sign_key_destroy (struct sign_key *key)
{
    int saved_errno = errno;

    if (key) {
        OPENSSL_cleanse (key->bytes, sizeof (key->bytes));
        free (key);
    }
    errno = saved_errno;
}

/* Only its owner may read the key, and at most its own group: a
 * Kubernetes Secret volume's files reach the worker's user through the
 * pod's group (fsGroup, mode 0440), and with Debian's user private groups
 * a user's own group holds only that user.  Write or execute for the group,
 * another group, or any access for others is refused. */
static bool mode_is_private (const struct stat *st)
{
    if (st->st_mode & S_IRWXO)
        return false;
    if (!(st->st_mode & S_IRWXG))
        return true;
    return (st->st_mode & S_IRWXG) == S_IRGRP && st->st_gid == getegid ();
}

/* Read the whole file (at most SIGN_KEY_MAX + 2 bytes, to tell "too long").
 * The mode is checked on the open file, not the name, so that a file
 * swapped between the check and the read cannot slip through. */
static struct sign_key *load_fd (int fd, const char *path, struct krun_error *errp)
{
    unsigned char buf[SIGN_KEY_MAX + 2];
    struct sign_key *key;
    struct stat st;
    size_t len = 0;
    ssize_t n;

    if (fstat (fd, &st) < 0) {
        errprintf_errno (errp, "signing key %s", path);
        return NULL;
    }
    if (!S_ISREG (st.st_mode)) {
        errno = EINVAL;
        errprintf (errp, "signing key %s is not a regular file", path);
        return NULL;
    }
    if (!mode_is_private (&st)) {
        errno = EACCES;
        errprintf (errp,
                   "signing key %s is accessible by group or others (mode %04o): "
                   "run chmod 600 %s",
                   path, (unsigned)(st.st_mode & 07777), path);
        return NULL;
    }
    while (len < sizeof (buf) && (n = read (fd, buf + len, sizeof (buf) - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            errprintf_errno (errp, "cannot read signing key %s", path);
            OPENSSL_cleanse (buf, sizeof (buf));
            return NULL;
        }
        len += n;
    }
    /* One trailing newline (or CR LF) is how text editors and `echo` end a
     * file, not part of the key. */
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    key = sign_key_create (buf, len);
    OPENSSL_cleanse (buf, sizeof (buf));
    if (!key) {
        if (errno == EINVAL)
            errprintf (errp, "signing key %s: %zu bytes, expected %d to %d", path, len,
                       SIGN_KEY_MIN, SIGN_KEY_MAX);
        else
            errprintf_errno (errp, "signing key %s", path);
    }
    return key;
}

struct sign_key *sign_key_load (const char *path, struct krun_error *errp)
{
    struct sign_key *key;
    int fd;

    if (!path || !*path) {
        errno = EINVAL;
        errprintf (errp, "no signing key file given");
        return NULL;
    }
    if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0) {
        errprintf_errno (errp, "cannot open signing key %s", path);
        return NULL;
    }
    key = load_fd (fd, path, errp);
    close (fd);
    return key;
}

static int write_all (int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write (fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= n;
    }
    return 0;
}

/* Write a new key to a temporary file next to path and link it into place:
 * link() fails if path exists, so a launcher that lost the race loads the
 * winner's key instead of overwriting it. */
static int create_key_file (const char *path, struct krun_error *errp)
{
    unsigned char bytes[NEW_KEY_BYTES];
    char hex[2 * NEW_KEY_BYTES + 2], tmp[PATH_MAX];
    int fd, rc = -1;

    if (snprintf (tmp, sizeof (tmp), "%s.XXXXXX", path) >= (int)sizeof (tmp)) {
        errno = ENAMETOOLONG;
        return errprintf (errp, "signing key %s: name too long", path);
    }
    if (getrandom (bytes, sizeof (bytes), 0) != sizeof (bytes))
        return errprintf_errno (errp, "cannot make a signing key");
    for (size_t i = 0; i < sizeof (bytes); i++)
        snprintf (hex + 2 * i, 3, "%02x", bytes[i]);
    hex[2 * NEW_KEY_BYTES] = '\n';
    hex[2 * NEW_KEY_BYTES + 1] = '\0';
    /* mkstemp creates the file with mode 0600. */
    if ((fd = mkostemp (tmp, O_CLOEXEC)) < 0) {
        errprintf_errno (errp, "cannot create signing key %s", path);
        goto out;
    }
    if (fchmod (fd, 0600) < 0 || write_all (fd, hex, 2 * NEW_KEY_BYTES + 1) < 0 ||
        fsync (fd) < 0) {
        errprintf_errno (errp, "cannot write signing key %s", tmp);
        close (fd);
        unlink (tmp);
        goto out;
    }
    close (fd);
    if (link (tmp, path) < 0 && errno != EEXIST)
        errprintf_errno (errp, "cannot create signing key %s", path);
    else
        rc = 0;
    unlink (tmp);
out:
    OPENSSL_cleanse (bytes, sizeof (bytes));
    OPENSSL_cleanse (hex, sizeof (hex));
    return rc;
}

struct sign_key *sign_key_load_or_create (const char *path, struct krun_error *errp)
{
    struct sign_key *key = sign_key_load (path, errp);

    if (key || errno != ENOENT)
        return key;
    if (create_key_file (path, errp) < 0)
        return NULL;
    return sign_key_load (path, errp);
}

/* HMAC-SHA256 (key, prefix || body) into mac. */
static int compute_mac (const struct sign_key *key, const char *prefix,
                        size_t prefix_len, const void *body, size_t len,
                        unsigned char mac[MAC_LEN])
{
    OSSL_PARAM params[2];
    EVP_MAC *hmac = EVP_MAC_fetch (NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new (hmac) : NULL;
    size_t out_len = 0;
    int rc = -1;

    params[0] = OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end ();
    if (ctx && EVP_MAC_init (ctx, key->bytes, key->len, params) == 1 &&
        EVP_MAC_update (ctx, (const unsigned char *)prefix, prefix_len) == 1 &&
        (len == 0 || EVP_MAC_update (ctx, body, len) == 1) &&
        EVP_MAC_final (ctx, mac, &out_len, MAC_LEN) == 1 && out_len == MAC_LEN)
        rc = 0;
    EVP_MAC_CTX_free (ctx);
    EVP_MAC_free (hmac);
    if (rc < 0)
        errno = ENOMEM; /* OpenSSL fails here only for lack of resources */
    return rc;
}

char *sign_seal (const struct sign_key *key, const void *body, size_t len,
                 int64_t expires_us, size_t *lenp, struct krun_error *errp)
{
    unsigned char mac[MAC_LEN];
    char header[MAX_HEADER + 1];
    int prefix_len;
    char *sealed;

    if (!key || (!body && len > 0) || !lenp || expires_us < 0) {
        errno = EINVAL;
        errprintf (errp, "cannot sign a message: bad arguments");
        return NULL;
    }
    prefix_len =
        snprintf (header, sizeof (header), SIGN_HEADER " %" PRId64 "\n", expires_us);
    if (compute_mac (key, header, prefix_len, body, len, mac) < 0) {
        errprintf_errno (errp, "cannot sign a message");
        return NULL;
    }
    /* The header sent: the MAC goes between the expiry and the newline. */
    char *p = header + prefix_len - 1;
    *p++ = ' ';
    for (int i = 0; i < MAC_LEN; i++, p += 2)
        snprintf (p, 3, "%02x", mac[i]);
    *p++ = '\n';
    size_t header_len = p - header;
    if (len > SIZE_MAX - header_len - 1 || !(sealed = malloc (header_len + len + 1))) {
        errno = ENOMEM;
        errprintf_errno (errp, "cannot sign a message");
        return NULL;
    }
    memcpy (sealed, header, header_len);
    if (len > 0)
        memcpy (sealed + header_len, body, len);
    sealed[header_len + len] = '\0';
    *lenp = header_len + len;
    return sealed;
}

static int hex_value (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int bad_message (struct krun_error *errp, const char *why)
{
    errno = EBADMSG;
    return errprintf (errp, "%s", why);
}

bool sign_is_sealed (const void *body, size_t len)
{
    const size_t tag_len = strlen (SIGN_HEADER " ");
    return body && len >= tag_len && memcmp (body, SIGN_HEADER " ", tag_len) == 0;
}

int sign_open (const struct sign_key *key, const void *sealed, size_t len,
               int64_t now_us, const char **inner, size_t *inner_len,
               int64_t *expires_us, struct krun_error *errp)
{
    const size_t tag_len = strlen (SIGN_HEADER " ");
    const char *text = sealed, *p, *end;
    unsigned char mac[MAC_LEN], want[MAC_LEN];
    int64_t expiry = 0;
    int digits = 0;

    if (!key || !inner || !inner_len) {
        errno = EINVAL;
        return errprintf (errp, "cannot check a signature: bad arguments");
    }
    if (!sign_is_sealed (text, len))
        return bad_message (errp, "not signed");
    end = text + len;
    /* Strict layout: exactly one way to write a header, so that nothing but
     * the key decides whether a body is accepted. */
    for (p = text + tag_len; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == MAX_EXPIRY_DIGITS || expiry > (INT64_MAX - 9) / 10)
            return bad_message (errp, "signature header: expiry out of range");
        expiry = expiry * 10 + (*p - '0');
    }
    if (digits == 0 || (digits > 1 && text[tag_len] == '0') || p == end || *p != ' ')
        return bad_message (errp, "signature header: malformed expiry");
    size_t prefix_len = p - text; /* up to the expiry; "\n" is added below */
    p++;
    if (end - p < MAC_HEX + 1 || p[MAC_HEX] != '\n')
        return bad_message (errp, "signature header: malformed MAC");
    for (int i = 0; i < MAC_LEN; i++) {
        int hi = hex_value (p[2 * i]), lo = hex_value (p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return bad_message (errp, "signature header: malformed MAC");
        want[i] = (unsigned char)(hi << 4 | lo);
    }
    const char *body = p + MAC_HEX + 1;
    char prefix[MAX_HEADER + 1];
    memcpy (prefix, text, prefix_len);
    prefix[prefix_len] = '\n';
    if (compute_mac (key, prefix, prefix_len + 1, body, end - body, mac) < 0)
        return errprintf_errno (errp, "cannot check a signature");
    /* Constant time: a MAC that differs early must not fail faster. */
    if (CRYPTO_memcmp (mac, want, MAC_LEN) != 0)
        return bad_message (errp, "bad signature (wrong key or altered message)");
    if (expires_us)
        *expires_us = expiry;
    if (expiry < now_us) {
        errno = EKEYEXPIRED;
        return errprintf (errp, "signature expired %" PRId64 " s ago",
                          (now_us - expiry) / 1000000);
    }
    *inner = body;
    *inner_len = end - body;
    return 0;
}
