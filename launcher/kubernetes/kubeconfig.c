/* kubeconfig.c - see kubeconfig.h.
 *
 * Each file is read with libyaml and turned into a cJSON tree (every scalar
 * a string), so merging and lookups are plain tree walks.  The named
 * clusters, users and contexts of all files go into one list each, first
 * definition of a name wins, each entry remembering its file's directory
 * for relative paths.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "fileio.h"
#include "kubeconfig.h"
#include "kubeexec.h"
#include "yamlfile.h"

#define SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define MAX_SECRET_FILE (1024 * 1024)
/* Deepest nesting of a kubeconfig file (they need five levels). */
#define KUBECONFIG_MAX_DEPTH 64

struct named {
    char *name;
    cJSON *body; /* the "cluster", "user" or "context" mapping */
    char *dir;   /* directory of the file that defined it */
};

struct named_list {
    struct named *items;
    int count;
};

struct kubeconfig {
    char *source;
    char *context;
    char *server;
    char *namespace;
    char *ca_pem;
    size_t ca_len;
    bool insecure;

    char *token;      /* static token */
    char *token_file; /* re-read each time */
    char *cert_pem, *key_pem;
    size_t cert_len, key_len;

    struct kubeexec *exec; /* the user's exec credential plugin, or NULL */
    char *file_token;      /* last read of token_file */
};

static void wipe_free (char *s, size_t len)
{
    if (s) {
        volatile char *p = s;
        for (size_t i = 0; i < len; i++)
            p[i] = 0;
        free (s);
    }
}

static void wipe_free_str (char *s)
{
    if (s)
        wipe_free (s, strlen (s));
}

/* A file's content with surrounding white space removed (tokens). */
static char *read_trimmed (const char *path)
{
    size_t len;
    char *s = fileio_read (path, MAX_SECRET_FILE, &len, NULL);
    char *start;

    if (!s)
        return NULL;
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        s[--len] = '\0';
    for (start = s; *start == ' ' || *start == '\n'; start++)
        ;
    memmove (s, start, strlen (start) + 1);
    return s;
}

/* path relative to dir unless absolute; caller must free. */
static char *resolve_path (const char *dir, const char *path)
{
    char *out;

    if (path[0] == '/' || !dir)
        return strdup (path);
    if (asprintf (&out, "%s/%s", dir, path) < 0)
        return NULL;
    return out;
}

/* The node as a cJSON tree, every scalar a string.  NULL if a key is not a
 * scalar, or out of memory. */
static cJSON *yaml_to_json (const struct yamlfile *f, const struct yamlnode *node,
                            int depth)
{
    cJSON *out = NULL;

    if (depth > KUBECONFIG_MAX_DEPTH)
        return NULL;
    switch (yamlnode_kind (node)) {
        case YAMLNODE_SCALAR:
            return cJSON_CreateString (yamlnode_scalar (node));
        case YAMLNODE_SEQUENCE:
            if (!(out = cJSON_CreateArray ()))
                return NULL;
            for (int i = 0; i < yamlnode_count (node); i++) {
                cJSON *item = yaml_to_json (f, yamlfile_item (f, node, i), depth + 1);
                if (!item || !cJSON_AddItemToArray (out, item)) {
                    cJSON_Delete (item);
                    goto error;
                }
            }
            return out;
        case YAMLNODE_MAPPING:
            if (!(out = cJSON_CreateObject ()))
                return NULL;
            for (int i = 0; i < yamlnode_count (node); i++) {
                const char *key = yamlnode_scalar (yamlfile_key (f, node, i));
                cJSON *value;
                if (!key)
                    goto error;
                value = yaml_to_json (f, yamlfile_value (f, node, i), depth + 1);
                if (!value || !cJSON_AddItemToObject (out, key, value)) {
                    cJSON_Delete (value);
                    goto error;
                }
            }
            return out;
        default:
            return NULL;
    }
error:
    cJSON_Delete (out);
    return NULL;
}

