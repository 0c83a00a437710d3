/* cpumap.c - see cpumap.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpumap.h"

struct cpumap_node {
    char *name;
    int nslots;
    int first_slot;
    int *cores;
};

struct cpumap {
    int nnodes;
    int nslots;
    struct cpumap_node *nodes;
};

struct cpumap *cpumap_create (void)
{
    return calloc (1, sizeof (struct cpumap));
}

void cpumap_destroy (struct cpumap *m)
{
    int saved_errno = errno;
    if (m) {
        for (int i = 0; i < m->nnodes; i++) {
            free (m->nodes[i].name);
            free (m->nodes[i].cores);
        }
        free (m->nodes);
        free (m);
    }
    errno = saved_errno;
}

static void renumber (struct cpumap *m)
{
    int next = 0;
    for (int i = 0; i < m->nnodes; i++) {
        m->nodes[i].first_slot = next;
        next += m->nodes[i].nslots;
    }
    m->nslots = next;
}

int cpumap_add_node (struct cpumap *m, const char *name, int nslots, const int *cores,
                     struct krun_error *errp)
{
    struct cpumap_node node = {.nslots = nslots};
    struct cpumap_node *nodes;
    int pos;

    if (!name || !*name || nslots < 1) {
        errno = EINVAL;
        return errprintf (errp, "node '%s': a node needs a name and at least one slot",
                          name ? name : "");
    }
    if (cpumap_node_index (m, name) >= 0) {
        errno = EEXIST;
        return errprintf (errp, "node '%s' is in the map twice", name);
    }
    if (!(node.name = strdup (name)) || !(node.cores = malloc (nslots * sizeof (int))))
        goto nomem;
    for (int i = 0; i < nslots; i++)
        node.cores[i] = cores ? cores[i] : -1;
    if (!(nodes = realloc (m->nodes, (m->nnodes + 1) * sizeof (*nodes))))
        goto nomem;
    m->nodes = nodes;
    /* Natural order, so that node2 comes before node10. */
    for (pos = 0; pos < m->nnodes; pos++)
        if (strverscmp (name, nodes[pos].name) < 0)
            break;
    memmove (&nodes[pos + 1], &nodes[pos], (m->nnodes - pos) * sizeof (*nodes));
    nodes[pos] = node;
    m->nnodes++;
    renumber (m);
    return 0;
nomem:
    free (node.name);
    free (node.cores);
    return errprintf_errno (errp, "node '%s'", name);
}

int cpumap_node_count (const struct cpumap *m)
{
    return m->nnodes;
}

int cpumap_slot_count (const struct cpumap *m)
{
    return m->nslots;
}

const char *cpumap_node_name (const struct cpumap *m, int i)
{
    return i >= 0 && i < m->nnodes ? m->nodes[i].name : NULL;
}

int cpumap_node_first_slot (const struct cpumap *m, int i)
{
    return i >= 0 && i < m->nnodes ? m->nodes[i].first_slot : -1;
}

int cpumap_node_slots (const struct cpumap *m, int i)
{
    return i >= 0 && i < m->nnodes ? m->nodes[i].nslots : -1;
}

int cpumap_node_index (const struct cpumap *m, const char *name)
{
    for (int i = 0; i < m->nnodes; i++)
        if (strcmp (m->nodes[i].name, name) == 0)
            return i;
    errno = ENOENT;
    return -1;
}

int cpumap_slot_node (const struct cpumap *m, int s)
{
    if (s < 0 || s >= m->nslots) {
        errno = EINVAL;
        return -1;
    }
    /* Binary search over the nodes' contiguous ranges. */
    int lo = 0, hi = m->nnodes - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->nodes[mid].first_slot <= s)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int cpumap_slot_local (const struct cpumap *m, int s)
{
    int n = cpumap_slot_node (m, s);
    return n < 0 ? -1 : s - m->nodes[n].first_slot;
}

int cpumap_slot_core (const struct cpumap *m, int s)
{
    int n = cpumap_slot_node (m, s);
    if (n < 0)
        return -1;
    return m->nodes[n].cores[s - m->nodes[n].first_slot];
}

static int compare_int (const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int cpumap_select (const struct cpumap *m, int n, enum cpumap_policy policy,
                   int **slotsp, struct krun_error *errp)
{
    int count, k = 0;
    int *slots;

    if (n < 1 || m->nslots < 1 ||
        (policy != CPUMAP_BY_SLOT && policy != CPUMAP_BY_NODE)) {
        errno = EINVAL;
        return errprintf (errp, "cannot place %d ranks on %d slots", n, m->nslots);
    }
    count = n < m->nslots ? n : m->nslots;
    if (!(slots = malloc (count * sizeof (*slots))))
        return errprintf_errno (errp, "cpu map");
    if (policy == CPUMAP_BY_SLOT) {
        for (k = 0; k < count; k++)
            slots[k] = k;
    } else {
        /* Deal one slot per node per round; full nodes drop out. */
        for (int round = 0; k < count; round++)
            for (int i = 0; i < m->nnodes && k < count; i++)
                if (round < m->nodes[i].nslots)
                    slots[k++] = m->nodes[i].first_slot + round;
        qsort (slots, count, sizeof (*slots), compare_int);
    }
    *slotsp = slots;
    return count;
}

int cpumap_policy_parse (const char *s, enum cpumap_policy *policy)
{
    if (s && strcmp (s, "slot") == 0)
        *policy = CPUMAP_BY_SLOT;
    else if (s && strcmp (s, "node") == 0)
        *policy = CPUMAP_BY_NODE;
    else {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

struct cpumap *cpumap_filter (const struct cpumap *m,
                              bool (*keep) (const char *name, void *arg), void *arg,
                              struct krun_error *errp)
{
    struct cpumap *out = cpumap_create ();

    if (!out) {
        errprintf_errno (errp, "cpu map");
        return NULL;
    }
    for (int i = 0; i < m->nnodes; i++) {
        const struct cpumap_node *n = &m->nodes[i];
        if (keep (n->name, arg) &&
            cpumap_add_node (out, n->name, n->nslots, n->cores, errp) < 0) {
            cpumap_destroy (out);
            return NULL;
        }
    }
    return out;
}
