/* run.c - see run.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "inputs.h"
#include "nodefilter.h"
#include "program.h"
#include "progress.h"
#include "provider.h"
#include "rankfiles.h"
#include "run.h"
#include "session.h"
#include "stage.h"
#include "stagefiles.h"

static volatile sig_atomic_t cancel_signal;

static void on_cancel_signal (int sig)
{
    cancel_signal = sig;
}

/* What a run holds, freed by run_cleanup(). */
struct run {
    const struct config *cfg;
    struct run_options *o;
    struct provider *prov;
    struct inputs *inputs, *commands;
    struct stagefiles *staged;
    char *path, *url, *state_dir;
    char **env;
    char hash[STAGE_HASH_LEN + 1];
    char cwd[PATH_MAX];
    struct sign_key *key;
    struct pool pool;
    struct nodefilter *filter;
    struct transport *t;
    struct inherit inherit;            /* the launcher's umask, nice, limits */
    struct presence_question question; /* asked before the job's queues */
};

/* The per-rank data of -f, --inputs and --input-dir, loaded before anything
 * is published; they set N when -n is absent and must agree with it
 * otherwise.  -f replaces PROGRAM by `/bin/sh -c`.  Sets o->job.size; dies
 * on bad usage or input. */
static void load_rank_data (struct run *r, int *argc, char ***argv)
{
    static char *shell_argv[] = {"/bin/sh", "-c", NULL};
    const struct run_options *o = r->o;
    struct krun_error error;
    int size = o->job.size;

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
        !(r->commands = inputs_from_lines (o->command_file, 1, &error)))
        die ("%s", error.text);
    if (o->inputs && !(r->inputs = inputs_from_lines (o->inputs, 0, &error)))
        die ("%s", error.text);
    if (o->input_dir && !(r->inputs = inputs_from_dir (o->input_dir, &error)))
        die ("%s", error.text);
    for (int k = 0; k < 2; k++) {
        const struct inputs *in = k == 0 ? r->commands : r->inputs;
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
    if (o->job.results_dir && rankfiles_prepare (o->job.results_dir, &error) < 0)
        die ("--results: %s", error.text);
    if (o->job.output_dir && rankfiles_prepare (o->job.output_dir, &error) < 0)
        die ("--output-dir: %s", error.text);
    r->o->job.size = size;
}

/* The program's path, and its hash if it is staged (sent through the
 * broker).  Where the workers have their own files, an absolute path that
 * this machine lacks, or any when the program is not staged, names a
 * program of theirs: run as is. */
static void resolve_program (struct run *r, const char *name)
{
    enum provider_program where = provider_program (r->prov);
    bool stage = where == PROVIDER_PROGRAM_STAGED && !r->o->command_file;
    struct krun_error error;

    if (where != PROVIDER_PROGRAM_SHARED && name[0] == '/' &&
        (!stage || access (name, F_OK) < 0)) {
        if (!(r->path = strdup (name)))
            die ("out of memory");
        return;
    }
    if (!(r->path = program_resolve (name, &error)))
        die ("%s", error.text);
    if (stage) {
        if (stage_hash_file (r->path, r->hash, &error) < 0)
            die ("%s", error.text);
        r->o->job.program_sha256 = r->hash;
    }
}

/* Everything checked before anything is published: nothing to clean up
 * after a failure here. */
