/* cpulist.c - see cpulist.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"

/* A CPU number at *p; advances *p.  Returns it or -1. */
static long cpu_number (const char **p)
{
    char *end;
    long v;

    if (**p < '0' || **p > '9')
        return -1;
    errno = 0;
    v = strtol (*p, &end, 10);
    if (errno || v >= CPU_SETSIZE)
        return -1;
    *p = end;
    return v;
}

int cpulist_add (const char *list, cpu_set_t *set)
{
    cpu_set_t add;
    const char *p = list;
    int count = 0;

    CPU_ZERO (&add);
    while (*p) {
        long first = cpu_number (&p), last = first;
        if (first >= 0 && *p == '-') {
            p++;
            last = cpu_number (&p);
        }
        if (first < 0 || last < first || (*p && *p != ',') || (*p == ',' && !p[1]))
            goto invalid;
        for (long cpu = first; cpu <= last; cpu++)
            CPU_SET (cpu, &add);
        if (*p == ',')
            p++;
    }
    if (p == list)
        goto invalid;
    count = CPU_COUNT (&add);
    CPU_OR (set, set, &add);
    return count;
invalid:
    errno = EINVAL;
    return -1;
}
