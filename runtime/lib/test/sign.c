/* Unit tests of sealed messages (runtime/sign.c): a known answer computed
 * independently (tests/lib/seal.py, Python's cryptography), round trips,
 * every kind of tampering and truncation, expiry, a wrong key, the first
 * version (krun-sig-v1) refused by name, fresh nonces, nothing of the body
 * in clear, and the key file rules (created 0600, 0400 and 0600 accepted,
 * group/world access refused, size limits, concurrent creation keeps one
 * key), and seals recorded from the OpenSSL build (the format did not change
 * when sign.c moved to nettle).  Also prints what sealing and opening cost (not a
 * pass/fail test). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sign.h"
#include "tests/tap.h"

#define KEY32 "0123456789abcdef0123456789abcdef"
#define END_BODY "{\"v\":1,\"type\":\"end\",\"job\":\"8661c1249bf31a99\"}"
#define EXPIRY 1795371775334785LL
#define NONCE "000102030405060708090a0b0c0d0e0f1011121314151617"
#define HEADER "krun-sig-v2 1795371775334785 " NONCE "\n"
/* printf END_BODY | tests/lib/seal.py seal KEYFILE(KEY32) EXPIRY NONCE:
 * the ciphertext (as long as END_BODY), then the 16-byte tag. */
#define END_CIPHER "\x3f" END_CIPHER_TAIL
#define END_CIPHER_TAIL                                                        \
    "\xea\x87\xf9\xb5\xeb\x5b\x7c\xdd\x37\xe7\x26\xd4\x40\xd5\x4d\x39\xa3"     \
    "\xce\x31\x7a\xb9\x08\x30\xc9\x6e\x17\x7c\x92\x2e\x4d\x44\x1a\xf9\x44\xfb" \
    "\x57\x49\x27\xd5\x6b\xf2\x97\xcb\x95"
#define END_TAG "\xc9" END_TAG_TAIL
#define END_TAG_TAIL "\xa4\x6f\x4a\x65\x73\x1b\x8a\x20\xb0\x07\x13\x89\xc0\xae\x65"
#define END_SEALED HEADER END_CIPHER END_TAG
/* The same message as the first version sealed it (HMAC-SHA256, in clear). */
#define END_SEALED_V1               \
    "krun-sig-v1 1795371775334785 " \
    "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY

static struct sign_key *key32 (void)
{
    struct sign_key *k = sign_key_create (KEY32, strlen (KEY32));
    if (!k)
        bail_out ("cannot make a key");
    return k;
}

/* sign_open on a copy of len bytes of s (so ASan sees any overread). */
static int open_copy (const struct sign_key *k, const char *s, size_t len, int64_t now,
                      struct krun_error *errp)
{
    char *copy = malloc (len > 0 ? len : 1);
    const char *inner;
    size_t inner_len;
    int rc;

    if (!copy)
        bail_out ("out of memory");
    memcpy (copy, s, len);
    rc = sign_open (k, copy, len, now, &inner, &inner_len, NULL, errp);
    free (copy);
    return rc;
}

static void test_known_answer (void)
{
    struct sign_key *k = key32 ();
    struct krun_error error = {{0}};
    const char *inner = NULL;
    size_t inner_len = 0, n = sizeof (END_SEALED) - 1;
    int64_t expires = 0;

    is_int (n, strlen (HEADER) + strlen (END_BODY) + 16,
            "the vector is header, ciphertext and tag");
    ok (sign_open (k, END_SEALED, n, EXPIRY - 1, &inner, &inner_len, &expires,
                   &error) == 0,
        "open accepts what seal.py sealed, before the expiry");
    ok (inner_len == strlen (END_BODY) && memcmp (inner, END_BODY, inner_len) == 0 &&
            inner[inner_len] == '\0',
        "open gives back the protocol body, NUL-terminated");
    is_int (expires, EXPIRY, "open reports the expiry");
    ok (sign_open (k, END_SEALED, n, EXPIRY, &inner, &inner_len, NULL, &error) == 0,
        "valid up to its expiry included");
    errno = 0;
    expires = 0;
    ok (sign_open (k, END_SEALED, n, EXPIRY + 120000000, &inner, &inner_len, &expires,
                   &error) < 0 &&
            errno == EKEYEXPIRED,
        "refused after the expiry (EKEYEXPIRED)");
    is_str (error.text, "signature expired 120 s ago", "expiry message");
    is_int (expires, EXPIRY, "the expiry of an expired message is reported");
    sign_key_destroy (k);
}

