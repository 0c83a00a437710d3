/* joblog.c - see joblog.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joblog.h"

#define HEADER "# rank\tnode\tslot\tattempts\tstatus\texit\tstart\tend\tseconds\n"

struct joblog {
    FILE *f;
    char *path;
};

struct joblog *joblog_open (const char *path, bool append, struct krun_error *errp)
{
    struct joblog *log = calloc (1, sizeof (*log));

    if (!log || !(log->path = strdup (path))) {
        errprintf_errno (errp, "joblog %s", path);
        goto error;
    }
    if (!(log->f = fopen (path, append ? "a" : "w"))) {
        errprintf_errno (errp, "cannot write joblog %s", path);
        goto error;
    }
    if (ftell (log->f) == 0 && (fputs (HEADER, log->f) < 0 || fflush (log->f) != 0)) {
        errprintf_errno (errp, "cannot write joblog %s", path);
        goto error;
    }
    return log;
error:
    if (log && log->f)
        fclose (log->f);
    if (log)
        free (log->path);
    free (log);
    return NULL;
}

int joblog_close (struct joblog *log, struct krun_error *errp)
{
    int rc = 0;

    if (!log)
        return 0;
    if (fclose (log->f) != 0)
        rc = errprintf_errno (errp, "cannot write joblog %s", log->path);
    free (log->path);
    free (log);
    return rc;
}

int joblog_write (struct joblog *log, const struct joblog_entry *e,
                  struct krun_error *errp)
{
    /* Node names come from the workers: no tab or newline may break the
     * columns. */
    char node[256];
    size_t k = 0;
    for (const char *p = e->node ? e->node : "-"; *p && k < sizeof (node) - 1; p++)
        node[k++] = (*p == '\t' || *p == '\n' || *p == '\r') ? '_' : *p;
    node[k] = '\0';
    if (fprintf (log->f, "%d\t%s\t%d\t%d\t%s\t%d\t%lld.%06lld\t%lld.%06lld\t%.3f\n",
                 e->rank, node, e->slot, e->attempts, e->status, e->exit,
                 (long long)(e->start_us / 1000000), (long long)(e->start_us % 1000000),
                 (long long)(e->end_us / 1000000), (long long)(e->end_us % 1000000),
                 (e->end_us - e->start_us) / 1e6) < 0 ||
        fflush (log->f) != 0)
        return errprintf_errno (errp, "cannot write joblog %s", log->path);
    return 0;
}

/* Parse a decimal int field ending at a tab; advance *p past the tab. */
static bool next_int (char **p, int *value)
{
    char *end;
    long v;

    errno = 0;
    v = strtol (*p, &end, 10);
    if (end == *p || *end != '\t' || errno || v < INT_MIN || v > INT_MAX)
        return false;
    *value = (int)v;
    *p = end + 1;
    return true;
}

/* Skip a field of any text up to the next tab. */
static bool skip_field (char **p)
{
    char *tab = strchr (*p, '\t');

    if (!tab)
        return false;
    *p = tab + 1;
    return true;
}

int joblog_read_successes (const char *path, int size, bool *succeeded,
                           struct krun_error *errp)
{
    FILE *f = fopen (path, "r");
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, count = 0, rank, slot, attempts, exit_status;
    signed char *last = NULL;

    if (!f)
        return errprintf_errno (errp, "cannot read joblog %s", path);
    /* The last line of a rank counts: 1 success, 0 failure, -1 none. */
    if (!(last = malloc (size > 0 ? size : 1))) {
        fclose (f);
        return errprintf_errno (errp, "joblog %s", path);
    }
    memset (last, -1, size);
    while (getline (&line, &cap, f) > 0) {
        char *p = line;
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (!next_int (&p, &rank) || rank < 0 || !skip_field (&p) ||
            !next_int (&p, &slot) || !next_int (&p, &attempts) || !skip_field (&p) ||
            !next_int (&p, &exit_status)) {
            errno = EINVAL;
            errprintf (errp,
                       "joblog %s:%d: not a joblog line (rank, node, slot, attempts, "
                       "status, exit, ... separated by tabs)",
                       path, lineno);
            count = -1;
            goto done;
        }
        if (rank < size)
            last[rank] = exit_status == 0;
    }
    if (ferror (f)) {
        count = errprintf_errno (errp, "cannot read joblog %s", path);
        goto done;
    }
    for (int r = 0; r < size; r++)
        if (last[r] == 1) {
            succeeded[r] = true;
            count++;
        }
done:
    free (line);
    free (last);
    fclose (f);
    return count;
}
