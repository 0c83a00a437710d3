/* sign.c - sealed message bodies (AES-256-GCM with per-message keys) and the
 * key file.  See sign.h.  The only module that includes nettle's headers for
 * messages (stage.c hashes staged files with its SHA-256).  Not OpenSSL 3:
 * its first fetch of HMAC and AES-256-GCM builds its tables of every
 * algorithm of a kind, about 1 ms of every krun start; nettle's functions
 * are plain calls on structs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio.h"
#include "sign.h"

#define NEW_KEY_BYTES 32
#define AES_KEY_BYTES 32 /* AES-256; also the HMAC-SHA256 output */
#define NONCE_BYTES 24   /* 12 select the message key, 12 are the GCM nonce */
#define NONCE_HEX (2 * NONCE_BYTES)
#define GCM_NONCE_BYTES 12
#define TAG_BYTES 16
/* The expiry is written as decimal microseconds: at most 19 digits. */
#define MAX_EXPIRY_DIGITS 19
/* "krun-sig-v2 " + expiry + " " + nonce + "\n" */
#define MAX_HEADER (sizeof (SIGN_HEADER) + MAX_EXPIRY_DIGITS + 1 + NONCE_HEX + 1)
#define DERIVE_INFO SIGN_HEADER " AES-256-GCM"
/* Size up to which the buffer of opened bodies is kept whatever comes next. */
#define PLAIN_KEEP (1 << 20)

_Static_assert(MAX_HEADER + TAG_BYTES <= SIGN_HEADER_MAX, "SIGN_HEADER_MAX too small");

_Static_assert(AES_KEY_BYTES == SHA256_DIGEST_SIZE && TAG_BYTES == GCM_DIGEST_SIZE &&
                   GCM_NONCE_BYTES == GCM_IV_SIZE,
               "nettle's sizes");

/* What sealing and opening reuse from one message to the next: keying the
 * HMAC with E costs two SHA-256 blocks per message otherwise. */
struct seal_cache {
    /* HMAC-SHA256 keyed with E (sign.h); nettle's digest leaves it keyed
     * again for the next message. */
    struct hmac_sha256_ctx derive;
    struct gcm_aes256_ctx cipher; /* AES-256-GCM, given each message's key */
    char *plain;                  /* the body sign_open() returns */
    size_t plain_size;
};

/* The key file's bytes are not kept: only E, inside the HMAC context. */
struct sign_key {
    /* Mutable through a const key: sealing and opening do not change the
     * key, only what it caches. */
    struct seal_cache *cache;
};

static void cache_destroy (struct seal_cache *c)
{
    if (!c)
        return;
    if (c->plain)
        explicit_bzero (c->plain, c->plain_size);
    free (c->plain);
    explicit_bzero (c, sizeof (*c));
    free (c);
}

/* E = HKDF-SHA256 (key, no salt, DERIVE_INFO) for one block of output
 * (RFC 5869): PRK = HMAC (32 zero bytes, key), E = HMAC (PRK, DERIVE_INFO
 * || 0x01), on the HMAC that sealing uses anyway. */
static void derive_e (const unsigned char *key, size_t len,
                      unsigned char e[AES_KEY_BYTES])
{
    static const unsigned char zeros[AES_KEY_BYTES], one = 1;
    unsigned char prk[AES_KEY_BYTES];
    struct hmac_sha256_ctx ctx;

    hmac_sha256_set_key (&ctx, sizeof (zeros), zeros);
    hmac_sha256_update (&ctx, len, key);
    hmac_sha256_digest (&ctx, sizeof (prk), prk);
    hmac_sha256_set_key (&ctx, sizeof (prk), prk);
    hmac_sha256_update (&ctx, strlen (DERIVE_INFO), (const uint8_t *)DERIVE_INFO);
    hmac_sha256_update (&ctx, 1, &one);
    hmac_sha256_digest (&ctx, AES_KEY_BYTES, e);
    explicit_bzero (prk, sizeof (prk));
    explicit_bzero (&ctx, sizeof (ctx));
}

