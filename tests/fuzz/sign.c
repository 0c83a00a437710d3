/* libFuzzer harness for the signature check (runtime/sign.c): whatever the
 * bytes, sign_open() must not crash or read out of bounds, and must accept
 * nothing that was not sealed with the key (a random input that passes
 * would mean a broken MAC check).  Sealing the input and opening it again
 * must give it back.  Built and run by tests/fuzz/run (`make fuzz`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* Not the key of the corpus's sealed-end.txt (docs/protocol.md): that
     * one is a well-formed near miss. */
    static const char key_text[] = "fuzz-key-fuzz-key-fuzz-key-fuzz-key";
    struct sign_key *key = sign_key_create (key_text, strlen (key_text));
    const char *inner;
    size_t inner_len, len;
    char *sealed;

    if (!key)
        abort ();
    if (sign_open (key, data, size, 0, &inner, &inner_len, NULL, NULL) == 0)
        abort (); /* forged: the fuzzer found a valid MAC */
    if (!(sealed = sign_seal (key, data, size, 1, &len, NULL)) ||
        sign_open (key, sealed, len, 0, &inner, &inner_len, NULL, NULL) < 0 ||
        inner_len != size || (size > 0 && memcmp (inner, data, size) != 0))
        abort ();
    free (sealed);
    sign_key_destroy (key);
    return 0;
}
