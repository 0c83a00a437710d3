/* local.c - see local.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "local.h"
#include "pidfile.h"
#include "spawn.h"

/* The most daemons `krun down` stops at once, and how long it waits for
 * them (they let running tasks finish for their --grace, 10 s). */
#define LOCAL_DAEMONS_MAX 1024
#define DAEMON_STOP_MS 15000

/* Where the record of node's daemon pid is (see pidfile.h): one file per
 * daemon, so that two krun starting one at once both leave a record. */
static void daemon_record (const char *state_dir, const char *node, pid_t pid,
                           char *buf, size_t size)
{
    snprintf (buf, size, "%s/krund-%s.%d.pid", state_dir, node, (int)pid);
}

/* Whether name is a daemon record, krund-NODE.PID.pid (of node, or of any
 * node if NULL). */
static bool is_record (const char *name, const char *node)
{
    size_t len = strlen (name);
    const char *end, *digits;

    if (len < 13 || strncmp (name, "krund-", 6) != 0 || strcmp (name + len - 4, ".pid"))
        return false;
    end = name + len - 4;
    for (digits = end; digits > name + 6 && '0' <= digits[-1] && digits[-1] <= '9';
         digits--)
        ;
    /* A PID, after a dot, after a node name. */
    if (digits == end || digits[-1] != '.' || digits - 1 == name + 6)
        return false;
    return !node || (strlen (node) == (size_t)(digits - 1 - (name + 6)) &&
                     strncmp (name + 6, node, strlen (node)) == 0);
}

/* The running daemons recorded for node (NULL: every node), at most max
 * into pids; records of processes that no longer run are removed, and so
 * are those returned when take is true (the caller stops them).  Returns
 * the count. */
static int recorded_daemons (const char *state_dir, const char *node, bool take,
                             pid_t *pids, int max)
{
    DIR *d = opendir (state_dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir (d)) && n < max) {
        char record[PATH_MAX + 256];
        pid_t pid;

        if (!is_record (e->d_name, node))
            continue;
        snprintf (record, sizeof (record), "%s/%s", state_dir, e->d_name);
        if ((pid = pidfile_running (record)) > 0)
            pids[n++] = pid;
        if (pid <= 0 || take)
            unlink (record);
    }
    closedir (d);
    return n;
}

/* krund: beside krun in the build tree, else installed, else $PATH. */
static void krund_path (char *buf, size_t size)
{
    char self[PATH_MAX];
    const char *env = getenv ("KRUN_KRUND");

    if (env && *env) {
        snprintf (buf, size, "%s", env);
        return;
    }
    if (spawn_self_dir (self, sizeof (self)) == 0) {
        if (snprintf (buf, size, "%s/../runtime/krund", self) < (int)size &&
            access (buf, X_OK) == 0)
            return;
        if (snprintf (buf, size, "%s/../sbin/krund", self) < (int)size &&
            access (buf, X_OK) == 0)
            return;
    }
    snprintf (buf, size, "%s/krund", KRUN_SBINDIR);
    if (access (buf, X_OK) != 0)
        snprintf (buf, size, "krund");
}

static int start_daemon (const struct config *cfg, const char *url,
                         const char *state_dir, const char *node, int slots,
                         const char *topology, struct krun_error *errp)
{
    char krund[PATH_MAX], log[PATH_MAX + 64], slots_s[16], idle_s[16];
    char url_env[TRANSPORT_URL_MAX + 32], cacert_env[PATH_MAX + 32];
    char key_env[PATH_MAX + 32], state_env[PATH_MAX + 32], pool_env[128];
    char *env_add[6] = {url_env, key_env, state_env, NULL, NULL, NULL};
    int nenv = 3;
    char record[PATH_MAX + 64];
    char *argv[12];
    bool is_default;
    char *key_file;
    int k = 0;

    krund_path (krund, sizeof (krund));
    snprintf (log, sizeof (log), "%s/krund-%s.log", state_dir, node);
    snprintf (slots_s, sizeof (slots_s), "%d", slots);
    snprintf (idle_s, sizeof (idle_s), "%d", cfg->idle_timeout);
    /* The URL may hold a password: environment, never argv (ps shows argv).
     * A cut URL would fail in the daemon, and show part of the password. */
    if (transport_url_check (url, errp) < 0)
        return -1;
    snprintf (url_env, sizeof (url_env), "KRUN_AMQP_URL=%s", url);
    /* The daemons verify job messages with the launcher's key (krun made
     * sure the file exists before it starts them). */
    if (!(key_file = config_key_file (state_dir, &is_default)))
        return errprintf_errno (errp, "cannot start krund for node %s", node);
    snprintf (key_env, sizeof (key_env), "KRUN_KEY_FILE=%s", key_file);
    free (key_file);
    /* krund keeps its cache and scratch space there (userdir.h). */
    snprintf (state_env, sizeof (state_env), "KRUN_STATE_DIR=%s", state_dir);
    if (cfg->amqp_cacert) {
        snprintf (cacert_env, sizeof (cacert_env), "KRUN_AMQP_CACERT=%s",
                  cfg->amqp_cacert);
        env_add[nenv++] = cacert_env;
    }
    /* local.pool: else krund names the pool after the key, as krun does. */
    if (cfg->local_pool) {
        snprintf (pool_env, sizeof (pool_env), "KRUN_POOL=%s", cfg->local_pool);
        env_add[nenv++] = pool_env;
    }
    /* Copies: argv's strings are not const (execv's prototype). */
    char *node_arg = strdup (node), *topology_arg = topology ? strdup (topology) : NULL;
    if (!node_arg || (topology && !topology_arg)) {
        free (node_arg);
        return errprintf_errno (errp, "cannot start krund for node %s", node);
    }
    argv[k++] = krund;
    argv[k++] = "--node";
    argv[k++] = node_arg;
    argv[k++] = "--idle-timeout";
    argv[k++] = idle_s;
    if (slots > 0) {
        argv[k++] = "--slots";
        argv[k++] = slots_s;
    }
    if (topology_arg) {
        argv[k++] = "--topology";
        argv[k++] = topology_arg;
    }
    argv[k] = NULL;
    pid_t pid = spawn_detached (krund, argv, env_add, log, NULL, 0, errp);
    free (node_arg);
    free (topology_arg);
    if (pid < 0)
        return -1;
    /* `krun down` stops what this record names, and nothing else. */
    daemon_record (state_dir, node, pid, record, sizeof (record));
    return pidfile_record (record, pid, errp);
}

