/* kubenodes.c - see kubenodes.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubenodes.h"
#include "quantity.h"

struct kubenodes {
    struct kubenode *nodes;
    int count;
};

static const cJSON *json_path (const cJSON *obj, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (obj, a),
                                             b);
}

void kubenodes_destroy (struct kubenodes *n)
{
    int saved_errno = errno;

    if (n) {
        for (int i = 0; i < n->count; i++)
            free (n->nodes[i].name);
        free (n->nodes);
        free (n);
    }
    errno = saved_errno;
}

static bool toleration_matches (const struct config_toleration *t, const char *key,
                                const char *value, const char *effect)
{
    bool exists = t->operator&& strcmp (t->operator, "Exists") == 0;

    if (t->effect && strcmp (t->effect, effect) != 0)
        return false;
    if (!t->key) /* an empty key with Exists tolerates everything */
        return exists;
    if (strcmp (t->key, key) != 0)
        return false;
    return exists || strcmp (t->value ? t->value : "", value ? value : "") == 0;
}

bool kubenodes_tolerated (const cJSON *taints, const struct config_toleration *t,
                          int nt)
{
    const cJSON *taint;

    cJSON_ArrayForEach (taint, taints)
    {
        const char *key = kubeapi_string (taint, "key");
        const char *effect = kubeapi_string (taint, "effect");
        bool tolerated = false;
        if (!key || !effect ||
            (strcmp (effect, "NoSchedule") != 0 && strcmp (effect, "NoExecute") != 0))
            continue; /* PreferNoSchedule only steers the scheduler */
        for (int i = 0; i < nt && !tolerated; i++)
            tolerated = toleration_matches (&t[i], key, kubeapi_string (taint, "value"),
                                            effect);
        if (!tolerated)
            return false;
    }
    return true;
}

static bool node_ready (const cJSON *node)
{
    const cJSON *c;

    cJSON_ArrayForEach (c, json_path (node, "status", "conditions"))
    {
        const char *type = kubeapi_string (c, "type");
        if (type && strcmp (type, "Ready") == 0)
            return strcmp (
                       kubeapi_string (c, "status") ? kubeapi_string (c, "status") : "",
                       "True") == 0;
    }
    return true; /* no conditions reported: let the scheduler decide */
}

/* The CPU a pod requests: its containers' requests added up, or its
 * largest init container's if that is more (they run one at a time). */
static int64_t pod_cpu_request (const cJSON *pod)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive (pod, "spec");
    const cJSON *c;
    int64_t sum = 0, init_max = 0, v;

    cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (spec, "containers"))
    {
        const char *q = kubeapi_string (json_path (c, "resources", "requests"), "cpu");
        if (q && quantity_parse_milli (q, &v) == 0)
            sum += v;
    }
    cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (spec, "initContainers"))
    {
        const char *q = kubeapi_string (json_path (c, "resources", "requests"), "cpu");
        if (q && quantity_parse_milli (q, &v) == 0 && v > init_max)
            init_max = v;
    }
    return sum > init_max ? sum : init_max;
}

static bool is_pool_pod (const cJSON *pod, const char *pool_label)
{
    const char *eq = pool_label ? strchr (pool_label, '=') : NULL;
    const cJSON *labels = json_path (pod, "metadata", "labels");
    const char *v;
    char key[128];

    if (!eq || (size_t)(eq - pool_label) >= sizeof (key))
        return false;
    snprintf (key, sizeof (key), "%.*s", (int)(eq - pool_label), pool_label);
    return (v = kubeapi_string (labels, key)) && strcmp (v, eq + 1) == 0;
}

static int compare_nodes (const void *a, const void *b)
{
    return strverscmp (((const struct kubenode *)a)->name,
                       ((const struct kubenode *)b)->name);
}

static int add_node (struct kubenodes *n, const cJSON *node,
                     const struct kubenodes_options *o, struct krun_error *errp)
{
    const char *name =
        kubeapi_string (cJSON_GetObjectItemCaseSensitive (node, "metadata"), "name");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive (node, "spec");
    const char *cpu = kubeapi_string (json_path (node, "status", "allocatable"), "cpu");
    struct kubenode *k = &n->nodes[n->count];

    if (!name)
        return 0;
    memset (k, 0, sizeof (*k));
    if (!(k->name = strdup (name)))
        return errprintf_errno (errp, "cluster map");
    n->count++;
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (spec, "unschedulable")))
        k->skipped = "unschedulable (cordoned)";
    else if (!kubenodes_tolerated (cJSON_GetObjectItemCaseSensitive (spec, "taints"),
                                   o->tolerations, o->ntolerations))
        k->skipped = "tainted (NoSchedule/NoExecute not tolerated)";
    else if (!node_ready (node))
        k->skipped = "not Ready";
    else if (!cpu || quantity_parse_milli (cpu, &k->allocatable_milli) < 0)
        k->skipped = "no allocatable cpu";
    return 0;
}

