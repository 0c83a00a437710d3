/* config.c - see config.h.
 *
 * The file is loaded as a YAML document (yamlfile.c, which bounds its
 * nesting) and walked with a table of keys per
 * mapping, so a new key is one line in a table.  Values are parsed into a
 * scratch config that replaces the caller's only when the whole file is good.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "parseint.h"
#include "kubernetes/quantity.h"
#include "userdir.h"
#include "yamlfile.h"

enum value_kind {
    VALUE_STRING,
    VALUE_PATH,
    VALUE_INT,
    VALUE_BOOL,
    VALUE_CHOICE,
    VALUE_QUANTITY
};

struct key {
    const char *name;
    enum value_kind kind;
    size_t offset;          /* in struct config */
    long min, max;          /* for VALUE_INT */
    const char *choices[5]; /* at most 4, NULL after the last */
};

#define FIELD(f) offsetof (struct config, f)

#define STRING_KEY(n, f)                                     \
    {                                                        \
        .name = n, .kind = VALUE_STRING, .offset = FIELD (f) \
    }
#define PATH_KEY(n, f)                                     \
    {                                                      \
        .name = n, .kind = VALUE_PATH, .offset = FIELD (f) \
    }
#define BOOL_KEY(n, f)                                     \
    {                                                      \
        .name = n, .kind = VALUE_BOOL, .offset = FIELD (f) \
    }
#define INT_KEY(n, f, lo, hi)                                                   \
    {                                                                           \
        .name = n, .kind = VALUE_INT, .offset = FIELD (f), .min = lo, .max = hi \
    }
#define QUANTITY_KEY(n, f)                                     \
    {                                                          \
        .name = n, .kind = VALUE_QUANTITY, .offset = FIELD (f) \
    }
#define CHOICE_KEY(n, f, ...)                                              \
    {                                                                      \
        .name = n, .kind = VALUE_CHOICE, .offset = FIELD (f), .choices = { \
            __VA_ARGS__                                                    \
        }                                                                  \
    }

static const struct key top_keys[] = {
    STRING_KEY ("amqp_url", amqp_url),
    PATH_KEY ("amqp_cacert", amqp_cacert),
    CHOICE_KEY ("provider", provider, "local", "kubernetes", "ssh", "slurm"),
    CHOICE_KEY ("map_by", map_by, "slot", "node"),
    INT_KEY ("idle_timeout", idle_timeout, 1, INT_MAX),
    INT_KEY ("presence_timeout_ms", presence_timeout_ms, 1, INT_MAX),
    INT_KEY ("join_timeout_ms", join_timeout_ms, 1, INT_MAX),
    INT_KEY ("stall_timeout_ms", stall_timeout_ms, 1, INT_MAX),
    INT_KEY ("start_timeout", start_timeout, 1, INT_MAX),
    INT_KEY ("delivery_limit", delivery_limit, 1, INT_MAX),
    BOOL_KEY ("durable_queues", durable_queues),
    PATH_KEY ("state_dir", state_dir),
    {.name = NULL},
};

static const struct key local_keys[] = {
    BOOL_KEY ("broker", local_broker),
    INT_KEY ("broker_port", local_broker_port, 1, 65535),
    INT_KEY ("slots", local_slots, 0, INT_MAX),
    STRING_KEY ("pool", local_pool),
    {.name = NULL},
};

static const struct key ssh_keys[] = {
    STRING_KEY ("hosts", ssh_hosts),
    PATH_KEY ("hostfile", ssh_hostfile),
    STRING_KEY ("ssh_command", ssh_command),
    STRING_KEY ("krund", ssh_krund),
    INT_KEY ("connect_timeout", ssh_connect_timeout, 1, 3600),
    BOOL_KEY ("require_all_hosts", ssh_require_all_hosts),
    {.name = NULL},
};

static const struct key slurm_keys[] = {
    STRING_KEY ("krund", slurm_krund),
    STRING_KEY ("srun", slurm_srun),
    {.name = NULL},
};

