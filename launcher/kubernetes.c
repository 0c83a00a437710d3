/* kubernetes.c - see kubernetes.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "kubeapi.h"
#include "kubeconfig.h"
#include "kubenodes.h"
#include "kubernetes.h"
#include "quantity.h"

#define LABEL_NAME "app.kubernetes.io/name"
#define LABEL_NAME_VALUE "krun-worker"
#define LABEL_POOL "krun.io/pool"
#define LABEL_NODE "krun.io/node"
#define ANNOTATION_HASH "krun.io/config-hash"
#define SECRET_MOUNT "/etc/krun/secret"
#define SIGNING_KEY_BYTES 32

struct pool_pod {
    char *name;
    char *node;
    char *phase;
    char *hash;
    char *created;
    char *failure; /* why a Failed pod ended (pod_reason()), else NULL */
    bool deleting;
};

struct kubernetes {
    const struct config *cfg;
    struct kubeconfig *kubeconfig;
    struct kubeapi *api;
    char *pool;
    char *namespace;
    char *secret;
    char *selector; /* the pool's label selector, escaped for a URL */
    char *pool_label;
    struct kubenodes *nodes;
    struct pool_pod *pods;
    int npods;
    char *list_version; /* resourceVersion of the last pod list */
};

static const cJSON *json_get (const cJSON *obj, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (obj, a),
                                             b);
}

/* A label value / name part: lower case letters, digits and '-', at most
 * max bytes, starting and ending with an alphanumeric. */
static char *dns_part (const char *s, size_t max)
{
    char *out = malloc (max + 1);
    size_t n = 0;

    if (!out)
        return NULL;
    for (; *s && n < max; s++) {
        char c = (char)tolower ((unsigned char)*s);
        out[n++] = isalnum ((unsigned char)c) ? c : '-';
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n == 0 || out[0] == '-') {
        free (out);
        return strdup ("x");
    }
    return out;
}

static char *user_name (void)
{
    struct passwd *pw = getpwuid (getuid ());
    const char *user = getenv ("USER");

    if (pw && pw->pw_name && *pw->pw_name)
        return strdup (pw->pw_name);
    return strdup (user && *user ? user : "krun");
}

struct kubernetes *kubernetes_create (const struct config *cfg, const char *kubeconfig,
                                      const char *context, struct krun_error *errp)
{
    struct kubernetes *k = calloc (1, sizeof (*k));
    char *user = NULL, *selector = NULL;

    if (!k)
        return errprintf_errno (errp, "kubernetes provider"), NULL;
    k->cfg = cfg;
    if (!(k->kubeconfig =
              kubeconfig_load (kubeconfig ? kubeconfig : cfg->kube_kubeconfig,
                               context ? context : cfg->kube_context, errp)))
        goto error;
    if (!(k->api = kubeapi_create (k->kubeconfig, cfg->kube_api_timeout_ms, errp)))
        goto error;
    if (!(user = cfg->kube_pool ? strdup (cfg->kube_pool) : user_name ()) ||
        !(k->pool = dns_part (user, 40)) ||
        !(k->namespace =
              strdup (cfg->kube_namespace ? cfg->kube_namespace
                                          : kubeconfig_namespace (k->kubeconfig))) ||
        asprintf (&k->pool_label, "%s=%s", LABEL_POOL, k->pool) < 0 ||
        asprintf (&selector, "%s=%s,%s", LABEL_NAME, LABEL_NAME_VALUE, k->pool_label) <
            0 ||
        !(k->selector = kubeapi_escape (selector)))
        goto nomem;
    if (cfg->kube_secret)
        k->secret = strdup (cfg->kube_secret);
    else if (asprintf (&k->secret, "krun-%s", k->pool) < 0)
        k->secret = NULL;
    if (!k->secret)
        goto nomem;
    free (user);
    free (selector);
    return k;
nomem:
    errprintf_errno (errp, "kubernetes provider");
error:
    free (user);
    free (selector);
    kubernetes_destroy (k);
    return NULL;
}

static void free_pods (struct kubernetes *k)
{
    for (int i = 0; i < k->npods; i++) {
        free (k->pods[i].name);
        free (k->pods[i].node);
        free (k->pods[i].phase);
        free (k->pods[i].hash);
        free (k->pods[i].created);
        free (k->pods[i].failure);
    }
    free (k->pods);
    k->pods = NULL;
    k->npods = 0;
}

void kubernetes_destroy (struct kubernetes *k)
{
    int saved_errno = errno;

    if (k) {
        free_pods (k);
        kubenodes_destroy (k->nodes);
        kubeapi_destroy (k->api);
        kubeconfig_destroy (k->kubeconfig);
        free (k->pool);
        free (k->namespace);
        free (k->secret);
        free (k->selector);
        free (k->pool_label);
        free (k->list_version);
        free (k);
    }
    errno = saved_errno;
}

const char *kubernetes_pool (const struct kubernetes *k)
{
    return k->pool;
}

const char *kubernetes_namespace (const struct kubernetes *k)
{
    return k->namespace;
}

static char *dup_or_empty (const char *s)
{
    return strdup (s ? s : "");
}

static char *pod_reason (const cJSON *pod);

