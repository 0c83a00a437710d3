/* Unit tests of topology: synthetic and XML topologies never depend on the
 * build machine; one test binds on the machine itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

    snprintf (path, sizeof (path), "%s/runtime/test/topology-4core.xml",
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

int main (void)
{
    plan (NO_PLAN);
    test_synthetic ();
    test_bad_specs ();
    test_xml ();
    test_this_machine ();
    done_testing ();
    return exit_status ();
}
