/* stagefiles.c - see stagefiles.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"
#include "stagefiles.h"

struct stagefiles {
    int n;
    char **paths; /* as given (borrowed) */
    char **names;
    char **hashes;
};

void stagefiles_destroy (struct stagefiles *sf)
{
    int saved_errno = errno;

    if (sf) {
        for (int i = 0; i < sf->n; i++) {
            free (sf->names[i]);
            free (sf->hashes[i]);
        }
        free (sf->paths);
        free (sf->names);
        free (sf->hashes);
        free (sf);
    }
    errno = saved_errno;
}

/* Whether name a is b, or a directory above it ("a" and "a/b"). */
static bool clashes (const char *a, const char *b)
{
    size_t n = strlen (a);
    return strncmp (a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

static int check_file (const char *path, struct krun_error *errp)
{
    struct stat st;

    if (stat (path, &st) < 0)
        return errprintf_errno (errp, "--stage %s", path);
    if (S_ISDIR (st.st_mode)) {
        errno = EISDIR;
        return errprintf (errp,
                          "--stage %s: is a directory (stage its files, or an "
                          "archive of it)",
                          path);
    }
    if (!S_ISREG (st.st_mode)) {
        errno = EINVAL;
        return errprintf (errp, "--stage %s: not a regular file", path);
    }
    if (access (path, R_OK) < 0)
        return errprintf_errno (errp, "--stage %s", path);
    return 0;
}

struct stagefiles *stagefiles_create (char *const paths[], int n,
                                      struct krun_error *errp)
{
    struct stagefiles *sf;

    if (n < 0 || n > STAGEFILES_MAX) {
        errno = E2BIG;
        errprintf (errp, "--stage: %d files, at most %d (stage an archive instead)", n,
                   STAGEFILES_MAX);
        return NULL;
    }
    if (!(sf = calloc (1, sizeof (*sf))) ||
        !(sf->paths = calloc (n + 1, sizeof (char *))) ||
        !(sf->names = calloc (n + 1, sizeof (char *))) ||
        !(sf->hashes = calloc (n + 1, sizeof (char *)))) {
        errprintf_errno (errp, "--stage");
        goto error;
    }
    for (int i = 0; i < n; i++) {
        char hex[STAGE_HASH_LEN + 1];
        const char *path = paths[i];

        sf->paths[i] = paths[i];
        if (check_file (path, errp) < 0)
            goto error;
        if (!(sf->names[i] = stage_name_for (path))) {
            errprintf_errno (errp, "--stage %s: no file name to give it", path);
            goto error;
        }
        sf->n = i + 1; /* names[i] is owned from here */
        for (int k = 0; k < i; k++) {
            if (clashes (sf->names[k], sf->names[i]) ||
                clashes (sf->names[i], sf->names[k])) {
                errno = EEXIST;
                errprintf (errp,
                           "--stage %s and --stage %s: both would be '%s' for the "
                           "tasks",
                           sf->paths[k], path,
                           strlen (sf->names[k]) < strlen (sf->names[i])
                               ? sf->names[k]
                               : sf->names[i]);
                goto error;
            }
        }
        if (stage_hash_file (path, hex, errp) < 0 || !(sf->hashes[i] = strdup (hex))) {
            if (errno == EFBIG)
                errprintf (errp, "--stage %s: larger than 64 MiB", path);
            goto error;
        }
    }
    sf->n = n;
    return sf;
error:
    stagefiles_destroy (sf);
    return NULL;
}

int stagefiles_count (const struct stagefiles *sf)
{
    return sf ? sf->n : 0;
}

char **stagefiles_names (const struct stagefiles *sf)
{
    return sf->names;
}

char **stagefiles_hashes (const struct stagefiles *sf)
{
    return sf->hashes;
}

int stagefiles_publish (const struct stagefiles *sf, struct transport *t,
                        struct krun_error *errp)
{
    int sent = 0;

    for (int i = 0; i < stagefiles_count (sf); i++) {
        int rc = stage_publish (t, sf->paths[i], sf->hashes[i], errp);
        if (rc < 0)
            return -1;
        sent += rc;
    }
    return sent;
}
