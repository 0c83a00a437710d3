/* cgroup.h - a cgroup (v2) per slot, so that what a slot's tasks started can
 * be killed all at once, even when nobody adopted it.
 *
 * The daemon makes krund.<pid> under its own cgroup, with a child slot.<i>
 * per slot: each slot makes its own (the daemon only the first, to find
 * out whether any can be made) and moves itself there once, when it starts;
 * its tasks are born in it (no cost per task).  When a slot dies, the daemon
 * kills everything left in its cgroup (cgroup.kill) before restarting it;
 * when a daemon starts, it kills what is left in the cgroups of daemons that
 * died without cleaning up (the daemon and its slots killed at once), which
 * the subreapers (reaper.h) cannot catch.
 *
 * Only cgroup v2 with cgroup.kill (Linux 5.14) is used, wherever it is
 * mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host).
 * Where no cgroup can be made (v1 only, a read-only cgroupfs as in most
 * containers, a user without a delegated cgroup), cgroup_create() fails and
 * krund relies on its subreapers alone.
 */
#ifndef KRUN_CGROUP_H
#define KRUN_CGROUP_H

#include "error.h"

struct cgroup;

/* Make the set of nslots slots' cgroups under the calling process's cgroup,
 * after killing what dead daemons left in theirs (slot 0's cgroup is made
 * now, the others by cgroup_enter()).  Returns the set (destroy it in the
 * same process), or NULL with errno and errp saying why none could be
 * made. */
struct cgroup *cgroup_create (int nslots, struct krun_error *errp);

/* Kill what is left in every slot's cgroup and remove the directories
 * (waiting at most a second for the killed to go).  Accepts NULL; keeps
 * errno. */
void cgroup_destroy (struct cgroup *cg);

/* Move the calling process into slot's cgroup, made first if it is not
 * there yet (a slot, once, at its start).  Returns 0, or -1 with errno. */
int cgroup_enter (const struct cgroup *cg, int slot);

/* SIGKILL to every process in slot's cgroup (the slot is dead: what is left
 * there is its task's); 0 also when the slot never made its cgroup.
 * Returns 0, or -1 with errno. */
int cgroup_kill (const struct cgroup *cg, int slot);

/* The directory of the set, for logs (borrowed). */
const char *cgroup_path (const struct cgroup *cg);

#endif
