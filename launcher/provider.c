/* provider.c - the registry of providers and the defaults of their
 * operations (see provider.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "provider.h"

extern const struct provider_ops local_provider_ops;
extern const struct provider_ops kubernetes_provider_ops;
extern const struct provider_ops ssh_provider_ops;
extern const struct provider_ops slurm_provider_ops;

/* The registry: a new provider is one line here (and its folder). */
static const struct provider_ops *const registry[] = {
    &local_provider_ops,
    &kubernetes_provider_ops,
    &ssh_provider_ops,
    &slurm_provider_ops,
};

#define NPROVIDERS (sizeof (registry) / sizeof (registry[0]))

struct provider {
    const struct provider_ops *ops;
    const struct config *cfg;
    void *impl;
};

static const struct provider_ops *find (const char *name)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (strcmp (registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

bool provider_known (const char *name)
{
    return find (name) != NULL;
}

const char *provider_names (void)
{
    static char names[128];

    if (names[0] == '\0')
        for (size_t i = 0; i < NPROVIDERS; i++) {
            size_t len = strlen (names);
            snprintf (names + len, sizeof (names) - len, "%s'%s'",
                      i == 0                ? ""
                      : i + 1 == NPROVIDERS ? " or "
                                            : ", ",
                      registry[i]->name);
        }
    return names;
}

const char *provider_implied (const struct config *cfg, bool hosts_given)
{
    const char *job = getenv ("SLURM_JOB_ID");

    if (cfg->provider_configured)
        return cfg->provider;
    if (hosts_given)
        return ssh_provider_ops.name;
    if (job && *job)
        return slurm_provider_ops.name;
    return cfg->provider;
}

bool provider_uses_private_broker (const char *name)
{
    const struct provider_ops *ops = find (name);

    return ops && ops->private_broker;
}

struct provider *provider_create (const struct config *cfg, bool quiet,
                                  struct krun_error *errp)
{
    const struct provider_ops *ops = find (cfg->provider);
    struct provider *p;

    if (!ops) {
        errno = ENOENT;
        errprintf (errp, "provider '%s': expected one of %s", cfg->provider,
                   provider_names ());
        return NULL;
    }
    if (!(p = calloc (1, sizeof (*p)))) {
        errprintf_errno (errp, "provider %s", ops->name);
        return NULL;
    }
    p->ops = ops;
    p->cfg = cfg;
    if (ops->create && !(p->impl = ops->create (cfg, quiet, errp))) {
        free (p);
        return NULL;
    }
    return p;
}

void provider_destroy (struct provider *p)
{
    if (p) {
        int saved_errno = errno;
        if (p->ops->destroy)
            p->ops->destroy (p->impl);
        free (p);
        errno = saved_errno;
    }
}

const char *provider_name (const struct provider *p)
{
    return p->ops->name;
}

bool provider_private_broker (const struct provider *p)
{
    return p->ops->private_broker;
}

int provider_survey (struct provider *p, struct krun_error *errp)
{
    return p->ops->survey ? p->ops->survey (p->impl, errp) : 0;
}

const char *provider_key_file (struct provider *p)
{
    return p->ops->key_file ? p->ops->key_file (p->impl) : NULL;
}

const char *provider_pool_name (struct provider *p)
{
    return p->ops->pool_name ? p->ops->pool_name (p->impl) : p->cfg->local_pool;
}

int provider_filter_nodes (struct provider *p, struct nodefilter *f,
                           struct krun_error *errp)
{
    return p->ops->filter_nodes ? p->ops->filter_nodes (p->impl, f, errp) : 0;
}

enum provider_program provider_program (struct provider *p)
{
    return p->ops->program ? p->ops->program (p->impl) : PROVIDER_PROGRAM_SHARED;
}

struct presence *provider_query (const struct config *cfg,
                                 const struct provider_broker *b,
                                 struct krun_error *errp)
{
    return presence_query (b->t, b->pool, b->key, b->question, cfg->presence_timeout_ms,
                           errp);
}

struct presence *provider_find_workers (struct provider *p,
                                        const struct provider_broker *b,
                                        struct krun_error *errp)
{
    if (p->ops->find_workers)
        return p->ops->find_workers (p->impl, b, errp);
    return provider_query (p->cfg, b, errp);
}

struct cpumap *provider_cpumap (struct provider *p, const struct presence *presence,
                                struct krun_error *errp)
{
    if (p->ops->cpumap)
        return p->ops->cpumap (p->impl, presence, errp);
    return presence_cpumap (presence, errp);
}

int provider_prepare_job (struct provider *p, struct job_options *jo, const char *url,
                          struct krun_error *errp)
{
    return p->ops->prepare_job ? p->ops->prepare_job (p->impl, jo, url, errp) : 0;
}

int provider_up (struct provider *p, const struct provider_broker *b,
                 struct krun_error *errp)
{
    if (p->ops->up)
        return p->ops->up (p->impl, b, errp);
    struct presence *presence = provider_find_workers (p, b, errp);
    if (!presence)
        return -1;
    presence_destroy (presence);
    return 0;
}

/* The default status: one line per daemon that answered. */
static int print_daemons (const struct presence *p, FILE *out)
{
    int64_t now = clock_wall_us ();

    fprintf (out, "%-20s %6s %6s %8s %10s %5s %s\n", "NODE", "SLOTS", "BUSY", "PID",
             "AGE", "JOBS", "VERSION");
    for (int i = 0; i < presence_count (p); i++) {
        const struct presence_node *n = presence_node (p, i);
        fprintf (out, "%-20s %6d %6d %8d %9llds %5d %s\n", n->name, n->nslots, n->busy,
                 n->pid, (long long)((now - n->started_us) / 1000000), n->njobs,
                 n->version);
    }
    return 0;
}

int provider_status (struct provider *p, const struct presence *presence, FILE *out,
                     struct krun_error *errp)
{
    if (p->ops->status)
        return p->ops->status (p->impl, presence, out, errp);
    if (!presence) {
        errno = ENOTCONN;
        return -1;
    }
    return print_daemons (presence, out);
}

int provider_down (struct provider *p, const char *state_dir, struct krun_error *errp)
{
    return p->ops->down ? p->ops->down (p->impl, state_dir, errp) : 0;
}

struct presence *provider_wait (const struct config *cfg,
                                const struct provider_broker *b, struct presence *p,
                                bool (*ready) (const struct presence *p,
                                               const void *arg),
                                const void *arg, bool *ready_p, struct krun_error *errp)
{
    int64_t deadline = clock_mono_ms () + (int64_t)cfg->start_timeout * 1000;

    while (!(*ready_p = ready (p, arg)) && clock_mono_ms () < deadline) {
        usleep (PROVIDER_POLL_MS * 1000);
        presence_destroy (p);
        if (!(p = provider_query (cfg, b, errp)))
            return NULL;
    }
    return p;
}
