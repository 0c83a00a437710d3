/* transport.c - the AMQP wrapper over librabbitmq-c 0.11.
 *
 * Channels: 1 holds the consumers and publishes in confirm mode; 2 is the
 * private channel for every operation that the broker may answer with a
 * channel error (declare, bind, delete, passive declare).  A channel error on
 * channel 2 is reported and the channel is reopened before its next use; a
 * channel error on channel 1 would silently drop our consumers, so it makes
 * the transport unusable and every later call fails (the caller reconnects).
 *
 * Deferred requests (send_deferred()): sent without waiting, their answers
 * read by handle_frame() among the other frames.  librabbitmq's own waits
 * (amqp_simple_rpc) read only the socket, not the frames it queued during
 * an earlier wait, so a call that waits on a channel with deferred requests
 * first reads their answers (settle_deferred()): a refusal of one of them
 * closed the channel, and a request sent on it would never be answered.
 *
 * Memory: librabbitmq decodes frames into per-channel pools that
 * amqp_maybe_release_buffers() recycles at the start of each call and read.
 * Frames of other channels that arrive during an RPC are queued by the
 * library (and survive the release); amqp_consume_message() and
 * amqp_simple_wait_frame() hand them out before reading the socket again.
 * Every message handed to the caller is copied out of the library into a
 * struct event that stays alive until the next transport_next() or
 * transport_destroy() (transport_wait_confirms() keeps it, so a handler may
 * publish and wait for the confirm before it acks the message).
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "clock.h"
#include "transport.h"
#include "transport_tls.h"

enum {
    MAIN_CHANNEL = 1,
    PRIVATE_CHANNEL = 2,
    CONNECT_TIMEOUT_MS = 15000,
    CLOSE_TIMEOUT_MS = 2000, /* polite close on destroy */
    /* The longest wait for the answer to a request sent without waiting
     * (a live broker answers in milliseconds; heartbeats end the wait
     * earlier if it is gone). */
    DEFERRED_TIMEOUT_MS = 120 * 1000,
};

/* What read_event() found. */
enum { READ_NOTHING = 0, READ_EVENT = 1, READ_TIMEOUT = 2 };

/* A message or cancellation copied out of librabbitmq.  msg's strings point
 * into strings[]; its body is body (malloc'd by the library, owned here). */
struct event {
    struct event *next;
    enum transport_event kind;
    struct transport_message msg;
    amqp_bytes_t body;
    char strings[];
};

struct consumer {
    struct consumer *next;
    char tag[];
};

/* A request sent without waiting for its answer (send_deferred()): the
 * answer is read later, among whatever else arrives (handle_frame()), and
 * settle_deferred() waits for it when it must. */
struct deferred {
    struct deferred *next;
    amqp_channel_t channel;
    amqp_method_number_t answer;
    char what[200]; /* "cannot declare queue 'x'", for a refusal */
};

struct transport {
    amqp_connection_state_t conn;
    char *url; /* redacted, for messages */
    int heartbeat_sec;
    bool private_open; /* channel 2 */

    /* Set when the connection or channel 1 is lost: later calls fail with
     * this errno and message. */
    int failed;
    char failed_text[sizeof (((struct krun_error *)0)->text)];

    /* Publisher confirms: messages are numbered 1..published on channel 1;
     * all up to confirmed are settled, plus the sorted tags in settled[]. */
    uint64_t published;
    uint64_t confirmed;
    uint64_t *settled;
    size_t settled_count, settled_size;
    uint64_t nacked;

    /* Requests whose answers are still to come, oldest first; a refusal of
     * one on the private channel, reported by the next call that uses it. */
    struct deferred *deferred_head, *deferred_tail;
    int private_errno;
    char private_error[sizeof (((struct krun_error *)0)->text)];

    struct consumer *consumers;
    struct event *current;               /* handed out by the last transport_next() */
    struct event *kept_head, *kept_tail; /* received during wait_confirms */
    int64_t last_rx_ms;                  /* see heartbeat_suspect() */
};

static amqp_bytes_t cstring (const char *s)
{
    return amqp_cstring_bytes (s ? s : "");
}

char *transport_url_redact (const char *url)
{
    const char *scheme_end = strstr (url, "://");
    const char *userinfo, *at, *colon;
    char *copy;

    if (!scheme_end)
        return strdup (url);
    userinfo = scheme_end + 3;
    /* The last '@' ends the userinfo: an unencoded '@' or '/' in a password
     * then still ends up hidden (at worst, more than the password is). */
    at = strrchr (userinfo, '@');
    if (!at) {
        /* No userinfo, or a URL cut inside it: what follows the first ':'
         * is a port only if digits run from there to '/' or the end. */
        colon = strchr (userinfo, ':');
        size_t digits = colon ? strspn (colon + 1, "0123456789") : 0;
        if (!colon ||
            (digits > 0 && (colon[1 + digits] == '\0' || colon[1 + digits] == '/')))
            return strdup (url);
        at = colon + strlen (colon); /* hide all of the rest */
    } else
        colon = memchr (userinfo, ':', at - userinfo);
    if (!colon)
        return strdup (url);
    if (!(copy = malloc (strlen (url) + 4)))
        return NULL;
    sprintf (copy, "%.*s***%s", (int)(colon + 1 - url), url, at);
    return copy;
}

int transport_url_check (const char *url, struct krun_error *errp)
{
    struct amqp_connection_info info;
    size_t len = strlen (url);
    char *shown = transport_url_redact (url);
    char *parsed = NULL;
    int rc = 0;

    if (!shown) {
        errno = ENOMEM;
        return errprintf_errno (errp, "broker URL");
    }
    errno = EINVAL;
    /* Handed to a daemon through its environment and to libraries that
     * would cut it: refuse what is too long, naming only its start. */
    if (len > TRANSPORT_URL_MAX)
        rc = errprintf (
            errp, "broker URL %.40s%s is %zu bytes long: at most %d are accepted",
            shown, strlen (shown) > 40 ? "..." : "", len, TRANSPORT_URL_MAX);
    else if (!(parsed = strdup (url)))
        rc = errprintf_errno (errp, "broker URL");
    else if (amqp_parse_url (parsed, &info) != AMQP_STATUS_OK)
        rc = errprintf (
            errp,
            "invalid broker URL %s (expected amqp[s]://user:password@host:port/vhost)",
            shown);
    free (parsed);
    free (shown);
    if (rc < 0 && errno != ENOMEM)
        errno = EINVAL;
    return rc;
}

/* The errno that best describes a librabbitmq status code. */
static int status_errno (int status)
{
    switch (status) {
        case AMQP_STATUS_NO_MEMORY:
            return ENOMEM;
        case AMQP_STATUS_TIMEOUT:
        case AMQP_STATUS_HEARTBEAT_TIMEOUT:
            return ETIMEDOUT;
        case AMQP_STATUS_CONNECTION_CLOSED:
        case AMQP_STATUS_SOCKET_ERROR:
        case AMQP_STATUS_SOCKET_CLOSED:
        case AMQP_STATUS_TCP_ERROR:
            return ECONNRESET;
        case AMQP_STATUS_INVALID_PARAMETER:
        case AMQP_STATUS_TABLE_TOO_BIG:
            return EINVAL;
        default:
            return EPROTO;
    }
}

/* The errno for a broker reply code (AMQP 0-9-1 section 1.9). */
static int reply_code_errno (int code, bool connection)
{
    switch (code) {
        case 403: /* ACCESS_REFUSED */
        case 530: /* NOT_ALLOWED (e.g. vhost access) */
            return EACCES;
        case 404: /* NOT_FOUND */
            return ENOENT;
        case 405: /* RESOURCE_LOCKED: another connection's exclusive queue */
            return EBUSY;
        case 406: /* PRECONDITION_FAILED: e.g. inequivalent declare */
            return EINVAL;
        default:
            return connection ? ECONNRESET : EPROTO;
    }
}

/* Report a failure: errno = errnum, errp = "<what> on <url>: <detail>".
 * If later_errnum is not 0, the transport becomes unusable and later calls
 * fail with later_errnum and the same message.  Returns -1. */
static int fail (struct transport *t, int errnum, int later_errnum,
                 struct krun_error *errp, const char *what, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));

