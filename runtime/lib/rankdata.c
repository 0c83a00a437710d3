/* rankdata.c - see rankdata.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rankdata.h"
#include "scratch.h"
#include "userdir.h"

char *rankdata_expand (const char *arg, int rank, int size, const char *input,
                       size_t input_len)
{
    char rank_text[16], size_text[16], seq_text[16];
    size_t len = 0;
    char *out = NULL, *o = NULL;

    /* An input with a NUL byte cannot go into an argument: said rather
     * than cut. */
    if (input && strstr (arg, "{}") && memchr (input, '\0', input_len)) {
        errno = EINVAL;
        return NULL;
    }
    snprintf (rank_text, sizeof (rank_text), "%d", rank);
    snprintf (size_text, sizeof (size_text), "%d", size);
    snprintf (seq_text, sizeof (seq_text), "%d", rank + 1);
    /* Two passes: measure, then copy. */
    for (int pass = 0; pass < 2; pass++) {
        const char *p = arg;
        o = pass ? out : NULL;
        while (*p) {
            const char *with = NULL;
            size_t skip = 1, n = 1;
            if (strncmp (p, "{rank}", 6) == 0)
                with = rank_text, skip = 6, n = strlen (with);
            else if (strncmp (p, "{size}", 6) == 0)
                with = size_text, skip = 6, n = strlen (with);
            else if (strncmp (p, "{#}", 3) == 0)
                with = seq_text, skip = 3, n = strlen (with);
            else if (input && strncmp (p, "{}", 2) == 0)
                with = input, skip = 2, n = input_len;
            if (pass) {
                memcpy (o, with ? with : p, n);
                o += n;
            } else
                len += n;
            p += skip;
        }
        if (!pass && !(out = malloc (len + 1))) {
            errno = ENOMEM;
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

char **rankdata_argv (char *const argv[], int argc, char *const args[], int nargs,
                      int rank, int size, const char *input, size_t input_len)
{
    char **v = calloc ((size_t)argc + nargs + 1, sizeof (*v));

    if (!v)
        return NULL;
    for (int i = 0; i < argc + nargs; i++) {
        if (!(v[i] = rankdata_expand (i < argc ? argv[i] : args[i - argc], rank, size,
                                      input, input_len))) {
            int saved_errno = errno;
            rankdata_argv_free (v);
            errno = saved_errno;
            return NULL;
        }
    }
    return v;
}

void rankdata_argv_free (char **argv)
{
    if (argv) {
        for (char **a = argv; *a; a++)
            free (*a);
        free (argv);
    }
}

char *rankdata_scratch_create (const char *base, const char *job,
                               struct krun_error *errp)
{
    struct krun_error why;
    char *dir;

    if (!base) {
        errno = ENOENT;
        errprintf (errp, "job %s: no directory for its scratch directory", job);
        return NULL;
    }
    if (userdir_check (base, &why) < 0) {
        errprintf (errp, "job %s: %s", job, why.text);
        return NULL;
    }
    if (asprintf (&dir, "%s/job.%s.XXXXXX", base, job) < 0) {
        errprintf_errno (errp, "job %s: scratch directory", job);
        return NULL;
    }
    if (!mkdtemp (dir)) {
        errprintf_errno (errp, "job %s: cannot make a scratch directory in %s", job,
                         base);
        free (dir);
        return NULL;
    }
    return dir;
}

void rankdata_scratch_remove (const char *dir)
{
    int saved = errno;

    /* With whatever a task may have added next to its input file. */
    scratch_remove (dir, NULL);
    errno = saved;
}

int rankdata_write_input (const char *dir, const void *data, size_t len,
                          struct krun_error *errp)
{
    const char *p = data;
    char *path;
    int fd;

    if (asprintf (&path, "%s/%s", dir, RANKDATA_INPUT_NAME) < 0)
        return errprintf_errno (errp, "cannot write the input file in %s", dir);
    if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto error;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close (fd);
            errno = saved;
            goto error;
        }
        p += n;
        len -= n;
    }
    if (close (fd) < 0)
        goto error;
    free (path);
    return 0;
error:
    errprintf_errno (errp, "cannot write %s", path);
    free (path);
    return -1;
}
