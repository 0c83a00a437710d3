/* podspec.c - see podspec.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "podspec.h"

static cJSON *string_array (const char *const *items, int n)
{
    cJSON *a = cJSON_CreateArray ();
    for (int i = 0; a && i < n; i++) {
        cJSON *s = cJSON_CreateString (items[i]);
        if (!s || !cJSON_AddItemToArray (a, s)) {
            cJSON_Delete (s);
            cJSON_Delete (a);
            return NULL;
        }
    }
    return a;
}

/* A new object appended to array, or NULL. */
static cJSON *add_object (cJSON *array)
{
    cJSON *o = cJSON_CreateObject ();

    if (o && !cJSON_AddItemToArray (array, o)) {
        cJSON_Delete (o);
        return NULL;
    }
    return o;
}

/* apiVersion, kind, metadata (name prefix, labels, annotations) and the
 * spec's plain fields.  Returns the spec, or NULL. */
static cJSON *add_metadata (cJSON *pod, const struct podspec *p)
{
    cJSON *meta, *labels, *ann, *spec;
    char *generate = NULL;

    if (asprintf (&generate, "krun-%s-%s-", p->pool, p->node_label) < 0)
        return NULL;
    bool ok = cJSON_AddStringToObject (pod, "apiVersion", "v1") &&
              cJSON_AddStringToObject (pod, "kind", "Pod") &&
              (meta = cJSON_AddObjectToObject (pod, "metadata")) &&
              cJSON_AddStringToObject (meta, "generateName", generate) &&
              (labels = cJSON_AddObjectToObject (meta, "labels")) &&
              cJSON_AddStringToObject (labels, PODSPEC_LABEL_NAME,
                                       PODSPEC_LABEL_NAME_VALUE) &&
              cJSON_AddStringToObject (labels, PODSPEC_LABEL_POOL, p->pool) &&
              cJSON_AddStringToObject (labels, PODSPEC_LABEL_NODE, p->node_label) &&
              (ann = cJSON_AddObjectToObject (meta, "annotations")) &&
              cJSON_AddStringToObject (ann, PODSPEC_ANNOTATION_HASH, p->hash) &&
              cJSON_AddStringToObject (ann, "krun.io/node-name", p->node) &&
              (spec = cJSON_AddObjectToObject (pod, "spec")) &&
              cJSON_AddStringToObject (spec, "restartPolicy", "Never") &&
              cJSON_AddBoolToObject (spec, "automountServiceAccountToken", false) &&
              cJSON_AddBoolToObject (spec, "enableServiceLinks", false);
    free (generate);
    return ok ? spec : NULL;
}

/* Affinity, not nodeName: the scheduler still checks the pod fits.  By the
 * node's name itself: its kubernetes.io/hostname label may differ from it
 * (cloud providers). */
static bool add_affinity (cJSON *spec, const char *node)
{
    cJSON *aff, *na, *req, *terms, *term, *exprs, *expr, *values;

    return (aff = cJSON_AddObjectToObject (spec, "affinity")) &&
           (na = cJSON_AddObjectToObject (aff, "nodeAffinity")) &&
           (req = cJSON_AddObjectToObject (
                na, "requiredDuringSchedulingIgnoredDuringExecution")) &&
           (terms = cJSON_AddArrayToObject (req, "nodeSelectorTerms")) &&
           (term = add_object (terms)) &&
           (exprs = cJSON_AddArrayToObject (term, "matchFields")) &&
           (expr = add_object (exprs)) &&
           cJSON_AddStringToObject (expr, "key", "metadata.name") &&
           cJSON_AddStringToObject (expr, "operator", "In") &&
           (values = string_array ((const char *[]){node}, 1)) &&
           cJSON_AddItemToObject (expr, "values", values);
}

/* kubernetes.tolerations and kubernetes.image_pull_secrets. */
static bool add_scheduling (cJSON *spec, const struct config *c)
{
    cJSON *tols = NULL, *ips = NULL, *o;

    if (c->kube_ntolerations && !(tols = cJSON_AddArrayToObject (spec, "tolerations")))
        return false;
    for (int i = 0; i < c->kube_ntolerations; i++) {
        const struct config_toleration *t = &c->kube_tolerations[i];
        if (!(o = add_object (tols)) ||
            (t->key && !cJSON_AddStringToObject (o, "key", t->key)) ||
            !cJSON_AddStringToObject (o, "operator",
                                      t->operator ? t->operator : "Equal") ||
            (t->value && !cJSON_AddStringToObject (o, "value", t->value)) ||
            (t->effect && !cJSON_AddStringToObject (o, "effect", t->effect)))
            return false;
    }
    if (c->kube_nimage_pull_secrets &&
        !(ips = cJSON_AddArrayToObject (spec, "imagePullSecrets")))
        return false;
    for (int i = 0; i < c->kube_nimage_pull_secrets; i++)
        if (!(o = add_object (ips)) ||
            !cJSON_AddStringToObject (o, "name", c->kube_image_pull_secrets[i]))
            return false;
    return true;
}

