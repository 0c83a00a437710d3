/* transport.h - the AMQP wrapper: the only module that talks to
 * librabbitmq-c.  One struct transport is one AMQP connection with one
 * channel (channel 1) in publisher-confirm mode; a second, private channel is
 * opened at its first use, for operations that may fail with a channel error
 * (passive declares), so that a missing queue never closes the channel that
 * holds consumers.
 * Calls wait for the broker's answer, except the deferred ones
 * (TRANSPORT_DEFER, transport_bind_defer(), transport_declare_consume(),
 * the *_nowait calls), which save a round trip where a channel's order makes
 * the wait useless; each says when its failure is reported.
 *
 * Connections are not thread safe: one per process (librabbitmq's rule).
 * Library errors (amqp_rpc_reply_t, status codes, server close reasons) are
 * turned into -1 + errno + a message that names the broker URL with its
 * password hidden.  errno is ECONNREFUSED when nothing listens at the URL,
 * EACCES for refused credentials, ENOENT for a missing queue, EPROTO for a
 * protocol-level failure, ECONNRESET when the broker closed the connection.
 */
#ifndef KRUN_TRANSPORT_H
#define KRUN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct transport;

/* Flags for transport_declare_queue() */
enum {
    TRANSPORT_DURABLE = 1,
    TRANSPORT_EXCLUSIVE = 2,
    TRANSPORT_AUTO_DELETE = 4,
    /* Send the declaration and return without waiting for the broker's
     * answer, which is read with whatever comes next.  The broker's
     * refusal is reported, named after this declaration, by the next call
     * that waits on the private channel (transport_queue_info(),
     * transport_bind(), another declaration that waits...) or by
     * transport_settle(): make one before relying on the queue.  Not with
     * namep or a server-named queue. */
    TRANSPORT_DEFER = 8,
};

/* Flags for transport_publish() */
enum {
    TRANSPORT_PERSISTENT = 1, /* delivery_mode 2 */
    TRANSPORT_MANDATORY = 2,  /* unroutable -> TRANSPORT_RETURNED event */
};

enum transport_event {
    TRANSPORT_TIMEOUT = 0,
    TRANSPORT_DELIVERY, /* a message from a consumer */
    TRANSPORT_RETURNED, /* a mandatory message that could not be routed */
    TRANSPORT_CANCELLED /* the broker cancelled consumer_tag (queue deleted) */
};

/* A received message.  All pointers are borrowed until the next call of
 * transport_next(), transport_wait_confirms() or transport_destroy(). */
struct transport_message {
    const char *consumer_tag; /* "" for returned messages */
    uint64_t delivery_tag;
    bool redelivered;
    const char *routing_key;
    const char *type;     /* AMQP "type" property, "" if absent */
    const char *reply_to; /* "" if absent */
    const void *body;
    size_t len;
};

/* amqps://: a program that connects to such a broker calls
 * transport_tls_enable() once, before its first connection; that call links
 * transport_tls.c, librabbitmq's TLS socket and OpenSSL into it.  Without
 * it, connecting to an amqps:// URL fails with EPROTONOSUPPORT.  krun does
 * not call it, so that a run does not load OpenSSL; it hands an amqps://
 * broker to krun-tls (launcher/tlsexec.h), which does. */
void transport_tls_enable (void);
bool transport_tls_enabled (void);

/* Connect to url (amqp://user:pass@host:port/vhost or amqps://...).  For
 * amqps, cacert is the CA file to verify the broker against (NULL = the
 * system's default CAs).  heartbeat_sec 0 disables heartbeats.  Opens channel
 * 1 with publisher confirms enabled.  Returns NULL with errno set and errp
 * naming the URL without its password. */
struct transport *transport_connect (const char *url, const char *cacert,
                                     int heartbeat_sec, struct krun_error *errp);

/* What a broker and a client agreed on at login. */
struct transport_tune {
    int channel_max;
    int frame_max;
    int heartbeat; /* seconds, 0 = none */
};

/* Log in to url (amqp:// only: the bytes are then read and written by the
 * caller, the daemon's connection multiplexer) and return the connection's
 * socket (non-blocking, close-on-exec) with what was agreed in *tune; no
 * channel is open.  Returns -1 with errno (EPROTONOSUPPORT for amqps://)
 * and errp set. */
int transport_login_raw (const char *url, const char *cacert, int heartbeat_sec,
                         struct transport_tune *tune, struct krun_error *errp);

