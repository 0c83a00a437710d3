/* inherit.h - what a task inherits from the launcher's process besides its
 * environment, as srun's --propagate and hydra's tasks do: the umask, the
 * nice value and the soft resource limits of the list below (core, cpu,
 * data, fsize, memlock, nofile, stack, as).  Not nproc (counted per user,
 * it would count the daemon's processes) nor rss (without effect).
 *
 * The launcher captures them into the job's announcement; the slot applies
 * them in the task's process just before exec.  A value the task's process
 * may not take is left as the daemon had it: a soft limit above the hard
 * one is lowered to the hard one, a lower nice value (more priority) than
 * the daemon's needs privilege and is not taken.
 */
#ifndef KRUN_INHERIT_H
#define KRUN_INHERIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>

#include "error.h"

#define INHERIT_MAX_LIMITS 8
/* nice when none was captured: the daemon's stays. */
#define INHERIT_NICE_KEEP 100

struct inherit_limit {
    int resource; /* RLIMIT_* */
    rlim_t soft;  /* RLIM_INFINITY: unlimited */
};

/* A plain value. */
struct inherit {
    int umask; /* -1: keep the daemon's */
    int nice;  /* INHERIT_NICE_KEEP: keep the daemon's */
    int nlimits;
    struct inherit_limit limits[INHERIT_MAX_LIMITS];
    /* Not the launcher's but the slot's choice: the CPUs the task may run
     * on (`krun -c N`, `--bind-to none`) when has_cpus, else the slot's
     * binding.  A cpu_set_t's bits, kept as such so that this header needs
     * no _GNU_SOURCE. */
    bool has_cpus;
    unsigned long cpus[1024 / (8 * sizeof (unsigned long))];
};

/* Nothing to change: the daemon's values stay. */
void inherit_none (struct inherit *in);

/* The calling process's umask, nice value and soft limits. */
void inherit_capture (struct inherit *in);

/* Limit i as text, "core=0", "stack=8388608", "nofile=unlimited", into buf.
 * Returns buf. */
const char *inherit_limit_format (const struct inherit_limit *l, char *buf,
                                  size_t size);

/* Parse n such texts into in's limits (umask and nice are left alone).
 * Returns 0, or -1 with errno EINVAL and errp quoting the bad text. */
int inherit_limits_parse (char *const texts[], int n, struct inherit *in,
                          struct krun_error *errp);

/* Let the task run on the CPUs of the n CPU lists ("0-1", "4"): their
 * union.  Returns 0, or -1 with errno EINVAL (a malformed list) and errp
 * quoting it; in is then unchanged. */
int inherit_set_cpus (struct inherit *in, const char *const lists[], int n,
                      struct krun_error *errp);

/* Leave out of in what a child of the calling process has already: the
 * umask it would set, a nice value not above the caller's, the limits it
 * would leave as they are.  inherit_apply() in such a child then makes
 * only the system calls that change something (18 fewer per task when the
 * launcher's values are the daemon's).  For a process that starts many
 * tasks and does not change its own umask, nice value or limits between
 * this call and their start. */
void inherit_drop_unchanged (struct inherit *in);

/* In the task's process, before exec: apply in (system calls only, so it
 * may run in a vfork()ed child).  Best effort: what cannot be set stays. */
void inherit_apply (const struct inherit *in);

#endif
