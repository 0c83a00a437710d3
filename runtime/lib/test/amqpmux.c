/* Unit tests of runtime/lib/amqpmux.c against a fake broker: the login
 * callback hands the multiplexer one end of a socketpair and the test plays
 * the broker on the other; the slots are raw AMQP bytes written by hand on
 * the sockets amqpmux_attach() returns.  Every wait is a bounded loop of
 * poll() and amqpmux_service(). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "amqpmux.h"
#include "clock.h"
#include "tests/tap.h"

#define MAX_FRAME 4096
#define WAIT_MS 5000 /* for what should come at once (generous: a loaded machine) */
#define QUIET_MS 200 /* for what should not come at all */
#define UPSTREAM_FRAME_MAX 8192

/* The fake broker: what the next login returns, and the sockets it gave. */
struct fake {
    struct transport_tune tune;
    int fail_errno; /* != 0: the login fails so */
    int calls;
    int brokers[8];
    int ends[8]; /* the multiplexer's ends of those sockets */
};

static int fake_login (void *arg, struct transport_tune *tune, struct krun_error *errp)
{
    struct fake *f = arg;
    int sv[2];

    f->calls++;
    if (f->fail_errno) {
        errno = f->fail_errno;
        return errprintf (errp, "fake broker refuses login %d", f->calls);
    }
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        bail_out ("socketpair: %s", strerror (errno));
    if (f->calls > 8)
        bail_out ("too many logins");
    f->brokers[f->calls - 1] = sv[1];
    f->ends[f->calls - 1] = sv[0];
    *tune = f->tune;
    return sv[0];
}

/* One end of a socket the test reads: the broker's or a slot's. */
struct peer {
    int fd;
    unsigned char in[65536];
    size_t len;
    bool eof;
};

static void peer_init (struct peer *p, int fd)
{
    memset (p, 0, sizeof (*p));
    p->fd = fd;
}

static void peer_close (struct peer *p)
{
    if (p->fd >= 0)
        close (p->fd);
    p->fd = -1;
}

/* One turn of the multiplexer's loop, as the daemon runs it. */
static void pump_once (struct amqpmux *m, int timeout_ms)
{
    struct pollfd fds[64];

    if (amqpmux_poll_max (m) > 64)
        bail_out ("more than 64 sockets");
    int n = amqpmux_poll_fill (m, fds);
    poll (fds, n, timeout_ms);
    amqpmux_service (m, fds, n);
}

static void pump (struct amqpmux *m, int ms)
{
    int64_t end = clock_mono_ms () + ms;

    do
        pump_once (m, 10);
    while (clock_mono_ms () < end);
}

static void peer_fill (struct peer *p)
{
    while (!p->eof && p->len < sizeof (p->in)) {
        ssize_t n = read (p->fd, p->in + p->len, sizeof (p->in) - p->len);
        if (n > 0)
            p->len += n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            p->eof = true;
        else if (errno == EAGAIN)
            break;
    }
}

static void peer_send (struct peer *p, const unsigned char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = send (p->fd, data, n, MSG_NOSIGNAL);
        if (w < 0)
            bail_out ("send: %s", strerror (errno));
        data += w;
        n -= w;
    }
}

