#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "program.h"

static int check_executable (const char *path)
{
    struct stat st;

    if (stat (path, &st) < 0)
        return -1;
    if (S_ISDIR (st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    if (!S_ISREG (st.st_mode) || access (path, X_OK) < 0) {
        errno = EACCES;
        return -1;
    }
    return 0;
}

char *program_resolve (const char *name, struct krun_error *errp)
{
    char candidate[PATH_MAX];
    const char *path;
    int err = ENOENT;

    if (!name || !*name) {
        errno = ENOENT;
        errprintf (errp, "no program given");
        return NULL;
    }
    if (strchr (name, '/')) {
        char *abs;
        if (check_executable (name) < 0 || !(abs = realpath (name, NULL))) {
            errprintf_errno (errp, "%s", name);
            return NULL;
        }
        return abs;
    }
    path = getenv ("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchrnul (path, ':');
        int len = (int)(end - path);
        snprintf (candidate, sizeof (candidate), "%.*s/%s", len ? len : 1,
                  len ? path : ".", name);
        if (check_executable (candidate) == 0)
            return realpath (candidate, NULL);
        if (errno == EACCES)
            err = EACCES;
        path = *end ? end + 1 : end;
    }
    errno = err;
    if (err == ENOENT)
        errprintf (errp, "%s: command not found in PATH", name);
    else
        errprintf_errno (errp, "%s", name);
    return NULL;
}

static int is_private (const char *entry)
{
    static const char *const names[] = {
        "KRUN_AMQP_URL=", "KRUN_AMQP_CACERT=", "KRUN_CONFIG=", "KRUN_KEY_FILE="};
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
        if (strncmp (entry, names[i], strlen (names[i])) == 0)
            return 1;
    return 0;
}

char **program_environment (int *countp)
{
    extern char **environ;
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    if (!(env = calloc (n + 1, sizeof (*env))))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!is_private (environ[i]))
            env[k++] = environ[i];
    *countp = (int)k;
    return env;
}
