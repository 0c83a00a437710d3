/* fake-daemon - test helper: a "daemon" of a pool that answers presence
 * queries but never takes part in a job, to test how a launcher treats
 * nodes that answer and then fall silent, and answers it must not believe.
 *
 *   fake-daemon URL POOL KEYFILE NODE MODE [SLOTS [TIMEOUT_S [PID]]]
 *
 * It consumes the pool's roster queue (so launchers wait for its answer) and
 * answers each "who" for node NODE with SLOTS slots (default 2):
 *   ghost     sealed with KEYFILE, with the question's nonce: a node that
 *             answered and then neither confirms nor refuses a job (as a
 *             daemon stopped right after its answer)
 *   replayed  sealed with KEYFILE, but with another nonce (a replay of an
 *             answer to an earlier query)
 *   unsigned  the answer without a seal (forged)
 *   confirm   sealed with the nonce, and it confirms each job that lists
 *             NODE, as a daemon does, but no slot ever consumes its tasks
 *             (a node whose slots cannot reach the task queue)
 * The answer names PID as the daemon's (default its own): a daemon elsewhere
 * (a container, another machine) may report any number.
 * Prints "ready" on stderr once it listens; exits after TIMEOUT_S (300). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"
#include "protocol.h"
#include "sign.h"
#include "transport.h"

static void answer (struct transport *t, const struct sign_key *key, const char *node,
                    int slots, int pid, const char *mode,
                    const struct transport_message *m)
{
    struct protocol_msg who = {0};
    struct protocol_msg here = {.type = PROTOCOL_HERE};
    struct krun_error error;
    int cores[256];
    const char *body;
    size_t len, out_len;
    char *out, *sealed = NULL;

    if (sign_open (key, m->body, m->len, clock_wall_us (), &body, &len, NULL, &error) <
            0 ||
        protocol_decode (body, len, &who, &error) < 0 || who.type != PROTOCOL_WHO) {
        fprintf (stderr, "fake-daemon: not a who: %s\n", error.text);
        protocol_msg_clear (&who);
        return;
    }
    for (int i = 0; i < slots; i++)
        cores[i] = -1;
    here.here = (struct protocol_here){
        .nonce = strcmp (mode, "replayed") == 0 ? "0000000000000000" : who.who.nonce,
        .node_out = node,
        .pid = pid,
        .nslots = slots,
        .cores = cores,
        .started_us = clock_wall_us (),
        .version = "fake",
    };
    if ((out = protocol_encode (&here, &out_len, &error)) &&
        strcmp (mode, "unsigned") != 0) {
        sealed = sign_seal (key, out, out_len, clock_wall_us () + SIGN_CONTROL_TTL_US,
                            &out_len, &error);
        free (out);
        out = sealed;
    }
    if (!out || transport_publish (t, "", m->reply_to, "here", NULL, 0, out, out_len,
                                   &error) < 0)
        fprintf (stderr, "fake-daemon: %s\n", error.text);
    else
        fprintf (stderr, "fake-daemon: answered a who (%s)\n", mode);
    free (out);
    protocol_msg_clear (&who);
}

/* Confirm an announcement that lists node to its launcher (mode confirm). */
static void confirm (struct transport *t, const struct sign_key *key, const char *node,
                     const struct transport_message *m)
{
    struct protocol_msg msg = {0};
    struct krun_error error;
    const char *body;
    size_t len, out_len;
    char *out = NULL, *sealed = NULL;
    bool listed = false;

    if (sign_open (key, m->body, m->len, clock_wall_us (), &body, &len, NULL, &error) <
            0 ||
        protocol_decode (body, len, &msg, &error) < 0 ||
        msg.type != PROTOCOL_ANNOUNCE) {
        protocol_msg_clear (&msg);
        return;
    }
    for (int i = 0; i < msg.announce.nnodes; i++)
        listed |= strcmp (msg.announce.nodes[i].name, node) == 0;
    struct protocol_msg answer = {
        .type = PROTOCOL_CONFIRM, .job = msg.job, .join = {.node_out = node}};
    if (listed && (out = protocol_encode (&answer, &out_len, &error)))
        sealed = sign_seal (key, out, out_len, clock_wall_us () + SIGN_CONTROL_TTL_US,
                            &out_len, &error);
    if (sealed && transport_publish (t, "", msg.announce.results_queue, "confirm", NULL,
                                     0, sealed, out_len, &error) == 0)
        fprintf (stderr, "fake-daemon: confirmed job %s\n", msg.job);
    free (out);
    free (sealed);
    protocol_msg_clear (&msg);
}

int main (int argc, char *argv[])
{
    struct krun_error error;
    struct transport_message m;
    struct transport *t = NULL;
    struct sign_key *key = NULL;
    struct pool pool;
    char *queue = NULL, *control = NULL;
    int rc = 1;

    if (argc < 6) {
        fprintf (
            stderr,
            "usage: fake-daemon URL POOL KEYFILE NODE ghost|replayed|unsigned|confirm "
            "[SLOTS [TIMEOUT_S [PID]]]\n");
        return 2;
    }
    int slots = argc > 6 ? atoi (argv[6]) : 2;
    int64_t deadline = clock_mono_ms () + (argc > 7 ? atoi (argv[7]) : 300) * 1000LL;
    int pid = argc > 8 ? atoi (argv[8]) : (int)getpid ();
    if (slots < 1 || slots > 256)
        return 2;
    if (pool_init (&pool, argv[2], &error) < 0 ||
        !(key = sign_key_load (argv[3], &error)) ||
        !(t = transport_connect (argv[1], NULL, 0, &error)) ||
        transport_declare_exchange (t, pool.presence, "direct", 0, &error) < 0 ||
        transport_declare_queue (t, pool.roster, 0, 0, NULL, &error) < 0 ||
        transport_declare_queue (t, "", TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE, 0,
                                 &queue, &error) < 0 ||
        transport_bind (t, queue, pool.presence, PROTOCOL_KEY_WHO, &error) < 0 ||
        transport_consume (t, queue, "who", true, &error) < 0 ||
        transport_consume (t, pool.roster, "roster", true, &error) < 0 ||
        (strcmp (argv[5], "confirm") == 0 &&
         (transport_declare_exchange (t, pool.control, "fanout", 0, &error) < 0 ||
          transport_declare_queue (t, "", TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE,
                                   0, &control, &error) < 0 ||
          transport_bind (t, control, pool.control, "", &error) < 0 ||
          transport_consume (t, control, "control", true, &error) < 0))) {
        fprintf (stderr, "fake-daemon: %s\n", error.text);
        goto out;
    }
    fprintf (stderr, "ready\n");
    while (clock_mono_ms () < deadline) {
        int got = transport_next (t, 200, &m, &error);
        if (got < 0) {
            fprintf (stderr, "fake-daemon: %s\n", error.text);
            goto out;
        }
        if (got == TRANSPORT_DELIVERY && strcmp (m.consumer_tag, "who") == 0)
            answer (t, key, argv[4], slots, pid, argv[5], &m);
        else if (got == TRANSPORT_DELIVERY && strcmp (m.consumer_tag, "control") == 0)
            confirm (t, key, argv[4], &m);
    }
    rc = 0;
out:
    transport_destroy (t);
    sign_key_destroy (key);
    free (queue);
    free (control);
    return rc;
}
