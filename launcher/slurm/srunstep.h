/* srunstep.h - the Slurm provider's daemons: one job step in the
 * allocation, one krund per node.
 *
 *     srun --jobid=JOB --job-name=krund --nodes=K --ntasks=K
 *          --ntasks-per-node=1 --nodelist=NODES --whole --overlap
 *          --cpu-bind=none --input=all --kill-on-bad-exit=0 --label
 *          sh -c 'exec "$0" --secrets-stdin --node "$SLURMD_NODENAME"
 *                 --idle-timeout T --pool P' KRUND
 *
 * --whole gives each daemon all the job's CPUs on its node (the step's
 * cgroup, and the affinity mask, hold exactly those: krund binds its slots
 * inside them); --overlap lets the job's other steps share them;
 * --cpu-bind=none keeps Slurm from binding the daemon to one CPU;
 * --input=all hands every daemon the secrets that krun writes into srun's
 * standard input (secrets.h), never on a command line; each daemon is
 * named after its Slurm node.  srun runs detached from krun (spawn.h),
 * its output and the daemons' (labelled with the task number) in
 * STATE_DIR/srun-JOB.log, and its PID is recorded (pidfile.h) as
 * STATE_DIR/srun-JOB.PID.pid.  The step, and with it the daemons, ends
 * when the allocation ends, or when `krun down` sends srun SIGTERM (srun
 * then ends the step).
 */
#ifndef KRUN_SRUNSTEP_H
#define KRUN_SRUNSTEP_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

struct srunstep {
    const char *srun;      /* srun: a path, or a name PATH finds */
    const char *krund;     /* krund on the nodes: a path, or a name their
                              PATH finds */
    const char *job_id;    /* the allocation */
    const char *pool;      /* the daemons' pool */
    int idle_timeout;      /* s */
    const char *state_dir; /* records and the log */
};

/* srun's argv for the step on the n nodes (caller must free the array and
 * its entries with srunstep_free_argv()).  Returns NULL with ENOMEM. */
char **srunstep_argv (const struct srunstep *s, const char *const nodes[], int n);
void srunstep_free_argv (char **argv);

/* Start the step on the n nodes, secrets (len bytes) on srun's standard
 * input.  Does not wait for the daemons.  Returns srun's PID, or -1 with
 * errno and errp. */
pid_t srunstep_start (const struct srunstep *s, const char *const nodes[], int n,
                      const void *secrets, size_t len, struct krun_error *errp);

/* SIGTERM to every srun recorded in state_dir for job_id (NULL: of any
 * job) that still runs, then wait for them at most 15 s.  Returns the
 * number signalled. */
int srunstep_stop (const char *state_dir, const char *job_id);

#endif
