/* Unit tests of the Slurm allocation read from the environment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/slurm/allocation.h"
#include "pool.h"
#include "tests/tap.h"

static void clear (void)
{
    const char *names[] = {"SLURM_JOB_ID",       "SLURM_JOBID",
                           "SLURM_JOB_NODELIST", "SLURM_NODELIST",
                           "SLURM_CLUSTER_NAME", "SLURM_JOB_CPUS_PER_NODE"};
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
        unsetenv (names[i]);
}

int main (void)
{
    struct krun_error error;
    struct allocation *a;

    plan (NO_PLAN);
    clear ();
    errno = 0;
    ok (!allocation_from_env (&error) && errno == ENOENT,
        "outside an allocation: ENOENT");
    is_str (error.text,
            "not inside a Slurm allocation (SLURM_JOB_ID is not set): run krun under "
            "salloc or in an sbatch script",
            "its message");

    setenv ("SLURM_JOB_ID", "4242", 1);
    setenv ("SLURM_JOB_NODELIST", "n[1-3]", 1);
    setenv ("SLURM_JOB_CPUS_PER_NODE", "4(x2),2", 1);
    setenv ("SLURM_CLUSTER_NAME", "hpc", 1);
    a = allocation_from_env (&error);
    ok (a != NULL, "an allocation");
    is_str (allocation_job_id (a), "4242", "its job");
    is_str (allocation_pool (a), "slurm-hpc-4242", "its pool");
    ok (pool_name_valid (allocation_pool (a)), "a valid pool name");
    const struct nodelist *l = allocation_nodes (a);
    ok (nodelist_count (l) == 3 && strcmp (nodelist_name (l, 2), "n3") == 0 &&
            nodelist_cpus (l, 0) == 4 && nodelist_cpus (l, 1) == 4 &&
            nodelist_cpus (l, 2) == 2,
        "its nodes and CPUs");
    allocation_destroy (a);

    /* The older names, no cluster, no CPU counts. */
    clear ();
    setenv ("SLURM_JOBID", "7", 1);
    setenv ("SLURM_NODELIST", "a,b", 1);
    a = allocation_from_env (&error);
    ok (a && strcmp (allocation_pool (a), "slurm-7") == 0 &&
            nodelist_count (allocation_nodes (a)) == 2 &&
            nodelist_cpus (allocation_nodes (a), 1) == 0,
        "SLURM_JOBID and SLURM_NODELIST; pool slurm-7");
    allocation_destroy (a);

    /* A cluster name a pool cannot hold is cleaned and cut. */
    setenv ("SLURM_CLUSTER_NAME",
            "my.cluster/with spaces and a very long name that goes on and on and on",
            1);
    a = allocation_from_env (&error);
    ok (a && pool_name_valid (allocation_pool (a)) &&
            strncmp (allocation_pool (a), "slurm-my_cluster_with_spaces", 28) == 0 &&
            strcmp (allocation_pool (a) + strlen (allocation_pool (a)) - 2, "-7") == 0,
        "a long, odd cluster name: %s", a ? allocation_pool (a) : error.text);
    allocation_destroy (a);
    unsetenv ("SLURM_CLUSTER_NAME");

    static const struct {
        const char *job, *list, *cpus, *message;
    } bad[] = {
        {"12;x", "n1", "1", "SLURM_JOB_ID: '12;x' is not a job id"},
        {"12", NULL, "1", "SLURM_JOB_NODELIST is not set in job 12"},
        {"12", "n[1-", "1",
         "SLURM_JOB_NODELIST: node list 'n[1-': a '[' without its ']'"},
        {"12", "n[1-2]", "1",
         "SLURM_JOB_CPUS_PER_NODE: CPUs per node '1': not one count for each of the 2 "
         "nodes"},
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        clear ();
        setenv ("SLURM_JOB_ID", bad[i].job, 1);
        if (bad[i].list)
            setenv ("SLURM_JOB_NODELIST", bad[i].list, 1);
        setenv ("SLURM_JOB_CPUS_PER_NODE", bad[i].cpus, 1);
        errno = 0;
        ok (!allocation_from_env (&error) && errno == EINVAL, "bad %zu: EINVAL", i);
        is_str (error.text, bad[i].message, "bad %zu: message", i);
    }
    done_testing ();
    return exit_status ();
}
