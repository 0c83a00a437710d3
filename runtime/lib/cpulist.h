/* cpulist.h - Linux CPU lists ("0-3,8,10-11", as /proc/self/status's
 * Cpus_allowed_list and hwloc write them) as CPU sets, so that a slot can
 * give a task the CPUs of several slots (`krun -c N`) or of its whole node
 * (`krun --bind-to none`) with sched_setaffinity() in the task's process.
 */
#ifndef KRUN_CPULIST_H
#define KRUN_CPULIST_H

/* cpu_set_t needs _GNU_SOURCE, defined before any include. */
#include <sched.h>

/* Add the CPUs of list to *set (which is not cleared first).  Returns the
 * number of CPUs the list names, or -1 with errno EINVAL for a malformed
 * list or a CPU beyond CPU_SETSIZE (*set then unchanged). */
int cpulist_add (const char *list, cpu_set_t *set);

#endif
