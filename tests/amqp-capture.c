/* amqp-capture - test helper: bind a fresh queue to an exchange (with
 * BINDING_KEY, default ""), print "ready" on stderr, and write the bodies of
 * the next COUNT messages to files PREFIX.1, PREFIX.2, ...  (amqp-consume
 * from amqp-tools 0.11 crashes on messages with krun's properties, and
 * cannot say when it is bound.)  COUNT 0: every message until TIMEOUT_S has
 * passed or a SIGTERM comes.
 *
 *   amqp-capture URL EXCHANGE COUNT PREFIX [TIMEOUT_S [BINDING_KEY]]
 *
 * Exits 0 when COUNT messages were written (COUNT 0: at least one), 1 on
 * error or timeout. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "transport.h"

static volatile sig_atomic_t stop;

static void on_term (int sig)
{
    (void)sig;
    stop = 1;
}

int main (int argc, char *argv[])
{
    struct krun_error error;
    struct transport_message m;
    struct transport *t;
    char *queue = NULL;
    int count, got = 0, rc;

    if (argc < 5) {
        fprintf (stderr,
                 "usage: amqp-capture URL EXCHANGE COUNT PREFIX [TIMEOUT_S "
                 "[BINDING_KEY]]\n");
        return 2;
    }
    count = atoi (argv[3]);
    int64_t deadline = clock_mono_ms () + (argc > 5 ? atoi (argv[5]) : 60) * 1000LL;
    if (!(t = transport_connect (argv[1], NULL, 0, &error)) ||
        transport_declare_queue (t, "", TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE, 0,
                                 &queue, &error) < 0 ||
        transport_bind (t, queue, argv[2], argc > 6 ? argv[6] : "", &error) < 0 ||
        transport_consume (t, queue, "capture", true, &error) < 0) {
        fprintf (stderr, "amqp-capture: %s\n", error.text);
        transport_destroy (t);
        free (queue);
        return 1;
    }
    signal (SIGTERM, on_term);
    fprintf (stderr, "ready\n");
    while ((count == 0 || got < count) && !stop && clock_mono_ms () < deadline) {
        if ((rc = transport_next (t, 200, &m, &error)) < 0) {
            fprintf (stderr, "amqp-capture: %s\n", error.text);
            break;
        }
        if (rc != TRANSPORT_DELIVERY)
            continue;
        char path[4096];
        snprintf (path, sizeof (path), "%s.%d", argv[4], ++got);
        FILE *f = fopen (path, "w");
        if (!f || fwrite (m.body, 1, m.len, f) != m.len || fclose (f) != 0) {
            perror (path);
            break;
        }
    }
    transport_destroy (t);
    free (queue);
    return (count == 0 ? got > 0 : got == count) ? 0 : 1;
}