/* Parse one kubeconfig file into a tree.  NULL with errno and errp. */
static cJSON *parse_file (const char *path, struct krun_error *errp)
{
    struct yamlfile *f = yamlfile_load ("kubeconfig", path, KUBECONFIG_MAX_DEPTH, errp);
    const struct yamlnode *root;
    cJSON *tree = NULL;

    if (!f)
        return NULL;
    root = yamlfile_root (f);
    if (yamlfile_empty (f))
        tree = cJSON_CreateObject (); /* an empty file is an empty config */
    else if (yamlnode_kind (root) != YAMLNODE_MAPPING)
        errprintf (errp, "%s: expected a mapping at the top", path);
    else if (!(tree = yaml_to_json (f, root, 0)))
        errprintf (errp, "%s: keys must be scalars", path);
    yamlfile_destroy (f);
    if (!tree)
        errno = EINVAL;
    return tree;
}

static const char *get_string (const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
    return cJSON_IsString (v) ? v->valuestring : NULL;
}

static void named_list_free (struct named_list *l)
{
    for (int i = 0; i < l->count; i++) {
        free (l->items[i].name);
        free (l->items[i].dir);
    }
    free (l->items);
    l->items = NULL;
    l->count = 0;
}

static const struct named *named_find (const struct named_list *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp (l->items[i].name, name) == 0)
            return &l->items[i];
    return NULL;
}

/* Append the entries of tree[section] (a list of {name, <kind>: {...}})
 * whose names are not known yet: the first file to set a name wins. */
static int merge_section (struct named_list *l, cJSON *tree, const char *section,
                          const char *kind, const char *dir, const char *path,
                          struct krun_error *errp)
{
    cJSON *list = cJSON_GetObjectItemCaseSensitive (tree, section);
    cJSON *entry;

    if (!list || cJSON_IsNull (list) || (cJSON_IsString (list) && !*list->valuestring))
        return 0;
    if (!cJSON_IsArray (list)) {
        errno = EINVAL;
        return errprintf (errp, "kubeconfig %s: '%s' must be a list", path, section);
    }
    cJSON_ArrayForEach (entry, list)
    {
        const char *name = get_string (entry, "name");
        cJSON *body = cJSON_GetObjectItemCaseSensitive (entry, kind);
        struct named *bigger;
        if (!name || !cJSON_IsObject (body)) {
            errno = EINVAL;
            return errprintf (errp,
                              "kubeconfig %s: an entry of '%s' needs 'name' and '%s'",
                              path, section, kind);
        }
        if (named_find (l, name))
            continue;
        if (!(bigger = realloc (l->items, (l->count + 1) * sizeof (*bigger))))
            return errprintf_errno (errp, "kubeconfig %s", path);
        l->items = bigger;
        l->items[l->count] = (struct named){
            .name = strdup (name), .body = body, .dir = dir ? strdup (dir) : NULL};
        if (!l->items[l->count].name || (dir && !l->items[l->count].dir)) {
            free (l->items[l->count].name);
            free (l->items[l->count].dir);
            return errprintf_errno (errp, "kubeconfig %s", path);
        }
        l->count++;
    }
    return 0;
}

static char *dir_of (const char *path)
{
    char *dir = strdup (path);
    char *slash;

    if (!dir)
        return NULL;
    if ((slash = strrchr (dir, '/'))) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        return dir;
    }
    free (dir);
    return getcwd (NULL, 0);
}

/* Read a PEM from inline base64 `<key>-data` or from the file `<key>`.
 * Returns 0 (also when neither is set: *out stays NULL) or -1. */
static int load_pem (const cJSON *body, const char *key, const char *dir, char **out,
                     size_t *lenp, const char *entry, struct krun_error *errp)
{
    char datakey[64];
    const char *data, *file;

    snprintf (datakey, sizeof (datakey), "%s-data", key);
    if ((data = get_string (body, datakey))) {
        if (!(*out = base64_decode (data, lenp)))
            return errprintf_errno (errp, "kubeconfig %s: '%s' is not valid base64",
                                    entry, datakey);
        return 0;
    }
    if ((file = get_string (body, key))) {
        char *path = resolve_path (dir, file);
        if (!path)
            return errprintf_errno (errp, "kubeconfig %s", entry);
        *out = fileio_read (path, MAX_SECRET_FILE, lenp, NULL);
        if (!*out) {
            errprintf_errno (errp, "kubeconfig %s: cannot read %s %s", entry, key,
                             path);
            free (path);
            return -1;
        }
        free (path);
    }
    return 0;
}

