/* krun - the launcher.  Option parsing and the order of steps only: the
 * work is in config.c, local.c (embedded provider), kubernetes.c (the
 * Kubernetes provider), presence.c, job.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "job.h"
#include "kubernetes/kubernetes.h"
#include "local/local.h"
#include "nodefilter.h"
#include "pool.h"
#include "local/privatebroker.h"
#include "inputs.h"
#include "jobqueues.h"
#include "presence.h"
#include "program.h"
#include "progress.h"
#include "rankfiles.h"
#include "protocol.h"
#include "sign.h"
#include "stage.h"
#include "stagefiles.h"
#include "transport.h"

/* Output a rank may send before it is cut (--output-limit): enough for any
 * reasonable log, small enough that a runaway task cannot fill the broker. */
#define DEFAULT_OUTPUT_LIMIT (64 << 20)

static volatile sig_atomic_t cancel_signal;

static void on_cancel_signal (int sig)
{
    cancel_signal = sig;
}

static const char usage_text[] =
    "Usage: krun [OPTIONS] -n N PROGRAM [ARGS...]\n"
    "       krun [OPTIONS] --inputs FILE PROGRAM [ARGS...]\n"
    "       krun [OPTIONS] -f COMMANDS\n"
    "       krun [OPTIONS] up | down | status | broker start|stop [OPTIONS]\n"
    "Run N ranks of PROGRAM on warm, core-pinned worker slots that pull the\n"
    "ranks from a RabbitMQ queue.  {rank} and {size} in ARGS are replaced.\n"
    "\n"
    "Job:\n"
    "  -n, --np N              number of ranks (else the number of inputs or\n"
    "                          commands)\n"
    "  -f, --command-file FILE run each line of FILE with /bin/sh -c, one rank\n"
    "                          per line (rank = line number - 1)\n"
    "      --map-by slot|node  which slots take part when N is smaller than the\n"
    "                          slots: fill node after node (slot, default) or\n"
    "                          round robin over the nodes (node)\n"
    "      --delivery-limit K  give up on a rank after K deliveries (default 5)\n"
    "      --nodes A,B         run only on these nodes of the pool\n"
    "      --exclude C,D       do not run on these nodes\n"
    "      --wait              keep waiting when tasks are queued and no slot\n"
    "                          consumes them (default: fail after\n"
    "                          stall_timeout_ms, 30 s)\n"
    "Data in and out (at most 1 MiB per rank each way):\n"
    "      --inputs FILE       line i of FILE (- for stdin) is rank i's input\n"
    "      --input-dir DIR     the i-th file of DIR (by name) is rank i's input\n"
    "      --results DIR       write rank i's krun_result bytes to DIR/i\n"
    "      --output-dir DIR    rank i's stdout and stderr to DIR/i.out, DIR/i.err\n"
    "Environment:\n"
    "  -x VAR | VAR=value      send VAR (even a host-specific one) or set it\n"
    "Output and reports:\n"
    "      --tag-output        prefix every output line with [rank]\n"
    "      --progress          status line on stderr even when it is not a\n"
    "                          terminal (default: on a terminal, unless -q)\n"
    "      --report-bindings   print the slot map, and where each rank ran\n"
    "      --timeline FILE     write one CSV row per rank: node, slot, core,\n"
    "                          attempt, published/started/finished times (us)\n"
    "  -q, --quiet             no status line, no notes about started brokers\n"
    "                          and daemons\n"
    "Limits, retries, logs:\n"
    "      --timeout S         kill a task running longer than S seconds (SIGTERM,\n"
    "                          SIGKILL 2 s later); it counts as exit status 124\n"
    "      --retries N         run a rank that ended non-zero up to N more times\n"
    "      --joblog FILE       one line per rank as it ends: rank, node, slot,\n"
    "                          attempts, status, exit, start, end, seconds\n"
    "      --resume FILE       run only the ranks FILE (a joblog) has no success\n"
    "                          for; with --joblog FILE too, appends to it\n"
    "      --output-limit B    forward at most B bytes of output per rank (K, M, G\n"
    "                          suffixes; default 64M; 0 = no limit), then a marker\n"
    "Workers (local provider):\n"
    "      --slots N           slots of this machine's daemon (default: one per\n"
    "                          core; more oversubscribes, for sleep-like tasks)\n"
    "      --idle-timeout S    daemons started now exit after S idle seconds\n"
    "Workers (kubernetes provider):\n"
    "      --kubeconfig FILE   Kubernetes credentials (default $KUBECONFIG, else\n"
    "                          ~/.kube/config, else the in-cluster account)\n"
    "      --context NAME      kubeconfig context (default: current-context)\n"
    "      --no-stage          do not send the program through the broker: it\n"
    "                          exists at the same absolute path in the image\n"
    "Files the tasks need (both providers):\n"
    "      --stage FILE        send FILE through the broker once; every task finds\n"
    "                          it in $KRUN_STAGED (a relative path is kept: data/x\n"
    "                          is $KRUN_STAGED/data/x), which on Kubernetes is also\n"
    "                          its working directory; repeat for more files\n"
    "Configuration:\n"
    "      --provider local|kubernetes   where the workers come from\n"
    "      --config FILE       configuration file (default $KRUN_CONFIG, else\n"
    "                          ~/.config/krun/krun.yaml)\n"
    "  -h, --help              this text\n"
    "  -V, --version           version and protocol version\n"
    "\n"
    "Subcommands: `krun up` starts the broker and daemons (or worker pods)\n"
    "without running anything, `krun status` lists the live daemons (pods)\n"
    "and the running jobs' queues, `krun down` deletes those queues and stops\n"
    "the local daemons and the private broker (deletes the pool's pods),\n"
    "`krun broker start|stop` only the broker.  Exit status: 0\n"
    "if every rank exited 0, else the highest rank status, 128+S for a rank\n"
    "killed by signal S, at least 74 when output or results could not be\n"
    "written, 2 for bad usage (see krun(1)).\n";

