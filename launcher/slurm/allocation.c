/* allocation.c - see allocation.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocation.h"
#include "pool.h"

struct allocation {
    char job_id[32];
    char pool[POOL_NAME_MAX + 1];
    struct nodelist *nodes;
};

void allocation_destroy (struct allocation *a)
{
    int saved = errno;

    if (a) {
        nodelist_destroy (a->nodes);
        free (a);
    }
    errno = saved;
}

const char *allocation_job_id (const struct allocation *a)
{
    return a->job_id;
}

const char *allocation_pool (const struct allocation *a)
{
    return a->pool;
}

const struct nodelist *allocation_nodes (const struct allocation *a)
{
    return a->nodes;
}

/* The first of two variables that is set and not empty, or NULL. */
static const char *env2 (const char *name, const char *other)
{
    const char *v = getenv (name);

    if (!v || !*v)
        v = getenv (other);
    return v && *v ? v : NULL;
}

/* The pool: "slurm-CLUSTER-JOBID", the cluster's name reduced to what a
 * pool name may hold and cut so that the whole fits. */
static void pool_name (struct allocation *a, const char *cluster)
{
    char clean[POOL_NAME_MAX + 1] = "";
    size_t room = POOL_NAME_MAX - strlen ("slurm--") - strlen (a->job_id), i;

    for (i = 0; cluster && cluster[i] && i < room && i < sizeof (clean) - 1; i++)
        clean[i] =
            isalnum ((unsigned char)cluster[i]) || cluster[i] == '-' ? cluster[i] : '_';
    clean[i] = '\0';
    snprintf (a->pool, sizeof (a->pool), "slurm-%s%s%s", clean, *clean ? "-" : "",
              a->job_id);
}

struct allocation *allocation_from_env (struct krun_error *errp)
{
    const char *job = env2 ("SLURM_JOB_ID", "SLURM_JOBID");
    const char *list = env2 ("SLURM_JOB_NODELIST", "SLURM_NODELIST");
    const char *cpus = getenv ("SLURM_JOB_CPUS_PER_NODE");
    struct allocation *a;

    if (!job) {
        errno = ENOENT;
        errprintf (errp,
                   "not inside a Slurm allocation (SLURM_JOB_ID is not set): run krun "
                   "under salloc or in an sbatch script");
        return NULL;
    }
    if (strlen (job) >= sizeof (a->job_id) ||
        strspn (job, "0123456789_") != strlen (job)) {
        errno = EINVAL;
        errprintf (errp, "SLURM_JOB_ID: '%.40s' is not a job id", job);
        return NULL;
    }
    if (!list) {
        errno = EINVAL;
        errprintf (errp, "SLURM_JOB_NODELIST is not set in job %s", job);
        return NULL;
    }
    if (!(a = calloc (1, sizeof (*a)))) {
        errprintf_errno (errp, "Slurm allocation");
        return NULL;
    }
    snprintf (a->job_id, sizeof (a->job_id), "%s", job);
    pool_name (a, getenv ("SLURM_CLUSTER_NAME"));
    struct krun_error why;
    if (!(a->nodes = nodelist_expand (list, &why))) {
        errprintf (errp, "SLURM_JOB_NODELIST: %s", why.text);
        goto error;
    }
    if (cpus && *cpus && nodelist_set_cpus (a->nodes, cpus, &why) < 0) {
        errprintf (errp, "SLURM_JOB_CPUS_PER_NODE: %s", why.text);
        goto error;
    }
    return a;
error:
    allocation_destroy (a);
    return NULL;
}
