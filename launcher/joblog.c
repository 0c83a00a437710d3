/* joblog.c - see joblog.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joblog.h"

#define HEADER \
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
/* The header of the joblogs of krun before it took parallel's format. */
#define OLD_HEADER "# rank\tnode\tslot\tattempts\tstatus\texit\t"

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

/* A character of a field as written: no tab or newline may break the
 * columns. */
static char column_char (char c)
{
    return c == '\t' || c == '\n' || c == '\r' ? ' ' : c;
}

static void put_column (FILE *f, const char *text)
{
    for (const char *p = text; *p; p++)
        fputc (column_char (*p), f);
}

int joblog_write (struct joblog *log, const struct joblog_entry *e,
                  struct krun_error *errp)
{
    fprintf (log->f, "%d\t", e->rank + 1);
    put_column (log->f, e->node ? e->node : "-");
    fprintf (log->f, "\t%lld.%03lld\t%10.3f\t%lld\t%lld\t%d\t%d\t",
             (long long)(e->start_us / 1000000),
             (long long)(e->start_us % 1000000 / 1000), (e->end_us - e->start_us) / 1e6,
             e->sent, e->received, e->exitval, e->signal);
    put_column (log->f, e->command ? e->command : "-");
    if (fputc ('\n', log->f) == EOF || fflush (log->f) != 0 || ferror (log->f))
        return errprintf_errno (errp, "cannot write joblog %s", log->path);
    return 0;
}

static bool plain_word (const char *word)
{
    if (!*word)
        return false;
    for (const char *p = word; *p; p++)
        if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                     "-_./=:,+@%",
                     *p))
            return false;
    return true;
}

char *joblog_command_line (char *const argv[])
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);

    if (!f)
        return NULL;
    for (int i = 0; argv[i]; i++) {
        if (i > 0)
            fputc (' ', f);
        if (plain_word (argv[i])) {
            fputs (argv[i], f);
            continue;
        }
        /* 'it'\''s': a quote ends the quoting, is escaped, and reopens it. */
        fputc ('\'', f);
        for (const char *p = argv[i]; *p; p++)
            fputs (*p == '\'' ? "'\\''" : (char[]){*p, '\0'}, f);
        fputc ('\'', f);
    }
    if (fclose (f) != 0) {
        free (text);
        errno = ENOMEM;
        return NULL;
    }
    return text;
}

struct joblog_history {
    int size;
    bool found;
    signed char *last; /* of each rank: 1 success, 0 failure, -1 no line */
    char **command;    /* of each rank's last line, or NULL */
};

void joblog_history_destroy (struct joblog_history *h)
{
    int saved_errno = errno;

    if (h) {
        for (int r = 0; h->command && r < h->size; r++)
            free (h->command[r]);
        free (h->command);
        free (h->last);
        free (h);
    }
    errno = saved_errno;
}

/* Split line (its newline removed) at tabs into at most max fields.
 * Returns the number of fields. */
static int split_tabs (char *line, char *field[], int max)
{
    int n = 0;

    line[strcspn (line, "\n")] = '\0';
    while (n < max) {
        field[n++] = line;
        char *tab = strchr (line, '\t');
        /* The last field (the command) keeps its tabs. */
        if (!tab || n == max)
            break;
        *tab = '\0';
        line = tab + 1;
    }
    return n;
}

static bool parse_int (const char *text, int *value)
{
    char *end;
    long v;

    errno = 0;
    v = strtol (text, &end, 10);
    if (end == text || *end || errno || v < INT_MIN || v > INT_MAX)
        return false;
    *value = (int)v;
    return true;
}

/* One line of either format into rank, success and command (NULL if the
 * format has none).  Returns false if it is not a joblog line. */
static bool parse_line (char *line, bool old, int *rank, bool *success, char **command)
{
    char *field[9];
    int n = split_tabs (line, field, 9), exitval, signal;

    *command = NULL;
    if (old) {
        /* rank node slot attempts status exit start end seconds */
        if (n < 9 || !parse_int (field[0], rank) || !parse_int (field[5], &exitval))
            return false;
        *success = exitval == 0;
        return *rank >= 0;
    }
    if (n < 9 || !parse_int (field[0], rank) || !parse_int (field[6], &exitval) ||
        !parse_int (field[7], &signal) || *rank < 1)
        return false;
    *rank -= 1; /* Seq counts from 1 */
    *success = exitval == 0 && signal == 0;
    /* "-": written without a command. */
    *command = strcmp (field[8], "-") ? field[8] : NULL;
    return true;
}

struct joblog_history *joblog_read (const char *path, int size, struct krun_error *errp)
{
    struct joblog_history *h = calloc (1, sizeof (*h));
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    bool old = false;

    if (!h || !(h->last = malloc (size > 0 ? size : 1)) ||
        !(h->command = calloc (size > 0 ? size : 1, sizeof (*h->command)))) {
        errprintf_errno (errp, "joblog %s", path);
        goto error;
    }
    h->size = size;
    memset (h->last, -1, size);
    if (!(f = fopen (path, "r"))) {
        if (errno == ENOENT)
            return h;
        errprintf_errno (errp, "cannot read joblog %s", path);
        goto error;
    }
    h->found = true;
    while (getline (&line, &cap, f) > 0) {
        int rank;
        bool success;
        char *command;
        lineno++;
        if (lineno == 1 && strncmp (line, OLD_HEADER, strlen (OLD_HEADER)) == 0)
            old = true;
        if (line[0] == '#' || line[0] == '\n' || strncmp (line, "Seq\t", 4) == 0)
            continue;
        if (!parse_line (line, old, &rank, &success, &command)) {
            errno = EINVAL;
            errprintf (errp,
                       "joblog %s:%d: not a joblog line (Seq, Host, Starttime, "
                       "JobRuntime, Send, Receive, Exitval, Signal, Command separated "
                       "by tabs)",
                       path, lineno);
            goto error;
        }
        if (rank >= size)
            continue;
        h->last[rank] = success;
        free (h->command[rank]);
        h->command[rank] = NULL;
        if (command && !(h->command[rank] = strdup (command))) {
            errprintf_errno (errp, "joblog %s", path);
            goto error;
        }
    }
    if (ferror (f)) {
        errprintf_errno (errp, "cannot read joblog %s", path);
        goto error;
    }
    free (line);
    fclose (f);
    return h;
error:
    free (line);
    if (f)
        fclose (f);
    joblog_history_destroy (h);
    return NULL;
}

bool joblog_history_found (const struct joblog_history *h)
{
    return h->found;
}

bool joblog_history_succeeded (const struct joblog_history *h, int rank)
{
    return rank >= 0 && rank < h->size && h->last[rank] == 1;
}

int joblog_history_successes (const struct joblog_history *h)
{
    int count = 0;

    for (int r = 0; r < h->size; r++)
        count += h->last[r] == 1;
    return count;
}

bool joblog_history_command_changed (const struct joblog_history *h, int rank,
                                     const char *command)
{
    const char *old;

    if (rank < 0 || rank >= h->size || !(old = h->command[rank]) || !command)
        return false;
    for (; *old && *command; old++, command++)
        if (column_char (*old) != column_char (*command))
            return true;
    return *old || *command;
}