static const struct key kubernetes_keys[] = {
    PATH_KEY ("kubeconfig", kube_kubeconfig),
    STRING_KEY ("context", kube_context),
    STRING_KEY ("namespace", kube_namespace),
    STRING_KEY ("image", kube_image),
    STRING_KEY ("image_pull_policy", kube_image_pull_policy),
    STRING_KEY ("pool", kube_pool),
    STRING_KEY ("secret", kube_secret),
    STRING_KEY ("node_selector", kube_node_selector),
    QUANTITY_KEY ("reserve_cpu", kube_reserve_cpu),
    QUANTITY_KEY ("memory", kube_memory),
    STRING_KEY ("krund", kube_krund),
    PATH_KEY ("workdir", kube_workdir),
    STRING_KEY ("worker_amqp_url", kube_worker_amqp_url),
    PATH_KEY ("signing_key_file", kube_signing_key_file),
    BOOL_KEY ("stage", kube_stage),
    INT_KEY ("api_timeout_ms", kube_api_timeout_ms, 1, INT_MAX),
    INT_KEY ("pod_timeout", kube_pod_timeout, 1, INT_MAX),
    {.name = NULL},
};

/* Every string field, to copy and free them in one place. */
static const size_t string_fields[] = {
    FIELD (amqp_url),
    FIELD (amqp_cacert),
    FIELD (provider),
    FIELD (map_by),
    FIELD (state_dir),
    FIELD (source),
    FIELD (kube_kubeconfig),
    FIELD (kube_context),
    FIELD (kube_namespace),
    FIELD (kube_image),
    FIELD (kube_image_pull_policy),
    FIELD (kube_pool),
    FIELD (local_pool),
    FIELD (kube_secret),
    FIELD (kube_node_selector),
    FIELD (kube_reserve_cpu),
    FIELD (kube_memory),
    FIELD (kube_krund),
    FIELD (kube_workdir),
    FIELD (kube_worker_amqp_url),
    FIELD (kube_signing_key_file),
    FIELD (ssh_hosts),
    FIELD (ssh_hostfile),
    FIELD (ssh_command),
    FIELD (ssh_krund),
    FIELD (slurm_krund),
    FIELD (slurm_srun),
};

#define STRING_FIELD(c, offset) (*(char **)((char *)(c) + (offset)))
/* The same of a config only read. */
#define CONST_STRING_FIELD(c, offset) (*(char *const *)((const char *)(c) + (offset)))

struct loader {
    struct yamlfile *file;
    const char *path;
    struct krun_error *errp;
};