static uint32_t get_u32 (const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned get_u16 (const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* The next frame p receives, copied to out: its length, or 0 if none came
 * within timeout_ms (or the socket reached its end). */
static size_t peer_frame (struct amqpmux *m, struct peer *p, unsigned char *out,
                          int timeout_ms)
{
    int64_t end = clock_mono_ms () + timeout_ms;

    for (;;) {
        peer_fill (p);
        if (p->len >= 7) {
            size_t n = get_u32 (p->in + 3) + 8;
            if (n > MAX_FRAME)
                bail_out ("frame of %zu bytes", n);
            if (p->len >= n) {
                memcpy (out, p->in, n);
                memmove (p->in, p->in + n, p->len - n);
                p->len -= n;
                return n;
            }
        }
        if (p->eof || clock_mono_ms () >= end)
            return 0;
        if (m)
            pump_once (m, 10);
        else
            poll (NULL, 0, 10); /* the multiplexer is gone: its last words */
    }
}

/* The next frame that is not a heartbeat. */
static size_t peer_method (struct amqpmux *m, struct peer *p, unsigned char *out,
                           int timeout_ms)
{
    size_t n;

    while ((n = peer_frame (m, p, out, timeout_ms)) > 0 && out[0] == 8)
        ;
    return n;
}

/* True if p receives nothing for ms. */
static bool peer_quiet (struct amqpmux *m, struct peer *p, int ms)
{
    pump (m, ms);
    peer_fill (p);
    return p->len == 0 && !p->eof;
}

/* True if p's socket reaches its end within ms (frames before it are
 * skipped). */
static bool peer_eof (struct amqpmux *m, struct peer *p, int ms)
{
    int64_t end = clock_mono_ms () + ms;

    for (;;) {
        peer_fill (p);
        p->len = 0;
        if (p->eof)
            return true;
        if (clock_mono_ms () >= end)
            return false;
        pump_once (m, 10);
    }
}

/* Frames, written by hand */

static size_t frame (unsigned char *out, int type, int channel, const void *payload,
                     size_t n)
{
    out[0] = type;
    out[1] = channel >> 8;
    out[2] = channel;
    out[3] = n >> 24;
    out[4] = n >> 16;
    out[5] = n >> 8;
    out[6] = n;
    if (n > 0)
        memcpy (out + 7, payload, n);
    out[7 + n] = 0xCE;
    return n + 8;
}

static size_t method (unsigned char *out, int channel, int cls, int id,
                      const void *args, size_t nargs)
{
    unsigned char payload[256];

    payload[0] = cls >> 8;
    payload[1] = cls;
    payload[2] = id >> 8;
    payload[3] = id;
    if (nargs > 0)
        memcpy (payload + 4, args, nargs);
    return frame (out, 1, channel, payload, 4 + nargs);
}

static void send_method (struct peer *p, int channel, int cls, int id, const void *args,
                         size_t nargs)
{
    unsigned char f[300];
    peer_send (p, f, method (f, channel, cls, id, args, nargs));
}

static bool is_method (const unsigned char *f, size_t n, int channel, int cls, int id)
{
    return n >= 12 && f[0] == 1 && get_u16 (f + 1) == (unsigned)channel &&
           get_u16 (f + 7) == (unsigned)cls && get_u16 (f + 9) == (unsigned)id;
}

/* Frames a and b are the same but for their channel numbers. */
static bool same_but_channel (const unsigned char *a, size_t na, const unsigned char *b,
                              size_t nb)
{
    return na == nb && na >= 8 && a[0] == b[0] && memcmp (a + 3, b + 3, na - 3) == 0;
}

static const unsigned char start_ok_args[] = {
    0, 0,   0,   0,                               /* client properties */
    5, 'P', 'L', 'A', 'I', 'N',                   /* mechanism */
    0, 0,   0,   6,   0,   'g', 0, 'g', 'x', 'y', /* response */
    5, 'e', 'n', '_', 'U', 'S',                   /* locale */
};
static const unsigned char open_args[] = {1, '/', 0, 0};
static const unsigned char channel_open_args[] = {0};
static const unsigned char channel_close_args[] = {0, 200, 2, 'o', 'k', 0, 0, 0, 0};
static const unsigned char open_ok_args[] = {0, 0, 0, 0};

/* A slot's connection handshake, asking for heartbeat seconds, checked step
 * by step when check is set.  Returns whether it ended with open-ok. */
static bool handshake (struct amqpmux *m, struct peer *c, int heartbeat, bool check)
{
    /* channel_max 2, frame_max 4096, heartbeat */
    unsigned char tune_ok_args[] = {0, 2, 0, 0, 0x10, 0, heartbeat >> 8, heartbeat};
    unsigned char f[MAX_FRAME];
    size_t n;
    bool good = true;

    peer_send (c, (const unsigned char *)"AMQP\0\0\x09\x01", 8);
    n = peer_frame (m, c, f, WAIT_MS);
    bool start = is_method (f, n, 0, 10, 10) && n > 14 && f[11] == 0 && f[12] == 9 &&
                 memmem (f + 13, n - 13, "PLAIN", 5) != NULL;
    good = good && start;
    if (check)
        ok (start, "the slot gets connection.start, 0-9, PLAIN");
    send_method (c, 0, 10, 11, start_ok_args, sizeof (start_ok_args));
    n = peer_frame (m, c, f, WAIT_MS);
    bool tune = is_method (f, n, 0, 10, 30) && n == 8 + 12;
    good = good && tune;
    if (check) {
        ok (tune, "then connection.tune");
        is_int (tune ? get_u16 (f + 11) : 0, AMQPMUX_CLIENT_CHANNELS,
                "tune: channel_max 2");
        is_int (tune ? get_u32 (f + 13) : 0, UPSTREAM_FRAME_MAX,
                "tune: frame_max of the upstream connection");
    }
    send_method (c, 0, 10, 31, tune_ok_args, sizeof (tune_ok_args));
    send_method (c, 0, 10, 40, open_args, sizeof (open_args));
    n = peer_frame (m, c, f, WAIT_MS);
    bool open = is_method (f, n, 0, 10, 41);
    good = good && open;
    if (check) {
        ok (open, "connection.open is answered by open-ok");
        /* The daemon may queue its three answers at once (before the slot
         * asks): what counts is their order, and that nothing follows. */
        ok (peer_quiet (m, c, QUIET_MS), "and nothing more comes");
    }
    return good;
}

/* A logged-in slot: attach, handshake. */
static void slot_connect (struct amqpmux *m, struct peer *c, int heartbeat)
{
    struct krun_error error;
    int fd = amqpmux_attach (m, &error);

    if (fd < 0)
        bail_out ("attach: %s", error.text);
    peer_init (c, fd);
    if (!handshake (m, c, heartbeat, false))
        bail_out ("handshake failed");
}

/* Slot c opens its channel local; returns the upstream channel the broker
 * saw it on (0: none), after checking the frame is otherwise the same. */
static int channel_open (struct amqpmux *m, struct peer *c, int local,
                         struct peer *broker)
{
    unsigned char sent[64], got[MAX_FRAME];
    size_t ns =
        method (sent, local, 20, 10, channel_open_args, sizeof (channel_open_args));

    peer_send (c, sent, ns);
    size_t n = peer_method (m, broker, got, WAIT_MS);
    if (!is_method (got, n, get_u16 (got + 1), 20, 10) ||
        !same_but_channel (sent, ns, got, n))
        return 0;
    return get_u16 (got + 1);
}

/* The broker answers channel.open-ok on ch; slot c gets it on local. */
static bool channel_open_ok (struct amqpmux *m, struct peer *broker, int ch,
                             struct peer *c, int local)
{
    unsigned char sent[64], got[MAX_FRAME];

    peer_send (broker, sent, method (sent, ch, 20, 11, open_ok_args, 4));
    size_t n = peer_method (m, c, got, WAIT_MS);
    return is_method (got, n, local, 20, 11) && same_but_channel (sent, 16, got, n);
}

/* The broker's next two frames close channels ch1 and ch2 (in any order):
 * returns 1 | 2 when both were closed. */
static int closes_upstream (struct amqpmux *m, struct peer *broker, int ch1, int ch2)
{
    unsigned char got[MAX_FRAME];
    int closed = 0;

    for (int i = 0; i < 2; i++) {
        size_t n = peer_method (m, broker, got, WAIT_MS);
        int ch = n ? (int)get_u16 (got + 1) : -1;
        if (is_method (got, n, ch, 20, 40) && (ch == ch1 || ch == ch2))
            closed |= ch == ch1 ? 1 : 2;
    }
    return closed;
}

static struct amqpmux *mux_new (struct fake *f, int channel_max, int heartbeat)
{
    memset (f, 0, sizeof (*f));
    for (int i = 0; i < 8; i++)
        f->brokers[i] = -1;
    f->tune = (struct transport_tune){channel_max, UPSTREAM_FRAME_MAX, heartbeat};
    struct amqpmux *m = amqpmux_create (fake_login, f);
    if (!m)
        bail_out ("amqpmux_create: %s", strerror (errno));
    return m;
}

static void test_handshake (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct krun_error error;
    struct peer c, bad, broker;
    struct amqpmux_stats st;

    int fd = amqpmux_attach (m, &error);
    ok (fd >= 0, "attach gives a socket");
    is_int (f.calls, 1, "the first attach logs in");
    peer_init (&c, fd);
    peer_init (&broker, f.brokers[0]);
    handshake (m, &c, 0, true);
    ok (peer_quiet (m, &broker, QUIET_MS), "the handshake sends nothing upstream");

    peer_init (&bad, amqpmux_attach (m, &error));
    is_int (f.calls, 1, "a second attach uses the same upstream connection");
    peer_send (&bad, (const unsigned char *)"HTTP/1.1", 8);
    ok (peer_eof (m, &bad, WAIT_MS), "a bad protocol header cuts the client");
    amqpmux_stats (m, &st);
    is_int (st.clients, 1, "one client left");
    ok (peer_quiet (m, &broker, QUIET_MS), "nothing went upstream");

    peer_close (&c);
    peer_close (&bad);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* Channels of two slots, frames both ways, close by either side, a slot's
 * death; then protocol errors of slots and the broker's connection.close. */
static void test_channels (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, b, c, d, broker;
    unsigned char sent[MAX_FRAME], got[MAX_FRAME];
    size_t ns, n;
    struct amqpmux_stats st;

    slot_connect (m, &a, 0);
    slot_connect (m, &b, 0);
    peer_init (&broker, f.brokers[0]);
    int a1 = channel_open (m, &a, 1, &broker);
    int a2 = channel_open (m, &a, 2, &broker);
    int b1 = channel_open (m, &b, 1, &broker);
    int b2 = channel_open (m, &b, 2, &broker);
    ok (a1 && a2 && b1 && b2,
        "channel.open of both slots reaches the broker unchanged");
    ok (a1 != a2 && a1 != b1 && a1 != b2 && a2 != b1 && a2 != b2 && b1 != b2,
        "on four distinct upstream channels (%d %d %d %d)", a1, a2, b1, b2);
    ok (channel_open_ok (m, &broker, b2, &b, 2) &&
            channel_open_ok (m, &broker, a1, &a, 1) &&
            channel_open_ok (m, &broker, a2, &a, 2) &&
            channel_open_ok (m, &broker, b1, &b, 1),
        "each channel.open-ok reaches its slot on its local channel");
    amqpmux_stats (m, &st);
    is_int (st.ready, 2, "stats: two slots ready");

    /* A publish (method, content header, body) up, a delivery down. */
    static const unsigned char publish[] = {0, 0, 0, 3, 'a', 'b', 'c', 0};
    static const unsigned char header[] = {0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0};
    ns = method (sent, 2, 60, 40, publish, sizeof (publish));
    ns += frame (sent + ns, 2, 2, header, sizeof (header));
    ns += frame (sent + ns, 3, 2, "hello", 5);
    peer_send (&b, sent, ns);
    bool up = true;
    for (size_t off = 0, fn; off < ns; off += fn) {
        fn = get_u32 (sent + off + 3) + 8;
        n = peer_frame (m, &broker, got, WAIT_MS);
        up = up && same_but_channel (sent + off, fn, got, n) &&
             get_u16 (got + 1) == (unsigned)b2;
    }
    ok (up, "method, header and body frames go up byte for byte on the slot's channel");
    static const unsigned char deliver[] = {0, 1, 't', 0, 0, 0, 0,  0,
                                            0, 0, 7,   0, 0, 1, 'q'};
    ns = method (sent, a2, 60, 60, deliver, sizeof (deliver));
    ns += frame (sent + ns, 3, a2, "world!", 6);
    peer_send (&broker, sent, ns);
    n = peer_frame (m, &a, got, WAIT_MS);
    bool down = same_but_channel (sent, 8 + 4 + sizeof (deliver), got, n) &&
                get_u16 (got + 1) == 2;
    n = peer_frame (m, &a, got, WAIT_MS);
    down = down && same_but_channel (sent + 8 + 4 + sizeof (deliver), 14, got, n) &&
           get_u16 (got + 1) == 2;
    ok (down, "a delivery comes down byte for byte on the local channel");
    ok (peer_quiet (m, &b, QUIET_MS), "and not to the other slot");

    /* The broker closes b's channel 1; b acknowledges and opens it again. */
    ns = method (sent, b1, 20, 40, channel_close_args, sizeof (channel_close_args));
    peer_send (&broker, sent, ns);
    n = peer_frame (m, &b, got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 40) && same_but_channel (sent, ns, got, n),
        "the broker's channel.close reaches the slot");
    send_method (&b, 1, 20, 41, NULL, 0);
    n = peer_frame (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, b1, 20, 41), "the slot's close-ok goes up");
    is_int (channel_open (m, &b, 1, &broker), b1, "the slot opens the channel again");
    ok (channel_open_ok (m, &broker, b1, &b, 1), "and gets its open-ok");

    /* The slot closes its channel 2 itself. */
    ns = method (sent, 2, 20, 40, channel_close_args, sizeof (channel_close_args));
    peer_send (&b, sent, ns);
    n = peer_frame (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, b2, 20, 40), "the slot's channel.close goes up");
    send_method (&broker, b2, 20, 41, NULL, 0);
    n = peer_frame (m, &b, got, WAIT_MS);
    ok (is_method (got, n, 2, 20, 41), "the broker's close-ok comes down");

    /* Slot a dies: both its channels are closed upstream. */
    peer_close (&a);
    int closed = closes_upstream (m, &broker, a1, a2);
    is_int (closed, 3, "a slot's end of file closes both its channels upstream");
    amqpmux_stats (m, &st);
    is_int (st.clients, 1, "stats: one client left");

    /* Its block is not reused before both close-oks came. */
    slot_connect (m, &c, 0);
    int c1 = channel_open (m, &c, 1, &broker);
    ok (c1 && c1 != a1 && c1 != a2 && c1 != b1 && c1 != b2,
        "a new slot gets other channels while the dead one's are closing (%d)", c1);
    ok (channel_open_ok (m, &broker, c1, &c, 1), "... and they work");
    send_method (&broker, a1, 20, 41, NULL, 0);
    send_method (&broker, a2, 20, 41, NULL, 0);
    ok (peer_quiet (m, &b, QUIET_MS) && peer_quiet (m, &c, 0),
        "the close-oks of the dead slot's channels reach nobody");
    slot_connect (m, &d, 0);
    int d1 = channel_open (m, &d, 1, &broker);
    ok (d1 == a1 || d1 == a2, "after them, its channels are given again (%d)", d1);

    /* A frame on a channel never opened, or on channel 3: the slot is cut
     * and nothing reaches the broker. */
    ns = method (sent, 2, 60, 10, "\0\0\0\0\0\0\0\0\0\0\0", 11); /* basic.qos */
    peer_send (&d, sent, ns);
    n = peer_frame (m, &d, got, WAIT_MS);
    ok (is_method (got, n, 0, 10, 50),
        "a frame on a channel not open: connection.close");
    ok (peer_eof (m, &d, WAIT_MS), "... and the slot is cut");
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (n && is_method (got, n, d1, 20, 40), "its open channel is closed upstream");
    ok (peer_quiet (m, &broker, QUIET_MS), "the frame itself never went up");
    ns = method (sent, 3, 20, 10, channel_open_args, sizeof (channel_open_args));
    peer_send (&c, sent, ns);
    ok (peer_eof (m, &c, WAIT_MS), "a channel.open on channel 3 cuts the slot");
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, c1, 20, 40), "its open channel is closed upstream");
    ok (peer_quiet (m, &broker, QUIET_MS), "and channel 3 was never opened upstream");
    amqpmux_stats (m, &st);
    is_int (st.upstreams, 1, "the upstream connection lives on");

    /* The broker closes the connection. */
    static const unsigned char conn_close[] = {1,   64, 4, 'b', 'y', 'e',
                                               '!', 0,  0, 0,   0};
    send_method (&broker, 0, 10, 50, conn_close, sizeof (conn_close));
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 0, 10, 51), "connection.close is answered by close-ok");
    ok (peer_eof (m, &b, WAIT_MS), "every slot sees end of file");
    ok (peer_eof (m, &broker, WAIT_MS), "the upstream socket is closed");
    amqpmux_stats (m, &st);
    ok (st.upstreams == 0 && st.clients == 0, "stats: no upstream, no client");
    is_int (f.calls, 1, "all of it on one login");

    peer_close (&b);
    peer_close (&c);
    peer_close (&d);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* A slot that stops closes its connection (librabbitmq sends no
 * channel.close first): the daemon answers and closes its channels on the
 * broker. */