static void prepare (struct run *r, int argc, char *argv[])
{
    struct job_options *jo = &r->o->job;
    struct krun_error error;

    load_rank_data (r, &argc, &argv);
    /* Kept /dev/null rather than forwarded (to which rank?): said when
     * something waits there, unless --inputs - or -f - read it. */
    bool stdin_read = (r->o->inputs && strcmp (r->o->inputs, "-") == 0) ||
                      (r->o->command_file && strcmp (r->o->command_file, "-") == 0);
    if (!stdin_read && program_stdin_has_data (0))
        fprintf (stderr,
                 "krun: warning: the tasks' standard input is /dev/null: krun does not "
                 "forward its own (--inputs - gives each rank a line of it)\n");
    if (cpumap_policy_parse (r->cfg->map_by, &jo->map_by) < 0)
        die ("--map-by: expected 'slot' or 'node', got '%s'", r->cfg->map_by);
    r->prov = session_provider (r->cfg, r->o->quiet, false);
    resolve_program (r, argv[0]);
    if (r->o->stage_files.count > 0) {
        if (!(r->staged = stagefiles_create (r->o->stage_files.items,
                                             r->o->stage_files.count, &error)))
            die ("%s", error.text);
        jo->nstaged = stagefiles_count (r->staged);
        jo->staged_files = stagefiles_names (r->staged);
        jo->staged_sha256 = stagefiles_hashes (r->staged);
    }
    if (!getcwd (r->cwd, sizeof (r->cwd)))
        die ("cannot get the current directory: %s", strerror (errno));
    if (!(r->state_dir = config_state_dir (r->cfg, &error)))
        die ("%s", error.text);
    if (!(r->env = program_environment (r->o->exports.items, r->o->exports.count,
                                        &jo->envc, &error)))
        die ("%s", error.text);
    jo->path = r->path;
    jo->argc = argc;
    jo->argv = argv;
    jo->env = r->env;
    jo->cwd = r->cwd;
    jo->inputs = r->inputs;
    jo->commands = r->commands;
    /* The tasks' environment is the launcher's, as mpirun's and srun's
     * are, where the workers share this machine's files; a worker pod
     * keeps its image's variables under the launcher's. */
    jo->env_exact = provider_program (r->prov) == PROVIDER_PROGRAM_SHARED;
    inherit_capture (&r->inherit);
    jo->inherit = &r->inherit;
}

/* The job's options that come from the configuration and the session. */
static void complete_options (struct run *r)
{
    const struct config *cfg = r->cfg;
    struct job_options *jo = &r->o->job;
    struct krun_error error;

    if (r->o->progress || (!r->o->quiet && isatty (2)))
        if (!(jo->progress = progress_create (jo->size, 2)))
            die ("out of memory");
    jo->delivery_limit = cfg->delivery_limit;
    jo->durable = cfg->durable_queues;
    jo->cacert = cfg->amqp_cacert;
    jo->cancel = &cancel_signal;
    jo->key = r->key = session_signing_key (r->prov, r->state_dir);
    jo->url = r->url =
        session_broker_url (cfg, r->state_dir, true, r->o->quiet, &error);
    jo->pool = &r->pool;
    jo->join_timeout_ms = cfg->join_timeout_ms;
    jo->cold_join_timeout_ms = cfg->join_timeout_ms;
    jo->stall_timeout_ms = cfg->stall_timeout_ms;
    if (!(r->filter = nodefilter_create (r->o->nodes, r->o->exclude, &error)) ||
        provider_filter_nodes (r->prov, r->filter, &error) < 0)
        die ("%s", error.text);
    /* Checked before anything is published: the cluster is reachable. */
    if (provider_survey (r->prov, &error) < 0 ||
        provider_prepare_job (r->prov, jo, r->url, &error) < 0)
        fatal (error.text);
    session_pool (r->prov, r->key, &r->pool);
}

/* Send the staged program and --stage files through the broker. */
static void publish_staged (struct run *r)
{
    const struct job_options *jo = &r->o->job;
    struct krun_error error;

    if (jo->program_sha256) {
        int sent = stage_publish (r->t, r->path, jo->program_sha256, &error);
        if (sent < 0)
            fatal (error.text);
        if (sent && !r->o->quiet)
            fprintf (stderr, "krun: staged %s (sha256 %.12s) through the broker\n",
                     r->path, jo->program_sha256);
    }
    if (r->staged) {
        int sent = stagefiles_publish (r->staged, r->t, &error);
        if (sent < 0)
            fatal (error.text);
        if (sent && !r->o->quiet)
            fprintf (stderr,
                     "krun: staged %d of %d --stage file%s through the broker\n", sent,
                     jo->nstaged, jo->nstaged == 1 ? "" : "s");
    }
}

/* The workers and the slots of the job (caller must destroy both).
 * Returns NULL with errp and *usage (the user's input is at fault: die(),
 * else fatal()). */