static int load_error (struct loader *l, const struct yamlnode *node, const char *key,
                       const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
static int load_error (struct loader *l, const struct yamlnode *node, const char *key,
                       const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (what, sizeof (what), fmt, ap);
    va_end (ap);
    errno = EINVAL;
    return errprintf (l->errp, "%s:%d: key '%s': %s", l->path, yamlnode_line (node),
                      key, what);
}

static char *expand_home (const char *s)
{
    const char *home = getenv ("HOME");
    char *out;

    if (strncmp (s, "~/", 2) == 0 && home) {
        if (asprintf (&out, "%s/%s", home, s + 2) < 0)
            return NULL;
        return out;
    }
    return strdup (s);
}

static int set_value (struct loader *l, struct config *c, const struct key *k,
                      const char *keypath, const struct yamlnode *value)
{
    const char *s = yamlnode_scalar (value);
    char *copy;

    if (!s)
        return load_error (l, value, keypath, "expected a scalar, got %s",
                           yamlnode_kind_name (value));
    switch (k->kind) {
        case VALUE_INT: {
            int *field = (int *)((char *)c + k->offset);
            if (parseint_int (s, k->min, k->max, field) == 0)
                return 0;
            if (k->max == INT_MAX)
                return load_error (l, value, keypath,
                                   "expected an integer >= %ld, got '%s'", k->min, s);
            return load_error (l, value, keypath,
                               "expected an integer in %ld..%ld, got '%s'", k->min,
                               k->max, s);
        }
        case VALUE_BOOL: {
            bool *field = (bool *)((char *)c + k->offset);
            if (!strcmp (s, "true") || !strcmp (s, "yes") || !strcmp (s, "on"))
                *field = true;
            else if (!strcmp (s, "false") || !strcmp (s, "no") || !strcmp (s, "off"))
                *field = false;
            else
                return load_error (l, value, keypath,
                                   "expected true or false, got '%s'", s);
            return 0;
        }
        case VALUE_CHOICE: {
            char expected[128] = "";
            bool found = false;
            int n = 0;
            while (n < 4 && k->choices[n])
                n++;
            for (int i = 0; i < n; i++) {
                found |= strcmp (s, k->choices[i]) == 0;
                snprintf (expected + strlen (expected),
                          sizeof (expected) - strlen (expected), "%s%s",
                          i == 0       ? ""
                          : i == n - 1 ? " or "
                                       : ", ",
                          k->choices[i]);
            }
            if (!found)
                return load_error (l, value, keypath, "expected %s, got '%s'", expected,
                                   s);
            break;
        }
        case VALUE_QUANTITY: {
            int64_t v;
            if (quantity_parse_milli (s, &v) < 0)
                return load_error (l, value, keypath,
                                   "expected a quantity such as 2, 500m, 4Gi, got '%s'",
                                   s);
            break;
        }
        default:
            if (!*s)
                return load_error (l, value, keypath, "expected a non-empty string");
            break;
    }
    copy = k->kind == VALUE_PATH ? expand_home (s) : strdup (s);
    if (!copy)
        return errprintf_errno (l->errp, "%s", l->path);
    char **field = (char **)((char *)c + k->offset);
    free (*field);
    *field = copy;
    return 0;
}

static bool valid_node_name (const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
              ('0' <= *s && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

static int load_node_entry (struct loader *l, struct config *c, int index,
                            const struct yamlnode *entry)
{
    struct config_local_node *n = &c->local_nodes[index];
    char keypath[96];
    bool have_slots = false;

    snprintf (keypath, sizeof (keypath), "local.nodes[%d]", index);
    if (yamlnode_kind (entry) != YAMLNODE_MAPPING)
        return load_error (l, entry, keypath, "expected a mapping, got %s",
                           yamlnode_kind_name (entry));
    for (int pair = 0; pair < yamlnode_count (entry); pair++) {
        const struct yamlnode *kn = yamlfile_key (l->file, entry, pair);
        const struct yamlnode *vn = yamlfile_value (l->file, entry, pair);
        const char *key = yamlnode_scalar (kn);
        const char *v = yamlnode_scalar (vn);
        snprintf (keypath, sizeof (keypath), "local.nodes[%d].%s", index,
                  key ? key : "?");
        if (!key)
            return load_error (l, kn, keypath, "keys must be scalars");
        if (!v)
            return load_error (l, vn, keypath, "expected a scalar, got %s",
                               yamlnode_kind_name (vn));
        if (strcmp (key, "name") == 0) {
            if (n->name)
                return load_error (l, kn, keypath, "given twice");
            if (!valid_node_name (v))
                return load_error (
                    l, vn, keypath,
                    "expected a name of letters, digits, '.', '_', '-', got "
                    "'%s'",
                    v);
            if (!(n->name = strdup (v)))
                return errprintf_errno (l->errp, "%s", l->path);
        } else if (strcmp (key, "slots") == 0) {
            if (parseint_int (v, 1, INT_MAX, &n->slots) < 0)
                return load_error (l, vn, keypath, "expected an integer >= 1, got '%s'",
                                   v);
            have_slots = true;
        } else if (strcmp (key, "topology") == 0) {
            free (n->topology);
            if (!(n->topology = strdup (v)))
                return errprintf_errno (l->errp, "%s", l->path);
        } else
            return load_error (l, kn, keypath, "unknown key");
    }
    snprintf (keypath, sizeof (keypath), "local.nodes[%d]", index);
    if (!n->name)
        return load_error (l, entry, keypath, "a node needs a 'name'");
    if (!have_slots)
        return load_error (l, entry, keypath, "a node needs 'slots'");
    return 0;
}

static int load_nodes (struct loader *l, struct config *c, const struct yamlnode *seq)
{
    int n;

    if (yamlnode_kind (seq) != YAMLNODE_SEQUENCE)
        return load_error (l, seq, "local.nodes", "expected a sequence, got %s",
                           yamlnode_kind_name (seq));
    n = yamlnode_count (seq);
    if (n == 0)
        return load_error (l, seq, "local.nodes", "expected at least one node");
    if (!(c->local_nodes = calloc (n, sizeof (*c->local_nodes))))
        return errprintf_errno (l->errp, "%s", l->path);
    c->local_nnodes = n;
    /* The names seen so far, in a hash table: comparing each name with
     * every earlier one made a long list load in quadratic time. */
    struct hsearch_data names = {0};
    if (!hcreate_r ((size_t)n * 2, &names))
        return errprintf_errno (l->errp, "%s", l->path);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct yamlnode *entry = yamlfile_item (l->file, seq, i);
        ENTRY item, *found;
        if ((rc = load_node_entry (l, c, i, entry)) < 0)
            break;
        item.key = c->local_nodes[i].name;
        item.data = NULL;
        /* ENTER finds an earlier entry of the same name, or adds this one. */
        if (!hsearch_r (item, ENTER, &found, &names))
            rc = errprintf_errno (l->errp, "%s", l->path);
        else if (found->key != item.key) {
            char keypath[32];
            snprintf (keypath, sizeof (keypath), "local.nodes[%d]", i);
            rc = load_error (l, entry, keypath, "node name '%s' used twice", item.key);
        }
    }
    hdestroy_r (&names);
    return rc;
}

static void free_pull_secrets (struct config *c)
{
    for (int i = 0; i < c->kube_nimage_pull_secrets; i++)
        free (c->kube_image_pull_secrets[i]);
    free (c->kube_image_pull_secrets);
    c->kube_image_pull_secrets = NULL;
    c->kube_nimage_pull_secrets = 0;
}

static void free_tolerations (struct config *c)
{
    for (int i = 0; i < c->kube_ntolerations; i++) {
        free (c->kube_tolerations[i].key);
        free (c->kube_tolerations[i].operator);
        free (c->kube_tolerations[i].value);
        free (c->kube_tolerations[i].effect);
    }
    free (c->kube_tolerations);
    c->kube_tolerations = NULL;
    c->kube_ntolerations = 0;
}

static int load_pull_secrets (struct loader *l, struct config *c,
                              const struct yamlnode *seq)
{
    const char *keypath = "kubernetes.image_pull_secrets";
    int n;

    if (yamlnode_kind (seq) != YAMLNODE_SEQUENCE)
        return load_error (l, seq, keypath, "expected a sequence of names, got %s",
                           yamlnode_kind_name (seq));
    n = yamlnode_count (seq);
    free_pull_secrets (c);
    if (!(c->kube_image_pull_secrets = calloc (n + 1, sizeof (char *))))
        return errprintf_errno (l->errp, "%s", l->path);
    for (int i = 0; i < n; i++) {
        const struct yamlnode *item = yamlfile_item (l->file, seq, i);
        const char *v = yamlnode_scalar (item);
        if (!v || !*v)
            return load_error (l, item, keypath, "expected a secret name, got %s",
                               yamlnode_kind_name (item));
        if (!(c->kube_image_pull_secrets[i] = strdup (v)))
            return errprintf_errno (l->errp, "%s", l->path);
        c->kube_nimage_pull_secrets = i + 1;
    }
    return 0;
}

static int load_toleration (struct loader *l, struct config_toleration *t, int index,
                            const struct yamlnode *entry)
{
    static const char *const names[] = {"key", "operator", "value", "effect"};
    char keypath[96];

    snprintf (keypath, sizeof (keypath), "kubernetes.tolerations[%d]", index);
    if (yamlnode_kind (entry) != YAMLNODE_MAPPING)
        return load_error (l, entry, keypath, "expected a mapping, got %s",
                           yamlnode_kind_name (entry));
    for (int pair = 0; pair < yamlnode_count (entry); pair++) {
        const struct yamlnode *kn = yamlfile_key (l->file, entry, pair);
        const struct yamlnode *vn = yamlfile_value (l->file, entry, pair);
        const char *key = yamlnode_scalar (kn), *v = yamlnode_scalar (vn);
        char **fields[] = {&t->key, &t->operator, & t->value, &t->effect};
        int which = -1;
        snprintf (keypath, sizeof (keypath), "kubernetes.tolerations[%d].%s", index,
                  key ? key : "?");
        for (int i = 0; key && i < 4; i++)
            if (strcmp (key, names[i]) == 0)
                which = i;
        if (which < 0)
            return load_error (l, kn, keypath, "unknown key");
        if (!v)
            return load_error (l, vn, keypath, "expected a scalar, got %s",
                               yamlnode_kind_name (vn));
        if (which == 1 && strcmp (v, "Equal") != 0 && strcmp (v, "Exists") != 0)
            return load_error (l, vn, keypath, "expected Equal or Exists, got '%s'", v);
        if (which == 3 && strcmp (v, "NoSchedule") != 0 &&
            strcmp (v, "PreferNoSchedule") != 0 && strcmp (v, "NoExecute") != 0)
            return load_error (
                l, vn, keypath,
                "expected NoSchedule, PreferNoSchedule or NoExecute, got '%s'", v);
        free (*fields[which]);
        if (!(*fields[which] = strdup (v)))
            return errprintf_errno (l->errp, "%s", l->path);
    }
    return 0;
}

static int load_tolerations (struct loader *l, struct config *c,
                             const struct yamlnode *seq)
{
    int n;

    if (yamlnode_kind (seq) != YAMLNODE_SEQUENCE)
        return load_error (l, seq, "kubernetes.tolerations",
                           "expected a sequence, got %s", yamlnode_kind_name (seq));
    n = yamlnode_count (seq);
    free_tolerations (c);
    if (!(c->kube_tolerations = calloc (n + 1, sizeof (*c->kube_tolerations))))
        return errprintf_errno (l->errp, "%s", l->path);
    c->kube_ntolerations = n;
    for (int i = 0; i < n; i++) {
        const struct yamlnode *entry = yamlfile_item (l->file, seq, i);
        if (load_toleration (l, &c->kube_tolerations[i], i, entry) < 0)
            return -1;
    }
    return 0;
}

/* Walk a mapping with table keys; "local" and "nodes" are sections. */
static int load_mapping (struct loader *l, struct config *c, const struct yamlnode *map,
                         const struct key *keys, const char *prefix)
{
    if (yamlnode_kind (map) != YAMLNODE_MAPPING)
        return load_error (l, map, *prefix ? prefix : "(top level)",
                           "expected a mapping, got %s", yamlnode_kind_name (map));
    for (int pair = 0; pair < yamlnode_count (map); pair++) {
        const struct yamlnode *kn = yamlfile_key (l->file, map, pair);
        const struct yamlnode *vn = yamlfile_value (l->file, map, pair);
        const char *key = yamlnode_scalar (kn);
        char keypath[128];
        const struct key *k;

        snprintf (keypath, sizeof (keypath), "%s%s", prefix, key ? key : "?");
        if (!key)
            return load_error (l, kn, keypath, "keys must be scalars");
        for (int other = 0; other < pair; other++) {
            const char *earlier = yamlnode_scalar (yamlfile_key (l->file, map, other));
            if (earlier && strcmp (earlier, key) == 0)
                return load_error (l, kn, keypath, "given twice");
        }
        if (keys == top_keys && strcmp (key, "local") == 0) {
            if (load_mapping (l, c, vn, local_keys, "local.") < 0)
                return -1;
            continue;
        }
        if (keys == top_keys &&
            (strcmp (key, "ssh") == 0 || strcmp (key, "slurm") == 0)) {
            bool ssh = strcmp (key, "ssh") == 0;
            if (load_mapping (l, c, vn, ssh ? ssh_keys : slurm_keys,
                              ssh ? "ssh." : "slurm.") < 0)
                return -1;
            continue;
        }
        if (keys == top_keys && strcmp (key, "kubernetes") == 0) {
            if (load_mapping (l, c, vn, kubernetes_keys, "kubernetes.") < 0)
                return -1;
            continue;
        }
        if (keys == kubernetes_keys && strcmp (key, "image_pull_secrets") == 0) {
            if (load_pull_secrets (l, c, vn) < 0)
                return -1;
            continue;
        }
        if (keys == kubernetes_keys && strcmp (key, "tolerations") == 0) {
            if (load_tolerations (l, c, vn) < 0)
                return -1;
            continue;
        }
        if (keys == local_keys && strcmp (key, "nodes") == 0) {
            if (load_nodes (l, c, vn) < 0)
                return -1;
            continue;
        }
        for (k = keys; k->name; k++)
            if (strcmp (k->name, key) == 0)
                break;
        if (!k->name)
            return load_error (l, kn, keypath, "unknown key");
        if (set_value (l, c, k, keypath, vn) < 0)
            return -1;
        if (keys == top_keys && strcmp (key, "provider") == 0)
            c->provider_configured = true;
    }
    return 0;
}

struct config *config_create (void)
{
    struct config *c = calloc (1, sizeof (*c));

    if (!c)
        return NULL;
    c->provider = strdup ("local");
    c->map_by = strdup ("slot");
    c->kube_image = strdup ("krun-worker:latest");
    c->kube_reserve_cpu = strdup ("0");
    c->kube_memory = strdup ("2Gi");
    c->kube_krund = strdup ("krund");
    c->kube_workdir = strdup ("/work");
    c->ssh_command = strdup ("ssh");
    c->ssh_krund = strdup ("krund");
    c->slurm_krund = strdup ("krund");
    c->slurm_srun = strdup ("srun");
    if (!c->provider || !c->map_by || !c->kube_image || !c->kube_reserve_cpu ||
        !c->kube_memory || !c->kube_krund || !c->kube_workdir || !c->ssh_command ||
        !c->ssh_krund || !c->slurm_krund || !c->slurm_srun) {
        config_destroy (c);
        return NULL;
    }
    c->idle_timeout = 600;
    c->presence_timeout_ms = 2000;
    c->join_timeout_ms = 5000;
    c->stall_timeout_ms = 30000;
    c->start_timeout = 60;
    c->delivery_limit = 5;
    c->local_broker = true;
    c->local_broker_port = CONFIG_DEFAULT_BROKER_PORT;
    c->kube_stage = true;
    c->kube_api_timeout_ms = 30000;
    c->kube_pod_timeout = 300;
    c->ssh_connect_timeout = 10;
    return c;
}

static void config_free_fields (struct config *c)
{
    for (size_t i = 0; i < sizeof (string_fields) / sizeof (string_fields[0]); i++)
        free (STRING_FIELD (c, string_fields[i]));
    free_pull_secrets (c);
    free_tolerations (c);
    for (int i = 0; i < c->local_nnodes; i++) {
        free (c->local_nodes[i].name);
        free (c->local_nodes[i].topology);
    }
    free (c->local_nodes);
}

void config_destroy (struct config *c)
{
    int saved_errno = errno;
    if (c) {
        config_free_fields (c);
        free (c);
    }
    errno = saved_errno;
}

/* A deep copy of c's strings, so the scratch config can be thrown away. */
static int config_copy (struct config *dst, const struct config *src)
{
    *dst = *src;
    for (size_t i = 0; i < sizeof (string_fields) / sizeof (string_fields[0]); i++) {
        const char *s = CONST_STRING_FIELD (src, string_fields[i]);
        STRING_FIELD (dst, string_fields[i]) = s ? strdup (s) : NULL;
    }
    dst->kube_image_pull_secrets = NULL;
    dst->kube_nimage_pull_secrets = 0;
    dst->kube_tolerations = NULL;
    dst->kube_ntolerations = 0;
    if (src->kube_nimage_pull_secrets) {
        if (!(dst->kube_image_pull_secrets =
                  calloc (src->kube_nimage_pull_secrets, sizeof (char *))))
            return -1;
        dst->kube_nimage_pull_secrets = src->kube_nimage_pull_secrets;
        for (int i = 0; i < src->kube_nimage_pull_secrets; i++)
            dst->kube_image_pull_secrets[i] = strdup (src->kube_image_pull_secrets[i]);
    }
    if (src->kube_ntolerations) {
        if (!(dst->kube_tolerations =
                  calloc (src->kube_ntolerations, sizeof (*dst->kube_tolerations))))
            return -1;
        dst->kube_ntolerations = src->kube_ntolerations;
        for (int i = 0; i < src->kube_ntolerations; i++) {
            const struct config_toleration *t = &src->kube_tolerations[i];
            struct config_toleration *d = &dst->kube_tolerations[i];
            d->key = t->key ? strdup (t->key) : NULL;
            d->operator= t->operator? strdup (t->operator) : NULL;
            d->value = t->value ? strdup (t->value) : NULL;
            d->effect = t->effect ? strdup (t->effect) : NULL;
        }
    }
    dst->local_nodes = NULL;
    dst->local_nnodes = 0;
    if (src->local_nnodes) {
        if (!(dst->local_nodes =
                  calloc (src->local_nnodes, sizeof (*dst->local_nodes))))
            return -1;
        dst->local_nnodes = src->local_nnodes;
        for (int i = 0; i < src->local_nnodes; i++) {
            dst->local_nodes[i].name = strdup (src->local_nodes[i].name);
            dst->local_nodes[i].slots = src->local_nodes[i].slots;
            dst->local_nodes[i].topology = src->local_nodes[i].topology
                                               ? strdup (src->local_nodes[i].topology)
                                               : NULL;
        }
    }
    return dst->provider && dst->map_by ? 0 : -1;
}

int config_load_file (struct config *c, const char *path, struct krun_error *errp)
{
    struct loader l = {.path = path, .errp = errp};
    struct config scratch;
    int rc = -1;

    if (!(l.file = yamlfile_load ("config", path, CONFIG_MAX_DEPTH, errp)))
        return -1;
    if (config_copy (&scratch, c) < 0) {
        errprintf_errno (errp, "%s", path);
        config_free_fields (&scratch);
        goto done;
    }
    /* An empty file (or only comments) is an empty configuration. */
    if (!yamlfile_empty (l.file)) {
        if (scratch.local_nnodes) {
            /* The file's node list replaces, never extends, the old one. */
            for (int i = 0; i < scratch.local_nnodes; i++) {
                free (scratch.local_nodes[i].name);
                free (scratch.local_nodes[i].topology);
            }
            free (scratch.local_nodes);
            scratch.local_nodes = NULL;
            scratch.local_nnodes = 0;
        }
        if (load_mapping (&l, &scratch, yamlfile_root (l.file), top_keys, "") < 0) {
            config_free_fields (&scratch);
            goto done;
        }
    }
    free (scratch.source);
    if (!(scratch.source = strdup (path))) {
        config_free_fields (&scratch);
        goto done;
    }
    config_free_fields (c);
    *c = scratch;
    rc = 0;
done:
    yamlfile_destroy (l.file);
    return rc;
}

int config_load (struct config *c, const char *explicit_path, struct krun_error *errp)
{
    const char *env = getenv ("KRUN_CONFIG");
    const char *xdg = getenv ("XDG_CONFIG_HOME");
    const char *home = getenv ("HOME");
    char path[PATH_MAX];

    if (explicit_path)
        return config_load_file (c, explicit_path, errp);
    if (env && *env)
        return config_load_file (c, env, errp);
    if (xdg && *xdg)
        snprintf (path, sizeof (path), "%s/krun/krun.yaml", xdg);
    else if (home && *home)
        snprintf (path, sizeof (path), "%s/.config/krun/krun.yaml", home);
    else
        return 0;
    if (access (path, F_OK) < 0)
        return 0; /* no default file: the defaults hold */
    return config_load_file (c, path, errp);
}

char *config_amqp_url (const struct config *c, bool *is_default)
{
    const char *env = getenv ("KRUN_AMQP_URL");
    char *url;

    *is_default = false;
    if (c->amqp_url)
        return strdup (c->amqp_url);
    if (env && *env)
        return strdup (env);
    *is_default = true;
    if (asprintf (&url, CONFIG_DEFAULT_AMQP_URL_FMT, c->local_broker_port) < 0)
        return NULL;
    return url;
}

static int make_dirs (char *path, mode_t mode)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir (path, 0700);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir (path, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

char *config_state_dir (const struct config *c, struct krun_error *errp)
{
    const char *env = getenv ("KRUN_STATE_DIR");
    const char *xdg = getenv ("XDG_STATE_HOME");
    const char *home = getenv ("HOME");
    char *dir = NULL;
    int rc;

    if (c->state_dir)
        rc = (dir = strdup (c->state_dir)) ? 0 : -1;
    else if (env && *env)
        rc = (dir = strdup (env)) ? 0 : -1;
    else if (xdg && *xdg)
        rc = asprintf (&dir, "%s/krun", xdg);
    else if (home && *home)
        rc = asprintf (&dir, "%s/.local/state/krun", home);
    else {
        errno = ENOENT;
        errprintf (errp, "no state directory: set KRUN_STATE_DIR or HOME");
        return NULL;
    }
    if (rc < 0) {
        errprintf_errno (errp, "state directory");
        return NULL;
    }
    if (make_dirs (dir, 0700) < 0) {
        errprintf_errno (errp, "cannot create state directory %s", dir);
        free (dir);
        return NULL;
    }
    /* It holds the key and the private broker: a directory that another
     * user made (KRUN_STATE_DIR=/tmp/x) or may write is not used. */
    struct krun_error why;
    if (userdir_check_owned (dir, &why) < 0) {
        errprintf (errp, "state directory: %s", why.text);
        free (dir);
        return NULL;
    }
    return dir;
}

char *config_key_file (const char *state_dir, bool *is_default)
{
    const char *env = getenv ("KRUN_KEY_FILE");
    char *path;

    *is_default = !(env && *env);
    if (!*is_default)
        return strdup (env);
    return asprintf (&path, "%s/key", state_dir) < 0 ? NULL : path;
}