static void test_client_close (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, broker;
    unsigned char got[MAX_FRAME];
    size_t n;
    static const unsigned char close_args[] = {0, 200, 0, 0, 0, 0, 0};

    slot_connect (m, &a, 0);
    peer_init (&broker, f.brokers[0]);
    int a1 = channel_open (m, &a, 1, &broker);
    int a2 = channel_open (m, &a, 2, &broker);
    ok (channel_open_ok (m, &broker, a1, &a, 1) &&
            channel_open_ok (m, &broker, a2, &a, 2),
        "a slot with two open channels");
    send_method (&a, 0, 10, 50, close_args, sizeof (close_args));
    n = peer_frame (m, &a, got, WAIT_MS);
    ok (is_method (got, n, 0, 10, 51), "its connection.close is answered by close-ok");
    ok (peer_eof (m, &a, WAIT_MS), "then its socket is closed");
    int closed = closes_upstream (m, &broker, a1, a2);
    is_int (closed, 3, "both its channels are closed on the broker");
    ok (peer_quiet (m, &broker, QUIET_MS), "and the connection.close did not go up");
    peer_close (&a);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* The broker closes a channel while the daemon closes it for a slot that
 * died: the close-ok of the daemon's close is still to come, and the block
 * must not be given to a new slot before it (the stale close-ok would reach
 * the new slot's channel). */
static void test_crossing_close (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, b, c, broker;
    unsigned char sent[64], got[MAX_FRAME];
    size_t n;

    slot_connect (m, &a, 0);
    peer_init (&broker, f.brokers[0]);
    int a1 = channel_open (m, &a, 1, &broker);
    channel_open_ok (m, &broker, a1, &a, 1);
    peer_close (&a);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, a1, 20, 40), "the dead slot's channel is closed upstream");
    /* The broker's own close, sent before it read the daemon's. */
    peer_send (
        &broker, sent,
        method (sent, a1, 20, 40, channel_close_args, sizeof (channel_close_args)));
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, a1, 20, 41),
        "the broker's crossing close gets its close-ok");
    slot_connect (m, &b, 0);
    int b1 = channel_open (m, &b, 1, &broker);
    ok (b1 && b1 != a1,
        "a new slot does not get the channel before the broker's close-ok (%d)", b1);
    /* The broker answers the daemon's close (RabbitMQ does, in its closing
     * state). */
    send_method (&broker, a1, 20, 41, NULL, 0);
    ok (peer_quiet (m, &b, QUIET_MS), "that close-ok reaches nobody");
    slot_connect (m, &c, 0);
    is_int (channel_open (m, &c, 1, &broker), a1,
            "after it, the channel is given again");
    peer_close (&b);
    peer_close (&c);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* With heartbeat 1 the multiplexer beats when idle, lives while the broker
 * beats, and gives the connection up after ~3 s of silence. */