/* List the pool's pods into k->pods. */
static int list_pods (struct kubernetes *k, struct krun_error *errp)
{
    char *path;
    cJSON *list;
    const cJSON *item;

    if (asprintf (&path, "/api/v1/namespaces/%s/pods?labelSelector=%s", k->namespace,
                  k->selector) < 0)
        return errprintf_errno (errp, "kubernetes provider");
    list = kubeapi_request (k->api, "GET", path, NULL, NULL, errp);
    free (path);
    if (!list)
        return -1;
    free_pods (k);
    free (k->list_version);
    k->list_version = dup_or_empty (kubeapi_string (
        cJSON_GetObjectItemCaseSensitive (list, "metadata"), "resourceVersion"));
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (list, "items");
    if (!(k->pods = calloc (cJSON_GetArraySize (items) + 1, sizeof (*k->pods)))) {
        cJSON_Delete (list);
        return errprintf_errno (errp, "kubernetes provider");
    }
    cJSON_ArrayForEach (item, items)
    {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive (item, "metadata");
        struct pool_pod *p = &k->pods[k->npods];
        if (!kubeapi_string (meta, "name"))
            continue;
        k->npods++;
        p->name = dup_or_empty (kubeapi_string (meta, "name"));
        p->node = dup_or_empty (kubeapi_string (
            cJSON_GetObjectItemCaseSensitive (meta, "labels"), LABEL_NODE));
        p->phase = dup_or_empty (kubeapi_string (
            cJSON_GetObjectItemCaseSensitive (item, "status"), "phase"));
        p->hash = dup_or_empty (kubeapi_string (
            cJSON_GetObjectItemCaseSensitive (meta, "annotations"), ANNOTATION_HASH));
        p->created = dup_or_empty (kubeapi_string (meta, "creationTimestamp"));
        p->deleting = kubeapi_string (meta, "deletionTimestamp") != NULL;
        if (strcmp (p->phase, "Failed") == 0)
            p->failure = pod_reason (item);
    }
    cJSON_Delete (list);
    return 0;
}

int kubernetes_survey (struct kubernetes *k, struct krun_error *errp)
{
    struct kubenodes_options o = {
        .node_selector = k->cfg->kube_node_selector,
        .tolerations = k->cfg->kube_tolerations,
        .ntolerations = k->cfg->kube_ntolerations,
        .pool_label = k->pool_label,
    };

    if (quantity_parse_milli (k->cfg->kube_reserve_cpu, &o.reserve_milli) < 0)
        return errprintf (errp, "kubernetes.reserve_cpu: bad quantity '%s'",
                          k->cfg->kube_reserve_cpu);
    kubenodes_destroy (k->nodes);
    if (!(k->nodes = kubenodes_query (k->api, &o, errp)))
        return -1;
    return list_pods (k, errp);
}

struct cpumap *kubernetes_cpumap (const struct kubernetes *k, struct krun_error *errp)
{
    return kubenodes_cpumap (k->nodes, errp);
}

/* FNV-1a over what a pod is made from: a pod whose hash differs is stale. */
static void config_hash (const struct kubernetes *k, const struct kubenode *node,
                         const char *worker_url, char out[17])
{
    const struct config *c = k->cfg;
    char cpus[16], idle[16];
    const char *parts[] = {c->kube_image,
                           c->kube_image_pull_policy ? c->kube_image_pull_policy : "",
                           c->kube_memory,
                           c->kube_krund,
                           c->kube_workdir,
                           k->secret,
                           worker_url,
                           cpus,
                           idle};
    uint64_t h = 1469598103934665603ULL;

    snprintf (cpus, sizeof (cpus), "%d", node->cpus);
    snprintf (idle, sizeof (idle), "%d", c->idle_timeout);
    for (size_t i = 0; i < sizeof (parts) / sizeof (parts[0]); i++) {
        for (const char *s = parts[i]; *s; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ULL;
        }
        h ^= 0xff; /* separator: "ab"+"c" differs from "a"+"bc" */
        h *= 1099511628211ULL;
    }
    snprintf (out, 17, "%016llx", (unsigned long long)h);
}

