/* tlsexec.c - see tlsexec.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "tlsexec.h"
#include "transport.h"

#define TLS_PROGRAM "krun-tls"

/* Where krun-tls may be, in the order tried: beside this program (the build
 * tree), ../libexec/krun/ from it (an installation moved as a whole), and
 * the libexec directory it was built for.  Returns how many were set. */
static int candidates (char paths[][PATH_MAX])
{
    char self[PATH_MAX];
    int count = 0;

    if (spawn_self_dir (self, sizeof (self)) == 0) {
        if (snprintf (paths[count], PATH_MAX, "%s/%s", self, TLS_PROGRAM) < PATH_MAX)
            count++;
        if (snprintf (paths[count], PATH_MAX, "%s/../libexec/krun/%s", self,
                      TLS_PROGRAM) < PATH_MAX)
            count++;
    }
    snprintf (paths[count++], PATH_MAX, "%s/krun/%s", KRUN_LIBEXECDIR, TLS_PROGRAM);
    return count;
}

int tlsexec (const char *url, char *argv[], struct krun_error *errp)
{
    char paths[3][PATH_MAX];

    if (!url || strncmp (url, "amqps://", 8) != 0 || transport_tls_enabled ())
        return 0;
    int count = candidates (paths);
    for (int i = 0; i < count; i++) {
        if (access (paths[i], X_OK) < 0)
            continue;
        execv (paths[i], argv);
        return errprintf_errno (errp, "the broker is amqps://, which krun hands to %s",
                                paths[i]);
    }
    errno = ENOENT;
    return errprintf (
        errp,
        "the broker is amqps://, which krun hands to %s, and there is "
        "none: not beside krun, not in %s/krun/ (make builds it with krun, "
        "make install installs it there)",
        TLS_PROGRAM, KRUN_LIBEXECDIR);
}
