/* libFuzzer harness for sealed messages (runtime/sign.c): whatever the
 * bytes, sign_open() must not crash or read out of bounds, and must accept
 * nothing that was not sealed with the key (a random input that passes
 * would mean a broken tag check).  Sealing the input and opening it again
 * must give it back, and flipping any one bit of that seal (at a place the
 * input chooses) must make it refused.  Built and run by tests/fuzz/run
 * (`make fuzz`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* Not the key of the corpus's sealed-end seeds (docs/protocol.md):
     * those are well-formed near misses. */
    static const char key_text[] = "fuzz-key-fuzz-key-fuzz-key-fuzz-key";
    static struct sign_key *key;
    const char *inner;
    size_t inner_len, len;
    char *sealed;

    /* One key for the whole run, as krun and krund keep theirs: its cached
     * contexts see every input in turn. */
    if (!key && !(key = sign_key_create (key_text, strlen (key_text))))
        abort ();
    if (sign_open (key, data, size, 0, &inner, &inner_len, NULL, NULL) == 0)
        abort (); /* forged: the fuzzer found a valid tag */
    if (!(sealed = sign_seal (key, data, size, 1, &len, NULL)) ||
        sign_open (key, sealed, len, 0, &inner, &inner_len, NULL, NULL) < 0 ||
        inner_len != size || (size > 0 && memcmp (inner, data, size) != 0))
        abort ();
    size_t at = size > 0 ? (data[0] | (size_t)data[size - 1] << 8) % len : 0;
    sealed[at] ^= (char)(1 << (size > 0 ? data[size / 2] % 8 : 0));
    if (sign_open (key, sealed, len, 0, &inner, &inner_len, NULL, NULL) == 0)
        abort (); /* an altered seal was accepted */
    free (sealed);
    return 0;
}
