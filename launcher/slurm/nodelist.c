/* nodelist.c - see nodelist.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodelist.h"

/* Longest node name expanded, and longest number in a range. */
#define NAME_MAX_LEN 255
#define NUMBER_MAX_DIGITS 9

struct nodelist {
    char **names;
    int *cpus;
    int count, size;
};

void nodelist_destroy (struct nodelist *l)
{
    int saved = errno;

    if (l) {
        for (int i = 0; i < l->count; i++)
            free (l->names[i]);
        free (l->names);
        free (l->cpus);
        free (l);
    }
    errno = saved;
}

int nodelist_count (const struct nodelist *l)
{
    return l->count;
}

const char *nodelist_name (const struct nodelist *l, int i)
{
    return l->names[i];
}

int nodelist_cpus (const struct nodelist *l, int i)
{
    return l->cpus[i];
}

static int bad (struct krun_error *errp, const char *list, const char *why)
{
    errno = EINVAL;
    return errprintf (errp, "node list '%.200s': %s", list, why);
}

static int append (struct nodelist *l, const char *name, const char *list,
                   struct krun_error *errp)
{
    if (l->count == NODELIST_MAX) {
        errno = E2BIG;
        return errprintf (errp, "node list '%.200s': more than %d nodes", list,
                          NODELIST_MAX);
    }
    if (l->count == l->size) {
        int size = l->size ? 2 * l->size : 16;
        char **names = realloc (l->names, size * sizeof (*names));
        if (!names)
            return errprintf_errno (errp, "node list");
        l->names = names;
        l->size = size;
    }
    if (!(l->names[l->count] = strdup (name)))
        return errprintf_errno (errp, "node list");
    l->count++;
    return 0;
}

/* A number of a range: digits only, at most NUMBER_MAX_DIGITS. */
static bool parse_number (const char *s, size_t len, long *value)
{
    long v = 0;

    if (len == 0 || len > NUMBER_MAX_DIGITS)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
}

static int expand_item (struct nodelist *l, const char *head, const char *tail,
                        const char *list, struct krun_error *errp);

/* Each name of one bracket's ranges (between open and close), head before
 * it, tail after it: expanded further (tail may hold more brackets). */
static int expand_ranges (struct nodelist *l, const char *head, size_t head_len,
                          const char *open, const char *close, const char *list,
                          struct krun_error *errp)
{
    const char *p = open + 1;

    if (p == close)
        return bad (errp, list, "empty brackets");
    while (p < close) {
        size_t len = strcspn (p, ",]");
        const char *dash = memchr (p, '-', len);
        size_t lo_len = dash ? (size_t)(dash - p) : len;
        long lo, hi;

        if (!parse_number (p, lo_len, &lo) ||
            !parse_number (dash ? dash + 1 : p, dash ? len - lo_len - 1 : len, &hi) ||
            hi < lo)
            return bad (errp, list, "a range is not N or N-M with N <= M");
        for (long v = lo; v <= hi; v++) {
            char name[NAME_MAX_LEN + 1];
            int n = snprintf (name, sizeof (name), "%.*s%0*ld", (int)head_len, head,
                              (int)lo_len, v);
            if (n < 0 || n >= (int)sizeof (name))
                return bad (errp, list, "a name is too long");
            if (expand_item (l, name, close + 1, list, errp) < 0)
                return -1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* head (already expanded) followed by tail (up to the item's end: a
 * top-level ',' or the end of the list). */
static int expand_item (struct nodelist *l, const char *head, const char *tail,
                        const char *list, struct krun_error *errp)
{
    size_t len = strcspn (tail, "[],");
    char name[NAME_MAX_LEN + 1];

    if (strlen (head) + len > NAME_MAX_LEN)
        return bad (errp, list, "a name is too long");
    snprintf (name, sizeof (name), "%s%.*s", head, (int)len, tail);
    if (tail[len] == '[') {
        const char *close = strchr (tail + len, ']');
        const char *nested = strchr (tail + len + 1, '[');
        if (!close || (nested && nested < close))
            return bad (errp, list, "a '[' without its ']'");
        return expand_ranges (l, name, strlen (name), tail + len, close, list, errp);
    }
    if (tail[len] == ']')
        return bad (errp, list, "a ']' without its '['");
    for (const char *c = name; *c; c++)
        if (!isalnum ((unsigned char)*c) && !strchr ("._-", *c))
            return bad (errp, list,
                        "a name holds a character other than letters, "
                        "digits, '.', '_' and '-'");
    return append (l, name, list, errp);
}

/* The end of the item that starts at p: the first ',' outside brackets. */
static const char *item_end (const char *p)
{
    int depth = 0;

    for (; *p; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        else if (*p == ',' && depth == 0)
            break;
    }
    return p;
}

struct nodelist *nodelist_expand (const char *list, struct krun_error *errp)
{
    struct nodelist *l = calloc (1, sizeof (*l));
    const char *p = list;

    if (!l) {
        errprintf_errno (errp, "node list");
        return NULL;
    }
    for (;;) {
        const char *end = item_end (p);
        char *item = strndup (p, end - p);
        /* As scontrol: an empty item ("a,,b") is no node. */
        int rc = !item   ? errprintf_errno (errp, "node list")
                 : *item ? expand_item (l, "", item, list, errp)
                         : 0;
        free (item);
        if (rc < 0)
            goto error;
        if (!*end)
            break;
        p = end + 1;
    }
    if (l->count == 0) {
        bad (errp, list, "no node");
        goto error;
    }
    if (!(l->cpus = calloc (l->count, sizeof (*l->cpus)))) {
        errprintf_errno (errp, "node list");
        goto error;
    }
    return l;
error:
    nodelist_destroy (l);
    return NULL;
}

int nodelist_set_cpus (struct nodelist *l, const char *spec, struct krun_error *errp)
{
    int *cpus = calloc (l->count, sizeof (*cpus));
    const char *p = spec;
    int n = 0;

    if (!cpus)
        return errprintf_errno (errp, "CPUs per node");
    while (*p) {
        char *end;
        long count = strtol (p, &end, 10), repeat = 1;
        if (!isdigit ((unsigned char)*p) || count < 1 || count > 1000000)
            goto bad;
        if (strncmp (end, "(x", 2) == 0) {
            const char *r = end + 2;
            repeat = strtol (r, &end, 10);
            if (!isdigit ((unsigned char)*r) || repeat < 1 || *end != ')')
                goto bad;
            end++;
        }
        if (repeat > l->count - n)
            goto mismatch;
        for (long i = 0; i < repeat; i++)
            cpus[n++] = (int)count;
        if (*end == ',' && end[1])
            end++;
        else if (*end)
            goto bad;
        p = end;
    }
    if (n != l->count)
        goto mismatch;
    free (l->cpus);
    l->cpus = cpus;
    return 0;
bad:
    free (cpus);
    errno = EINVAL;
    return errprintf (errp, "CPUs per node '%.200s': expected counts like 2(x3),1",
                      spec);
mismatch:
    free (cpus);
    errno = EINVAL;
    return errprintf (errp,
                      "CPUs per node '%.200s': not one count for each of the %d nodes",
                      spec, l->count);
}
