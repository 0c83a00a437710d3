/* kubeexec.c - see kubeexec.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio.h"
#include "kubeexec.h"

/* The most a plugin may print. */
#define MAX_OUTPUT (1024 * 1024)
/* Renew an exec credential this long before it expires. */
#define EXPIRY_MARGIN_S 10

struct kubeexec {
    cJSON *exec; /* the user's exec section */
    char *path;  /* the command, resolved */
    char *token; /* kept credential, or NULL */
    char *cert, *key;
    time_t expiry; /* 0 = no expiry */
    bool cached;
    int runs;
};

static const char *get_string (const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
    return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* Free a string that held a secret, wiped first. */
static void drop_secret (char *s)
{
    if (s) {
        explicit_bzero (s, strlen (s));
        free (s);
    }
}

struct kubeexec *kubeexec_create (const cJSON *exec, const char *dir, const char *what,
                                  struct krun_error *errp)
{
    const char *command = get_string (exec, "command");
    struct kubeexec *x;

    if (!command) {
        errno = EINVAL;
        errprintf (errp, "kubeconfig %s: exec needs a 'command'", what);
        return NULL;
    }
    if (!(x = calloc (1, sizeof (*x))) || !(x->exec = cJSON_Duplicate (exec, true)))
        goto nomem;
    /* A command with a slash is relative to the kubeconfig's directory. */
    if (strchr (command, '/') && command[0] != '/' && dir) {
        if (asprintf (&x->path, "%s/%s", dir, command) < 0)
            x->path = NULL;
    } else
        x->path = strdup (command);
    if (!x->path)
        goto nomem;
    return x;
nomem:
    errprintf_errno (errp, "kubeconfig %s", what);
    kubeexec_destroy (x);
    return NULL;
}

void kubeexec_forget (struct kubeexec *x)
{
    drop_secret (x->token);
    drop_secret (x->cert);
    drop_secret (x->key);
    x->token = x->cert = x->key = NULL;
    x->cached = false;
    x->expiry = 0;
}

void kubeexec_destroy (struct kubeexec *x)
{
    int saved_errno = errno;

    if (x) {
        kubeexec_forget (x);
        cJSON_Delete (x->exec);
        free (x->path);
        free (x);
    }
    errno = saved_errno;
}

int kubeexec_runs (const struct kubeexec *x)
{
    return x->runs;
}

/* RFC 3339 ("2026-11-23T05:00:00Z", fraction and offset allowed) to a
 * time_t, or -1. */
static time_t parse_rfc3339 (const char *s)
{
    struct tm tm = {0};
    const char *rest = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);
    time_t t;
    int sign, hh, mm;

    if (!rest)
        return -1;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    t = timegm (&tm);
    if (*rest == 'Z' || *rest == 'z')
        return rest[1] ? -1 : t;
    if ((*rest == '+' || *rest == '-') && sscanf (rest + 1, "%2d:%2d", &hh, &mm) == 2) {
        sign = *rest == '+' ? 1 : -1;
        return t - sign * (hh * 3600 + mm * 60);
    }
    return -1;
}

/* The child: the plugin's env added to ours, and KUBERNETES_EXEC_INFO. */
static void exec_plugin (const struct kubeexec *x, char **argv, int out_fd)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive (x->exec, "env");
    const char *api_version = get_string (x->exec, "apiVersion");
    char info[256];
    const cJSON *e;

    dup2 (out_fd, STDOUT_FILENO);
    cJSON_ArrayForEach (e, env)
    {
        const char *name = get_string (e, "name");
        const char *value = get_string (e, "value");
        if (name && value)
            setenv (name, value, 1);
    }
    snprintf (info, sizeof (info),
              "{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"spec\":"
              "{\"interactive\":false}}",
              api_version ? api_version : "client.authentication.k8s.io/v1");
    setenv ("KUBERNETES_EXEC_INFO", info, 1);
    execvp (argv[0], argv);
    fprintf (stderr, "krun: exec plugin %s: %s\n", argv[0], strerror (errno));
    _exit (127);
}

/* Run the plugin with its args.  Returns its stdout (caller must free) or
 * NULL. */
