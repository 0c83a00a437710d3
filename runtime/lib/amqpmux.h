/* amqpmux.h - an AMQP connection multiplexer: one broker connection for
 * all the slots of a node (the daemon's), or for the launchers of a user on
 * one machine (the connection agent's, agent.h; what is said of slots below
 * holds for those clients alike).
 *
 * Each slot speaks AMQP 0-9-1 over a socketpair to its daemon
 * (transport_connect_fd()), as it would to a broker.  The multiplexer plays
 * the broker's part of the connection handshake itself, gives each slot a
 * block of channels of an upstream connection, and forwards every frame of
 * the slot's channels both ways, with the channel number rewritten; it
 * understands nothing of what a channel does.  The broker thus sees one
 * login per daemon (plus one more per 1,023 slots) instead of one per slot.
 *
 * The at-least-once rules hold as with a connection per slot: a slot that
 * dies or closes its connection has its channels closed on the broker at
 * once (what it held unacknowledged is requeued by the broker); the daemon's
 * death closes the upstream connection (the slots do not keep its socket).
 * If the upstream connection is lost, every slot on it is cut off (end of
 * file on its socket) and starts again as on a lost broker.
 *
 * Every wait is the caller's poll(): nothing here blocks, except the login
 * of a new upstream connection in amqpmux_attach(), which transport bounds.
 */
#ifndef KRUN_AMQPMUX_H
#define KRUN_AMQPMUX_H

#include <poll.h>
#include <stdbool.h>

#include "error.h"
#include "transport.h"

struct amqpmux;

/* Opens a logged-in upstream connection (transport_login_raw()): returns
 * its socket and what was agreed, or -1 with errno and errp set. */
typedef int (*amqpmux_login_fn) (void *arg, struct transport_tune *tune,
                                 struct krun_error *errp);

/* Channels a slot may use (transport uses 1 and 2). */
#define AMQPMUX_CLIENT_CHANNELS 2

struct amqpmux *amqpmux_create (amqpmux_login_fn login, void *arg);

/* Send what is queued for the broker for at most drain_ms, then close
 * everything.  Accepts NULL. */
void amqpmux_destroy (struct amqpmux *m, int drain_ms);

/* A new client: returns the slot's end of a socketpair (close-on-exec; the
 * caller hands it to the slot and closes it in the daemon), or -1 with errno
 * and errp set when no upstream connection can be had.  After a failed
 * login, no new one is tried for a second: the same error is returned. */
int amqpmux_attach (struct amqpmux *m, struct krun_error *errp);

/* Make fd, a connected stream socket (a launcher that connected to the
 * connection agent, agent.h), a client, as amqpmux_attach() does for a
 * slot.  Takes fd: returns 0, or -1 with errno and errp set and fd closed. */
int amqpmux_adopt (struct amqpmux *m, int fd, struct krun_error *errp);

/* Log in now unless a live upstream connection exists, so that the first
 * client does not wait for it.  Returns 0, or -1 with errno and errp set. */
int amqpmux_open (struct amqpmux *m, struct krun_error *errp);

/* Give each client a connection of its own (the connection agent's way):
 * a new client takes an idle logged-in connection, or a new one; a client
 * that leaves gives its connection back once the broker closed its
 * channels, for the next; idle connections beyond spare_max (>= 1) are
 * closed.  A client that does not keep up with what the broker sends holds
 * its connection back instead of being cut (more than 4 MiB queued for it:
 * that connection is not read until it is under), so a slow reader slows
 * nobody else.  Call before the first attach. */
void amqpmux_one_client_per_connection (struct amqpmux *m, int spare_max);

