/* krun - the launcher's command: the option table and the dispatch to a run
 * (run.c) or a subcommand (commands.c).  Where the workers come from is the
 * provider's (provider.h); the configuration is config.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cmdline.h"
#include "commands.h"
#include "config.h"
#include "optvalue.h"
#include "die.h"
#include "protocol.h"
#include "provider.h"
#include "run.h"
#include "tlsexec.h"
#include "topology.h"
#include "transport.h"
#include "usage.h"

/* Output a rank may send before it is cut (--output-limit): enough for any
 * reasonable log, small enough that a runaway task cannot fill the broker. */
#define DEFAULT_OUTPUT_LIMIT (64 << 20)

/* How an option's argument is stored at its offset in struct options. */
enum option_kind {
    KIND_FLAG,     /* bool = true */
    KIND_STRING,   /* const char * = the argument (borrowed from argv) */
    KIND_COUNT,    /* int >= 1 */
    KIND_COUNT0,   /* int >= 0 */
    KIND_SECONDS,  /* int milliseconds from seconds > 0 */
    KIND_SIZE,     /* int bytes, K, M, G suffixes */
    KIND_LIST,     /* struct arglist: one more argument */
    KIND_PROVIDER, /* const char *, a provider of the registry */
    KIND_HALT,     /* struct halt_policy from --halt's argument */
    KIND_KILL,     /* struct halt_policy: now,fail=1 */
    KIND_BIND,     /* bool: --bind-to none (else core) */
    KIND_HELP,
    KIND_VERSION,
};

struct option_spec {
    const char *name;
    int letter; /* 0: long only */
    enum option_kind kind;
    size_t offset;
};

#define OPT(name, letter, kind, field)                       \
    {                                                        \
        name, letter, kind, offsetof (struct options, field) \
    }

static const struct option_spec option_table[] = {
    OPT ("np", 'n', KIND_COUNT, run.job.size),
    OPT ("max-running", 'j', KIND_COUNT0, run.job.max_running),
    OPT ("batch", 0, KIND_COUNT, run.job.batch),
    OPT ("cpus-per-rank", 'c', KIND_COUNT, run.job.cpus_per_rank),
    OPT ("bind-to", 0, KIND_BIND, run.job.bind_none),
    OPT ("halt", 0, KIND_HALT, run.job.halt),
    OPT ("halt-on-error", 0, KIND_HALT, run.job.halt),
    OPT ("kill-on-bad-exit", 0, KIND_KILL, run.job.halt),
    OPT ("json", 0, KIND_FLAG, json),
    OPT ("map-by", 0, KIND_STRING, map_by),
    OPT ("tag-output", 0, KIND_FLAG, run.job.tag_output),
    OPT ("report-bindings", 0, KIND_FLAG, run.job.report_bindings),
    OPT ("timeline", 0, KIND_STRING, run.job.timeline),
    OPT ("delivery-limit", 0, KIND_COUNT, delivery_limit),
    OPT ("slots", 0, KIND_COUNT0, slots),
    OPT ("idle-timeout", 0, KIND_COUNT, idle_timeout),
    OPT ("config", 0, KIND_STRING, config),
    OPT ("timeout", 0, KIND_SECONDS, run.job.timeout_ms),
    OPT ("retries", 0, KIND_COUNT0, run.job.retries),
    OPT ("joblog", 0, KIND_STRING, run.job.joblog),
    OPT ("resume", 0, KIND_STRING, run.job.resume),
    OPT ("output-limit", 0, KIND_SIZE, run.job.output_limit),
    OPT ("provider", 0, KIND_PROVIDER, provider),
    OPT ("kubeconfig", 0, KIND_STRING, kubeconfig),
    OPT ("context", 0, KIND_STRING, context),
    OPT ("no-stage", 0, KIND_FLAG, no_stage),
    OPT ("host", 'H', KIND_LIST, hosts),
    OPT ("hostfile", 0, KIND_STRING, hostfile),
    OPT ("require-all-hosts", 0, KIND_FLAG, require_all_hosts),
    OPT ("stage", 0, KIND_LIST, run.stage_files),
    OPT ("quiet", 'q', KIND_FLAG, run.quiet),
    OPT ("command-file", 'f', KIND_STRING, run.command_file),
    OPT ("inputs", 0, KIND_STRING, run.inputs),
    OPT ("input-dir", 0, KIND_STRING, run.input_dir),
    OPT ("results", 0, KIND_STRING, run.job.results_dir),
    OPT ("output-dir", 0, KIND_STRING, run.job.output_dir),
    OPT ("progress", 0, KIND_FLAG, run.progress),
    OPT ("nodes", 0, KIND_STRING, run.nodes),
    OPT ("exclude", 0, KIND_STRING, run.exclude),
    OPT ("wait", 0, KIND_FLAG, run.job.wait),
    OPT ("export", 'x', KIND_LIST, run.exports),
    OPT ("help", 'h', KIND_HELP, config),
    OPT ("version", 'V', KIND_VERSION, config),
};

