/* sshprovider.c - the ssh provider's operations (provider.h): a fixed list
 * of hosts (ssh.hosts, ssh.hostfile, -H, --hostfile), one krund on each,
 * started through the system's ssh client when it does not answer
 * (sshdaemons.h) and left warm; `krun down` stops them through ssh.
 *
 * The daemons connect to the broker krun uses, so it must be one the hosts
 * can reach: a configured amqp_url (or $KRUN_AMQP_URL), never the private
 * broker of the local provider, which listens on this machine's loopback
 * only.  Hosts see the program and the working directory at the same paths
 * as this machine (a shared file system), as with mpirun. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wordexp.h>

#include "hostfile.h"
#include "provider.h"
#include "secrets.h"
#include "sshdaemons.h"

struct ssh_provider {
    const struct config *cfg;
    bool quiet;
    struct hostfile *hosts;
    wordexp_t command; /* cfg->ssh_command as words */
    struct sshdaemons daemons;
};

static void ssh_destroy (void *impl)
{
    struct ssh_provider *sp = impl;

    if (sp) {
        int saved_errno = errno;
        hostfile_destroy (sp->hosts);
        if (sp->daemons.ssh_command)
            wordfree (&sp->command);
        free (sp);
        errno = saved_errno;
    }
}

/* ssh.ssh_command as words, as a shell splits them (quotes, ~), without
 * running anything ($(...) is refused). */
static int split_command (struct ssh_provider *sp, struct krun_error *errp)
{
    const char *command = sp->cfg->ssh_command;

    if (wordexp (command, &sp->command, WRDE_NOCMD) != 0) {
        errno = EINVAL;
        return errprintf (errp, "ssh.ssh_command: cannot split '%s' into words",
                          command);
    }
    if (sp->command.we_wordc == 0) {
        wordfree (&sp->command);
        errno = EINVAL;
        return errprintf (errp, "ssh.ssh_command is empty");
    }
    sp->daemons.ssh_command = sp->command.we_wordv;
    return 0;
}

static void *ssh_create (const struct config *cfg, bool quiet, struct krun_error *errp)
{
    struct ssh_provider *sp = calloc (1, sizeof (*sp));

    if (!sp || !(sp->hosts = hostfile_create ())) {
        errprintf_errno (errp, "ssh provider");
        free (sp);
        return NULL;
    }
    sp->cfg = cfg;
    sp->quiet = quiet;
    if ((cfg->ssh_hosts && hostfile_add_list (sp->hosts, cfg->ssh_hosts, errp) < 0) ||
        (cfg->ssh_hostfile &&
         hostfile_add_file (sp->hosts, cfg->ssh_hostfile, errp) < 0) ||
        split_command (sp, errp) < 0)
        goto error;
    sp->daemons.krund = cfg->ssh_krund;
    sp->daemons.pool = cfg->local_pool;
    sp->daemons.idle_timeout = cfg->idle_timeout;
    sp->daemons.connect_timeout = cfg->ssh_connect_timeout;
    return sp;
error:
    ssh_destroy (sp);
    return NULL;
}

/* Before anything is published: hosts to run on, and a broker they can
 * reach. */
static int ssh_survey (void *impl, struct krun_error *errp)
{
    struct ssh_provider *sp = impl;
    bool is_default;
    char *url;

    if (hostfile_count (sp->hosts) == 0) {
        errno = EINVAL;
        return errprintf (errp,
                          "the ssh provider has no hosts: give -H host1,host2 or "
                          "--hostfile FILE (or ssh.hosts, ssh.hostfile)");
    }
    if (!(url = config_amqp_url (sp->cfg, &is_default)))
        return errprintf_errno (errp, "ssh provider");
    free (url);
    if (is_default) {
        errno = EINVAL;
        return errprintf (errp,
                          "the ssh provider needs a broker its hosts can reach: set "
                          "amqp_url (or KRUN_AMQP_URL) to one (the private broker "
                          "listens on this machine's loopback only)");
    }
    return 0;
}

/* Only the hosts' daemons take part. */
static int ssh_filter_nodes (void *impl, struct nodefilter *f, struct krun_error *errp)
{
    struct ssh_provider *sp = impl;

    for (int i = 0; i < hostfile_count (sp->hosts); i++)
        if (nodefilter_add_provider_node (f, hostfile_node (sp->hosts, i)) < 0)
            return errprintf_errno (errp, "node filter");
    return 0;
}

/* Which hosts need a daemon started (start[i]): those that do not answer
 * in p, and those whose warm daemon, started by krun, has another slot
 * count than asked (stopped first, as the local provider does).  Returns 0,
 * or -1 when a daemon that krun did not start has the wrong count. */
static int choose (struct ssh_provider *sp, const struct presence *p, bool *start,
                   struct krun_error *errp)
{
    int n = hostfile_count (sp->hosts), nrestart = 0;
    const char **restart = calloc (n > 0 ? n : 1, sizeof (*restart));

    if (!restart)
        return errprintf_errno (errp, "ssh provider");
    for (int i = 0; i < n; i++) {
        const char *host = hostfile_host (sp->hosts, i);
        const struct presence_node *node =
            presence_find (p, hostfile_node (sp->hosts, i));
        int want = hostfile_slots (sp->hosts, i);
        start[i] = !node;
        if (!node || want == 0 || node->nslots == want)
            continue;
        if (!sshdaemons_recorded (&sp->daemons, host)) {
            free (restart);
            errno = EEXIST;
            return errprintf (errp,
                              "host %s answers with %d slots, not %d, but its daemon "
                              "was not started by krun from this state directory: "
                              "stop it, or ask for its slot count",
                              host, node->nslots, want);
        }
        if (!sp->quiet)
            fprintf (stderr,
                     "krun: restarting the daemon of host %s with %d slots (had %d)\n",
                     host, want, node->nslots);
        restart[nrestart++] = host;
        start[i] = true;
    }
    int rc = sshdaemons_stop_hosts (&sp->daemons, restart, nrestart, errp) < 0 ? -1 : 0;
    free (restart);
    return rc;
}