/* The pod runs as uid and gid 1000, never root, with the runtime's default
 * seccomp profile. */
static bool add_pod_security (cJSON *spec)
{
    cJSON *psc, *seccomp;

    return (psc = cJSON_AddObjectToObject (spec, "securityContext")) &&
           cJSON_AddBoolToObject (psc, "runAsNonRoot", true) &&
           cJSON_AddNumberToObject (psc, "runAsUser", 1000) &&
           cJSON_AddNumberToObject (psc, "runAsGroup", 1000) &&
           cJSON_AddNumberToObject (psc, "fsGroup", 1000) &&
           (seccomp = cJSON_AddObjectToObject (psc, "seccompProfile")) &&
           cJSON_AddStringToObject (seccomp, "type", "RuntimeDefault");
}

/* The work dir is the only writable place: the root file system is
 * read-only.  A secret volume's files belong to root; with fsGroup the
 * kubelet gives them the pod's group, and 0440 lets krund (uid 1000, gid
 * 1000) read the key through that group: krund accepts a key file readable
 * by its own group, never by others. */
static bool add_volumes (cJSON *spec, const char *secret)
{
    cJSON *vols, *v, *sv, *items, *item;

    return (vols = cJSON_AddArrayToObject (spec, "volumes")) &&
           (v = add_object (vols)) && cJSON_AddStringToObject (v, "name", "work") &&
           cJSON_AddObjectToObject (v, "emptyDir") && (v = add_object (vols)) &&
           cJSON_AddStringToObject (v, "name", "tmp") &&
           cJSON_AddObjectToObject (v, "emptyDir") && (v = add_object (vols)) &&
           cJSON_AddStringToObject (v, "name", "secret") &&
           (sv = cJSON_AddObjectToObject (v, "secret")) &&
           (items = cJSON_AddArrayToObject (sv, "items")) &&
           (item = add_object (items)) &&
           cJSON_AddStringToObject (item, "key", "signing-key") &&
           cJSON_AddStringToObject (item, "path", "signing-key") &&
           cJSON_AddStringToObject (sv, "secretName", secret) &&
           cJSON_AddNumberToObject (sv, "defaultMode", 0440);
}

/* One environment entry: a value, a field of the pod, or a Secret's key. */
static bool add_env (cJSON *env, const char *name, const char *value,
                     const char *secret_key, const char *secret, const char *field)
{
    cJSON *e = add_object (env), *from, *ref;

    if (!e || !cJSON_AddStringToObject (e, "name", name))
        return false;
    if (value)
        return cJSON_AddStringToObject (e, "value", value) != NULL;
    if (!(from = cJSON_AddObjectToObject (e, "valueFrom")))
        return false;
    if (field)
        return (ref = cJSON_AddObjectToObject (from, "fieldRef")) &&
               cJSON_AddStringToObject (ref, "fieldPath", field);
    return (ref = cJSON_AddObjectToObject (from, "secretKeyRef")) &&
           cJSON_AddStringToObject (ref, "name", secret) &&
           cJSON_AddStringToObject (ref, "key", secret_key);
}

/* What krund reads from its environment. */
static bool add_container_env (cJSON *container, const struct podspec *p)
{
    const char *workdir = p->cfg->kube_workdir;
    char key_file[128], stage_dir[4096], state_dir[4096];
    cJSON *env;

    snprintf (key_file, sizeof (key_file), "%s/signing-key", PODSPEC_SECRET_MOUNT);
    /* Staged programs are cached in the writable work dir. */
    snprintf (stage_dir, sizeof (stage_dir), "%s/.krun-stage", workdir);
    /* And the slots' scratch space: the root file system is read-only. */
    snprintf (state_dir, sizeof (state_dir), "%s/.krun", workdir);
    return (env = cJSON_AddArrayToObject (container, "env")) &&
           add_env (env, "KRUN_NODE_NAME", NULL, NULL, NULL, "spec.nodeName") &&
           add_env (env, "KRUN_AMQP_URL", NULL, "amqp-url", p->secret, NULL) &&
           add_env (env, "KRUN_KEY_FILE", key_file, NULL, NULL, NULL) &&
           /* The pool's exchanges: pools never see each other on a broker. */
           add_env (env, "KRUN_POOL", p->pool, NULL, NULL, NULL) &&
           add_env (env, "KRUN_STAGE_DIR", stage_dir, NULL, NULL, NULL) &&
           add_env (env, "KRUN_STATE_DIR", state_dir, NULL, NULL, NULL);
}

