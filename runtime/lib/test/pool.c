/* Unit tests of runtime/pool.c and sign_key_id(). */
#include <errno.h>
#include <string.h>

#include "pool.h"
#include "sign.h"
#include "tests/tap.h"

int main (void)
{
    static const char bytes[] = "0123456789abcdef0123456789abcdef";
    struct sign_key *key = sign_key_create (bytes, strlen (bytes));
    struct krun_error error;
    struct pool p;
    char id[SIGN_KEY_ID_LEN + 1];

    plan (NO_PLAN);
    ok (pool_init (&p, "alice-7_x", &error) == 0,
        "a pool name of letters, digits, - and _");
    is_str (p.control, "krun.alice-7_x.control", "its control exchange");
    is_str (p.presence, "krun.alice-7_x.presence", "its presence exchange");
    is_str (p.roster, "krun.alice-7_x.roster", "its roster queue");
    const char *bad[] = {
        "", "a.b", "a b", "x/y",
        "01234567890123456789012345678901234567890123456789012345678901234"};
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        errno = 0;
        ok (pool_init (&p, bad[i], &error) < 0 && errno == EINVAL &&
                strstr (error.text, "pool name"),
            "pool name '%s' refused: %s", bad[i], error.text);
    }
    /* Computed independently: Python's hmac (HKDF by hand), and openssl kdf + dgst in
     * tests/lib/test-lib.sh (pool_of). */
    ok (key && sign_key_id (key, id, sizeof (id)) == 0, "the key's id");
    is_str (id, "9cf7a9c07280f37e", "the id is HMAC-SHA256 (E, \"krun-pool\"), 16 hex");
    errno = 0;
    ok (sign_key_id (key, id, SIGN_KEY_ID_LEN) < 0 && errno == EINVAL,
        "a buffer without room for the NUL is refused");
    ok (pool_init_default (&p, NULL, key, &error) == 0 &&
            strcmp (p.name, "k9cf7a9c07280f37e") == 0,
        "no name: the pool of the key");
    ok (pool_init_default (&p, "", key, &error) == 0 &&
            strcmp (p.name, "k9cf7a9c07280f37e") == 0,
        "an empty name: the pool of the key");
    ok (pool_init_default (&p, "team", key, &error) == 0 &&
            strcmp (p.name, "team") == 0,
        "a name wins over the key");
    sign_key_destroy (key);
    done_testing ();
}