struct options {
    int size;
    const char *map_by;
    bool tag_output;
    bool report_bindings;
    const char *timeline;
    int delivery_limit;
    int timeout_ms;
    int retries;
    int output_limit;
    const char *joblog;
    const char *resume;
    int slots;
    int idle_timeout;
    const char *config;
    const char *provider;
    const char *kubeconfig;
    const char *context;
    bool no_stage;
    bool quiet;
    const char *command_file;
    const char *inputs;
    const char *input_dir;
    const char *results;
    const char *output_dir;
    bool progress;
    char **exports; /* -x arguments, borrowed from argv */
    int nexports;
    char **stage_files; /* --stage arguments, borrowed from argv */
    int nstage_files;
    const char *nodes;   /* --nodes */
    const char *exclude; /* --exclude */
    bool wait;
};

static void die (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));
static void die (const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "krun: ");
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fprintf (stderr, "\n");
    exit (2);
}

/* A failure of the cluster or its API (not of the user's input): status 1. */
static void fatal (const char *text) __attribute__ ((noreturn));
static void fatal (const char *text)
{
    fprintf (stderr, "krun: %s\n", text);
    exit (1);
}

static bool is_kubernetes (const struct config *cfg)
{
    return strcmp (cfg->provider, "kubernetes") == 0;
}

/* The pool; with survey, also the cluster map and the pool's pods. */
static struct kubernetes *kube_open (const struct config *cfg, const struct options *o,
                                     bool survey)
{
    struct krun_error error;
    struct kubernetes *k = kubernetes_create (cfg, o->kubeconfig, o->context, &error);

    if (!k || (survey && kubernetes_survey (k, &error) < 0))
        fatal (error.text);
    return k;
}

static int parse_count (const char *opt, const char *s, int min)
{
    char *end;
    long v;

    errno = 0;
    v = strtol (s, &end, 10);
    if (*s == '\0' || *end != '\0' || (errno && errno != ERANGE) || v < min)
        die ("%s: expected an integer >= %d, got '%s'", opt, min, s);
    /* A number too large for an int (or for a long) is a number all the
     * same: say which limit it passed rather than that it is not one. */
    if (errno == ERANGE || v > INT_MAX)
        die ("%s: %s is out of range: at most %d", opt, s, INT_MAX);
    return (int)v;
}

/* Seconds (decimals allowed, > 0) as milliseconds. */
static int parse_seconds_ms (const char *opt, const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod (s, &end);
    if (*s == '\0' || *end != '\0' || errno || !(v >= 0.001) || v > INT_MAX / 1000.0)
        die ("%s: expected a number of seconds > 0, got '%s'", opt, s);
    return (int)(v * 1000 + 0.5);
}

/* A byte count with an optional K, M or G suffix (powers of 1024), at most
 * INT_MAX. */
static int parse_size (const char *opt, const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll (s, &end, 10);
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (*s == '\0' || *end != '\0' || errno || v < 0 || v > (INT_MAX >> shift))
        die ("%s: expected a byte count (K, M, G suffixes) below 2G, got '%s'", opt, s);
    return (int)(v << shift);
}

/* The broker URLs, checked before anything else happens: one the daemons
 * could not use would otherwise show only as daemons that never answer. */
static void check_urls (const struct config *cfg)
{
    struct krun_error error;
    bool is_default;
    char *url = config_amqp_url (cfg, &is_default);

    if (!url)
        die ("out of memory");
    int rc = transport_url_check (url, &error);
    free (url);
    if (rc < 0)
        die ("%s (%s%s)", error.text, cfg->amqp_url ? "amqp_url in " : "KRUN_AMQP_URL",
             cfg->amqp_url ? cfg->source : "");
    if (cfg->kube_worker_amqp_url &&
        transport_url_check (cfg->kube_worker_amqp_url, &error) < 0)
        die ("%s (kubernetes.worker_amqp_url in %s)", error.text, cfg->source);
}