/* Recorded from the OpenSSL (EVP) build of sign.c before it moved to nettle,
 * and opened by tests/lib/seal.py too: a key that is no hex and not 32 bytes
 * long, a body of 20 AES blocks and 13 bytes (body_333() makes it), and an
 * empty body.  If the derivation of E, of the message keys, the use of the
 * header as associated data or the tag ever changed, these would no longer
 * open: the wire format is the same for every build. */
#define KEY45 "krun known-answer key: 45 bytes, not hex!!..."
#define KEY45_ID "815b74787fffd661"
#define B333_HEADER \
    "krun-sig-v2 1795371775334785 034b75c25ee0a5bff65ed1da438385e02c9725f30c9a67f3\n"
#define B333_HEX                                                       \
    "9ae31ee06a65e390d8201efdd226735cf12cde350e299d2b13c933e2ab85f4c9" \
    "4a0d1eb38eb6f3ba3b645a6d0017de13d3eba39fb5ac428974d68f91f919e0ba" \
    "9479313fa3133cba487575a1327c0f7ba41d034a0a9104e542d83de03d0b20f7" \
    "a6fe04f0b7ed471cf77f6badadedc0a63c78121ae3d46865da27fd9b4e2641a2" \
    "ceff029a0115093d58fdb099a5fa89235d7a09d94a08ff5cef92976d8c5593c2" \
    "7c64002bc1cca7b208b6b7a90b039151d4d6aa7d49e54e2c5eca3350552696f2" \
    "9ca3e3228f37ca3a91117acacb12d2e0d6c8364c8a024e7b51e19122a768ca65" \
    "dc039f4dd9809d2f76c96df46b5186ccc035e53a82d8dc73bb7ceed01f6bcd74" \
    "bf827c2ad919741c7264603a96799e62d41aedb7337137db28a78a2e4fdf55b1" \
    "2634fdac78a9757a1eaab06f8eee946f5292326b4ba442146ecae79426b45ce3" \
    "3b27f525c350fcb9cb75a7f6c8e86562cf65be4e08e9d4e9ae0b3f0e5c"
#define EMPTY_HEADER \
    "krun-sig-v2 1795371775334785 94333b534cc22e7630500e8afb57110f074b3d6080ec4bee\n"
#define EMPTY_HEX "b90b27400b6d6686594d75c4863edb4a"

static void body_333 (unsigned char body[333])
{
    for (int i = 0; i < 333; i++)
        body[i] = (unsigned char)(i * 37 + 11);
}

/* header followed by the bytes of hex; caller must free.  *lenp: its length. */
static char *vector (const char *header, const char *hex, size_t *lenp)
{
    size_t header_len = strlen (header), n = strlen (hex) / 2;
    char *v = malloc (header_len + n);

    if (!v)
        bail_out ("out of memory");
    memcpy (v, header, header_len);
    for (size_t i = 0; i < n; i++) {
        unsigned int byte;
        if (sscanf (hex + 2 * i, "%2x", &byte) != 1)
            bail_out ("bad hex in a vector");
        v[header_len + i] = (char)byte;
    }
    *lenp = header_len + n;
    return v;
}

