/* Unit tests of the Slurm allocation's node list (nodelist.h).  With
 * arguments, prints the expansion of each, one name a line, as
 * `scontrol show hostnames` does (t0610 compares the two). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "launcher/slurm/nodelist.h"
#include "tests/tap.h"

static const char *show (const struct nodelist *l, bool cpus)
{
    static char buf[2048];
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; i < nodelist_count (l) && len < sizeof (buf); i++) {
        len += snprintf (buf + len, sizeof (buf) - len, "%s%s", i ? " " : "",
                         nodelist_name (l, i));
        if (cpus)
            len +=
                snprintf (buf + len, sizeof (buf) - len, "=%d", nodelist_cpus (l, i));
    }
    return buf;
}

static const struct {
    const char *list, *want;
} lists[] = {
    {"n1", "n1"},
    {"n[1-3,5],gpu[01-02],login", "n1 n2 n3 n5 gpu01 gpu02 login"},
    {"a[08-10]", "a08 a09 a10"},
    {"a[8-10]", "a8 a9 a10"},
    {"a[1-010]", "a1 a2 a3 a4 a5 a6 a7 a8 a9 a10"},
    {"r[1-2]n[8-9]", "r1n8 r1n9 r2n8 r2n9"},
    {"a[1-2],a1", "a1 a2 a1"},
    {"a,,b", "a b"},
    {"node-1.cluster,node-2.cluster", "node-1.cluster node-2.cluster"},
    {"n[7]", "n7"},
    {"[1-2]", "1 2"},
    {"x[1-2]y", "x1y x2y"},
};

static const struct {
    const char *list, *message;
} bad_lists[] = {
    {"", "node list '': no node"},
    {",", "node list ',': no node"},
    {"a[3-1]", "node list 'a[3-1]': a range is not N or N-M with N <= M"},
    {"a[]", "node list 'a[]': empty brackets"},
    {"n[1", "node list 'n[1': a '[' without its ']'"},
    {"n1]", "node list 'n1]': a ']' without its '['"},
    {"n[1-2[3]]", "node list 'n[1-2[3]]': a '[' without its ']'"},
    {"n[a-b]", "node list 'n[a-b]': a range is not N or N-M with N <= M"},
    {"n[1-]", "node list 'n[1-]': a range is not N or N-M with N <= M"},
    {"n[-1]", "node list 'n[-1]': a range is not N or N-M with N <= M"},
    {"n[1,,2]", "node list 'n[1,,2]': a range is not N or N-M with N <= M"},
    {"n[1234567890]", "node list 'n[1234567890]': a range is not N or N-M with N <= M"},
    {"a b",
     "node list 'a b': a name holds a character other than letters, digits, '.', "
     "'_' and '-'"},
    {"n[0-99999]", "node list 'n[0-99999]': more than 65536 nodes"},
};

static const struct {
    const char *list, *cpus, *want;
} cpu_cases[] = {
    {"n[1-4]", "2(x3),1", "n1=2 n2=2 n3=2 n4=1"},
    {"n[1-2]", "1(x2)", "n1=1 n2=1"},
    {"n1", "64", "n1=64"},
    {"a,b,c", "4,8,16", "a=4 b=8 c=16"},
    {"a[1-5]", "1,2(x2),3(x2)", "a1=1 a2=2 a3=2 a4=3 a5=3"},
};

static const struct {
    const char *list, *cpus, *message;
} bad_cpus[] = {
    {"n[1-4]", "2(x3)", "CPUs per node '2(x3)': not one count for each of the 4 nodes"},
    {"n[1-2]", "2(x3)", "CPUs per node '2(x3)': not one count for each of the 2 nodes"},
    {"n[1-2]", "1,1,1", "CPUs per node '1,1,1': not one count for each of the 2 nodes"},
    {"n1", "", "CPUs per node '': not one count for each of the 1 nodes"},
    {"n1", "x", "CPUs per node 'x': expected counts like 2(x3),1"},
    {"n1", "0", "CPUs per node '0': expected counts like 2(x3),1"},
    {"n[1-2]", "2(x2", "CPUs per node '2(x2': expected counts like 2(x3),1"},
    {"n[1-2]", "2(x0)", "CPUs per node '2(x0)': expected counts like 2(x3),1"},
    {"n[1-2]", "1,1,", "CPUs per node '1,1,': expected counts like 2(x3),1"},
    {"n[1-2]", "-1,1", "CPUs per node '-1,1': expected counts like 2(x3),1"},
};

int main (int argc, char *argv[])
{
    struct krun_error error;
    struct nodelist *l;

    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            if (!(l = nodelist_expand (argv[i], &error))) {
                fprintf (stderr, "%s\n", error.text);
                return 1;
            }
            for (int j = 0; j < nodelist_count (l); j++)
                printf ("%s\n", nodelist_name (l, j));
            nodelist_destroy (l);
        }
        return 0;
    }
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (lists) / sizeof (lists[0]); i++) {
        l = nodelist_expand (lists[i].list, &error);
        ok (l != NULL, "%s expands", lists[i].list);
        is_str (l ? show (l, false) : error.text, lists[i].want, "%s", lists[i].list);
        ok (l && nodelist_cpus (l, 0) == 0, "%s: CPUs not set", lists[i].list);
        nodelist_destroy (l);
    }
    for (size_t i = 0; i < sizeof (bad_lists) / sizeof (bad_lists[0]); i++) {
        errno = 0;
        error.text[0] = '\0';
        l = nodelist_expand (bad_lists[i].list, &error);
        ok (!l &&
                errno == (strstr (bad_lists[i].message, "more than") ? E2BIG : EINVAL),
            "'%s' fails with %s", bad_lists[i].list,
            strstr (bad_lists[i].message, "more than") ? "E2BIG" : "EINVAL");
        is_str (error.text, bad_lists[i].message, "'%s': message", bad_lists[i].list);
        nodelist_destroy (l);
    }
    l = nodelist_expand ("n[1-65536]", &error);
    ok (l && nodelist_count (l) == NODELIST_MAX, "exactly %d nodes expand",
        NODELIST_MAX);
    ok (l && strcmp (nodelist_name (l, NODELIST_MAX - 1), "n65536") == 0,
        "the last one");
    nodelist_destroy (l);
    for (size_t i = 0; i < sizeof (cpu_cases) / sizeof (cpu_cases[0]); i++) {
        l = nodelist_expand (cpu_cases[i].list, NULL);
        ok (l && nodelist_set_cpus (l, cpu_cases[i].cpus, &error) == 0, "%s with %s",
            cpu_cases[i].list, cpu_cases[i].cpus);
        is_str (l ? show (l, true) : "", cpu_cases[i].want, "%s with %s",
                cpu_cases[i].list, cpu_cases[i].cpus);
        nodelist_destroy (l);
    }
    for (size_t i = 0; i < sizeof (bad_cpus) / sizeof (bad_cpus[0]); i++) {
        char before[32];
        l = nodelist_expand (bad_cpus[i].list, NULL);
        snprintf (before, sizeof (before), "7(x%d)", nodelist_count (l));
        nodelist_set_cpus (l, before, NULL);
        errno = 0;
        error.text[0] = '\0';
        ok (nodelist_set_cpus (l, bad_cpus[i].cpus, &error) < 0 && errno == EINVAL,
            "%s with '%s' fails with EINVAL", bad_cpus[i].list, bad_cpus[i].cpus);
        is_str (error.text, bad_cpus[i].message, "its message");
        ok (nodelist_cpus (l, 0) == 7 && nodelist_cpus (l, nodelist_count (l) - 1) == 7,
            "the counts are unchanged");
        nodelist_destroy (l);
    }
    errno = ENOENT;
    nodelist_destroy (NULL);
    ok (errno == ENOENT, "destroy (NULL) keeps errno");
    done_testing ();
    return exit_status ();
}
