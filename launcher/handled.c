/* handled.c - see handled.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handled.h"

/* One generation: an open-addressing hash set of ids (linear probing, a
 * power-of-two capacity at most half full).  Id 0 marks an empty slot, so
 * an id of 0 is stored as 1: a collision costs nothing worse than any
 * other. */
struct generation {
    uint64_t *slots;
    size_t capacity;
    size_t count;
};

struct handled {
    struct generation gen[2]; /* [0] current, [1] previous */
};

#define FIRST_CAPACITY 1024

uint64_t handled_id (const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t hash = 14695981039346656037ULL;

    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= 1099511628211ULL;
    }
    return hash ? hash : 1;
}

static bool generation_contains (const struct generation *g, uint64_t id)
{
    if (g->capacity == 0)
        return false;
    for (size_t i = id & (g->capacity - 1);; i = (i + 1) & (g->capacity - 1)) {
        if (g->slots[i] == id)
            return true;
        if (g->slots[i] == 0)
            return false;
    }
}

static void generation_put (struct generation *g, uint64_t id)
{
    size_t i = id & (g->capacity - 1);

    while (g->slots[i] != 0 && g->slots[i] != id)
        i = (i + 1) & (g->capacity - 1);
    if (g->slots[i] == 0) {
        g->slots[i] = id;
        g->count++;
    }
}

/* Double the capacity (or make the first), keeping the ids. */
static int generation_grow (struct generation *g)
{
    size_t capacity = g->capacity ? g->capacity * 2 : FIRST_CAPACITY;
    struct generation bigger = {.capacity = capacity};

    if (!(bigger.slots = calloc (capacity, sizeof (*bigger.slots))))
        return -1;
    for (size_t i = 0; i < g->capacity; i++)
        if (g->slots[i])
            generation_put (&bigger, g->slots[i]);
    free (g->slots);
    *g = bigger;
    return 0;
}

struct handled *handled_create (void)
{
    return calloc (1, sizeof (struct handled));
}

void handled_destroy (struct handled *h)
{
    int saved_errno = errno;

    if (h) {
        free (h->gen[0].slots);
        free (h->gen[1].slots);
        free (h);
    }
    errno = saved_errno;
}

int handled_add (struct handled *h, uint64_t id)
{
    struct generation *g = &h->gen[0];

    id = id ? id : 1;
    if ((g->count + 1) * 2 > g->capacity && generation_grow (g) < 0)
        return -1;
    generation_put (g, id);
    return 0;
}

bool handled_contains (const struct handled *h, uint64_t id)
{
    id = id ? id : 1;
    return generation_contains (&h->gen[0], id) || generation_contains (&h->gen[1], id);
}

void handled_rotate (struct handled *h)
{
    free (h->gen[1].slots);
    h->gen[1] = h->gen[0];
    memset (&h->gen[0], 0, sizeof (h->gen[0]));
}

size_t handled_count (const struct handled *h)
{
    return h->gen[0].count + h->gen[1].count;
}