static void test_recorded (void)
{
    struct sign_key *k = sign_key_create (KEY45, strlen (KEY45)), *k32 = key32 ();
    struct krun_error error = {{0}};
    unsigned char body[333];
    const char *inner = NULL;
    size_t len, inner_len = 0, header_len = strlen (B333_HEADER);
    char *v = vector (B333_HEADER, B333_HEX, &len), id[SIGN_KEY_ID_LEN + 1];

    if (!k)
        bail_out ("cannot make the 45-byte key");
    body_333 (body);
    is_int (len, header_len + 333 + 16,
            "the recorded seal is header, 333 bytes and a tag");
    ok (sign_open (k, v, len, EXPIRY, &inner, &inner_len, NULL, &error) == 0 &&
            inner_len == 333 && memcmp (inner, body, 333) == 0,
        "a seal recorded from the OpenSSL build opens to its body");
    /* One byte flipped in each part: the header (an expiry digit, the key
     * half and the GCM half of the nonce), the ciphertext (first, a middle
     * and last byte) and the tag (first and last byte). */
    const size_t flips[] = {strlen ("krun-sig-v2 17"),
                            strlen ("krun-sig-v2 1795371775334785 03"),
                            header_len - 2,
                            header_len,
                            header_len + 200,
                            header_len + 332,
                            header_len + 333,
                            len - 1};
    for (size_t i = 0; i < sizeof (flips) / sizeof (flips[0]); i++) {
        /* An ASCII digit stays a lower-case hex digit when its low bit
         * flips: the header still parses, only the tag refuses it. */
        v[flips[i]] ^= 1;
        errno = 0;
        ok (open_copy (k, v, len, 0, &error) < 0 && errno == EBADMSG &&
                strstr (error.text, "bad signature"),
            "byte %zu of %zu flipped: refused (%s)", flips[i], len, error.text);
        v[flips[i]] ^= 1;
    }
    errno = 0;
    ok (open_copy (k32, v, len, 0, &error) < 0 && errno == EBADMSG,
        "another key refuses it");
    ok (open_copy (k, v, len, 0, &error) == 0,
        "and the unflipped copy opens (control)");
    free (v);

    v = vector (EMPTY_HEADER, EMPTY_HEX, &len);
    inner_len = 1;
    ok (sign_open (k, v, len, 0, &inner, &inner_len, NULL, &error) == 0 &&
            inner_len == 0 && inner[0] == '\0',
        "a recorded seal of an empty body (the tag alone) opens");
    v[len - 1] ^= 0x80;
    ok (open_copy (k, v, len, 0, &error) < 0 && errno == EBADMSG,
        "and is refused with its tag's last bit flipped");
    free (v);

    ok (sign_key_id (k, id, sizeof (id)) == 0 && strcmp (id, KEY45_ID) == 0,
        "the key's id is the one the OpenSSL build gave: %s", id);
    sign_key_destroy (k32);
    sign_key_destroy (k);
}

/* True if body (len bytes) sealed with k opens again to the same bytes,
 * NUL-terminated, and the seal adds at most SIGN_HEADER_MAX bytes. */
static bool round_trip (const struct sign_key *k, const void *body, size_t len,
                        int64_t expires_us)
{
    struct krun_error error;
    const char *inner;
    size_t sealed_len, inner_len;
    char *sealed = sign_seal (k, body, len, expires_us, &sealed_len, &error);
    bool same =
        sealed && sealed_len <= len + SIGN_HEADER_MAX &&
        sign_open (k, sealed, sealed_len, 0, &inner, &inner_len, NULL, &error) == 0 &&
        inner_len == len && (len == 0 || memcmp (inner, body, len) == 0) &&
        inner[len] == '\0';

    free (sealed);
    return same;
}

static void test_round_trips (void)
{
    static const char binary[] = "line\nwith\0nul and \xff bytes";
    struct sign_key *k = key32 ();
    struct krun_error error;
    size_t len, big_len = 8 << 20;
    char *big = malloc (big_len);

    if (!big)
        bail_out ("out of memory");
    ok (round_trip (k, binary, sizeof (binary), 5),
        "binary body with newlines and NUL survives");
    ok (round_trip (k, NULL, 0, 0), "empty body, expiry 0");
    /* The largest body the protocol allows, after a small one: the buffer
     * sign_open() returns grows, and shrinks again after. */
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)(i * 7 + (i >> 13));
    ok (round_trip (k, big, big_len, 5), "an 8 MiB body survives");
    ok (round_trip (k, binary, sizeof (binary), 5),
        "then a small one again (into a new, smaller buffer)");
    free (big);
    errno = 0;
    ok (!sign_seal (k, "x", 1, -1, &len, &error) && errno == EINVAL,
        "negative expiry refused (EINVAL)");
    sign_key_destroy (k);
}

