/* joblist.c - see joblist.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "joblist.h"
#include "protocol.h"

struct joblist {
    int max;
    int count;
    char **ids; /* max entries, the first count used, oldest first */
};

struct joblist *joblist_create (int max)
{
    struct joblist *l;

    if (max < 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!(l = calloc (1, sizeof (*l))))
        return NULL;
    if (!(l->ids = calloc (max, sizeof (*l->ids)))) {
        free (l);
        return NULL;
    }
    l->max = max;
    return l;
}

void joblist_destroy (struct joblist *l)
{
    int saved_errno = errno;

    if (l) {
        for (int i = 0; i < l->count; i++)
            free (l->ids[i]);
        free (l->ids);
        free (l);
    }
    errno = saved_errno;
}

static int find (const struct joblist *l, const char *id)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp (l->ids[i], id) == 0)
            return i;
    return -1;
}

/* Take entry i out of the list (the caller owns its string then). */
static char *take (struct joblist *l, int i)
{
    char *id = l->ids[i];

    /* A daemon keeps a few dozen: moving the pointers is cheap. */
    memmove (&l->ids[i], &l->ids[i + 1], (l->count - i - 1) * sizeof (*l->ids));
    l->count--;
    return id;
}

int joblist_add (struct joblist *l, const char *id)
{
    char *copy;
    int i;

    if (!protocol_job_id_valid (id)) {
        errno = EINVAL;
        return -1;
    }
    if ((i = find (l, id)) >= 0)
        copy = take (l, i);
    else if (!(copy = strdup (id)))
        return -1;
    if (l->count == l->max)
        free (take (l, 0));
    l->ids[l->count++] = copy;
    return 0;
}

int joblist_remove (struct joblist *l, const char *id)
{
    int i = id ? find (l, id) : -1;

    if (i < 0)
        return 0;
    free (take (l, i));
    return 1;
}

int joblist_count (const struct joblist *l)
{
    return l->count;
}

char **joblist_ids (const struct joblist *l)
{
    return l->ids;
}
