/* krund - the krun worker daemon of one node.  Option parsing only; the work
 * is in daemon.c (the node) and slot.c (one per core). */
#include <getopt.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "detach.h"
#include "log.h"
#include "parseint.h"
#include "pool.h"
#include "protocol.h"
#include "secrets.h"
#include "sign.h"
#include "transport.h"

#define DEFAULT_URL "amqp://guest:guest@127.0.0.1:5672/"
/* How long --secrets-stdin waits for krun's secrets to end. */
#define SECRETS_TIMEOUT_MS 30000

static const char usage_text[] =
    "Usage: krund [OPTIONS]\n"
    "Worker daemon of krun: one pinned slot process per core of this node,\n"
    "pulling tasks from the broker named by $KRUN_AMQP_URL\n"
    "(default " DEFAULT_URL
    ").\n"
    "\n"
    "  --node NAME           node name (default: $KRUN_NODE_NAME, else host name)\n"
    "  --pool NAME           the pool to serve (default: $KRUN_POOL, else the\n"
    "                        pool of the key: 'k' and its first 16 hex digits\n"
    "                        of HMAC-SHA256(E, \"krun-pool\"), E derived from\n"
    "                        the key as for the seals)\n"
    "  --slots N             run N slots (default: one per usable core; more than\n"
    "                        the cores oversubscribes them, for sleep-like tasks)\n"
    "  --bind-to core|pu     a slot per core (default) or per PU (hardware\n"
    "                        thread: a Kubernetes CPU is one)\n"
    "  --topology SPEC       use an hwloc XML file or synthetic description\n"
    "                        instead of this machine (binding is then skipped)\n"
    "  --idle-timeout SECS   exit after SECS without work (default 600)\n"
    "  --grace SECS          on SIGTERM, running tasks get SECS to finish before\n"
    "                        they are given back to the queue (default 10)\n"
    "  --heartbeat SECS      AMQP heartbeat (default 30)\n"
    "  --connection-per-slot each slot logs in to the broker itself (default:\n"
    "                        the slots share the daemon's connection, a\n"
    "                        channel pair each; always per slot for amqps://)\n"
    "  --secrets-stdin       read the broker URL (first line) and the key (the\n"
    "                        rest) from standard input, not from the\n"
    "                        environment: how krun's ssh and Slurm providers\n"
    "                        hand them over\n"
    "  --detach              once started, leave the session (its log in the\n"
    "                        state directory, krund-NODE.log) and print\n"
    "                        'krund pid PID start TICKS' for --stop\n"
    "  --stop PID:TICKS      stop (SIGTERM) the krund --detach printed this\n"
    "                        for, if it still runs, and wait for it (15 s)\n"
    "  --help, --version\n"
    "\n"
    "Environment: KRUN_AMQP_URL, KRUN_AMQP_CACERT (CA file for amqps://),\n"
    "KRUN_NODE_NAME, KRUN_POOL, KRUN_CONNECTION_PER_SLOT=1 (as\n"
    "--connection-per-slot), KRUN_KEY_FILE (required: the key shared with\n"
    "krun that "
    "seals job messages; mode 0600 or 0400).  The URL and the key file name are\n"
    "removed from the environment the tasks see.\n";

extern char **environ;

/* Remove name from the environment, and first overwrite its value where it
 * lies: /proc/PID/environ shows the block the process started with, not
 * environ, so after unsetenv() alone any process of the same user (a task)
 * could still read the broker password there, in krund's and in each
 * slot's (a fork shares the block). */
static void scrub_env (const char *name)
{
    size_t len = strlen (name);

    for (char **e = environ; e && *e; e++) {
        if (strncmp (*e, name, len) == 0 && (*e)[len] == '=')
            memset (*e + len + 1, 0, strlen (*e + len + 1));
    }
    unsetenv (name);
}

static int parse_int (const char *opt, const char *s, int min)
{
    int v;

    if (parseint_int (s, min, INT_MAX, &v) < 0) {
        fprintf (stderr, "krund: %s: expected an integer >= %d, got '%s'\n", opt, min,
                 s);
        exit (2);
    }
    return v;
}

