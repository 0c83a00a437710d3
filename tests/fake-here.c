/* fake-here - test helper: answer every `who` on the broker with a `here`
 * naming NODE and PID, as a daemon elsewhere (another machine, a container)
 * would, until TIMEOUT_S pass.  Prints "ready" on stderr once bound.
 *
 *   fake-here URL NODE PID [TIMEOUT_S]
 *
 * Exits 0 after answering at least one `who`, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "protocol.h"
#include "transport.h"

int main (int argc, char *argv[])
{
    struct krun_error error;
    struct transport_message m;
    struct transport *t;
    char *queue = NULL;
    int answered = 0, rc;
    int cores[1] = {0};

    if (argc < 4) {
        fprintf (stderr, "usage: fake-here URL NODE PID [TIMEOUT_S]\n");
        return 2;
    }
    int64_t deadline = clock_mono_ms () + (argc > 4 ? atoi (argv[4]) : 60) * 1000LL;
    if (!(t = transport_connect (argv[1], NULL, 0, &error)) ||
        transport_declare_queue (t, "", TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE, 0,
                                 &queue, &error) < 0 ||
        transport_bind (t, queue, PROTOCOL_EXCHANGE_PRESENCE, PROTOCOL_KEY_WHO,
                        &error) < 0 ||
        transport_consume (t, queue, "fake-here", true, &error) < 0 ||
        /* Launchers wait for as many answers as the roster has consumers. */
        transport_declare_queue (t, PROTOCOL_QUEUE_ROSTER, 0, 0, NULL, &error) < 0 ||
        transport_consume (t, PROTOCOL_QUEUE_ROSTER, "roster", true, &error) < 0) {
        fprintf (stderr, "fake-here: %s\n", error.text);
        transport_destroy (t);
        free (queue);
        return 1;
    }
    fprintf (stderr, "ready\n");
    while (clock_mono_ms () < deadline) {
        struct protocol_msg here = {.type = PROTOCOL_HERE};
        char *body;
        size_t len;

        if ((rc = transport_next (t, 200, &m, &error)) < 0) {
            fprintf (stderr, "fake-here: %s\n", error.text);
            break;
        }
        if (rc != TRANSPORT_DELIVERY || strcmp (m.consumer_tag, "fake-here") != 0 ||
            !*m.reply_to)
            continue;
        here.here.node = argv[2];
        here.here.pid = atoi (argv[3]);
        here.here.nslots = 1;
        here.here.cores = cores;
        here.here.started_us = clock_wall_us ();
        here.here.version = PACKAGE_VERSION;
        if (!(body = protocol_encode (&here, &len, &error)) ||
            transport_publish (t, "", m.reply_to, "here", NULL, 0, body, len, &error) <
                0) {
            fprintf (stderr, "fake-here: %s\n", error.text);
            free (body);
            break;
        }
        free (body);
        answered++;
    }
    transport_destroy (t);
    free (queue);
    return answered > 0 ? 0 : 1;
}
