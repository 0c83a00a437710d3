/* sign.c - sealed message bodies (AES-256-GCM with per-message keys) and the
 * key file.  See sign.h.  The only module that includes OpenSSL's headers
 * for messages (stage.c hashes staged files with SHA-256). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
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

/* What sealing and opening reuse from one message to the next: fetching
 * an algorithm and making a context cost more than sealing a task. */
struct seal_cache {
    EVP_MAC *hmac;
    EVP_MAC_CTX *derive; /* HMAC-SHA256 keyed with E (sign.h), reinitialised */
    EVP_CIPHER *aes;
    EVP_CIPHER_CTX *cipher; /* AES-256-GCM, given each message's key */
    char *plain;            /* the body sign_open() returns */
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
    EVP_MAC_CTX_free (c->derive);
    EVP_MAC_free (c->hmac);
    EVP_CIPHER_CTX_free (c->cipher);
    EVP_CIPHER_free (c->aes);
    if (c->plain)
        OPENSSL_cleanse (c->plain, c->plain_size);
    free (c->plain);
    free (c);
}

/* E = HKDF-SHA256 (key, no salt, DERIVE_INFO) for one block of output
 * (RFC 5869): PRK = HMAC (32 zero bytes, key), E = HMAC (PRK, DERIVE_INFO
 * || 0x01), on the HMAC that sealing uses anyway.  Fetching OpenSSL's own
 * HKDF builds its table of KDFs, a third of a warm `krun -n 1 true`'s
 * instructions (callgrind, benchmarks/profile). */
static bool derive_e (EVP_MAC *hmac, const unsigned char *key, size_t len,
                      unsigned char e[AES_KEY_BYTES])
{
    static const unsigned char zeros[AES_KEY_BYTES], one = 1;
    unsigned char prk[AES_KEY_BYTES];
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new (hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end (),
    };
    size_t n = 0, m = 0;
    bool ok = ctx && EVP_MAC_init (ctx, zeros, sizeof (zeros), params) == 1 &&
              EVP_MAC_update (ctx, key, len) == 1 &&
              EVP_MAC_final (ctx, prk, &n, sizeof (prk)) == 1 && n == sizeof (prk) &&
              EVP_MAC_init (ctx, prk, sizeof (prk), NULL) == 1 &&
              EVP_MAC_update (ctx, (const unsigned char *)DERIVE_INFO,
                              strlen (DERIVE_INFO)) == 1 &&
              EVP_MAC_update (ctx, &one, 1) == 1 &&
              EVP_MAC_final (ctx, e, &m, AES_KEY_BYTES) == 1 && m == AES_KEY_BYTES;

    OPENSSL_cleanse (prk, sizeof (prk));
    EVP_MAC_CTX_free (ctx);
    return ok;
}

/* E (above), and the contexts keyed with it.  Returns NULL with errno
 * ENOMEM: OpenSSL fails here only for lack of resources. */
static struct seal_cache *cache_create (const unsigned char *key, size_t len)
{
    unsigned char e[AES_KEY_BYTES];
    struct seal_cache *c = calloc (1, sizeof (*c));
    OSSL_PARAM mac_params[] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end (),
    };
    /* No cleanup at exit: the process's memory goes with it, and OpenSSL's
     * atexit handler freed its tables in every krun and slot after the job
     * was done (8 % of a warm `krun -n 1 true`'s instructions).  Ignored
     * if OpenSSL was initialised before. */
    OPENSSL_init_crypto (OPENSSL_INIT_NO_ATEXIT, NULL);
    bool ok = c && (c->hmac = EVP_MAC_fetch (NULL, "HMAC", NULL)) &&
              derive_e (c->hmac, key, len, e) &&
              (c->derive = EVP_MAC_CTX_new (c->hmac)) &&
              EVP_MAC_init (c->derive, e, sizeof (e), mac_params) == 1 &&
              (c->aes = EVP_CIPHER_fetch (NULL, "AES-256-GCM", NULL)) &&
              (c->cipher = EVP_CIPHER_CTX_new ()) &&
              EVP_CipherInit_ex2 (c->cipher, c->aes, NULL, NULL, 1, NULL) == 1;

    OPENSSL_cleanse (e, sizeof (e));
    if (!ok) {
        cache_destroy (c);
        errno = ENOMEM;
        return NULL;
    }
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
    OPENSSL_cleanse (buf, len);
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

/* Set up c->cipher for one message: its key is HMAC-SHA256 (E, nonce[0..12)),
 * its GCM nonce nonce[12..24), and header (header_len bytes) the associated
 * data.  enc: 1 to seal, 0 to open.  Returns 0, or -1 with errno ENOMEM. */