static bool is_true (const char *s)
{
    return s && (!strcmp (s, "true") || !strcmp (s, "True") || !strcmp (s, "yes"));
}

static int set_user (struct kubeconfig *k, const struct named *user,
                     struct krun_error *errp)
{
    const char *token = get_string (user->body, "token");
    const char *token_file = get_string (user->body, "tokenFile");
    cJSON *exec = cJSON_GetObjectItemCaseSensitive (user->body, "exec");
    char what[200];

    snprintf (what, sizeof (what), "user '%s'", user->name);
    if (cJSON_IsObject (exec) &&
        !(k->exec = kubeexec_create (exec, user->dir, what, errp)))
        return -1;
    if (token && !(k->token = strdup (token)))
        return errprintf_errno (errp, "kubeconfig %s", what);
    if (token_file && !token && !(k->token_file = resolve_path (user->dir, token_file)))
        return errprintf_errno (errp, "kubeconfig %s", what);
    if (load_pem (user->body, "client-certificate", user->dir, &k->cert_pem,
                  &k->cert_len, what, errp) < 0 ||
        load_pem (user->body, "client-key", user->dir, &k->key_pem, &k->key_len, what,
                  errp) < 0)
        return -1;
    if (!k->cert_pem != !k->key_pem) {
        errno = EINVAL;
        return errprintf (errp,
                          "kubeconfig %s: client-certificate and client-key go "
                          "together",
                          what);
    }
    return 0;
}

static int set_cluster (struct kubeconfig *k, const struct named *cluster,
                        struct krun_error *errp)
{
    const char *server = get_string (cluster->body, "server");
    char what[200];
    size_t len;

    snprintf (what, sizeof (what), "cluster '%s'", cluster->name);
    if (!server || !*server) {
        errno = EINVAL;
        return errprintf (errp, "kubeconfig %s: no 'server'", what);
    }
    if (!(k->server = strdup (server)))
        return errprintf_errno (errp, "kubeconfig %s", what);
    len = strlen (k->server);
    while (len > 0 && k->server[len - 1] == '/')
        k->server[--len] = '\0';
    k->insecure = is_true (get_string (cluster->body, "insecure-skip-tls-verify"));
    return load_pem (cluster->body, "certificate-authority", cluster->dir, &k->ca_pem,
                     &k->ca_len, what, errp);
}

/* Resolve the context from the merged lists. */
static int resolve (struct kubeconfig *k, struct named_list *lists, const char *current,
                    const char *context, struct krun_error *errp)
{
    const struct named *ctx, *cluster, *user;
    const char *name = context ? context : current;
    const char *cluster_name, *user_name, *ns;

    if (!name || !*name) {
        errno = EINVAL;
        return errprintf (errp, "kubeconfig %s: no current-context (use --context)",
                          k->source);
    }
    if (!(ctx = named_find (&lists[2], name))) {
        errno = EINVAL;
        return errprintf (errp, "kubeconfig %s: no context '%s'", k->source, name);
    }
    cluster_name = get_string (ctx->body, "cluster");
    user_name = get_string (ctx->body, "user");
    if (!cluster_name || !(cluster = named_find (&lists[0], cluster_name))) {
        errno = EINVAL;
        return errprintf (errp, "kubeconfig %s: context '%s' names no known cluster",
                          k->source, name);
    }
    if (!(k->context = strdup (name)))
        return errprintf_errno (errp, "kubeconfig");
    if (set_cluster (k, cluster, errp) < 0)
        return -1;
    if (user_name) {
        if (!(user = named_find (&lists[1], user_name))) {
            errno = EINVAL;
            return errprintf (errp,
                              "kubeconfig %s: context '%s' names unknown user '%s'",
                              k->source, name, user_name);
        }
        if (set_user (k, user, errp) < 0)
            return -1;
    }
    ns = get_string (ctx->body, "namespace");
    if (!(k->namespace = strdup (ns && *ns ? ns : "default")))
        return errprintf_errno (errp, "kubeconfig");
    return 0;
}