/* What the command line says besides the daemon's configuration. */
struct krund_options {
    const char *pool_name;
    bool secrets_stdin; /* --secrets-stdin */
    bool detach;        /* --detach */
};

/* Parse the options into cfg and o.  Returns -1 to go on, else the exit
 * status (after --help, --version, --stop or a usage error). */
static int parse_options (int argc, char *argv[], struct daemon_config *cfg,
                          struct krund_options *o)
{
    enum {
        OPT_NODE = 256,
        OPT_POOL,
        OPT_SLOTS,
        OPT_BIND_TO,
        OPT_TOPOLOGY,
        OPT_IDLE,
        OPT_GRACE,
        OPT_HEARTBEAT,
        OPT_PER_SLOT,
        OPT_SECRETS_STDIN,
        OPT_DETACH,
        OPT_STOP,
        OPT_HELP,
        OPT_VERSION
    };
    static const struct option options[] = {
        {"node", required_argument, NULL, OPT_NODE},
        {"pool", required_argument, NULL, OPT_POOL},
        {"slots", required_argument, NULL, OPT_SLOTS},
        {"bind-to", required_argument, NULL, OPT_BIND_TO},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
        {"connection-per-slot", no_argument, NULL, OPT_PER_SLOT},
        {"secrets-stdin", no_argument, NULL, OPT_SECRETS_STDIN},
        {"detach", no_argument, NULL, OPT_DETACH},
        {"stop", required_argument, NULL, OPT_STOP},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
            case OPT_NODE:
                cfg->node = optarg;
                break;
            case OPT_POOL:
                o->pool_name = optarg;
                break;
            case OPT_SLOTS:
                cfg->slots = parse_int ("--slots", optarg, 1);
                break;
            case OPT_BIND_TO:
                if (strcmp (optarg, "core") == 0)
                    cfg->unit = TOPOLOGY_CORE;
                else if (strcmp (optarg, "pu") == 0)
                    cfg->unit = TOPOLOGY_PU;
                else {
                    fprintf (stderr,
                             "krund: --bind-to: expected core or pu, got '%s'\n",
                             optarg);
                    return 2;
                }
                break;
            case OPT_TOPOLOGY:
                cfg->topology = optarg;
                break;
            case OPT_IDLE:
                cfg->idle_timeout = parse_int ("--idle-timeout", optarg, 1);
                break;
            case OPT_GRACE:
                cfg->grace = parse_int ("--grace", optarg, 0);
                break;
            case OPT_HEARTBEAT:
                cfg->heartbeat = parse_int ("--heartbeat", optarg, 0);
                break;
            case OPT_PER_SLOT:
                cfg->connection_per_slot = true;
                break;
            case OPT_SECRETS_STDIN:
                o->secrets_stdin = true;
                break;
            case OPT_DETACH:
                o->detach = true;
                break;
            case OPT_STOP:
                return detach_stop (optarg);
            case OPT_HELP:
                fputs (usage_text, stdout);
                return 0;
            case OPT_VERSION:
                printf ("krund %s (protocol %d)\n", PACKAGE_VERSION, PROTOCOL_VERSION);
                return 0;
            default:
                fputs (usage_text, stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "krund: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* The broker's URL and CA file (malloc'd: caller must free), the URL
 * checked and kept out of the tasks' environment.  *urlp may hold the URL
 * already (--secrets-stdin, checked), else it comes from the environment.
 * Returns 0, or -1 after saying why. */
static int take_broker (char **urlp, char **cacertp)
{
    struct krun_error error;
    char *url = getenv ("KRUN_AMQP_URL");
    char *cacert = getenv ("KRUN_AMQP_CACERT");

    url = *urlp ? *urlp : strdup (url && *url ? url : DEFAULT_URL);
    cacert = cacert && *cacert ? strdup (cacert) : NULL;
    scrub_env ("KRUN_AMQP_URL");
    if (!url) {
        perror ("krund");
        free (cacert);
        return -1;
    }
    /* A cut or malformed URL: say so at once, the password hidden. */
    if (!*urlp && transport_url_check (url, &error) < 0) {
        fprintf (stderr, "krund: %s (KRUN_AMQP_URL)\n", error.text);
        log_termination (error.text);
        free (url);
        free (cacert);
        return -1;
    }
    *urlp = url;
    *cacertp = cacert;
    return 0;
}

/* Without the key a worker could not tell the launcher's jobs from
 * anybody's: refuse to start.  Returns key (--secrets-stdin) or the key of
 * $KRUN_KEY_FILE (caller must destroy), or NULL after saying why. */
static struct sign_key *take_key (struct sign_key *key)
{
    struct krun_error error;
    const char *key_file = getenv ("KRUN_KEY_FILE");

    if (!key && !(key = sign_key_load (key_file, &error))) {
        char why[sizeof (error.text) + 32];
        snprintf (why, sizeof (why), "%s%s", error.text,
                  key_file && *key_file ? "" : " (set KRUN_KEY_FILE)");
        fprintf (stderr, "krund: %s\n", why);
        log_termination (why);
        return NULL;
    }
    scrub_env ("KRUN_KEY_FILE");
    return key;
}

int main (int argc, char *argv[])
{
    struct daemon_config cfg = {
        .idle_timeout = 600,
        .heartbeat = 30,
        .grace = 10,
        .split_after_ms = 100,
    };
    char hostname[HOST_NAME_MAX + 1];
    struct krund_options o = {.pool_name = getenv ("KRUN_POOL")};
    char *url = NULL, *cacert;
    struct sign_key *key = NULL;
    struct krun_error error;
    struct pool pool;

    transport_tls_enable (); /* the broker may be amqps:// */
    int rc = parse_options (argc, argv, &cfg, &o);

    if (rc >= 0)
        return rc;
    if (!cfg.node)
        cfg.node = getenv ("KRUN_NODE_NAME");
    /* For the benchmarks' side-by-side runs through krun, which starts the
     * daemons itself. */
    if (getenv ("KRUN_CONNECTION_PER_SLOT") &&
        strcmp (getenv ("KRUN_CONNECTION_PER_SLOT"), "1") == 0)
        cfg.connection_per_slot = true;
    /* For machines whose process starts are slow (and their tests): how
     * long a message of several ranks runs before its rest goes back. */
    const char *split = getenv ("KRUN_SPLIT_AFTER_MS");
    if (split && *split)
        cfg.split_after_ms = parse_int ("KRUN_SPLIT_AFTER_MS", split, 0);
    if (!cfg.node || !*cfg.node) {
        if (gethostname (hostname, sizeof (hostname)) < 0)
            strcpy (hostname, "localhost");
        hostname[sizeof (hostname) - 1] = '\0';
        cfg.node = hostname;
    }
    if (o.secrets_stdin &&
        secrets_read (0, SECRETS_TIMEOUT_MS, &url, &key, &error) < 0) {
        fprintf (stderr, "krund: %s\n", error.text);
        log_termination (error.text);
        return 1;
    }
    if (take_broker (&url, &cacert) < 0) {
        sign_key_destroy (key);
        return 1;
    }
    cfg.url = url;
    cfg.cacert = cacert;
    rc = 1;
    if (!(key = take_key (key)))
        goto out;
    cfg.key = key;
    rc = 2;
    if (pool_init_default (&pool, o.pool_name, key, &error) < 0) {
        fprintf (stderr, "krund: %s\n", error.text);
        goto out;
    }
    cfg.pool = &pool;
    rc = 1;
    if (o.detach && detach_session (cfg.node, &error) < 0) {
        fprintf (stderr, "krund: %s\n", error.text);
        goto out;
    }
    rc = daemon_run (&cfg);
out:
    sign_key_destroy (key);
    free (url);
    free (cacert);
    return rc;
}
