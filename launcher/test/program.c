/* Unit tests of program_environment(): what travels to the tasks. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "tests/tap.h"

static const char *lookup (char **env, const char *name)
{
    size_t n = strlen (name);
    for (; *env; env++)
        if (strncmp (*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

int main (void)
{
    struct krun_error error;
    int count;
    char **env;

    plan (NO_PLAN);
    setenv ("KRUN_AMQP_URL", "amqp://u:secret@h/", 1);
    setenv ("KRUN_AMQP_CACERT", "/ca.pem", 1);
    setenv ("KRUN_CONFIG", "/c.yaml", 1);
    setenv ("KRUN_CONFIGURED", "yes", 1);
    setenv ("DISPLAY", ":0", 1);
    setenv ("SSH_AUTH_SOCK", "/tmp/agent", 1);
    setenv ("MY_VAR", "1", 1);

    env = program_environment (NULL, 0, &count, &error);
    ok (env && env[count] == NULL, "default environment");
    ok (env && !lookup (env, "KRUN_AMQP_URL") && !lookup (env, "KRUN_AMQP_CACERT") &&
            !lookup (env, "KRUN_CONFIG"),
        "broker settings are not sent");
    ok (env && !lookup (env, "DISPLAY") && !lookup (env, "SSH_AUTH_SOCK"),
        "host-specific variables are not sent by default");
    ok (env && lookup (env, "MY_VAR") && lookup (env, "KRUN_CONFIGURED") &&
            lookup (env, "PATH"),
        "other variables are sent");
    free (env);

    char *exports[] = {"DISPLAY", "MY_VAR=2", "NEW=a=b"};
    env = program_environment (exports, 3, &count, &error);
    ok (env && strcmp (lookup (env, "DISPLAY"), ":0") == 0,
        "-x VAR sends a host-specific variable");
    ok (env && strcmp (lookup (env, "MY_VAR"), "2") == 0,
        "-x VAR=value replaces the launcher's value");
    ok (env && strcmp (lookup (env, "NEW"), "a=b") == 0,
        "-x VAR=value adds a variable");
    int my = 0;
    for (int i = 0; env && i < count; i++)
        my += strncmp (env[i], "MY_VAR=", 7) == 0;
    ok (my == 1, "a replaced variable occurs once");
    free (env);

    static const struct {
        char *x;
        int err;
        const char *needle;
    } bad[] = {
        {"KRUN_AMQP_URL", EPERM, "never leave"},
        {"KRUN_AMQP_URL=amqp://x/", EPERM, "never leave"},
        {"KRUN_CONFIG", EPERM, "never leave"},
        {"UNSET_VARIABLE_XYZ", ENOENT, "not set"},
        {"=x", EINVAL, "expected VAR"},
        {"BAD NAME=1", EINVAL, "expected VAR"},
        {"1X=1", EINVAL, "expected VAR"},
        {"A-B", EINVAL, "expected VAR"},
        {"KRUN_RANK=7", EINVAL, "krun sets the KRUN_ variables"},
        {"KRUN_SIZE", EINVAL, "krun sets the KRUN_ variables"},
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        char *x[] = {bad[i].x};
        errno = 0;
        env = program_environment (x, 1, &count, &error);
        ok (!env && errno == bad[i].err && strstr (error.text, bad[i].needle),
            "-x %s refused: %s", bad[i].x, error.text);
        free (env);
    }
    int fds[2];
    if (pipe (fds) < 0)
        bail_out ("pipe");
    ok (!program_stdin_has_data (fds[0]), "stdin: an empty pipe has no data");
    if (write (fds[1], "x", 1) != 1)
        bail_out ("write");
    ok (program_stdin_has_data (fds[0]), "stdin: a pipe with a byte waiting has data");
    close (fds[0]);
    close (fds[1]);
    int null = open ("/dev/null", O_RDONLY);
    ok (!program_stdin_has_data (null), "stdin: /dev/null has none");
    close (null);
    int file = open ("/proc/self/exe", O_RDONLY);
    ok (program_stdin_has_data (file), "stdin: a file not read to its end has data");
    lseek (file, 0, SEEK_END);
    ok (!program_stdin_has_data (file), "stdin: ... read to its end has none");
    close (file);
    done_testing ();
    return exit_status ();
}
