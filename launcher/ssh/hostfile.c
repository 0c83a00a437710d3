/* hostfile.c - see hostfile.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostfile.h"

struct host {
    char *name;   /* as given to ssh */
    char *node;   /* name without user@ */
    long counted; /* the slots the listings gave */
    int listings;
    int uncounted; /* listings without a count */
};

struct hostfile {
    struct host *hosts;
    int count, size;
};

struct hostfile *hostfile_create (void)
{
    return calloc (1, sizeof (struct hostfile));
}

static void hosts_free (struct host *hosts, int count)
{
    for (int i = 0; i < count; i++) {
        free (hosts[i].name);
        free (hosts[i].node);
    }
}

void hostfile_destroy (struct hostfile *h)
{
    int saved = errno;

    if (h) {
        hosts_free (h->hosts, h->count);
        free (h->hosts);
        free (h);
    }
    errno = saved;
}

int hostfile_count (const struct hostfile *h)
{
    return h->count;
}

const char *hostfile_host (const struct hostfile *h, int i)
{
    return h->hosts[i].name;
}

const char *hostfile_node (const struct hostfile *h, int i)
{
    return h->hosts[i].node;
}

int hostfile_slots (const struct hostfile *h, int i)
{
    const struct host *host = &h->hosts[i];
    long slots = host->listings == 1 ? host->counted : host->counted + host->uncounted;

    return slots > HOSTFILE_MAX_SLOTS ? HOSTFILE_MAX_SLOTS : (int)slots;
}

static int find (const struct hostfile *h, const char *name)
{
    for (int i = 0; i < h->count; i++)
        if (strcmp (h->hosts[i].name, name) == 0)
            return i;
    return -1;
}

static int reserve (struct hostfile *h, int more)
{
    if (h->count + more <= h->size)
        return 0;
    int size = h->size ? h->size : 8;
    while (size < h->count + more)
        size *= 2;
    struct host *hosts = realloc (h->hosts, size * sizeof (*hosts));
    if (!hosts)
        return -1;
    h->hosts = hosts;
    h->size = size;
    return 0;
}

static bool name_valid (const char *name, size_t len)
{
    if (len == 0 || len > HOSTFILE_NAME_MAX || name[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = name[i];
        if (!isalnum (c) && !strchr ("._-@", c))
            return false;
    }
    /* At most one '@', with a user before it and a host after it. */
    const char *at = memchr (name, '@', len);
    return !at || (at > name && at < name + len - 1 &&
                   !memchr (at + 1, '@', name + len - at - 1) && at[1] != '-');
}

/* A slot count: 1 to HOSTFILE_MAX_SLOTS, digits only. */
static bool parse_slots (const char *s, size_t len, int *slots)
{
    long v = 0;

    if (len == 0 || len > 6)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > HOSTFILE_MAX_SLOTS)
        return false;
    *slots = (int)v;
    return true;
}

/* Add one listing (slots 0: none given) to h, which has room for it. */
static int add_host (struct hostfile *h, const char *name, size_t len, int slots)
{
    char *copy = strndup (name, len);
    struct host *host;
    int i;

    if (!copy)
        return -1;
    if ((i = find (h, copy)) >= 0) {
        free (copy);
        host = &h->hosts[i];
    } else {
        const char *at = strchr (copy, '@');
        host = &h->hosts[h->count];
        memset (host, 0, sizeof (*host));
        host->name = copy;
        if (!(host->node = strdup (at ? at + 1 : copy))) {
            free (copy);
            return -1;
        }
        h->count++;
    }
    host->listings++;
    if (slots > 0)
        host->counted += slots;
    else
        host->uncounted++;
    return 0;
}

/* Move the hosts of from into h: h has room for them all. */
static void merge (struct hostfile *h, struct hostfile *from)
{
    for (int i = 0; i < from->count; i++) {
        struct host *src = &from->hosts[i];
        int j = find (h, src->name);
        if (j < 0) {
            h->hosts[h->count++] = *src;
            continue;
        }
        h->hosts[j].counted += src->counted;
        h->hosts[j].listings += src->listings;
        h->hosts[j].uncounted += src->uncounted;
        free (src->name);
        free (src->node);
    }
    from->count = 0;
}

/* Parse and add everything at once, or nothing: the hosts go to a list of
 * their own first. */
static int commit (struct hostfile *h, struct hostfile *parsed)
{
    if (reserve (h, parsed->count) < 0) {
        hostfile_destroy (parsed);
        return -1;
    }
    merge (h, parsed);
    hostfile_destroy (parsed);
    return 0;
}