static char *base64_encode (const unsigned char *in, size_t len)
{
    static const char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc ((len + 2) / 3 * 4 + 1), *p = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned int v = (unsigned int)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned int)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *p++ = table[(v >> 18) & 63];
        *p++ = table[(v >> 12) & 63];
        *p++ = i + 1 < len ? table[(v >> 6) & 63] : '=';
        *p++ = i + 2 < len ? table[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

/* The signing key to store: the configured file's content, else the
 * Secret's current one (keep), else a new random one.  Caller must free
 * the base64 text. */
static char *signing_key_b64 (const struct kubernetes *k, const cJSON *current,
                              struct krun_error *errp)
{
    const char *file = k->cfg->kube_signing_key_file;
    const char *keep;
    unsigned char key[4096];
    ssize_t n;
    int fd;

    if (!file)
        file = getenv ("KRUN_KEY_FILE");
    if (!file && current) {
        keep = kubeapi_string (cJSON_GetObjectItemCaseSensitive (current, "data"),
                               "signing-key");
        if (keep)
            return strdup (keep);
    }
    if ((fd = open (file ? file : "/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
        return errprintf_errno (errp, "signing key %s", file ? file : "/dev/urandom"),
               NULL;
    n = read (fd, key, file ? sizeof (key) : SIGNING_KEY_BYTES);
    close (fd);
    if (n <= 0) {
        errno = n == 0 ? EINVAL : errno;
        return errprintf_errno (errp, "signing key %s", file ? file : "/dev/urandom"),
               NULL;
    }
    char *b64 = base64_encode (key, (size_t)n);
    memset (key, 0, sizeof (key));
    if (!b64)
        errprintf_errno (errp, "signing key");
    return b64;
}

/* Create the pool's Secret, or update it when the URL or key changed. */
static int ensure_secret (struct kubernetes *k, const char *worker_url,
                          struct krun_error *errp)
{
    char *path = NULL, *url_b64 = NULL, *key_b64 = NULL;
    cJSON *current = NULL, *body = NULL, *reply = NULL, *meta, *data;
    long status;
    int rc = -1;

    if (asprintf (&path, "/api/v1/namespaces/%s/secrets/%s", k->namespace, k->secret) <
        0) {
        path = NULL;
        goto nomem;
    }
    current = kubeapi_request (k->api, "GET", path, NULL, &status, errp);
    if (!current && status != 404)
        goto done;
    if (!(url_b64 =
              base64_encode ((const unsigned char *)worker_url, strlen (worker_url))) ||
        !(key_b64 = signing_key_b64 (k, current, errp)))
        goto done;
    const cJSON *old = cJSON_GetObjectItemCaseSensitive (current, "data");
    if (current && kubeapi_string (old, "amqp-url") &&
        strcmp (kubeapi_string (old, "amqp-url"), url_b64) == 0 &&
        kubeapi_string (old, "signing-key") &&
        strcmp (kubeapi_string (old, "signing-key"), key_b64) == 0) {
        rc = 0; /* up to date */
        goto done;
    }
    if (!(body = cJSON_CreateObject ()) ||
        !cJSON_AddStringToObject (body, "apiVersion", "v1") ||
        !cJSON_AddStringToObject (body, "kind", "Secret") ||
        !(meta = cJSON_AddObjectToObject (body, "metadata")) ||
        !cJSON_AddStringToObject (meta, "name", k->secret) ||
        !cJSON_AddStringToObject (body, "type", "Opaque") ||
        !(data = cJSON_AddObjectToObject (body, "data")) ||
        !cJSON_AddStringToObject (data, "amqp-url", url_b64) ||
        !cJSON_AddStringToObject (data, "signing-key", key_b64))
        goto nomem;
    cJSON *labels = cJSON_AddObjectToObject (meta, "labels");
    if (!labels || !cJSON_AddStringToObject (labels, LABEL_NAME, LABEL_NAME_VALUE) ||
        !cJSON_AddStringToObject (labels, LABEL_POOL, k->pool))
        goto nomem;
    if (current)
        reply = kubeapi_request (k->api, "PUT", path, body, NULL, errp);
    else {
        char *list = NULL;
        if (asprintf (&list, "/api/v1/namespaces/%s/secrets", k->namespace) < 0)
            goto nomem;
        reply = kubeapi_request (k->api, "POST", list, body, NULL, errp);
        free (list);
    }
    rc = reply ? 0 : -1;
    goto done;
nomem:
    errprintf_errno (errp, "kubernetes secret");
done:
    /* The bodies held the URL's password and the key. */
    if (url_b64)
        memset (url_b64, 0, strlen (url_b64));
    if (key_b64)
        memset (key_b64, 0, strlen (key_b64));
    free (url_b64);
    free (key_b64);
    cJSON_Delete (current);
    cJSON_Delete (body);
    cJSON_Delete (reply);
    free (path);
    return rc;
}

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

static bool add_env (cJSON *env, const char *name, const char *value,
                     const char *secret_key, const char *secret, const char *field)
{
    cJSON *e = cJSON_CreateObject (), *from, *ref;

    if (!e || !cJSON_AddItemToArray (env, e) ||
        !cJSON_AddStringToObject (e, "name", name))
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

/* The pod for one node. */
static cJSON *pod_spec (const struct kubernetes *k, const struct kubenode *node,
                        const char *hash)
{
    const struct config *c = k->cfg;
    cJSON *pod = cJSON_CreateObject ();
    cJSON *meta, *labels, *ann, *spec, *container, *res, *req, *lim, *env, *sc, *psc;
    cJSON *vols, *mounts, *v, *term, *expr, *values;
    char cpus[16], idle[16], key_file[128], stage_dir[4096], state_dir[4096];
    char *generate = NULL, *node_part = NULL;

    snprintf (cpus, sizeof (cpus), "%d", node->cpus);
    snprintf (idle, sizeof (idle), "%d", c->idle_timeout);
    snprintf (key_file, sizeof (key_file), "%s/signing-key", SECRET_MOUNT);
    /* Staged programs are cached in the writable work dir. */
    snprintf (stage_dir, sizeof (stage_dir), "%s/.krun-stage", c->kube_workdir);
    /* And the slots' scratch space: the root file system is read-only. */
    snprintf (state_dir, sizeof (state_dir), "%s/.krun", c->kube_workdir);
    if (!pod || !(node_part = dns_part (node->name, 20)) ||
        asprintf (&generate, "krun-%s-%s-", k->pool, node_part) < 0)
        goto error;
    /* A Kubernetes CPU is a hardware thread: one slot per PU is what the pod
     * was given (docs/man/krund.8). */
    const char *argv[] = {c->kube_krund, "--slots",        cpus, "--bind-to",
                          "pu",          "--idle-timeout", idle};
    if (!cJSON_AddStringToObject (pod, "apiVersion", "v1") ||
        !cJSON_AddStringToObject (pod, "kind", "Pod") ||
        !(meta = cJSON_AddObjectToObject (pod, "metadata")) ||
        !cJSON_AddStringToObject (meta, "generateName", generate) ||
        !(labels = cJSON_AddObjectToObject (meta, "labels")) ||
        !cJSON_AddStringToObject (labels, LABEL_NAME, LABEL_NAME_VALUE) ||
        !cJSON_AddStringToObject (labels, LABEL_POOL, k->pool) ||
        !cJSON_AddStringToObject (labels, LABEL_NODE, node_part) ||
        !(ann = cJSON_AddObjectToObject (meta, "annotations")) ||
        !cJSON_AddStringToObject (ann, ANNOTATION_HASH, hash) ||
        !cJSON_AddStringToObject (ann, "krun.io/node-name", node->name) ||
        !(spec = cJSON_AddObjectToObject (pod, "spec")) ||
        !cJSON_AddStringToObject (spec, "restartPolicy", "Never") ||
        !cJSON_AddBoolToObject (spec, "automountServiceAccountToken", false) ||
        !cJSON_AddBoolToObject (spec, "enableServiceLinks", false))
        goto error;
    /* Affinity, not nodeName: the scheduler still checks the pod fits. */
    cJSON *aff = cJSON_AddObjectToObject (spec, "affinity");
    cJSON *na = aff ? cJSON_AddObjectToObject (aff, "nodeAffinity") : NULL;
    cJSON *req_sched = na ? cJSON_AddObjectToObject (
                                na, "requiredDuringSchedulingIgnoredDuringExecution")
                          : NULL;
    cJSON *terms =
        req_sched ? cJSON_AddArrayToObject (req_sched, "nodeSelectorTerms") : NULL;
    if (!terms || !(term = cJSON_CreateObject ()) ||
        !cJSON_AddItemToArray (terms, term))
        goto error;
    /* By the node's name itself: its kubernetes.io/hostname label may differ
     * from it (cloud providers). */
    cJSON *exprs = cJSON_AddArrayToObject (term, "matchFields");
    if (!exprs || !(expr = cJSON_CreateObject ()) ||
        !cJSON_AddItemToArray (exprs, expr) ||
        !cJSON_AddStringToObject (expr, "key", "metadata.name") ||
        !cJSON_AddStringToObject (expr, "operator", "In") ||
        !(values = string_array ((const char *[]){node->name}, 1)) ||
        !cJSON_AddItemToObject (expr, "values", values))
        goto error;
    if (c->kube_ntolerations) {
        cJSON *tols = cJSON_AddArrayToObject (spec, "tolerations");
        for (int i = 0; tols && i < c->kube_ntolerations; i++) {
            const struct config_toleration *t = &c->kube_tolerations[i];
            cJSON *o = cJSON_CreateObject ();
            if (!o || !cJSON_AddItemToArray (tols, o) ||
                (t->key && !cJSON_AddStringToObject (o, "key", t->key)) ||
                !cJSON_AddStringToObject (o, "operator",
                                          t->operator ? t->operator : "Equal") ||
                (t->value && !cJSON_AddStringToObject (o, "value", t->value)) ||
                (t->effect && !cJSON_AddStringToObject (o, "effect", t->effect)))
                goto error;
        }
        if (!tols)
            goto error;
    }
    if (c->kube_nimage_pull_secrets) {
        cJSON *ips = cJSON_AddArrayToObject (spec, "imagePullSecrets");
        for (int i = 0; ips && i < c->kube_nimage_pull_secrets; i++) {
            cJSON *o = cJSON_CreateObject ();
            if (!o || !cJSON_AddItemToArray (ips, o) ||
                !cJSON_AddStringToObject (o, "name", c->kube_image_pull_secrets[i]))
                goto error;
        }
        if (!ips)
            goto error;
    }
    if (!(psc = cJSON_AddObjectToObject (spec, "securityContext")) ||
        !cJSON_AddBoolToObject (psc, "runAsNonRoot", true) ||
        !cJSON_AddNumberToObject (psc, "runAsUser", 1000) ||
        !cJSON_AddNumberToObject (psc, "runAsGroup", 1000) ||
        !cJSON_AddNumberToObject (psc, "fsGroup", 1000))
        goto error;
    cJSON *seccomp = cJSON_AddObjectToObject (psc, "seccompProfile");
    if (!seccomp || !cJSON_AddStringToObject (seccomp, "type", "RuntimeDefault"))
        goto error;
    /* The work dir is the only writable place: the root file system is
     * read-only.  A secret volume's files belong to root; with fsGroup the
     * kubelet gives them the pod's group, and 0440 lets krund (uid 1000, gid
     * 1000) read the key through that group: krund accepts a key file
     * readable by its own group, never by others. */
    if (!(vols = cJSON_AddArrayToObject (spec, "volumes")) ||
        !(v = cJSON_CreateObject ()) || !cJSON_AddItemToArray (vols, v) ||
        !cJSON_AddStringToObject (v, "name", "work") ||
        !cJSON_AddObjectToObject (v, "emptyDir") || !(v = cJSON_CreateObject ()) ||
        !cJSON_AddItemToArray (vols, v) ||
        !cJSON_AddStringToObject (v, "name", "tmp") ||
        !cJSON_AddObjectToObject (v, "emptyDir") || !(v = cJSON_CreateObject ()) ||
        !cJSON_AddItemToArray (vols, v) ||
        !cJSON_AddStringToObject (v, "name", "secret"))
        goto error;
    cJSON *sv = cJSON_AddObjectToObject (v, "secret");
    cJSON *items = sv ? cJSON_AddArrayToObject (sv, "items") : NULL;
    cJSON *item = cJSON_CreateObject ();
    if (!items || !item || !cJSON_AddItemToArray (items, item) ||
        !cJSON_AddStringToObject (item, "key", "signing-key") ||
        !cJSON_AddStringToObject (item, "path", "signing-key") ||
        !cJSON_AddStringToObject (sv, "secretName", k->secret) ||
        !cJSON_AddNumberToObject (sv, "defaultMode", 0440))
        goto error;
    cJSON *containers = cJSON_AddArrayToObject (spec, "containers");
    if (!containers || !(container = cJSON_CreateObject ()) ||
        !cJSON_AddItemToArray (containers, container) ||
        !cJSON_AddStringToObject (container, "name", "krund") ||
        !cJSON_AddStringToObject (container, "image", c->kube_image) ||
        (c->kube_image_pull_policy &&
         !cJSON_AddStringToObject (container, "imagePullPolicy",
                                   c->kube_image_pull_policy)) ||
        !cJSON_AddItemToObject (
            container, "command",
            string_array (argv, sizeof (argv) / sizeof (argv[0]))) ||
        !cJSON_AddStringToObject (container, "workingDir", c->kube_workdir) ||
        /* krund writes why it failed to /dev/termination-log; the log's end
         * is the message when it could not. */
        !cJSON_AddStringToObject (container, "terminationMessagePolicy",
                                  "FallbackToLogsOnError") ||
        !(env = cJSON_AddArrayToObject (container, "env")) ||
        !add_env (env, "KRUN_NODE_NAME", NULL, NULL, NULL, "spec.nodeName") ||
        !add_env (env, "KRUN_AMQP_URL", NULL, "amqp-url", k->secret, NULL) ||
        !add_env (env, "KRUN_KEY_FILE", key_file, NULL, NULL, NULL) ||
        /* The pool's exchanges: pools never see each other on a broker. */
        !add_env (env, "KRUN_POOL", k->pool, NULL, NULL, NULL) ||
        !add_env (env, "KRUN_STAGE_DIR", stage_dir, NULL, NULL, NULL) ||
        !add_env (env, "KRUN_STATE_DIR", state_dir, NULL, NULL, NULL) ||
        !(res = cJSON_AddObjectToObject (container, "resources")) ||
        !(req = cJSON_AddObjectToObject (res, "requests")) ||
        !(lim = cJSON_AddObjectToObject (res, "limits")) ||
        !cJSON_AddStringToObject (req, "cpu", cpus) ||
        !cJSON_AddStringToObject (req, "memory", c->kube_memory) ||
        !cJSON_AddStringToObject (lim, "cpu", cpus) ||
        !cJSON_AddStringToObject (lim, "memory", c->kube_memory) ||
        !(sc = cJSON_AddObjectToObject (container, "securityContext")) ||
        !cJSON_AddBoolToObject (sc, "allowPrivilegeEscalation", false) ||
        !cJSON_AddBoolToObject (sc, "readOnlyRootFilesystem", true) ||
        !cJSON_AddBoolToObject (sc, "runAsNonRoot", true))
        goto error;
    cJSON *caps = cJSON_AddObjectToObject (sc, "capabilities");
    if (!caps ||
        !cJSON_AddItemToObject (caps, "drop",
                                string_array ((const char *[]){"ALL"}, 1)) ||
        !(mounts = cJSON_AddArrayToObject (container, "volumeMounts")) ||
        !(v = cJSON_CreateObject ()) || !cJSON_AddItemToArray (mounts, v) ||
        !cJSON_AddStringToObject (v, "name", "work") ||
        !cJSON_AddStringToObject (v, "mountPath", c->kube_workdir) ||
        !(v = cJSON_CreateObject ()) || !cJSON_AddItemToArray (mounts, v) ||
        !cJSON_AddStringToObject (v, "name", "tmp") ||
        !cJSON_AddStringToObject (v, "mountPath", "/tmp") ||
        !(v = cJSON_CreateObject ()) || !cJSON_AddItemToArray (mounts, v) ||
        !cJSON_AddStringToObject (v, "name", "secret") ||
        !cJSON_AddStringToObject (v, "mountPath", SECRET_MOUNT) ||
        !cJSON_AddBoolToObject (v, "readOnly", true))
        goto error;
    free (generate);
    free (node_part);
    return pod;
error:
    free (generate);
    free (node_part);
    cJSON_Delete (pod);
    return NULL;
}

static int delete_pod (struct kubernetes *k, const char *name, struct krun_error *errp)
{
    char *path;
    cJSON *reply;
    long status;

    if (asprintf (&path, "/api/v1/namespaces/%s/pods/%s", k->namespace, name) < 0)
        return errprintf_errno (errp, "kubernetes provider");
    reply = kubeapi_request (k->api, "DELETE", path, NULL, &status, errp);
    free (path);
    if (!reply && status != 404)
        return -1;
    cJSON_Delete (reply);
    return 0;
}

static int create_pod (struct kubernetes *k, const struct kubenode *node,
                       const char *hash, struct krun_error *errp)
{
    cJSON *pod = pod_spec (k, node, hash), *reply = NULL;
    char *path = NULL;

    if (!pod || asprintf (&path, "/api/v1/namespaces/%s/pods", k->namespace) < 0) {
        cJSON_Delete (pod);
        return errprintf_errno (errp, "kubernetes pod spec");
    }
    reply = kubeapi_request (k->api, "POST", path, pod, NULL, errp);
    cJSON_Delete (pod);
    free (path);
    if (!reply)
        return -1;
    cJSON_Delete (reply);
    return 0;
}

int kubernetes_provision (struct kubernetes *k, const char *worker_url,
                          const struct presence *p, struct krun_error *errp)
{
    int created = 0;

    if (ensure_secret (k, worker_url, errp) < 0)
        return -1;
    for (int i = 0; i < kubenodes_count (k->nodes); i++) {
        const struct kubenode *node = kubenodes_node (k->nodes, i);
        char hash[17], *node_part;
        bool have = false;

        config_hash (k, node, worker_url, hash);
        if (!(node_part = dns_part (node->name, 20)))
            return errprintf_errno (errp, "kubernetes provider");
        for (int j = 0; j < k->npods; j++) {
            struct pool_pod *pod = &k->pods[j];
            if (pod->deleting || strcmp (pod->node, node_part) != 0)
                continue;
            bool ended = strcmp (pod->phase, "Failed") == 0 ||
                         strcmp (pod->phase, "Succeeded") == 0;
            bool stale = node->cpus == 0 || strcmp (pod->hash, hash) != 0;
            bool silent = p && strcmp (pod->phase, "Running") == 0 &&
                          !presence_find (p, node->name);
            if (have || ended || stale || silent) {
                if (delete_pod (k, pod->name, errp) < 0) {
                    free (node_part);
                    return -1;
                }
                pod->deleting = true;
            } else
                have = true;
        }
        free (node_part);
        if (have || node->cpus == 0)
            continue;
        if (create_pod (k, node, hash, errp) < 0)
            return -1;
        created++;
    }
    /* Pods of nodes that left the cluster (or the selector) go too. */
    for (int j = 0; j < k->npods; j++) {
        bool known = false;
        for (int i = 0; i < kubenodes_count (k->nodes) && !known; i++) {
            char *part = dns_part (kubenodes_node (k->nodes, i)->name, 20);
            known = part && strcmp (part, k->pods[j].node) == 0;
            free (part);
        }
        if (!known && !k->pods[j].deleting) {
            if (delete_pod (k, k->pods[j].name, errp) < 0)
                return -1;
            k->pods[j].deleting = true;
        }
    }
    return created;
}

/* Watch state: pods by name, with what is known about why they wait. */
struct watch_state {
    struct kubernetes *k;
    int want; /* running pods wanted; -1 all; 0 = none left (down) */
    bool down;
    char **names;
    char **why; /* last known reason a pod is not running */
    bool *running;
    bool *ended; /* Failed or Succeeded: will never run (restartPolicy Never) */
    int count;
};

static int watch_slot (struct watch_state *w, const char *name)
{
    for (int i = 0; i < w->count; i++)
        if (strcmp (w->names[i], name) == 0)
            return i;
    char **n = realloc (w->names, (w->count + 1) * sizeof (*n));
    if (n)
        w->names = n;
    char **y = realloc (w->why, (w->count + 1) * sizeof (*y));
    if (y)
        w->why = y;
    bool *r = realloc (w->running, (w->count + 1) * sizeof (*r));
    if (r)
        w->running = r;
    bool *e = realloc (w->ended, (w->count + 1) * sizeof (*e));
    if (e)
        w->ended = e;
    if (!n || !y || !r || !e || !(w->names[w->count] = strdup (name)))
        return -1;
    w->why[w->count] = NULL;
    w->running[w->count] = false;
    w->ended[w->count] = false;
    return w->count++;
}

/* "terminated, exit code N: <krund's message>": the message (krund's
 * termination log, or the end of its log: terminationMessagePolicy) on one
 * line, its lines joined by "; ".  Returns NULL if out of memory. */
static char *terminated_reason (const cJSON *term)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive (term, "exitCode");
    const char *message = kubeapi_string (term, "message");
    char *out = NULL, *text = strdup (message ? message : "");
    size_t len;

    if (!text)
        return NULL;
    while ((len = strlen (text)) > 0 && strchr (" \t\r\n", text[len - 1]))
        text[len - 1] = '\0';
    for (char *nl; (nl = strchr (text, '\n'));) {
        *nl = '\0';
        char *joined;
        if (asprintf (&joined, "%s; %s", text, nl + 1) < 0) {
            free (text);
            return NULL;
        }
        free (text);
        text = joined;
    }
    if (asprintf (&out, "terminated, exit code %d%s%s", code ? code->valueint : -1,
                  *text ? ": " : "", text) < 0)
        out = NULL;
    free (text);
    return out;
}

/* What to do when a pod ended because its krund could not reach the
 * broker (krund's own words, runtime/transport.c): the pods got
 * kubernetes.worker_amqp_url, else krun's own URL, which a pod often cannot
 * reach (127.0.0.1 through a port-forward).  "" for any other reason. */
static const char *broker_hint (const struct kubernetes *k, const char *why)
{
    if (!why || !strstr (why, "cannot connect to broker"))
        return "";
    /* Short: it follows krund's message in a struct krun_error. */
    return k->cfg->kube_worker_amqp_url
               ? "; the pods cannot reach the broker: check kubernetes.worker_amqp_url"
               : "; the pods cannot reach krun's own broker URL: set "
                 "kubernetes.worker_amqp_url to it as the pods see it";
}

/* Why a pod that is not Running waits, from its status. */
static char *pod_reason (const cJSON *pod)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (pod, "status");
    const cJSON *c;
    char *out = NULL;

    cJSON_ArrayForEach (c,
                        cJSON_GetObjectItemCaseSensitive (status, "containerStatuses"))
    {
        const cJSON *waiting = json_get (c, "state", "waiting");
        const cJSON *term = json_get (c, "state", "terminated");
        if (waiting &&
            asprintf (&out, "%s: %s", kubeapi_string (waiting, "reason") ?: "waiting",
                      kubeapi_string (waiting, "message") ?: "") >= 0)
            return out;
        if (term)
            return terminated_reason (term);
    }
    cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (status, "conditions"))
    {
        const char *cs = kubeapi_string (c, "status");
        if (cs && strcmp (cs, "False") == 0 && kubeapi_string (c, "reason") &&
            asprintf (&out, "%s: %s", kubeapi_string (c, "reason"),
                      kubeapi_string (c, "message") ?: "") >= 0)
            return out;
    }
    if (asprintf (&out, "%s", kubeapi_string (status, "phase") ?: "Pending") < 0)
        return NULL;
    return out;
}

static int count_running (const struct watch_state *w)
{
    int n = 0;
    for (int i = 0; i < w->count; i++)
        n += w->running[i];
    return n;
}

static int on_pod_event (void *arg, const char *type, const cJSON *pod,
                         struct krun_error *errp)
{
    struct watch_state *w = arg;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive (pod, "metadata");
    const char *name = kubeapi_string (meta, "name");
    int i;
    const char *phase =
        kubeapi_string (cJSON_GetObjectItemCaseSensitive (pod, "status"), "phase");
    if (strcmp (type, "ERROR") == 0) {
        errno = EIO;
        return errprintf (errp, "kubernetes API: watch of pods failed: %s",
                          kubeapi_string (pod, "message") ?: "ERROR event");
    }
    if (!name || (i = watch_slot (w, name)) < 0)
        return 0;
    if (strcmp (type, "DELETED") == 0) {
        free (w->names[i]);
        free (w->why[i]);
        w->count--;
        w->names[i] = w->names[w->count];
        w->why[i] = w->why[w->count];
        w->running[i] = w->running[w->count];
        w->ended[i] = w->ended[w->count];
    } else {
        bool deleting = kubeapi_string (meta, "deletionTimestamp") != NULL;
        w->running[i] = !deleting && phase && strcmp (phase, "Running") == 0;
        w->ended[i] =
            !deleting && phase &&
            (strcmp (phase, "Failed") == 0 || strcmp (phase, "Succeeded") == 0);
        free (w->why[i]);
        w->why[i] = w->running[i] ? NULL
                    : deleting    ? strdup ("being deleted")
                                  : pod_reason (pod);
    }
    if (w->down)
        return w->count == 0 ? 1 : 0;
    if (w->count == 0)
        return 0;
    /* Waiting for every pod: one that ended will never run, so say why now
     * (krund's own message, terminated.message) instead of at the timeout. */
    for (int j = 0; w->want < 0 && j < w->count; j++) {
        if (w->ended[j]) {
            errno = ECHILD;
            return errprintf (errp, "worker pod failed: %s (%s)%s", w->names[j],
                              w->why[j] ?: "ended", broker_hint (w->k, w->why[j]));
        }
    }
    int want = w->want < 0 ? w->count : w->want;
    /* Pods being deleted do not count as wanted. */
    int live = 0;
    for (int j = 0; j < w->count; j++)
        live += !(w->why[j] && strcmp (w->why[j], "being deleted") == 0);
    if (w->want < 0)
        want = live;
    return want > 0 && count_running (w) >= want ? 1 : 0;
}

/* Events of a pod, the newest message, for the stuck report. */
static char *pod_events (struct kubernetes *k, const char *name)
{
    char *path = NULL, *selector = NULL, *field = NULL, *out = NULL;
    cJSON *list;
    const cJSON *e;

    if (asprintf (&field, "involvedObject.name=%s", name) < 0 ||
        !(selector = kubeapi_escape (field)) ||
        asprintf (&path, "/api/v1/namespaces/%s/events?fieldSelector=%s", k->namespace,
                  selector) < 0) {
        free (field);
        free (selector);
        return NULL;
    }
    if ((list = kubeapi_request (k->api, "GET", path, NULL, NULL, NULL))) {
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive (list, "items"))
        {
            free (out);
            if (asprintf (&out, "%s: %s", kubeapi_string (e, "reason") ?: "event",
                          kubeapi_string (e, "message") ?: "") < 0)
                out = NULL;
        }
        cJSON_Delete (list);
    }
    free (path);
    free (field);
    free (selector);
    return out;
}

static void watch_state_free (struct watch_state *w)
{
    for (int i = 0; i < w->count; i++) {
        free (w->names[i]);
        free (w->why[i]);
    }
    free (w->names);
    free (w->why);
    free (w->running);
    free (w->ended);
}

static int watch_pods (struct kubernetes *k, struct watch_state *w, int timeout_s,
                       struct krun_error *errp)
{
    int64_t deadline = clock_mono_ms () + (int64_t)timeout_s * 1000;
    char *path;
    int rc = 0;

    if (asprintf (&path,
                  "/api/v1/namespaces/%s/pods?labelSelector=%s&timeoutSeconds=%d",
                  k->namespace, k->selector, timeout_s + 1) < 0)
        return errprintf_errno (errp, "kubernetes provider");
    /* Without a resourceVersion the watch starts with the pods that exist
     * (as ADDED events), so nothing that happened before is missed.  A
     * server may end a watch early: start again until the deadline. */
    while (rc == 0) {
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0)
            break;
        watch_state_free (w);
        w->names = w->why = NULL;
        w->running = w->ended = NULL;
        w->count = 0;
        rc = kubeapi_watch (k->api, path, (int)left, on_pod_event, w, errp);
    }
    free (path);
    return rc;
}