static void test_heartbeat (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 1);
    struct peer c, s, broker;
    unsigned char got[MAX_FRAME], beat[8];
    size_t n;
    int beats = 0, slot_beats = 0;

    slot_connect (m, &c, 0);
    slot_connect (m, &s, 1); /* this one asks for heartbeats */
    peer_init (&broker, f.brokers[0]);
    frame (beat, 8, 0, NULL, 0);
    int64_t end = clock_mono_ms () + 4000;
    while (clock_mono_ms () < end) {
        while ((n = peer_frame (m, &broker, got, 100)) > 0)
            if (n == 8 && memcmp (got, beat, 8) == 0)
                beats++;
        while ((n = peer_frame (m, &s, got, 0)) > 0)
            if (n == 8 && memcmp (got, beat, 8) == 0)
                slot_beats++;
        peer_send (&broker, beat, 8);
    }
    ok (beats >= 3, "the idle multiplexer sends heartbeats (%d in 4 s)", beats);
    ok (slot_beats >= 3, "to a slot that asked for them too (%d in 4 s)", slot_beats);
    peer_fill (&c);
    ok (!c.eof && c.len == 0,
        "a beating broker keeps the slots connected; no beats to one that asked none");
    int64_t start = clock_mono_ms ();
    ok (peer_eof (m, &c, 10000), "a silent broker: the slot is cut");
    int64_t took = clock_mono_ms () - start;
    ok (took >= 1500 && took < 10000, "after %.1f s of silence (heartbeat 1 s)",
        took / 1e3);
    ok (peer_eof (m, &s, WAIT_MS), "so is the other");
    ok (peer_eof (m, &broker, WAIT_MS), "the upstream socket is closed");

    peer_close (&c);
    peer_close (&s);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

static void test_login_failure (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct krun_error error = {""}, again = {""};
    struct amqpmux_stats st;

    f.fail_errno = ECONNREFUSED;
    errno = 0;
    ok (amqpmux_attach (m, &error) < 0 && errno == ECONNREFUSED,
        "a failed login fails attach, errno kept");
    ok (strstr (error.text, "fake broker refuses login 1") != NULL, "error: %s",
        error.text);
    errno = 0;
    ok (amqpmux_attach (m, &again) < 0 && errno == ECONNREFUSED,
        "a second attach at once fails too");
    is_str (again.text, error.text, "with the same message");
    errno = 0;
    ok (amqpmux_attach (m, NULL) < 0 && errno == ECONNREFUSED,
        "and so without an error buffer");
    is_int (f.calls, 1, "without a new login");
    pump (m, 1100);
    errno = 0;
    ok (amqpmux_attach (m, NULL) < 0 && errno == ECONNREFUSED && f.calls == 2,
        "a second later, a new login is tried (no error buffer)");
    ok (amqpmux_attach (m, &again) < 0 && strstr (again.text, "login 2") != NULL,
        "its message is the one given next: %s", again.text);
    f.fail_errno = 0;
    pump (m, 1100);
    int fd = amqpmux_attach (m, &error);
    ok (fd >= 0 && f.calls == 3, "a second later again, a new login works");
    amqpmux_stats (m, &st);
    is_int (st.upstreams, 1, "one upstream connection");
    if (fd >= 0)
        close (fd);
    amqpmux_destroy (m, 0);
    close (f.brokers[2]);
}

