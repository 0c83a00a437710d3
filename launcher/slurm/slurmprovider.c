/* slurmprovider.c - the Slurm provider's operations (provider.h): inside a
 * Slurm allocation, one krund per allocated node, all started by one srun
 * step (srunstep.h) that gives each exactly the allocation's CPUs of its
 * node; a second krun in the allocation finds them warm; they end with the
 * allocation (or `krun down`).
 *
 * Outside an allocation, krun does not call salloc itself: the daemons are
 * to outlive the krun that started them for the next run to find them
 * warm, and an allocation that krun made would have to outlive it as well,
 * holding nodes that nobody sees in their shell.  `salloc -N 4 krun ...` (or
 * krun in an sbatch script) makes the allocation's life the user's.
 *
 * The pool is the allocation's own (allocation.h), so only its daemons take
 * part; like the ssh provider, the daemons need a broker the nodes can
 * reach (amqp_url), and the nodes see this machine's paths (a shared file
 * system), as with srun itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocation.h"
#include "provider.h"
#include "secrets.h"
#include "srunstep.h"

struct slurm_provider {
    const struct config *cfg;
    bool quiet;
    struct allocation *alloc; /* NULL outside an allocation */
    struct krun_error why;    /* why there is no allocation */
};

static void slurm_destroy (void *impl)
{
    struct slurm_provider *sp = impl;

    if (sp) {
        int saved_errno = errno;
        allocation_destroy (sp->alloc);
        free (sp);
        errno = saved_errno;
    }
}

/* Outside an allocation only `krun down` and `krun status` make sense: the
 * allocation is read now, and missed only when a run needs it. */
static void *slurm_create (const struct config *cfg, bool quiet,
                           struct krun_error *errp)
{
    struct slurm_provider *sp = calloc (1, sizeof (*sp));

    if (!sp) {
        errprintf_errno (errp, "slurm provider");
        return NULL;
    }
    sp->cfg = cfg;
    sp->quiet = quiet;
    sp->alloc = allocation_from_env (&sp->why);
    if (!sp->alloc && errno != ENOENT) {
        errprintf (errp, "%s", sp->why.text);
        free (sp);
        return NULL;
    }
    return sp;
}

static int slurm_survey (void *impl, struct krun_error *errp)
{
    struct slurm_provider *sp = impl;
    bool is_default;
    char *url;

    if (!sp->alloc) {
        errno = ENOENT;
        return errprintf (errp, "%s", sp->why.text);
    }
    if (!(url = config_amqp_url (sp->cfg, &is_default)))
        return errprintf_errno (errp, "slurm provider");
    free (url);
    if (is_default) {
        errno = EINVAL;
        return errprintf (errp,
                          "the slurm provider needs a broker the nodes can reach: set "
                          "amqp_url (or KRUN_AMQP_URL) to one (the private broker "
                          "listens on this machine's loopback only)");
    }
    return 0;
}

static const char *slurm_pool_name (void *impl)
{
    struct slurm_provider *sp = impl;

    return sp->alloc ? allocation_pool (sp->alloc) : NULL;
}

/* Only the allocation's nodes take part. */
static int slurm_filter_nodes (void *impl, struct nodefilter *f,
                               struct krun_error *errp)
{
    struct slurm_provider *sp = impl;
    const struct nodelist *l = sp->alloc ? allocation_nodes (sp->alloc) : NULL;

    for (int i = 0; l && i < nodelist_count (l); i++)
        if (nodefilter_add_provider_node (f, nodelist_name (l, i)) < 0)
            return errprintf_errno (errp, "node filter");
    return 0;
}

/* Start one step for the nodes missing from p.  Returns how many daemons
 * it starts, or -1. */
static int start_missing (struct slurm_provider *sp, const struct provider_broker *b,
                          const struct presence *p, struct krun_error *errp)
{
    const struct nodelist *l = allocation_nodes (sp->alloc);
    int n = nodelist_count (l), missing = 0;
    const char **nodes = calloc (n, sizeof (*nodes));
    char *key_file = NULL, *secrets = NULL;
    struct srunstep step = {
        .srun = sp->cfg->slurm_srun,
        .krund = sp->cfg->slurm_krund,
        .job_id = allocation_job_id (sp->alloc),
        .pool = allocation_pool (sp->alloc),
        .idle_timeout = sp->cfg->idle_timeout,
        .state_dir = b->state_dir,
    };
    bool is_default;
    size_t len = 0;
    int rc = -1;

    if (!nodes) {
        errprintf_errno (errp, "slurm provider");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!presence_find (p, nodelist_name (l, i)))
            nodes[missing++] = nodelist_name (l, i);
    if (missing == 0) {
        rc = 0;
        goto done;
    }
    if (!(key_file = config_key_file (b->state_dir, &is_default))) {
        errprintf_errno (errp, "slurm provider");
        goto done;
    }
    if (!(secrets = secrets_encode (b->url, key_file, &len, errp)) ||
        srunstep_start (&step, nodes, missing, secrets, len, errp) < 0)
        goto done;
    if (!sp->quiet)
        fprintf (stderr,
                 "krun: started %d worker daemon%s in Slurm job %s with srun (idle "
                 "timeout %d s; log in %s/srun-%s.log)\n",
                 missing, missing == 1 ? "" : "s", allocation_job_id (sp->alloc),
                 sp->cfg->idle_timeout, b->state_dir, allocation_job_id (sp->alloc));
    rc = missing;
done:
    secrets_free (secrets, len);
    free (key_file);
    free (nodes);
    return rc;
}

static bool all_answer (const struct presence *p, const void *arg)
{
    const struct nodelist *l = arg;
    for (int i = 0; i < nodelist_count (l); i++)
        if (!presence_find (p, nodelist_name (l, i)))
            return false;
    return true;
}

static struct presence *slurm_find_workers (void *impl, const struct provider_broker *b,
                                            struct krun_error *errp)
{
    struct slurm_provider *sp = impl;
    const struct config *cfg = sp->cfg;
    const struct nodelist *l = allocation_nodes (sp->alloc);
    struct presence *p = provider_query (cfg, b, errp);
    int started;

    if (!p)
        return NULL;
    if ((started = start_missing (sp, b, p, errp)) < 0)
        goto error;
    bool ready = true;
    if (started > 0 && !(p = provider_wait (cfg, b, p, all_answer, l, &ready, errp)))
        return NULL;
    if (ready)
        return p;
    errno = ETIMEDOUT;
    errprintf (errp,
               "the daemons of Slurm job %s did not all answer within %d s; see "
               "%s/srun-%s.log",
               allocation_job_id (sp->alloc), cfg->start_timeout, b->state_dir,
               allocation_job_id (sp->alloc));
error:
    presence_destroy (p);
    return NULL;
}

/* Inside an allocation its own steps, outside every recorded one. */
static int slurm_down (void *impl, const char *state_dir, struct krun_error *errp)
{
    struct slurm_provider *sp = impl;
    (void)errp;
    int n = srunstep_stop (state_dir, sp->alloc ? allocation_job_id (sp->alloc) : NULL);
    printf ("krun: stopped %d srun step%s of worker daemons\n", n, n == 1 ? "" : "s");
    return 0;
}

const struct provider_ops slurm_provider_ops = {
    .name = "slurm",
    .create = slurm_create,
    .destroy = slurm_destroy,
    .survey = slurm_survey,
    .pool_name = slurm_pool_name,
    .filter_nodes = slurm_filter_nodes,
    .find_workers = slurm_find_workers,
    .down = slurm_down,
};
