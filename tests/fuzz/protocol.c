/* libFuzzer harness for the protocol decoder (runtime/protocol.c), the code
 * that parses what anyone with access to the broker can send.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks the codec's
 * promise: a body the decoder accepts encodes again (unless it is an output
 * message with a payload over the encoder's chunk size), the encoding
 * decodes, and encoding that gives the same bytes: one canonical form.
 * Built and run by tests/fuzz/run (`make fuzz`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct protocol_msg msg, again;
    struct krun_error error;
    size_t len1, len2;
    char *body1, *body2;

    if (protocol_decode (data, size, &msg, &error) < 0) {
        protocol_msg_clear (&msg);
        return 0;
    }
    if (msg.type == PROTOCOL_OUTPUT && msg.output.len > PROTOCOL_MAX_OUTPUT_CHUNK) {
        protocol_msg_clear (&msg);
        return 0;
    }
    if (!(body1 = protocol_encode (&msg, &len1, &error)))
        abort (); /* accepted but not encodable */
    if (protocol_decode (body1, len1, &again, &error) < 0)
        abort (); /* the encoder made something the decoder refuses */
    if (!(body2 = protocol_encode (&again, &len2, &error)))
        abort ();
    if (len1 != len2 || memcmp (body1, body2, len1) != 0)
        abort (); /* no fixpoint: the canonical form is not stable */
    free (body2);
    protocol_msg_clear (&again);
    free (body1);
    protocol_msg_clear (&msg);
    return 0;
}