/* The PID of node's daemon if this machine's krun started it and it still
 * runs, else 0. */
static pid_t recorded_daemon (const char *state_dir, const char *node)
{
    pid_t pid;

    return recorded_daemons (state_dir, node, false, &pid, 1) == 1 ? pid : 0;
}

/* SIGTERM to the pids, then wait for them all, at most DAEMON_STOP_MS. */
static void stop_all (const pid_t *pids, int n)
{
    int64_t deadline = clock_mono_ms () + DAEMON_STOP_MS;

    for (int i = 0; i < n; i++)
        kill (pids[i], SIGTERM);
    for (int i = 0; i < n; i++)
        pidfile_wait_stopped (
            pids[i],
            (int)(deadline > clock_mono_ms () ? deadline - clock_mono_ms () : 0));
}

static void stop_daemon (const char *state_dir, const char *node)
{
    pid_t pids[LOCAL_DAEMONS_MAX];

    stop_all (pids, recorded_daemons (state_dir, node, true, pids, LOCAL_DAEMONS_MAX));
}

void local_default_node (char *buf, size_t size)
{
    if (gethostname (buf, size) < 0)
        snprintf (buf, size, "localhost");
    buf[size - 1] = '\0';
}

int local_node_count (const struct config *cfg)
{
    return cfg->local_nnodes > 0 ? cfg->local_nnodes : 1;
}

/* Whether the daemon of node runs another krund than the one krun would
 * start now: its binary was rebuilt or upgraded since the daemon started,
 * and a warm daemon of an older build may not know what this krun sends.
 * Told by the inode of /proc/PID/exe; false when that cannot be told (no
 * daemon of node that this machine's krun started runs). */
static bool runs_other_build (const char *state_dir, const char *node)
{
    char exe[64], krund[PATH_MAX];
    struct stat running, current;
    pid_t pid = recorded_daemon (state_dir, node);

    if (pid <= 0)
        return false;
    krund_path (krund, sizeof (krund));
    snprintf (exe, sizeof (exe), "/proc/%d/exe", (int)pid);
    if (stat (exe, &running) < 0 || stat (krund, &current) < 0)
        return false;
    return running.st_dev != current.st_dev || running.st_ino != current.st_ino;
}

static int ensure_one (const struct config *cfg, const char *url, const char *state_dir,
                       const struct presence *p, const char *node, int slots,
                       const char *topology, struct krun_error *errp)
{
    const struct presence_node *n = presence_find (p, node);
    bool other_slots = n && slots != 0 && n->nslots != slots;

    if (n && !other_slots && !runs_other_build (state_dir, node))
        return 0;
    if (n && !recorded_daemon (state_dir, node))
        return errprintf (errp,
                          "node %s answers with %d slots, not %d, but its daemon was "
                          "not started by krun on this machine: stop it, or ask for "
                          "its slot count",
                          node, n->nslots, slots);
    if (n) {
        if (other_slots)
            fprintf (stderr,
                     "krun: restarting the daemon of node %s with %d slots (had %d)\n",
                     node, slots, n->nslots);
        else
            fprintf (stderr,
                     "krun: restarting the daemon of node %s: its krund was rebuilt or "
                     "replaced since it started\n",
                     node);
        stop_daemon (state_dir, node);
    }
    if (start_daemon (cfg, url, state_dir, node, slots, topology, errp) < 0)
        return -1;
    return 1;
}

int local_daemons_ensure (const struct config *cfg, const char *url,
                          const char *state_dir, const struct presence *p, int slots,
                          struct krun_error *errp)
{
    int started = 0, rc;

    if (cfg->local_nnodes == 0) {
        char host[256];
        local_default_node (host, sizeof (host));
        rc = ensure_one (cfg, url, state_dir, p, host,
                         slots > 0 ? slots : cfg->local_slots, NULL, errp);
        return rc;
    }
    for (int i = 0; i < cfg->local_nnodes; i++) {
        const struct config_local_node *n = &cfg->local_nodes[i];
        if ((rc = ensure_one (cfg, url, state_dir, p, n->name, n->slots, n->topology,
                              errp)) < 0)
            return -1;
        started += rc;
    }
    return started;
}

int local_daemons_stop (const char *state_dir)
{
    pid_t pids[LOCAL_DAEMONS_MAX];
    int n = recorded_daemons (state_dir, NULL, true, pids, LOCAL_DAEMONS_MAX);

    /* Signalled all first: they stop in parallel. */
    stop_all (pids, n);
    return n;
}