/* Start the daemons that choose() picks; start[i] says which were started.
 * Returns how many failed to start, or -1. */
static int start_missing (struct ssh_provider *sp, const struct provider_broker *b,
                          const struct presence *p, bool *start,
                          struct krun_error *errp)
{
    int n = hostfile_count (sp->hosts), missing = 0, started;
    char *key_file, *secrets;
    bool is_default;
    size_t len;

    sp->daemons.state_dir = b->state_dir;
    if (choose (sp, p, start, errp) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        missing += start[i];
    if (missing == 0)
        return 0;
    /* The key the session loaded ($KRUN_KEY_FILE, set by it). */
    if (!(key_file = config_key_file (b->state_dir, &is_default)))
        return errprintf_errno (errp, "ssh provider");
    secrets = secrets_encode (b->url, key_file, &len, errp);
    free (key_file);
    if (!secrets)
        return -1;
    started = sshdaemons_start (&sp->daemons, sp->hosts, start, secrets, len, errp);
    secrets_free (secrets, len);
    if (started < 0)
        return -1;
    if (started > 0 && !sp->quiet)
        fprintf (stderr,
                 "krun: started %d worker daemon%s through ssh (idle timeout %d s; "
                 "logs in the state directory of each host)\n",
                 started, started == 1 ? "" : "s", sp->cfg->idle_timeout);
    return missing - started;
}

/* Whether host i answers in p, with the slots asked if any. */
static bool answers (const struct ssh_provider *sp, const struct presence *p, int i)
{
    const struct presence_node *node = presence_find (p, hostfile_node (sp->hosts, i));
    int want = hostfile_slots (sp->hosts, i);

    return node && (want == 0 || node->nslots == want);
}

/* What started_answer() looks at. */
struct started {
    const struct ssh_provider *sp;
    const bool *start;
};

/* Whether every host started (start[i]) answers in p. */
static bool started_answer (const struct presence *p, const void *arg)
{
    const struct started *s = arg;

    for (int i = 0; i < hostfile_count (s->sp->hosts); i++)
        if (s->start[i] && !answers (s->sp, p, i))
            return false;
    return true;
}

/* Ask until the started daemons answer, at most start_timeout; those that
 * do not are reported (and fail the run with require_all_hosts). */
static struct presence *wait_started (struct ssh_provider *sp,
                                      const struct provider_broker *b,
                                      struct presence *p, const bool *start,
                                      struct krun_error *errp)
{
    const struct config *cfg = sp->cfg;
    struct started s = {.sp = sp, .start = start};
    int silent = 0;
    bool ready;

    if (!(p = provider_wait (cfg, b, p, started_answer, &s, &ready, errp)))
        return NULL;
    for (int i = 0; i < hostfile_count (sp->hosts); i++) {
        if (!start[i] || answers (sp, p, i))
            continue;
        fprintf (stderr,
                 "krun: host %s: its krund started but did not answer within %d s "
                 "(can it reach the broker? see krund-%s.log in its state "
                 "directory)\n",
                 hostfile_host (sp->hosts, i), cfg->start_timeout,
                 hostfile_node (sp->hosts, i));
        silent++;
    }
    if (silent > 0 && cfg->ssh_require_all_hosts) {
        presence_destroy (p);
        errno = ETIMEDOUT;
        errprintf (errp, "%d host%s did not answer (--require-all-hosts)", silent,
                   silent == 1 ? "" : "s");
        return NULL;
    }
    return p;
}

static struct presence *ssh_find_workers (void *impl, const struct provider_broker *b,
                                          struct krun_error *errp)
{
    struct ssh_provider *sp = impl;
    int n = hostfile_count (sp->hosts), failed;
    bool *start = calloc (n > 0 ? n : 1, sizeof (*start));
    struct presence *p = NULL;

    if (!start) {
        errprintf_errno (errp, "ssh provider");
        return NULL;
    }
    if (!(p = provider_query (sp->cfg, b, errp)) ||
        (failed = start_missing (sp, b, p, start, errp)) < 0)
        goto error;
    /* Those that started are waited for even when the run fails: the next
     * krun must find them, not start another. */
    if (!(p = wait_started (sp, b, p, start, errp)))
        goto error;
    if (failed > 0 && sp->cfg->ssh_require_all_hosts) {
        errno = EHOSTUNREACH;
        errprintf (errp,
                   "%d of %d host%s could not start a daemon (--require-all-hosts)",
                   failed, n, n == 1 ? "" : "s");
        goto error;
    }
    free (start);
    return p;
error:
    presence_destroy (p);
    free (start);
    return NULL;
}

static int ssh_down (void *impl, const char *state_dir, struct krun_error *errp)
{
    struct ssh_provider *sp = impl;
    int n;

    sp->daemons.state_dir = state_dir;
    if ((n = sshdaemons_stop (&sp->daemons, errp)) < 0)
        return -1;
    printf ("krun: stopped %d worker daemon%s through ssh\n", n, n == 1 ? "" : "s");
    return 0;
}

const struct provider_ops ssh_provider_ops = {
    .name = "ssh",
    .create = ssh_create,
    .destroy = ssh_destroy,
    .survey = ssh_survey,
    .filter_nodes = ssh_filter_nodes,
    .find_workers = ssh_find_workers,
    .down = ssh_down,
};