/* Load and merge the files of a colon-separated list (empty items and, for
 * $KUBECONFIG, missing files are skipped as kubectl does). */
static int load_files (struct kubeconfig *k, const char *list, bool skip_missing,
                       const char *context, struct krun_error *errp)
{
    struct named_list lists[3] = {{0}};
    cJSON **trees = NULL;
    int ntrees = 0, rc = -1;
    char *copy = strdup (list), *save = NULL, *current = NULL;

    if (!copy || !(k->source = strdup (list)))
        goto nomem;
    for (char *path = strtok_r (copy, ":", &save); path;
         path = strtok_r (NULL, ":", &save)) {
        cJSON *tree, **bigger;
        char *dir;
        if (skip_missing && access (path, F_OK) < 0)
            continue;
        if (!(tree = parse_file (path, errp)))
            goto done;
        if (!(bigger = realloc (trees, (ntrees + 1) * sizeof (*trees)))) {
            cJSON_Delete (tree);
            goto nomem;
        }
        trees = bigger;
        trees[ntrees++] = tree;
        if (!(dir = dir_of (path)))
            goto nomem;
        const char *cur = get_string (tree, "current-context");
        if (!current && cur && *cur && !(current = strdup (cur))) {
            free (dir);
            goto nomem;
        }
        if (merge_section (&lists[0], tree, "clusters", "cluster", dir, path, errp) <
                0 ||
            merge_section (&lists[1], tree, "users", "user", dir, path, errp) < 0 ||
            merge_section (&lists[2], tree, "contexts", "context", dir, path, errp) <
                0) {
            free (dir);
            goto done;
        }
        free (dir);
    }
    if (ntrees == 0) {
        errno = ENOENT;
        errprintf (errp, "no kubeconfig file found in '%s'", list);
        goto done;
    }
    rc = resolve (k, lists, current, context, errp);
    goto done;
nomem:
    errprintf_errno (errp, "kubeconfig");
done:
    for (int i = 0; i < 3; i++)
        named_list_free (&lists[i]);
    for (int i = 0; i < ntrees; i++)
        cJSON_Delete (trees[i]);
    free (trees);
    free (current);
    free (copy);
    return rc;
}

static int load_in_cluster (struct kubeconfig *k, struct krun_error *errp)
{
    const char *host = getenv ("KUBERNETES_SERVICE_HOST");
    const char *port = getenv ("KUBERNETES_SERVICE_PORT");
    const char *dir = getenv ("KRUN_SERVICEACCOUNT_DIR");
    char path[PATH_MAX];
    char *ns;

    if (!dir || !*dir)
        dir = SERVICEACCOUNT_DIR;
    if (!(k->source = strdup ("in-cluster")) || !(k->context = strdup ("in-cluster")))
        return errprintf_errno (errp, "kubeconfig");
    if (asprintf (&k->server, strchr (host, ':') ? "https://[%s]:%s" : "https://%s:%s",
                  host, port && *port ? port : "443") < 0) {
        k->server = NULL;
        return errprintf_errno (errp, "kubeconfig");
    }
    snprintf (path, sizeof (path), "%s/token", dir);
    if (access (path, R_OK) < 0)
        return errprintf_errno (errp, "in-cluster service account token %s", path);
    if (!(k->token_file = strdup (path)))
        return errprintf_errno (errp, "kubeconfig");
    snprintf (path, sizeof (path), "%s/ca.crt", dir);
    if (!(k->ca_pem = fileio_read (path, MAX_SECRET_FILE, &k->ca_len, NULL)))
        return errprintf_errno (errp, "in-cluster CA %s", path);
    snprintf (path, sizeof (path), "%s/namespace", dir);
    ns = read_trimmed (path);
    k->namespace = ns && *ns ? ns : strdup ("default");
    if (ns && !*ns)
        free (ns);
    return k->namespace ? 0 : errprintf_errno (errp, "kubeconfig");
}

