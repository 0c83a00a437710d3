/* amqpmux.c - broker connections for many clients: one shared by a node's
 * slots, or one each for the connection agent's launchers.  See amqpmux.h.
 *
 * An AMQP 0-9-1 frame is: type (1 byte), channel (2), payload size (4), the
 * payload, 0xCE.  A method frame's payload starts with its class and method
 * ids (2 bytes each).  Only channel 0 (the connection) and the opening and
 * closing of channels are looked at here; every other frame is forwarded as
 * it is, with its channel number rewritten.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "amqpmux.h"
#include "clock.h"
#include "log.h"

enum {
    FRAME_METHOD = 1,
    FRAME_HEADER = 2,
    FRAME_BODY = 3,
    FRAME_HEARTBEAT = 8,
    FRAME_END = 0xCE,
    FRAME_OVERHEAD = 8, /* header (7) and end (1) */
};

#define METHOD(cls, id) (((uint32_t)(cls) << 16) | (id))
enum {
    CONNECTION_START = METHOD (10, 10),
    CONNECTION_START_OK = METHOD (10, 11),
    CONNECTION_TUNE = METHOD (10, 30),
    CONNECTION_TUNE_OK = METHOD (10, 31),
    CONNECTION_OPEN = METHOD (10, 40),
    CONNECTION_OPEN_OK = METHOD (10, 41),
    CONNECTION_CLOSE = METHOD (10, 50),
    CONNECTION_CLOSE_OK = METHOD (10, 51),
    CHANNEL_OPEN = METHOD (20, 10),
    CHANNEL_OPEN_OK = METHOD (20, 11),
    CHANNEL_CLOSE = METHOD (20, 40),
    CHANNEL_CLOSE_OK = METHOD (20, 41),
    QUEUE_DECLARE = METHOD (50, 10),
    CONFIRM_SELECT = METHOD (85, 10),
    CONFIRM_SELECT_OK = METHOD (85, 11),
    QUEUE_DELETE = METHOD (50, 40),
};

/* queue.declare's and queue.delete's bits */
enum { DECLARE_AUTO_DELETE = 8, DELETE_NOWAIT = 4 };

/* The queues made ahead (amqpmux_ahead()) on an upstream connection's
 * channel after its clients' block. */
enum ahead_state {
    AH_SHUT = 0, /* the channel is not open */
    AH_IDLE,     /* open, no queues made */
    AH_MAKING,   /* requests sent, ahead_replies answers awaited */
    AH_READY,    /* the queues of token exist (as of token_ms) */
};

/* AMQP reply codes */
enum { REPLY_SUCCESS = 200, FRAME_ERROR = 501, CHANNEL_ERROR = 504 };

/* Bytes queued for the broker beyond which no client is read: the broker
 * (or the network) is slower than the slots. */
#define UPSTREAM_HIGH_WATER (8 * 1024 * 1024)
/* Bytes queued for one slot beyond which it is cut off: it stopped reading
 * (a running slot reads its connection in every turn of its loop). */
#define CLIENT_MAX_QUEUED (64 * 1024 * 1024)
/* With one client per connection: bytes queued for the client beyond which
 * its connection is not read (the broker waits, as a direct connection's
 * TCP window would make it). */
#define CLIENT_HIGH_WATER (4 * 1024 * 1024)
/* Read at most this much from one socket per service call, for fairness. */
#define READ_CHUNK (64 * 1024)
#define READS_PER_TURN 16
/* No new login for this long after one failed. */
#define LOGIN_RETRY_MS 1000
/* The frame size offered to slots before the upstream one is known is
 * never used: a client is attached only to a logged-in upstream. */

static const unsigned char protocol_header[8] = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

struct buf {
    unsigned char *data;
    size_t off, len, cap; /* pending: data[off, len) */
};

enum chstate {
    CH_FREE = 0,
    CH_OPENING,        /* channel.open forwarded */
    CH_OPEN,           /* channel.open-ok seen */
    CH_CLOSING_CLIENT, /* the slot's channel.close forwarded */
    CH_CLOSING_SERVER, /* the broker's channel.close forwarded to the slot */
    CH_ORPHAN,         /* its slot is gone: closed by us, waiting for close-ok */
    CH_SPARE_OPENING,  /* opened ahead (amqpmux_channels_ahead()), no client yet */
    CH_SPARE,          /* opened ahead, open-ok seen: the next client's */
};

struct client;

struct upstream {
    int fd;
    struct transport_tune tune;
    struct buf in, out;
    int nblocks;            /* blocks of AMQPMUX_CLIENT_CHANNELS channels */
    struct client **owner;  /* per block, or NULL */
    unsigned char *chstate; /* per channel number, 0 unused */
    int64_t last_rx_ms, last_tx_ms;
    bool dead;
    bool paused;  /* not read: its client has CLIENT_HIGH_WATER queued */
    bool closing; /* connection.close sent: a spare too many */
    /* Channel 1 was put in confirm mode when it was opened ahead, and its
     * client has not selected confirms yet. */
    bool preselected;
    enum ahead_state ahead;
    int ahead_replies;
    char token[AMQPMUX_TOKEN_SIZE]; /* with AH_MAKING and AH_READY */
    int64_t token_ms, ahead_retry_ms;
    struct upstream *next;
};

enum handshake { HS_HEADER, HS_START_OK, HS_TUNE_OK, HS_OPEN, HS_READY };

struct client {
    struct amqpmux *m;
    int fd;
    enum handshake hs;
    struct upstream *up;
    int block;
    int heartbeat; /* seconds the slot asked for in tune-ok */
    struct buf in, out;
    int64_t last_tx_ms;
    int64_t last_rx_ms; /* bytes from the client */
    bool gone;
    bool ready;    /* its channel 1 was opened: counted in m->ready */
    bool want_out; /* registered for EPOLLOUT */
    bool in_dirty; /* on m->dirty */
    struct client *dirty_next;
    struct client *next;
};

struct amqpmux {
    amqpmux_login_fn login;
    void *arg;
    struct upstream *ups;
    struct client *clients;
    /* The clients' sockets: the caller polls this one descriptor, and a
     * turn costs what is ready, not what is attached (a daemon may have
     * hundreds of slots). */
    int ep;
    struct client *dirty;   /* clients with output queued since the last flush */
    struct upstream **refs; /* upstream of poll entry i + 1 */
    int nrefs;
    int nclients, ready;
    bool collect_due;
    bool one_per_upstream; /* amqpmux_one_client_per_connection() */
    int spare_max;
    bool channels_ahead;       /* amqpmux_channels_ahead() */
    amqpmux_ahead_fn ahead_fn; /* amqpmux_ahead() */
    void *ahead_arg;
    int ahead_max_age_ms, ahead_expires_ms;
    bool ahead_stopped; /* amqpmux_destroy(): nothing more made */
    int64_t heartbeat_ms;
    int64_t login_failed_ms;
    int login_errno;
    struct krun_error login_error;
};

