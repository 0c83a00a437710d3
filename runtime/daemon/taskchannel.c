/* taskchannel.c - see taskchannel.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libkrun/record.h"
#include "protocol.h"
#include "taskchannel.h"

struct taskchannel {
    unsigned char header[RECORD_HEADER_SIZE];
    size_t header_used;
    char *record; /* payload of the record being read */
    size_t record_len, record_used;
    char *result; /* last complete result */
    size_t result_len;
    bool has_result;
    bool progress_new;
    double progress;
    bool broken;
};

struct taskchannel *taskchannel_create (void)
{
    return calloc (1, sizeof (struct taskchannel));
}

void taskchannel_reset (struct taskchannel *c)
{
    free (c->record);
    free (c->result);
    memset (c, 0, sizeof (*c));
}

void taskchannel_destroy (struct taskchannel *c)
{
    int saved = errno;

    if (c) {
        free (c->record);
        free (c->result);
        free (c);
    }
    errno = saved;
}

static void mark_broken (struct taskchannel *c)
{
    c->broken = true;
    errno = EPROTO;
}

/* Mark the channel broken and say why: -1 with EPROTO. */
#define broken(c, errp, ...) (mark_broken (c), errprintf ((errp), __VA_ARGS__))

/* A whole record is in: keep what it says. */
static int complete (struct taskchannel *c, struct krun_error *errp)
{
    if (c->header[0] == RECORD_RESULT) {
        free (c->result);
        c->result = c->record;
        c->result_len = c->record_len;
        c->has_result = true;
    } else {
        char text[RECORD_PROGRESS_MAX + 1], *end;
        long millionths;
        memcpy (text, c->record, c->record_len);
        text[c->record_len] = '\0';
        millionths = strtol (text, &end, 10);
        free (c->record);
        if (end == text || *end != '\0' || millionths < 0 || millionths > 1000000) {
            c->record = NULL;
            return broken (c, errp, "task control channel: bad progress value (%lu)",
                           (unsigned long)millionths);
        }
        c->progress = millionths / 1e6;
        c->progress_new = true;
    }
    c->record = NULL;
    c->header_used = c->record_used = 0;
    return 0;
}

/* The header is in: check it and make room for the payload. */
static int start_record (struct taskchannel *c, struct krun_error *errp)
{
    uint32_t len = record_header_length (c->header);

    if (c->header[0] == RECORD_RESULT) {
        if (len > PROTOCOL_MAX_RESULT)
            return broken (c, errp,
                           "task control channel: a result of %lu bytes is over the "
                           "limit",
                           (unsigned long)len);
    } else if (c->header[0] == RECORD_PROGRESS) {
        if (len == 0 || len > RECORD_PROGRESS_MAX)
            return broken (c, errp, "task control channel: bad progress length %lu",
                           (unsigned long)len);
    } else
        return broken (c, errp, "task control channel: unknown record type %lu",
                       (unsigned long)c->header[0]);
    if (c->header[1] || c->header[2] || c->header[3])
        return broken (c, errp, "task control channel: bad record header (%lu)",
                       (unsigned long)c->header[0]);
    if (!(c->record = malloc (len > 0 ? len : 1))) {
        c->broken = true;
        return errprintf_errno (errp, "task control channel");
    }
    c->record_len = len;
    c->record_used = 0;
    return 0;
}

/* Move up to size - *used bytes from *p (*len left) to buf + *used. */
static void take (void *buf, size_t size, size_t *used, const unsigned char **p,
                  size_t *len)
{
    size_t n = size - *used;

    if (n > *len)
        n = *len;
    memcpy ((unsigned char *)buf + *used, *p, n);
    *used += n;
    *p += n;
    *len -= n;
}

int taskchannel_feed (struct taskchannel *c, const void *data, size_t len,
                      struct krun_error *errp)
{
    const unsigned char *p = data;

    if (c->broken)
        return 0;
    while (len > 0 || (c->header_used == RECORD_HEADER_SIZE && c->record &&
                       c->record_used == c->record_len)) {
        if (c->header_used < RECORD_HEADER_SIZE) {
            take (c->header, RECORD_HEADER_SIZE, &c->header_used, &p, &len);
            if (c->header_used == RECORD_HEADER_SIZE && start_record (c, errp) < 0)
                return -1;
            continue;
        }
        take (c->record, c->record_len, &c->record_used, &p, &len);
        if (c->record_used == c->record_len && complete (c, errp) < 0)
            return -1;
    }
    return 0;
}

int taskchannel_read (struct taskchannel *c, int fd, struct krun_error *errp)
{
    char buf[16384];

    for (;;) {
        /* MSG_DONTWAIT: the slot need not make its end non-blocking, a
         * system call per task.  Another kind of fd must be non-blocking. */
        ssize_t n = recv (fd, buf, sizeof (buf), MSG_DONTWAIT);
        if (n < 0 && errno == ENOTSOCK)
            n = read (fd, buf, sizeof (buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            return 1;
        if (taskchannel_feed (c, buf, (size_t)n, errp) < 0)
            return -1;
    }
}

const char *taskchannel_result (const struct taskchannel *c, size_t *len)
{
    *len = c->has_result ? c->result_len : 0;
    return c->has_result ? (c->result ? c->result : "") : NULL;
}

bool taskchannel_take_progress (struct taskchannel *c, double *fraction)
{
    if (!c->progress_new)
        return false;
    c->progress_new = false;
    *fraction = c->progress;
    return true;
}