/* Like transport_connect(), over fd, a socket to something that speaks
 * AMQP as a broker does (a connection multiplexer, amqpmux.h).  name stands
 * for the URL in messages.  login_timeout_ms bounds the login (0: the
 * library's 12 s); ETIMEDOUT when it passes.  Takes fd: it is closed by
 * transport_destroy(), or here on failure. */
struct transport *transport_connect_fd (int fd, const char *name, int heartbeat_sec,
                                        int login_timeout_ms, struct krun_error *errp);

/* Close politely and free.  Accepts NULL; keeps errno. */
void transport_destroy (struct transport *t);

/* Returns a malloc'd copy of url with the password replaced by "***"
 * (caller must free), or NULL on ENOMEM.  The one way a broker URL is
 * shown: also a malformed URL (a cut one) keeps what may be a password
 * hidden. */
char *transport_url_redact (const char *url);

/* The longest broker URL accepted, in bytes. */
#define TRANSPORT_URL_MAX 4096

/* Check url before it is used or handed on: at most TRANSPORT_URL_MAX bytes
 * and of the form amqp[s]://user:password@host:port/vhost.  Returns 0, or -1
 * with errno EINVAL and errp naming the URL without its password. */
int transport_url_check (const char *url, struct krun_error *errp);

/* Declare the durable exchange name of type (direct, fanout...) on the
 * private channel.  flags: 0, or TRANSPORT_DEFER (sent without waiting, as
 * a deferred queue declaration: its refusal is reported by the next call
 * that waits on the private channel, or by transport_settle()). */
int transport_declare_exchange (struct transport *t, const char *name, const char *type,
                                int flags, struct krun_error *errp);
/* Like transport_declare_exchange() (durable, type), without a round trip:
 * exchange.declare with no-wait on the main channel, so that a message
 * published after it on this transport finds the exchange even if nobody
 * had declared it.  The broker sends no answer.  Its refusal (an exchange
 * of that name with other properties, or no permission) closes the main
 * channel: the next call that reads from the broker fails with the
 * broker's reason, which names the exchange, and the transport is unusable
 * after it.  So only where that ends the caller's work anyway. */
int transport_declare_exchange_nowait (struct transport *t, const char *name,
                                       const char *type, struct krun_error *errp);

/* Declare queue name ("" = let the broker name it).  expires_ms > 0 sets
 * x-expires.  If namep is not NULL, *namep receives the queue's actual name
 * (caller must free). */
int transport_declare_queue (struct transport *t, const char *name, int flags,
                             int expires_ms, char **namep, struct krun_error *errp);

/* Passive declare on the private channel: message and consumer counts.
 * Returns -1 with errno ENOENT if the queue does not exist. */
int transport_queue_info (struct transport *t, const char *name, unsigned *messages,
                          unsigned *consumers, struct krun_error *errp);

int transport_delete_queue (struct transport *t, const char *name,
                            struct krun_error *errp);

/* Remove the ready messages of queue name (those delivered and not yet
 * acknowledged stay).  Returns how many were removed, or -1 with errno and
 * errp. */
int transport_purge_queue (struct transport *t, const char *name,
                           struct krun_error *errp);

/* Read the first message of queue name without taking it (basic.get, then
 * reject with requeue on the private channel), for content that many
 * readers share.  Returns 0 with a malloc'd copy of the body in *bodyp
 * (caller must free) and its length, or -1 with errno (ENOENT if the queue
 * is missing, EAGAIN if it is empty: another reader may hold the message
 * for a moment). */
int transport_peek (struct transport *t, const char *name, void **bodyp, size_t *lenp,
                    struct krun_error *errp);
/* Ask the broker to delete queue name without waiting for its answer
 * (queue.delete with no-wait): for a queue that is no longer needed and
 * would expire anyway, when the caller is about to leave.  Returns -1 only
 * if the request could not be sent; a failure on the broker goes unseen. */
int transport_delete_queue_nowait (struct transport *t, const char *name,
                                   struct krun_error *errp);

int transport_bind (struct transport *t, const char *queue, const char *exchange,
                    const char *key, struct krun_error *errp);
/* Like transport_bind(), but deferred as TRANSPORT_DEFER declarations are:
 * sent, its answer read later, a refusal reported by the next call that
 * waits on the private channel or by transport_settle(). */
int transport_bind_defer (struct transport *t, const char *queue, const char *exchange,
                          const char *key, struct krun_error *errp);

/* Wait (at most 120 s) until every deferred request (TRANSPORT_DEFER,
 * transport_bind_defer()) is answered; deliveries that come meanwhile are
 * kept for transport_next().  Returns 0, or -1 with errno and errp: the
 * broker's refusal of one of them, named after it. */
int transport_settle (struct transport *t, struct krun_error *errp);