int kubernetes_failed (struct kubernetes *k, char *report, size_t size,
                       struct krun_error *errp)
{
    size_t used = 0;
    int failed = 0;

    if (list_pods (k, errp) < 0)
        return -1;
    if (size > 0)
        report[0] = '\0';
    for (int i = 0; i < k->npods; i++) {
        const struct pool_pod *pod = &k->pods[i];
        if (pod->deleting || strcmp (pod->phase, "Failed") != 0)
            continue;
        failed++;
        if (used < size) {
            used += (size_t)snprintf (
                report + used, size - used, "%s%s (%s)%s", used ? "; " : "", pod->name,
                pod->failure ? pod->failure : "Failed", broker_hint (k, pod->failure));
        }
    }
    return failed;
}

int kubernetes_wait (struct kubernetes *k, int want, int timeout_s,
                     struct krun_error *errp)
{
    struct watch_state w = {.k = k, .want = want};
    int rc = watch_pods (k, &w, timeout_s, errp);
    char report[600] = "";
    size_t used = 0;

    if (rc < 0) {
        watch_state_free (&w);
        return -1;
    }
    int running = count_running (&w);
    if (rc == 1) {
        watch_state_free (&w);
        return running;
    }
    for (int i = 0; i < w.count && used < sizeof (report) - 1; i++) {
        if (w.running[i])
            continue;
        char *events = pod_events (k, w.names[i]);
        used +=
            (size_t)snprintf (report + used, sizeof (report) - used, "%s%s (%s%s%s)",
                              used ? "; " : "", w.names[i], w.why[i] ?: "unknown",
                              events ? "; last event: " : "", events ? events : "");
        if (used >= sizeof (report))
            used = sizeof (report) - 1;
        free (events);
    }
    watch_state_free (&w);
    errno = ETIMEDOUT;
    return errprintf (errp, "%d worker pod%s running after %d s; stuck: %s", running,
                      running == 1 ? "" : "s", timeout_s,
                      *report ? report : "no pod exists");
}

