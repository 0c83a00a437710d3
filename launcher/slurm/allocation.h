/* allocation.h - the Slurm allocation krun runs in, as its environment
 * describes it (salloc, sbatch and srun set these for the job's
 * processes):
 *
 *     SLURM_JOB_ID             the job (else SLURM_JOBID)
 *     SLURM_JOB_NODELIST       its nodes (else SLURM_NODELIST), nodelist.h
 *     SLURM_JOB_CPUS_PER_NODE  its CPUs on each of them, "2(x3),1"
 *     SLURM_CLUSTER_NAME       the cluster's name, if set
 *
 * The Slurm provider's pool is the allocation's own, "slurm-CLUSTER-JOBID"
 * (or "slurm-JOBID"): a second krun in the same allocation meets the
 * daemons the first started, and no daemon of another allocation (other
 * nodes, other CPUs) takes part.
 */
#ifndef KRUN_ALLOCATION_H
#define KRUN_ALLOCATION_H

#include "error.h"
#include "nodelist.h"

struct allocation;

/* Read the allocation from the environment.  Returns it (caller must
 * allocation_destroy()), or NULL with errno ENOENT (not inside an
 * allocation: SLURM_JOB_ID is not set) or EINVAL (a variable cannot be
 * read) and errp naming the variable. */
struct allocation *allocation_from_env (struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void allocation_destroy (struct allocation *a);

/* The job id, the pool's name, the nodes and their CPUs (borrowed until
 * destroy). */
const char *allocation_job_id (const struct allocation *a);
const char *allocation_pool (const struct allocation *a);
const struct nodelist *allocation_nodes (const struct allocation *a);

#endif
