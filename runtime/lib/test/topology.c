/* Unit tests of topology: synthetic and XML topologies never depend on the
 * build machine; one test binds on the machine itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "tests/tap.h"
#include "topology.h"

static void test_synthetic (void)
{
    struct topology *t = topology_create ("pack:2 core:4 pu:2", NULL);
    const int want[] = {0, 2, 4, 6, 8, 10, 12, 14};
    bool same = true;

    if (!ok (t != NULL, "synthetic pack:2 core:4 pu:2 loads"))
        return;
    is_int (topology_core_count (t), 8, "8 cores");
    for (int i = 0; i < 8; i++)
        same = same && topology_core_os_index (t, i) == want[i];
    ok (same, "core os indexes are the first PU of each core (0 2 4 ... 14)");
    ok (!topology_is_this_machine (t), "not this machine");
    ok (topology_bind_core (t, 3, NULL) == 0,
        "binding on a loaded topology is a no-op");
    errno = 0;
    ok (topology_core_os_index (t, 8) < 0 && errno == EINVAL, "core 8 out of range");
    errno = 0;
    ok (topology_bind_core (t, -1, NULL) < 0 && errno == EINVAL,
        "bind core -1: EINVAL");
    topology_destroy (t);

    t = topology_create ("core:3 pu:1", NULL);
    ok (t && topology_core_count (t) == 3, "core:3 pu:1 has 3 cores");
    topology_destroy (t);
}

/* A process's affinity mask restricts the slots (issue 13, item 2), and a
 * slot is a PU under TOPOLOGY_PU (item 11).  Synthetic topologies number
 * PUs like Linux: core k of "core:4 pu:2" has PUs 2k and 2k+1. */
static void test_restrict_and_unit (void)
{
    struct krun_error error = {{0}};
    struct topology *t = topology_create ("core:4 pu:2", NULL);
    char cpus[64];

    if (!ok (t != NULL, "synthetic core:4 pu:2 loads"))
        return;
    ok (topology_restrict (t, "0-7", &error) == 0, "a mask of all 8 PUs");
    is_int (topology_core_count (t), 4, "by core: 4 slots");
    ok (topology_set_unit (t, TOPOLOGY_PU) == 0, "unit PU");
    is_int (topology_core_count (t), 8, "by PU: 8 slots, one per Kubernetes CPU");
    is_int (topology_core_os_index (t, 5), 5, "PU slot 5 is cpu 5");
    ok (topology_set_unit (t, TOPOLOGY_CORE) == 0, "back to unit core");
    ok (topology_restrict (t, "2-4", &error) == 0, "a mask of PUs 2-4");
    is_int (topology_core_count (t), 2, "by core: 2 slots (cores 1 and 2)");
    is_int (topology_core_os_index (t, 1), 4, "core slot 1 is cpu 4 (its allowed PU)");
    ok (topology_allowed_cpus (t, cpus, sizeof (cpus)) == 0 &&
            strcmp (cpus, "2-4") == 0,
        "allowed cpus are 2-4: %s", cpus);
    ok (topology_core_cpus (t, 0, cpus, sizeof (cpus)) == 0 &&
            strcmp (cpus, "2-3") == 0,
        "core slot 0 has cpus 2-3: %s", cpus);
    ok (topology_core_cpus (t, 1, cpus, sizeof (cpus)) == 0 && strcmp (cpus, "4") == 0,
        "core slot 1 has cpu 4 (its allowed PU): %s", cpus);
    errno = 0;
    ok (topology_core_cpus (t, 2, cpus, sizeof (cpus)) < 0 && errno == EINVAL,
        "no core slot 2: EINVAL");
    ok (topology_set_unit (t, TOPOLOGY_PU) == 0 && topology_core_count (t) == 3,
        "by PU: 3 slots");
    errno = 0;
    ok (topology_restrict (t, "6-7", &error) < 0 && errno == ENODEV,
        "a mask leaving no PU: ENODEV");
    ok (strstr (error.text, "6-7") != NULL, "message names the list: %s", error.text);
    is_int (topology_core_count (t), 3, "and the topology is unchanged");
    errno = 0;
    ok (topology_restrict (t, "zero", &error) < 0 && errno == EINVAL,
        "a bad list: EINVAL");
    errno = 0;
    ok (topology_set_unit (t, 7) < 0 && errno == EINVAL, "unknown unit: EINVAL");
    topology_destroy (t);
}

static void test_bad_specs (void)
{
    struct krun_error error = {{0}};
    struct topology *t;

    errno = 0;
    t = topology_create ("pack:x core:banana", &error);
    ok (t == NULL && errno == EINVAL, "bad synthetic description: EINVAL");
    ok (strstr (error.text, "pack:x core:banana") != NULL, "message names it: %s",
        error.text);
    errno = 0;
    t = topology_create ("/no/such/topology.xml", &error);
    ok (t == NULL && errno == ENOENT, "missing XML file: ENOENT");
    ok (strstr (error.text, "/no/such/topology.xml") != NULL, "message names it: %s",
        error.text);
}

static void test_xml (void)
{
    const char *top = getenv ("KRUN_TOP_SRCDIR");
    char path[PATH_MAX];
    struct topology *t;

    snprintf (path, sizeof (path), "%s/runtime/lib/test/topology-4core.xml",
              top ? top : SRCDIR_FALLBACK);
    t = topology_create (path, NULL);
    ok (t && topology_core_count (t) == 4, "XML fixture loads with 4 cores");
    ok (t && !topology_is_this_machine (t), "an XML topology is not this machine");
    topology_destroy (t);
}