struct kubenodes *kubenodes_query (struct kubeapi *api,
                                   const struct kubenodes_options *o,
                                   struct krun_error *errp)
{
    struct kubenodes *n = calloc (1, sizeof (*n));
    cJSON *nodes = NULL, *pods = NULL;
    const cJSON *item;
    char *path = NULL, *selector = NULL;

    if (!n)
        return errprintf_errno (errp, "cluster map"), NULL;
    if (o->node_selector && *o->node_selector) {
        if (!(selector = kubeapi_escape (o->node_selector)) ||
            asprintf (&path, "/api/v1/nodes?labelSelector=%s", selector) < 0) {
            path = NULL;
            errprintf_errno (errp, "cluster map");
            goto error;
        }
    }
    if (!(nodes = kubeapi_request (api, "GET", path ? path : "/api/v1/nodes", NULL,
                                   NULL, errp)))
        goto error;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (nodes, "items");
    if (!(n->nodes = calloc (cJSON_GetArraySize (items) + 1, sizeof (*n->nodes))))
        goto nomem;
    cJSON_ArrayForEach (item, items)
    {
        if (add_node (n, item, o, errp) < 0)
            goto error;
    }
    /* One list of every pod that holds a place on a node, not one per node. */
    if (!(pods =
              kubeapi_request (api, "GET",
                               "/api/v1/pods?fieldSelector="
                               "status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed",
                               NULL, NULL, errp)))
        goto error;
    cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive (pods, "items"))
    {
        const char *node = kubeapi_string (
            cJSON_GetObjectItemCaseSensitive (item, "spec"), "nodeName");
        if (!node || is_pool_pod (item, o->pool_label))
            continue;
        for (int i = 0; i < n->count; i++)
            if (strcmp (n->nodes[i].name, node) == 0)
                n->nodes[i].requested_milli += pod_cpu_request (item);
    }
    for (int i = 0; i < n->count; i++) {
        struct kubenode *k = &n->nodes[i];
        int64_t free_milli =
            k->allocatable_milli - k->requested_milli - o->reserve_milli;
        if (k->skipped)
            continue;
        if (free_milli < 1000)
            k->skipped = "full (less than one free CPU)";
        else
            k->cpus = (int)(free_milli / 1000 > 65536 ? 65536 : free_milli / 1000);
    }
    qsort (n->nodes, n->count, sizeof (*n->nodes), compare_nodes);
    cJSON_Delete (nodes);
    cJSON_Delete (pods);
    free (path);
    free (selector);
    return n;
nomem:
    errprintf_errno (errp, "cluster map");
error:
    cJSON_Delete (nodes);
    cJSON_Delete (pods);
    free (path);
    free (selector);
    kubenodes_destroy (n);
    return NULL;
}

int kubenodes_count (const struct kubenodes *n)
{
    return n->count;
}

const struct kubenode *kubenodes_node (const struct kubenodes *n, int i)
{
    return i >= 0 && i < n->count ? &n->nodes[i] : NULL;
}

const struct kubenode *kubenodes_find (const struct kubenodes *n, const char *name)
{
    for (int i = 0; i < n->count; i++)
        if (strcmp (n->nodes[i].name, name) == 0)
            return &n->nodes[i];
    return NULL;
}

struct cpumap *kubenodes_cpumap (const struct kubenodes *n, struct krun_error *errp)
{
    struct cpumap *m = cpumap_create ();

    if (!m)
        return errprintf_errno (errp, "cluster map"), NULL;
    for (int i = 0; i < n->count; i++) {
        if (n->nodes[i].cpus > 0 &&
            cpumap_add_node (m, n->nodes[i].name, n->nodes[i].cpus, NULL, errp) < 0) {
            cpumap_destroy (m);
            return NULL;
        }
    }
    return m;
}