/* Pods being deleted go away one by one: list them, then watch from that
 * list's version for their DELETED events (list-then-watch: nothing that
 * happens between the two is missed). */
static int wait_gone (struct kubernetes *k, int timeout_s, struct krun_error *errp)
{
    int64_t deadline = clock_mono_ms () + (int64_t)timeout_s * 1000;

    for (;;) {
        struct watch_state w = {.k = k, .down = true};
        char *path;
        int rc = 0;
        if (list_pods (k, errp) < 0)
            return -1;
        if (k->npods == 0)
            return 0;
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return errprintf (errp, "%d worker pod%s still there after %d s", k->npods,
                              k->npods == 1 ? "" : "s", timeout_s);
        }
        if (asprintf (&path,
                      "/api/v1/namespaces/%s/pods?labelSelector=%s&resourceVersion=%s"
                      "&timeoutSeconds=%d",
                      k->namespace, k->selector, k->list_version, timeout_s + 1) < 0)
            return errprintf_errno (errp, "kubernetes provider");
        for (int i = 0; i < k->npods && rc >= 0; i++)
            rc = watch_slot (&w, k->pods[i].name);
        if (rc >= 0)
            rc = kubeapi_watch (k->api, path, (int)left, on_pod_event, &w, errp);
        free (path);
        watch_state_free (&w);
        if (rc < 0)
            return -1;
    }
}