static char *run_plugin (struct kubeexec *x, const char *command,
                         struct krun_error *errp)
{
    const cJSON *args = cJSON_GetObjectItemCaseSensitive (x->exec, "args");
    int argc = cJSON_IsArray (args) ? cJSON_GetArraySize (args) : 0;
    char **argv = calloc (argc + 2, sizeof (*argv));
    char *out = NULL;
    int fds[2], status, i = 1;
    size_t len;
    pid_t pid;
    const cJSON *a;

    if (!argv || pipe2 (fds, O_CLOEXEC) < 0)
        goto error;
    argv[0] = x->path;
    cJSON_ArrayForEach (a, args)
    {
        if (cJSON_IsString (a))
            argv[i++] = a->valuestring;
    }
    if ((pid = fork ()) < 0) {
        fdio_close (&fds[0]);
        fdio_close (&fds[1]);
        goto error;
    }
    if (pid == 0)
        exec_plugin (x, argv, fds[1]);
    fdio_close (&fds[1]);
    x->runs++;
    out = fileio_read_fd (fds[0], MAX_OUTPUT, &len);
    int read_errno = errno;
    fdio_close (&fds[0]);
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    free (argv);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        drop_secret (out);
        errno = EPERM;
        errprintf (errp, "exec credential plugin %s failed (%s %d)", command,
                   WIFEXITED (status) ? "exit status" : "signal",
                   WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
        return NULL;
    }
    if (!out) {
        errno = read_errno;
        errprintf_errno (errp, "exec credential plugin %s: its output", command);
    }
    return out;
error:
    errprintf_errno (errp, "exec credential plugin %s", command);
    free (argv);
    return NULL;
}

/* Keep the credential of the ExecCredential json.  Returns 0 or -1. */
static int keep_credential (struct kubeexec *x, const char *command, const cJSON *json,
                            struct krun_error *errp)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (json, "status");
    const char *token = get_string (status, "token");
    const char *cert = get_string (status, "clientCertificateData");
    const char *key = get_string (status, "clientKeyData");
    const char *expiry = get_string (status, "expirationTimestamp");

    if (!cJSON_IsObject (status) || !(token || (cert && key))) {
        errno = EINVAL;
        return errprintf (errp,
                          "exec credential plugin %s: no ExecCredential with "
                          "status.token or status.clientCertificateData/clientKeyData "
                          "on its output",
                          command);
    }
    kubeexec_forget (x);
    if (expiry && (x->expiry = parse_rfc3339 (expiry)) == (time_t)-1) {
        x->expiry = 0;
        errno = EINVAL;
        return errprintf (errp,
                          "exec credential plugin %s: bad expirationTimestamp '%s'",
                          command, expiry);
    }
    if ((token && !(x->token = strdup (token))) ||
        (cert && !(x->cert = strdup (cert))) || (key && !(x->key = strdup (key)))) {
        errprintf_errno (errp, "exec credential plugin %s", command);
        kubeexec_forget (x);
        return -1;
    }
    x->cached = true;
    return 0;
}

/* Wipe the secrets of the parsed copy. */
static void wipe_json (cJSON *json)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (json, "status");
    const char *names[] = {"token", "clientKeyData"};

    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive (status, names[i]);
        if (cJSON_IsString (v))
            explicit_bzero (v->valuestring, strlen (v->valuestring));
    }
}

static int run_exec (struct kubeexec *x, struct krun_error *errp)
{
    const char *command = get_string (x->exec, "command");
    char *out = run_plugin (x, command, errp);
    cJSON *json;
    int rc;

    if (!out)
        return -1;
    json = cJSON_Parse (out);
    drop_secret (out);
    rc = keep_credential (x, command, json, errp);
    wipe_json (json);
    cJSON_Delete (json);
    return rc;
}

int kubeexec_credentials (struct kubeexec *x, const char **token, const char **cert,
                          const char **key, struct krun_error *errp)
{
    if (!x->cached || (x->expiry && time (NULL) + EXPIRY_MARGIN_S >= x->expiry))
        if (run_exec (x, errp) < 0)
            return -1;
    *token = x->token;
    *cert = x->cert;
    *key = x->key;
    return 0;
}