/* The body must not be readable from the sealed bytes, and the layout is
 * the documented one. */
static void test_confidential (void)
{
    static const char secret[] = "MY_SECRET_TOKEN=hunter2-hunter2";
    struct sign_key *k = key32 ();
    struct krun_error error;
    size_t len;
    char *sealed = sign_seal (k, secret, strlen (secret), EXPIRY, &len, &error);
    const char *nl = sealed ? memchr (sealed, '\n', len) : NULL;

    ok (nl && (size_t)(nl - sealed) == strlen ("krun-sig-v2 1795371775334785 ") + 48 &&
            strncmp (sealed, "krun-sig-v2 1795371775334785 ", 29) == 0 &&
            strspn (sealed + 29, "0123456789abcdef") == 48,
        "header: tag, expiry, 48 lower-case hex digits");
    ok (nl && len == (size_t)(nl + 1 - sealed) + strlen (secret) + 16 &&
            sizeof (END_CIPHER) - 1 == strlen (END_BODY) && sizeof (END_TAG) - 1 == 16,
        "then as many bytes as the body, and a 16-byte tag");
    ok (sealed && !memmem (sealed, len, "SECRET", 6) &&
            !memmem (sealed, len, "hunter", 6),
        "no part of the body appears in clear");
    free (sealed);
    sign_key_destroy (k);
}

/* Nonces are random per message: many seals of one body all differ. */
static int compare_nonces (const void *a, const void *b)
{
    return memcmp (a, b, 48);
}

static void test_nonces (void)
{
    enum { N = 100000 };
    struct sign_key *k = key32 ();
    char (*nonces)[48] = malloc (N * sizeof (*nonces));
    int failed = 0, repeated = 0;
    size_t len;

    if (!nonces)
        bail_out ("out of memory");
    for (int i = 0; i < N; i++) {
        char *sealed = sign_seal (k, END_BODY, strlen (END_BODY), EXPIRY, &len, NULL);
        if (!sealed)
            failed++;
        else
            memcpy (nonces[i], sealed + 29, 48);
        free (sealed);
    }
    qsort (nonces, N, sizeof (*nonces), compare_nonces);
    for (int i = 1; i < N; i++)
        if (memcmp (nonces[i - 1], nonces[i], 48) == 0)
            repeated++;
    ok (failed == 0 && repeated == 0, "%d seals of one body: %d nonces repeated", N,
        repeated);
    free (nonces);
    sign_key_destroy (k);
}

/* Each entry: a body the right key must refuse, what it is, and a part of
 * the reason sign_open() must give. */
