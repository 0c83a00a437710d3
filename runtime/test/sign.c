/* Unit tests of message signing (runtime/sign.c): the exact sealed form (a
 * known answer computed independently with Python's hmac module), round
 * trips, every kind of tampering and truncation, expiry, and the key file
 * rules (created 0600, 0400 and 0600 accepted, group/world access refused,
 * size limits, concurrent creation keeps one key). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"
#include "tests/tap.h"

#define KEY32 "0123456789abcdef0123456789abcdef"
#define END_BODY "{\"v\":1,\"type\":\"end\",\"job\":\"8661c1249bf31a99\"}"
/* hmac.new (KEY32, b"krun-sig-v1 1795371775334785\n" + END_BODY, sha256) */
#define END_SEALED                  \
    "krun-sig-v1 1795371775334785 " \
    "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY
#define EXPIRY 1795371775334785LL

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
    size_t len = 0, inner_len = 0;
    int64_t expires = 0;
    char *sealed = sign_seal (k, END_BODY, strlen (END_BODY), EXPIRY, &len, &error);

    ok (sealed && len == strlen (END_SEALED) && memcmp (sealed, END_SEALED, len) == 0,
        "seal gives the documented bytes");
    ok (sign_open (k, END_SEALED, strlen (END_SEALED), EXPIRY - 1, &inner, &inner_len,
                   &expires, &error) == 0,
        "open accepts them before the expiry");
    ok (inner_len == strlen (END_BODY) && memcmp (inner, END_BODY, inner_len) == 0,
        "open gives back the protocol body");
    is_int (expires, EXPIRY, "open reports the expiry");
    ok (sign_open (k, END_SEALED, strlen (END_SEALED), EXPIRY, &inner, &inner_len, NULL,
                   &error) == 0,
        "valid up to its expiry included");
    errno = 0;
    expires = 0;
    ok (sign_open (k, END_SEALED, strlen (END_SEALED), EXPIRY + 120000000, &inner,
                   &inner_len, &expires, &error) < 0 &&
            errno == EKEYEXPIRED,
        "refused after the expiry (EKEYEXPIRED)");
    is_str (error.text, "signature expired 120 s ago", "expiry message");
    is_int (expires, EXPIRY, "the expiry of an expired message is reported");
    free (sealed);
    sign_key_destroy (k);
}

static void test_round_trips (void)
{
    static const char binary[] = "line\nwith\0nul and \xff bytes";
    struct sign_key *k = key32 ();
    struct krun_error error;
    const char *inner;
    size_t len, inner_len;
    char *sealed;

    sealed = sign_seal (k, binary, sizeof (binary), 5, &len, &error);
    ok (sealed &&
            sign_open (k, sealed, len, 0, &inner, &inner_len, NULL, &error) == 0 &&
            inner_len == sizeof (binary) && memcmp (inner, binary, inner_len) == 0,
        "binary body with newlines and NUL survives");
    free (sealed);
    sealed = sign_seal (k, NULL, 0, 0, &len, &error);
    ok (sealed &&
            sign_open (k, sealed, len, 0, &inner, &inner_len, NULL, &error) == 0 &&
            inner_len == 0,
        "empty body, expiry 0");
    free (sealed);
    errno = 0;
    ok (!sign_seal (k, "x", 1, -1, &len, &error) && errno == EINVAL,
        "negative expiry refused (EINVAL)");
    sign_key_destroy (k);
}

/* Each entry: a body the right key must refuse, and why. */
static void test_refused (void)
{
    static const struct {
        const char *body;
        const char *what;
    } table[] = {
        {END_BODY, "unsigned protocol body"},
        {"", "empty body"},
        {"krun-sig-v2 1795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY,
         "other header version"},
        {"krun-sig-v1 01795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY,
         "leading zero in the expiry"},
        {"krun-sig-v1 1795371775334786 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY,
         "expiry changed"},
        {"krun-sig-v1 99999999999999999999 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY,
         "expiry of 20 digits"},
        {"krun-sig-v1 -1 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY,
         "negative expiry"},
        {"krun-sig-v1 1795371775334785 "
         "97572BA2D076D5D9E5DD2BDD76EBC01F4881CCFE7633EF5C02C8F800F2C51FD9\n" END_BODY,
         "upper-case MAC"},
        {"krun-sig-v1 1795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd8\n" END_BODY,
         "last MAC digit changed"},
        {"krun-sig-v1 1795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51f\n" END_BODY,
         "MAC too short"},
        {"krun-sig-v1 1795371775334785  "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY,
         "two spaces"},
        {"krun-sig-v1 1795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\r"
         "\n" END_BODY,
         "CR before the newline"},
        {"krun-sig-v1 1795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n"
         "{\"v\":1,\"type\":\"end\",\"job\":\"8661c1249bf31a98\"}",
         "job id changed"},
        {"krun-sig-v1 1795371775334785 "
         "97572ba2d076d5d9e5dd2bdd76ebc01f4881ccfe7633ef5c02c8f800f2c51fd9\n" END_BODY
         " ",
         "a byte appended"},
    };
    struct sign_key *k = key32 ();
    struct krun_error error;

    for (size_t i = 0; i < sizeof (table) / sizeof (table[0]); i++) {
        errno = 0;
        ok (open_copy (k, table[i].body, strlen (table[i].body), 0, &error) < 0 &&
                errno == EBADMSG,
            "refused (EBADMSG): %s", table[i].what);
    }
    errno = 0;
    ok (open_copy (k, END_BODY, strlen (END_BODY), 0, &error) < 0 &&
            strcmp (error.text, "not signed") == 0,
        "an unsigned body is reported as 'not signed'");
    ok (sign_is_sealed (END_SEALED, strlen (END_SEALED)), "a sealed body looks sealed");
    ok (!sign_is_sealed (END_BODY, strlen (END_BODY)), "an unsigned one does not");
    ok (!sign_is_sealed (SIGN_HEADER, strlen (SIGN_HEADER)) &&
            !sign_is_sealed (NULL, 0),
        "nor the bare tag, nor nothing");
    /* Every truncation of a good body, and every single-bit flip. */
    size_t n = strlen (END_SEALED);
    int bad_truncations = 0, bad_flips = 0;
    for (size_t len = 0; len < n; len++)
        if (open_copy (k, END_SEALED, len, 0, &error) == 0 || errno != EBADMSG)
            bad_truncations++;
    is_int (bad_truncations, 0, "all %zu truncations refused", n);
    char *copy = strdup (END_SEALED);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            copy[i] ^= (char)(1 << bit);
            if (open_copy (k, copy, n, 0, &error) == 0)
                bad_flips++;
            copy[i] ^= (char)(1 << bit);
        }
    }
    is_int (bad_flips, 0, "all %zu single-bit flips refused", 8 * n);
    free (copy);
    sign_key_destroy (k);

    struct sign_key *other = sign_key_create ("0123456789abcdef0123456789abcdeF", 32);
    errno = 0;
    ok (other && open_copy (other, END_SEALED, strlen (END_SEALED), 0, &error) < 0 &&
            errno == EBADMSG && strstr (error.text, "bad signature"),
        "another key refuses it: %s", error.text);
    sign_key_destroy (other);
    errno = 0;
    ok (!sign_key_create ("short", 5) && errno == EINVAL, "a 5-byte key is refused");
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
    test_round_trips ();
    test_refused ();
    test_key_files ();
    done_testing ();
    return exit_status ();
}
