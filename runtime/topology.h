/* topology.h - the cores a worker may use, and pinning to them: the only
 * module that talks to hwloc.
 *
 * A topology is this machine's (restricted to the process's allowed cpuset,
 * as a container's cgroup or taskset sets it), or a description loaded for
 * tests: an hwloc XML file or a synthetic string such as "pack:2 core:4 pu:2".
 * Binding is only done on the machine's own topology; on a loaded one
 * topology_bind_core() does nothing and returns 0, so tests never depend on
 * the build machine.
 */
#ifndef KRUN_TOPOLOGY_H
#define KRUN_TOPOLOGY_H

#include <stdbool.h>

#include "error.h"

struct topology;

/* spec NULL: this machine.  Otherwise the path of an existing XML file, or a
 * synthetic description.  Returns NULL with errno set (EINVAL for a bad
 * description, ENOENT for a missing file given with a '/' or ".xml") and
 * errp naming spec. */
struct topology *topology_create (const char *spec, struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void topology_destroy (struct topology *t);

/* Number of usable cores (cores with at least one allowed PU). */
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