/* One "name" or "name:N" (from -H or an MPICH line) into h. */
static int add_word (struct hostfile *h, const char *word, size_t len,
                     const char *where, struct krun_error *errp)
{
    const char *colon = memchr (word, ':', len);
    size_t name_len = colon ? (size_t)(colon - word) : len;
    int slots = 0;

    if (!name_valid (word, name_len)) {
        errno = EINVAL;
        return errprintf (errp, "%s: '%.*s' is not a host name", where, (int)name_len,
                          word);
    }
    if (colon && !parse_slots (colon + 1, len - name_len - 1, &slots)) {
        errno = EINVAL;
        return errprintf (errp, "%s: bad slot count '%.*s' for host %.*s (1 to %d)",
                          where, (int)(len - name_len - 1), colon + 1, (int)name_len,
                          word, HOSTFILE_MAX_SLOTS);
    }
    if (reserve (h, 1) < 0 || add_host (h, word, name_len, slots) < 0)
        return errprintf_errno (errp, "%s", where);
    return 0;
}

int hostfile_add_list (struct hostfile *h, const char *arg, struct krun_error *errp)
{
    struct hostfile *parsed = hostfile_create ();
    char where[64];
    const char *p = arg;

    if (!parsed)
        return errprintf_errno (errp, "host list");
    snprintf (where, sizeof (where), "host list '%.40s%s'", arg,
              strlen (arg) > 40 ? "..." : "");
    do {
        size_t len = strcspn (p, ",");
        if (add_word (parsed, p, len, where, errp) < 0) {
            hostfile_destroy (parsed);
            return -1;
        }
        p += len;
    } while (*p++ == ',');
    return commit (h, parsed);
}

/* The words of one host file line (comment cut off) into h. */
static int add_line (struct hostfile *h, char *line, const char *where,
                     struct krun_error *errp)
{
    char *save = NULL, *word, *host;
    int slots = 0;

    line[strcspn (line, "#\r\n")] = '\0';
    if (!(host = strtok_r (line, " \t", &save)))
        return 0;
    /* MPICH: the whole line is host or host:N. */
    if (strchr (host, ':')) {
        if ((word = strtok_r (NULL, " \t", &save))) {
            errno = EINVAL;
            return errprintf (errp, "%s: unexpected '%s' after %s", where, word, host);
        }
        return add_word (h, host, strlen (host), where, errp);
    }
    if (!name_valid (host, strlen (host))) {
        errno = EINVAL;
        return errprintf (errp, "%s: '%s' is not a host name", where, host);
    }
    /* Open MPI: host [slots=N] [max_slots=N]. */
    while ((word = strtok_r (NULL, " \t", &save))) {
        int max;
        if (strncmp (word, "slots=", 6) == 0 && slots == 0 &&
            parse_slots (word + 6, strlen (word + 6), &slots))
            continue;
        if (strncmp (word, "max_slots=", 10) == 0 &&
            parse_slots (word + 10, strlen (word + 10), &max))
            continue;
        errno = EINVAL;
        return errprintf (errp,
                          "%s: cannot read '%s' after host %s (expected slots=N, "
                          "N from 1 to %d)",
                          where, word, host, HOSTFILE_MAX_SLOTS);
    }
    if (reserve (h, 1) < 0 || add_host (h, host, strlen (host), slots) < 0)
        return errprintf_errno (errp, "%s", where);
    return 0;
}

/* The lines of f, a host file named name, into h: all or none. */
static int add_stream (struct hostfile *h, FILE *f, const char *name,
                       struct krun_error *errp)
{
    struct hostfile *parsed = hostfile_create ();
    char *line = NULL;
    size_t size = 0;
    int lineno = 0, rc = 0;

    if (!parsed)
        return errprintf_errno (errp, "host file %s", name);
    while (rc == 0 && getline (&line, &size, f) >= 0) {
        char where[PATH_MAX + 32];
        snprintf (where, sizeof (where), "%s:%d", name, ++lineno);
        rc = add_line (parsed, line, where, errp);
    }
    if (rc == 0 && ferror (f)) {
        errno = EIO;
        rc = errprintf_errno (errp, "cannot read host file %s", name);
    }
    free (line);
    if (rc < 0) {
        hostfile_destroy (parsed);
        return -1;
    }
    return commit (h, parsed);
}

int hostfile_add_text (struct hostfile *h, const char *text, const char *name,
                       struct krun_error *errp)
{
    char *copy = strdup (text);
    FILE *f = copy ? fmemopen (copy, strlen (copy), "r") : NULL;
    int rc;

    if (!f) {
        free (copy);
        return errprintf_errno (errp, "host file %s", name);
    }
    rc = add_stream (h, f, name, errp);
    fclose (f);
    free (copy);
    return rc;
}

int hostfile_add_file (struct hostfile *h, const char *path, struct krun_error *errp)
{
    FILE *f = fopen (path, "re");
    int rc;

    if (!f)
        return errprintf_errno (errp, "cannot read host file %s", path);
    rc = add_stream (h, f, path, errp);
    fclose (f);
    return rc;
}
