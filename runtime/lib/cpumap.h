/* cpumap.h - the global CPU map: every slot of every worker node, numbered.
 *
 * Nodes are kept sorted by name in natural order (strverscmp: node2 before
 * node10) and their slots are numbered contiguously node by node, so global
 * slot ids are the same for every launcher that sees the same nodes, and a
 * node's slots form one range (node i owns [first_slot, first_slot+nslots)).
 *
 * When a job has fewer ranks than the map has slots, cpumap_select() decides
 * which slots take part: CPUMAP_BY_SLOT fills node after node (keeps ranks
 * close together), CPUMAP_BY_NODE deals slots round robin over the nodes
 * (spreads load and memory bandwidth), as mpirun's --map-by does.
 */
#ifndef KRUN_CPUMAP_H
#define KRUN_CPUMAP_H

#include <stdbool.h>

#include "error.h"

struct cpumap;

enum cpumap_policy {
    CPUMAP_BY_SLOT = 0,
    CPUMAP_BY_NODE = 1,
};

struct cpumap *cpumap_create (void);
/* Accepts NULL; keeps errno. */
void cpumap_destroy (struct cpumap *m);

/* Add a node with nslots slots (>= 1).  cores may be NULL (all -1) or give
 * the OS core index of each slot (copied).  Renumbers the map.  Returns -1
 * with errno EEXIST for a duplicate name, EINVAL for nslots < 1. */
int cpumap_add_node (struct cpumap *m, const char *name, int nslots, const int *cores,
                     struct krun_error *errp);

int cpumap_node_count (const struct cpumap *m);
int cpumap_slot_count (const struct cpumap *m);

/* Node i in sorted order (borrowed until the map changes), or NULL. */
const char *cpumap_node_name (const struct cpumap *m, int i);
int cpumap_node_first_slot (const struct cpumap *m, int i);
int cpumap_node_slots (const struct cpumap *m, int i);
/* Index of node name, or -1 with errno ENOENT. */
int cpumap_node_index (const struct cpumap *m, const char *name);

/* For global slot id s: its node index, local index, core (or -1).  Return
 * -1 with errno EINVAL for an id outside the map. */
int cpumap_slot_node (const struct cpumap *m, int s);
int cpumap_slot_local (const struct cpumap *m, int s);
int cpumap_slot_core (const struct cpumap *m, int s);

/* Choose min(n, slot count) slots for a job of n ranks.  Writes their
 * global ids, ascending, into a malloc'd array *slotsp (caller must free)
 * and returns the count, or -1 (EINVAL for n < 1 or an empty map). */
int cpumap_select (const struct cpumap *m, int n, enum cpumap_policy policy,
                   int **slotsp, struct krun_error *errp);

/* A new map of the nodes of m for which keep (name, arg) is true, numbered
 * afresh (caller must destroy), or NULL with errno ENOMEM.  Used for the
 * --nodes / --exclude filter and to drop nodes that left a job. */
struct cpumap *cpumap_filter (const struct cpumap *m,
                              bool (*keep) (const char *name, void *arg), void *arg,
                              struct krun_error *errp);

/* Parse "slot" / "node".  Returns 0 or -1 with EINVAL. */
int cpumap_policy_parse (const char *s, enum cpumap_policy *policy);

#endif