#define NOPTIONS (sizeof (option_table) / sizeof (option_table[0]))

/* Store optarg as spec says. */
static void apply_option (const struct option_spec *spec, char *arg, struct options *o)
{
    void *field = (char *)o + spec->offset;
    struct krun_error error;
    char name[64];
    int rc = 0;

    if (spec->letter)
        snprintf (name, sizeof (name), "-%c", spec->letter);
    else
        snprintf (name, sizeof (name), "--%s", spec->name);
    switch (spec->kind) {
        case KIND_FLAG:
            *(bool *)field = true;
            break;
        case KIND_STRING:
            *(const char **)field = arg;
            break;
        case KIND_COUNT:
        case KIND_COUNT0:
            rc = optvalue_count (name, arg, spec->kind == KIND_COUNT, field, &error);
            break;
        case KIND_SECONDS:
            rc = optvalue_seconds_ms (name, arg, field, &error);
            break;
        case KIND_SIZE:
            rc = optvalue_size (name, arg, field, &error);
            break;
        case KIND_LIST: {
            /* argv outlives the options: keep pointers into it. */
            struct arglist *list = field;
            list->items[list->count++] = arg;
            break;
        }
        case KIND_HALT:
            rc = halt_parse (arg, field, &error);
            break;
        case KIND_KILL:
            halt_parse ("now,fail=1", field, NULL);
            break;
        case KIND_BIND:
            if (strcmp (arg, "core") != 0 && strcmp (arg, "none") != 0)
                die ("--bind-to: expected 'core' or 'none', got '%s'", arg);
            *(bool *)field = strcmp (arg, "none") == 0;
            break;
        case KIND_PROVIDER:
            if (!provider_known (arg))
                die ("--provider: expected %s, got '%s'", provider_names (), arg);
            *(const char **)field = arg;
            break;
        case KIND_HELP:
            fputs (usage_text, stdout);
            exit (0);
        case KIND_VERSION:
            printf ("krun %s (protocol %d)\n", PACKAGE_VERSION, PROTOCOL_VERSION);
            exit (0);
    }
    if (rc < 0)
        die ("%s", error.text);
}

/* Parse the options of argv up to the first word that is not one.  Returns
 * the index of that word. */
static int parse_options (int argc, char *argv[], struct options *o)
{
    struct option longopts[NOPTIONS + 1] = {{0}};
    char shortopts[2 * NOPTIONS + 4] = "+:";
    int opt;

    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_spec *spec = &option_table[i];
        bool has_arg = spec->kind != KIND_FLAG && spec->kind != KIND_HELP &&
                       spec->kind != KIND_VERSION && spec->kind != KIND_KILL;
        longopts[i] =
            (struct option){spec->name, has_arg ? required_argument : no_argument, NULL,
                            spec->letter ? spec->letter : 256 + (int)i};
        if (spec->letter)
            snprintf (shortopts + strlen (shortopts), 3, "%c%s", spec->letter,
                      has_arg ? ":" : "");
    }
    /* "+": options end at the program's name, its own options are its own.
     * optind 0: a fresh scan, also when called again for the options after a
     * subcommand (argv[0] is then the subcommand). */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, shortopts, longopts, NULL)) != -1) {
        if (opt == ':')
            die ("option '%s' needs an argument (see krun --help)", argv[optind - 1]);
        size_t i = 0;
        while (i < NOPTIONS && longopts[i].val != opt)
            i++;
        if (i == NOPTIONS && optopt)
            die ("unknown option '-%c' (see krun --help)", optopt);
        if (i == NOPTIONS)
            die ("unknown option '%s' (see krun --help)", argv[optind - 1]);
        /* mpirun's -np N: getopt reads -n with the value "p" (or "pN"). */
        if (opt == 'n' && strncmp (argv[optind - 1], "-np", 3) == 0) {
            if (argv[optind - 1][3] == '\0') {
                if (optind >= argc)
                    die ("option '-np' needs an argument (see krun --help)");
                optarg = argv[optind++];
            } else
                optarg++;
        }
        apply_option (&option_table[i], optarg, o);
    }
    return optind;
}

