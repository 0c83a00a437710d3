/* ranklist.c - see ranklist.h.  A bitmap: one bit per rank. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranklist.h"

struct ranklist {
    int size;
    int count;
    uint64_t bits[];
};

struct ranklist *ranklist_create (int size)
{
    struct ranklist *l;

    if (size < 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!(l = calloc (1, sizeof (*l) + ((size_t)size + 63) / 64 * sizeof (uint64_t))))
        return NULL;
    l->size = size;
    return l;
}

void ranklist_destroy (struct ranklist *l)
{
    int saved_errno = errno;

    free (l);
    errno = saved_errno;
}

static int has (const struct ranklist *l, int rank)
{
    return (l->bits[rank / 64] >> (rank % 64)) & 1;
}

int ranklist_add (struct ranklist *l, int rank)
{
    if (rank < 0 || rank >= l->size) {
        errno = EINVAL;
        return -1;
    }
    if (has (l, rank))
        return 0;
    l->bits[rank / 64] |= (uint64_t)1 << (rank % 64);
    l->count++;
    return 1;
}

int ranklist_count (const struct ranklist *l)
{
    return l->count;
}

char *ranklist_format (const struct ranklist *l, char *buf, size_t size)
{
    /* Room kept for the ", ... (N more)" tail. */
    const size_t tail = sizeof (", ... (2147483647 more)");
    size_t used = 0;
    int shown = 0;

    buf[0] = '\0';
    for (int first = 0; first < l->size; first++) {
        if (!has (l, first))
            continue;
        int last = first;
        while (last + 1 < l->size && has (l, last + 1))
            last++;
        char run[32];
        int n = first == last
                    ? snprintf (run, sizeof (run), "%s%d", used ? ", " : "", first)
                    : snprintf (run, sizeof (run), "%s%d-%d", used ? ", " : "", first,
                                last);
        int after = l->count - shown - (last - first + 1);
        if (used + n + (after > 0 ? tail : 0) >= size) {
            if (used + tail <= size)
                snprintf (buf + used, size - used, "%s... (%d more)", used ? ", " : "",
                          l->count - shown);
            return buf;
        }
        memcpy (buf + used, run, n + 1);
        used += n;
        shown += last - first + 1;
        first = last;
    }
    return buf;
}
