/* heldresults.c - see heldresults.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heldresults.h"

struct heldresults {
    struct protocol_result *items;
    char **data; /* items[i].data, owned */
    int n, cap;
    size_t bytes;     /* their data, in all */
    int64_t since_ms; /* when the first was held */
};

struct heldresults *heldresults_create (void)
{
    return calloc (1, sizeof (struct heldresults));
}

static void free_item (struct protocol_result *r)
{
    free (r->node);
    free (r->cpus);
    free (r->error);
}

void heldresults_clear (struct heldresults *h)
{
    for (int i = 0; i < h->n; i++) {
        free_item (&h->items[i]);
        free (h->data[i]);
    }
    h->n = 0;
    h->bytes = 0;
    h->since_ms = 0;
}

void heldresults_destroy (struct heldresults *h)
{
    if (h) {
        int saved = errno;
        heldresults_clear (h);
        free (h->items);
        free (h->data);
        free (h);
        errno = saved;
    }
}

/* A malloc'd copy of s, or NULL for NULL; false if out of memory. */
static bool copy_string (char **dst, const char *s)
{
    *dst = s ? strdup (s) : NULL;
    return !s || *dst;
}

int heldresults_add (struct heldresults *h, const struct protocol_result *res,
                     int64_t now_ms)
{
    struct protocol_result copy = *res;
    char *data = NULL;

    if (h->n >= PROTOCOL_MAX_BATCH) {
        errno = ENOSPC;
        return -1;
    }
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 16;
        struct protocol_result *items = realloc (h->items, cap * sizeof (*items));
        if (!items)
            return -1;
        h->items = items;
        char **owned = realloc (h->data, cap * sizeof (*owned));
        if (!owned)
            return -1;
        h->data = owned;
        h->cap = cap;
    }
    if (res->data_len > 0 && !(data = malloc (res->data_len)))
        return -1;
    if (data)
        memcpy (data, res->data, res->data_len);
    copy.data = data;
    copy.node = copy.cpus = copy.error = NULL;
    if (!copy_string (&copy.node, res->node_out) ||
        !copy_string (&copy.cpus, res->cpus_out) ||
        !copy_string (&copy.error, res->error_out)) {
        free_item (&copy);
        free (data);
        errno = ENOMEM;
        return -1;
    }
    if (h->n == 0)
        h->since_ms = now_ms;
    h->data[h->n] = data;
    h->items[h->n++] = copy;
    h->bytes += res->data_len;
    return 0;
}

bool heldresults_fits (const struct heldresults *h, size_t data_len)
{
    return h->n == 0 ||
           (h->n < PROTOCOL_MAX_BATCH && h->bytes + data_len <= HELDRESULTS_MAX_BYTES);
}

int heldresults_count (const struct heldresults *h)
{
    return h->n;
}

bool heldresults_due (const struct heldresults *h, int64_t now_ms)
{
    return h->n > 0 && now_ms - h->since_ms >= HELDRESULTS_HOLD_MS;
}

int heldresults_wait_ms (const struct heldresults *h, int64_t now_ms)
{
    int64_t left;

    if (h->n == 0)
        return -1;
    left = h->since_ms + HELDRESULTS_HOLD_MS - now_ms;
    return left > 0 ? (int)left : 0;
}

struct protocol_result *heldresults_items (const struct heldresults *h, int *n)
{
    *n = h->n;
    if (h->n == 0) {
        errno = ENOENT;
        return NULL;
    }
    return h->items;
}
