/* relay.c - see relay.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

struct relay_writer {
    int fd;
    char *buf; /* bytes not yet written: buf[off .. len) */
    size_t off;
    size_t len;
    size_t size;
};

struct relay_reader {
    int fd;
    size_t max_frame;
    char *buf; /* bytes read, not yet handed out: buf[0 .. len) */
    size_t len;
    size_t size;
};

static int set_nonblocking (int fd)
{
    int flags = fcntl (fd, F_GETFL);

    if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

struct relay_writer *relay_writer_create (int fd)
{
    struct relay_writer *w;

    if (fd < 0) {
        errno = EINVAL;
        return NULL;
    }
    if (set_nonblocking (fd) < 0 || !(w = calloc (1, sizeof (*w))))
        return NULL;
    w->fd = fd;
    return w;
}

void relay_writer_destroy (struct relay_writer *w)
{
    int saved_errno = errno;

    if (w) {
        close (w->fd);
        free (w->buf);
        free (w);
    }
    errno = saved_errno;
}

int relay_writer_flush (struct relay_writer *w)
{
    while (w->off < w->len) {
        ssize_t n = write (w->fd, w->buf + w->off, w->len - w->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0)
            return -1;
        w->off += n;
    }
    if (w->off == w->len)
        w->off = w->len = 0;
    return 0;
}

int relay_writer_fd (const struct relay_writer *w)
{
    return w->fd;
}

bool relay_writer_pending (const struct relay_writer *w)
{
    return w->off < w->len;
}

int relay_writer_push (struct relay_writer *w, const void *body, size_t len,
                       size_t max_pending)
{
    uint32_t head = len;
    size_t need;

    if (len > UINT32_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    /* Move what waits to the front before growing the buffer. */
    if (w->off > 0) {
        memmove (w->buf, w->buf + w->off, w->len - w->off);
        w->len -= w->off;
        w->off = 0;
    }
    need = w->len + sizeof (head) + len;
    if (need > max_pending) {
        errno = ENOBUFS;
        return -1;
    }
    if (need > w->size) {
        size_t size = w->size ? w->size : 4096;
        while (size < need)
            size *= 2;
        char *buf = realloc (w->buf, size);
        if (!buf)
            return -1;
        w->buf = buf;
        w->size = size;
    }
    memcpy (w->buf + w->len, &head, sizeof (head));
    memcpy (w->buf + w->len + sizeof (head), body, len);
    w->len = need;
    return relay_writer_flush (w);
}

struct relay_reader *relay_reader_create (int fd, size_t max_frame)
{
    struct relay_reader *r;

    if (fd < 0) {
        errno = EINVAL;
        return NULL;
    }
    if (set_nonblocking (fd) < 0 || !(r = calloc (1, sizeof (*r))))
        return NULL;
    r->fd = fd;
    r->max_frame = max_frame;
    return r;
}

void relay_reader_destroy (struct relay_reader *r)
{
    int saved_errno = errno;

    if (r) {
        free (r->buf);
        free (r);
    }
    errno = saved_errno;
}

/* Hand out the complete frames at the front of the buffer. */
static int deliver (struct relay_reader *r,
                    void (*fn) (void *arg, const char *body, size_t len), void *arg)
{
    size_t off = 0;
    uint32_t head;

    while (r->len - off >= sizeof (head)) {
        memcpy (&head, r->buf + off, sizeof (head));
        if (head > r->max_frame) {
            errno = EPROTO;
            return -1;
        }
        if (r->len - off - sizeof (head) < head)
            break;
        fn (arg, r->buf + off + sizeof (head), head);
        off += sizeof (head) + head;
    }
    memmove (r->buf, r->buf + off, r->len - off);
    r->len -= off;
    return 0;
}

int relay_reader_read (struct relay_reader *r,
                       void (*fn) (void *arg, const char *body, size_t len), void *arg)
{
    for (;;) {
        /* deliver() leaves less than one frame (max_frame + 4 bytes), so the
         * buffer stays below twice that. */
        if (r->size - r->len < 65536) {
            size_t size = r->size ? r->size * 2 : 131072;
            char *buf = realloc (r->buf, size);
            if (!buf)
                return -1;
            r->buf = buf;
            r->size = size;
        }
        ssize_t n = read (r->fd, r->buf + r->len, r->size - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0)
            return -1;
        if (n == 0)
            return 1;
        r->len += n;
        if (deliver (r, fn, arg) < 0)
            return -1;
    }
}