/* basic.qos with global = false: at most prefetch unacknowledged deliveries
 * per consumer made after it.  (RabbitMQ's channel-wide limit, global =
 * true, also holds back deliveries to no_ack consumers while the limit is
 * reached, which would keep control messages from a busy slot.)  flags: 0,
 * or TRANSPORT_DEFER: sent without waiting; its answer is read as the
 * deferred declarations' are (transport_settle()). */
int transport_qos (struct transport *t, int prefetch, int flags,
                   struct krun_error *errp);

int transport_consume (struct transport *t, const char *queue, const char *tag,
                       bool no_ack, struct krun_error *errp);
/* Like transport_consume(), but without a round trip: no passive check of
 * the queue and no wait for the broker's answer, which is read later
 * (transport_settle() waits for it).  Only for a queue that cannot be
 * missing, as RabbitMQ's direct reply-to pseudo-queue: a refusal closes the
 * main channel and makes the transport unusable.  tag must be given (the
 * broker does not name the consumer before the answer). */
int transport_consume_defer (struct transport *t, const char *queue, const char *tag,
                             bool no_ack, struct krun_error *errp);
/* Like transport_consume(), but as the queue's only consumer (basic.consume
 * with exclusive set): while this consumer exists, the broker refuses every
 * other consumer of the queue with ACCESS_REFUSED, which closes that
 * consumer's channel; passive declares of the queue still work, and report
 * this consumer in their consumer count.  Fails with errno EACCES if another
 * consumer holds the queue. */
int transport_consume_exclusive (struct transport *t, const char *queue,
                                 const char *tag, bool no_ack, struct krun_error *errp);
/* Declare queue name (flags and expires_ms as transport_declare_queue(),
 * without TRANSPORT_DEFER) and consume it (exclusively if exclusive), in
 * one round trip: both requests go on the main channel, the declaration
 * without an answer of its own.  A declaration the broker refuses closes
 * the main channel: the call fails with the broker's reason, which names
 * the queue, and the transport is unusable after it.  So only for a queue
 * whose failure ends the caller's work anyway (a job's own results
 * queue). */
int transport_declare_consume (struct transport *t, const char *queue, int flags,
                               int expires_ms, const char *tag, bool no_ack,
                               bool exclusive, struct krun_error *errp);
int transport_cancel (struct transport *t, const char *tag, struct krun_error *errp);
/* Whether t has a consumer with tag (made, deferred or not, and neither
 * cancelled by the caller nor by the broker). */
bool transport_consuming (struct transport *t, const char *tag);

/* Publish body.  type and reply_to may be NULL.  Does not wait for the
 * broker's confirmation: see transport_wait_confirms(). */
int transport_publish (struct transport *t, const char *exchange,
                       const char *routing_key, const char *type, const char *reply_to,
                       int flags, const void *body, size_t len,
                       struct krun_error *errp);

/* Wait until the broker confirmed every message published so far.  Messages
 * delivered meanwhile are kept and handed out by later transport_next()
 * calls.  Returns 0, or -1 with errno EIO if the broker nacked a message,
 * ETIMEDOUT after timeout_ms (< 0 = no limit). */
/* A bound for callers: a live broker that blocks publishers (a memory or
 * disk alarm) keeps sending heartbeats, so only a bound ends that wait. */
#define TRANSPORT_CONFIRM_TIMEOUT_MS (120 * 1000)
int transport_wait_confirms (struct transport *t, int timeout_ms,
                             struct krun_error *errp);

/* Wait up to timeout_ms (0 = do not block, < 0 = no limit) for the next
 * event.  Returns a transport_event (>= 0) with *msg filled for DELIVERY and
 * RETURNED (and consumer_tag for CANCELLED), or -1 if the connection failed.
 * Also sends heartbeats: call it at least every heartbeat/2 seconds. */
int transport_next (struct transport *t, int timeout_ms, struct transport_message *msg,
                    struct krun_error *errp);

int transport_ack (struct transport *t, uint64_t delivery_tag, struct krun_error *errp);
int transport_reject (struct transport *t, uint64_t delivery_tag, bool requeue,
                      struct krun_error *errp);

/* The string value of key in the server properties of t's handshake
 * (connection.start) into buf.  Returns its length, or -1 with errno ENOENT
 * (none, or not a string) or ENAMETOOLONG (size too small). */
int transport_server_property (struct transport *t, const char *key, char *buf,
                               size_t size);

/* For poll(): the socket, and whether transport_next() has something
 * without reading the socket (buffered frames or kept deliveries). */
int transport_fd (struct transport *t);
bool transport_pending (struct transport *t);

#endif