static int fail (struct transport *t, int errnum, int later_errnum,
                 struct krun_error *errp, const char *what, const char *fmt, ...)
{
    char text[sizeof (t->failed_text)];
    va_list ap;
    int n;

    n = snprintf (text, sizeof (text), "%s on %s: ", what, t->url);
    if (n >= 0 && (size_t)n < sizeof (text)) {
        va_start (ap, fmt);
        vsnprintf (text + n, sizeof (text) - n, fmt, ap);
        va_end (ap);
    }
    if (later_errnum && !t->failed) {
        t->failed = later_errnum;
        memcpy (t->failed_text, text, sizeof (text));
    }
    errprintf (errp, "%s", text);
    errno = errnum;
    return -1;
}

/* Every public call starts here: fail if the transport is unusable, and
 * recycle the library's buffers of earlier calls (all we handed out was
 * copied; frames it queued for later are kept by the library). */
static int start_call (struct transport *t, struct krun_error *errp)
{
    if (!t) {
        errno = EINVAL;
        return errprintf (errp, "no broker connection");
    }
    if (t->failed) {
        errprintf (errp, "%s", t->failed_text);
        errno = t->failed;
        return -1;
    }
    amqp_maybe_release_buffers (t->conn);
    return 0;
}

/* The broker closed the connection (channel 0) or a channel: acknowledge it
 * as the protocol requires and report it.  errno is the reply code's when
 * the close answers our request (ENOENT...), else ECONNRESET for the
 * connection and EPROTO for a channel.  Losing the connection or channel 1
 * makes the transport unusable. */