static void test_this_machine (void)
{
    struct topology *t = topology_create (NULL, NULL);
    cpu_set_t set;
    int core;

    if (!ok (t != NULL, "this machine's topology loads"))
        return;
    ok (topology_core_count (t) >= 1, "it has %d usable cores",
        topology_core_count (t));
    ok (topology_is_this_machine (t), "it is this machine");
    core = topology_core_os_index (t, 0);
    ok (topology_bind_core (t, 0, NULL) == 0, "binding to core 0 works");
    ok (sched_getaffinity (0, sizeof (set), &set) == 0 && CPU_ISSET (core, &set),
        "the process now runs on cpu %d", core);
    ok (CPU_COUNT (&set) <= 2, "and on that core's PUs only (%d cpus)",
        CPU_COUNT (&set));
    topology_destroy (t);
}

/* Under a narrower affinity mask (taskset) this machine's topology has the
 * cores of that mask only, whatever hwloc's cpuset says. */
static void test_this_machine_masked (void)
{
    cpu_set_t set, one;
    struct topology *t;
    char cpus[64], want[16];
    int cpu;

    if (sched_getaffinity (0, sizeof (set), &set) < 0)
        return;
    for (cpu = CPU_SETSIZE - 1; cpu > 0 && !CPU_ISSET (cpu, &set); cpu--)
        ;
    CPU_ZERO (&one);
    CPU_SET (cpu, &one);
    if (!ok (sched_setaffinity (0, sizeof (one), &one) == 0,
             "affinity narrowed to cpu %d", cpu))
        return;
    t = topology_create (NULL, NULL);
    ok (t && topology_core_count (t) == 1, "this machine under the mask: 1 core (%d)",
        t ? topology_core_count (t) : -1);
    ok (t && topology_core_os_index (t, 0) == cpu, "and it is cpu %d", cpu);
    snprintf (want, sizeof (want), "%d", cpu);
    ok (t && topology_current_cpus (t, cpus, sizeof (cpus)) == 0 &&
            strcmp (cpus, want) == 0,
        "current cpus: %s", t ? cpus : "?");
    topology_destroy (t);
    sched_setaffinity (0, sizeof (set), &set);
}

/* Mappings of hwloc plugins (".../hwloc/hwloc_NAME.so") in this process;
 * if dir is not NULL, the directory of the first goes there. */
static int mapped_plugins (char *dir, size_t size)
{
    FILE *f = fopen ("/proc/self/maps", "r");
    char line[4096], *p, *slash;
    int n = 0;

    if (!f)
        return -1;
    while (fgets (line, sizeof (line), f)) {
        if (!(p = strstr (line, "/hwloc/hwloc_")))
            continue;
        if (n++ == 0 && dir && (slash = strchr (line, '/'))) {
            p[strlen ("/hwloc")] = '\0';
            snprintf (dir, size, "%s", slash);
        }
    }
    fclose (f);
    return n;
}

/* hwloc loads every plugin of its directory at init (I/O devices: OpenGL
 * through X11, OpenCL, PCI, libxml2); topology_create() loads none, and
 * leaves HWLOC_PLUGINS_PATH as the user had it, for the tasks. */
static void test_no_plugins (void)
{
    const char *top = getenv ("KRUN_TOP_SRCDIR");
    char dir[PATH_MAX] = "", xml[PATH_MAX];
    hwloc_topology_t control;
    struct topology *t;

    /* The control: hwloc's own init maps them, where they are installed
     * (scripts/install-deps installs libhwloc-plugins, as apt's
     * recommendations do). */
    if (hwloc_topology_init (&control) < 0)
        bail_out ("hwloc_topology_init");
    int with = mapped_plugins (dir, sizeof (dir));
    hwloc_topology_destroy (control);
    if (with <= 0) {
        ok (true,
            "# SKIP no hwloc plugin is installed (libhwloc-plugins): "
            "nothing to keep out");
        return;
    }
    ok (mapped_plugins (NULL, 0) == 0,
        "hwloc's own init mapped %d plugin files from %s; unloaded with it", with, dir);
    /* The user names that very directory: still none. */
    setenv ("HWLOC_PLUGINS_PATH", dir, 1);
    t = topology_create (NULL, NULL);
    ok (t != NULL, "this machine's topology loads");
    is_int (mapped_plugins (NULL, 0), 0,
            "no hwloc plugin is mapped while it is loaded");
    is_str (getenv ("HWLOC_PLUGINS_PATH"), dir,
            "HWLOC_PLUGINS_PATH is the user's again");
    topology_destroy (t);
    unsetenv ("HWLOC_PLUGINS_PATH");
    t = topology_create ("pack:1 core:2 pu:1", NULL);
    ok (t && mapped_plugins (NULL, 0) == 0 && !getenv ("HWLOC_PLUGINS_PATH"),
        "a synthetic topology too, and HWLOC_PLUGINS_PATH stays unset");
    topology_destroy (t);
    snprintf (xml, sizeof (xml), "%s/runtime/lib/test/topology-4core.xml",
              top ? top : SRCDIR_FALLBACK);
    t = topology_create (xml, NULL);
    ok (t && topology_core_count (t) == 4 && mapped_plugins (NULL, 0) == 0,
        "an XML topology is read without libxml2's plugin");
    topology_destroy (t);
}

int main (void)
{
    plan (NO_PLAN);
    test_synthetic ();
    test_restrict_and_unit ();
    test_bad_specs ();
    test_xml ();
    test_this_machine_masked ();
    test_this_machine ();
    test_no_plugins ();
    done_testing ();
    return exit_status ();
}
