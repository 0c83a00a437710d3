/* inherit.c - see inherit.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpulist.h"
#include "inherit.h"

static const struct {
    const char *name;
    int resource;
} names[INHERIT_MAX_LIMITS] = {
    {"core", RLIMIT_CORE},   {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE}, {"memlock", RLIMIT_MEMLOCK}, {"nofile", RLIMIT_NOFILE},
    {"stack", RLIMIT_STACK}, {"as", RLIMIT_AS},
};

void inherit_none (struct inherit *in)
{
    memset (in, 0, sizeof (*in));
    in->umask = -1;
    in->nice = INHERIT_NICE_KEEP;
}

void inherit_capture (struct inherit *in)
{
    mode_t mask = umask (022);

    umask (mask);
    inherit_none (in);
    in->umask = (int)mask;
    errno = 0;
    int nice = getpriority (PRIO_PROCESS, 0);
    if (errno == 0)
        in->nice = nice;
    for (int i = 0; i < INHERIT_MAX_LIMITS; i++) {
        struct rlimit rl;
        if (getrlimit (names[i].resource, &rl) < 0)
            continue;
        in->limits[in->nlimits].resource = names[i].resource;
        in->limits[in->nlimits].soft = rl.rlim_cur;
        in->nlimits++;
    }
}

const char *inherit_limit_format (const struct inherit_limit *l, char *buf, size_t size)
{
    const char *name = "?";

    for (int i = 0; i < INHERIT_MAX_LIMITS; i++)
        if (names[i].resource == l->resource)
            name = names[i].name;
    if (l->soft == RLIM_INFINITY)
        snprintf (buf, size, "%s=unlimited", name);
    else
        snprintf (buf, size, "%s=%llu", name, (unsigned long long)l->soft);
    return buf;
}

static int parse_one (const char *text, struct inherit_limit *l)
{
    const char *eq = strchr (text, '=');
    char *end;

    if (!eq)
        return -1;
    l->resource = -1;
    for (int i = 0; i < INHERIT_MAX_LIMITS; i++)
        if (strlen (names[i].name) == (size_t)(eq - text) &&
            strncmp (text, names[i].name, eq - text) == 0)
            l->resource = names[i].resource;
    if (l->resource < 0)
        return -1;
    if (strcmp (eq + 1, "unlimited") == 0) {
        l->soft = RLIM_INFINITY;
        return 0;
    }
    if (eq[1] < '0' || eq[1] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull (eq + 1, &end, 10);
    if (errno || *end || (rlim_t)v == RLIM_INFINITY)
        return -1;
    l->soft = (rlim_t)v;
    return 0;
}

int inherit_limits_parse (char *const texts[], int n, struct inherit *in,
                          struct krun_error *errp)
{
    struct inherit_limit limits[INHERIT_MAX_LIMITS];

    if (n > INHERIT_MAX_LIMITS) {
        errno = EINVAL;
        return errprintf (errp, "at most %d resource limits, got %d",
                          INHERIT_MAX_LIMITS, n);
    }
    for (int i = 0; i < n; i++) {
        if (parse_one (texts[i], &limits[i]) < 0) {
            errno = EINVAL;
            return errprintf (errp,
                              "resource limit '%s': expected NAME=N or NAME=unlimited, "
                              "NAME one of core, cpu, data, fsize, memlock, nofile, "
                              "stack, as",
                              texts[i]);
        }
    }
    memcpy (in->limits, limits, n * sizeof (limits[0]));
    in->nlimits = n;
    return 0;
}

int inherit_set_cpus (struct inherit *in, const char *const lists[], int n,
                      struct krun_error *errp)
{
    cpu_set_t set;

    _Static_assert(sizeof (set) == sizeof (in->cpus), "cpus holds a cpu_set_t");
    CPU_ZERO (&set);
    for (int i = 0; i < n; i++)
        if (cpulist_add (lists[i], &set) < 0)
            return errprintf (errp, "CPU list '%s': expected a list like 0-3,8",
                              lists[i]);
    memcpy (in->cpus, &set, sizeof (set));
    in->has_cpus = true;
    return 0;
}

/* The soft limit l would set in a process whose limit is now: a soft limit
 * above the hard one becomes the hard one. */
static rlim_t soft_limit (const struct inherit_limit *l, const struct rlimit *now)
{
    return now->rlim_max != RLIM_INFINITY &&
                   (l->soft == RLIM_INFINITY || l->soft > now->rlim_max)
               ? now->rlim_max
               : l->soft;
}

void inherit_drop_unchanged (struct inherit *in)
{
    mode_t mask = umask (022);

    umask (mask);
    if (in->umask == (int)mask)
        in->umask = -1;
    errno = 0;
    int nice = getpriority (PRIO_PROCESS, 0);
    /* inherit_apply() only raises it. */
    if (errno == 0 && in->nice != INHERIT_NICE_KEEP && in->nice <= nice)
        in->nice = INHERIT_NICE_KEEP;
    int kept = 0;
    for (int i = 0; i < in->nlimits; i++) {
        struct rlimit rl;
        if (getrlimit (in->limits[i].resource, &rl) == 0 &&
            soft_limit (&in->limits[i], &rl) == rl.rlim_cur)
            continue;
        in->limits[kept++] = in->limits[i];
    }
    in->nlimits = kept;
}

void inherit_apply (const struct inherit *in)
{
    if (in->has_cpus)
        sched_setaffinity (0, sizeof (in->cpus), (const cpu_set_t *)in->cpus);
    if (in->umask >= 0)
        umask ((mode_t)in->umask);
    /* Only up: a lower value needs privilege (and would be refused). */
    if (in->nice != INHERIT_NICE_KEEP) {
        errno = 0;
        int now = getpriority (PRIO_PROCESS, 0);
        if (errno == 0 && in->nice > now)
            setpriority (PRIO_PROCESS, 0, in->nice);
    }
    for (int i = 0; i < in->nlimits; i++) {
        struct rlimit rl;
        if (getrlimit (in->limits[i].resource, &rl) < 0)
            continue;
        rl.rlim_cur = soft_limit (&in->limits[i], &rl);
        setrlimit (in->limits[i].resource, &rl);
    }
}