/* channel_max 4: two blocks of two channels per upstream connection. */
static void test_second_upstream (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 4, 0);
    struct peer c[3], broker[2];
    struct amqpmux_stats st;

    for (int i = 0; i < 3; i++)
        slot_connect (m, &c[i], 0);
    is_int (f.calls, 2, "a third slot on 2 blocks logs in again");
    amqpmux_stats (m, &st);
    is_int (st.upstreams, 2, "two upstream connections");
    peer_init (&broker[0], f.brokers[0]);
    peer_init (&broker[1], f.brokers[1]);
    is_int (channel_open (m, &c[2], 2, &broker[1]), 2,
            "the third slot's channel 2 is channel 2 of the second connection");
    ok (peer_quiet (m, &broker[0], QUIET_MS), "and nothing of it on the first");
    int c0 = channel_open (m, &c[0], 2, &broker[0]);
    int c1 = channel_open (m, &c[1], 2, &broker[0]);
    ok ((c0 == 2 && c1 == 4) || (c0 == 4 && c1 == 2),
        "the first two share the first connection (%d %d)", c0, c1);
    for (int i = 0; i < 3; i++)
        peer_close (&c[i]);
    amqpmux_destroy (m, 1000);
    peer_close (&broker[0]);
    peer_close (&broker[1]);
}

/* A daemon that stops while a slot's socket stays open gives up after its
 * bound and says what it waited for. */
