/* krun.c - libkrun, the task side of krun.  See include/krun/krun.h.
 *
 * The slot that starts a task describes it in the environment (KRUN_RANK,
 * KRUN_SIZE, KRUN_LOCAL_RANK, KRUN_NODE, KRUN_ATTEMPT), writes the rank's
 * input to the file named by KRUN_INPUT_FILE, and leaves one end of a
 * socketpair open as KRUN_CONTROL_FD, on which the task sends records
 * (libkrun/record.h).  The API has no handle, so the library keeps one
 * state: a task is one process with one rank.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "krun/krun.h"
#include "libkrun/record.h"
#include "clock.h"

static struct {
    bool initialized;
    int rank, size, local_rank, attempt;
    char node[256];
    int control_fd; /* -1 without krun */
    char *input;    /* malloc'd, NUL-terminated; NULL when there is none */
    size_t input_len;
    int64_t progress_sent_ms; /* when the last progress record went out */
} state = {.control_fd = -1};

/* A task may report progress in a tight loop: at most one record per
 * PROGRESS_INTERVAL_MS reaches the slot (which forwards even fewer), except
 * the first, 0 and 1, which always go. */
#define PROGRESS_INTERVAL_MS 10

/* An integer variable in [min, INT_MAX]; fallback when it is not set. */
static int env_int (const char *name, int min, int fallback, int *value)
{
    const char *s = getenv (name);
    char *end;
    long v;

    if (!s) {
        *value = fallback;
        return 0;
    }
    errno = 0;
    v = strtol (s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < min || v > INT_MAX) {
        errno = EINVAL;
        return -1;
    }
    *value = (int)v;
    return 0;
}

static int read_input (const char *path, char **data, size_t *len)
{
    size_t size = 0, cap = 4096;
    char *buf = malloc (cap);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (!buf || fd < 0)
        goto error;
    for (;;) {
        if (size > KRUN_INPUT_MAX) {
            errno = EFBIG;
            goto error;
        }
        if (size + 1 == cap) {
            char *bigger = realloc (buf, cap * 2);
            if (!bigger)
                goto error;
            buf = bigger;
            cap *= 2;
        }
        n = read (fd, buf + size, cap - 1 - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto error;
        if (n == 0)
            break;
        size += n;
    }
    close (fd);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return 0;
error:
    if (fd >= 0) {
        int saved = errno;
        close (fd);
        errno = saved;
    }
    free (buf);
    return -1;
}

int krun_init (void)
{
    const char *input_file = getenv ("KRUN_INPUT_FILE");
    const char *node = getenv ("KRUN_NODE");
    int rank, size, local_rank, attempt, fd;
    char *input = NULL;
    size_t input_len = 0;

    if (state.initialized)
        return 0;
    if (env_int ("KRUN_RANK", 0, 0, &rank) < 0 ||
        env_int ("KRUN_SIZE", 1, 1, &size) < 0 ||
        env_int ("KRUN_LOCAL_RANK", 0, 0, &local_rank) < 0 ||
        env_int ("KRUN_ATTEMPT", 1, 1, &attempt) < 0 ||
        env_int ("KRUN_CONTROL_FD", 0, -1, &fd) < 0)
        return -1;
    if (rank >= size) {
        errno = EINVAL;
        return -1;
    }
    if (fd >= 0 && fcntl (fd, F_GETFD) < 0) {
        errno = EBADF;
        return -1;
    }
    if (input_file && *input_file && read_input (input_file, &input, &input_len) < 0)
        return -1;
    if (fd >= 0)
        fcntl (fd, F_SETFD, FD_CLOEXEC); /* not for the task's own children */
    state.rank = rank;
    state.size = size;
    state.local_rank = local_rank;
    state.attempt = attempt;
    if (node && *node)
        snprintf (state.node, sizeof (state.node), "%s", node);
    else if (gethostname (state.node, sizeof (state.node)) < 0)
        snprintf (state.node, sizeof (state.node), "localhost");
    state.node[sizeof (state.node) - 1] = '\0';
    state.control_fd = fd;
    state.input = input;
    state.input_len = input_len;
    state.initialized = true;
    return 0;
}

int krun_finalize (void)
{
    if (!state.initialized) {
        errno = EINVAL;
        return -1;
    }
    free (state.input);
    if (state.control_fd >= 0)
        close (state.control_fd);
    memset (&state, 0, sizeof (state));
    state.control_fd = -1;
    return 0;
}

static int get (int value)
{
    if (!state.initialized) {
        errno = EINVAL;
        return -1;
    }
    return value;
}

int krun_rank (void)
{
    return get (state.rank);
}

int krun_size (void)
{
    return get (state.size);
}

int krun_local_rank (void)
{
    return get (state.local_rank);
}

int krun_attempt (void)
{
    return get (state.attempt);
}

const char *krun_node (void)
{
    if (!state.initialized) {
        errno = EINVAL;
        return NULL;
    }
    return state.node;
}

int krun_input (const void **data, size_t *len)
{
    if (!state.initialized || !data || !len) {
        errno = EINVAL;
        return -1;
    }
    *data = state.input ? state.input : "";
    *len = state.input_len;
    return 0;
}

/* Send one record.  MSG_NOSIGNAL: a slot that is gone is EPIPE, not a
 * SIGPIPE that kills the task. */
static int send_record (char type, const void *data, size_t len)
{
    unsigned char header[RECORD_HEADER_SIZE];
    /* sendmsg only reads data: the cast through uintptr_t says so. */
    struct iovec iov[2] = {{header, sizeof (header)}, {(void *)(uintptr_t)data, len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

    record_header_pack (header, type, (uint32_t)len);
    while (msg.msg_iovlen > 0) {
        ssize_t n = sendmsg (state.control_fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov[0].iov_len) {
            n -= msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + n;
            msg.msg_iov[0].iov_len -= n;
        }
    }
    return 0;
}

int krun_result (const void *data, size_t len)
{
    if (!state.initialized || (!data && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (len > KRUN_RESULT_MAX) {
        errno = E2BIG;
        return -1;
    }
    if (state.control_fd < 0)
        return 0;
    return send_record (RECORD_RESULT, data, len);
}

int krun_progress (double fraction)
{
    char text[RECORD_PROGRESS_MAX];
    int n;

    if (!state.initialized || isnan (fraction) || fraction < 0 || fraction > 1) {
        errno = EINVAL;
        return -1;
    }
    if (state.control_fd < 0)
        return 0;
    int64_t now = clock_mono_ms ();
    if (state.progress_sent_ms && fraction > 0 && fraction < 1 &&
        now - state.progress_sent_ms < PROGRESS_INTERVAL_MS)
        return 0;
    state.progress_sent_ms = now;
    /* Millionths as an integer: "%f" would follow the task's locale. */
    n = snprintf (text, sizeof (text), "%ld", lround (fraction * 1e6));
    return send_record (RECORD_PROGRESS, text, (size_t)n);
}
