/* Unit tests of the daemon-to-slot relay framing, over real pipes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"
#include "tests/tap.h"

struct seen {
    int count;
    size_t bytes[16];
    char first[64];
    bool intact; /* every large frame holds the byte pattern it was sent with */
};

static void collect (void *arg, const char *body, size_t len)
{
    struct seen *s = arg;

    if (s->count == 0)
        snprintf (s->first, sizeof (s->first), "%.*s", (int)len, body);
    if (s->count < 16)
        s->bytes[s->count] = len;
    for (size_t i = 0; i < len && len > 64; i++)
        if (body[i] != (char)('a' + (i + len) % 26))
            s->intact = false;
    s->count++;
}

static char *pattern (size_t len)
{
    char *p = malloc (len);
    if (!p)
        bail_out ("out of memory");
    for (size_t i = 0; i < len; i++)
        p[i] = 'a' + (i + len) % 26;
    return p;
}

static void make_pipe (int p[2])
{
    if (pipe2 (p, O_CLOEXEC) < 0)
        bail_out ("pipe");
}

static void test_small_frames (void)
{
    int p[2];
    struct seen seen = {.intact = true};

    make_pipe (p);
    struct relay_writer *w = relay_writer_create (p[1]);
    struct relay_reader *r = relay_reader_create (p[0], 1024);
    ok (w && r, "writer and reader created");
    ok (relay_writer_push (w, "announce", 8, 1 << 20) == 0, "push a frame");
    ok (relay_writer_push (w, "", 0, 1 << 20) == 0, "push an empty frame");
    ok (!relay_writer_pending (w), "small frames go straight into the pipe");
    is_int (relay_reader_read (r, collect, &seen), 0, "read: writer still there");
    is_int (seen.count, 2, "two frames delivered");
    is_str (seen.first, "announce", "first frame intact");
    ok (seen.bytes[1] == 0, "the empty frame has length 0");
    relay_writer_destroy (w); /* closes the write end */
    is_int (relay_reader_read (r, collect, &seen), 1, "end of file: 1");
    relay_reader_destroy (r);
    close (p[0]);
}

/* Frames bigger than the pipe wait in the writer and arrive whole, in order,
 * as the reader drains the pipe. */
static void test_large_frames (void)
{
    int p[2];
    struct seen seen = {.intact = true};
    size_t sizes[] = {300000, 70000, 1000000};
    int rounds = 0;

    make_pipe (p);
    struct relay_writer *w = relay_writer_create (p[1]);
    struct relay_reader *r = relay_reader_create (p[0], 2000000);
    for (int i = 0; i < 3; i++) {
        char *body = pattern (sizes[i]);
        ok (relay_writer_push (w, body, sizes[i], 8 << 20) == 0, "push %zu bytes",
            sizes[i]);
        free (body);
    }
    ok (relay_writer_pending (w), "what the pipe did not take waits in the writer");
    while ((relay_writer_pending (w) || seen.count < 3) && rounds++ < 1000) {
        if (relay_reader_read (r, collect, &seen) != 0)
            break;
        if (relay_writer_flush (w) < 0)
            break;
    }
    is_int (seen.count, 3, "three large frames delivered");
    ok (seen.bytes[0] == sizes[0] && seen.bytes[1] == sizes[1] &&
            seen.bytes[2] == sizes[2],
        "in order, with their lengths");
    ok (seen.intact, "and their bytes");
    relay_writer_destroy (w);
    relay_reader_destroy (r);
    close (p[0]);
}

static void test_limits (void)
{
    int p[2];
    struct seen seen = {.intact = true};
    char *body = pattern (5000);

    make_pipe (p);
    struct relay_writer *w = relay_writer_create (p[1]);
    struct relay_reader *r = relay_reader_create (p[0], 4096);
    errno = 0;
    ok (relay_writer_push (w, body, 5000, 1000) < 0 && errno == ENOBUFS,
        "more than max_pending: ENOBUFS");
    ok (!relay_writer_pending (w), "... and nothing queued");
    ok (relay_writer_push (w, body, 5000, 1 << 20) == 0,
        "a frame over the reader's max");
    errno = 0;
    ok (relay_reader_read (r, collect, &seen) < 0 && errno == EPROTO,
        "the reader refuses it: EPROTO");
    is_int (seen.count, 0, "nothing delivered");
    relay_reader_destroy (r);
    close (p[0]);
    signal (SIGPIPE, SIG_IGN);
    errno = 0;
    ok (relay_writer_push (w, "x", 1, 1 << 20) < 0 && errno == EPIPE,
        "reader gone: EPIPE");
    relay_writer_destroy (w);
    errno = 0;
    ok (!relay_writer_create (-1) && errno == EINVAL, "writer on fd -1: EINVAL");
    errno = 0;
    ok (!relay_reader_create (-1, 10) && errno == EINVAL, "reader on fd -1: EINVAL");
    free (body);
}

int main (void)
{
    plan (NO_PLAN);
    test_small_frames ();
    test_large_frames ();
    test_limits ();
    done_testing ();
    return exit_status ();
}