static int parse_options (int argc, char *argv[], struct options *o)
{
    enum {
        OPT_MAP_BY = 256,
        OPT_TAG,
        OPT_REPORT,
        OPT_TIMELINE,
        OPT_LIMIT,
        OPT_SLOTS,
        OPT_IDLE,
        OPT_CONFIG,
        OPT_TIMEOUT,
        OPT_RETRIES,
        OPT_JOBLOG,
        OPT_RESUME,
        OPT_OUTPUT_LIMIT,
        OPT_PROVIDER,
        OPT_KUBECONFIG,
        OPT_CONTEXT,
        OPT_NO_STAGE,
        OPT_STAGE,
        OPT_INPUTS,
        OPT_INPUT_DIR,
        OPT_RESULTS,
        OPT_OUTPUT_DIR,
        OPT_PROGRESS,
        OPT_NODES,
        OPT_EXCLUDE,
        OPT_WAIT
    };
    static const struct option options[] = {
        {"np", required_argument, NULL, 'n'},
        {"map-by", required_argument, NULL, OPT_MAP_BY},
        {"tag-output", no_argument, NULL, OPT_TAG},
        {"report-bindings", no_argument, NULL, OPT_REPORT},
        {"timeline", required_argument, NULL, OPT_TIMELINE},
        {"delivery-limit", required_argument, NULL, OPT_LIMIT},
        {"slots", required_argument, NULL, OPT_SLOTS},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"joblog", required_argument, NULL, OPT_JOBLOG},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT},
        {"provider", required_argument, NULL, OPT_PROVIDER},
        {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"no-stage", no_argument, NULL, OPT_NO_STAGE},
        {"stage", required_argument, NULL, OPT_STAGE},
        {"quiet", no_argument, NULL, 'q'},
        {"command-file", required_argument, NULL, 'f'},
        {"inputs", required_argument, NULL, OPT_INPUTS},
        {"input-dir", required_argument, NULL, OPT_INPUT_DIR},
        {"results", required_argument, NULL, OPT_RESULTS},
        {"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"nodes", required_argument, NULL, OPT_NODES},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"export", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    /* "+": options end at the program's name, its own options are its own.
     * optind 0: a fresh scan, also when called again for the options after a
     * subcommand (argv[0] is then the subcommand). */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, "+:n:f:x:qhV", options, NULL)) != -1) {
        switch (opt) {
            case 'n':
                o->size = parse_count ("-n", optarg, 1);
                break;
            case OPT_MAP_BY:
                o->map_by = optarg;
                break;
            case OPT_TAG:
                o->tag_output = true;
                break;
            case OPT_REPORT:
                o->report_bindings = true;
                break;
            case OPT_TIMELINE:
                o->timeline = optarg;
                break;
            case OPT_LIMIT:
                o->delivery_limit = parse_count ("--delivery-limit", optarg, 1);
                break;
            case OPT_SLOTS:
                o->slots = parse_count ("--slots", optarg, 1);
                break;
            case OPT_IDLE:
                o->idle_timeout = parse_count ("--idle-timeout", optarg, 1);
                break;
            case OPT_CONFIG:
                o->config = optarg;
                break;
            case OPT_TIMEOUT:
                o->timeout_ms = parse_seconds_ms ("--timeout", optarg);
                break;
            case OPT_RETRIES:
                o->retries = parse_count ("--retries", optarg, 0);
                break;
            case OPT_JOBLOG:
                o->joblog = optarg;
                break;
            case OPT_RESUME:
                o->resume = optarg;
                break;
            case OPT_OUTPUT_LIMIT:
                o->output_limit = parse_size ("--output-limit", optarg);
                break;
            case OPT_PROVIDER:
                if (strcmp (optarg, "local") != 0 && strcmp (optarg, "kubernetes") != 0)
                    die ("--provider: expected 'local' or 'kubernetes', got '%s'",
                         optarg);
                o->provider = optarg;
                break;
            case OPT_KUBECONFIG:
                o->kubeconfig = optarg;
                break;
            case OPT_CONTEXT:
                o->context = optarg;
                break;
            case OPT_NO_STAGE:
                o->no_stage = true;
                break;
            case OPT_STAGE:
                o->stage_files[o->nstage_files++] = optarg;
                break;
            case 'q':
                o->quiet = true;
                break;
            case 'f':
                o->command_file = optarg;
                break;
            case OPT_INPUTS:
                o->inputs = optarg;
                break;
            case OPT_INPUT_DIR:
                o->input_dir = optarg;
                break;
            case OPT_RESULTS:
                o->results = optarg;
                break;
            case OPT_OUTPUT_DIR:
                o->output_dir = optarg;
                break;
            case OPT_PROGRESS:
                o->progress = true;
                break;
            case OPT_NODES:
                o->nodes = optarg;
                break;
            case OPT_EXCLUDE:
                o->exclude = optarg;
                break;
            case OPT_WAIT:
                o->wait = true;
                break;
            case 'x':
                /* argv outlives the options: keep pointers into it. */
                o->exports[o->nexports++] = optarg;
                break;
            case 'h':
                fputs (usage_text, stdout);
                exit (0);
            case 'V':
                printf ("krun %s (protocol %d)\n", PACKAGE_VERSION, PROTOCOL_VERSION);
                exit (0);
            case ':':
                die ("option '%s' needs an argument (see krun --help)",
                     argv[optind - 1]);
            default:
                if (optopt)
                    die ("unknown option '-%c' (see krun --help)", optopt);
                die ("unknown option '%s' (see krun --help)", argv[optind - 1]);
        }
    }
    return optind;
}

/* Whether krun uses the private broker of its state directory: no broker
 * configured, and the local provider with local.broker on. */
static bool uses_private_broker (const struct config *cfg)
{
    bool is_default;
    char *url = config_amqp_url (cfg, &is_default);

    if (!url)
        die ("out of memory");
    free (url);
    return is_default && cfg->local_broker && strcmp (cfg->provider, "local") == 0;
}

/* The broker URL (caller must free): the configured one, else that of the
 * private broker, started first when start is true.  Dies when it cannot
 * start it; without start, returns NULL with errno and errp (ESRCH: the
 * private broker does not run). */
static char *broker_url (const struct config *cfg, const char *state_dir, bool start,
                         bool quiet, struct krun_error *errp)
{
    bool is_default, started;
    char *url;

    if (!uses_private_broker (cfg)) {
        if (!(url = config_amqp_url (cfg, &is_default)))
            die ("out of memory");
        return url;
    }
    if (!(url = private_broker_url (cfg, state_dir, start, &started, errp))) {
        if (!start)
            return NULL;
        fatal (errp->text);
    }
    if (started && !quiet)
        fprintf (
            stderr,
            "krun: started a private RabbitMQ on 127.0.0.1:%d (state in %s/broker; "
            "`krun down` stops it)\n",
            cfg->local_broker_port, state_dir);
    return url;
}

/* Connect to url (from broker_url()); a use of the private broker keeps it
 * from leaving idle. */
static struct transport *connect_broker (const struct config *cfg, const char *url,
                                         const char *state_dir)
{
    struct krun_error error;
    struct transport *t = transport_connect (url, cfg->amqp_cacert, 30, &error);

    if (!t)
        die ("%s", error.text);
    if (uses_private_broker (cfg))
        private_broker_touch (state_dir);
    return t;
}

