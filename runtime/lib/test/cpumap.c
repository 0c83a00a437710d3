/* Unit tests of the global CPU map. */
#include <errno.h>
#include <stdlib.h>

#include "cpumap.h"
#include "tests/tap.h"

static struct cpumap *make_map (const char *const *names, const int *slots, int n)
{
    struct cpumap *m = cpumap_create ();
    for (int i = 0; i < n; i++)
        if (cpumap_add_node (m, names[i], slots[i], NULL, NULL) < 0)
            bail_out ("cannot add node %s", names[i]);
    return m;
}

static void test_homogeneous (void)
{
    const char *names[] = {"n2", "n1"};
    int slots[] = {128, 128};
    struct cpumap *m = make_map (names, slots, 2);

    is_int (cpumap_node_count (m), 2, "2 nodes");
    is_int (cpumap_slot_count (m), 256, "256 slots");
    is_str (cpumap_node_name (m, 0), "n1",
            "nodes sorted: n1 first although added second");
    is_int (cpumap_node_first_slot (m, 1), 128, "n2 starts at slot 128");
    is_int (cpumap_slot_node (m, 127), 0, "slot 127 is on n1");
    is_int (cpumap_slot_node (m, 128), 1, "slot 128 is on n2");
    is_int (cpumap_slot_local (m, 200), 72, "slot 200 is local 72 of n2");
    is_int (cpumap_slot_core (m, 5), -1, "no cores given: -1");
    errno = 0;
    ok (cpumap_slot_node (m, 256) < 0 && errno == EINVAL,
        "slot 256 is out of range (EINVAL)");
    errno = 0;
    ok (cpumap_slot_local (m, -1) < 0 && errno == EINVAL, "slot -1 is out of range");
    cpumap_destroy (m);
}

static void test_heterogeneous (void)
{
    const char *names[] = {"c", "a", "b"};
    int slots[] = {1, 128, 64};
    struct cpumap *m = make_map (names, slots, 3);

    is_int (cpumap_slot_count (m), 193, "128 + 64 + 1 slots");
    is_int (cpumap_node_first_slot (m, 0), 0, "a owns 0..127");
    is_int (cpumap_node_first_slot (m, 1), 128, "b owns 128..191");
    is_int (cpumap_node_first_slot (m, 2), 192, "c owns 192");
    is_int (cpumap_node_index (m, "b"), 1, "index of b");
    errno = 0;
    ok (cpumap_node_index (m, "zz") < 0 && errno == ENOENT, "unknown node: ENOENT");
    cpumap_destroy (m);
}

static void test_natural_order (void)
{
    const char *names[] = {"node10", "node2", "node1"};
    int slots[] = {1, 1, 1};
    struct cpumap *m = make_map (names, slots, 3);

    is_str (cpumap_node_name (m, 0), "node1", "node1 first");
    is_str (cpumap_node_name (m, 1), "node2", "node2 before node10");
    is_str (cpumap_node_name (m, 2), "node10", "node10 last");
    cpumap_destroy (m);
}

static void test_errors_and_cores (void)
{
    struct cpumap *m = cpumap_create ();
    struct krun_error error = {{0}};
    int cores[] = {4, 6, 8};

    ok (cpumap_add_node (m, "a", 3, cores, NULL) == 0, "add a with cores");
    cores[0] = 99;
    is_int (cpumap_slot_core (m, 0), 4, "cores were copied");
    is_int (cpumap_slot_core (m, 2), 8, "core of slot 2");
    errno = 0;
    ok (cpumap_add_node (m, "a", 2, NULL, &error) < 0 && errno == EEXIST,
        "duplicate node: EEXIST");
    ok (error.text[0] != '\0', "with a message: %s", error.text);
    errno = 0;
    ok (cpumap_add_node (m, "b", 0, NULL, NULL) < 0 && errno == EINVAL,
        "zero slots: EINVAL");
    is_int (cpumap_node_count (m), 1, "failed adds changed nothing");
    cpumap_destroy (m);
}

static const struct {
    int n;
    enum cpumap_policy policy;
    int count;
    int want[8];
    const char *what;
} selections[] = {
    /* nodes: a (4 slots: 0-3), b (2 slots: 4-5), c (1 slot: 6) */
    {3, CPUMAP_BY_SLOT, 3, {0, 1, 2}, "by slot, n < total: the first slots"},
    {7, CPUMAP_BY_SLOT, 7, {0, 1, 2, 3, 4, 5, 6}, "by slot, n == total"},
    {50, CPUMAP_BY_SLOT, 7, {0, 1, 2, 3, 4, 5, 6}, "by slot, n > total: all slots"},
    {3, CPUMAP_BY_NODE, 3, {0, 4, 6}, "by node: one slot of each node"},
    {5, CPUMAP_BY_NODE, 5, {0, 1, 4, 5, 6}, "by node: second round"},
    {6, CPUMAP_BY_NODE, 6, {0, 1, 2, 4, 5, 6}, "by node: full nodes drop out"},
    {9, CPUMAP_BY_NODE, 7, {0, 1, 2, 3, 4, 5, 6}, "by node, n > total"},
};

static void test_select (void)
{
    const char *names[] = {"a", "b", "c"};
    int slots_per_node[] = {4, 2, 1};
    struct cpumap *m = make_map (names, slots_per_node, 3);
    enum cpumap_policy policy;

    for (size_t i = 0; i < sizeof (selections) / sizeof (selections[0]); i++) {
        int *slots = NULL;
        int count =
            cpumap_select (m, selections[i].n, selections[i].policy, &slots, NULL);
        bool same = count == selections[i].count;
        for (int k = 0; same && k < count; k++)
            same = slots[k] == selections[i].want[k];
        ok (same, "select: %s", selections[i].what);
        free (slots);
    }
    int *slots = NULL;
    errno = 0;
    ok (cpumap_select (m, 0, CPUMAP_BY_SLOT, &slots, NULL) < 0 && errno == EINVAL,
        "select 0 ranks: EINVAL");
    struct cpumap *empty = cpumap_create ();
    errno = 0;
    ok (cpumap_select (empty, 1, CPUMAP_BY_SLOT, &slots, NULL) < 0 && errno == EINVAL,
        "select on an empty map: EINVAL");
    cpumap_destroy (empty);
    ok (cpumap_policy_parse ("node", &policy) == 0 && policy == CPUMAP_BY_NODE,
        "parse 'node'");
    ok (cpumap_policy_parse ("slot", &policy) == 0 && policy == CPUMAP_BY_SLOT,
        "parse 'slot'");
    errno = 0;
    ok (cpumap_policy_parse ("core", &policy) < 0 && errno == EINVAL,
        "parse 'core' fails");
    cpumap_destroy (m);
}

int main (void)
{
    plan (NO_PLAN);
    test_homogeneous ();
    test_heterogeneous ();
    test_natural_order ();
    test_errors_and_cores ();
    test_select ();
    done_testing ();
    return exit_status ();
}