static void test_drain_bound (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct krun_error error;
    struct peer c;
    char path[] = "/tmp/amqpmux-log-XXXXXX";
    char text[1024] = "";
    int log = mkstemp (path), saved = dup (2);

    if (log < 0 || saved < 0)
        bail_out ("cannot capture the log: %s", strerror (errno));
    peer_init (&c, amqpmux_attach (m, &error));
    fflush (stderr);
    dup2 (log, 2);
    int64_t start = clock_mono_ms ();
    amqpmux_destroy (m, 200);
    int64_t took = clock_mono_ms () - start;
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    ssize_t n = pread (log, text, sizeof (text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    text[strcspn (text, "\n")] = '\0';
    close (log);
    unlink (path);
    ok (took >= 200, "the drain waits for the open slot up to its bound (%d ms)",
        (int)took);
    ok (strstr (text, "gave up after 200 ms") &&
            strstr (text, "slots' sockets still open"),
        "and then says what it waited for: %s", text);
    peer_close (&c);
    for (int i = 0; i < 8; i++)
        if (f.brokers[i] >= 0)
            close (f.brokers[i]);
}

/* Whether the multiplexer reads upstream connection fd now (poll_fill). */
static bool reads_upstream (struct amqpmux *m, int fd)
{
    struct pollfd fds[64];
    int n = amqpmux_poll_fill (m, fds);
    bool found = false;

    for (int i = 0; i < n; i++)
        if (fds[i].fd == fd)
            found = (fds[i].events & POLLIN) != 0;
    amqpmux_service (m, NULL, 0); /* end the turn poll_fill began */
    return found;
}

/* For ms, the broker answers every channel.close on p with close-ok.
 * Returns whether a connection.close came. */
static bool broker_answers_closes (struct amqpmux *m, struct peer *p, int ms)
{
    unsigned char got[MAX_FRAME];
    int64_t end = clock_mono_ms () + ms;
    bool closed = false;
    size_t n;

    while (clock_mono_ms () < end)
        if ((n = peer_method (m, p, got, 20)) > 0) {
            if (is_method (got, n, get_u16 (got + 1), 20, 40))
                send_method (p, get_u16 (got + 1), 20, 41, NULL, 0);
            closed |= is_method (got, n, 0, 10, 50);
        }
    return closed;
}

/* A broker flooding channel ch with 8000-byte body frames. */
struct flood {
    unsigned char body[8000 + 8];
    size_t len;  /* of one frame */
    size_t sent; /* bytes of whole frames sent */
    size_t off;  /* bytes of the next frame sent */
};

/* The broker sends until the multiplexer stops taking its frames (50 turns
 * without room in the socket, or 64 MiB). */
static void flood (struct amqpmux *m, struct peer *broker, int ch, struct flood *fl)
{
    static const unsigned char zeros[8000];
    int stalls = 0;

    memset (fl, 0, sizeof (*fl));
    fl->len = frame (fl->body, 3, ch, zeros, sizeof (zeros));
    while (stalls < 50 && fl->sent < (64u << 20)) {
        ssize_t w = send (broker->fd, fl->body + fl->off, fl->len - fl->off,
                          MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            fl->off += (size_t)w;
            if (fl->off == fl->len) {
                fl->sent += fl->len;
                fl->off = 0;
            }
            stalls = 0;
            continue;
        }
        pump_once (m, 10);
        stalls++;
    }
}

/* The rest of a frame cut by a full socket, while reader reads (and drops)
 * what reaches it; at most WAIT_MS. */
static void flood_finish (struct amqpmux *m, struct peer *broker, struct flood *fl,
                          struct peer *reader)
{
    int64_t end = clock_mono_ms () + WAIT_MS;

    while (fl->off > 0) {
        if (clock_mono_ms () >= end)
            bail_out (
                "the multiplexer took no more of a cut frame (%zu of %zu bytes "
                "sent) in %d ms while its client read",
                fl->off, fl->len, WAIT_MS);
        ssize_t w = send (broker->fd, fl->body + fl->off, fl->len - fl->off,
                          MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0 && (fl->off += (size_t)w) == fl->len) {
            fl->sent += fl->len;
            fl->off = 0;
        }
        peer_fill (reader);
        reader->len = 0;
        pump_once (m, 1);
    }
}

/* The connection agent's mode (amqpmux_one_client_per_connection()): a
 * connection per client, given back when the client leaves, idle ones
 * beyond the spares closed, and a client that does not read holds back its
 * own connection instead of being cut. */
static void test_one_per_connection (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, b, c, broker[2];
    struct amqpmux_stats st;
    unsigned char got[MAX_FRAME];
    size_t n;

    amqpmux_one_client_per_connection (m, 1);
    slot_connect (m, &a, 0);
    slot_connect (m, &b, 0);
    is_int (f.calls, 2, "one connection per client: the second client logs in again");
    peer_init (&broker[0], f.brokers[0]);
    peer_init (&broker[1], f.brokers[1]);
    is_int (channel_open (m, &a, 1, &broker[0]), 1,
            "the first client's channel 1 is channel 1 of the first connection");
    is_int (channel_open (m, &b, 1, &broker[1]), 1,
            "the second client's channel 1 is channel 1 of the second");
    ok (channel_open_ok (m, &broker[0], 1, &a, 1) &&
            channel_open_ok (m, &broker[1], 1, &b, 1),
        "each answer goes to its own client");

    peer_close (&a);
    n = peer_method (m, &broker[0], got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 40),
        "the first client gone: its channel is closed upstream");
    send_method (&broker[0], 1, 20, 41, NULL, 0);
    pump (m, 100);
    amqpmux_stats (m, &st);
    is_int (st.idle, 1, "after the broker's close-ok its connection is idle");
    slot_connect (m, &c, 0);
    is_int (f.calls, 2, "the next client takes it: no new login");
    is_int (channel_open (m, &c, 1, &broker[0]), 1,
            "its channel 1 is on that connection");
    ok (channel_open_ok (m, &broker[0], 1, &c, 1), "and open");

    /* The broker sends c, which reads nothing, 8000-byte body frames on its
     * channel until the multiplexer stops taking them. */
    struct flood fl;
    flood (m, &broker[0], 1, &fl);
    flood_finish (m, &broker[0], &fl, &c);
    size_t sent = fl.sent;
    ok (sent > (4u << 20) && sent < (64u << 20),
        "a client that reads nothing: its connection is held back after %zu bytes "
        "(above the 4 MiB queued, far below the 64 MiB that cut a slot)",
        sent);
    ok (!reads_upstream (m, f.ends[0]), "that connection is not read");
    ok (reads_upstream (m, f.ends[1]), "the other client's connection is");
    is_int (channel_open (m, &b, 2, &broker[1]), 2,
            "and the other client goes on (its channel 2 is channel 2 of its own)");
    size_t got_bytes = c.len;
    c.len = 0;
    int64_t end = clock_mono_ms () + 20000;
    while (got_bytes < sent && !c.eof && clock_mono_ms () < end) {
        peer_fill (&c);
        got_bytes += c.len;
        c.len = 0;
        pump_once (m, 1);
    }
    ok (got_bytes == sent && !c.eof,
        "once the client reads, every byte comes (%zu of %zu), and it was never cut",
        got_bytes, sent);
    ok (reads_upstream (m, f.ends[0]), "and its connection is read again");

    peer_close (&b);
    peer_close (&c);
    bool closed0 = false, closed1 = false;
    for (int i = 0; i < 10; i++) {
        closed0 |= broker_answers_closes (m, &broker[0], 50);
        closed1 |= broker_answers_closes (m, &broker[1], 50);
    }
    ok (closed0 != closed1,
        "both clients gone, one spare kept: one of the two connections gets "
        "connection.close");
    send_method (closed0 ? &broker[0] : &broker[1], 0, 10, 51, NULL, 0);
    pump (m, 200);
    amqpmux_stats (m, &st);
    ok (st.upstreams == 1 && st.idle == 1,
        "after its close-ok one connection is left, idle (%d, %d)", st.upstreams,
        st.idle);
    amqpmux_destroy (m, 0);
    peer_close (&broker[0]);
    peer_close (&broker[1]);
}

/* A connection held back for a client that does not keep up still beats:
 * a launcher that only consumes (a flood of output, results without acks)
 * sends the broker nothing, and a silent connection is closed by the broker
 * after two heartbeat periods. */
static void test_held_back_beats (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 1);
    struct peer a, broker;
    unsigned char got[MAX_FRAME], beat[8];
    struct flood fl;
    size_t n;
    int beats = 0;

    amqpmux_one_client_per_connection (m, 1);
    slot_connect (m, &a, 0);
    peer_init (&broker, f.brokers[0]);
    int a1 = channel_open (m, &a, 1, &broker);
    ok (channel_open_ok (m, &broker, a1, &a, 1), "a client that reads nothing");
    flood (m, &broker, a1, &fl);
    ok (!reads_upstream (m, f.ends[0]), "its connection is held back after %zu bytes",
        fl.sent);
    frame (beat, 8, 0, NULL, 0);
    int64_t end = clock_mono_ms () + 3500;
    while (clock_mono_ms () < end)
        while ((n = peer_frame (m, &broker, got, 100)) > 0)
            beats += n == 8 && memcmp (got, beat, 8) == 0;
    ok (beats >= 2, "held back, it still sends the broker heartbeats (%d in 3.5 s)",
        beats);
    ok (!reads_upstream (m, f.ends[0]), "and is still held back");
    flood_finish (m, &broker, &fl, &a);
    peer_close (&a);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* In that mode a client is held to the heartbeat it asked for, as the
 * broker holds a launcher: one that sends nothing for twice that and a
 * second (stopped) is cut, and its channels closed. */
static void test_client_heartbeat (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, broker;
    unsigned char got[MAX_FRAME];

    amqpmux_one_client_per_connection (m, 1);
    slot_connect (m, &a, 1);
    peer_init (&broker, f.brokers[0]);
    int a1 = channel_open (m, &a, 1, &broker);
    ok (channel_open_ok (m, &broker, a1, &a, 1),
        "a client that asked for heartbeat 1 s");
    int64_t t0 = clock_mono_ms ();
    ok (!peer_eof (m, &a, 2000), "is not cut while it is within twice its heartbeat");
    ok (peer_eof (m, &a, 3000), "then, silent, it is cut (after %lld ms)",
        (long long)(clock_mono_ms () - t0));
    size_t n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, a1, 20, 40), "and its channel is closed on the broker");
    peer_close (&a);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* Queues made ahead (amqpmux_ahead(), the connection agent's next jobs):
 * the fake names one queue per token, the token itself. */
struct ahead_calls {
    int made, renewed, deleted;
};

static int fake_ahead (void *arg, enum amqpmux_ahead_op op, char *token,
                       struct amqpmux_queue *q)
{
    struct ahead_calls *a = arg;

    if (op == AMQPMUX_AHEAD_MAKE)
        snprintf (token, AMQPMUX_TOKEN_SIZE, "tok%d", ++a->made);
    else if (op == AMQPMUX_AHEAD_RENEW)
        a->renewed++;
    else
        a->deleted++;
    snprintf (q[0].name, sizeof (q[0].name), "%s", token);
    q[0].auto_delete = true;
    return 1;
}

/* queue.declare (id 10: not durable, not exclusive, auto-delete, waiting
 * for its answer, x-expires 30000 as a signed 64-bit 'l') or queue.delete
 * (id 40: no-wait) of queue token on ch. */
static bool is_request (const unsigned char *f, size_t n, int ch, int id,
                        const char *token)
{
    static const unsigned char expires[] = {0,   0,   0,   19,  9,   'x',  '-', 'e',
                                            'x', 'p', 'i', 'r', 'e', 's',  'l', 0,
                                            0,   0,   0,   0,   0,   0x75, 0x30};
    size_t len = strlen (token);

    if (!is_method (f, n, ch, 50, id) || n < 14 + len + 2 || f[13] != len ||
        memcmp (f + 14, token, len) != 0)
        return false;
    if (id == 40)
        return n == 14 + len + 1 + 1 && f[14 + len] == 4;
    return n == 14 + len + 1 + sizeof (expires) + 1 && f[14 + len] == 8 &&
           memcmp (f + 15 + len, expires, sizeof (expires)) == 0;
}

static const char *tokens (struct amqpmux *m)
{
    static char buf[256];
    amqpmux_ahead_tokens (m, buf, sizeof (buf));
    return buf;
}

/* A client attaches; returns the connection.start it gets (into f, its
 * length). */
static size_t client_start (struct amqpmux *m, struct peer *c, unsigned char *f)
{
    struct krun_error error;
    int fd = amqpmux_attach (m, &error);

    if (fd < 0)
        bail_out ("attach: %s", error.text);
    peer_init (c, fd);
    peer_send (c, (const unsigned char *)"AMQP\0\0\x09\x01", 8);
    return peer_frame (m, c, f, WAIT_MS);
}

static void test_ahead (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct ahead_calls calls = {0};
    struct peer a, b, broker;
    struct krun_error error;
    unsigned char got[MAX_FRAME], want[64];
    size_t n;
    const char key[] = AMQPMUX_TOKEN_PROPERTY;
    const int max_age_ms = 2000;

    amqpmux_one_client_per_connection (m, 1);
    amqpmux_ahead (m, fake_ahead, &calls, max_age_ms, 30000);
    ok (amqpmux_open (m, &error) == 0, "logged in");
    peer_init (&broker, f.brokers[0]);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 3, 20, 10),
        "an idle connection opens a channel of its own, after the client's two");
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_request (got, n, 3, 10, "tok1"), "and makes the queues of a token there");
    is_str (tokens (m), "tok1 making\n", "listed as being made");

    n = client_start (m, &a, got);
    ok (is_method (got, n, 0, 10, 10) && !memmem (got, n, key, strlen (key)),
        "a client that comes before the broker answered is not told the token");
    peer_close (&a);
    pump (m, 50);
    send_method (&broker, 3, 20, 11, open_ok_args, 4);
    send_method (&broker, 3, 50, 11, NULL, 0);
    pump (m, 50);
    is_str (tokens (m), "tok1 ready\n", "ready once the broker answered both");

    /* The server properties: one entry, the key, 'S', the token. */
    size_t w = 0;
    want[w++] = strlen (key);
    memcpy (want + w, key, strlen (key));
    w += strlen (key);
    memcpy (want + w, "S\0\0\0\4tok1", 9);
    w += 9;
    n = client_start (m, &b, got);
    ok (is_method (got, n, 0, 10, 10) && n > 17 && get_u32 (got + 13) == w &&
            memcmp (got + 17, want, w) == 0,
        "the next client is told it in connection.start's server properties");
    is_str (tokens (m), "",
            "told once: no longer listed, nothing made while it holds "
            "the connection");
    ok (peer_quiet (m, &broker, QUIET_MS), "nothing sent on the broker meanwhile");
    peer_close (&b);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_request (got, n, 3, 10, "tok2"),
        "the client gone: a new token's queues, on the channel already open");

    /* The broker refuses them. */
    static const unsigned char refused[] = {1,   150, 4,  'N', 'O', 'P',
                                            'E', 0,   50, 0,   10};
    send_method (&broker, 3, 20, 40, refused, sizeof (refused));
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 3, 20, 41),
        "a refusal (channel.close) is answered close-ok");
    is_str (tokens (m), "", "and the token dropped");
    ok (peer_quiet (m, &broker, max_age_ms / 2), "nothing tried at once");
    n = peer_method (m, &broker, got, WAIT_MS);
    bool reopened = is_method (got, n, 3, 20, 10);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (reopened && is_request (got, n, 3, 10, "tok3"),
        "tried again after max_age_ms: the channel opened again, a new token");
    send_method (&broker, 3, 20, 11, open_ok_args, 4);
    send_method (&broker, 3, 50, 11, NULL, 0);
    pump (m, 50);
    is_str (tokens (m), "tok3 ready\n", "ready");

    int64_t t0 = clock_mono_ms ();
    n = peer_method (m, &broker, got, max_age_ms + WAIT_MS);
    ok (is_request (got, n, 3, 10, "tok3") && calls.renewed == 1 &&
            clock_mono_ms () - t0 >= max_age_ms / 2,
        "unused for max_age_ms, the same token's queues are declared again");
    is_str (tokens (m), "tok3 making\n", "not told while that is answered");
    send_method (&broker, 3, 50, 11, NULL, 0);
    pump (m, 50);
    is_str (tokens (m), "tok3 ready\n", "ready again");

    amqpmux_destroy (m, 300);
    n = peer_method (NULL, &broker, got, WAIT_MS);
    ok (is_request (got, n, 3, 40, "tok3") && calls.deleted == 1,
        "the multiplexer destroyed: the token's queues deleted");
    n = peer_method (NULL, &broker, got, WAIT_MS);
    ok (is_method (got, n, 0, 10, 50), "then connection.close, politely");
    peer_close (&broker);
}

