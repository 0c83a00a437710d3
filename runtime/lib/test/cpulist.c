/* Unit tests of runtime/cpulist.c: CPU lists into CPU sets. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "cpulist.h"
#include "tests/tap.h"

int main (void)
{
    static const struct {
        const char *list;
        int count;   /* -1: EINVAL */
        int cpus[6]; /* the CPUs set, then -1 */
    } cases[] = {
        {"0", 1, {0, -1}},      {"0-3", 4, {0, 1, 2, 3, -1}},
        {"1,3", 2, {1, 3, -1}}, {"0-1,8,10-11", 5, {0, 1, 8, 10, 11, -1}},
        {"", -1, {-1}},         {"a", -1, {-1}},
        {"3-1", -1, {-1}},      {"1,", -1, {-1}},
        {",1", -1, {-1}},       {"1-", -1, {-1}},
        {"-1", -1, {-1}},       {"1 2", -1, {-1}},
        {"99999", -1, {-1}},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        cpu_set_t set, want;
        CPU_ZERO (&set);
        CPU_SET (60, &set); /* kept: the set is added to */
        CPU_ZERO (&want);
        CPU_SET (60, &want);
        for (int k = 0; cases[i].cpus[k] >= 0; k++)
            CPU_SET (cases[i].cpus[k], &want);
        errno = 0;
        int n = cpulist_add (cases[i].list, &set);
        if (cases[i].count < 0)
            ok (n < 0 && errno == EINVAL && CPU_EQUAL (&set, &want),
                "'%s' refused, the set unchanged", cases[i].list);
        else
            ok (n == cases[i].count && CPU_EQUAL (&set, &want), "'%s': %d CPUs",
                cases[i].list, cases[i].count);
    }
    done_testing ();
    return exit_status ();
}
