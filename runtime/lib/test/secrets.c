/* Unit tests of the secrets krun hands a remote krund (secrets.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/util/clock.h"
#include "runtime/util/fdio.h"
#include "runtime/lib/secrets.h"
#include "tests/tap.h"
#include "tests/testdir.h"

#define URL "amqp://user:pa55word@127.0.0.1:5672/"
#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Write len bytes of text into a pipe and close it (if close_it) and read
 * them back as secrets. */
static int read_text (const char *text, size_t len, bool close_it, int timeout_ms,
                      char **url, struct sign_key **key, struct krun_error *error)
{
    int fds[2], rc;

    if (pipe (fds) < 0 || fdio_write_all (fds[1], text, len) < 0)
        bail_out ("pipe");
    if (close_it)
        close (fds[1]);
    error->text[0] = '\0';
    errno = 0;
    rc = secrets_read (fds[0], timeout_ms, url, key, error);
    close (fds[0]);
    if (!close_it)
        close (fds[1]);
    return rc;
}

/* Whether a and b are the same key: what one seals, the other opens. */
static bool same_key (const struct sign_key *a, const struct sign_key *b)
{
    size_t len, inner_len;
    const char *inner;
    char *sealed = sign_seal (a, "body", 4, 1000000000000000LL, &len, NULL);
    bool same = sealed &&
                sign_open (b, sealed, len, 0, &inner, &inner_len, NULL, NULL) == 0 &&
                inner_len == 4;
    free (sealed);
    return same;
}

static const struct {
    const char *text, *message;
    int errnum;
} bad[] = {
    {"", "no broker URL line in the 0 bytes of secrets on standard input", EINVAL},
    {URL, "no broker URL line in the 36 bytes of secrets on standard input", EINVAL},
    {"\n" KEY, "no broker URL line in the 65 bytes of secrets on standard input",
     EINVAL},
    {URL "\nshortkey\n", "the key on standard input has 8 bytes, expected 32 to 4096",
     EINVAL},
    {URL "\n", "the key on standard input has 0 bytes, expected 32 to 4096", EINVAL},
    {"http://x/\n" KEY, NULL, EINVAL},
};

/* secrets_read_url() of len bytes of text in a pipe (closed if close_it). */
static int read_url_text (const char *text, size_t len, bool close_it, int timeout_ms,
                          char **url, struct krun_error *error)
{
    int fds[2], rc;

    if (pipe (fds) < 0 || fdio_write_all (fds[1], text, len) < 0)
        bail_out ("pipe");
    if (close_it)
        close (fds[1]);
    rc = secrets_read_url (fds[0], timeout_ms, url, error);
    close (fds[0]);
    if (!close_it)
        close (fds[1]);
    return rc;
}

static void test_read_url (void)
{
    struct krun_error error;
    char *url = NULL;

    ok (read_url_text (URL "\n", strlen (URL) + 1, true, 1000, &url, &error) == 0,
        "the URL alone: read (%s)", error.text);
    is_str (url, URL, "the URL, without its newline");
    free (url);
    int64_t t0 = clock_mono_ms ();
    int rc = read_url_text (URL "\n", strlen (URL) + 1, false, 200, &url, &error);
    int err = errno;
    ok (rc < 0 && err == ETIMEDOUT && url == NULL,
        "input that never ends: ETIMEDOUT after %lld ms: %s",
        (long long)(clock_mono_ms () - t0), error.text);
    ok (read_url_text (URL, strlen (URL), true, 1000, &url, &error) < 0 &&
            errno == EINVAL,
        "no newline: EINVAL: %s", error.text);
    ok (read_url_text ("http://x/\n", 10, true, 1000, &url, &error) < 0 &&
            errno == EINVAL,
        "not a broker URL: refused: %s", error.text);
    /* One byte more than a URL line may have. */
    char *big = malloc (TRANSPORT_URL_MAX + 2);
    if (!big)
        bail_out ("out of memory");
    memset (big, 'a', TRANSPORT_URL_MAX + 2);
    ok (read_url_text (big, TRANSPORT_URL_MAX + 2, true, 1000, &url, &error) < 0 &&
            errno == E2BIG &&
            strstr (error.text, "bytes of broker URL on standard input"),
        "too long: E2BIG: %s", error.text);
    free (big);
}