static int cipher_begin (struct seal_cache *c, const unsigned char nonce[NONCE_BYTES],
                         const char *header, size_t header_len, int enc)
{
    unsigned char message_key[AES_KEY_BYTES];
    size_t key_len = 0;
    int out_len, rc = -1;

    /* A NULL key restarts the HMAC with the key it has. */
    if (EVP_MAC_init (c->derive, NULL, 0, NULL) == 1 &&
        EVP_MAC_update (c->derive, nonce, NONCE_BYTES - GCM_NONCE_BYTES) == 1 &&
        EVP_MAC_final (c->derive, message_key, &key_len, sizeof (message_key)) == 1 &&
        key_len == sizeof (message_key) &&
        EVP_CipherInit_ex2 (c->cipher, NULL, message_key,
                            nonce + NONCE_BYTES - GCM_NONCE_BYTES, enc, NULL) == 1 &&
        EVP_CipherUpdate (c->cipher, NULL, &out_len, (const unsigned char *)header,
                          (int)header_len) == 1)
        rc = 0;
    OPENSSL_cleanse (message_key, sizeof (message_key));
    if (rc < 0)
        errno = ENOMEM;
    return rc;
}

/* Encrypt or decrypt len bytes of in to out (len may exceed INT_MAX in
 * principle: OpenSSL takes an int).  Returns 0 or -1 (ENOMEM). */
static int cipher_update (struct seal_cache *c, unsigned char *out,
                          const unsigned char *in, size_t len)
{
    while (len > 0) {
        int chunk = len > (1 << 30) ? 1 << 30 : (int)len, out_len;
        if (EVP_CipherUpdate (c->cipher, out, &out_len, in, chunk) != 1 ||
            out_len != chunk) {
            errno = ENOMEM;
            return -1;
        }
        in += chunk;
        out += chunk;
        len -= chunk;
    }
    return 0;
}

char *sign_seal (const struct sign_key *key, const void *body, size_t len,
                 int64_t expires_us, size_t *lenp, struct krun_error *errp)
{
    unsigned char nonce[NONCE_BYTES];
    char header[MAX_HEADER + 1];
    char *sealed, *p;
    int header_len, out_len;

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
    if (cipher_begin (key->cache, nonce, header, header_len, 1) < 0 ||
        cipher_update (key->cache, (unsigned char *)p, body, len) < 0 ||
        EVP_CipherFinal_ex (key->cache->cipher, (unsigned char *)p + len, &out_len) !=
            1 ||
        EVP_CIPHER_CTX_ctrl (key->cache->cipher, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES,
                             p + len) != 1) {
        errno = ENOMEM; /* OpenSSL fails here only for lack of resources */
        errprintf_errno (errp, "cannot seal a message");
        free (sealed);
        return NULL;
    }
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
        OPENSSL_cleanse (c->plain, c->plain_size);
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
    unsigned char nonce[NONCE_BYTES];
    struct seal_cache *c;
    int64_t expiry = 0;
    int digits = 0, out_len;

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
    if (plain_reserve (c, body_len) < 0 ||
        cipher_begin (c, nonce, text, header_len, 0) < 0 ||
        cipher_update (c, (unsigned char *)c->plain, (const unsigned char *)body,
                       body_len) < 0)
        return errprintf_errno (errp, "cannot open a sealed message");
    /* The tag is compared in constant time by OpenSSL; until it matched,
     * the decrypted bytes are not to be looked at. */
    if (EVP_CIPHER_CTX_ctrl (c->cipher, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES,
                             (void *)(uintptr_t)(body + body_len)) != 1 ||
        EVP_CipherFinal_ex (c->cipher, (unsigned char *)c->plain + body_len,
                            &out_len) != 1)
        return bad_message (errp, "bad signature (wrong key or altered message)");
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
    size_t mac_len = 0;

    if (size < SIGN_KEY_ID_LEN + 1) {
        errno = EINVAL;
        return -1;
    }
    /* HMAC-SHA256 keyed with E, as the message keys, but over a 9-byte
     * input where theirs are 12 bytes of nonce: no message key is an id. */
    if (EVP_MAC_init (c->derive, NULL, 0, NULL) != 1 ||
        EVP_MAC_update (c->derive, (const unsigned char *)purpose,
                        sizeof (purpose) - 1) != 1 ||
        EVP_MAC_final (c->derive, mac, &mac_len, sizeof (mac)) != 1) {
        errno = ENOMEM;
        return -1;
    }
    for (int i = 0; i < SIGN_KEY_ID_LEN / 2; i++)
        snprintf (buf + 2 * i, 3, "%02x", mac[i]);
    OPENSSL_cleanse (mac, sizeof (mac));
    return 0;
}