/* True when every configured local node answers (with the slot count asked). */
static bool local_nodes_present (const struct config *cfg, const struct presence *p,
                                 int slots)
{
    char host[256];

    if (cfg->local_nnodes == 0) {
        if (gethostname (host, sizeof (host)) < 0)
            snprintf (host, sizeof (host), "localhost");
        const struct presence_node *n = presence_find (p, host);
        int want = slots > 0 ? slots : cfg->local_slots;
        return n && (want == 0 || n->nslots == want);
    }
    for (int i = 0; i < cfg->local_nnodes; i++) {
        const struct presence_node *n = presence_find (p, cfg->local_nodes[i].name);
        if (!n || n->nslots != cfg->local_nodes[i].slots)
            return false;
    }
    return true;
}

/* The key that signs the job's messages: $KRUN_KEY_FILE, which must exist,
 * else STATE_DIR/key, made on first use.  Workers refuse what it did not
 * sign.  Caller must sign_key_destroy() it. */
static struct sign_key *load_signing_key (const struct config *cfg,
                                          const char *state_dir)
{
    struct krun_error error;
    struct sign_key *key;
    bool is_default = false;
    char *path = is_kubernetes (cfg) && cfg->kube_signing_key_file
                     ? strdup (cfg->kube_signing_key_file)
                     : config_key_file (state_dir, &is_default);

    if (!path)
        die ("out of memory");
    key = is_default ? sign_key_load_or_create (path, &error)
                     : sign_key_load (path, &error);
    /* The Kubernetes provider puts the file named here into the pool's
     * Secret: the workers then hold the key this launcher signs with. */
    if (key && setenv ("KRUN_KEY_FILE", path, 1) < 0)
        die ("out of memory");
    free (path);
    if (!key)
        die ("%s", error.text);
    return key;
}

/* The pool this configuration's jobs and daemons use: the Kubernetes
 * pool's name (kube), else local.pool, else one named after the key.
 * Dies on a bad name. */
static void pool_of (const struct config *cfg, const struct kubernetes *kube,
                     const struct sign_key *key, struct pool *pool)
{
    struct krun_error error;

    if (pool_init_default (pool, kube ? kubernetes_pool (kube) : cfg->local_pool, key,
                           &error) < 0)
        die ("%s", error.text);
}

/* Which nodes a job may use: the provider's own (local: the configured
 * nodes, else the default node; Kubernetes: the pool's, by the pool's
 * exchanges already) and --nodes / --exclude.  Caller must destroy. */
static struct nodefilter *node_filter (const struct config *cfg,
                                       const struct options *o)
{
    struct krun_error error;
    struct nodefilter *f = nodefilter_create (o->nodes, o->exclude, &error);
    char host[256];
    int rc = 0;

    if (!f)
        die ("%s", error.text);
    if (!is_kubernetes (cfg) && cfg->local_nnodes == 0) {
        if (gethostname (host, sizeof (host)) < 0)
            snprintf (host, sizeof (host), "localhost");
        host[sizeof (host) - 1] = '\0';
        rc = nodefilter_add_provider_node (f, host);
    }
    for (int i = 0; !is_kubernetes (cfg) && i < cfg->local_nnodes && rc == 0; i++)
        rc = nodefilter_add_provider_node (f, cfg->local_nodes[i].name);
    if (rc < 0)
        die ("out of memory");
    return f;
}

/* Make sure the local daemons run; returns the presence to build the map
 * from (caller must destroy). */
static struct presence *ensure_workers (struct transport *t, const struct config *cfg,
                                        const struct pool *pool,
                                        const struct sign_key *key, const char *url,
                                        const char *state_dir, const struct options *o,
                                        const char *reply_queue, const char *reply_tag)
{
    struct krun_error error;
    struct presence *p = presence_query (t, pool, key, reply_queue, reply_tag,
                                         cfg->presence_timeout_ms, &error);
    int started;

    if (!p)
        die ("%s", error.text);
    if (strcmp (cfg->provider, "local") != 0)
        return p;
    if ((started = local_daemons_ensure (cfg, url, state_dir, p, o->slots, &error)) < 0)
        die ("%s", error.text);
    if (started == 0)
        return p;
    if (!o->quiet)
        fprintf (
            stderr,
            "krun: started %d local worker daemon%s (idle timeout %d s; logs in %s)\n",
            started, started == 1 ? "" : "s", cfg->idle_timeout, state_dir);
    int64_t deadline = clock_mono_ms () + (int64_t)cfg->start_timeout * 1000;
    while (!local_nodes_present (cfg, p, o->slots)) {
        if (clock_mono_ms () > deadline)
            die (
                "the local worker daemons did not answer within %d s; see "
                "%s/krund-*.log",
                cfg->start_timeout, state_dir);
        usleep (20 * 1000);
        presence_destroy (p);
        if (!(p = presence_query (t, pool, key, reply_queue, reply_tag,
                                  cfg->presence_timeout_ms, &error)))
            die ("%s", error.text);
    }
    return p;
}

/* What the Kubernetes provider does once the tasks are queued. */
struct kube_start {
    struct kubernetes *kube;
    const char *worker_url;
    const struct presence *presence;
    int pod_timeout;
    bool quiet;
};

/* Replace and create pods; wait only if no daemon answers at all, and only
 * for the first pod: the others join the job as they come up. */
static int kube_on_published (void *arg, struct krun_error *errp)
{
    struct kube_start *ks = arg;
    int created = kubernetes_provision (ks->kube, ks->worker_url, ks->presence, errp);

    if (created < 0)
        return -1;
    if (created > 0 && !ks->quiet)
        fprintf (stderr, "krun: created %d worker pod%s in namespace %s\n", created,
                 created == 1 ? "" : "s", kubernetes_namespace (ks->kube));
    if (presence_count (ks->presence) == 0 &&
        kubernetes_wait (ks->kube, 1, ks->pod_timeout, errp) < 0)
        return -1;
    return 0;
}

/* The per-rank data of -f, --inputs and --input-dir, loaded before anything
 * is published; they set N when -n is absent and must agree with it
 * otherwise.  -f replaces PROGRAM by `/bin/sh -c`.  Returns N; dies on bad
 * usage or input. */
