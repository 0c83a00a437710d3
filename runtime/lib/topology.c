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
    enum topology_unit unit;
    hwloc_bitmap_t allowed; /* hwloc's allowed PUs, less those restricted away */
    int ncores;
    hwloc_obj_t *cores; /* Core objects, or PUs (TOPOLOGY_PU, or no cores) */
};

static bool looks_like_file (const char *spec)
{
    size_t len = strlen (spec);
    return strchr (spec, '/') || (len > 4 && strcmp (spec + len - 4, ".xml") == 0) ||
           access (spec, F_OK) == 0;
}

/* Cores (or PUs) with at least one allowed PU, in hwloc's logical order. */
static int collect_cores (struct topology *t)
{
    hwloc_obj_type_t type = t->unit == TOPOLOGY_PU ? HWLOC_OBJ_PU : HWLOC_OBJ_CORE;
    int n = hwloc_get_nbobjs_by_type (t->hw, type);

    free (t->cores);
    t->cores = NULL;
    t->ncores = 0;
    if (n <= 0) {
        /* Some VMs report PUs only: each PU is then a core. */
        type = HWLOC_OBJ_PU;
        n = hwloc_get_nbobjs_by_type (t->hw, HWLOC_OBJ_PU);
    }
    if (n <= 0 || !(t->cores = calloc (n, sizeof (*t->cores))))
        return -1;
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type (t->hw, type, i);
        if (obj && obj->cpuset && hwloc_bitmap_intersects (obj->cpuset, t->allowed))
            t->cores[t->ncores++] = obj;
    }
    return 0;
}

static int restrict_to_affinity (struct topology *t, struct krun_error *errp)
{
    hwloc_bitmap_t mask = hwloc_bitmap_alloc ();

    if (!mask)
        return errprintf_errno (errp, "topology");
    if (hwloc_get_cpubind (t->hw, mask, HWLOC_CPUBIND_THREAD) < 0) {
        hwloc_bitmap_free (mask);
        return errprintf_errno (errp, "cannot read this process's affinity mask");
    }
    hwloc_bitmap_and (t->allowed, t->allowed, mask);
    hwloc_bitmap_free (mask);
    return 0;
}

/* hwloc_topology_init() without hwloc's plugins: it loads every one in its
 * plugin directory (here OpenGL through X11, OpenCL, PCI and libxml2, about
 * twenty libraries), which describe I/O devices krun never looks at; XML
 * topologies are read by hwloc's own parser.  That cost each daemon and
 * launcher 2 ms at start, and every fork of a daemon copied the mappings of
 * those libraries for each slot.  hwloc offers no call for it, only its
 * environment variable (an empty path: no plugin), read here and restored
 * at once, so that tasks still see the user's.  Returns hwloc's result. */
static int init_without_plugins (hwloc_topology_t *hw)
{
    const char *old = getenv ("HWLOC_PLUGINS_PATH");
    char *saved = old ? strdup (old) : NULL;
    int rc, saved_errno;

    if (old && !saved)
        return hwloc_topology_init (hw); /* out of memory: with plugins */
    setenv ("HWLOC_PLUGINS_PATH", "", 1);
    rc = hwloc_topology_init (hw);
    saved_errno = errno;
    if (saved)
        setenv ("HWLOC_PLUGINS_PATH", saved, 1);
    else
        unsetenv ("HWLOC_PLUGINS_PATH");
    free (saved);
    errno = saved_errno;
    return rc;
}

struct topology *topology_create (const char *spec, struct krun_error *errp)
{
    struct topology *t = calloc (1, sizeof (*t));

    if (!t) {
        errprintf_errno (errp, "topology");
        return NULL;
    }
    if (init_without_plugins (&t->hw) < 0) {
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
    if (!(t->allowed = hwloc_bitmap_dup (hwloc_topology_get_allowed_cpuset (t->hw)))) {
        errprintf_errno (errp, "topology");
        goto error;
    }
    /* hwloc's allowed set comes from the cpuset cgroup as /proc/self/cpuset
     * names it; in a container on the host's cgroup namespace that is a host
     * path and hwloc sees no restriction.  The affinity mask is what the
     * kernel really lets the process run on (taskset, the static CPU
     * manager's exclusive cores): the slots use no other PU. */
    if (t->this_machine && restrict_to_affinity (t, errp) < 0)
        goto error;
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
        hwloc_bitmap_free (t->allowed);
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
    hwloc_bitmap_and (set, set, t->allowed);
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
    hwloc_bitmap_and (set, set, t->allowed);
    rc = hwloc_set_cpubind (t->hw, set, HWLOC_CPUBIND_PROCESS);
    hwloc_bitmap_free (set);
    if (rc < 0)
        return errprintf_errno (errp, "cannot bind to core %d (os index %d)", i,
                                topology_core_os_index (t, i));
    return 0;
}

int topology_restrict (struct topology *t, const char *cpus, struct krun_error *errp)
{
    hwloc_bitmap_t mask = hwloc_bitmap_alloc ();
    hwloc_bitmap_t saved = hwloc_bitmap_dup (t->allowed);

    if (!mask || !saved) {
        hwloc_bitmap_free (mask);
        hwloc_bitmap_free (saved);
        return errprintf_errno (errp, "topology");
    }
    if (!cpus || !*cpus || hwloc_bitmap_list_sscanf (mask, cpus) < 0) {
        hwloc_bitmap_free (mask);
        hwloc_bitmap_free (saved);
        errno = EINVAL;
        return errprintf (errp, "cpu list '%s' is not valid", cpus ? cpus : "");
    }
    hwloc_bitmap_and (t->allowed, t->allowed, mask);
    hwloc_bitmap_free (mask);
    if (collect_cores (t) < 0 || t->ncores == 0) {
        /* No side effect on failure: the topology stays as it was. */
        hwloc_bitmap_copy (t->allowed, saved);
        hwloc_bitmap_free (saved);
        collect_cores (t);
        errno = ENODEV;
        return errprintf (errp, "cpu list '%s' leaves no usable core", cpus);
    }
    hwloc_bitmap_free (saved);
    return 0;
}

int topology_set_unit (struct topology *t, enum topology_unit unit)
{
    if (unit != TOPOLOGY_CORE && unit != TOPOLOGY_PU) {
        errno = EINVAL;
        return -1;
    }
    t->unit = unit;
    return collect_cores (t);
}

int topology_core_cpus (const struct topology *t, int i, char *buf, size_t size)
{
    hwloc_bitmap_t set;
    int n;

    if (i < 0 || i >= t->ncores) {
        errno = EINVAL;
        return -1;
    }
    if (!(set = hwloc_bitmap_dup (t->cores[i]->cpuset)))
        return -1;
    hwloc_bitmap_and (set, set, t->allowed);
    n = hwloc_bitmap_list_snprintf (buf, size, set);
    hwloc_bitmap_free (set);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int topology_allowed_cpus (const struct topology *t, char *buf, size_t size)
{
    int n = hwloc_bitmap_list_snprintf (buf, size, t->allowed);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int topology_current_cpus (const struct topology *t, char *buf, size_t size)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc ();
    int rc = -1;

    if (set && hwloc_get_cpubind (t->hw, set, HWLOC_CPUBIND_THREAD) == 0) {
        int n = hwloc_bitmap_list_snprintf (buf, size, set);
        rc = n < 0 || (size_t)n >= size ? -1 : 0;
    }
    hwloc_bitmap_free (set);
    return rc;
}