/* The broker's next three frames on an idle connection: channel.open of 1,
 * confirm.select of 1 without waiting, channel.open of 2. */
static bool opens_ahead (struct amqpmux *m, struct peer *broker)
{
    unsigned char got[MAX_FRAME];
    size_t n = peer_method (m, broker, got, WAIT_MS);
    bool open1 = is_method (got, n, 1, 20, 10);
    n = peer_method (m, broker, got, WAIT_MS);
    bool select1 = is_method (got, n, 1, 85, 10) && n == 13 && got[11] == 1;
    n = peer_method (m, broker, got, WAIT_MS);
    return open1 && select1 && is_method (got, n, 2, 20, 10);
}

/* The broker answers the channel.open of channels 1 and 2 made ahead. */
static void answer_opens_ahead (struct amqpmux *m, struct peer *broker)
{
    send_method (broker, 1, 20, 11, open_ok_args, 4);
    send_method (broker, 2, 20, 11, open_ok_args, 4);
    pump (m, 50);
}

/* basic.qos, prefetch 1: a frame a client sends on an open channel. */
static const unsigned char qos_args[] = {0, 0, 0, 0, 0, 1, 0};

static void test_channels_ahead (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, b, c, broker;
    struct krun_error error;
    struct amqpmux_stats st;
    unsigned char got[MAX_FRAME];
    size_t n;
    static const unsigned char select_wait[] = {0};

    amqpmux_one_client_per_connection (m, 1);
    amqpmux_channels_ahead (m);
    ok (amqpmux_open (m, &error) == 0, "channels ahead: logged in");
    peer_init (&broker, f.brokers[0]);
    ok (opens_ahead (m, &broker),
        "an idle connection opens the client's two channels, the first in confirm "
        "mode (no-wait)");

    /* A client before the broker answered. */
    slot_connect (m, &a, 0);
    send_method (&a, 1, 20, 10, channel_open_args, sizeof (channel_open_args));
    ok (peer_quiet (m, &broker, QUIET_MS),
        "a client opens channel 1 before the broker's open-ok: nothing goes up");
    ok (peer_quiet (m, &a, 0), "and it gets no answer yet");
    send_method (&broker, 1, 20, 11, open_ok_args, 4);
    n = peer_method (m, &a, got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 11), "the broker's open-ok reaches it");
    send_method (&a, 1, 85, 10, select_wait, 1);
    n = peer_method (m, &a, got, WAIT_MS);
    ok (is_method (got, n, 1, 85, 11), "its confirm.select is answered at once");
    ok (peer_quiet (m, &broker, QUIET_MS), "without a word to the broker");
    send_method (&broker, 2, 20, 11, open_ok_args, 4);
    pump (m, 50);
    send_method (&a, 2, 20, 10, channel_open_args, sizeof (channel_open_args));
    n = peer_method (m, &a, got, WAIT_MS);
    ok (is_method (got, n, 2, 20, 11) && n == 16 && get_u32 (got + 11) == 0,
        "channel 2, open on the broker already: open-ok at once, an empty channel-id");
    ok (peer_quiet (m, &broker, QUIET_MS), "nothing went up");
    send_method (&a, 1, 60, 10, qos_args, sizeof (qos_args));
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 1, 60, 10), "its frames go up on those channels");

    /* It leaves: its channels are closed, then opened ahead again. */
    peer_close (&a);
    ok (closes_upstream (m, &broker, 1, 2) == 3,
        "the client gone: its channels are closed on the broker");
    ok (peer_quiet (m, &broker, QUIET_MS), "not opened again before the close-oks");
    send_method (&broker, 1, 20, 41, NULL, 0);
    send_method (&broker, 2, 20, 41, NULL, 0);
    ok (opens_ahead (m, &broker), "after them, opened ahead again");
    answer_opens_ahead (m, &broker);

    /* The next client: no round trip. */
    slot_connect (m, &b, 0);
    send_method (&b, 1, 20, 10, channel_open_args, sizeof (channel_open_args));
    n = peer_method (m, &b, got, WAIT_MS);
    bool opened = is_method (got, n, 1, 20, 11);
    send_method (&b, 1, 85, 10, select_wait, 1);
    n = peer_method (m, &b, got, WAIT_MS);
    ok (opened && is_method (got, n, 1, 85, 11),
        "the next client's channel.open and confirm.select are answered at once");
    ok (peer_quiet (m, &broker, QUIET_MS), "the broker hears of neither");
    amqpmux_stats (m, &st);
    ok (st.ready == 1, "it counts as ready (%d)", st.ready);

    /* A channel the client opens again is the broker's own. */
    send_method (&b, 1, 20, 40, channel_close_args, sizeof (channel_close_args));
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 40), "the client closes channel 1: it goes up");
    send_method (&broker, 1, 20, 41, NULL, 0);
    n = peer_method (m, &b, got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 41), "the close-ok comes down");
    ok (channel_open (m, &b, 1, &broker) == 1, "opened again, the open goes up");
    ok (channel_open_ok (m, &broker, 1, &b, 1), "and the broker answers it");
    send_method (&b, 1, 85, 10, select_wait, 1);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 1, 85, 10),
        "its confirm.select goes up too: that channel was not selected ahead");

    /* The broker refuses the channels opened ahead. */
    peer_close (&b);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 40),
        "the second client gone: its channel 1 is closed on the broker");
    send_method (&broker, 1, 20, 41, NULL, 0);
    n = peer_method (m, &broker, got, WAIT_MS);
    bool open1 = is_method (got, n, 1, 20, 10);
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (open1 && is_method (got, n, 1, 85, 10), "and opened ahead again");
    ok (peer_quiet (m, &broker, QUIET_MS),
        "its channel 2, which it never opened, stays open ahead");
    static const unsigned char refused[] = {1,   150, 4,  'N', 'O', 'P',
                                            'E', 0,   85, 0,   10};
    send_method (&broker, 1, 20, 40, refused, sizeof (refused));
    n = peer_method (m, &broker, got, WAIT_MS);
    ok (is_method (got, n, 1, 20, 41), "the broker closes one: answered close-ok");
    ok (peer_quiet (m, &broker, QUIET_MS), "and none is opened ahead any more");
    slot_connect (m, &c, 0);
    ok (channel_open (m, &c, 1, &broker) == 1,
        "the next client's channel.open then goes up");
    ok (channel_open_ok (m, &broker, 1, &c, 1), "answered by the broker");
    send_method (&c, 2, 20, 10, channel_open_args, sizeof (channel_open_args));
    n = peer_method (m, &c, got, WAIT_MS);
    ok (is_method (got, n, 2, 20, 11), "its channel 2, still open ahead, at once");
    peer_close (&c);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