static struct cpumap *map_job (struct run *r, struct presence **pp, bool *usage,
                               struct krun_error *errp)
{
    struct provider_broker b = {
        .t = r->t,
        .url = r->url,
        .pool = &r->pool,
        .key = r->key,
        .question = &r->question,
        .state_dir = r->state_dir,
    };
    struct cpumap *all = NULL, *map = NULL;

    *usage = true;
    if (!(*pp = provider_find_workers (r->prov, &b, errp)))
        return NULL;
    if (!(all = provider_cpumap (r->prov, *pp, errp))) {
        *usage = false;
        return NULL;
    }
    if (!(map = cpumap_filter (all, nodefilter_keep, r->filter, errp)))
        goto error;
    if (cpumap_slot_count (map) == 0 && cpumap_slot_count (all) > 0) {
        errprintf (errp,
                   "none of the %d nodes that answered may run the job (configured "
                   "nodes, --nodes, --exclude)",
                   cpumap_node_count (all));
        goto error;
    }
    if (cpumap_slot_count (map) == 0) {
        errprintf (errp, "no worker daemon answered on the broker (provider %s)",
                   provider_name (r->prov));
        goto error;
    }
    int largest = 0;
    for (int i = 0; i < cpumap_node_count (map); i++)
        if (cpumap_node_slots (map, i) > largest)
            largest = cpumap_node_slots (map, i);
    if (r->o->job.cpus_per_rank > largest) {
        errprintf (errp, "-c %d: no node has %d slots (the largest has %d)",
                   r->o->job.cpus_per_rank, r->o->job.cpus_per_rank, largest);
        goto error;
    }
    cpumap_destroy (all);
    return map;
error:
    cpumap_destroy (all);
    cpumap_destroy (map);
    return NULL;
}

/* The connection is closed politely, waiting for the broker's answer: a
 * socket closed without it made the broker drop the task queue's deletion
 * sent just before (4 of 20 warm runs; the queue then stayed until its
 * x-expires). */
static void run_cleanup (struct run *r)
{
    nodefilter_destroy (r->filter);
    transport_destroy (r->t);
    sign_key_destroy (r->key);
    provider_destroy (r->prov);
    free (r->env);
    free (r->path);
    free (r->url);
    free (r->state_dir);
    progress_destroy (r->o->job.progress);
    inputs_destroy (r->inputs);
    inputs_destroy (r->commands);
    stagefiles_destroy (r->staged);
}

int run_main (int argc, char *argv[], const struct config *cfg, struct run_options *o)
{
    struct run r = {.cfg = cfg, .o = o};
    struct krun_error error;
    struct presence *p;
    int rc;

    prepare (&r, argc, argv);
    struct sigaction sa = {.sa_handler = on_cancel_signal};
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    complete_options (&r);
    bool via_agent;
    char ahead[NEXTJOB_ID_SIZE] = "";
    /* A durable job's queues differ from those made ahead (nextjob.h). */
    r.t = session_connect (cfg, r.url, r.state_dir, &via_agent,
                           o->job.durable ? NULL : ahead);
    if (*ahead)
        o->job.id = ahead;
    publish_staged (&r);
    /* Asked first, on the main channel: the daemons answer while the broker
     * makes the job's queues, and the question waits behind neither (a
     * channel's requests are carried out in order).  map_job() reads the
     * answers. */
    if (presence_ask (r.t, &r.pool, r.key, &r.question, &error) < 0)
        fatal (error.text);
    /* The job's options are complete: job_create() borrows them. */
    struct job *job = job_create (r.t, &o->job, &error);
    if (!job)
        die ("%s", error.text);
    bool usage;
    struct cpumap *map = map_job (&r, &p, &usage, &error);
    if (!map) {
        job_destroy (job); /* its queues go */
        if (usage)
            die ("%s", error.text);
        fatal (error.text);
    }
    rc = job_run (job, map, p, &error);
    job_destroy (job);
    if (rc < 0)
        fprintf (stderr, "krun: %s\n", error.text);
    cpumap_destroy (map);
    presence_destroy (p);
    /* For the next runs, once this one is over (agent.h). */
    if (!via_agent)
        session_start_agent (cfg, r.url, r.state_dir);
    o->job.id = NULL;
    run_cleanup (&r);
    return rc < 0 ? 1 : rc;
}