static int load_rank_data (const struct options *o, int *argc, char ***argv,
                           struct inputs **inputs, struct inputs **commands)
{
    static char *shell_argv[] = {"/bin/sh", "-c", NULL};
    struct krun_error error;
    int size = o->size;

    if (o->command_file) {
        if (*argc > 0)
            die ("-f %s: the command file replaces PROGRAM, got '%s'", o->command_file,
                 (*argv)[0]);
        *argc = 2;
        *argv = shell_argv;
    }
    if (*argc < 1)
        die ("no program given (usage: krun -n N PROGRAM [ARGS...])");
    if (o->inputs && o->input_dir)
        die ("--inputs and --input-dir: give one of them");
    if (o->command_file &&
        !(*commands = inputs_from_lines (o->command_file, 1, &error)))
        die ("%s", error.text);
    if (o->inputs && !(*inputs = inputs_from_lines (o->inputs, 0, &error)))
        die ("%s", error.text);
    if (o->input_dir && !(*inputs = inputs_from_dir (o->input_dir, &error)))
        die ("%s", error.text);
    for (int k = 0; k < 2; k++) {
        const struct inputs *in = k == 0 ? *commands : *inputs;
        if (!in)
            continue;
        if (size == 0)
            size = inputs_count (in);
        else if (size != inputs_count (in))
            die ("%s has %d entries but %d ranks are asked for; they must agree",
                 inputs_source (in), inputs_count (in), size);
    }
    if (size < 1)
        die ("-n N is required (or --inputs, --input-dir, -f)");
    if (o->results && rankfiles_prepare (o->results, &error) < 0)
        die ("--results: %s", error.text);
    if (o->output_dir && rankfiles_prepare (o->output_dir, &error) < 0)
        die ("--output-dir: %s", error.text);
    return size;
}

static int run_job (int argc, char *argv[], struct config *cfg, const struct options *o)
{
    struct kube_start ks = {0};
    struct krun_error error;
    struct job_options jo = {0};
    enum cpumap_policy policy;
    char cwd[PATH_MAX];
    char *path, *url, *state_dir;
    char **env;
    int rc;

    struct inputs *inputs = NULL, *commands = NULL;
    int size = load_rank_data (o, &argc, &argv, &inputs, &commands);

    if (cpumap_policy_parse (cfg->map_by, &policy) < 0)
        die ("--map-by: expected 'slot' or 'node', got '%s'", cfg->map_by);
    /* Checked before anything is published: nothing to clean up after it.
     * On Kubernetes the program is staged (sent through the broker) unless
     * told not to; an absolute path that this machine lacks, or any with
     * --no-stage, names a program in the worker image: run as is. */
    bool stage =
        is_kubernetes (cfg) && cfg->kube_stage && !o->no_stage && !o->command_file;
    char hash[STAGE_HASH_LEN + 1];
    if (is_kubernetes (cfg) && argv[0][0] == '/' &&
        (!stage || access (argv[0], F_OK) < 0)) {
        if (!(path = strdup (argv[0])))
            die ("out of memory");
        stage = false;
    } else if (!(path = program_resolve (argv[0], &error)))
        die ("%s", error.text);
    if (stage) {
        if (stage_hash_file (path, hash, &error) < 0)
            die ("%s", error.text);
        jo.program_sha256 = hash;
    }
    struct stagefiles *staged = NULL;
    if (o->nstage_files > 0) {
        if (!(staged = stagefiles_create (o->stage_files, o->nstage_files, &error)))
            die ("%s", error.text);
        jo.nstaged = stagefiles_count (staged);
        jo.staged_files = stagefiles_names (staged);
        jo.staged_sha256 = stagefiles_hashes (staged);
    }
    if (!getcwd (cwd, sizeof (cwd)))
        die ("cannot get the current directory: %s", strerror (errno));
    if (!(state_dir = config_state_dir (cfg, &error)))
        die ("%s", error.text);

    struct sigaction sa = {.sa_handler = on_cancel_signal};
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);

    if (!(env = program_environment (o->exports, o->nexports, &jo.envc, &error)))
        die ("%s", error.text);
    jo.size = size;
    jo.inputs = inputs;
    jo.commands = commands;
    jo.results_dir = o->results;
    jo.output_dir = o->output_dir;
    if (o->progress || (!o->quiet && isatty (2)))
        if (!(jo.progress = progress_create (size, 2)))
            die ("out of memory");
    jo.path = path;
    jo.argc = argc;
    jo.argv = argv;
    jo.env = env;
    jo.cwd = cwd;
    jo.map_by = policy;
    jo.tag_output = o->tag_output;
    jo.report_bindings = o->report_bindings;
    jo.delivery_limit = cfg->delivery_limit;
    jo.durable = cfg->durable_queues;
    jo.timeline = o->timeline;
    jo.timeout_ms = o->timeout_ms;
    jo.retries = o->retries;
    jo.output_limit = o->output_limit;
    jo.joblog = o->joblog;
    jo.resume = o->resume;
    jo.cacert = cfg->amqp_cacert;
    jo.cancel = &cancel_signal;
    struct sign_key *key = load_signing_key (cfg, state_dir);
    struct pool pool;
    jo.key = key;
    jo.url = url = broker_url (cfg, state_dir, true, o->quiet, &error);
    jo.pool = &pool;
    jo.join_timeout_ms = cfg->join_timeout_ms;
    jo.cold_join_timeout_ms = cfg->join_timeout_ms;
    jo.stall_timeout_ms = cfg->stall_timeout_ms;
    jo.wait = o->wait;
    struct nodefilter *filter = node_filter (cfg, o);

    if (is_kubernetes (cfg)) {
        /* Checked before anything is published: the cluster is reachable. */
        ks.kube = kube_open (cfg, o, true);
        ks.worker_url = cfg->kube_worker_amqp_url ? cfg->kube_worker_amqp_url : url;
        ks.pod_timeout = cfg->kube_pod_timeout;
        ks.quiet = o->quiet;
        jo.cwd = cfg->kube_workdir;
        /* The pod's work dir is nobody's: the staged files are what the
         * tasks expect to find where they run. */
        jo.staged_cwd = jo.nstaged > 0;
        jo.on_published = kube_on_published;
        jo.on_published_arg = &ks;
        /* A node without a running pod yet gets the pod's start time. */
        jo.cold_join_timeout_ms = cfg->kube_pod_timeout > INT_MAX / 1000
                                      ? INT_MAX
                                      : cfg->kube_pod_timeout * 1000;
    }
    pool_of (cfg, ks.kube, key, &pool);
    struct transport *t = connect_broker (cfg, url, state_dir);
    if (jo.program_sha256) {
        int sent = stage_publish (t, path, jo.program_sha256, &error);
        if (sent < 0)
            fatal (error.text);
        if (sent && !o->quiet)
            fprintf (stderr, "krun: staged %s (sha256 %.12s) through the broker\n",
                     path, jo.program_sha256);
    }
    if (staged) {
        int sent = stagefiles_publish (staged, t, &error);
        if (sent < 0)
            fatal (error.text);
        if (sent && !o->quiet)
            fprintf (stderr,
                     "krun: staged %d of %d --stage file%s through the broker\n", sent,
                     jo.nstaged, jo.nstaged == 1 ? "" : "s");
    }
    /* The job's results queue doubles as the presence reply queue: one
     * queue, and its round trips, less per run. */
    struct job *job = job_create (t, &jo, &error);
    if (!job)
        die ("%s", error.text);
    struct presence *p =
        ensure_workers (t, cfg, &pool, key, url, state_dir, o, job_results_queue (job),
                        job_results_tag (job));
    /* Kubernetes: the map is what the pods will have, known before they run. */
    struct cpumap *all =
        ks.kube ? kubernetes_cpumap (ks.kube, &error) : presence_cpumap (p, &error);
    struct cpumap *map =
        all ? cpumap_filter (all, nodefilter_keep, filter, &error) : NULL;
    if (!map)
        die ("%s", error.text);
    if (!ks.kube && cpumap_slot_count (map) == 0 && cpumap_slot_count (all) > 0)
        die (
            "none of the %d nodes that answered may run the job (configured nodes, "
            "--nodes, --exclude)",
            cpumap_node_count (all));
    cpumap_destroy (all);
    jo.presence = p;
    ks.presence = p;
    if (ks.kube && cpumap_slot_count (map) == 0)
        fatal (
            "no usable Kubernetes node (all cordoned, tainted or full; see `krun "
            "status`)");
    if (cpumap_slot_count (map) == 0)
        die ("no worker daemon answered on the broker (provider %s)", cfg->provider);
    /* Daemons declare the exchanges; with none up yet, the job must. */
    jo.declare_exchanges = presence_count (p) == 0;
    rc = job_run (job, map, &error);
    job_destroy (job);
    if (rc < 0)
        fprintf (stderr, "krun: %s\n", error.text);
    cpumap_destroy (map);
    nodefilter_destroy (filter);
    presence_destroy (p);
    transport_destroy (t);
    sign_key_destroy (key);
    kubernetes_destroy (ks.kube);
    free (env);
    free (path);
    free (url);
    free (state_dir);
    progress_destroy (jo.progress);
    inputs_destroy (inputs);
    inputs_destroy (commands);
    stagefiles_destroy (staged);
    return rc < 0 ? 1 : rc;
}

