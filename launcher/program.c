#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envlist.h"
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

/* Never sent, not even with -x: the broker's credentials, the signing
 * key's file and krun's own settings stay with the launcher. */
static bool never_sent (const char *entry)
{
    return strncmp (entry, "KRUN_AMQP_", 10) == 0 ||
           (strncmp (entry, "KRUN_CONFIG", 11) == 0 &&
            (entry[11] == '=' || entry[11] == '\0')) ||
           (strncmp (entry, "KRUN_KEY_FILE", 13) == 0 &&
            (entry[13] == '=' || entry[13] == '\0'));
}

/* Not sent unless named with -x: they describe the launcher's host or
 * session and would mislead a task on another node. */
static bool host_specific (const char *entry)
{
    static const char *const names[] = {
        "HOSTNAME", "DISPLAY", "XAUTHORITY", "SSH_AUTH_SOCK", "SSH_AGENT_PID",
        "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "DBUS_SESSION_BUS_ADDRESS",
        "XDG_RUNTIME_DIR", "XDG_SESSION_ID", "PWD", "OLDPWD", "SHLVL", "_",
        /* The launcher user's home: on a node the daemon's user may not
         * write it (a pod's uid); krund gives tasks a writable one. */
        "HOME"};
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++) {
        size_t n = strlen (names[i]);
        if (strncmp (entry, names[i], n) == 0 && entry[n] == '=')
            return true;
    }
    return false;
}

/* A name the shell could export: letters, digits and _, not starting
 * with a digit. */
static bool valid_name (const char *name, size_t len)
{
    if (len == 0 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(name[i] == '_' || (name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9')))
            return false;
    return true;
}

char **program_environment (char *const exports[], int nexports, int *countp,
                            struct krun_error *errp)
{
    extern char **environ;
    size_t total = 0, k = 0;
    char **env;

    while (environ[total])
        total++;
    if (!(env = calloc (total + nexports + 1, sizeof (*env)))) {
        errprintf_errno (errp, "environment");
        return NULL;
    }
    for (size_t i = 0; i < total; i++)
        if (!never_sent (environ[i]) && !host_specific (environ[i]))
            envlist_put (env, &k, environ[i]);
    for (int i = 0; i < nexports; i++) {
        char *x = exports[i];
        size_t len = envlist_name_length (x);
        if (!valid_name (x, len)) {
            errno = EINVAL;
            errprintf (errp,
                       "-x %s: expected VAR or VAR=value, VAR made of letters, digits "
                       "and _, not starting with a digit",
                       x);
            goto error;
        }
        if (never_sent (x)) {
            errno = EPERM;
            errprintf (errp, "-x %.*s: the broker settings never leave the launcher",
                       (int)len, x);
            goto error;
        }
        /* The slot sets them for each task, over whatever -x said: a value
         * that would be ignored is refused instead. */
        if (strncmp (x, "KRUN_", 5) == 0) {
            errno = EINVAL;
            errprintf (errp,
                       "-x %.*s: krun sets the KRUN_ variables of each task itself",
                       (int)len, x);
            goto error;
        }
        if (x[len] == '=') {
            envlist_put (env, &k, x);
            continue;
        }
        int found = envlist_find (environ, total, x);
        if (found < 0) {
            errno = ENOENT;
            errprintf (errp, "-x %s: %s is not set in the launcher's environment", x,
                       x);
            goto error;
        }
        envlist_put (env, &k, environ[found]);
    }
    env[k] = NULL;
    *countp = (int)k;
    return env;
error:
    free (env);
    return NULL;
}

bool program_stdin_has_data (int fd)
{
    struct stat st;
    int waiting = 0;

    if (isatty (fd) || fstat (fd, &st) < 0)
        return false;
    if (S_ISREG (st.st_mode)) {
        off_t at = lseek (fd, 0, SEEK_CUR);
        return at >= 0 && at < st.st_size;
    }
    return (S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode)) &&
           ioctl (fd, FIONREAD, &waiting) == 0 && waiting > 0;
}