int main (void)
{
    struct sign_key *key, *want = sign_key_create (KEY, strlen (KEY));
    struct krun_error error;
    char *url;

    plan (NO_PLAN);
    test_read_url ();
    ok (read_text (URL "\n" KEY "\n", strlen (URL KEY) + 2, true, 1000, &url, &key,
                   &error) == 0,
        "URL line and key: read (%s)", error.text);
    is_str (url, URL, "the URL");
    ok (key && same_key (key, want), "the key, its newline not part of it");
    free (url);
    sign_key_destroy (key);
    ok (read_text (URL "\n" KEY, strlen (URL KEY) + 1, true, -1, &url, &key, &error) ==
                0 &&
            same_key (key, want),
        "a key without a newline, no time limit");
    free (url);
    sign_key_destroy (key);

    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        url = (char *)"untouched";
        ok (read_text (bad[i].text, strlen (bad[i].text), true, 1000, &url, &key,
                       &error) < 0 &&
                errno == bad[i].errnum && url == NULL && key == NULL,
            "bad secrets %zu: refused, errno %d, nothing returned", i, errno);
        if (bad[i].message)
            is_str (error.text, bad[i].message, "bad secrets %zu: message", i);
        ok (!strstr (error.text, "pa55word") && !strstr (error.text, KEY),
            "bad secrets %zu: the message shows no secret: %s", i, error.text);
    }

    /* A writer that never finishes: the reader gives up in time. */
    ok (read_text (URL "\n" KEY, strlen (URL KEY) + 1, false, 200, &url, &key, &error) <
                0 &&
            errno == ETIMEDOUT,
        "input that does not end: ETIMEDOUT");
    is_str (error.text,
            "no end of the secrets on standard input within 200 ms (the broker URL and "
            "the key, sent by krun)",
            "its message");

    /* More than SECRETS_MAX bytes. */
    size_t big_len = SECRETS_MAX + 10;
    char *big = malloc (big_len), *child_url;
    int fds[2];
    memset (big, 'k', big_len);
    memcpy (big, URL "\n", strlen (URL) + 1);
    if (pipe (fds) < 0)
        bail_out ("pipe");
    if (fork () == 0) {
        close (fds[0]);
        _exit (fdio_write_all (fds[1], big, big_len) < 0);
    }
    close (fds[1]);
    errno = 0;
    ok (secrets_read (fds[0], 5000, &child_url, &key, &error) < 0 && errno == E2BIG,
        "more than SECRETS_MAX bytes: E2BIG (%s)", error.text);
    close (fds[0]);
    free (big);

    /* What secrets_encode() makes, secrets_read() reads. */
    size_t len;
    char *text;
    testdir_create ("secrets");
    const char *key_path = testdir_write ("key", KEY "\n");
    chmod (key_path, 0600);
    ok ((text = secrets_encode (URL, key_path, &len, &error)) != NULL, "encoded (%s)",
        error.text);
    ok (text && read_text (text, len, true, 1000, &url, &key, &error) == 0 &&
            strcmp (url, URL) == 0 && same_key (key, want),
        "and read back: the same URL and key");
    secrets_free (text, len);
    free (url);
    sign_key_destroy (key);
    chmod (key_path, 0644);
    errno = 0;
    ok (!secrets_encode (URL, key_path, &len, &error) && errno == EACCES,
        "a key file others can read is not sent: EACCES (%s)", error.text);
    chmod (key_path, 0600);
    errno = 0;
    ok (!secrets_encode ("amqp://u:p@h:1/\nx", key_path, &len, &error) &&
            errno == EINVAL,
        "a URL with a newline: EINVAL");
    is_str (error.text, "the broker URL holds a newline", "its message");
    testdir_remove ();
    secrets_free (NULL, 0);
    sign_key_destroy (want);
    done_testing ();
    return exit_status ();
}
