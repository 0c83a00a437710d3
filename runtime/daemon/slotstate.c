/* slotstate.c - see slotstate.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "clock.h"
#include "slotstate.h"

/* One cache line per slot: slots write their own entry often, and must not
 * make each other's caches miss. */
struct entry {
    _Atomic int64_t changed_ms;
    _Atomic int64_t beat_ms;
    _Atomic int busy;
    char pad[64 - 2 * sizeof (int64_t) - sizeof (int)];
};
_Static_assert(sizeof (struct entry) == 64, "one cache line per slot");

struct slotstate {
    int nslots;
    struct entry *entries; /* shared mapping of nslots entries */
    size_t size;
};

struct slotstate *slotstate_create (int nslots)
{
    struct slotstate *s;

    if (nslots < 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s))))
        return NULL;
    s->nslots = nslots;
    s->size = (size_t)nslots * sizeof (struct entry);
    s->entries =
        mmap (NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s->entries == MAP_FAILED) {
        int err = errno;
        free (s);
        errno = err;
        return NULL;
    }
    return s; /* a new anonymous mapping is zero: all idle, never changed */
}

void slotstate_destroy (struct slotstate *s)
{
    int saved_errno = errno;

    if (s) {
        munmap (s->entries, s->size);
        free (s);
    }
    errno = saved_errno;
}

void slotstate_set_busy (struct slotstate *s, int i, bool busy)
{
    if (!s || i < 0 || i >= s->nslots)
        return;
    atomic_store (&s->entries[i].changed_ms, clock_mono_ms ());
    atomic_store (&s->entries[i].busy, busy ? 1 : 0);
}

void slotstate_beat (struct slotstate *s, int i)
{
    if (!s || i < 0 || i >= s->nslots)
        return;
    atomic_store_explicit (&s->entries[i].beat_ms, clock_mono_ms (),
                           memory_order_relaxed);
}

int64_t slotstate_beat_ms (const struct slotstate *s, int i)
{
    if (!s || i < 0 || i >= s->nslots)
        return 0;
    return atomic_load_explicit (&s->entries[i].beat_ms, memory_order_relaxed);
}

bool slotstate_busy (const struct slotstate *s, int i)
{
    if (!s || i < 0 || i >= s->nslots)
        return false;
    return atomic_load (&s->entries[i].busy) != 0;
}

int slotstate_busy_count (const struct slotstate *s)
{
    int n = 0;

    for (int i = 0; s && i < s->nslots; i++)
        n += atomic_load (&s->entries[i].busy) != 0;
    return n;
}

int64_t slotstate_last_change_ms (const struct slotstate *s)
{
    int64_t last = 0;

    for (int i = 0; s && i < s->nslots; i++) {
        int64_t t = atomic_load (&s->entries[i].changed_ms);
        if (t > last)
            last = t;
    }
    return last;
}
