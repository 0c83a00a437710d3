/* sshdaemons.h - the ssh provider's daemons: started and stopped on their
 * hosts through ssh (sshexec.h), remembered in krun's state directory.
 *
 * Starting runs, on every host at once,
 *
 *     KRUND --secrets-stdin --detach --node NODE --idle-timeout T
 *           [--slots N] [--pool P]
 *
 * with the broker URL and the key on the session's standard input
 * (secrets.h): never on a command line, never in a file on the host.  The
 * daemon leaves the session once it has read and checked them and prints
 * its PID and start time, which krun keeps in STATE_DIR/ssh-HOST.krund
 * (mode 0600).  Stopping (`krun down`) runs `KRUND --stop PID:TICKS` on
 * each recorded host: only the process krun started there is signalled.
 *
 * A host that cannot be reached, has no krund or whose krund fails to
 * start is reported in one line naming the host and the error ssh or the
 * remote shell gave; the others go on.
 */
#ifndef KRUN_SSHDAEMONS_H
#define KRUN_SSHDAEMONS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "hostfile.h"

struct sshdaemons {
    char *const *ssh_command; /* the client and its options, NULL-terminated */
    const char *krund;        /* krund on the hosts: a path, or a name their
                                 PATH finds */
    const char *pool;         /* --pool, or NULL: the key's pool */
    int idle_timeout;         /* s */
    int connect_timeout;      /* s, ssh's ConnectTimeout */
    const char *state_dir;    /* where the records are */
};

/* How long a start may take beyond the connection (krund reads its
 * secrets, checks them and detaches), and a stop (krund --stop waits 15 s
 * for the daemon's running tasks). */
#define SSHDAEMONS_START_MS 30000
#define SSHDAEMONS_STOP_MS 20000

/* Start a daemon on each host i of hosts for which start[i] is true, with
 * secrets (len bytes) on its standard input.  Sets start[i] to false for
 * each host where it failed, after printing one line to stderr:
 * "krun: host HOST: WHY".  Returns the number started, or -1 with errno
 * and errp if ssh could not be run at all. */
int sshdaemons_start (const struct sshdaemons *d, const struct hostfile *hosts,
                      bool *start, const void *secrets, size_t len,
                      struct krun_error *errp);

/* Stop the daemons recorded in d->state_dir, all at once, and forget those
 * that are gone.  A host that cannot be reached keeps its record and is
 * reported on stderr.  Returns the number stopped (or found gone already),
 * or -1 with errno and errp. */
int sshdaemons_stop (const struct sshdaemons *d, struct krun_error *errp);

/* Stop the daemons recorded for the n hosts only (ssh names, as in the
 * host list).  Returns as sshdaemons_stop(). */
int sshdaemons_stop_hosts (const struct sshdaemons *d, const char *const hosts[], int n,
                           struct krun_error *errp);

/* Whether d->state_dir records a daemon started on host. */
bool sshdaemons_recorded (const struct sshdaemons *d, const char *host);

#endif