/* E (above), and the HMAC keyed with it.  Returns NULL with errno ENOMEM. */
static struct seal_cache *cache_create (const unsigned char *key, size_t len)
{
    unsigned char e[AES_KEY_BYTES];
    struct seal_cache *c = calloc (1, sizeof (*c));

    if (!c)
        return NULL;
    derive_e (key, len, e);
    hmac_sha256_set_key (&c->derive, sizeof (e), e);
    explicit_bzero (e, sizeof (e));
    return c;
}

struct sign_key *sign_key_create (const void *bytes, size_t len)
{
    struct sign_key *key;

    if (!bytes || len < SIGN_KEY_MIN || len > SIGN_KEY_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!(key = calloc (1, sizeof (*key))))
        return NULL;
    if (!(key->cache = cache_create (bytes, len))) {
        sign_key_destroy (key);
        errno = ENOMEM;
        return NULL;
    }
    return key;
}

void sign_key_destroy (struct sign_key *key)
{
    int saved_errno = errno;

    if (key) {
        cache_destroy (key->cache);
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

/* Read the whole file (at most SIGN_KEY_MAX + 2 bytes).
 * The mode is checked on the open file, not the name, so that a file
 * swapped between the check and the read cannot slip through. */
static struct sign_key *load_fd (int fd, const char *path, struct krun_error *errp)
{
    struct sign_key *key;
    struct stat st;
    size_t len = 0;
    char *buf;

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
        /* In a pod the file is a Secret volume's, which chmod cannot change
         * (read-only, and remade by the kubelet): say what to set instead. */
        if (getenv ("KUBERNETES_SERVICE_HOST"))
            errprintf (errp,
                       "signing key %s is accessible by group or others (mode %04o, "
                       "group %u): set the Secret volume's defaultMode to 0440 (or "
                       "0400) and the pod's securityContext.fsGroup to %u",
                       path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid,
                       (unsigned)getegid ());
        else
            errprintf (errp,
                       "signing key %s is accessible by group or others (mode %04o): "
                       "run chmod 600 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
        return NULL;
    }
    if (!(buf = fileio_read_fd (fd, SIGN_KEY_MAX + 2, &len))) {
        if (errno == EFBIG) {
            errno = EINVAL;
            errprintf (errp, "signing key %s: more than %d bytes, expected %d to %d",
                       path, SIGN_KEY_MAX + 2, SIGN_KEY_MIN, SIGN_KEY_MAX);
        } else
            errprintf_errno (errp, "cannot read signing key %s", path);
        return NULL;
    }
    /* One trailing newline (or CR LF) is how text editors and `echo` end a
     * file, not part of the key. */
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    key = sign_key_create (buf, len);
    explicit_bzero (buf, len);
    free (buf);
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
    if (fchmod (fd, 0600) < 0 || fdio_write_all (fd, hex, 2 * NEW_KEY_BYTES + 1) < 0 ||
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
    explicit_bzero (bytes, sizeof (bytes));
    explicit_bzero (hex, sizeof (hex));
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

/* Set up c->cipher for one message: its key is HMAC-SHA256 (E, nonce[0..12)),
 * its GCM nonce nonce[12..24), and header (header_len bytes) the associated
 * data. */
static void cipher_begin (struct seal_cache *c, const unsigned char nonce[NONCE_BYTES],
                          const char *header, size_t header_len)
{
    unsigned char message_key[AES_KEY_BYTES];

    hmac_sha256_update (&c->derive, NONCE_BYTES - GCM_NONCE_BYTES, nonce);
    hmac_sha256_digest (&c->derive, sizeof (message_key), message_key);
    gcm_aes256_set_key (&c->cipher, message_key);
    explicit_bzero (message_key, sizeof (message_key));
    gcm_aes256_set_iv (&c->cipher, GCM_NONCE_BYTES,
                       nonce + NONCE_BYTES - GCM_NONCE_BYTES);
    gcm_aes256_update (&c->cipher, header_len, (const uint8_t *)header);
}

char *sign_seal (const struct sign_key *key, const void *body, size_t len,
                 int64_t expires_us, size_t *lenp, struct krun_error *errp)
{
    unsigned char nonce[NONCE_BYTES];
    char header[MAX_HEADER + 1];
    char *sealed, *p;
    int header_len;

    if (!key || (!body && len > 0) || !lenp || expires_us < 0) {
        errno = EINVAL;
        errprintf (errp, "cannot seal a message: bad arguments");
        return NULL;
    }
    /* Up to 256 bytes, getrandom() gives all or fails (EINTR only while
     * the system's entropy pool is not ready yet, at boot). */
    ssize_t got;
    while ((got = getrandom (nonce, sizeof (nonce), 0)) < 0 && errno == EINTR)
        ;
    if (got != sizeof (nonce)) {
        if (got >= 0)
            errno = EIO;
        errprintf_errno (errp, "cannot seal a message: no random nonce");
        return NULL;
    }
    header_len =
        snprintf (header, sizeof (header), SIGN_HEADER " %" PRId64 " ", expires_us);
    /* Not snprintf: 24 calls of it cost more than the encryption. */
    for (int i = 0; i < NONCE_BYTES; i++) {
        header[header_len++] = "0123456789abcdef"[nonce[i] >> 4];
        header[header_len++] = "0123456789abcdef"[nonce[i] & 15];
    }
    header[header_len++] = '\n';
    if (len > SIZE_MAX - header_len - TAG_BYTES - 1 ||
        !(sealed = malloc (header_len + len + TAG_BYTES + 1))) {
        errno = ENOMEM;
        errprintf_errno (errp, "cannot seal a message");
        return NULL;
    }
    memcpy (sealed, header, header_len);
    p = sealed + header_len;
    cipher_begin (key->cache, nonce, header, header_len);
    gcm_aes256_encrypt (&key->cache->cipher, len, (uint8_t *)p, body);
    gcm_aes256_digest (&key->cache->cipher, TAG_BYTES, (uint8_t *)p + len);
    sealed[header_len + len + TAG_BYTES] = '\0';
    *lenp = header_len + len + TAG_BYTES;
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
    const size_t tag_len = strlen (SIGN_TAG);
    return body && len > tag_len && memcmp (body, SIGN_TAG, tag_len) == 0;
}

/* A seal of another version than this one (text starts with SIGN_TAG):
 * name the version, so that a mixed pool says why it fails. */
static int other_version (const char *text, size_t len, struct krun_error *errp)
{
    const size_t tag_len = strlen (SIGN_TAG);
    size_t n = 0;

    while (tag_len + n < len && n < 8 && text[tag_len + n] >= '0' &&
           text[tag_len + n] <= '9')
        n++;
    if (n == 0 || tag_len + n == len || text[tag_len + n] != ' ')
        return bad_message (errp, "signature header: malformed version");
    errno = EBADMSG;
    return errprintf (errp,
                      "sealed with version %.*s%.*s, which this build refuses: it "
                      "reads " SIGN_HEADER
                      " only (a krun or krund of another version?)",
                      (int)tag_len, text, (int)n, text + tag_len);
}

/* Make room for a body of len bytes and its NUL in c->plain.  Returns 0, or
 * -1 with errno ENOMEM. */
static int plain_reserve (struct seal_cache *c, size_t len)
{
    char *p;

    /* Reused while it fits; but one 8 MiB announcement must not keep every
     * slot 8 MiB bigger for good. */
    if (len < c->plain_size &&
        (c->plain_size <= PLAIN_KEEP || len >= c->plain_size / 4))
        return 0;
    if (len == SIZE_MAX || !(p = malloc (len + 1))) {
        errno = ENOMEM;
        return -1;
    }
    if (c->plain) {
        explicit_bzero (c->plain, c->plain_size);
        free (c->plain);
    }
    c->plain = p;
    c->plain_size = len + 1;
    return 0;
}

int sign_open (const struct sign_key *key, const void *sealed, size_t len,
               int64_t now_us, const char **inner, size_t *inner_len,
               int64_t *expires_us, struct krun_error *errp)
{
    const size_t tag_len = strlen (SIGN_HEADER " ");
    const char *text = sealed, *p, *end;
    unsigned char nonce[NONCE_BYTES], tag[TAG_BYTES];
    struct seal_cache *c;
    int64_t expiry = 0;
    int digits = 0;

    if (!key || !inner || !inner_len) {
        errno = EINVAL;
        return errprintf (errp, "cannot check a signature: bad arguments");
    }
    if (!sign_is_sealed (text, len))
        return bad_message (errp, "not signed");
    if (len < tag_len || memcmp (text, SIGN_HEADER " ", tag_len) != 0)
        return other_version (text, len, errp);
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
    p++;
    if (end - p < NONCE_HEX + 1 || p[NONCE_HEX] != '\n')
        return bad_message (errp, "signature header: malformed nonce");
    for (int i = 0; i < NONCE_BYTES; i++) {
        int hi = hex_value (p[2 * i]), lo = hex_value (p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return bad_message (errp, "signature header: malformed nonce");
        nonce[i] = (unsigned char)(hi << 4 | lo);
    }
    const char *body = p + NONCE_HEX + 1;
    size_t header_len = body - text;
    if ((size_t)(end - body) < TAG_BYTES)
        return bad_message (errp, "sealed message truncated (no tag)");
    size_t body_len = end - body - TAG_BYTES;
    c = key->cache;
    if (plain_reserve (c, body_len) < 0)
        return errprintf_errno (errp, "cannot open a sealed message");
    cipher_begin (c, nonce, text, header_len);
    gcm_aes256_decrypt (&c->cipher, body_len, (uint8_t *)c->plain,
                        (const uint8_t *)body);
    gcm_aes256_digest (&c->cipher, TAG_BYTES, tag);
    /* Compared in constant time, so that the time taken does not tell how
     * many bytes of a forged tag were right.  Until it matched, the
     * decrypted bytes are not to be looked at: wiped. */
    if (!memeql_sec (tag, body + body_len, TAG_BYTES)) {
        explicit_bzero (c->plain, body_len);
        return bad_message (errp, "bad signature (wrong key or altered message)");
    }
    if (expires_us)
        *expires_us = expiry;
    if (expiry < now_us) {
        errno = EKEYEXPIRED;
        return errprintf (errp, "signature expired %" PRId64 " s ago",
                          (now_us - expiry) / 1000000);
    }
    c->plain[body_len] = '\0';
    *inner = c->plain;
    *inner_len = body_len;
    return 0;
}

int sign_key_id (const struct sign_key *key, char *buf, size_t size)
{
    static const char purpose[] = "krun-pool";
    struct seal_cache *c = key->cache;
    unsigned char mac[AES_KEY_BYTES];

    if (size < SIGN_KEY_ID_LEN + 1) {
        errno = EINVAL;
        return -1;
    }
    /* HMAC-SHA256 keyed with E, as the message keys, but over a 9-byte
     * input where theirs are 12 bytes of nonce: no message key is an id. */
    hmac_sha256_update (&c->derive, sizeof (purpose) - 1, (const uint8_t *)purpose);
    hmac_sha256_digest (&c->derive, sizeof (mac), mac);
    for (int i = 0; i < SIGN_KEY_ID_LEN / 2; i++)
        snprintf (buf + 2 * i, 3, "%02x", mac[i]);
    explicit_bzero (mac, sizeof (mac));
    return 0;
}
