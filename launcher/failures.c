/* failures.c - see failures.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failures.h"
#include "ranklist.h"

struct failures {
    int size;
    struct ranklist *ranks;
};

struct failures *failures_create (int size)
{
    struct failures *f = calloc (1, sizeof (*f));

    if (!f)
        return NULL;
    if (!(f->ranks = ranklist_create (size))) {
        failures_destroy (f);
        return NULL;
    }
    f->size = size;
    return f;
}

void failures_destroy (struct failures *f)
{
    int saved_errno = errno;

    if (f) {
        ranklist_destroy (f->ranks);
        free (f);
    }
    errno = saved_errno;
}

bool failures_is_failure (enum protocol_status status, int code)
{
    return status != PROTOCOL_EXITED || code != 0;
}

int failures_add (struct failures *f, int rank)
{
    return ranklist_add (f->ranks, rank);
}

int failures_count (const struct failures *f)
{
    return ranklist_count (f->ranks);
}

const char *failures_summary (const struct failures *f, char *buf, size_t size)
{
    int count = ranklist_count (f->ranks);
    int n;

    buf[0] = '\0';
    if (count == 0)
        return buf;
    n = snprintf (buf, size, "%d of %d rank%s failed: ", count, f->size,
                  f->size == 1 ? "" : "s");
    if (n < 0 || (size_t)n + 32 > size)
        return buf;
    ranklist_format (f->ranks, buf + n, size - n);
    return buf;
}

const char *failures_rank_line (int rank, const char *node, enum protocol_status status,
                                int code, const char *why, int attempt, char *buf,
                                size_t size)
{
    const char *abbrev;

    if (!node)
        node = "(unknown)";
    switch (status) {
        case PROTOCOL_EXITED:
            snprintf (buf, size,
                      "rank %d exited with status %d on node %s (attempt %d)", rank,
                      code, node, attempt);
            break;
        case PROTOCOL_SIGNALED:
            abbrev = sigabbrev_np (code);
            snprintf (buf, size,
                      "rank %d killed by signal %d%s%s%s on node %s (attempt %d)", rank,
                      code, abbrev ? " (SIG" : "", abbrev ? abbrev : "",
                      abbrev ? ")" : "", node, attempt);
            break;
        default:
            snprintf (buf, size, "rank %d failed on node %s (attempt %d): %s", rank,
                      node, attempt, why ? why : "unknown error");
    }
    return buf;
}
