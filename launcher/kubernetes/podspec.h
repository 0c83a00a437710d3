/* podspec.h - the worker pod of one node, as the JSON the API takes.
 *
 * One container runs krund with one slot per CPU the pod gets; its CPU
 * request and limit are equal (Guaranteed QoS, so a static CPU manager
 * gives it exclusive cores) and it is pinned to its node by node affinity
 * on the node's name, so the scheduler still admits it.  The broker URL and
 * the signing key come from the pool's Secret (secretKeyRef and a 0440
 * secret volume), never from the spec itself.  The root file system is
 * read-only; the work dir and /tmp are emptyDirs.  Built by small builders
 * (metadata, affinity, scheduling, security, volumes, container), each
 * adding one part to the spec.
 */
#ifndef KRUN_PODSPEC_H
#define KRUN_PODSPEC_H

#include <cjson/cJSON.h>

#include "config.h"

/* The labels that find a pool's pods, and what a pod records. */
#define PODSPEC_LABEL_NAME "app.kubernetes.io/name"
#define PODSPEC_LABEL_NAME_VALUE "krun-worker"
#define PODSPEC_LABEL_POOL "krun.io/pool"
#define PODSPEC_LABEL_NODE "krun.io/node"
#define PODSPEC_ANNOTATION_HASH "krun.io/config-hash"
/* Where the Secret's signing key is mounted in the pod. */
#define PODSPEC_SECRET_MOUNT "/etc/krun/secret"

/* What one node's pod is made from (all borrowed). */
struct podspec {
    const struct config *cfg; /* the kubernetes: section */
    const char *pool;         /* the pool's name (label, KRUN_POOL) */
    const char *secret;       /* the pool's Secret (amqp-url, signing-key) */
    const char *node;         /* the node's name (affinity, annotation) */
    const char *node_label;   /* the node's name as a label value */
    int cpus;                 /* CPUs requested = limit = slots */
    const char *hash;         /* what the pod is made from (annotation) */
};

/* The pod (caller must cJSON_Delete()), or NULL with errno ENOMEM. */
cJSON *podspec_build (const struct podspec *p);

#endif