/* Requests equal to limits: Guaranteed QoS. */
static bool add_resources (cJSON *container, const struct podspec *p, const char *cpus)
{
    const char *memory = p->cfg->kube_memory;
    cJSON *res, *req, *lim;

    return (res = cJSON_AddObjectToObject (container, "resources")) &&
           (req = cJSON_AddObjectToObject (res, "requests")) &&
           (lim = cJSON_AddObjectToObject (res, "limits")) &&
           cJSON_AddStringToObject (req, "cpu", cpus) &&
           cJSON_AddStringToObject (req, "memory", memory) &&
           cJSON_AddStringToObject (lim, "cpu", cpus) &&
           cJSON_AddStringToObject (lim, "memory", memory);
}

/* No privilege escalation, no capabilities, a read-only root; the work
 * dir, /tmp and the secret are the mounts. */
static bool add_container_security (cJSON *container, const char *workdir)
{
    cJSON *sc, *caps, *mounts, *v;

    return (sc = cJSON_AddObjectToObject (container, "securityContext")) &&
           cJSON_AddBoolToObject (sc, "allowPrivilegeEscalation", false) &&
           cJSON_AddBoolToObject (sc, "readOnlyRootFilesystem", true) &&
           cJSON_AddBoolToObject (sc, "runAsNonRoot", true) &&
           (caps = cJSON_AddObjectToObject (sc, "capabilities")) &&
           cJSON_AddItemToObject (caps, "drop",
                                  string_array ((const char *[]){"ALL"}, 1)) &&
           (mounts = cJSON_AddArrayToObject (container, "volumeMounts")) &&
           (v = add_object (mounts)) && cJSON_AddStringToObject (v, "name", "work") &&
           cJSON_AddStringToObject (v, "mountPath", workdir) &&
           (v = add_object (mounts)) && cJSON_AddStringToObject (v, "name", "tmp") &&
           cJSON_AddStringToObject (v, "mountPath", "/tmp") &&
           (v = add_object (mounts)) && cJSON_AddStringToObject (v, "name", "secret") &&
           cJSON_AddStringToObject (v, "mountPath", PODSPEC_SECRET_MOUNT) &&
           cJSON_AddBoolToObject (v, "readOnly", true);
}

/* The krund container. */
static bool add_container (cJSON *spec, const struct podspec *p)
{
    const struct config *c = p->cfg;
    char cpus[16], idle[16];
    cJSON *containers, *container;

    snprintf (cpus, sizeof (cpus), "%d", p->cpus);
    snprintf (idle, sizeof (idle), "%d", c->idle_timeout);
    /* A Kubernetes CPU is a hardware thread: one slot per PU is what the pod
     * was given (docs/man/krund.8). */
    const char *argv[] = {c->kube_krund, "--slots",        cpus, "--bind-to",
                          "pu",          "--idle-timeout", idle};
    return (containers = cJSON_AddArrayToObject (spec, "containers")) &&
           (container = add_object (containers)) &&
           cJSON_AddStringToObject (container, "name", "krund") &&
           cJSON_AddStringToObject (container, "image", c->kube_image) &&
           (!c->kube_image_pull_policy ||
            cJSON_AddStringToObject (container, "imagePullPolicy",
                                     c->kube_image_pull_policy)) &&
           cJSON_AddItemToObject (
               container, "command",
               string_array (argv, sizeof (argv) / sizeof (argv[0]))) &&
           cJSON_AddStringToObject (container, "workingDir", c->kube_workdir) &&
           /* krund writes why it failed to /dev/termination-log; the log's
            * end is the message when it could not. */
           cJSON_AddStringToObject (container, "terminationMessagePolicy",
                                    "FallbackToLogsOnError") &&
           add_container_env (container, p) && add_resources (container, p, cpus) &&
           add_container_security (container, c->kube_workdir);
}

cJSON *podspec_build (const struct podspec *p)
{
    cJSON *pod = cJSON_CreateObject ();
    cJSON *spec = pod ? add_metadata (pod, p) : NULL;

    if (!spec || !add_affinity (spec, p->node) || !add_scheduling (spec, p->cfg) ||
        !add_pod_security (spec) || !add_volumes (spec, p->secret) ||
        !add_container (spec, p)) {
        cJSON_Delete (pod);
        errno = ENOMEM;
        return NULL;
    }
    return pod;
}