/* The local provider's daemons, one line each. */
static void print_daemons (const struct presence *p)
{
    int64_t now = clock_wall_us ();

    printf ("%-20s %6s %6s %8s %10s %5s %s\n", "NODE", "SLOTS", "BUSY", "PID", "AGE",
            "JOBS", "VERSION");
    for (int i = 0; i < presence_count (p); i++) {
        const struct presence_node *n = presence_node (p, i);
        printf ("%-20s %6d %6d %8d %9llds %5d %s\n", n->name, n->nslots, n->busy,
                n->pid, (long long)((now - n->started_us) / 1000000), n->njobs,
                n->version);
    }
}

static int cmd_status (struct config *cfg, const struct options *o)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);
    char *url = state_dir ? broker_url (cfg, state_dir, false, true, &error) : NULL;
    struct kubernetes *kube = is_kubernetes (cfg) ? kube_open (cfg, o, false) : NULL;
    struct transport *t;
    struct presence *p;
    struct jobqueues *q;
    struct pool pool;

    if (!state_dir)
        die ("%s", error.text);
    if (!url && errno != ESRCH)
        fatal (error.text);
    if (!url) {
        /* Without its broker nothing of the private setup can run. */
        printf (
            "krun: nothing is running (the private broker of %s is not "
            "running)\n",
            state_dir);
        free (state_dir);
        return 0;
    }
    /* Only the pool's daemons answer, and only to its key. */
    struct sign_key *key = load_signing_key (cfg, state_dir);
    pool_of (cfg, kube, key, &pool);
    free (state_dir);
    t = transport_connect (url, cfg->amqp_cacert, 0, &error);

    if (!t && kube) {
        /* The pods can be listed without the broker. */
        fprintf (stderr, "krun: %s\n", error.text);
        int rc = kubernetes_status (kube, NULL, stdout, &error);
        if (rc < 0)
            fatal (error.text);
        kubernetes_destroy (kube);
        sign_key_destroy (key);
        free (url);
        return 1;
    }
    if (!t)
        fatal (error.text);
    if (!(p = presence_query (t, &pool, key, NULL, NULL, cfg->presence_timeout_ms,
                              &error)))
        die ("%s", error.text);
    if (kube && kubernetes_status (kube, p, stdout, &error) < 0)
        fatal (error.text);
    if (!kube)
        print_daemons (p);
    if (!(q = jobqueues_query (t, p, &error)))
        fatal (error.text);
    jobqueues_print (q, stdout);
    jobqueues_destroy (q);
    kubernetes_destroy (kube);
    presence_destroy (p);
    transport_destroy (t);
    sign_key_destroy (key);
    free (url);
    return 0;
}

