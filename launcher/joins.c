/* joins.c - see joins.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "joins.h"

struct join_node {
    char *name;
    enum joins_state state;
    int64_t deadline_ms;
    int bound_ms;
    char *reason;
};

struct joins {
    int count;
    struct join_node *nodes;
    const char **dropped; /* names dropped by the last joins_expire() */
};

struct joins *joins_create (void)
{
    return calloc (1, sizeof (struct joins));
}

void joins_destroy (struct joins *j)
{
    int saved_errno = errno;

    if (j) {
        for (int i = 0; i < j->count; i++) {
            free (j->nodes[i].name);
            free (j->nodes[i].reason);
        }
        free (j->nodes);
        free (j->dropped);
        free (j);
    }
    errno = saved_errno;
}

static struct join_node *find (const struct joins *j, const char *node)
{
    for (int i = 0; i < j->count; i++)
        if (strcmp (j->nodes[i].name, node) == 0)
            return &j->nodes[i];
    return NULL;
}

static struct join_node *find_or_add (struct joins *j, const char *node)
{
    struct join_node *n = find (j, node), *nodes;

    if (n)
        return n;
    if (!(nodes = realloc (j->nodes, (j->count + 1) * sizeof (*nodes))))
        return NULL;
    j->nodes = nodes;
    n = &nodes[j->count];
    *n = (struct join_node){.name = strdup (node)};
    if (!n->name)
        return NULL;
    j->count++;
    return n;
}

int joins_expect (struct joins *j, const char *node, int64_t now_ms, int bound_ms)
{
    struct join_node *n = find_or_add (j, node);

    if (!n) {
        errno = ENOMEM;
        return -1;
    }
    if (n->state == JOINS_UNKNOWN) {
        n->state = JOINS_PENDING;
        n->deadline_ms = now_ms + bound_ms;
        n->bound_ms = bound_ms;
    }
    return 0;
}

bool joins_confirm (struct joins *j, const char *node)
{
    struct join_node *n = find_or_add (j, node);

    if (!n || (n->state != JOINS_UNKNOWN && n->state != JOINS_PENDING))
        return false;
    n->state = JOINS_CONFIRMED;
    return true;
}

bool joins_refuse (struct joins *j, const char *node, const char *reason)
{
    struct join_node *n = find_or_add (j, node);

    if (!n || n->state == JOINS_REFUSED || n->state == JOINS_DROPPED)
        return false;
    n->state = JOINS_REFUSED;
    free (n->reason);
    n->reason = strdup (reason);
    return true;
}

int joins_expire (struct joins *j, int64_t now_ms, const char **dropped_names[])
{
    int dropped = 0;

    free (j->dropped);
    if (!(j->dropped = calloc (j->count + 1, sizeof (*j->dropped))))
        return 0; /* looked at again on the next call */
    for (int i = 0; i < j->count; i++) {
        struct join_node *n = &j->nodes[i];
        if (n->state != JOINS_PENDING || now_ms < n->deadline_ms)
            continue;
        n->state = JOINS_DROPPED;
        j->dropped[dropped++] = n->name;
    }
    if (dropped_names)
        *dropped_names = j->dropped;
    return dropped;
}

enum joins_state joins_state (const struct joins *j, const char *node)
{
    const struct join_node *n = find (j, node);
    return n ? n->state : JOINS_UNKNOWN;
}

bool joins_usable (const struct joins *j, const char *node)
{
    enum joins_state s = joins_state (j, node);
    return s != JOINS_REFUSED && s != JOINS_DROPPED;
}

char *joins_reasons (const struct joins *j, char *buf, size_t size)
{
    size_t used = 0;

    if (size > 0)
        buf[0] = '\0';
    for (int i = 0; i < j->count && used < size; i++) {
        const struct join_node *n = &j->nodes[i];
        int w;
        if (n->state == JOINS_REFUSED)
            w = snprintf (buf + used, size - used, "%s%s: %s", used ? "; " : "",
                          n->name, n->reason ? n->reason : "refused");
        else if (n->state == JOINS_DROPPED)
            w = snprintf (buf + used, size - used,
                          "%s%s: neither confirmed nor refused within %.1f s",
                          used ? "; " : "", n->name, n->bound_ms / 1000.0);
        else
            continue;
        if (w < 0)
            break;
        used += (size_t)w < size - used ? (size_t)w : size - used - 1;
    }
    return buf;
}
