/* reaper.h - no process outlives its task: a slot, and its daemon, adopt the
 * orphans among their descendants and kill them.
 *
 * A process that makes itself a child subreaper (PR_SET_CHILD_SUBREAPER)
 * becomes the parent of every orphan below it: a task's grandchild that
 * double-forks or calls setsid() to leave the task's process group is
 * re-parented to the slot when its parent exits, and what a killed slot
 * leaves is re-parented to the daemon.  Each then finds these strays among
 * its own children (/proc/self/task/PID/children) and kills them.
 *
 * What this cannot catch: a process that another process started on the
 * task's behalf (systemd-run, ssh, at, a D-Bus activated service, a
 * container runtime) is not a descendant, and a process re-parented while
 * neither its slot nor its daemon is alive (both killed at once) goes to
 * init.
 */
#ifndef KRUN_REAPER_H
#define KRUN_REAPER_H

#include <sys/types.h>

/* Make the calling process the reaper of its orphaned descendants.  Returns
 * 0, or -1 with errno (EINVAL on kernels without child subreapers). */
int reaper_become (void);

/* Send SIGKILL to every child of the calling process whose pid is not in
 * keep[0..nkeep), and to the process group each leads.  Does not reap
 * (the caller's waitpid() does) and never blocks.  Returns how many such
 * children there were, exited but unreaped ones included, or -1 with errno
 * if the children cannot be listed (ENOENT: a kernel without
 * CONFIG_PROC_CHILDREN). */
int reaper_kill_strays (const pid_t *keep, int nkeep);

/* For a process all of whose children are strays (a slot between tasks):
 * kill and reap them, and the children they leave in turn, until none is
 * left or timeout_ms has passed.  Returns 0 when none is left, else how
 * many are (-1 with errno if they cannot be listed).  The common case, no
 * child at all, costs one waitpid(). */
int reaper_clear (int timeout_ms);

/* The state letter of process pid in /proc/PID/stat (R, S, D, T stopped,
 * t traced, Z zombie...), or 0 if there is no such process. */
char reaper_process_state (pid_t pid);

#endif