/* Buffers */

static int buf_reserve (struct buf *b, size_t more)
{
    if (b->off > 0 && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + more <= b->cap)
        return 0;
    if (b->off > 0) {
        memmove (b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + more <= b->cap)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    unsigned char *data = realloc (b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static size_t buf_pending (const struct buf *b)
{
    return b->len - b->off;
}

static void buf_free (struct buf *b)
{
    free (b->data);
    memset (b, 0, sizeof (*b));
}

static void put_u16 (unsigned char *p, unsigned v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void put_u32 (unsigned char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static unsigned get_u16 (const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get_u32 (const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Queue a frame, its channel number replaced by channel.  Returns 0, or -1
 * (ENOMEM). */
static int put_frame (struct buf *b, const unsigned char *frame, size_t len,
                      int channel)
{
    if (buf_reserve (b, len) < 0)
        return -1;
    memcpy (b->data + b->len, frame, len);
    put_u16 (b->data + b->len + 1, channel);
    b->len += len;
    return 0;
}

/* Queue a method frame with its arguments. */
static int put_method (struct buf *b, int channel, uint32_t method,
                       const unsigned char *args, size_t nargs)
{
    unsigned char frame[FRAME_OVERHEAD + 4 + 300];

    if (nargs > 300)
        return -1;
    frame[0] = FRAME_METHOD;
    put_u32 (frame + 3, 4 + nargs);
    put_u16 (frame + 7, method >> 16);
    put_u16 (frame + 9, method & 0xffff);
    if (nargs > 0) /* args may be NULL then, which memcpy () must not get */
        memcpy (frame + 11, args, nargs);
    frame[11 + nargs] = FRAME_END;
    return put_frame (b, frame, FRAME_OVERHEAD + 4 + nargs, channel);
}

/* channel.close or connection.close: code, text, no failing method. */
static int put_close (struct buf *b, int channel, uint32_t method, int code,
                      const char *text)
{
    unsigned char args[64];
    size_t n = strlen (text);

    if (n > sizeof (args) - 7)
        n = sizeof (args) - 7;
    put_u16 (args, code);
    args[2] = n;
    memcpy (args + 3, text, n);
    put_u16 (args + 3 + n, 0);
    put_u16 (args + 5 + n, 0);
    return put_method (b, channel, method, args, 7 + n);
}

static int put_heartbeat (struct buf *b)
{
    static const unsigned char frame[FRAME_OVERHEAD] = {
        FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END};
    return put_frame (b, frame, sizeof (frame), 0);
}

/* One complete frame at the start of b, or 0 if more bytes are needed;
 * -1 if what is there is not a frame of at most frame_max bytes. */
static long frame_length (const struct buf *b, int frame_max)
{
    const unsigned char *p = b->data + b->off;
    size_t have = buf_pending (b);

    if (have < 7)
        return 0;
    uint32_t size = get_u32 (p + 3);
    if (size > (uint32_t)frame_max || (p[0] != FRAME_METHOD && p[0] != FRAME_HEADER &&
                                       p[0] != FRAME_BODY && p[0] != FRAME_HEARTBEAT))
        return -1;
    if (have < size + FRAME_OVERHEAD)
        return 0;
    if (p[size + 7] != FRAME_END)
        return -1;
    return size + FRAME_OVERHEAD;
}

static uint32_t frame_method (const unsigned char *frame, size_t len)
{
    if (frame[0] != FRAME_METHOD || len < FRAME_OVERHEAD + 4)
        return 0;
    return METHOD (get_u16 (frame + 7), get_u16 (frame + 9));
}

/* Read what fd has into b (at most READS_PER_TURN chunks).  Returns 1 at end
 * of file or on an error, 0 otherwise. */
static int read_into (int fd, struct buf *b)
{
    for (int i = 0; i < READS_PER_TURN; i++) {
        if (buf_reserve (b, READ_CHUNK) < 0)
            return 1;
        ssize_t n = read (fd, b->data + b->len, READ_CHUNK);
        if (n > 0) {
            b->len += n;
            if (n < READ_CHUNK)
                return 0;
        } else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            return 0;
        else
            return 1;
    }
    return 0;
}

/* Write what b holds.  Returns 1 if fd failed, 0 otherwise (sets *wrote). */
static int write_from (int fd, struct buf *b, bool *wrote)
{
    while (buf_pending (b) > 0) {
        ssize_t n = send (fd, b->data + b->off, buf_pending (b), MSG_NOSIGNAL);
        if (n > 0) {
            b->off += n;
            *wrote = true;
        } else if (n < 0 && errno == EINTR)
            continue;
        else
            return n < 0 && errno == EAGAIN ? 0 : 1;
    }
    return 0;
}

/* Output was queued for c: it is written at the end of the turn. */
static void client_dirty (struct client *c)
{
    if (!c->in_dirty) {
        c->in_dirty = true;
        c->dirty_next = c->m->dirty;
        c->m->dirty = c;
    }
}

/* Channels */

static int channel_of (const struct client *c, int local)
{
    return c->block * AMQPMUX_CLIENT_CHANNELS + local;
}

static bool spare_state (unsigned char st)
{
    return st == CH_SPARE_OPENING || st == CH_SPARE;
}

/* No client, and no channel of the block still closing (channels opened
 * ahead wait for the next client). */
static bool block_free (const struct upstream *u, int block)
{
    if (u->owner[block])
        return false;
    for (int l = 1; l <= AMQPMUX_CLIENT_CHANNELS; l++) {
        unsigned char st = u->chstate[block * AMQPMUX_CLIENT_CHANNELS + l];
        if (st != CH_FREE && !spare_state (st))
            return false;
    }
    return true;
}

static void upstream_fail (struct upstream *u, const char *why)
{
    if (!u->dead && !u->closing)
        log_msg ("shared broker connection lost: %s", why);
    u->dead = true;
}

/* The slot of c is gone: close its channels on the broker, which requeues
 * what they held unacknowledged. */
static void orphan_channels (struct client *c)
{
    struct upstream *u = c->up;

    if (!u)
        return;
    for (int l = 1; l <= AMQPMUX_CLIENT_CHANNELS; l++) {
        int ch = channel_of (c, l);
        switch (u->chstate[ch]) {
            case CH_OPENING:
            case CH_OPEN:
                if (put_close (&u->out, ch, CHANNEL_CLOSE, REPLY_SUCCESS, "slot gone") <
                    0)
                    upstream_fail (u, "out of memory");
                u->chstate[ch] = CH_ORPHAN;
                break;
            case CH_CLOSING_CLIENT:
                u->chstate[ch] = CH_ORPHAN;
                break;
            case CH_CLOSING_SERVER:
                if (put_method (&u->out, ch, CHANNEL_CLOSE_OK, NULL, 0) < 0)
                    upstream_fail (u, "out of memory");
                u->chstate[ch] = CH_FREE;
                break;
            default:
                break;
        }
    }
    u->owner[c->block] = NULL;
    c->up = NULL;
}

static void client_drop (struct client *c, const char *why)
{
    if (c->gone)
        return;
    if (why)
        log_msg ("%s connection closed: %s",
                 c->m->one_per_upstream ? "launcher" : "slot", why);
    orphan_channels (c);
    c->gone = true;
    c->m->collect_due = true;
    c->m->nclients--;
    if (c->ready)
        c->m->ready--;
}

/* A protocol error of the slot: tell it, then cut it off. */
static void client_error (struct client *c, int code, const char *text)
{
    bool wrote = false;

    if (put_close (&c->out, 0, CONNECTION_CLOSE, code, text) == 0)
        write_from (c->fd, &c->out, &wrote);
    client_drop (c, text);
}

/* Queues made ahead */

/* The reply text of a channel.close or connection.close frame: its length
 * into *n (0 if the frame is too short to hold it). */
static const char *close_text (const unsigned char *frame, size_t len, int *n)
{
    size_t k = len >= FRAME_OVERHEAD + 7 ? frame[13] : 0;

    *n = FRAME_OVERHEAD + 7 + k > len ? 0 : (int)k;
    return (const char *)frame + 14;
}

/* The channel of the queues made ahead: the one after the clients'. */
static int ahead_channel (const struct upstream *u)
{
    return u->nblocks * AMQPMUX_CLIENT_CHANNELS + 1;
}

static bool ahead_possible (const struct amqpmux *m, const struct upstream *u)
{
    return m->ahead_fn && m->one_per_upstream &&
           (u->tune.channel_max == 0 || ahead_channel (u) <= u->tune.channel_max);
}

/* queue.declare (waiting for its answer) of q, with x-expires expires_ms,
 * or queue.delete of it (no-wait), on channel ch of u. */
static int put_queue_request (struct upstream *u, int ch, const struct amqpmux_queue *q,
                              bool delete, int expires_ms)
{
    static const char expires[] = "x-expires";
    unsigned char args[2 + 1 + 255 + 1 + 4 + 1 + sizeof (expires) + 8];
    size_t n = strlen (q->name), len = 0;

    if (n > 255)
        return -1;
    put_u16 (args, 0); /* reserved */
    args[2] = n;
    memcpy (args + 3, q->name, n);
    len = 3 + n;
    if (delete) {
        args[len++] = DELETE_NOWAIT;
        return put_method (&u->out, ch, QUEUE_DELETE, args, len);
    }
    args[len++] = q->auto_delete ? DECLARE_AUTO_DELETE : 0;
    put_u32 (args + len, 1 + strlen (expires) + 1 + 8); /* the arguments table */
    len += 4;
    args[len++] = strlen (expires);
    memcpy (args + len, expires, strlen (expires));
    len += strlen (expires);
    args[len++] = 'l';
    put_u32 (args + len, (uint64_t)expires_ms >> 32);
    put_u32 (args + len + 4, (uint32_t)expires_ms);
    len += 8;
    return put_method (&u->out, ch, QUEUE_DECLARE, args, len);
}

/* Send op for u's token (channel.open first if the channel is shut).
 * Returns 0, or -1 if the queues could not be named (nothing sent). */
static int ahead_send (struct amqpmux *m, struct upstream *u, enum amqpmux_ahead_op op)
{
    struct amqpmux_queue q[AMQPMUX_AHEAD_QUEUES];
    int ch = ahead_channel (u), replies = 0;
    int n = m->ahead_fn (m->ahead_arg, op, u->token, q);
    bool delete = op == AMQPMUX_AHEAD_DELETE;

    if (n < 0 || n > AMQPMUX_AHEAD_QUEUES)
        return -1;
    if (u->ahead == AH_SHUT) {
        if (put_method (&u->out, ch, CHANNEL_OPEN, (const unsigned char *)"", 1) < 0) {
            upstream_fail (u, "out of memory");
            return -1;
        }
        u->ahead = AH_IDLE;
        replies++; /* the open-ok */
    }
    for (int i = 0; i < n; i++)
        if (put_queue_request (u, ch, &q[i], delete, m->ahead_expires_ms) < 0) {
            upstream_fail (u, "out of memory");
            return -1;
        }
    u->ahead_replies = replies + (delete ? 0 : n);
    return 0;
}

/* Delete u's queues made ahead, if any (before its connection closes). */
static void ahead_delete (struct amqpmux *m, struct upstream *u)
{
    if ((u->ahead == AH_MAKING || u->ahead == AH_READY) &&
        ahead_send (m, u, AMQPMUX_AHEAD_DELETE) == 0)
        u->ahead = AH_IDLE;
    u->token[0] = '\0';
}

/* Make (or renew) the queues of the connections no client holds. */
static void ahead_tick (struct amqpmux *m, int64_t now)
{
    for (struct upstream *u = m->ups; u; u = u->next) {
        if (u->dead || u->closing || u->owner[0] || u->ahead == AH_MAKING ||
            !ahead_possible (m, u) || now < u->ahead_retry_ms ||
            (u->ahead == AH_READY && now - u->token_ms < m->ahead_max_age_ms))
            continue;
        enum amqpmux_ahead_op op =
            u->ahead == AH_READY ? AMQPMUX_AHEAD_RENEW : AMQPMUX_AHEAD_MAKE;
        if (ahead_send (m, u, op) == 0)
            u->ahead = AH_MAKING;
        else
            u->ahead_retry_ms = now + m->ahead_max_age_ms;
    }
}

/* A frame of the broker on u's channel of the queues made ahead. */
static void ahead_frame (struct amqpmux *m, struct upstream *u,
                         const unsigned char *frame, size_t len)
{
    uint32_t method = frame_method (frame, len);

    if (method == CHANNEL_CLOSE) {
        int n;
        const char *text = close_text (frame, len, &n);
        log_msg (
            "the queues made ahead for the next run (%s) were refused: %.*s; "
            "trying again in %d s",
            *u->token ? u->token : "none", n, text, m->ahead_max_age_ms / 1000);
        if (put_method (&u->out, ahead_channel (u), CHANNEL_CLOSE_OK, NULL, 0) < 0)
            upstream_fail (u, "out of memory");
        u->ahead = AH_SHUT;
        u->token[0] = '\0';
        u->ahead_retry_ms = clock_mono_ms () + m->ahead_max_age_ms;
    } else if (method && u->ahead == AH_MAKING && --u->ahead_replies <= 0) {
        u->ahead = AH_READY;
        u->token_ms = clock_mono_ms ();
    }
}

/* Channels opened ahead */

/* Open the client channels of the connections no client holds, channel 1
 * in confirm mode (no-wait: the broker carries it out before anything
 * later on that channel). */
static void spare_tick (struct amqpmux *m)
{
    static const unsigned char nowait = 1;

    for (struct upstream *u = m->ups; u; u = u->next) {
        if (u->dead || u->closing || u->owner[0])
            continue;
        for (int ch = 1; ch <= AMQPMUX_CLIENT_CHANNELS; ch++) {
            if (u->chstate[ch] != CH_FREE)
                continue;
            if (put_method (&u->out, ch, CHANNEL_OPEN, (const unsigned char *)"", 1) <
                    0 ||
                (ch == 1 && put_method (&u->out, ch, CONFIRM_SELECT, &nowait, 1) < 0)) {
                upstream_fail (u, "out of memory");
                break;
            }
            u->chstate[ch] = CH_SPARE_OPENING;
            if (ch == 1)
                u->preselected = true;
        }
    }
}

/* The broker closed a channel opened ahead: say so, and open no more (a
 * broker that refuses them would be asked again at every turn). */
static void spare_refused (struct amqpmux *m, const unsigned char *frame, size_t len)
{
    int n;
    const char *text = close_text (frame, len, &n);

    log_msg (
        "the broker closed a channel opened ahead for the next run: %.*s; "
        "channels are no longer opened ahead",
        n, text);
    m->channels_ahead = false;
}

/* From the broker */

static void upstream_connection_frame (struct upstream *u, const unsigned char *frame,
                                       size_t len)
{
    uint32_t method = frame_method (frame, len);

    if (method == CONNECTION_CLOSE) {
        char text[256] = "";
        if (len >= FRAME_OVERHEAD + 7) {
            size_t n = frame[13];
            if (FRAME_OVERHEAD + 7 + n <= len)
                snprintf (text, sizeof (text), ": %u %.*s", get_u16 (frame + 11),
                          (int)n, (const char *)frame + 14);
        }
        char why[300];
        snprintf (why, sizeof (why), "the broker closed it%s", text);
        put_method (&u->out, 0, CONNECTION_CLOSE_OK, NULL, 0);
        bool wrote = false;
        write_from (u->fd, &u->out, &wrote);
        upstream_fail (u, why);
    } else if (method == CONNECTION_CLOSE_OK)
        upstream_fail (u, "closed");
    /* Heartbeats (the read itself counts) and anything else: nothing. */
}

static void upstream_frame (struct amqpmux *m, struct upstream *u,
                            const unsigned char *frame, size_t len)
{
    int ch = get_u16 (frame + 1);

    if (ch == 0) {
        upstream_connection_frame (u, frame, len);
        return;
    }
    if (ch == ahead_channel (u) && ahead_possible (m, u)) {
        ahead_frame (m, u, frame, len);
        return;
    }
    if (ch > u->nblocks * AMQPMUX_CLIENT_CHANNELS) {
        upstream_fail (u, "the broker used a channel never opened");
        return;
    }
    int block = (ch - 1) / AMQPMUX_CLIENT_CHANNELS;
    struct client *c = u->owner[block];
    unsigned char *st = &u->chstate[ch];
    uint32_t method = frame_method (frame, len);
    bool forward =
        c && !c->gone && *st != CH_ORPHAN && *st != CH_FREE && !spare_state (*st);

    if (method == CHANNEL_OPEN_OK && *st == CH_SPARE_OPENING) {
        *st = CH_SPARE;
        return;
    }
    if (method == CHANNEL_CLOSE && spare_state (*st))
        spare_refused (m, frame, len);
    if (method == CHANNEL_OPEN_OK && *st == CH_OPENING) {
        *st = CH_OPEN;
        if (c && !c->ready && !c->gone && ch == block * AMQPMUX_CLIENT_CHANNELS + 1) {
            c->ready = true;
            m->ready++;
        }
    } else if (method == CHANNEL_CLOSE) {
        if (!forward) {
            if (put_method (&u->out, ch, CHANNEL_CLOSE_OK, NULL, 0) < 0)
                upstream_fail (u, "out of memory");
            /* An orphan's close crossed this one: the broker still answers
             * it with a close-ok, which must not reach the next owner of
             * the block. */
            if (*st != CH_ORPHAN)
                *st = CH_FREE;
        } else
            *st = CH_CLOSING_SERVER;
    } else if (method == CHANNEL_CLOSE_OK)
        *st = CH_FREE;
    if (!forward)
        return;
    if (put_frame (&c->out, frame, len, ch - block * AMQPMUX_CLIENT_CHANNELS) < 0 ||
        buf_pending (&c->out) > CLIENT_MAX_QUEUED) {
        client_drop (c, "the slot does not read what the broker sends it");
        return;
    }
    client_dirty (c);
}

static void upstream_read (struct amqpmux *m, struct upstream *u)
{
    long n = 0;
    int eof = read_into (u->fd, &u->in);

    if (buf_pending (&u->in) > 0)
        u->last_rx_ms = clock_mono_ms ();
    while (!u->dead && (n = frame_length (&u->in, u->tune.frame_max)) > 0) {
        upstream_frame (m, u, u->in.data + u->in.off, n);
        u->in.off += n;
    }
    if (n < 0)
        upstream_fail (u, "the broker sent a malformed frame");
    else if (eof)
        upstream_fail (u, "end of file from the broker");
}

/* From a slot */

/* The broker's side of the handshake, all of it at once: the slot reads
 * each answer when it gets there (a client reads frames in order), so its
 * login costs the daemon no turn of its loop until it sends frames for the
 * broker.  What the slot sends is checked as it comes. */
static int send_handshake (struct client *c, const char *token)
{
    static const char key[] = AMQPMUX_TOKEN_PROPERTY;
    unsigned char args[128];
    unsigned char *p = args;
    size_t klen = sizeof (key) - 1, tlen = token ? strlen (token) : 0;

    *p++ = 0; /* version 0-9 */
    *p++ = 9;
    /* Server properties: the token of the queues made ahead, or none. */
    put_u32 (p, tlen ? 1 + klen + 1 + 4 + tlen : 0);
    p += 4;
    if (tlen) {
        *p++ = klen;
        memcpy (p, key, klen);
        p += klen;
        *p++ = 'S';
        put_u32 (p, tlen);
        memcpy (p + 4, token, tlen);
        p += 4 + tlen;
    }
    put_u32 (p, 5);
    memcpy (p + 4, "PLAIN", 5);
    p += 9;
    put_u32 (p, 5);
    memcpy (p + 4, "en_US", 5);
    p += 9;
    if (put_method (&c->out, 0, CONNECTION_START, args, p - args) < 0)
        return -1;
    put_u16 (args, AMQPMUX_CLIENT_CHANNELS);
    put_u32 (args + 2, c->up->tune.frame_max);
    put_u16 (args + 6, 0); /* the slot keeps its own heartbeat */
    if (put_method (&c->out, 0, CONNECTION_TUNE, args, 8) < 0)
        return -1;
    args[0] = 0; /* known-hosts, reserved */
    return put_method (&c->out, 0, CONNECTION_OPEN_OK, args, 1);
}

static void client_handshake (struct client *c, uint32_t method,
                              const unsigned char *frame, size_t len)
{
    if (c->hs == HS_START_OK && method == CONNECTION_START_OK)
        c->hs = HS_TUNE_OK;
    else if (c->hs == HS_TUNE_OK && method == CONNECTION_TUNE_OK &&
             len >= FRAME_OVERHEAD + 12) {
        c->heartbeat = get_u16 (frame + 17);
        c->hs = HS_OPEN;
    } else if (c->hs == HS_OPEN && method == CONNECTION_OPEN)
        c->hs = HS_READY;
    else
        client_error (c, CHANNEL_ERROR, "unexpected frame during the handshake");
}

static void client_frame (struct amqpmux *m, struct client *c,
                          const unsigned char *frame, size_t len)
{
    int local = get_u16 (frame + 1);
    uint32_t method = frame_method (frame, len);
    struct upstream *u = c->up;

    if (local == 0) {
        if (c->hs != HS_READY)
            client_handshake (c, method, frame, len);
        else if (method == CONNECTION_CLOSE) {
            bool wrote = false;
            put_method (&c->out, 0, CONNECTION_CLOSE_OK, NULL, 0);
            write_from (c->fd, &c->out, &wrote);
            client_drop (c, NULL);
        } else if (method == CONNECTION_CLOSE_OK)
            client_drop (c, NULL);
        return;
    }
    if (c->hs != HS_READY || local > AMQPMUX_CLIENT_CHANNELS) {
        client_error (c, CHANNEL_ERROR, "channel not allowed");
        return;
    }
    int ch = channel_of (c, local);
    unsigned char *st = &u->chstate[ch];
    if (method == CHANNEL_OPEN && *st == CH_SPARE) {
        /* Opened ahead: answered here, without a round trip. */
        static const unsigned char open_ok[4] = {0}; /* channel-id, empty */
        if (put_method (&c->out, local, CHANNEL_OPEN_OK, open_ok, sizeof (open_ok)) <
            0) {
            client_drop (c, "out of memory");
            return;
        }
        client_dirty (c);
        *st = CH_OPEN;
        if (local == 1 && !c->ready) {
            c->ready = true;
            m->ready++;
        }
        return;
    }
    if (method == CHANNEL_OPEN && *st == CH_SPARE_OPENING) {
        /* The broker's open-ok, on its way, is forwarded as if this
         * channel.open had gone up. */
        *st = CH_OPENING;
        return;
    }
    if (method == CONFIRM_SELECT && ch == 1 && u->preselected) {
        u->preselected = false;
        bool nowait = len > FRAME_OVERHEAD + 4 && (frame[11] & 1);
        if (*st == CH_OPEN) {
            if (!nowait && put_method (&c->out, local, CONFIRM_SELECT_OK, NULL, 0) < 0)
                client_drop (c, "out of memory");
            else
                client_dirty (c);
            return;
        }
        /* The open-ok is still on its way: the broker answers after it
         * (selecting again is harmless). */
    }
    if (method == CHANNEL_OPEN) {
        if (*st != CH_FREE) {
            client_error (c, CHANNEL_ERROR, "channel already open");
            return;
        }
        *st = CH_OPENING;
        if (ch == 1)
            u->preselected = false;
    } else if (*st == CH_FREE || spare_state (*st)) {
        /* Not opened by the client (one opened ahead is not its own yet).
         * Forwarded, a frame on a channel the broker has not open would make
         * it close the whole connection. */
        client_error (c, CHANNEL_ERROR, "frame on a channel not open");
        return;
    } else if (method == CHANNEL_CLOSE)
        *st = CH_CLOSING_CLIENT;
    else if (method == CHANNEL_CLOSE_OK && *st == CH_CLOSING_SERVER)
        *st = CH_FREE;
    if (put_frame (&u->out, frame, len, ch) < 0) {
        upstream_fail (u, "out of memory");
        return;
    }
}

static void client_read (struct amqpmux *m, struct client *c)
{
    size_t before = buf_pending (&c->in);
    int eof = read_into (c->fd, &c->in);
    long n = 0;

    if (buf_pending (&c->in) > before)
        c->last_rx_ms = clock_mono_ms ();

    if (c->hs == HS_HEADER && buf_pending (&c->in) >= sizeof (protocol_header)) {
        if (memcmp (c->in.data + c->in.off, protocol_header,
                    sizeof (protocol_header))) {
            client_drop (c, "not AMQP 0-9-1");
            return;
        }
        c->in.off += sizeof (protocol_header);
        c->hs = HS_START_OK;
    }
    while (c->hs != HS_HEADER && !c->gone && c->up && !c->up->dead &&
           (n = frame_length (&c->in, c->up->tune.frame_max)) > 0) {
        client_frame (m, c, c->in.data + c->in.off, n);
        c->in.off += n;
    }
    if (!c->gone && c->hs != HS_HEADER && n < 0)
        client_error (c, FRAME_ERROR, "malformed frame");
    else if (eof)
        client_drop (c, NULL);
    /* Most reads end on a frame's end: a slot then holds no buffer between
     * turns (a daemon may have thousands, and every fork copies its memory
     * map). */
    if (buf_pending (&c->in) == 0)
        buf_free (&c->in);
}

/* Upstream connections */

static void upstream_destroy (struct upstream *u)
{
    if (u) {
        if (u->fd >= 0)
            close (u->fd);
        buf_free (&u->in);
        buf_free (&u->out);
        free (u->owner);
        free (u->chstate);
        free (u);
    }
}

static struct upstream *upstream_open (struct amqpmux *m, struct krun_error *errp)
{
    int64_t now = clock_mono_ms ();
    struct upstream *u;

    if (m->login_failed_ms && now - m->login_failed_ms < LOGIN_RETRY_MS) {
        if (errp)
            *errp = m->login_error;
        errno = m->login_errno;
        return NULL;
    }
    if (!(u = calloc (1, sizeof (*u)))) {
        errprintf_errno (errp, "cannot share the broker connection");
        return NULL;
    }
    /* The message is kept for the attaches of the next second, also when
     * this caller passed no errp. */
    if ((u->fd = m->login (m->arg, &u->tune, &m->login_error)) < 0) {
        m->login_failed_ms = now;
        m->login_errno = errno;
        if (errp)
            *errp = m->login_error;
        free (u);
        errno = m->login_errno;
        return NULL;
    }
    m->login_failed_ms = 0;
    int channels = u->tune.channel_max > 0 ? u->tune.channel_max : 65535;
    u->nblocks = channels / AMQPMUX_CLIENT_CHANNELS;
    if (m->one_per_upstream && u->nblocks > 1)
        u->nblocks = 1;
    if (u->nblocks < 1 || !(u->owner = calloc (u->nblocks, sizeof (*u->owner))) ||
        !(u->chstate = calloc (u->nblocks * AMQPMUX_CLIENT_CHANNELS + 1, 1))) {
        if (u->nblocks < 1)
            errno = ENOSPC;
        errprintf_errno (errp, "cannot share the broker connection (%d channels)",
                         u->tune.channel_max);
        upstream_destroy (u);
        return NULL;
    }
    u->last_rx_ms = u->last_tx_ms = now;
    u->next = m->ups;
    m->ups = u;
    return u;
}

/* Public */

struct amqpmux *amqpmux_create (amqpmux_login_fn login, void *arg)
{
    struct amqpmux *m = calloc (1, sizeof (*m));

    if (!m)
        return NULL;
    if ((m->ep = epoll_create1 (EPOLL_CLOEXEC)) < 0) {
        free (m);
        return NULL;
    }
    m->login = login;
    m->arg = arg;
    return m;
}

/* A free block of channels, on a live upstream connection that has one, else
 * on a new one. */
static struct upstream *free_block (struct amqpmux *m, int *block,
                                    struct krun_error *errp)
{
    struct upstream *u;

    *block = -1;
    /* One whose queues made ahead are ready first. */
    if (m->one_per_upstream && m->ahead_fn)
        for (u = m->ups; u; u = u->next)
            if (!u->dead && !u->closing && u->ahead == AH_READY && block_free (u, 0)) {
                *block = 0;
                return u;
            }
    for (u = m->ups; u; u = u->next) {
        if (u->dead || u->closing)
            continue;
        for (int b = 0; b < u->nblocks && *block < 0; b++)
            if (block_free (u, b))
                *block = b;
        if (*block >= 0)
            return u;
    }
    if (!(u = upstream_open (m, errp)))
        return NULL;
    *block = 0;
    return u;
}

/* Make fd (non-blocking) a client on block of u and send it the handshake.
 * Returns 0, or -1 with errno and errp (fd is then not closed). */
static int add_client (struct amqpmux *m, struct upstream *u, int block, int fd,
                       struct krun_error *errp)
{
    struct client *c = calloc (1, sizeof (*c));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

    if (!c)
        return errprintf_errno (errp, "cannot connect a client");
    if (epoll_ctl (m->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free (c);
        return errprintf_errno (errp, "cannot connect a client: epoll");
    }
    c->m = m;
    c->fd = fd;
    c->up = u;
    c->block = block;
    /* The queues made ahead on u, told to this client only. */
    const char *token = NULL;
    if (u->ahead == AH_READY && clock_mono_ms () - u->token_ms < m->ahead_max_age_ms)
        token = u->token;
    if (send_handshake (c, token) < 0) {
        epoll_ctl (m->ep, EPOLL_CTL_DEL, fd, NULL);
        buf_free (&c->out);
        free (c);
        errno = ENOMEM;
        return errprintf_errno (errp, "cannot connect a client");
    }
    client_dirty (c);
    if (token) {
        u->ahead = AH_IDLE;
        u->token[0] = '\0';
    }
    c->last_tx_ms = c->last_rx_ms = clock_mono_ms ();
    u->owner[block] = c;
    c->next = m->clients;
    m->clients = c;
    m->nclients++;
    return 0;
}

int amqpmux_attach (struct amqpmux *m, struct krun_error *errp)
{
    struct upstream *u;
    int block, sv[2];

    if (!(u = free_block (m, &block, errp)))
        return -1;
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return errprintf_errno (errp, "cannot connect a slot: socketpair");
    if (add_client (m, u, block, sv[0], errp) < 0) {
        int saved_errno = errno;
        close (sv[0]);
        close (sv[1]);
        errno = saved_errno;
        return -1;
    }
    return sv[1];
}

int amqpmux_adopt (struct amqpmux *m, int fd, struct krun_error *errp)
{
    struct upstream *u;
    int block, flags = fcntl (fd, F_GETFL);

    if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl (fd, F_SETFD, FD_CLOEXEC) < 0) {
        errprintf_errno (errp, "cannot connect a client");
    } else if ((u = free_block (m, &block, errp)) &&
               add_client (m, u, block, fd, errp) == 0)
        return 0;
    int saved_errno = errno;
    close (fd);
    errno = saved_errno;
    return -1;
}

int amqpmux_open (struct amqpmux *m, struct krun_error *errp)
{
    for (struct upstream *u = m->ups; u; u = u->next)
        if (!u->dead && !u->closing)
            return 0;
    return upstream_open (m, errp) ? 0 : -1;
}

void amqpmux_one_client_per_connection (struct amqpmux *m, int spare_max)
{
    m->one_per_upstream = true;
    m->spare_max = spare_max > 0 ? spare_max : 1;
}

void amqpmux_channels_ahead (struct amqpmux *m)
{
    m->channels_ahead = m->one_per_upstream;
}

void amqpmux_ahead (struct amqpmux *m, amqpmux_ahead_fn fn, void *arg, int max_age_ms,
                    int expires_ms)
{
    m->ahead_fn = fn;
    m->ahead_arg = arg;
    m->ahead_max_age_ms = max_age_ms > 0 ? max_age_ms : 1;
    m->ahead_expires_ms = expires_ms;
}

size_t amqpmux_ahead_tokens (const struct amqpmux *m, char *buf, size_t size)
{
    size_t len = 0;

    if (size > 0)
        buf[0] = '\0';
    for (const struct upstream *u = m->ups; u; u = u->next) {
        if (u->dead || !(u->ahead == AH_MAKING || u->ahead == AH_READY))
            continue;
        int n = snprintf (buf + len, size > len ? size - len : 0, "%s %s\n", u->token,
                          u->ahead == AH_READY ? "ready" : "making");
        if (n < 0 || len + n >= size)
            break;
        len += n;
    }
    return len;
}

void amqpmux_close_in_child (struct amqpmux *m)
{
    if (!m)
        return;
    for (struct upstream *u = m->ups; u; u = u->next)
        if (u->fd >= 0)
            close (u->fd);
    for (struct client *c = m->clients; c; c = c->next)
        close (c->fd);
    close (m->ep);
}

int amqpmux_poll_max (const struct amqpmux *m)
{
    int n = 1;

    for (const struct upstream *u = m->ups; u; u = u->next)
        n++;
    return n;
}

static bool backlog (const struct amqpmux *m)
{
    for (const struct upstream *u = m->ups; u; u = u->next)
        if (buf_pending (&u->out) > UPSTREAM_HIGH_WATER)
            return true;
    return false;
}

int amqpmux_poll_fill (struct amqpmux *m, struct pollfd *fds)
{
    int n = 0, max = amqpmux_poll_max (m);

    if (max > m->nrefs) {
        struct upstream **refs = realloc (m->refs, max * sizeof (*refs));
        if (!refs)
            return 0; /* serviced without poll's word, every turn */
        m->refs = refs;
        m->nrefs = max;
    }
    /* While the broker is behind, the slots wait: their sockets are not
     * read (their output still is written). */
    fds[n] = (struct pollfd){.fd = backlog (m) ? -1 : m->ep, .events = POLLIN};
    m->refs[n++] = NULL;
    for (struct upstream *u = m->ups; u; u = u->next) {
        /* A client of its own that does not keep up holds its connection
         * back (a shared connection cuts such a client instead). */
        bool paused = m->one_per_upstream && u->owner[0] && !u->owner[0]->gone &&
                      buf_pending (&u->owner[0]->out) > CLIENT_HIGH_WATER;
        if (u->paused && !paused)
            u->last_rx_ms = clock_mono_ms (); /* not read by choice */
        u->paused = paused;
        fds[n] = (struct pollfd){.fd = u->fd, .events = paused ? 0 : POLLIN};
        if (buf_pending (&u->out) > 0)
            fds[n].events |= POLLOUT;
        m->refs[n++] = u;
    }
    return n;
}

static void heartbeat_client (struct client *c, int64_t now)
{
    /* A client of its own connection is held to the heartbeat it asked
     * for, as the broker would hold it: one that stopped (SIGSTOP, a
     * debugger) loses its connection, and its channels are closed.  (A
     * daemon watches its slots itself.) */
    if (c->m->one_per_upstream && c->hs == HS_READY && c->heartbeat > 0 &&
        now - c->last_rx_ms > 2000LL * c->heartbeat + 1000) {
        char why[96];
        snprintf (why, sizeof (why), "nothing from it for %d s (heartbeat %d s)",
                  2 * c->heartbeat + 1, c->heartbeat);
        client_drop (c, why);
        return;
    }
    if (c->hs == HS_READY && c->heartbeat > 0 &&
        now - c->last_tx_ms >= 500LL * c->heartbeat && buf_pending (&c->out) == 0) {
        if (put_heartbeat (&c->out) < 0)
            client_drop (c, "out of memory");
        else
            client_dirty (c);
    }
}

static void heartbeat_upstream (struct upstream *u, int64_t now)
{
    if (u->dead || u->tune.heartbeat <= 0)
        return;
    if (u->paused)
        u->last_rx_ms = now; /* not read by choice: its heartbeats wait */
    else if (now - u->last_rx_ms > 2000LL * u->tune.heartbeat + 1000) {
        upstream_fail (u, "no heartbeat from the broker");
        return;
    }
    /* Paused or not, the broker hears from us: a client that only consumes
     * (a launcher reading a flood of output, no acks) sends it nothing, and
     * a paused connection would otherwise be silent until the broker closes
     * it for missed heartbeats. */
    if (now - u->last_tx_ms >= 500LL * u->tune.heartbeat &&
        buf_pending (&u->out) == 0 && put_heartbeat (&u->out) < 0)
        upstream_fail (u, "out of memory");
}

/* Heartbeats due, looked for once a second. */
static void heartbeats (struct amqpmux *m, int64_t now)
{
    if (now - m->heartbeat_ms < 1000)
        return;
    m->heartbeat_ms = now;
    for (struct upstream *u = m->ups; u; u = u->next)
        heartbeat_upstream (u, now);
    for (struct client *c = m->clients; c; c = c->next)
        if (!c->gone)
            heartbeat_client (c, now);
}

static void flush_client (struct client *c, int64_t now)
{
    bool wrote = false;

    if (write_from (c->fd, &c->out, &wrote)) {
        client_drop (c, NULL);
        return;
    }
    if (wrote)
        c->last_tx_ms = now;
    /* A slot that does not keep up: wait for room in its socket. */
    bool want = buf_pending (&c->out) > 0;
    if (!want)
        buf_free (&c->out);
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                 .data.ptr = c};
        if (epoll_ctl (c->m->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
            client_drop (c, "cannot wait for room in its socket");
        c->want_out = want;
    }
}

static void flush_all (struct amqpmux *m)
{
    int64_t now = clock_mono_ms ();
    bool wrote;

    heartbeats (m, now);
    for (struct upstream *u = m->ups; u; u = u->next) {
        wrote = false;
        if (u->dead)
            continue;
        if (write_from (u->fd, &u->out, &wrote))
            upstream_fail (u, "cannot write to the broker");
        if (wrote)
            u->last_tx_ms = now;
        if (u->dead)
            m->collect_due = true;
    }
    while (m->dirty) {
        struct client *c = m->dirty;
        m->dirty = c->dirty_next;
        c->in_dirty = false;
        if (!c->gone)
            flush_client (c, now);
    }
}

/* With one client per connection: close the idle connections beyond
 * spare_max (politely: the broker's close-ok ends them). */
static void trim_spares (struct amqpmux *m)
{
    int idle = 0;

    for (struct upstream *u = m->ups; u; u = u->next) {
        if (u->dead || u->closing || !block_free (u, 0))
            continue;
        if (++idle <= m->spare_max)
            continue;
        ahead_delete (m, u);
        if (put_close (&u->out, 0, CONNECTION_CLOSE, REPLY_SUCCESS, "spare") < 0)
            upstream_fail (u, "out of memory");
        u->closing = true;
    }
}

/* Free gone clients and dead upstream connections (their clients first). */
static void collect (struct amqpmux *m)
{
    bool dead = false;

    for (struct upstream *u = m->ups; u; u = u->next)
        dead |= u->dead;
    if (!m->collect_due && !dead)
        return;
    m->collect_due = false;
    for (struct client **pc = &m->clients; *pc;) {
        struct client *c = *pc;
        if (c->up && c->up->dead)
            client_drop (c, NULL);
        if (!c->gone) {
            pc = &c->next;
            continue;
        }
        *pc = c->next;
        epoll_ctl (m->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close (c->fd);
        buf_free (&c->in);
        buf_free (&c->out);
        free (c);
    }
    for (struct upstream **pu = &m->ups; *pu;) {
        struct upstream *u = *pu;
        if (!u->dead) {
            pu = &u->next;
            continue;
        }
        *pu = u->next;
        upstream_destroy (u);
    }
}

#define EVENTS_PER_TURN 256

void amqpmux_service (struct amqpmux *m, const struct pollfd *fds, int nfds)
{
    struct epoll_event evs[EVENTS_PER_TURN];
    bool reading = !backlog (m);

    for (int i = 1; i < nfds && i < m->nrefs; i++) {
        struct upstream *u = m->refs[i];
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) && !u->dead)
            upstream_read (m, u);
    }
    /* The slots' set is read when poll() said it is ready, or without
     * poll()'s word (nfds 0). */
    int n = nfds > 0 && fds[0].fd >= 0 && !fds[0].revents
                ? 0
                : epoll_wait (m->ep, evs, EVENTS_PER_TURN, 0);
    for (int i = 0; i < n; i++) {
        struct client *c = evs[i].data.ptr;
        if (c->gone)
            continue;
        if (reading && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            client_read (m, c);
        if (!c->gone && (evs[i].events & EPOLLOUT))
            client_dirty (c);
    }
    if (m->one_per_upstream)
        trim_spares (m);
    if (m->ahead_fn && !m->ahead_stopped)
        ahead_tick (m, clock_mono_ms ());
    if (m->channels_ahead && !m->ahead_stopped)
        spare_tick (m);
    flush_all (m);
    collect (m);
}

void amqpmux_stats (const struct amqpmux *m, struct amqpmux_stats *st)
{
    memset (st, 0, sizeof (*st));
    for (const struct upstream *u = m->ups; u; u = u->next) {
        st->upstreams += !u->dead && !u->closing;
        st->idle += !u->dead && !u->closing && block_free (u, 0) && u->nblocks == 1;
    }
    st->clients = m->nclients;
    st->ready = m->ready;
}

/* Bytes not yet written to a live upstream connection. */
static bool upstream_unsent (const struct amqpmux *m)
{
    for (const struct upstream *u = m->ups; u; u = u->next)
        if (!u->dead && buf_pending (&u->out) > 0)
            return true;
    return false;
}

/* That, or a connection.close not yet answered. */
static bool upstream_pending (const struct amqpmux *m)
{
    for (const struct upstream *u = m->ups; u; u = u->next)
        if (!u->dead && u->closing)
            return true;
    return upstream_unsent (m);
}

/* Before the multiplexer goes: the connections no client holds delete their
 * queues made ahead and close politely (the broker carries out what came
 * before a connection.close; a socket closed at once may lose it). */
static void ahead_close_all (struct amqpmux *m)
{
    m->ahead_stopped = true;
    for (struct upstream *u = m->ups; u; u = u->next) {
        if (u->dead || u->closing || u->owner[0] || u->ahead == AH_SHUT)
            continue;
        ahead_delete (m, u);
        if (put_close (&u->out, 0, CONNECTION_CLOSE, REPLY_SUCCESS, "leaving") < 0)
            upstream_fail (u, "out of memory");
        u->closing = true;
    }
}

void amqpmux_destroy (struct amqpmux *m, int drain_ms)
{
    if (!m)
        return;
    /* What the slots wrote before they went (their last acks) is still in
     * their sockets: read it up to their end of file, and send it. */
    int64_t deadline = clock_mono_ms () + drain_ms;
    if (m->ahead_fn)
        ahead_close_all (m);
    /* Upstream connections only go from here on. */
    struct pollfd *fds = calloc (amqpmux_poll_max (m), sizeof (*fds));
    while (fds && (m->clients || upstream_pending (m))) {
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0 && !m->clients && !upstream_unsent (m))
            log_msg (
                "gave up after %d ms waiting for the broker's close-ok: the "
                "queues made ahead may be left to their x-expires",
                drain_ms);
        else if (left <= 0)
            log_msg (
                "gave up after %d ms sending what the slots wrote to the broker "
                "(%s): their last acknowledgements may be lost, and those tasks "
                "run again",
                drain_ms, m->clients ? "slots' sockets still open" : "broker slow");
        if (left <= 0)
            break;
        int n = amqpmux_poll_fill (m, fds);
        poll (fds, n, left < 100 ? (int)left : 100);
        amqpmux_service (m, fds, n);
    }
    free (fds);
    for (struct upstream *u = m->ups; u; u = u->next)
        u->dead = true;
    collect (m);
    close (m->ep);
    free (m->refs);
    free (m);
}
