/* topology.c - see topology.h.  The only file that includes hwloc. */
#include <errno.h>
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology.h"

struct topology {
    hwloc_topology_t hw;
    bool this_machine;
    int ncores;
    hwloc_obj_t *cores; /* Core objects, or PUs where the machine has no cores */
};

static bool looks_like_file (const char *spec)
{
    size_t len = strlen (spec);
    return strchr (spec, '/') || (len > 4 && strcmp (spec + len - 4, ".xml") == 0) ||
           access (spec, F_OK) == 0;
}

/* Cores with at least one allowed PU, in hwloc's logical order. */
static int collect_cores (struct topology *t)
{
    hwloc_obj_type_t type = HWLOC_OBJ_CORE;
    hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset (t->hw);
    int n = hwloc_get_nbobjs_by_type (t->hw, HWLOC_OBJ_CORE);

    if (n <= 0) {
        /* Some VMs report PUs only: each PU is then a core. */
        type = HWLOC_OBJ_PU;
        n = hwloc_get_nbobjs_by_type (t->hw, HWLOC_OBJ_PU);
    }
    if (n <= 0 || !(t->cores = calloc (n, sizeof (*t->cores))))
        return -1;
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type (t->hw, type, i);
        if (obj && obj->cpuset && hwloc_bitmap_intersects (obj->cpuset, allowed))
            t->cores[t->ncores++] = obj;
    }
    return 0;
}

struct topology *topology_create (const char *spec, struct krun_error *errp)
{
    struct topology *t = calloc (1, sizeof (*t));

    if (!t) {
        errprintf_errno (errp, "topology");
        return NULL;
    }
    if (hwloc_topology_init (&t->hw) < 0) {
        errprintf_errno (errp, "hwloc_topology_init");
        free (t);
        return NULL;
    }
    t->this_machine = spec == NULL;
    if (spec && looks_like_file (spec)) {
        if (access (spec, R_OK) < 0) {
            errprintf_errno (errp, "topology file %s", spec);
            goto error;
        }
        if (hwloc_topology_set_xml (t->hw, spec) < 0) {
            errno = EINVAL;
            errprintf (errp, "topology file %s: not an hwloc XML topology", spec);
            goto error;
        }
    } else if (spec && hwloc_topology_set_synthetic (t->hw, spec) < 0) {
        errno = EINVAL;
        errprintf (errp, "synthetic topology '%s' is not valid", spec);
        goto error;
    }
    if (hwloc_topology_load (t->hw) < 0) {
        errprintf_errno (errp, "cannot load topology %s",
                         spec ? spec : "of this machine");
        goto error;
    }
    if (collect_cores (t) < 0 || t->ncores == 0) {
        errno = ENODEV;
        errprintf (errp, "topology %s has no usable core",
                   spec ? spec : "of this machine");
        goto error;
    }
    return t;
error:
    topology_destroy (t);
    return NULL;
}

void topology_destroy (struct topology *t)
{
    int saved_errno = errno;
    if (t) {
        hwloc_topology_destroy (t->hw);
        free (t->cores);
        free (t);
    }
    errno = saved_errno;
}

int topology_core_count (const struct topology *t)
{
    return t->ncores;
}

int topology_core_os_index (const struct topology *t, int i)
{
    if (i < 0 || i >= t->ncores) {
        errno = EINVAL;
        return -1;
    }
    /* The first allowed PU's OS index: the number the kernel, taskset and
     * /proc/self/status Cpus_allowed_list use. */
    hwloc_bitmap_t set = hwloc_bitmap_dup (t->cores[i]->cpuset);
    int first;
    if (!set)
        return -1;
    hwloc_bitmap_and (set, set, hwloc_topology_get_allowed_cpuset (t->hw));
    first = hwloc_bitmap_first (set);
    hwloc_bitmap_free (set);
    return first;
}

bool topology_is_this_machine (const struct topology *t)
{
    return t->this_machine;
}

int topology_bind_core (const struct topology *t, int i, struct krun_error *errp)
{
    hwloc_bitmap_t set;
    int rc;

    if (i < 0 || i >= t->ncores) {
        errno = EINVAL;
        return errprintf (errp, "core %d does not exist (%d cores)", i, t->ncores);
    }
    if (!t->this_machine)
        return 0;
    if (!(set = hwloc_bitmap_dup (t->cores[i]->cpuset)))
        return errprintf_errno (errp, "core %d", i);
    hwloc_bitmap_and (set, set, hwloc_topology_get_allowed_cpuset (t->hw));
    rc = hwloc_set_cpubind (t->hw, set, HWLOC_CPUBIND_PROCESS);
    hwloc_bitmap_free (set);
    if (rc < 0)
        return errprintf_errno (errp, "cannot bind to core %d (os index %d)", i,
                                topology_core_os_index (t, i));
    return 0;
}
