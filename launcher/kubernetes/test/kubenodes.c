/* Unit tests of the taint rules of the cluster map, driven by a table. */
#include <stdio.h>

#include "launcher/kubernetes/kubenodes.h"
#include "tests/tap.h"

static const struct config_toleration gpu_equal[] = {
    {.key = "dedicated", .operator= "Equal", .value = "gpu", .effect = "NoSchedule"}};
static const struct config_toleration gpu_exists[] = {
    {.key = "dedicated", .operator= "Exists" } };
static const struct config_toleration everything[] = {{.operator= "Exists" } };
static const struct config_toleration default_operator[] = {
    {.key = "dedicated", .value = "gpu"}};
static const struct config_toleration noexecute_only[] = {
    {.key = "dedicated", .operator= "Exists", .effect = "NoExecute"}};

static const struct {
    const char *taints;
    const struct config_toleration *t;
    int nt;
    bool want;
    const char *what;
} cases[] = {
    {"[]", NULL, 0, true, "no taints"},
    {"[{\"key\":\"a\",\"effect\":\"PreferNoSchedule\"}]", NULL, 0, true,
     "PreferNoSchedule only steers"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]", NULL, 0,
     false, "NoSchedule without toleration"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoExecute\"}]", NULL, 0,
     false, "NoExecute without toleration"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]", gpu_equal,
     1, true, "Equal key, value and effect"},
    {"[{\"key\":\"dedicated\",\"value\":\"cpu\",\"effect\":\"NoSchedule\"}]", gpu_equal,
     1, false, "Equal with another value"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoExecute\"}]", gpu_equal,
     1, false, "Equal for another effect"},
    {"[{\"key\":\"dedicated\",\"value\":\"x\",\"effect\":\"NoExecute\"}]", gpu_exists,
     1, true, "Exists: any value, any effect"},
    {"[{\"key\":\"other\",\"effect\":\"NoSchedule\"}]", gpu_exists, 1, false,
     "Exists for another key"},
    {"[{\"key\":\"a\",\"effect\":\"NoSchedule\"},{\"key\":\"b\",\"effect\":"
     "\"NoExecute\"}]",
     everything, 1, true, "empty key with Exists tolerates all"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]",
     default_operator, 1, true, "operator defaults to Equal"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"},"
     "{\"key\":\"other\",\"effect\":\"NoSchedule\"}]",
     gpu_equal, 1, false, "every taint must be tolerated"},
    {"[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]",
     noexecute_only, 1, false, "a NoExecute toleration does not cover NoSchedule"},
};

int main (void)
{
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        cJSON *taints = cJSON_Parse (cases[i].taints);
        if (!taints)
            bail_out ("bad fixture %zu", i);
        ok (kubenodes_tolerated (taints, cases[i].t, cases[i].nt) == cases[i].want,
            "%s", cases[i].what);
        cJSON_Delete (taints);
    }
    done_testing ();
    return exit_status ();
}
