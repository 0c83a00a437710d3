/* Unit tests of the Slurm provider's step (srunstep.h): its srun command
 * line (t0610 runs it under a real Slurm). */
#include <stdlib.h>
#include <string.h>

#include "launcher/slurm/srunstep.h"
#include "tests/tap.h"

static char *join (char **argv)
{
    static char buf[2048];

    buf[0] = '\0';
    for (int i = 0; argv && argv[i]; i++)
        strcat (strcat (buf, i ? " " : ""), argv[i]);
    return buf;
}

int main (void)
{
    struct srunstep s = {
        .srun = "srun",
        .krund = "/opt/krun/sbin/krund",
        .job_id = "42",
        .pool = "slurm-hpc-42",
        .idle_timeout = 600,
        .state_dir = "/tmp",
    };
    const char *nodes[] = {"n1", "n3", "gpu07"};
    char **argv;

    plan (NO_PLAN);
    argv = srunstep_argv (&s, nodes, 3);
    is_str (
        join (argv),
        "srun --jobid=42 --job-name=krund --nodes=3 --ntasks=3 --ntasks-per-node=1 "
        "--nodelist=n1,n3,gpu07 --whole --overlap --cpu-bind=none --input=all "
        "--kill-on-bad-exit=0 --label /bin/sh -c exec \"$0\" --secrets-stdin --node "
        "\"$SLURMD_NODENAME\" --idle-timeout \"$1\" --pool \"$2\" "
        "/opt/krun/sbin/krund 600 slurm-hpc-42",
        "three nodes");
    ok (!strstr (join (argv), "amqp"), "no broker URL in it");
    srunstep_free_argv (argv);
    argv = srunstep_argv (&s, nodes, 1);
    ok (strstr (join (argv),
                " --nodes=1 --ntasks=1 --ntasks-per-node=1 --nodelist=n1 "),
        "one node");
    srunstep_free_argv (argv);
    srunstep_free_argv (NULL);
    done_testing ();
    return exit_status ();
}
