/* Unit tests of base64_encode() and base64_decode(): the test vectors of
 * RFC 4648 section 10, both ways, and what the decoder refuses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "tests/tap.h"

/* Arrays, not pointers: GCC's -Wformat-overflow under the sanitizers
 * cannot tell that a pointer of this table is never NULL. */
static const struct {
    const char plain[8], encoded[12];
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_vectors (void)
{
    for (size_t i = 0; i < sizeof (rfc4648) / sizeof (rfc4648[0]); i++) {
        const char *plain = rfc4648[i].plain, *encoded = rfc4648[i].encoded;
        char *text = base64_encode (plain, strlen (plain));
        size_t len = 99;
        char *bytes;

        is_str (text, encoded, "encode \"%s\"", plain);
        free (text);
        bytes = base64_decode (encoded, &len);
        ok (bytes && len == strlen (plain) && strcmp (bytes, plain) == 0,
            "decode \"%s\" (NUL-terminated)", encoded);
        free (bytes);
    }
}

static void test_binary (void)
{
    unsigned char all[256];
    size_t len;
    char *text;
    unsigned char *back;

    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    text = base64_encode (all, sizeof (all));
    back = base64_decode (text, &len);
    ok (back && len == sizeof (all) && memcmp (back, all, len) == 0,
        "all 256 byte values go there and back");
    ok (text && strchr (text, '+') && strchr (text, '/'),
        "the standard alphabet (+ and /) is written");
    free (text);
    free (back);
}

static void test_lenient (void)
{
    size_t len;
    char *bytes;

    bytes = base64_decode ("Zm9v\nYmFy\r\n", &len);
    ok (bytes && len == 6 && strcmp (bytes, "foobar") == 0, "line ends are skipped");
    free (bytes);
    bytes = base64_decode ("Zm9vYg", &len);
    ok (bytes && len == 4 && strcmp (bytes, "foob") == 0, "padding may be left out");
    free (bytes);
    bytes = base64_decode ("-_-_", &len);
    ok (bytes && len == 3 && memcmp (bytes, "\xfb\xff\xbf", 3) == 0,
        "the URL-safe alphabet (- and _) is read");
    free (bytes);
}

static void test_invalid (void)
{
    const char *bad[] = {"Zm9v!", "Zm 9v*", "Z", "Zm9vY", "\xc3\xa9"};
    size_t len;

    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        errno = 0;
        ok (base64_decode (bad[i], &len) == NULL && errno == EINVAL,
            "\"%s\" is refused with EINVAL", bad[i]);
    }
}

int main (void)
{
    plan (NO_PLAN);
    test_vectors ();
    test_binary ();
    test_lenient ();
    test_invalid ();
    done_testing ();
    return exit_status ();
}