/* Queues made ahead (the connection agent's, for the next run's job:
 * launcher/nextjob.h).  With one client per connection, each connection
 * that no client holds keeps a set of queues made, named after a token, on
 * a channel of its own (the one after the client's block): once the broker
 * answered every declaration, the next client to take that connection is
 * told the token in connection.start's server properties, under
 * AMQPMUX_TOKEN_PROPERTY, and the connection makes a new set when that
 * client has left.  A token is told to one client only, and only once its
 * queues were answered for, so no declaration of them can still be on its
 * way when that client uses and deletes them.  A set older than max_age_ms
 * is declared again (x-expires counts from the last declaration) before it
 * is told; a set the broker refuses is tried again after max_age_ms (the
 * refusal is logged).  A spare connection closed, or the multiplexer
 * destroyed, deletes its set first; a lost connection's set is left to
 * x-expires. */
enum amqpmux_ahead_op {
    AMQPMUX_AHEAD_MAKE,   /* a new token: write it, and declare its queues */
    AMQPMUX_AHEAD_RENEW,  /* declare the queues of token again */
    AMQPMUX_AHEAD_DELETE, /* delete the queues of token, without waiting */
};
#define AMQPMUX_TOKEN_SIZE 64
#define AMQPMUX_TOKEN_PROPERTY "krun-queues-made"
/* A queue of a token's set: declared not durable, not exclusive, with
 * x-expires (amqpmux_ahead()'s expires_ms, a signed 64-bit 'l' as
 * transport.c sends it: the broker finds two declarations equivalent only
 * if the types match too). */
#define AMQPMUX_AHEAD_QUEUES 4
struct amqpmux_queue {
    char name[128];
    bool auto_delete;
};
/* The queues of token (NUL-terminated, AMQPMUX_TOKEN_SIZE bytes) into q,
 * for op (AMQPMUX_AHEAD_MAKE: a new token, written into token first).
 * Returns their count (at most AMQPMUX_AHEAD_QUEUES), or -1. */
typedef int (*amqpmux_ahead_fn) (void *arg, enum amqpmux_ahead_op op, char *token,
                                 struct amqpmux_queue *q);
/* Call after amqpmux_one_client_per_connection(), before the first login. */
void amqpmux_ahead (struct amqpmux *m, amqpmux_ahead_fn fn, void *arg, int max_age_ms,
                    int expires_ms);
/* With one client per connection (call after
 * amqpmux_one_client_per_connection()): keep the client channels of the
 * connections no client holds open on the broker, channel 1 in confirm mode,
 * so that the next client's channel.open, and its confirm.select on
 * channel 1, are answered at once instead of after a round trip.  For
 * clients that select confirms on channel 1, as transport.c does: one that
 * does not would get the broker's acknowledgements of its publishes all
 * the same. */
void amqpmux_channels_ahead (struct amqpmux *m);

/* The tokens whose queues exist or are being made, a line each ("TOKEN
 * ready" once the broker answered for them, else "TOKEN making"), into buf
 * (NUL-terminated, cut at size).  Returns the length. */
size_t amqpmux_ahead_tokens (const struct amqpmux *m, char *buf, size_t size);

/* In a process forked from the daemon: close every socket of the
 * multiplexer without a word on them, so that they close when the daemon
 * does. */
void amqpmux_close_in_child (struct amqpmux *m);

/* For poll(): how many entries amqpmux_poll_fill() may write at most (one
 * for all the slots' sockets, one per upstream connection). */
int amqpmux_poll_max (const struct amqpmux *m);
/* Fill fds with what the multiplexer waits for; returns the count. */
int amqpmux_poll_fill (struct amqpmux *m, struct pollfd *fds);
/* After poll(): read, forward and write what the nfds entries from
 * amqpmux_poll_fill() say is ready, and send heartbeats that are due (call
 * at least once a second). */
void amqpmux_service (struct amqpmux *m, const struct pollfd *fds, int nfds);

struct amqpmux_stats {
    int clients;   /* attached and not gone */
    int ready;     /* of those, the ones that opened their first channel */
    int upstreams; /* connections to the broker */
    int idle;      /* of those, with one client each: the ones free for the next */
};
void amqpmux_stats (const struct amqpmux *m, struct amqpmux_stats *st);

#endif