static bool subcommand (const char *word)
{
    static const char *const subs[] = {"up", "down", "status", "broker"};

    for (size_t i = 0; i < sizeof (subs) / sizeof (subs[0]); i++)
        if (strcmp (word, subs[i]) == 0)
            return true;
    return false;
}

/* A subcommand is the first word that is not an option; options may come
 * before and after it (and after `broker`'s start|stop).  Returns the
 * broker's action, or NULL for the other subcommands. */
static const char *parse_subcommand (int argc, char *argv[], struct options *o)
{
    const char *sub = argv[0], *action = NULL;
    int k = parse_options (argc, argv, o);

    if (strcmp (sub, "broker") == 0) {
        if (k >= argc ||
            (strcmp (argv[k], "start") != 0 && strcmp (argv[k], "stop") != 0))
            die ("broker: expected 'start' or 'stop'%s%s%s", k < argc ? ", got '" : "",
                 k < argc ? argv[k] : "", k < argc ? "'" : "");
        action = argv[k];
        k += parse_options (argc - k, argv + k, o);
    }
    if (k < argc)
        die ("%s: unexpected argument '%s'", sub, argv[k]);
    if (o->json && strcmp (sub, "status") != 0)
        die ("%s: --json is for krun status", sub);
    if (o->run.job.size || o->run.command_file || o->run.inputs || o->run.input_dir)
        die (
            "%s: -n, -f, --inputs and --input-dir are for running a program (a "
            "program named %s needs a path: ./%s)",
            sub, sub, sub);
    return action;
}

int main (int argc, char *argv[])
{
    struct options o = {.run.job.output_limit = DEFAULT_OUTPUT_LIMIT, .slots = -1};
    const char *sub = NULL, *action = NULL;
    int rc;

    /* Started by krun itself, exactly so (agent.h). */
    if (argc > 1 && strcmp (argv[1], "agent") == 0)
        return agent_main (argc - 1, argv + 1);
    /* -x, --stage and -H can occur at most argc times. */
    char **exports = calloc (argc, sizeof (char *));
    char **stage_files = calloc (argc, sizeof (char *));
    char **hosts = calloc (argc, sizeof (char *));
    if (!exports || !stage_files || !hosts)
        die ("out of memory");
    o.run.exports.items = exports;
    o.run.stage_files.items = stage_files;
    o.hosts.items = hosts;
    int first = parse_options (argc, argv, &o);
    if (first < argc && subcommand (argv[first])) {
        sub = argv[first];
        action = parse_subcommand (argc - first, argv + first, &o);
    }
    if (!sub && o.json)
        die ("--json is for krun status");
    struct config *cfg = cmdline_config (&o);
    /* Before anything happens: an amqps:// broker is krun-tls's. */
    bool is_default;
    char *url = config_amqp_url (cfg, &is_default);
    struct krun_error error;
    if (!url)
        die ("out of memory");
    if (tlsexec (url, argv, &error) < 0)
        die ("%s", error.text);
    free (url);
    if (!sub)
        rc = run_main (argc - first, argv + first, cfg, &o.run);
    else if (strcmp (sub, "status") == 0)
        rc = commands_status (cfg, o.json);
    else if (strcmp (sub, "up") == 0)
        rc = commands_up (cfg, o.run.quiet);
    else if (strcmp (sub, "down") == 0)
        rc = commands_down (cfg);
    else if (strcmp (action, "start") == 0)
        rc = commands_broker_start (cfg, o.run.quiet);
    else
        rc = commands_broker_stop (cfg);
    config_destroy (cfg);
    free (exports);
    free (stage_files);
    free (hosts);
    return rc;
}
