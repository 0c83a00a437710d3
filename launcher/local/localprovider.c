/* localprovider.c - the local provider's operations (provider.h): this
 * machine is the cluster, its daemons are started on demand (local.h) and
 * talk through the private broker unless one is configured. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "local.h"
#include "provider.h"

struct local_provider {
    const struct config *cfg;
    bool quiet;
};

static void *local_create (const struct config *cfg, bool quiet,
                           struct krun_error *errp)
{
    struct local_provider *lp = calloc (1, sizeof (*lp));

    if (!lp) {
        errprintf_errno (errp, "local provider");
        return NULL;
    }
    lp->cfg = cfg;
    lp->quiet = quiet;
    return lp;
}

static void local_destroy (void *impl)
{
    int saved_errno = errno;
    free (impl);
    errno = saved_errno;
}

/* The configured nodes, else the default node named after the host. */
static int local_filter_nodes (void *impl, struct nodefilter *f,
                               struct krun_error *errp)
{
    const struct config *cfg = ((struct local_provider *)impl)->cfg;
    char host[256];

    if (cfg->local_nnodes == 0) {
        local_default_node (host, sizeof (host));
        if (nodefilter_add_provider_node (f, host) < 0)
            return errprintf_errno (errp, "node filter");
    }
    for (int i = 0; i < cfg->local_nnodes; i++)
        if (nodefilter_add_provider_node (f, cfg->local_nodes[i].name) < 0)
            return errprintf_errno (errp, "node filter");
    return 0;
}

/* True when every configured local node answers (with the slot count asked). */
static bool local_nodes_present (const struct presence *p, const void *arg)
{
    const struct config *cfg = arg;
    char host[256];

    if (cfg->local_nnodes == 0) {
        local_default_node (host, sizeof (host));
        const struct presence_node *n = presence_find (p, host);
        return n && (cfg->local_slots == 0 || n->nslots == cfg->local_slots);
    }
    for (int i = 0; i < cfg->local_nnodes; i++) {
        const struct presence_node *n = presence_find (p, cfg->local_nodes[i].name);
        if (!n || n->nslots != cfg->local_nodes[i].slots)
            return false;
    }
    return true;
}

/* Start the daemons that are missing and wait, at most start_timeout, until
 * all of them answer. */
static struct presence *local_find_workers (void *impl, const struct provider_broker *b,
                                            struct krun_error *errp)
{
    struct local_provider *lp = impl;
    const struct config *cfg = lp->cfg;
    struct presence *p = provider_query (cfg, b, errp);
    int started;

    if (!p)
        return NULL;
    if ((started = local_daemons_ensure (cfg, b->url, b->state_dir, p, 0, errp)) < 0)
        goto error;
    if (started == 0)
        return p;
    if (!lp->quiet)
        fprintf (
            stderr,
            "krun: started %d local worker daemon%s (idle timeout %d s; logs in %s)\n",
            started, started == 1 ? "" : "s", cfg->idle_timeout, b->state_dir);
    bool ready;
    if (!(p = provider_wait (cfg, b, p, local_nodes_present, cfg, &ready, errp)))
        return NULL;
    if (ready)
        return p;
    errno = ETIMEDOUT;
    errprintf (
        errp, "the local worker daemons did not answer within %d s; see %s/krund-*.log",
        cfg->start_timeout, b->state_dir);
error:
    presence_destroy (p);
    return NULL;
}

static int local_down (void *impl, const char *state_dir, struct krun_error *errp)
{
    (void)impl;
    (void)errp;
    int n = local_daemons_stop (state_dir);
    printf ("krun: stopped %d local worker daemon%s\n", n, n == 1 ? "" : "s");
    return 0;
}

const struct provider_ops local_provider_ops = {
    .name = "local",
    .private_broker = true,
    .create = local_create,
    .destroy = local_destroy,
    .filter_nodes = local_filter_nodes,
    .find_workers = local_find_workers,
    .down = local_down,
};