static int broker_closed (struct transport *t, amqp_channel_t channel,
                          const amqp_method_t *method, bool answer,
                          struct krun_error *errp, const char *what)
{
    if (method->id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *close = method->decoded;
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method (t->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        int errnum = answer ? reply_code_errno (close->reply_code, true) : ECONNRESET;
        return fail (t, errnum, ECONNRESET, errp, what,
                     "broker closed the connection: %.*s", (int)close->reply_text.len,
                     (char *)close->reply_text.bytes);
    } else {
        amqp_channel_close_t *close = method->decoded;
        amqp_channel_close_ok_t ok = {0};
        int errnum = answer ? reply_code_errno (close->reply_code, false) : EPROTO;
        amqp_send_method (t->conn, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        if (channel == PRIVATE_CHANNEL) {
            t->private_open = false;
            return fail (t, errnum, 0, errp, what, "%.*s", (int)close->reply_text.len,
                         (char *)close->reply_text.bytes);
        }
        return fail (t, errnum, EPROTO, errp, what, "broker closed channel %d: %.*s",
                     channel, (int)close->reply_text.len,
                     (char *)close->reply_text.bytes);
    }
}

/* Turn a reply into 0, or -1 + errno + message. */
static int check_reply (struct transport *t, amqp_channel_t channel,
                        amqp_rpc_reply_t reply, struct krun_error *errp,
                        const char *what)
{
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            t->last_rx_ms = clock_mono_ms (); /* the broker answered */
            return 0;
        case AMQP_RESPONSE_LIBRARY_EXCEPTION: {
            int errnum = status_errno (reply.library_error);
            return fail (t, errnum, errnum == EINVAL ? 0 : errnum, errp, what, "%s",
                         amqp_error_string2 (reply.library_error));
        }
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD ||
                reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
                return broker_closed (t, channel, &reply.reply, true, errp, what);
            return fail (t, EPROTO, EPROTO, errp, what, "unexpected method 0x%08x",
                         (unsigned)reply.reply.id);
        default:
            return fail (t, EPROTO, EPROTO, errp, what, "no reply from the library");
    }
}

static int check_status (struct transport *t, int status, struct krun_error *errp,
                         const char *what)
{
    int errnum;

    if (status == AMQP_STATUS_OK)
        return 0;
    errnum = status_errno (status);
    return fail (t, errnum, errnum == EINVAL ? 0 : errnum, errp, what, "%s",
                 amqp_error_string2 (status));
}

/* Wait until a non-blocking connect() finishes: 0 or its errno. */
static int wait_connected (int fd, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof (int);
    int rc, err, left;

    do {
        left = (int)(deadline - clock_mono_ms ());
        rc = poll (&pfd, 1, left > 0 ? left : 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return errno;
    if (rc == 0)
        return ETIMEDOUT;
    if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

/* Connect a non-blocking TCP socket to host:port within timeout_ms.  Done
 * here rather than by librabbitmq, which loses connect()'s errno: callers
 * need ECONNREFUSED to tell "nothing listens" from other failures.  Returns
 * the socket, or -1 with errno set. */
static int tcp_connect (const char *host, int port, int timeout_ms,
                        const char **gai_error)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list, *ai;
    char service[16];
    int64_t deadline = clock_mono_ms () + timeout_ms;
    int rc, err = ECONNREFUSED, fd = -1, one = 1;

    snprintf (service, sizeof (service), "%d", port);
    if ((rc = getaddrinfo (host, service, &hints, &list)) != 0) {
        *gai_error = gai_strerror (rc);
        errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return -1;
    }
    for (ai = list; ai; ai = ai->ai_next) {
        fd = socket (ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect (fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno == EINPROGRESS ? wait_connected (fd, deadline) : errno;
            if (err != 0) {
                close (fd);
                fd = -1;
                continue;
            }
        }
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
        break;
    }
    freeaddrinfo (list);
    if (fd < 0)
        errno = err;
    return fd;
}

transport_tls_open_fn *transport_tls_open;

bool transport_tls_enabled (void)
{
    return transport_tls_open != NULL;
}

static int open_socket (struct transport *t, const struct amqp_connection_info *info,
                        const char *cacert, struct krun_error *errp)
{
    const char *what = "cannot connect to broker";
    const char *gai_error = NULL;
    amqp_socket_t *socket;
    int fd, status;

    if (!info->ssl) {
        if (!(socket = amqp_tcp_socket_new (t->conn))) {
            errno = ENOMEM;
            return errprintf_errno (errp, "%s %s", what, t->url);
        }
        if ((fd = tcp_connect (info->host, info->port, CONNECT_TIMEOUT_MS,
                               &gai_error)) < 0) {
            if (gai_error)
                return fail (t, errno, 0, errp, what, "cannot resolve %s: %s",
                             info->host, gai_error);
            return errprintf_errno (errp, "%s %s", what, t->url);
        }
        amqp_tcp_socket_set_sockfd (socket, fd);
        return 0;
    }
    if (!transport_tls_open) {
        errno = EPROTONOSUPPORT;
        return errprintf (errp,
                          "%s %s: %s was linked without TLS (amqps:// is krun-tls's, "
                          "which krun starts itself)",
                          what, t->url, program_invocation_short_name);
    }
    int cacert_failed;
    status = transport_tls_open (t->conn, info->host, info->port, &cacert,
                                 CONNECT_TIMEOUT_MS, &cacert_failed);
    if (status == AMQP_STATUS_NO_MEMORY) {
        errno = ENOMEM;
        return errprintf_errno (errp, "%s %s", what, t->url);
    }
    if (cacert_failed) {
        errno = EINVAL;
        return errprintf (errp, "%s %s: cannot load CA file %s: %s", what, t->url,
                          cacert, amqp_error_string2 (status));
    }
    if (status == AMQP_STATUS_OK)
        return 0;
    if (status == AMQP_STATUS_SOCKET_ERROR || status == AMQP_STATUS_TIMEOUT) {
        /* librabbitmq lost the reason: ask connect() itself. */
        if ((fd = tcp_connect (info->host, info->port, CONNECT_TIMEOUT_MS,
                               &gai_error)) < 0)
            return errprintf_errno (errp, "%s %s", what, t->url);
        close (fd);
    }
    errno = status == AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED ? EHOSTUNREACH
            : status == AMQP_STATUS_TIMEOUT                  ? ETIMEDOUT
                                                             : EPROTO;
    return errprintf (errp, "%s %s: %s", what, t->url, amqp_error_string2 (status));
}

/* Log in, advertising the capabilities we rely on: consumer_cancel_notify
 * (basic.cancel when a consumed queue is deleted), publisher confirms, and
 * authentication_failure_close (a clear ACCESS_REFUSED instead of a bare
 * disconnect for bad credentials). */
static int login (struct transport *t, const struct amqp_connection_info *info,
                  struct krun_error *errp)
{
    char name[64];
    amqp_rpc_reply_t reply;

    /* The name shown by rabbitmqctl list_connections. */
    snprintf (name, sizeof (name), "%s[%d]", program_invocation_short_name,
              (int)getpid ());
    amqp_table_entry_t caps[] = {
        {.key = amqp_cstring_bytes ("publisher_confirms"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes ("consumer_cancel_notify"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes ("basic.nack"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes ("authentication_failure_close"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
    };
    amqp_table_entry_t props[] = {
        {.key = amqp_cstring_bytes ("capabilities"),
         .value = {.kind = AMQP_FIELD_KIND_TABLE,
                   .value.table = {.num_entries = sizeof (caps) / sizeof (caps[0]),
                                   .entries = caps}}},
        {.key = amqp_cstring_bytes ("connection_name"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8,
                   .value.bytes = amqp_cstring_bytes (name)}},
    };
    amqp_table_t table = {.num_entries = sizeof (props) / sizeof (props[0]),
                          .entries = props};
    /* "amqp://host/" parses as the vhost "", which RabbitMQ does not have:
     * treat it as the default vhost, as other clients do. */
    const char *vhost = *info->vhost ? info->vhost : "/";

    reply = amqp_login_with_properties (
        t->conn, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, t->heartbeat_sec, &table,
        AMQP_SASL_METHOD_PLAIN, info->user, info->password);
    return check_reply (t, 0, reply, errp, "cannot log in to broker");
}

static void event_destroy (struct event *ev)
{
    if (ev) {
        amqp_bytes_free (ev->body);
        free (ev);
    }
}

static void events_destroy (struct event *ev)
{
    while (ev) {
        struct event *next = ev->next;
        event_destroy (ev);
        ev = next;
    }
}

/* Copy s (NUL-terminated) to *p, advance *p, return the copy. */
static const char *put_string (char **p, amqp_bytes_t s)
{
    char *start = *p;
    if (s.len)
        memcpy (start, s.bytes, s.len);
    start[s.len] = '\0';
    *p += s.len + 1;
    return start;
}

/* Build an event; takes ownership of *body (leaves it empty).  Returns NULL
 * on ENOMEM. */
static struct event *event_create (enum transport_event kind, amqp_bytes_t consumer_tag,
                                   amqp_bytes_t routing_key,
                                   const amqp_basic_properties_t *props,
                                   amqp_bytes_t *body)
{
    amqp_bytes_t type = amqp_empty_bytes, reply_to = amqp_empty_bytes;
    struct event *ev;
    char *p;

    if (props && (props->_flags & AMQP_BASIC_TYPE_FLAG))
        type = props->type;
    if (props && (props->_flags & AMQP_BASIC_REPLY_TO_FLAG))
        reply_to = props->reply_to;
    ev = calloc (1, sizeof (*ev) + consumer_tag.len + routing_key.len + type.len +
                        reply_to.len + 4);
    if (!ev)
        return NULL;
    ev->kind = kind;
    p = ev->strings;
    ev->msg.consumer_tag = put_string (&p, consumer_tag);
    ev->msg.routing_key = put_string (&p, routing_key);
    ev->msg.type = put_string (&p, type);
    ev->msg.reply_to = put_string (&p, reply_to);
    ev->body = amqp_empty_bytes;
    ev->msg.body = "";
    if (body) {
        ev->body = *body;
        *body = amqp_empty_bytes;
        if (ev->body.len)
            ev->msg.body = ev->body.bytes;
        ev->msg.len = ev->body.len;
    }
    return ev;
}

/* Publisher confirms: settle tag (and all below it if multiple). */
static void settle (struct transport *t, uint64_t tag, bool multiple, bool nack)
{
    size_t i, n;

    if (multiple && tag == 0)
        tag = t->published;
    if (tag <= t->confirmed || tag > t->published)
        return;
    if (multiple) {
        for (n = 0; n < t->settled_count && t->settled[n] <= tag; n++)
            ;
        if (nack)
            t->nacked += (tag - t->confirmed) - n;
        if (t->settled_count > n)
            memmove (t->settled, t->settled + n,
                     (t->settled_count - n) * sizeof (uint64_t));
        t->settled_count -= n;
        t->confirmed = tag;
    } else {
        for (i = 0; i < t->settled_count && t->settled[i] < tag; i++)
            ;
        if (i < t->settled_count && t->settled[i] == tag)
            return; /* settled twice: a broker bug, count it once */
        if (nack)
            t->nacked++;
        if (tag == t->confirmed + 1)
            t->confirmed = tag;
        else {
            if (t->settled_count == t->settled_size) {
                size_t size = t->settled_size ? 2 * t->settled_size : 16;
                uint64_t *p = realloc (t->settled, size * sizeof (*p));
                if (!p)
                    return; /* stays unconfirmed: wait_confirms times out */
                t->settled = p;
                t->settled_size = size;
            }
            memmove (t->settled + i + 1, t->settled + i,
                     (t->settled_count - i) * sizeof (uint64_t));
            t->settled[i] = tag;
            t->settled_count++;
        }
    }
    for (n = 0; n < t->settled_count && t->settled[n] == t->confirmed + 1; n++)
        t->confirmed++;
    if (n > 0 && t->settled_count > n)
        memmove (t->settled, t->settled + n,
                 (t->settled_count - n) * sizeof (uint64_t));
    t->settled_count -= n;
}

static void consumer_forget (struct transport *t, const char *tag, size_t len)
{
    struct consumer **pp;

    for (pp = &t->consumers; *pp; pp = &(*pp)->next) {
        if (strlen ((*pp)->tag) == len && memcmp ((*pp)->tag, tag, len) == 0) {
            struct consumer *c = *pp;
            *pp = c->next;
            free (c);
            return;
        }
    }
}

static struct consumer *consumer_find (struct transport *t, const char *tag)
{
    struct consumer *c;

    for (c = t->consumers; c; c = c->next)
        if (strcmp (c->tag, tag) == 0)
            return c;
    return NULL;
}

/* A read that is not the answer to a request of ours failed: a close from
 * the broker gives EPROTO (channel) or ECONNRESET (connection). */
static int read_failed (struct transport *t, amqp_channel_t channel,
                        amqp_rpc_reply_t reply, struct krun_error *errp)
{
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD ||
         reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD))
        return broker_closed (t, channel, &reply.reply, false, errp, "connection lost");
    return check_reply (t, channel, reply, errp, "connection lost");
}

/* basic.return: the method is followed by the returned message's content. */
static int read_returned (struct transport *t, const amqp_frame_t *frame,
                          struct event **evp, struct krun_error *errp)
{
    const amqp_basic_return_t *ret = frame->payload.method.decoded;
    amqp_message_t message;
    amqp_rpc_reply_t reply;
    char *key;

    /* Copy the key first: the method lives in library memory. */
    if (!(key = strndup (ret->routing_key.bytes ? ret->routing_key.bytes : "",
                         ret->routing_key.len))) {
        errno = ENOMEM;
        return errprintf_errno (errp, "returned message on %s", t->url);
    }
    reply = amqp_read_message (t->conn, frame->channel, &message, 0);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        free (key);
        return read_failed (t, frame->channel, reply, errp);
    }
    *evp = event_create (TRANSPORT_RETURNED, amqp_empty_bytes, amqp_cstring_bytes (key),
                         &message.properties, &message.body);
    amqp_destroy_message (&message);
    free (key);
    if (!*evp) {
        errno = ENOMEM;
        return errprintf_errno (errp, "returned message on %s", t->url);
    }
    return READ_EVENT;
}

static int read_cancelled (struct transport *t, const amqp_frame_t *frame,
                           struct event **evp, struct krun_error *errp)
{
    const amqp_basic_cancel_t *cancel = frame->payload.method.decoded;

    if (!cancel->nowait) {
        amqp_basic_cancel_ok_t ok = {.consumer_tag = cancel->consumer_tag};
        amqp_send_method (t->conn, frame->channel, AMQP_BASIC_CANCEL_OK_METHOD, &ok);
    }
    consumer_forget (t, cancel->consumer_tag.bytes, cancel->consumer_tag.len);
    if (!(*evp = event_create (TRANSPORT_CANCELLED, cancel->consumer_tag,
                               amqp_empty_bytes, NULL, NULL))) {
        errno = ENOMEM;
        return errprintf_errno (errp, "consumer cancelled on %s", t->url);
    }
    return READ_EVENT;
}

/* The oldest request on channel still waiting for its answer, or NULL. */
static struct deferred *deferred_first (struct transport *t, amqp_channel_t channel)
{
    for (struct deferred *d = t->deferred_head; d; d = d->next)
        if (d->channel == channel)
            return d;
    return NULL;
}

/* Forget the requests of channel (all of them: after a channel.close the
 * broker drops what follows on that channel). */
static void deferred_drop (struct transport *t, amqp_channel_t channel, bool first_only)
{
    struct deferred **pp = &t->deferred_head, *last = NULL;

    while (*pp) {
        struct deferred *d = *pp;
        if (d->channel != channel) {
            last = d;
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        free (d);
        if (first_only)
            break;
    }
    for (t->deferred_tail = last; t->deferred_tail && t->deferred_tail->next;)
        t->deferred_tail = t->deferred_tail->next;
}

/* The answer to the oldest request waiting on the frame's channel, or the
 * broker's refusal (channel.close), reported in the request's name: at once
 * for the main channel (which is then lost), by the next call on the
 * private channel for that one. */
static int deferred_answered (struct transport *t, const amqp_frame_t *frame,
                              struct krun_error *errp)
{
    struct deferred *d = deferred_first (t, frame->channel);
    const amqp_method_t *method = &frame->payload.method;
    struct krun_error error;

    if (method->id == d->answer) {
        deferred_drop (t, frame->channel, true);
        return READ_NOTHING;
    }
    if (frame->channel != PRIVATE_CHANNEL) {
        int rc = broker_closed (t, frame->channel, method, true, errp, d->what);
        deferred_drop (t, frame->channel, false);
        return rc;
    }
    broker_closed (t, frame->channel, method, true, &error, d->what);
    if (!t->private_errno) {
        t->private_errno = errno;
        memcpy (t->private_error, error.text, sizeof (error.text));
    }
    deferred_drop (t, frame->channel, false);
    return READ_NOTHING;
}

/* A frame that amqp_consume_message() did not want (not a delivery). */
static int handle_frame (struct transport *t, const amqp_frame_t *frame,
                         struct event **evp, struct krun_error *errp)
{
    const amqp_method_t *method = &frame->payload.method;

    if (frame->frame_type != AMQP_FRAME_METHOD)
        return READ_NOTHING; /* stray content: nothing can use it */
    const struct deferred *d = deferred_first (t, frame->channel);
    if (d && (method->id == d->answer || method->id == AMQP_CHANNEL_CLOSE_METHOD))
        return deferred_answered (t, frame, errp);
    switch (method->id) {
        case AMQP_BASIC_ACK_METHOD: {
            const amqp_basic_ack_t *ack = method->decoded;
            settle (t, ack->delivery_tag, ack->multiple, false);
            return READ_NOTHING;
        }
        case AMQP_BASIC_NACK_METHOD: {
            const amqp_basic_nack_t *nack = method->decoded;
            settle (t, nack->delivery_tag, nack->multiple, true);
            return READ_NOTHING;
        }
        case AMQP_BASIC_RETURN_METHOD:
            return read_returned (t, frame, evp, errp);
        case AMQP_BASIC_CANCEL_METHOD:
            return read_cancelled (t, frame, evp, errp);
        case AMQP_CHANNEL_CLOSE_METHOD:
            if (frame->channel == PRIVATE_CHANNEL) {
                /* Late close of the private channel: reopened when next used. */
                broker_closed (t, frame->channel, method, false, NULL,
                               "private channel");
                return READ_NOTHING;
            }
            /* fall through */
        case AMQP_CONNECTION_CLOSE_METHOD:
            return broker_closed (t, frame->channel, method, false, errp,
                                  "connection lost");
        default:
            return READ_NOTHING; /* e.g. connection.blocked: not asked for */
    }
}

/* Whether the broker may have gone silent.  librabbitmq notices a missing
 * heartbeat only while it waits itself, never in the immediate reads of a
 * caller that polls the socket and calls transport_next (t, 0, ...).  The
 * broker sends something at least every heartbeat period, so after two
 * quiet periods read_event() lets librabbitmq wait a little, which makes it
 * check. */
static bool heartbeat_suspect (struct transport *t)
{
    struct pollfd pfd = {.fd = amqp_get_sockfd (t->conn), .events = POLLIN};
    int64_t now = clock_mono_ms ();

    if (t->heartbeat_sec <= 0)
        return false;
    if (poll (&pfd, 1, 0) > 0 || amqp_data_in_buffer (t->conn) ||
        amqp_frames_enqueued (t->conn))
        t->last_rx_ms = now;
    return now - t->last_rx_ms > 2000LL * t->heartbeat_sec;
}

/* Read one thing from the connection, waiting at most tv (NULL = forever).
 * Returns READ_EVENT with *evp set, READ_NOTHING if a frame was handled
 * internally (a confirm), READ_TIMEOUT, or -1. */
static int read_event (struct transport *t, const struct timeval *tv,
                       struct event **evp, struct krun_error *errp)
{
    static const struct timeval one_ms = {.tv_usec = 1000};
    amqp_envelope_t envelope;
    amqp_rpc_reply_t reply;
    amqp_frame_t frame;
    bool immediate = tv && tv->tv_sec == 0 && tv->tv_usec == 0;
    int status;

    if (immediate && heartbeat_suspect (t)) {
        tv = &one_ms;
        immediate = false;
    }
    amqp_maybe_release_buffers (t->conn);
    reply = amqp_consume_message (t->conn, &envelope, tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        *evp = event_create (TRANSPORT_DELIVERY, envelope.consumer_tag,
                             envelope.routing_key, &envelope.message.properties,
                             &envelope.message.body);
        if (*evp) {
            (*evp)->msg.delivery_tag = envelope.delivery_tag;
            (*evp)->msg.redelivered = envelope.redelivered;
        }
        amqp_destroy_envelope (&envelope);
        if (!*evp) {
            errno = ENOMEM;
            return errprintf_errno (errp, "delivery on %s", t->url);
        }
        t->last_rx_ms = clock_mono_ms ();
        return READ_EVENT;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        if (reply.library_error == AMQP_STATUS_TIMEOUT) {
            /* A wait that was not immediate would have failed with
             * AMQP_STATUS_HEARTBEAT_TIMEOUT if the broker had gone silent. */
            if (!immediate)
                t->last_rx_ms = clock_mono_ms ();
            return READ_TIMEOUT;
        }
        if (reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            /* The frame was put back: this returns it without waiting. */
            if ((status = amqp_simple_wait_frame (t->conn, &frame)) != AMQP_STATUS_OK)
                return check_status (t, status, errp, "connection lost");
            t->last_rx_ms = clock_mono_ms ();
            return handle_frame (t, &frame, evp, errp);
        }
    }
    /* The broker closed the channel (or connection) in the middle of a
     * delivery, or the socket failed. */
    return read_failed (t, MAIN_CHANNEL, reply, errp);
}

static struct timeval *remaining (int64_t deadline, struct timeval *tv)
{
    int64_t left;

    if (deadline < 0)
        return NULL;
    left = deadline - clock_mono_ms ();
    if (left < 0)
        left = 0;
    tv->tv_sec = left / 1000;
    tv->tv_usec = (left % 1000) * 1000;
    return tv;
}

static int64_t deadline_after (int timeout_ms)
{
    return timeout_ms < 0 ? -1 : clock_mono_ms () + timeout_ms;
}

static void keep (struct transport *t, struct event *ev)
{
    ev->next = NULL;
    if (t->kept_tail)
        t->kept_tail->next = ev;
    else
        t->kept_head = ev;
    t->kept_tail = ev;
}

/* Send a request on channel without waiting for its answer (answer, the
 * method that acknowledges it); what names it if the broker refuses it.
 * Returns 0, or -1 if it could not be sent. */
static int send_deferred (struct transport *t, amqp_channel_t channel,
                          amqp_method_number_t method, void *decoded,
                          amqp_method_number_t answer, const char *what,
                          struct krun_error *errp)
{
    struct deferred *d = calloc (1, sizeof (*d));
    int status;

    if (!d) {
        errno = ENOMEM;
        return errprintf_errno (errp, "%s on %s", what, t->url);
    }
    if ((status = amqp_send_method (t->conn, channel, method, decoded)) !=
        AMQP_STATUS_OK) {
        free (d);
        return check_status (t, status, errp, what);
    }
    d->channel = channel;
    d->answer = answer;
    snprintf (d->what, sizeof (d->what), "%s", what);
    if (t->deferred_tail)
        t->deferred_tail->next = d;
    else
        t->deferred_head = d;
    t->deferred_tail = d;
    return 0;
}

/* Read until every request sent with send_deferred() on channel (0: on any
 * channel) is answered, at most DEFERRED_TIMEOUT_MS; deliveries that come
 * meanwhile are kept for transport_next().  Returns 0, or -1 with the
 * broker's refusal of one of them (named after that request). */
static int settle_deferred (struct transport *t, amqp_channel_t channel,
                            struct krun_error *errp)
{
    int64_t deadline = deadline_after (DEFERRED_TIMEOUT_MS);
    struct timeval tv;

    while (channel ? deferred_first (t, channel) != NULL : t->deferred_head != NULL) {
        struct event *ev = NULL;
        int rc = read_event (t, remaining (deadline, &tv), &ev, errp);
        if (rc < 0)
            return -1;
        if (rc == READ_EVENT)
            keep (t, ev);
        else if (rc == READ_TIMEOUT) {
            struct deferred *d =
                channel ? deferred_first (t, channel) : t->deferred_head;
            return fail (t, ETIMEDOUT, ETIMEDOUT, errp, d->what,
                         "no answer from the broker within %d ms", DEFERRED_TIMEOUT_MS);
        }
    }
    if ((channel == 0 || channel == PRIVATE_CHANNEL) && t->private_errno) {
        errprintf (errp, "%s", t->private_error);
        errno = t->private_errno;
        t->private_errno = 0;
        return -1;
    }
    return 0;
}

/* The private channel, opened if it is not (at its first use, or after the
 * broker closed it), without waiting: its open-ok comes before the answer
 * to whatever is sent on it next. */
static int open_private_channel (struct transport *t, struct krun_error *errp)
{
    amqp_channel_open_t open = {.out_of_band = amqp_empty_bytes};

    if (t->private_open)
        return 0;
    amqp_maybe_release_buffers_on_channel (t->conn, PRIVATE_CHANNEL);
    if (send_deferred (t, PRIVATE_CHANNEL, AMQP_CHANNEL_OPEN_METHOD, &open,
                       AMQP_CHANNEL_OPEN_OK_METHOD, "cannot open channel", errp) < 0)
        return -1;
    t->private_open = true; /* until the broker says otherwise */
    return 0;
}

/* Before a call on the private channel that waits for its answer: the
 * channel opened, and the answers to the requests sent on it before (the
 * library's own wait would not see those it already read). */
static int private_channel (struct transport *t, struct krun_error *errp)
{
    if (open_private_channel (t, errp) < 0)
        return -1;
    return settle_deferred (t, PRIVATE_CHANNEL, errp);
}

/* Before a call that waits on the main channel: the answers to the
 * requests sent on it without waiting (a refusal is reported in their
 * name, not the call's). */
static int main_channel (struct transport *t, struct krun_error *errp)
{
    return settle_deferred (t, MAIN_CHANNEL, errp);
}

/* A request on the private channel without waiting (opened first if it
 * is not): requests on one channel are answered in order, so the earlier
 * ones need not be settled first. */
static int send_private (struct transport *t, amqp_method_number_t method,
                         void *decoded, amqp_method_number_t answer, const char *what,
                         struct krun_error *errp)
{
    if (open_private_channel (t, errp) < 0)
        return -1;
    return send_deferred (t, PRIVATE_CHANNEL, method, decoded, answer, what, errp);
}

/* The flags a queue declaration takes (besides TRANSPORT_DEFER). */
#define QUEUE_FLAGS (TRANSPORT_DURABLE | TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE)

/* queue.declare of name with flags (QUEUE_FLAGS) and x-expires expires_ms
 * (none if 0), for amqp_send_method(); *expires holds the argument. */
static amqp_queue_declare_t declare_request (const char *name, int flags,
                                             int expires_ms, bool nowait,
                                             amqp_table_entry_t *expires)
{
    *expires = (amqp_table_entry_t){
        .key = amqp_cstring_bytes ("x-expires"),
        .value = {.kind = AMQP_FIELD_KIND_I64, .value.i64 = expires_ms}};
    return (amqp_queue_declare_t){
        .queue = cstring (name),
        .durable = !!(flags & TRANSPORT_DURABLE),
        .exclusive = !!(flags & TRANSPORT_EXCLUSIVE),
        .auto_delete = !!(flags & TRANSPORT_AUTO_DELETE),
        .nowait = nowait,
        .arguments = {.num_entries = expires_ms > 0 ? 1 : 0, .entries = expires}};
}

/* exchange.declare of the durable exchange name of type: durable, because
 * the bindings of durable queues survive a broker restart only if their
 * exchange does too.  *what names it for messages. */
static amqp_exchange_declare_t exchange_request (const char *name, const char *type,
                                                 bool nowait, char *what, size_t size)
{
    snprintf (what, size, "cannot declare exchange '%s'", name ? name : "");
    return (amqp_exchange_declare_t){.exchange = cstring (name),
                                     .type = cstring (type),
                                     .durable = 1,
                                     .nowait = nowait,
                                     .arguments = amqp_empty_table};
}

/* Channel 1 with publisher confirms: two requests in one round trip.  The
 * private channel is opened by its first use: a slot may need it only
 * minutes later (the lease checks), and each channel costs the broker a
 * round trip and memory. */
static int open_channels (struct transport *t, struct krun_error *errp)
{
    amqp_channel_open_t open = {.out_of_band = amqp_empty_bytes};
    amqp_confirm_select_t select = {.nowait = 0};

    if (send_deferred (t, MAIN_CHANNEL, AMQP_CHANNEL_OPEN_METHOD, &open,
                       AMQP_CHANNEL_OPEN_OK_METHOD, "cannot open channel", errp) < 0 ||
        send_deferred (t, MAIN_CHANNEL, AMQP_CONFIRM_SELECT_METHOD, &select,
                       AMQP_CONFIRM_SELECT_OK_METHOD,
                       "cannot enable publisher confirms", errp) < 0)
        return -1;
    return settle_deferred (t, 0, errp);
}

/* Connect and log in to url (no channel open yet).  Returns NULL with errno
 * and errp set. */
static struct transport *connect_login (const char *url, const char *cacert,
                                        int heartbeat_sec, bool plain_only,
                                        struct krun_error *errp)
{
    struct amqp_connection_info info;
    struct transport *t;
    char *parsed = NULL;
    int saved_errno;

    if (!url) {
        errno = EINVAL;
        errprintf (errp, "no broker URL");
        return NULL;
    }
    if (transport_url_check (url, errp) < 0)
        return NULL;
    if (!(t = calloc (1, sizeof (*t))) || !(t->url = transport_url_redact (url)) ||
        !(parsed = strdup (url))) {
        errno = ENOMEM;
        errprintf_errno (errp, "cannot connect to broker");
        goto error;
    }
    t->heartbeat_sec = heartbeat_sec > 0 ? heartbeat_sec : 0;
    if (amqp_parse_url (parsed, &info) != AMQP_STATUS_OK) {
        errno = EINVAL; /* transport_url_check() let it through: not expected */
        errprintf (errp, "invalid broker URL %s", t->url);
        goto error;
    }
    if (plain_only && info.ssl) {
        errno = EPROTONOSUPPORT;
        errprintf (errp, "cannot share a connection to broker %s: it is amqps://",
                   t->url);
        goto error;
    }
    if (!(t->conn = amqp_new_connection ())) {
        errno = ENOMEM;
        errprintf_errno (errp, "cannot connect to broker %s", t->url);
        goto error;
    }
    if (open_socket (t, &info, cacert, errp) < 0 || login (t, &info, errp) < 0)
        goto error;
    t->last_rx_ms = clock_mono_ms ();
    free (parsed);
    return t;
error:
    saved_errno = errno;
    if (t) {
        /* Nothing polite to say to a broker that refused us. */
        t->failed = saved_errno ? saved_errno : EIO;
        transport_destroy (t);
    }
    free (parsed);
    errno = saved_errno;
    return NULL;
}

struct transport *transport_connect (const char *url, const char *cacert,
                                     int heartbeat_sec, struct krun_error *errp)
{
    struct transport *t = connect_login (url, cacert, heartbeat_sec, false, errp);

    if (t && open_channels (t, errp) < 0) {
        int saved_errno = errno;
        t->failed = saved_errno ? saved_errno : EIO;
        transport_destroy (t);
        errno = saved_errno;
        return NULL;
    }
    return t;
}

int transport_login_raw (const char *url, const char *cacert, int heartbeat_sec,
                         struct transport_tune *tune, struct krun_error *errp)
{
    struct transport *t = connect_login (url, cacert, heartbeat_sec, true, errp);
    int fd = -1;

    if (!t)
        return -1;
    /* The broker says nothing after connection.open-ok until asked: bytes
     * already read would be lost with the library's buffer. */
    if (amqp_data_in_buffer (t->conn) || amqp_frames_enqueued (t->conn)) {
        errno = EPROTO;
        errprintf (errp, "broker %s: unexpected data after logging in", t->url);
    } else if ((fd = fcntl (amqp_get_sockfd (t->conn), F_DUPFD_CLOEXEC, 0)) < 0)
        errprintf_errno (errp, "broker %s: cannot keep the connection", t->url);
    else {
        tune->channel_max = amqp_get_channel_max (t->conn);
        tune->frame_max = amqp_get_frame_max (t->conn);
        tune->heartbeat = amqp_get_heartbeat (t->conn);
    }
    int saved_errno = errno;
    t->failed = EIO; /* the connection lives on in fd: no connection.close */
    transport_destroy (t);
    errno = saved_errno;
    return fd;
}

struct transport *transport_connect_fd (int fd, const char *name, int heartbeat_sec,
                                        int login_timeout_ms, struct krun_error *errp)
{
    char user[] = "krund", password[] = "krund", vhost[] = "/";
    struct amqp_connection_info info = {
        .user = user, .password = password, .vhost = vhost};
    amqp_socket_t *socket;
    struct transport *t;

    if (!(t = calloc (1, sizeof (*t))) || !(t->url = strdup (name)) ||
        !(t->conn = amqp_new_connection ()) ||
        !(socket = amqp_tcp_socket_new (t->conn))) {
        errno = ENOMEM;
        errprintf_errno (errp, "cannot connect to %s", name);
        close (fd);
        goto error;
    }
    t->heartbeat_sec = heartbeat_sec > 0 ? heartbeat_sec : 0;
    amqp_tcp_socket_set_sockfd (socket, fd);
    if (login_timeout_ms > 0) {
        struct timeval tv = {.tv_sec = login_timeout_ms / 1000,
                             .tv_usec = login_timeout_ms % 1000 * 1000};
        amqp_set_handshake_timeout (t->conn, &tv);
    }
    if (login (t, &info, errp) < 0 || open_channels (t, errp) < 0)
        goto error;
    t->last_rx_ms = clock_mono_ms ();
    return t;
error:;
    int saved_errno = errno;
    if (t)
        t->failed = saved_errno ? saved_errno : EIO;
    transport_destroy (t);
    errno = saved_errno;
    return NULL;
}

void transport_destroy (struct transport *t)
{
    int saved_errno = errno;

    if (!t)
        return;
    if (t->conn) {
        if (!t->failed) {
            struct timeval tv = {.tv_sec = CLOSE_TIMEOUT_MS / 1000};
            amqp_set_rpc_timeout (t->conn, &tv);
            amqp_connection_close (t->conn, AMQP_REPLY_SUCCESS);
        }
        amqp_destroy_connection (t->conn);
    }
    event_destroy (t->current);
    events_destroy (t->kept_head);
    while (t->deferred_head) {
        struct deferred *next = t->deferred_head->next;
        free (t->deferred_head);
        t->deferred_head = next;
    }
    while (t->consumers) {
        struct consumer *next = t->consumers->next;
        free (t->consumers);
        t->consumers = next;
    }
    free (t->settled);
    free (t->url);
    free (t);
    errno = saved_errno;
}

int transport_declare_exchange (struct transport *t, const char *name, const char *type,
                                int flags, struct krun_error *errp)
{
    char what[256];
    amqp_exchange_declare_t req =
        exchange_request (name, type, false, what, sizeof (what));

    if (start_call (t, errp) < 0)
        return -1;
    if (flags & ~TRANSPORT_DEFER) {
        errno = EINVAL;
        return errprintf (errp, "%s: invalid flags 0x%x", what, (unsigned)flags);
    }
    if (flags & TRANSPORT_DEFER)
        return send_private (t, AMQP_EXCHANGE_DECLARE_METHOD, &req,
                             AMQP_EXCHANGE_DECLARE_OK_METHOD, what, errp);
    if (private_channel (t, errp) < 0)
        return -1;
    amqp_exchange_declare (t->conn, PRIVATE_CHANNEL, req.exchange, req.type, 0,
                           req.durable, 0, 0, req.arguments);
    return check_reply (t, PRIVATE_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what);
}

int transport_declare_exchange_nowait (struct transport *t, const char *name,
                                       const char *type, struct krun_error *errp)
{
    char what[256];
    amqp_exchange_declare_t req =
        exchange_request (name, type, true, what, sizeof (what));

    if (start_call (t, errp) < 0)
        return -1;
    /* On the main channel: what is published after it on this channel is
     * routed after the exchange exists.  No answer comes; a refusal closes
     * the channel. */
    return check_status (
        t, amqp_send_method (t->conn, MAIN_CHANNEL, AMQP_EXCHANGE_DECLARE_METHOD, &req),
        errp, what);
}

int transport_declare_queue (struct transport *t, const char *name, int flags,
                             int expires_ms, char **namep, struct krun_error *errp)
{
    amqp_table_entry_t arg;
    amqp_queue_declare_t req = declare_request (name, flags, expires_ms, false, &arg);
    amqp_queue_declare_ok_t *ok;
    char what[256];
    char *actual = NULL;

    if (start_call (t, errp) < 0)
        return -1;
    if (flags & ~(QUEUE_FLAGS | TRANSPORT_DEFER) ||
        ((flags & TRANSPORT_DEFER) && (namep || !name || !*name))) {
        errno = EINVAL;
        return errprintf (errp, "cannot declare queue '%s': invalid flags 0x%x",
                          name ? name : "", (unsigned)flags);
    }
    snprintf (what, sizeof (what), "cannot declare queue '%s'", name ? name : "");
    if (flags & TRANSPORT_DEFER)
        return send_private (t, AMQP_QUEUE_DECLARE_METHOD, &req,
                             AMQP_QUEUE_DECLARE_OK_METHOD, what, errp);
    if (private_channel (t, errp) < 0)
        return -1;
    ok = amqp_queue_declare (t->conn, PRIVATE_CHANNEL, req.queue, 0, req.durable,
                             req.exclusive, req.auto_delete, req.arguments);
    if (check_reply (t, PRIVATE_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what) < 0)
        return -1;
    if (namep) {
        if (!(actual =
                  strndup (ok->queue.bytes ? ok->queue.bytes : "", ok->queue.len))) {
            errno = ENOMEM;
            return errprintf_errno (errp, "%s", what);
        }
        *namep = actual;
    }
    return 0;
}

int transport_queue_info (struct transport *t, const char *name, unsigned *messages,
                          unsigned *consumers, struct krun_error *errp)
{
    amqp_queue_declare_ok_t *ok;
    char what[256];

    if (start_call (t, errp) < 0 || private_channel (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot query queue '%s'", name ? name : "");
    ok = amqp_queue_declare (t->conn, PRIVATE_CHANNEL, cstring (name), 1, 0, 0, 0,
                             amqp_empty_table);
    if (check_reply (t, PRIVATE_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what) < 0)
        return -1;
    if (messages)
        *messages = ok->message_count;
    if (consumers)
        *consumers = ok->consumer_count;
    return 0;
}

int transport_delete_queue (struct transport *t, const char *name,
                            struct krun_error *errp)
{
    char what[256];

    if (start_call (t, errp) < 0 || private_channel (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot delete queue '%s'", name ? name : "");
    amqp_queue_delete (t->conn, PRIVATE_CHANNEL, cstring (name), 0, 0);
    return check_reply (t, PRIVATE_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what);
}

int transport_purge_queue (struct transport *t, const char *name,
                           struct krun_error *errp)
{
    char what[256];
    amqp_queue_purge_ok_t *ok;

    if (start_call (t, errp) < 0 || private_channel (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot purge queue '%s'", name ? name : "");
    ok = amqp_queue_purge (t->conn, PRIVATE_CHANNEL, cstring (name));
    if (check_reply (t, PRIVATE_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what) < 0)
        return -1;
    return ok && ok->message_count <= INT_MAX ? (int)ok->message_count : 0;
}

int transport_delete_queue_nowait (struct transport *t, const char *name,
                                   struct krun_error *errp)
{
    amqp_queue_delete_t req = {.queue = cstring (name), .nowait = 1};
    int rc;

    if (start_call (t, errp) < 0 || private_channel (t, errp) < 0)
        return -1;
    rc = amqp_send_method (t->conn, PRIVATE_CHANNEL, AMQP_QUEUE_DELETE_METHOD, &req);
    if (rc != AMQP_STATUS_OK) {
        errno = ECONNRESET;
        return errprintf (errp, "cannot delete queue '%s': %s", name ? name : "",
                          amqp_error_string2 (rc));
    }
    return 0;
}

static int bind_queue (struct transport *t, const char *queue, const char *exchange,
                       const char *key, bool defer, struct krun_error *errp)
{
    char what[256];

    if (start_call (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot bind queue '%s' to exchange '%s'",
              queue ? queue : "", exchange ? exchange : "");
    if (defer) {
        amqp_queue_bind_t req = {.queue = cstring (queue),
                                 .exchange = cstring (exchange),
                                 .routing_key = cstring (key),
                                 .arguments = amqp_empty_table};
        return send_private (t, AMQP_QUEUE_BIND_METHOD, &req, AMQP_QUEUE_BIND_OK_METHOD,
                             what, errp);
    }
    if (private_channel (t, errp) < 0)
        return -1;
    amqp_queue_bind (t->conn, PRIVATE_CHANNEL, cstring (queue), cstring (exchange),
                     cstring (key), amqp_empty_table);
    return check_reply (t, PRIVATE_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what);
}

int transport_bind (struct transport *t, const char *queue, const char *exchange,
                    const char *key, struct krun_error *errp)
{
    return bind_queue (t, queue, exchange, key, false, errp);
}

int transport_bind_defer (struct transport *t, const char *queue, const char *exchange,
                          const char *key, struct krun_error *errp)
{
    return bind_queue (t, queue, exchange, key, true, errp);
}

int transport_settle (struct transport *t, struct krun_error *errp)
{
    if (start_call (t, errp) < 0)
        return -1;
    return settle_deferred (t, 0, errp);
}

int transport_qos (struct transport *t, int prefetch, int flags,
                   struct krun_error *errp)
{
    if (start_call (t, errp) < 0)
        return -1;
    if (prefetch < 0 || prefetch > UINT16_MAX || (flags & ~TRANSPORT_DEFER)) {
        errno = EINVAL;
        return errprintf (errp, "invalid prefetch count %d or flags 0x%x", prefetch,
                          (unsigned)flags);
    }
    if (flags & TRANSPORT_DEFER) {
        amqp_basic_qos_t req = {.prefetch_count = (uint16_t)prefetch};
        return send_deferred (t, MAIN_CHANNEL, AMQP_BASIC_QOS_METHOD, &req,
                              AMQP_BASIC_QOS_OK_METHOD, "cannot set prefetch count",
                              errp);
    }
    if (main_channel (t, errp) < 0)
        return -1;
    amqp_basic_qos (t->conn, MAIN_CHANNEL, 0, (uint16_t)prefetch, 0);
    return check_reply (t, MAIN_CHANNEL, amqp_get_rpc_reply (t->conn), errp,
                        "cannot set prefetch count");
}

/* Remember consumer tag (len bytes). */
static int consumer_add (struct transport *t, const void *tag, size_t len,
                         struct krun_error *errp, const char *what)
{
    struct consumer *c = calloc (1, sizeof (*c) + len + 1);

    if (!c) {
        errno = ENOMEM;
        return errprintf_errno (errp, "%s", what);
    }
    memcpy (c->tag, tag, len);
    c->next = t->consumers;
    t->consumers = c;
    return 0;
}

/* Consume queue; with declare (the queue's flags and x-expires), declare it
 * first on the main channel, without waiting (see
 * transport_declare_consume()). */
static int consume (struct transport *t, const char *queue, const char *tag,
                    bool no_ack, bool exclusive, const int *declare, int expires_ms,
                    struct krun_error *errp)
{
    amqp_basic_consume_ok_t *ok;
    char what[256];
    int status;

    if (start_call (t, errp) < 0 || main_channel (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot %s queue '%s'",
              declare ? "declare and consume" : "consume", queue ? queue : "");
    if (tag && *tag && consumer_find (t, tag)) {
        /* The broker would close the whole connection for this. */
        errno = EEXIST;
        return errprintf (errp, "%s: consumer tag '%s' is in use", what, tag);
    }
    if (declare) {
        amqp_table_entry_t arg;
        amqp_queue_declare_t req =
            declare_request (queue, *declare, expires_ms, true, &arg);
        if (*declare & ~QUEUE_FLAGS || !queue || !*queue) {
            errno = EINVAL;
            return errprintf (errp, "%s: invalid flags 0x%x", what, (unsigned)*declare);
        }
        /* The consume that follows on the same channel is its answer. */
        status =
            amqp_send_method (t->conn, MAIN_CHANNEL, AMQP_QUEUE_DECLARE_METHOD, &req);
        if (check_status (t, status, errp, what) < 0)
            return -1;
    } else if (transport_queue_info (t, queue, NULL, NULL, errp) < 0)
        /* A missing queue would close channel 1 and with it every consumer:
         * check on the private channel first.  (If the queue vanishes
         * between the two calls, the transport becomes unusable:
         * reconnect.) */
        return -1;
    ok = amqp_basic_consume (t->conn, MAIN_CHANNEL, cstring (queue), cstring (tag), 0,
                             no_ack, exclusive, amqp_empty_table);
    if (check_reply (t, MAIN_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what) < 0)
        return -1;
    return consumer_add (t, ok->consumer_tag.bytes, ok->consumer_tag.len, errp, what);
}

int transport_consume (struct transport *t, const char *queue, const char *tag,
                       bool no_ack, struct krun_error *errp)
{
    return consume (t, queue, tag, no_ack, false, NULL, 0, errp);
}

int transport_consume_exclusive (struct transport *t, const char *queue,
                                 const char *tag, bool no_ack, struct krun_error *errp)
{
    return consume (t, queue, tag, no_ack, true, NULL, 0, errp);
}

int transport_consume_defer (struct transport *t, const char *queue, const char *tag,
                             bool no_ack, struct krun_error *errp)
{
    amqp_basic_consume_t req = {.queue = cstring (queue),
                                .consumer_tag = cstring (tag),
                                .no_ack = no_ack,
                                .arguments = amqp_empty_table};
    char what[256];

    if (start_call (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot consume queue '%s'", queue ? queue : "");
    if (!tag || !*tag || !queue || !*queue) {
        errno = EINVAL;
        return errprintf (errp, "%s: a deferred consume needs a queue and a tag", what);
    }
    if (consumer_find (t, tag)) {
        errno = EEXIST;
        return errprintf (errp, "%s: consumer tag '%s' is in use", what, tag);
    }
    if (send_deferred (t, MAIN_CHANNEL, AMQP_BASIC_CONSUME_METHOD, &req,
                       AMQP_BASIC_CONSUME_OK_METHOD, what, errp) < 0)
        return -1;
    return consumer_add (t, tag, strlen (tag), errp, what);
}

int transport_declare_consume (struct transport *t, const char *queue, int flags,
                               int expires_ms, const char *tag, bool no_ack,
                               bool exclusive, struct krun_error *errp)
{
    return consume (t, queue, tag, no_ack, exclusive, &flags, expires_ms, errp);
}

bool transport_consuming (struct transport *t, const char *tag)
{
    return t && tag && consumer_find (t, tag);
}

int transport_cancel (struct transport *t, const char *tag, struct krun_error *errp)
{
    char what[256];

    if (start_call (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot cancel consumer '%s'", tag ? tag : "");
    if (main_channel (t, errp) < 0)
        return -1;
    amqp_basic_cancel (t->conn, MAIN_CHANNEL, cstring (tag));
    if (check_reply (t, MAIN_CHANNEL, amqp_get_rpc_reply (t->conn), errp, what) < 0)
        return -1;
    if (tag)
        consumer_forget (t, tag, strlen (tag));
    return 0;
}

int transport_publish (struct transport *t, const char *exchange,
                       const char *routing_key, const char *type, const char *reply_to,
                       int flags, const void *body, size_t len, struct krun_error *errp)
{
    amqp_basic_properties_t props = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
        .content_type = amqp_cstring_bytes ("application/json"),
        .delivery_mode = (flags & TRANSPORT_PERSISTENT) ? 2 : 1,
    };
    /* librabbitmq only reads the body: the cast through uintptr_t says so. */
    amqp_bytes_t content = {.len = len, .bytes = (void *)(uintptr_t)body};
    char what[256];
    int status;

    if (start_call (t, errp) < 0)
        return -1;
    if (flags & ~(TRANSPORT_PERSISTENT | TRANSPORT_MANDATORY)) {
        errno = EINVAL;
        return errprintf (errp, "cannot publish: unknown flags 0x%x", (unsigned)flags);
    }
    if (type) {
        props._flags |= AMQP_BASIC_TYPE_FLAG;
        props.type = amqp_cstring_bytes (type);
    }
    if (reply_to) {
        props._flags |= AMQP_BASIC_REPLY_TO_FLAG;
        props.reply_to = amqp_cstring_bytes (reply_to);
    }
    if (!body)
        content = amqp_empty_bytes;
    snprintf (what, sizeof (what), "cannot publish to exchange '%s' key '%s'",
              exchange ? exchange : "", routing_key ? routing_key : "");
    status = amqp_basic_publish (t->conn, MAIN_CHANNEL, cstring (exchange),
                                 cstring (routing_key), !!(flags & TRANSPORT_MANDATORY),
                                 0, &props, content);
    if (status != AMQP_STATUS_OK) {
        /* Part of the message may be on the wire: the connection is done. */
        int errnum = status_errno (status);
        return fail (t, errnum, errnum, errp, what, "%s", amqp_error_string2 (status));
    }
    t->published++;
    return 0;
}

int transport_wait_confirms (struct transport *t, int timeout_ms,
                             struct krun_error *errp)
{
    int64_t deadline = deadline_after (timeout_ms);
    struct timeval tv;
    struct event *ev;
    int rc;

    if (start_call (t, errp) < 0)
        return -1;
    while (t->confirmed < t->published) {
        ev = NULL;
        if ((rc = read_event (t, remaining (deadline, &tv), &ev, errp)) < 0)
            return -1;
        if (rc == READ_EVENT)
            keep (t, ev);
        else if (rc == READ_TIMEOUT) {
            errno = ETIMEDOUT;
            return errprintf (
                errp, "broker %s did not confirm %llu message(s) within %d ms", t->url,
                (unsigned long long)(t->published - t->confirmed - t->settled_count),
                timeout_ms);
        }
    }
    if (t->nacked) {
        unsigned long long n = t->nacked;
        t->nacked = 0;
        errno = EIO;
        return errprintf (errp, "broker %s refused %llu message(s) (nack)", t->url, n);
    }
    return 0;
}

/* The returned event's strings and body stay valid until the next
 * transport_next() (or transport_destroy()): transport_wait_confirms() does
 * not free them, so a handler may publish and wait before it acks. */
int transport_next (struct transport *t, int timeout_ms, struct transport_message *msg,
                    struct krun_error *errp)
{
    int64_t deadline = deadline_after (timeout_ms);
    struct timeval tv;
    struct event *ev;
    int rc;

    if (t) {
        event_destroy (t->current);
        t->current = NULL;
    }
    if (start_call (t, errp) < 0)
        return -1;
    if ((ev = t->kept_head)) {
        if (!(t->kept_head = ev->next))
            t->kept_tail = NULL;
    } else {
        do {
            ev = NULL;
            if ((rc = read_event (t, remaining (deadline, &tv), &ev, errp)) < 0)
                return -1;
            if (rc == READ_TIMEOUT)
                return TRANSPORT_TIMEOUT;
        } while (rc != READ_EVENT);
    }
    ev->next = NULL;
    t->current = ev;
    if (msg)
        *msg = ev->msg;
    return ev->kind;
}

int transport_ack (struct transport *t, uint64_t delivery_tag, struct krun_error *errp)
{
    if (start_call (t, errp) < 0)
        return -1;
    return check_status (t, amqp_basic_ack (t->conn, MAIN_CHANNEL, delivery_tag, 0),
                         errp, "cannot acknowledge a message");
}

int transport_reject (struct transport *t, uint64_t delivery_tag, bool requeue,
                      struct krun_error *errp)
{
    if (start_call (t, errp) < 0)
        return -1;
    return check_status (
        t, amqp_basic_reject (t->conn, MAIN_CHANNEL, delivery_tag, requeue), errp,
        "cannot reject a message");
}

int transport_server_property (struct transport *t, const char *key, char *buf,
                               size_t size)
{
    const amqp_table_t *props =
        t && t->conn ? amqp_get_server_properties (t->conn) : NULL;

    for (int i = 0; props && i < props->num_entries; i++) {
        const amqp_table_entry_t *e = &props->entries[i];
        if (e->key.len != strlen (key) || memcmp (e->key.bytes, key, e->key.len) != 0)
            continue;
        if (e->value.kind != AMQP_FIELD_KIND_UTF8 &&
            e->value.kind != AMQP_FIELD_KIND_BYTES)
            break;
        amqp_bytes_t v = e->value.value.bytes;
        if (v.len >= size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (v.len)
            memcpy (buf, v.bytes, v.len);
        buf[v.len] = '\0';
        return (int)v.len;
    }
    errno = ENOENT;
    return -1;
}

int transport_fd (struct transport *t)
{
    return t && t->conn ? amqp_get_sockfd (t->conn) : -1;
}

bool transport_pending (struct transport *t)
{
    if (!t)
        return false;
    /* A failure is news too: the next transport_next() reports it. */
    return t->kept_head || t->failed || amqp_frames_enqueued (t->conn) ||
           amqp_data_in_buffer (t->conn);
}

int transport_peek (struct transport *t, const char *name, void **bodyp, size_t *lenp,
                    struct krun_error *errp)
{
    amqp_rpc_reply_t reply;
    amqp_message_t message;
    uint64_t tag;
    char what[300];
    void *copy;

    if (start_call (t, errp) < 0 || private_channel (t, errp) < 0)
        return -1;
    snprintf (what, sizeof (what), "cannot read queue '%s'", name);
    reply = amqp_basic_get (t->conn, PRIVATE_CHANNEL, cstring (name), 0);
    if (check_reply (t, PRIVATE_CHANNEL, reply, errp, what) < 0)
        return -1;
    if (reply.reply.id != AMQP_BASIC_GET_OK_METHOD) {
        errno = EAGAIN;
        return errprintf (errp, "%s: it is empty", what);
    }
    tag = ((amqp_basic_get_ok_t *)reply.reply.decoded)->delivery_tag;
    reply = amqp_read_message (t->conn, PRIVATE_CHANNEL, &message, 0);
    if (check_reply (t, PRIVATE_CHANNEL, reply, errp, what) < 0)
        return -1;
    copy = malloc (message.body.len ? message.body.len : 1);
    if (copy)
        memcpy (copy, message.body.bytes, message.body.len);
    *lenp = message.body.len;
    amqp_destroy_message (&message);
    /* Back to the queue, for the other readers. */
    amqp_basic_reject (t->conn, PRIVATE_CHANNEL, tag, 1);
    if (!copy) {
        errno = ENOMEM;
        return errprintf_errno (errp, "%s", what);
    }
    *bodyp = copy;
    return 0;
}