/* Provision the pool and wait until every pod runs and its daemon answers. */
static void kube_up (const struct config *cfg, const struct options *o,
                     struct transport *t, const char *url, const struct sign_key *key)
{
    struct krun_error error;
    struct kubernetes *kube = kube_open (cfg, o, true);
    struct pool pool;
    pool_of (cfg, kube, key, &pool);
    struct presence *p =
        presence_query (t, &pool, key, NULL, NULL, cfg->presence_timeout_ms, &error);
    struct cpumap *map = p ? kubernetes_cpumap (kube, &error) : NULL;
    int created;

    if (!map)
        fatal (error.text);
    created = kubernetes_provision (
        kube, cfg->kube_worker_amqp_url ? cfg->kube_worker_amqp_url : url, p, &error);
    if (created < 0 || kubernetes_wait (kube, -1, cfg->kube_pod_timeout, &error) < 0)
        fatal (error.text);
    int64_t deadline = clock_mono_ms () + (int64_t)cfg->start_timeout * 1000;
    int turns = 0;
    for (;;) {
        int answering = 0;
        for (int i = 0; i < cpumap_node_count (map); i++)
            answering += presence_find (p, cpumap_node_name (map, i)) != NULL;
        if (answering == cpumap_node_count (map))
            break;
        /* A pod that ended (restartPolicy Never) will not answer: say why it
         * ended, in krund's words, instead of waiting for the deadline. */
        char failed[700] = "worker pod failed: ";
        size_t len = strlen (failed);
        if (++turns % 10 == 0 &&
            kubernetes_failed (kube, failed + len, sizeof (failed) - len, &error) > 0)
            fatal (failed);
        if (clock_mono_ms () > deadline) {
            snprintf (error.text, sizeof (error.text),
                      "%d of %d worker daemons answer after %d s (pods run; see `krun "
                      "status` and the pods' logs)",
                      answering, cpumap_node_count (map), cfg->start_timeout);
            fatal (error.text);
        }
        usleep (100 * 1000);
        presence_destroy (p);
        if (!(p = presence_query (t, &pool, key, NULL, NULL, cfg->presence_timeout_ms,
                                  &error)))
            fatal (error.text);
    }
    if (!o->quiet)
        fprintf (stderr, "krun: pool %s: %d worker pod%s (%d created), %d slots\n",
                 kubernetes_pool (kube), cpumap_node_count (map),
                 cpumap_node_count (map) == 1 ? "" : "s", created,
                 cpumap_slot_count (map));
    cpumap_destroy (map);
    presence_destroy (p);
    kubernetes_destroy (kube);
}

static int cmd_up (struct config *cfg, const struct options *o)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);

    if (!state_dir)
        die ("%s", error.text);
    /* The daemons started now need the key file. */
    struct sign_key *key = load_signing_key (cfg, state_dir);
    char *url = broker_url (cfg, state_dir, true, o->quiet, &error);
    struct transport *t = connect_broker (cfg, url, state_dir);
    struct pool pool;
    if (is_kubernetes (cfg)) {
        kube_up (cfg, o, t, url, key);
        transport_destroy (t);
        sign_key_destroy (key);
        free (url);
        free (state_dir);
        return 0;
    }
    pool_of (cfg, NULL, key, &pool);
    presence_destroy (
        ensure_workers (t, cfg, &pool, key, url, state_dir, o, NULL, NULL));
    sign_key_destroy (key);
    transport_destroy (t);
    free (url);
    free (state_dir);
    return 0;
}

static int cmd_broker_start (struct config *cfg, const struct options *o)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);
    pid_t pid;
    int port;

    if (!state_dir)
        die ("%s", error.text);
    if (!uses_private_broker (cfg))
        die (
            "broker start: krun starts a broker only when none is configured "
            "(amqp_url or $KRUN_AMQP_URL is set, or local.broker is false, or the "
            "provider is not local)");
    /* One broker per state directory: say which one runs. */
    if (private_broker_running (state_dir, &pid, &port)) {
        fprintf (stderr,
                 "krun: the private broker of %s already runs on 127.0.0.1:%d "
                 "(supervisor pid %d); `krun down` stops it\n",
                 state_dir, port, (int)pid);
        free (state_dir);
        return 1;
    }
    char *url = broker_url (cfg, state_dir, true, o->quiet, &error);
    transport_destroy (connect_broker (cfg, url, state_dir));
    free (url);
    free (state_dir);
    return 0;
}

/* Delete the queues of the jobs the daemons of p serve, before the daemons
 * go: their launchers fail at once instead of waiting for results that
 * cannot come.  Returns 0, or -1 after printing why. */
static int down_job_queues (struct transport *t, const struct presence *p)
{
    struct krun_error error;
    int njobs;
    int n = jobqueues_delete (t, p, &njobs, &error);

    if (n < 0) {
        fprintf (stderr, "krun: cannot delete the job queues: %s\n", error.text);
        return -1;
    }
    if (n == 0)
        printf ("krun: no job queues to delete\n");
    else
        printf ("krun: deleted %d job queue%s (%d job%s)\n", n, n == 1 ? "" : "s",
                njobs, njobs == 1 ? "" : "s");
    return 0;
}

/* Ask who is there and delete their jobs' queues.  Returns the presence
 * (caller must destroy), or NULL if the broker cannot be reached: then no
 * local daemon can be found either, and pods are deleted all the same, so
 * `down` goes on (with a warning if warn).  *rc = 1 if the queues could not
 * be deleted. */