static void test_refused (void)
{
#define BAD_TAG "bad signature (wrong key or altered message)"
#define EXPIRY_TEXT "signature header: malformed expiry"
#define NONCE_TEXT "signature header: malformed nonce"
    static const struct {
        const char *body;
        const char *what;
        const char *why;
    } table[] = {
        {END_BODY, "unsigned protocol body", "not signed"},
        {"", "empty body", "not signed"},
        {"krun-sig-v2 01795371775334785 " NONCE "\n" END_CIPHER END_TAG,
         "leading zero in the expiry", EXPIRY_TEXT},
        {"krun-sig-v2 1795371775334786 " NONCE "\n" END_CIPHER END_TAG,
         "expiry changed", BAD_TAG},
        {"krun-sig-v2 99999999999999999999 " NONCE "\n" END_CIPHER END_TAG,
         "expiry of 20 digits", "expiry out of range"},
        {"krun-sig-v2 -1 " NONCE "\n" END_CIPHER END_TAG, "negative expiry",
         EXPIRY_TEXT},
        {"krun-sig-v2 1795371775334785 "
         "000102030405060708090A0B0C0D0E0F1011121314151617\n" END_CIPHER END_TAG,
         "upper-case nonce", NONCE_TEXT},
        {"krun-sig-v2 1795371775334785 "
         "000102030405060708090a0b0c0d0e0f1011121314151616\n" END_CIPHER END_TAG,
         "last nonce digit changed (the GCM nonce)", BAD_TAG},
        {"krun-sig-v2 1795371775334785 "
         "100102030405060708090a0b0c0d0e0f1011121314151617\n" END_CIPHER END_TAG,
         "first nonce digit changed (the message key)", BAD_TAG},
        {"krun-sig-v2 1795371775334785 "
         "000102030405060708090a0b0c0d0e0f10111213141516\n" END_CIPHER END_TAG,
         "nonce too short", NONCE_TEXT},
        {"krun-sig-v2 1795371775334785  " NONCE "\n" END_CIPHER END_TAG, "two spaces",
         NONCE_TEXT},
        {"krun-sig-v2 1795371775334785 " NONCE "\r\n" END_CIPHER END_TAG,
         "CR before the newline", NONCE_TEXT},
        {HEADER "\x3e" END_CIPHER_TAIL END_TAG, "first ciphertext byte changed",
         BAD_TAG},
        {HEADER END_CIPHER "\xc8" END_TAG_TAIL, "first tag byte changed", BAD_TAG},
        {HEADER END_CIPHER END_TAG " ", "a byte appended", BAD_TAG},
        {HEADER END_TAG, "ciphertext removed", BAD_TAG},
        {HEADER END_CIPHER, "tag removed", BAD_TAG},
        {HEADER "0123456789abcde", "shorter than a tag", "truncated (no tag)"},
        {HEADER END_BODY "0123456789abcdef", "the body in clear with some tag",
         BAD_TAG},
        {"krun-sig-v3 1795371775334785 " NONCE "\n" END_CIPHER END_TAG,
         "another version",
         "sealed with version krun-sig-v3, which this build refuses"},
        {END_SEALED_V1, "the first version (HMAC, in clear), though its MAC is good",
         "sealed with version krun-sig-v1, which this build refuses"},
        {"krun-sig-v", "the bare tag", "not signed"},
        {"krun-sig-v2", "the bare tag and version", "malformed version"},
        {"krun-sig-vx 1", "a version that is no number", "malformed version"},
    };
    struct sign_key *k = key32 ();
    struct krun_error error;

    for (size_t i = 0; i < sizeof (table) / sizeof (table[0]); i++) {
        errno = 0;
        error.text[0] = '\0';
        ok (open_copy (k, table[i].body, strlen (table[i].body), 0, &error) < 0 &&
                errno == EBADMSG && strstr (error.text, table[i].why),
            "refused (EBADMSG): %s: %s", table[i].what, error.text);
    }
    errno = 0;
    ok (open_copy (k, END_BODY, strlen (END_BODY), 0, &error) < 0 &&
            strcmp (error.text, "not signed") == 0,
        "an unsigned body is reported as 'not signed'");
    open_copy (k, END_SEALED_V1, strlen (END_SEALED_V1), 0, &error);
    is_str (error.text,
            "sealed with version krun-sig-v1, which this build refuses: it reads "
            "krun-sig-v2 only (a krun or krund of another version?)",
            "the first version is refused by name");
    ok (sign_is_sealed (END_SEALED, sizeof (END_SEALED) - 1),
        "a sealed body looks sealed");
    ok (sign_is_sealed (END_SEALED_V1, strlen (END_SEALED_V1)),
        "so does one of the first version (for sign_open() to refuse by name)");
    ok (!sign_is_sealed (END_BODY, strlen (END_BODY)), "an unsigned one does not");
    ok (!sign_is_sealed (SIGN_TAG, strlen (SIGN_TAG)) && !sign_is_sealed (NULL, 0),
        "nor the bare tag, nor nothing");
    sign_key_destroy (k);
}

