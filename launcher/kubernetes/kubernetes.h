/* kubernetes.h - the Kubernetes provider: one warm krund pod per node.
 *
 * A pool is the set of worker pods of one user (or of a configured pool
 * name) in one namespace, found by the labels
 * app.kubernetes.io/name=krun-worker and krun.io/pool=<pool>.  Each usable
 * node of the cluster map (kubenodes.h) gets one pod whose CPU request and
 * limit are the node's free whole CPUs (Guaranteed QoS, so a static CPU
 * manager gives it exclusive cores), pinned to its node by node affinity on
 * kubernetes.io/hostname so the scheduler still admits it.  The broker URL
 * and the message signing key live in a Secret the pool owns (default
 * krun-<pool>), handed to the pod by secretKeyRef and a 0400 secret volume,
 * never written into the pod spec.  A pod records the hash of what it was
 * made from (image, CPUs, memory, ...) in an annotation: a pod whose hash
 * differs, that Failed or ended, or that runs without its daemon answering
 * is replaced; nodes without a pod get one.
 */
#ifndef KRUN_KUBERNETES_H
#define KRUN_KUBERNETES_H

#include <stdio.h>

#include "config.h"
#include "cpumap.h"
#include "error.h"
#include "presence.h"

struct kubernetes;

/* Load the credentials (cfg's kube_kubeconfig and kube_context, which
 * --kubeconfig and --context set; NULL: kubectl's order) and name the pool.
 * No request is made yet.  cfg is borrowed until destroy.  Returns the pool
 * (caller must destroy) or NULL with errno and errp. */
struct kubernetes *kubernetes_create (const struct config *cfg,
                                      struct krun_error *errp);
/* Accepts NULL; keeps errno. */
void kubernetes_destroy (struct kubernetes *k);

/* Read the cluster: the usable nodes and the pool's pods.  Returns 0 or -1
 * with errp (the API error line). */
int kubernetes_survey (struct kubernetes *k, struct krun_error *errp);

/* The global CPU map of the surveyed nodes, each with the slots its pod
 * will have (caller must destroy), or NULL. */
struct cpumap *kubernetes_cpumap (const struct kubernetes *k, struct krun_error *errp);

/* Make the pool match the map: create or update the Secret (worker_url is
 * the broker URL the pods use), delete the pods that must be replaced,
 * create the missing ones.  p tells which daemons answer (NULL: trust
 * Running pods).  Does not wait.  Returns the number of pods created, or
 * -1 with errp. */
int kubernetes_provision (struct kubernetes *k, const char *worker_url,
                          const struct presence *p, struct krun_error *errp);

/* Wait (with the watch API) until at least `want` pool pods run (want < 0:
 * all of them), at most timeout_s seconds.  On timeout, errp says which
 * pods are stuck and why (scheduling, image pull, events).  Returns the
 * number of running pods, or -1. */
int kubernetes_wait (struct kubernetes *k, int want, int timeout_s,
                     struct krun_error *errp);

/* List the pool's pods again; write those that failed (phase Failed, not
 * being deleted) into report as "name (terminated, exit code N: krund's
 * message)", joined by "; ", truncated to size.  Returns how many failed,
 * or -1 with errno and errp. */
int kubernetes_failed (struct kubernetes *k, char *report, size_t size,
                       struct krun_error *errp);

/* Delete the pool's pods and wait until they are gone (at most timeout_s).
 * Needs no survey.  Returns the number deleted, or -1. */
int kubernetes_down (struct kubernetes *k, int timeout_s, struct krun_error *errp);

/* Survey the cluster, then print the pool (pods with their node, phase,
 * slots, busy, version, age from p, which may be NULL) and the cluster map
 * to out.  Returns 0 or -1. */
int kubernetes_status (struct kubernetes *k, const struct presence *p, FILE *out,
                       struct krun_error *errp);

/* The pool's name and namespace (borrowed). */
const char *kubernetes_pool (const struct kubernetes *k);
const char *kubernetes_namespace (const struct kubernetes *k);

#endif