int kubernetes_down (struct kubernetes *k, int timeout_s, struct krun_error *errp)
{
    char *path;
    cJSON *reply;
    int n;

    if (asprintf (&path, "/api/v1/namespaces/%s/pods?labelSelector=%s", k->namespace,
                  k->selector) < 0)
        return errprintf_errno (errp, "kubernetes provider");
    reply = kubeapi_request (k->api, "DELETE", path, NULL, NULL, errp);
    free (path);
    if (!reply)
        return -1;
    n = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (reply, "items"));
    cJSON_Delete (reply);
    if (wait_gone (k, timeout_s, errp) < 0)
        return -1;
    return n;
}

static long age_seconds (const char *created)
{
    struct tm tm = {0};

    if (!created || !strptime (created, "%Y-%m-%dT%H:%M:%S", &tm))
        return -1;
    return (long)(time (NULL) - timegm (&tm));
}

int kubernetes_status (struct kubernetes *k, const struct presence *p, FILE *out,
                       struct krun_error *errp)
{
    if (kubernetes_survey (k, errp) < 0)
        return -1;
    fprintf (out, "pool %s in namespace %s (%s)\n", k->pool, k->namespace,
             kubeapi_server (k->api));
    fprintf (out, "%-32s %-16s %-10s %6s %6s %8s %s\n", "POD", "NODE", "PHASE", "SLOTS",
             "BUSY", "AGE", "VERSION");
    for (int i = 0; i < k->npods; i++) {
        const struct pool_pod *pod = &k->pods[i];
        const struct presence_node *n = NULL;
        const char *node = pod->node;
        /* The label holds a shortened name; find the node it stands for. */
        for (int j = 0; j < kubenodes_count (k->nodes); j++) {
            const char *full = kubenodes_node (k->nodes, j)->name;
            char *part = dns_part (full, 20);
            if (part && strcmp (part, pod->node) == 0)
                node = full;
            free (part);
        }
        if (p)
            n = presence_find (p, node);
        char slots[16] = "-", busy[16] = "-";
        if (n) {
            snprintf (slots, sizeof (slots), "%d", n->nslots);
            snprintf (busy, sizeof (busy), "%d", n->busy);
        }
        fprintf (out, "%-32s %-16s %-10s %6s %6s %7lds %s\n", pod->name, node,
                 pod->deleting ? "Deleting" : pod->phase, slots, busy,
                 age_seconds (pod->created), n ? n->version : "-");
    }
    fprintf (out, "%-24s %8s %10s %s\n", "NODE", "CPUS", "ALLOC(m)", "NOTE");
    for (int i = 0; i < kubenodes_count (k->nodes); i++) {
        const struct kubenode *n = kubenodes_node (k->nodes, i);
        fprintf (out, "%-24s %8d %10lld %s\n", n->name, n->cpus,
                 (long long)n->allocatable_milli, n->skipped ? n->skipped : "");
    }
    return 0;
}
