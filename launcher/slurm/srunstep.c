/* srunstep.c - see srunstep.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pidfile.h"
#include "program.h"
#include "spawn.h"
#include "srunstep.h"

/* Most sruns `krun down` stops at once, and how long it waits for them
 * (Slurm gives a step's tasks KillWait seconds after SIGTERM). */
#define SRUNSTEP_MAX 1024
#define SRUNSTEP_STOP_MS 15000

/* The daemon's command: its node name is the task's, known on the node. */
#define KRUND_SCRIPT                                                                 \
    "exec \"$0\" --secrets-stdin --node \"$SLURMD_NODENAME\" --idle-timeout \"$1\" " \
    "--pool \"$2\""

void srunstep_free_argv (char **argv)
{
    if (argv) {
        for (int i = 0; argv[i]; i++)
            free (argv[i]);
        free (argv);
    }
}

char **srunstep_argv (const struct srunstep *s, const char *const nodes[], int n)
{
    char **argv = calloc (32, sizeof (*argv));
    size_t len = 1;
    char *list;
    int k = 0;

    if (!argv)
        return NULL;
    for (int i = 0; i < n; i++)
        len += strlen (nodes[i]) + 1;
    if (!(list = calloc (1, len)))
        goto error;
    for (int i = 0; i < n; i++)
        strcat (strcat (list, i ? "," : ""), nodes[i]);
    if (!(argv[k++] = strdup (s->srun)) ||
        asprintf (&argv[k++], "--jobid=%s", s->job_id) < 0 ||
        !(argv[k++] = strdup ("--job-name=krund")) ||
        asprintf (&argv[k++], "--nodes=%d", n) < 0 ||
        asprintf (&argv[k++], "--ntasks=%d", n) < 0 ||
        !(argv[k++] = strdup ("--ntasks-per-node=1")) ||
        asprintf (&argv[k++], "--nodelist=%s", list) < 0 ||
        !(argv[k++] = strdup ("--whole")) || !(argv[k++] = strdup ("--overlap")) ||
        !(argv[k++] = strdup ("--cpu-bind=none")) ||
        !(argv[k++] = strdup ("--input=all")) ||
        !(argv[k++] = strdup ("--kill-on-bad-exit=0")) ||
        !(argv[k++] = strdup ("--label")) || !(argv[k++] = strdup ("/bin/sh")) ||
        !(argv[k++] = strdup ("-c")) || !(argv[k++] = strdup (KRUND_SCRIPT)) ||
        !(argv[k++] = strdup (s->krund)) ||
        asprintf (&argv[k++], "%d", s->idle_timeout) < 0 ||
        !(argv[k++] = strdup (s->pool))) {
        /* asprintf leaves its pointer undefined on failure. */
        argv[k - 1] = NULL;
        goto error;
    }
    free (list);
    return argv;
error:
    free (list);
    srunstep_free_argv (argv);
    errno = ENOMEM;
    return NULL;
}

pid_t srunstep_start (const struct srunstep *s, const char *const nodes[], int n,
                      const void *secrets, size_t len, struct krun_error *errp)
{
    char log[PATH_MAX], record[PATH_MAX], **argv;
    /* spawn_detached() runs a path: srun is looked up here, as execvp would. */
    char *srun = program_resolve (s->srun, errp);
    pid_t pid;

    if (!srun)
        return -1;
    if (!(argv = srunstep_argv (s, nodes, n))) {
        free (srun);
        return errprintf_errno (errp, "cannot start srun");
    }
    snprintf (log, sizeof (log), "%s/srun-%s.log", s->state_dir, s->job_id);
    pid = spawn_detached (srun, argv, NULL, log, secrets, len, errp);
    srunstep_free_argv (argv);
    free (srun);
    if (pid < 0)
        return -1;
    snprintf (record, sizeof (record), "%s/srun-%s.%d.pid", s->state_dir, s->job_id,
              (int)pid);
    if (pidfile_record (record, pid, errp) < 0)
        return -1;
    return pid;
}

int srunstep_stop (const char *state_dir, const char *job_id)
{
    pid_t pids[SRUNSTEP_MAX];
    DIR *d = opendir (state_dir);
    char prefix[64];
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    /* srun-JOB.PID.pid */
    snprintf (prefix, sizeof (prefix), "srun-%s%s", job_id ? job_id : "",
              job_id ? "." : "");
    while ((e = readdir (d)) && n < SRUNSTEP_MAX) {
        size_t len = strlen (e->d_name);
        char record[PATH_MAX];
        if (len < 9 || strncmp (e->d_name, prefix, strlen (prefix)) != 0 ||
            strcmp (e->d_name + len - 4, ".pid") != 0)
            continue;
        snprintf (record, sizeof (record), "%s/%s", state_dir, e->d_name);
        if ((pids[n] = pidfile_running (record)) > 0)
            kill (pids[n++], SIGTERM);
        unlink (record);
    }
    closedir (d);
    int64_t deadline = clock_mono_ms () + SRUNSTEP_STOP_MS;
    for (int i = 0; i < n; i++) {
        int64_t left = deadline - clock_mono_ms ();
        pidfile_wait_stopped (pids[i], left > 0 ? (int)left : 0);
    }
    return n;
}
