/* kubenodes.h - the cluster map of the Kubernetes provider: which nodes can
 * take a worker pod and how many whole CPUs it may have on each.
 *
 * From GET /api/v1/nodes (optionally with a label selector): nodes that are
 * unschedulable, not Ready, or carry a NoSchedule/NoExecute taint the pool
 * does not tolerate are skipped.  A usable node offers its
 * status.allocatable.cpu minus the CPU requests of the pods that hold a
 * place on it (every pod not Succeeded or Failed, as the scheduler counts
 * them; the pool's own pods are not counted, since they are the ones being
 * sized) minus a reserve, rounded down to whole CPUs.  Nodes are sorted as
 * the CPU map sorts them.
 */
#ifndef KRUN_KUBENODES_H
#define KRUN_KUBENODES_H

#include <stdint.h>

#include "config.h"
#include "cpumap.h"
#include "kubeapi.h"

struct kubenodes;

struct kubenode {
    char *name;
    int cpus;                  /* usable whole CPUs; 0 when skipped */
    int64_t allocatable_milli; /* status.allocatable.cpu */
    int64_t requested_milli;   /* CPU requests of other pods on the node */
    const char *skipped;       /* why it takes no pod (static text), or NULL */
};

struct kubenodes_options {
    const char *node_selector; /* label selector, or NULL */
    int64_t reserve_milli;     /* CPU kept free on every node */
    const struct config_toleration *tolerations;
    int ntolerations;
    const char *pool_label; /* "key=value" of the pool's own pods */
};

/* Ask the API server.  Returns the map (caller must destroy) or NULL with
 * errno and errp (the API error line). */
struct kubenodes *kubenodes_query (struct kubeapi *api,
                                   const struct kubenodes_options *o,
                                   struct krun_error *errp);
/* Accepts NULL; keeps errno. */
void kubenodes_destroy (struct kubenodes *n);

int kubenodes_count (const struct kubenodes *n);
/* Node i in sorted order, borrowed until destroy, or NULL. */
const struct kubenode *kubenodes_node (const struct kubenodes *n, int i);
const struct kubenode *kubenodes_find (const struct kubenodes *n, const char *name);

/* True if a pod with these tolerations may run on a node with these
 * taints (a JSON array of {key, value, effect}, or NULL). */
bool kubenodes_tolerated (const cJSON *taints, const struct config_toleration *t,
                          int nt);

/* The global CPU map of the usable nodes (caller must destroy), or NULL. */
struct cpumap *kubenodes_cpumap (const struct kubenodes *n, struct krun_error *errp);

#endif
