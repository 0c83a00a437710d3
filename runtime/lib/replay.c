/* replay.c - see replay.h.  A list: it holds the jobs of a few minutes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

struct entry {
    char *job;
    int64_t expires_us;
    struct entry *next;
};

struct replay {
    struct entry *entries;
    int count;
};

struct replay *replay_create (void)
{
    return calloc (1, sizeof (struct replay));
}

void replay_destroy (struct replay *r)
{
    int saved_errno = errno;

    if (r) {
        while (r->entries) {
            struct entry *e = r->entries;
            r->entries = e->next;
            free (e->job);
            free (e);
        }
        free (r);
    }
    errno = saved_errno;
}

static void drop_expired (struct replay *r, int64_t now_us)
{
    struct entry **pp = &r->entries;

    while (*pp) {
        struct entry *e = *pp;
        if (e->expires_us < now_us) {
            *pp = e->next;
            free (e->job);
            free (e);
            r->count--;
        } else
            pp = &e->next;
    }
}

int replay_check (struct replay *r, const char *job, int64_t expires_us, int64_t now_us)
{
    struct entry *e;

    drop_expired (r, now_us);
    for (e = r->entries; e; e = e->next) {
        if (strcmp (e->job, job) == 0) {
            /* A later announcement of the same job may be valid longer. */
            if (expires_us > e->expires_us)
                e->expires_us = expires_us;
            return 1;
        }
    }
    if (!(e = calloc (1, sizeof (*e))) || !(e->job = strdup (job))) {
        free (e);
        errno = ENOMEM;
        return -1;
    }
    e->expires_us = expires_us;
    e->next = r->entries;
    r->entries = e;
    r->count++;
    return 0;
}

int replay_count (const struct replay *r)
{
    return r ? r->count : 0;
}
