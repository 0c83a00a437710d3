/* inputs.c - see inputs.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "inputs.h"
#include "protocol.h"

struct entry {
    char *data;
    size_t len;
};

struct inputs {
    char *source;
    struct entry *entries;
    int count, cap;
    size_t total;
};

static const char too_big_advice[] =
    "put large data on a shared file system or in object storage and pass its "
    "path as the input";

void inputs_destroy (struct inputs *in)
{
    int saved = errno;

    if (in) {
        for (int i = 0; i < in->count; i++)
            free (in->entries[i].data);
        free (in->entries);
        free (in->source);
        free (in);
    }
    errno = saved;
}

int inputs_count (const struct inputs *in)
{
    return in->count;
}

const char *inputs_get (const struct inputs *in, int i, size_t *len)
{
    *len = in->entries[i].len;
    return in->entries[i].data;
}

const char *inputs_source (const struct inputs *in)
{
    return in->source;
}

static struct inputs *inputs_new (const char *source)
{
    struct inputs *in = calloc (1, sizeof (*in));

    if (in && !(in->source = strdup (source))) {
        free (in);
        return NULL;
    }
    return in;
}

/* Take data (malloc'd, NUL-terminated) as the next entry; what names it for
 * errors. */
static int add (struct inputs *in, char *data, size_t len, const char *what,
                struct krun_error *errp)
{
    if (len > PROTOCOL_MAX_INPUT) {
        free (data);
        errno = E2BIG;
        return errprintf (errp,
                          "%s: %zu bytes, over the limit of %d bytes per rank; %s",
                          what, len, PROTOCOL_MAX_INPUT, too_big_advice);
    }
    if (in->total + len > INPUTS_MAX_TOTAL) {
        free (data);
        errno = E2BIG;
        return errprintf (errp, "%s: the inputs exceed %d MiB in total; %s", what,
                          INPUTS_MAX_TOTAL / (1024 * 1024), too_big_advice);
    }
    if (in->count == in->cap) {
        int cap = in->cap ? in->cap * 2 : 64;
        struct entry *e = realloc (in->entries, cap * sizeof (*e));
        if (!e) {
            free (data);
            return errprintf_errno (errp, "%s", what);
        }
        in->entries = e;
        in->cap = cap;
    }
    in->entries[in->count++] = (struct entry){data, len};
    in->total += len;
    return 0;
}

struct inputs *inputs_from_lines (const char *path, int text_only,
                                  struct krun_error *errp)
{
    bool from_stdin = strcmp (path, "-") == 0;
    struct inputs *in = inputs_new (from_stdin ? "standard input" : path);
    FILE *f = from_stdin ? stdin : fopen (path, "r");
    char *line = NULL, what[512];
    size_t cap = 0;
    ssize_t n;

    if (!in || !f) {
        errprintf_errno (errp, "cannot read %s", path);
        goto error;
    }
    while ((n = getline (&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        snprintf (what, sizeof (what), "%s:%d", in->source, in->count + 1);
        if (text_only && memchr (line, '\0', len)) {
            errno = EINVAL;
            errprintf (errp, "%s: a NUL byte in a command line", what);
            goto error;
        }
        char *copy = malloc (len + 1);
        if (!copy) {
            errprintf_errno (errp, "%s", what);
            goto error;
        }
        memcpy (copy, line, len);
        copy[len] = '\0';
        if (add (in, copy, len, what, errp) < 0)
            goto error;
    }
    if (ferror (f)) {
        errprintf_errno (errp, "cannot read %s", in->source);
        goto error;
    }
    if (in->count == 0) {
        errno = ENODATA;
        errprintf (errp, "%s is empty: no ranks to run", in->source);
        goto error;
    }
    free (line);
    if (!from_stdin)
        fclose (f);
    return in;
error:
    free (line);
    if (f && !from_stdin)
        fclose (f);
    inputs_destroy (in);
    return NULL;
}

static int compare_names (const void *a, const void *b)
{
    return strverscmp (*(char *const *)a, *(char *const *)b);
}

static int read_file (const char *path, char **data, size_t *len,
                      struct krun_error *errp)
{
    struct stat st;

    if ((*data = fileio_read (path, PROTOCOL_MAX_INPUT, len, errp)))
        return 0;
    if (errno != EFBIG)
        return -1;
    errno = E2BIG;
    return errprintf (errp, "%s: %lld bytes, over the limit of %d bytes per rank; %s",
                      path, stat (path, &st) == 0 ? (long long)st.st_size : -1LL,
                      PROTOCOL_MAX_INPUT, too_big_advice);
}

struct inputs *inputs_from_dir (const char *dir, struct krun_error *errp)
{
    struct inputs *in = inputs_new (dir);
    DIR *d = opendir (dir);
    char **names = NULL;
    int count = 0, cap = 0;
    struct dirent *e;

    if (!in || !d) {
        errprintf_errno (errp, "cannot read the directory %s", dir);
        goto error;
    }
    while ((e = readdir (d))) {
        char *path;
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        if (asprintf (&path, "%s/%s", dir, e->d_name) < 0)
            goto nomem;
        if (stat (path, &st) < 0 || !S_ISREG (st.st_mode)) {
            free (path);
            continue;
        }
        if (count == cap) {
            char **bigger =
                realloc (names, (cap = cap ? cap * 2 : 64) * sizeof (char *));
            if (!bigger) {
                free (path);
                goto nomem;
            }
            names = bigger;
        }
        names[count++] = path;
    }
    if (count > 1)
        qsort (names, count, sizeof (char *), compare_names);
    for (int i = 0; i < count; i++) {
        char *data = NULL;
        size_t len = 0;
        if (read_file (names[i], &data, &len, errp) < 0 ||
            add (in, data, len, names[i], errp) < 0)
            goto error;
    }
    if (in->count == 0) {
        errno = ENODATA;
        errprintf (errp, "%s has no files: no ranks to run", dir);
        goto error;
    }
    for (int i = 0; i < count; i++)
        free (names[i]);
    free (names);
    closedir (d);
    return in;
nomem:
    errprintf_errno (errp, "cannot read the directory %s", dir);
error:
    for (int i = 0; i < count; i++)
        free (names[i]);
    free (names);
    if (d)
        closedir (d);
    inputs_destroy (in);
    return NULL;
}