/* A client that uses a channel opened ahead without opening it is cut, as
 * on a channel not open at all. */
static void test_channels_ahead_unopened (void)
{
    struct fake f;
    struct amqpmux *m = mux_new (&f, 64, 0);
    struct peer a, broker;
    struct krun_error error;
    unsigned char got[MAX_FRAME];
    size_t n;

    amqpmux_one_client_per_connection (m, 1);
    amqpmux_channels_ahead (m);
    ok (amqpmux_open (m, &error) == 0, "channels ahead, unused: logged in");
    peer_init (&broker, f.brokers[0]);
    ok (opens_ahead (m, &broker), "channels opened ahead");
    answer_opens_ahead (m, &broker);
    slot_connect (m, &a, 0);
    send_method (&a, 2, 60, 10, qos_args, sizeof (qos_args));
    n = peer_method (m, &a, got, WAIT_MS);
    ok (is_method (got, n, 0, 10, 50),
        "a frame on channel 2, open ahead but not opened by the client: "
        "connection.close");
    ok (peer_eof (m, &a, WAIT_MS), "and the client is cut");
    ok (peer_quiet (m, &broker, QUIET_MS), "the frame never went up");
    peer_close (&a);
    amqpmux_destroy (m, 0);
    peer_close (&broker);
}

int main (void)
{
    plan (NO_PLAN);
    test_handshake ();
    test_channels ();
    test_login_failure ();
    test_second_upstream ();
    test_crossing_close ();
    test_client_close ();
    test_heartbeat ();
    test_drain_bound ();
    test_one_per_connection ();
    test_held_back_beats ();
    test_client_heartbeat ();
    test_ahead ();
    test_channels_ahead ();
    test_channels_ahead_unopened ();
    done_testing ();
    return exit_status ();
}