static struct presence *down_query (const struct config *cfg, const char *state_dir,
                                    const struct kubernetes *kube, bool warn, int *rc)
{
    struct krun_error error;
    char *url = broker_url (cfg, state_dir, false, true, &error);
    struct transport *t;
    struct presence *p;
    struct pool pool;

    if (!url) {
        if (errno != ESRCH)
            fprintf (stderr, "krun: warning: %s; job queues not deleted\n", error.text);
        return NULL;
    }
    struct sign_key *key = load_signing_key (cfg, state_dir);
    pool_of (cfg, kube, key, &pool);
    t = transport_connect (url, cfg->amqp_cacert, 0, &error);
    free (url);
    if (!t) {
        if (warn)
            fprintf (stderr, "krun: warning: %s; job queues not deleted\n", error.text);
        sign_key_destroy (key);
        return NULL;
    }
    p = presence_query (t, &pool, key, NULL, NULL, cfg->presence_timeout_ms, &error);
    sign_key_destroy (key);
    if (!p)
        die ("%s", error.text);
    if (down_job_queues (t, p) < 0)
        *rc = 1;
    transport_destroy (t);
    return p;
}

static int cmd_kube_down (struct config *cfg, const struct options *o)
{
    struct krun_error error;
    struct kubernetes *kube = kube_open (cfg, o, false);
    char *state_dir = config_state_dir (cfg, &error);
    int rc = 0;

    if (!state_dir)
        die ("%s", error.text);
    presence_destroy (down_query (cfg, state_dir, kube, true, &rc));
    free (state_dir);
    int n = kubernetes_down (kube, cfg->start_timeout, &error);
    if (n < 0)
        fatal (error.text);
    printf ("krun: deleted %d worker pod%s of pool %s\n", n, n == 1 ? "" : "s",
            kubernetes_pool (kube));
    kubernetes_destroy (kube);
    return rc;
}

static int cmd_down (struct config *cfg, bool daemons, bool broker)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);
    int rc = 0;

    if (!state_dir)
        die ("%s", error.text);
    if (daemons) {
        /* The queues first, while the daemons still name their jobs. */
        presence_destroy (down_query (cfg, state_dir, NULL, false, &rc));
        int n = local_daemons_stop (state_dir);
        printf ("krun: stopped %d local worker daemon%s\n", n, n == 1 ? "" : "s");
    }
    if (broker) {
        int stopped = private_broker_stop (state_dir, &error);
        if (stopped < 0)
            die ("%s", error.text);
        printf ("krun: %s\n",
                stopped ? "stopped the private broker" : "no private broker ran");
    }
    free (state_dir);
    return rc;
}

static bool subcommand (const char *word)
{
    static const char *const subs[] = {"up", "down", "status", "broker"};

    for (size_t i = 0; i < sizeof (subs) / sizeof (subs[0]); i++)
        if (strcmp (word, subs[i]) == 0)
            return true;
    return false;
}

int main (int argc, char *argv[])
{
    struct options o = {.delivery_limit = 0, .output_limit = DEFAULT_OUTPUT_LIMIT};
    /* -x and --stage can occur at most argc times. */
    char **exports = calloc (argc, sizeof (char *));
    char **stage_files = calloc (argc, sizeof (char *));

    if (!exports || !stage_files)
        die ("out of memory");
    o.exports = exports;
    o.stage_files = stage_files;
    struct krun_error error;
    struct config *cfg;
    const char *sub = NULL, *action = NULL;
    int first = parse_options (argc, argv, &o);

    /* A subcommand is the first word that is not an option; options may
     * come before and after it (and after `broker`'s start|stop). */
    if (first < argc && subcommand (argv[first])) {
        int k = first;
        sub = argv[k];
        k += parse_options (argc - k, argv + k, &o);
        if (strcmp (sub, "broker") == 0) {
            if (k >= argc ||
                (strcmp (argv[k], "start") != 0 && strcmp (argv[k], "stop") != 0))
                die ("broker: expected 'start' or 'stop'%s%s%s",
                     k < argc ? ", got '" : "", k < argc ? argv[k] : "",
                     k < argc ? "'" : "");
            action = argv[k];
            k += parse_options (argc - k, argv + k, &o);
        }
        if (k < argc)
            die ("%s: unexpected argument '%s'", sub, argv[k]);
        if (o.size || o.command_file || o.inputs || o.input_dir)
            die (
                "%s: -n, -f, --inputs and --input-dir are for running a program (a "
                "program named %s needs a path: ./%s)",
                sub, sub, sub);
    }
    if (!(cfg = config_create ()))
        die ("out of memory");
    if (config_load (cfg, o.config, &error) < 0)
        die ("%s", error.text);
    check_urls (cfg);
    /* Command line wins over the file. */
    if (o.map_by) {
        free (cfg->map_by);
        cfg->map_by = strdup (o.map_by);
    }
    if (o.delivery_limit)
        cfg->delivery_limit = o.delivery_limit;
    if (o.idle_timeout)
        cfg->idle_timeout = o.idle_timeout;
    if (o.provider) {
        free (cfg->provider);
        if (!(cfg->provider = strdup (o.provider)))
            die ("out of memory");
    }

    int rc;
    if (!sub)
        rc = run_job (argc - first, argv + first, cfg, &o);
    else if (strcmp (sub, "status") == 0)
        rc = cmd_status (cfg, &o);
    else if (strcmp (sub, "up") == 0)
        rc = cmd_up (cfg, &o);
    else if (strcmp (sub, "down") == 0)
        rc = is_kubernetes (cfg) ? cmd_kube_down (cfg, &o) : cmd_down (cfg, true, true);
    else if (strcmp (action, "start") == 0)
        rc = cmd_broker_start (cfg, &o);
    else
        rc = cmd_down (cfg, false, true);
    config_destroy (cfg);
    free (exports);
    free (stage_files);
    return rc;
}