/* Every truncation of a good body, every single-bit flip, another key. */
static void test_damaged (void)
{
    struct sign_key *k = key32 ();
    struct krun_error error;
    size_t n = sizeof (END_SEALED) - 1;
    int bad_truncations = 0, bad_flips = 0;
    for (size_t len = 0; len < n; len++)
        if (open_copy (k, END_SEALED, len, 0, &error) == 0 || errno != EBADMSG)
            bad_truncations++;
    is_int (bad_truncations, 0, "all %zu truncations refused", n);
    char *copy = malloc (n);
    memcpy (copy, END_SEALED, n);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            copy[i] ^= (char)(1 << bit);
            if (open_copy (k, copy, n, 0, &error) == 0)
                bad_flips++;
            copy[i] ^= (char)(1 << bit);
        }
    }
    is_int (bad_flips, 0, "all %zu single-bit flips refused", 8 * n);
    ok (open_copy (k, copy, n, 0, &error) == 0,
        "and the unflipped copy opens (control)");
    free (copy);
    sign_key_destroy (k);

    struct sign_key *other = sign_key_create ("0123456789abcdef0123456789abcdeF", 32);
    errno = 0;
    ok (other && open_copy (other, END_SEALED, n, 0, &error) < 0 && errno == EBADMSG &&
            strstr (error.text, "bad signature"),
        "another key refuses it: %s", error.text);
    sign_key_destroy (other);
    errno = 0;
    ok (!sign_key_create ("short", 5) && errno == EINVAL, "a 5-byte key is refused");
}

