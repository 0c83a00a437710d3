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

#include "base64.h"
#include "clock.h"
#include "kubeapi.h"
#include "kubeconfig.h"
#include "kubenodes.h"
#include "kubernetes.h"
#include "podspec.h"
#include "podwatch.h"
#include "quantity.h"

#define SIGNING_KEY_BYTES 32

struct pool_pod {
    char *name;
    char *node;
    char *phase;
    char *hash;
    char *created;
    char *failure; /* why a Failed pod ended (podwatch_reason()), else NULL */
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

struct kubernetes *kubernetes_create (const struct config *cfg, struct krun_error *errp)
{
    struct kubernetes *k = calloc (1, sizeof (*k));
    char *user = NULL, *selector = NULL;

    if (!k)
        return errprintf_errno (errp, "kubernetes provider"), NULL;
    k->cfg = cfg;
    if (!(k->kubeconfig =
              kubeconfig_load (cfg->kube_kubeconfig, cfg->kube_context, errp)))
        goto error;
    if (!(k->api = kubeapi_create (k->kubeconfig, cfg->kube_api_timeout_ms, errp)))
        goto error;
    if (!(user = cfg->kube_pool ? strdup (cfg->kube_pool) : user_name ()) ||
        !(k->pool = dns_part (user, 40)) ||
        !(k->namespace =
              strdup (cfg->kube_namespace ? cfg->kube_namespace
                                          : kubeconfig_namespace (k->kubeconfig))) ||
        asprintf (&k->pool_label, "%s=%s", PODSPEC_LABEL_POOL, k->pool) < 0 ||
        asprintf (&selector, "%s=%s,%s", PODSPEC_LABEL_NAME, PODSPEC_LABEL_NAME_VALUE,
                  k->pool_label) < 0 ||
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
            cJSON_GetObjectItemCaseSensitive (meta, "labels"), PODSPEC_LABEL_NODE));
        p->phase = dup_or_empty (kubeapi_string (
            cJSON_GetObjectItemCaseSensitive (item, "status"), "phase"));
        p->hash = dup_or_empty (
            kubeapi_string (cJSON_GetObjectItemCaseSensitive (meta, "annotations"),
                            PODSPEC_ANNOTATION_HASH));
        p->created = dup_or_empty (kubeapi_string (meta, "creationTimestamp"));
        p->deleting = kubeapi_string (meta, "deletionTimestamp") != NULL;
        if (strcmp (p->phase, "Failed") == 0)
            p->failure = podwatch_reason (item);
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
    if (!(url_b64 = base64_encode (worker_url, strlen (worker_url))) ||
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
    if (!labels ||
        !cJSON_AddStringToObject (labels, PODSPEC_LABEL_NAME,
                                  PODSPEC_LABEL_NAME_VALUE) ||
        !cJSON_AddStringToObject (labels, PODSPEC_LABEL_POOL, k->pool))
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
    char *node_label = dns_part (node->name, 20);
    struct podspec spec = {
        .cfg = k->cfg,
        .pool = k->pool,
        .secret = k->secret,
        .node = node->name,
        .node_label = node_label,
        .cpus = node->cpus,
        .hash = hash,
    };
    cJSON *pod = node_label ? podspec_build (&spec) : NULL, *reply = NULL;
    char *path = NULL;

    free (node_label);
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

/* What to do when a pod ended because its krund could not reach the
 * broker (krund's own words, runtime/lib/transport.c): the pods got
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
    struct podwatch_pods pods = {k->api, k->namespace, k->selector};
    int rc = podwatch_running (&pods, want, timeout_s, errp);

    if (rc < 0 && errp) {
        int saved = errno;
        const char *hint = broker_hint (k, errp->text);
        size_t len = strlen (errp->text);
        snprintf (errp->text + len, sizeof (errp->text) - len, "%s", hint);
        errno = saved;
    }
    return rc;
}

/* Pods being deleted go away one by one: list them, then watch from that
 * list's version for their DELETED events (list-then-watch: nothing that
 * happens between the two is missed). */
static int wait_gone (struct kubernetes *k, int timeout_s, struct krun_error *errp)
{
    struct podwatch_pods pods = {k->api, k->namespace, k->selector};
    int64_t deadline = clock_mono_ms () + (int64_t)timeout_s * 1000;

    for (;;) {
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
        char **names = calloc (k->npods, sizeof (*names));
        if (!names)
            return errprintf_errno (errp, "kubernetes provider");
        for (int i = 0; i < k->npods; i++)
            names[i] = k->pods[i].name;
        int rc = podwatch_gone (&pods, k->list_version, (const char *const *)names,
                                k->npods, left, timeout_s, errp);
        free (names);
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
