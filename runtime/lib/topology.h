/* topology.h - the cores a worker may use, and pinning to them: the only
 * module that talks to hwloc.
 *
 * A topology is this machine's (restricted to hwloc's allowed cpuset, as a
 * cpuset cgroup sets it, and to the process's affinity mask, as taskset or a
 * container runtime sets it), or a description loaded for
 * tests: an hwloc XML file or a synthetic string such as "pack:2 core:4 pu:2".
 * Binding is only done on the machine's own topology; on a loaded one
 * topology_bind_core() does nothing and returns 0, so tests never depend on
 * the build machine.
 */
#ifndef KRUN_TOPOLOGY_H
#define KRUN_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct topology;

/* What a "core" of this module is, so what one slot gets: a core (all its
 * allowed PUs) or a single PU (hardware thread; a Kubernetes CPU is one). */
enum topology_unit {
    TOPOLOGY_CORE = 0,
    TOPOLOGY_PU = 1,
};

/* spec NULL: this machine.  Otherwise the path of an existing XML file, or a
 * synthetic description.  Returns NULL with errno set (EINVAL for a bad
 * description, ENOENT for a missing file given with a '/' or ".xml") and
 * errp naming spec. */
struct topology *topology_create (const char *spec, struct krun_error *errp);

/* Keep only the PUs of cpus, a Linux CPU list of OS indexes ("0-3,8"), as
 * a process's affinity mask restricts this machine's topology (done by
 * topology_create (NULL) itself).  Returns 0, or -1 with errno EINVAL (bad
 * list) or ENODEV (no usable core would remain; t is then unchanged). */
int topology_restrict (struct topology *t, const char *cpus, struct krun_error *errp);

/* Count and bind by unit from now on (TOPOLOGY_CORE at creation).  Returns
 * 0, or -1 with errno EINVAL for an unknown unit. */
int topology_set_unit (struct topology *t, enum topology_unit unit);

/* The usable PUs of core (unit) i as a CPU list ("2-3"), written to buf.
 * Returns 0 or -1 (EINVAL: no such core; buf too small). */
int topology_core_cpus (const struct topology *t, int i, char *buf, size_t size);

/* The usable PUs as a CPU list ("0-3"), written to buf.  Returns 0 or -1
 * (buf too small: truncated). */
int topology_allowed_cpus (const struct topology *t, char *buf, size_t size);

/* The CPUs the calling thread may run on now (its affinity mask, what
 * /proc/self/status shows as Cpus_allowed_list), written to buf as a CPU
 * list.  Returns 0 or -1 with errno. */
int topology_current_cpus (const struct topology *t, char *buf, size_t size);

/* Accepts NULL; keeps errno. */
void topology_destroy (struct topology *t);

/* Number of usable cores (cores with at least one allowed PU; PUs with
 * TOPOLOGY_PU).  "Core" below means that unit. */
int topology_core_count (const struct topology *t);

/* OS index of core i (0 <= i < count), as the kernel numbers it (the first
 * allowed PU's os_index), or -1 with errno EINVAL. */
int topology_core_os_index (const struct topology *t, int i);

/* True if this is the machine's own topology (binding takes effect). */
bool topology_is_this_machine (const struct topology *t);

/* Bind the calling process (all threads, and children it forks later) to the
 * allowed PUs of core i.  No-op on a loaded topology.  Returns 0 or -1 with
 * errno and errp naming the core. */
int topology_bind_core (const struct topology *t, int i, struct krun_error *errp);

#endif