static double seconds (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What a seal and an open cost on this machine, for the record (docs and
 * reports quote it); not a pass/fail test. */
static void measure (void)
{
    static const size_t sizes[] = {100, 300, 4096, 65536};
    struct sign_key *k = key32 ();
    char *body = malloc (65536);

    if (!body)
        bail_out ("out of memory");
    memset (body, 'x', 65536);
    for (size_t s = 0; s < sizeof (sizes) / sizeof (sizes[0]); s++) {
        int rounds = sizes[s] > 10000 ? 2000 : 20000, opened = 0;
        char *sealed = NULL;
        const char *inner;
        size_t len = 0, inner_len;
        double t0 = seconds ();
        for (int i = 0; i < rounds; i++) {
            free (sealed);
            sealed = sign_seal (k, body, sizes[s], EXPIRY, &len, NULL);
        }
        double t1 = seconds ();
        for (int i = 0; i < rounds; i++)
            opened += sealed && sign_open (k, sealed, len, 0, &inner, &inner_len, NULL,
                                           NULL) == 0;
        double t2 = seconds ();
        diag ("%5zu-byte body: seal %.2f us, open %.2f us (%d rounds)", sizes[s],
              (t1 - t0) / rounds * 1e6, (t2 - t1) / rounds * 1e6, rounds);
        if (opened != rounds)
            diag ("(only %d of %d opened)", opened, rounds);
        free (sealed);
    }
    free (body);
    sign_key_destroy (k);
}

static void write_file (const char *path, const char *text, mode_t mode)
{
    int fd;

    unlink (path);
    if ((fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
        write (fd, text, strlen (text)) != (ssize_t)strlen (text) ||
        fchmod (fd, mode) < 0 || close (fd) < 0)
        bail_out ("cannot write %s", path);
}

/* True if key a opens what key b sealed. */
static bool same_key (const struct sign_key *a, const struct sign_key *b)
{
    struct krun_error error;
    const char *inner;
    size_t len, inner_len;
    char *sealed = sign_seal (b, "x", 1, 10, &len, &error);
    bool same =
        sealed && sign_open (a, sealed, len, 0, &inner, &inner_len, NULL, &error) == 0;

    free (sealed);
    return same;
}

static void test_key_files (void)
{
    char dir[] = "/tmp/krun-sign-test.XXXXXX", path[256], msg[600];
    struct krun_error error = {{0}};
    struct sign_key *k, *k2, *ref = key32 ();
    struct stat st;

    if (!mkdtemp (dir))
        bail_out ("mkdtemp");
    snprintf (path, sizeof (path), "%s/key", dir);

    errno = 0;
    ok (!sign_key_load (path, &error) && errno == ENOENT, "missing file: ENOENT");
    k = sign_key_load_or_create (path, &error);
    ok (k != NULL, "created on first use");
    ok (stat (path, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 65,
        "created mode 0600, 64 hex digits and a newline");
    k2 = sign_key_load_or_create (path, &error);
    ok (k2 && same_key (k, k2), "the second use loads the same key");
    sign_key_destroy (k2);
    sign_key_destroy (k);

    write_file (path, KEY32 "\n", 0600);
    k = sign_key_load (path, &error);
    ok (k && same_key (k, ref), "mode 0600 accepted, trailing newline not part of it");
    sign_key_destroy (k);
    write_file (path, KEY32, 0400);
    k = sign_key_load (path, &error);
    ok (k && same_key (k, ref), "mode 0400 accepted (a Kubernetes Secret)");
    sign_key_destroy (k);

    write_file (path, KEY32, 0440);
    if (chown (path, -1, getegid ()) < 0)
        bail_out ("chown");
    k = sign_key_load (path, &error);
    ok (k && same_key (k, ref),
        "mode 0440 of the own group accepted (a Secret with fsGroup)");
    sign_key_destroy (k);
    write_file (path, KEY32, 0640);
    /* Root can give a file any group; others usually only their own. */
    if (chown (path, -1, getegid () == 0 ? 1 : 0) == 0) {
        errno = 0;
        ok (!sign_key_load (path, &error) && errno == EACCES,
            "mode 0640 of another group refused");
    } else
        diag ("cannot give the key file another group: that case is not tested");

    static const mode_t refused[] = {0644, 0604, 0660, 0601, 0610, 0650};
    for (size_t i = 0; i < sizeof (refused) / sizeof (refused[0]); i++) {
        write_file (path, KEY32, refused[i]);
        errno = 0;
        ok (!sign_key_load (path, &error) && errno == EACCES,
            "mode %04o refused (EACCES)", (unsigned)refused[i]);
    }
    snprintf (msg, sizeof (msg),
              "signing key %s is accessible by group or others (mode 0650): run "
              "chmod 600 %s",
              path, path);
    is_str (error.text, msg, "the message names the file and its mode");
    setenv ("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    ok (!sign_key_load (path, &error) && errno == EACCES &&
            strstr (error.text, "defaultMode to 0440") &&
            strstr (error.text, "securityContext.fsGroup") &&
            !strstr (error.text, "chmod"),
        "in a pod the message says what to set, not chmod: %s", error.text);
    unsetenv ("KUBERNETES_SERVICE_HOST");
    errno = 0;
    ok (!sign_key_load_or_create (path, &error) && errno == EACCES,
        "load_or_create does not replace a refused file");

    write_file (path, "0123456789abcdef0123456789abcde\n", 0600);
    errno = 0;
    ok (!sign_key_load (path, &error) && errno == EINVAL &&
            strstr (error.text, "31 bytes, expected 32 to 4096"),
        "a 31-byte key is refused: %s", error.text);
    char *big = malloc (SIGN_KEY_MAX + 2);
    memset (big, 'k', SIGN_KEY_MAX + 1);
    big[SIGN_KEY_MAX + 1] = '\0';
    write_file (path, big, 0600);
    errno = 0;
    ok (!sign_key_load (path, &error) && errno == EINVAL, "a key over 4096 bytes too");
    big[SIGN_KEY_MAX] = '\0';
    write_file (path, big, 0600);
    k = sign_key_load (path, &error);
    ok (k != NULL, "a key of exactly 4096 bytes is accepted");
    sign_key_destroy (k);
    free (big);
    errno = 0;
    ok (!sign_key_load (dir, &error) && errno == EINVAL, "a directory is refused");

    unlink (path);
    rmdir (dir);
    sign_key_destroy (ref);
}

int main (void)
{
    plan (NO_PLAN);
    test_known_answer ();
    test_recorded ();
    test_round_trips ();
    test_confidential ();
    test_nonces ();
    test_refused ();
    test_damaged ();
    test_key_files ();
    measure ();
    done_testing ();
    return exit_status ();
}
