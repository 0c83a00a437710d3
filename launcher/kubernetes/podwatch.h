/* podwatch.h - waiting for a pool's pods with the watch API: until enough
 * run (saying which are stuck and why when the time is up, or at once when
 * one ended: restartPolicy Never, it will not run again), or until the ones
 * being deleted are gone.  Every wait has its bound in seconds; a server
 * that ends a watch early is watched again until then.
 */
#ifndef KRUN_PODWATCH_H
#define KRUN_PODWATCH_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "error.h"
#include "kubeapi.h"

/* Which pods: the namespace and the pool's label selector (escaped for a
 * URL), all borrowed. */
struct podwatch_pods {
    struct kubeapi *api;
    const char *namespace;
    const char *selector;
};

/* Wait until at least want of the pods run (want < 0: all of them; fails at
 * once, ECHILD, when one ended), at most timeout_s.  On timeout errp says
 * which pods are stuck and why (their status, their last event).  Returns
 * the number of running pods, or -1 with errno and errp. */
int podwatch_running (const struct podwatch_pods *pods, int want, int timeout_s,
                      struct krun_error *errp);

/* Watch, from the list's resourceVersion, until the n pods named (being
 * deleted) are gone, at most left_ms (timeout_s is the whole wait's, for
 * the server's own timeout).  Returns 0 when they are gone or the watch
 * ended (list again to know), or -1 with errno and errp. */
int podwatch_gone (const struct podwatch_pods *pods, const char *version,
                   const char *const *names, int n, int64_t left_ms, int timeout_s,
                   struct krun_error *errp);

/* Why a pod that is not Running waits (or ended), from its status: the
 * waiting container's reason, "terminated, exit code N: krund's message",
 * a False condition's reason, else its phase.  Returns a string (caller
 * must free) or NULL if out of memory. */
char *podwatch_reason (const cJSON *pod);

#endif
