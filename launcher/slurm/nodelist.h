/* nodelist.h - a Slurm allocation's nodes and CPUs, read from the
 * environment a job step sees.
 *
 * SLURM_JOB_NODELIST is a host list in Slurm's compressed form, expanded as
 * `scontrol show hostnames` expands it: comma-separated items, each a name
 * with bracketed ranges, e.g. "n[1-3,5],gpu[01-02],login" is n1 n2 n3 n5
 * gpu01 gpu02 login.  A range keeps the width of its first number ("01-10"
 * gives 01 .. 10, "8-10" gives 8 9 10); several bracket groups in one item
 * ("r[1-2]n[1-2]") give every combination, the last group varying fastest.
 * Names keep the order of the list.
 *
 * SLURM_JOB_CPUS_PER_NODE gives the CPUs of each node in the same order,
 * runs of equal counts compressed: "2(x3),1" is 2 2 2 1.
 *
 * Errors follow error.h: NULL or -1 with errno EINVAL (E2BIG past
 * NODELIST_MAX nodes) and a message quoting the list and what is wrong.
 */
#ifndef KRUN_NODELIST_H
#define KRUN_NODELIST_H

#include "error.h"

/* Most nodes a list may expand to. */
#define NODELIST_MAX 65536

struct nodelist;

/* Expand list.  Returns the nodes (caller must nodelist_destroy()), or
 * NULL. */
struct nodelist *nodelist_expand (const char *list, struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void nodelist_destroy (struct nodelist *l);

int nodelist_count (const struct nodelist *l);

/* Node i's name (borrowed until destroy). */
const char *nodelist_name (const struct nodelist *l, int i);

/* Read the CPUs of each node from spec (SLURM_JOB_CPUS_PER_NODE's form),
 * which must give exactly one count per node.  Returns 0 or -1 (EINVAL);
 * the counts are unchanged on failure. */
int nodelist_set_cpus (struct nodelist *l, const char *spec, struct krun_error *errp);

/* Node i's CPUs, or 0 when not set. */
int nodelist_cpus (const struct nodelist *l, int i);

#endif