struct kubeconfig *kubeconfig_load (const char *explicit_path, const char *context,
                                    struct krun_error *errp)
{
    struct kubeconfig *k = calloc (1, sizeof (*k));
    const char *env = getenv ("KUBECONFIG");
    const char *home = getenv ("HOME");
    const char *host = getenv ("KUBERNETES_SERVICE_HOST");
    char path[PATH_MAX];
    int rc;

    if (!k)
        return errprintf_errno (errp, "kubeconfig"), NULL;
    if (explicit_path && *explicit_path)
        rc = load_files (k, explicit_path, false, context, errp);
    else if (env && *env)
        rc = load_files (k, env, true, context, errp);
    else if (home && *home &&
             (snprintf (path, sizeof (path), "%s/.kube/config", home),
              access (path, F_OK) == 0))
        rc = load_files (k, path, false, context, errp);
    else if (host && *host)
        rc = load_in_cluster (k, errp);
    else {
        errno = ENOENT;
        rc = errprintf (errp,
                        "no Kubernetes credentials: no --kubeconfig, $KUBECONFIG, "
                        "~/.kube/config, or in-cluster service account");
    }
    if (rc < 0) {
        kubeconfig_destroy (k);
        return NULL;
    }
    return k;
}

void kubeconfig_destroy (struct kubeconfig *k)
{
    int saved_errno = errno;

    if (k) {
        kubeexec_destroy (k->exec);
        free (k->source);
        free (k->context);
        free (k->server);
        free (k->namespace);
        free (k->ca_pem);
        wipe_free_str (k->token);
        free (k->token_file);
        wipe_free_str (k->file_token);
        wipe_free (k->cert_pem, k->cert_len);
        wipe_free (k->key_pem, k->key_len);
        free (k);
    }
    errno = saved_errno;
}

const char *kubeconfig_server (const struct kubeconfig *k)
{
    return k->server;
}

const char *kubeconfig_namespace (const struct kubeconfig *k)
{
    return k->namespace;
}

const char *kubeconfig_context (const struct kubeconfig *k)
{
    return k->context;
}

const char *kubeconfig_source (const struct kubeconfig *k)
{
    return k->source;
}

const char *kubeconfig_ca_pem (const struct kubeconfig *k, size_t *len)
{
    *len = k->ca_len;
    return k->ca_pem;
}

bool kubeconfig_insecure (const struct kubeconfig *k)
{
    return k->insecure;
}

int kubeconfig_exec_runs (const struct kubeconfig *k)
{
    return k->exec ? kubeexec_runs (k->exec) : 0;
}

void kubeconfig_forget_cached (struct kubeconfig *k)
{
    if (k->exec)
        kubeexec_forget (k->exec);
}

int kubeconfig_credentials (struct kubeconfig *k, struct kubeconfig_credentials *out,
                            struct krun_error *errp)
{
    memset (out, 0, sizeof (*out));
    if (k->exec) {
        const char *token, *cert, *key;
        if (kubeexec_credentials (k->exec, &token, &cert, &key, errp) < 0)
            return -1;
        out->token = token;
        if (cert) {
            out->cert_pem = cert;
            out->cert_len = strlen (cert);
            out->key_pem = key;
            out->key_len = strlen (key);
        }
    }
    if (!out->token && k->token)
        out->token = k->token;
    if (!out->token && k->token_file) {
        wipe_free_str (k->file_token);
        if (!(k->file_token = read_trimmed (k->token_file)))
            return errprintf_errno (errp, "cannot read token file %s", k->token_file);
        out->token = k->file_token;
    }
    if (!out->cert_pem && k->cert_pem) {
        out->cert_pem = k->cert_pem;
        out->cert_len = k->cert_len;
        out->key_pem = k->key_pem;
        out->key_len = k->key_len;
    }
    return 0;
}
