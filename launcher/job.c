/* job.c - see job.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "batchsize.h"
#include "exitstatus.h"
#include "failures.h"
#include "halt.h"
#include "fdio.h"
#include "handled.h"
#include "job.h"
#include "joins.h"
#include "joblog.h"
#include "outputlines.h"
#include "protocol.h"
#include "rankdata.h"
#include "sign.h"
#include "rankfiles.h"
#include "rankresult.h"
#include "ranklist.h"
#include "sealed.h"

#define RESULTS_TAG "results"
/* Reconnection after a lost broker (durable jobs): first delay, longest
 * delay, and how long to keep trying. */
#define RECONNECT_FIRST_MS 100
#define RECONNECT_MAX_MS 2000
#define RECONNECT_LIMIT_MS (300 * 1000)
/* After a reconnection the daemons may declare their control queues again
 * later than the launcher announces the job: announce it again with the
 * next few queue renewals (slots that know the job ignore it). */
#define REANNOUNCE_AFTER_RECONNECT 3
/* A line without its newline is held at most this long, then written out
 * as it is (outputlines.h): krun's memory does not grow with the length of
 * the ranks' lines. */
#define LINE_HOLD_MAX (1024 * 1024)

/* Where a rank's output or result may fail to be written. */
enum lost_kind {
    LOST_STDOUT,
    LOST_STDERR,
    LOST_OUTPUT_DIR,
    LOST_RESULTS,
    LOST_CUT,
    LOST_KINDS
};
static const char *const lost_what[LOST_KINDS] = {
    "the output to stdout failed",
    "the output to stderr failed",
    "the output to --output-dir failed",
    "the result to --results failed",
    "the output was cut at --output-limit (the rest dropped)",
};
/* Failed ranks said one line each up to this many; the summary at the end
 * names them all. */
#define FAILURE_LINES_MAX 20
/* Unacked results a durable job's launcher may hold. */
#define RESULTS_PREFETCH 256
/* How long to wait for the broker to confirm a task published again. */
#define PUBLISH_CONFIRM_MS 30000

/* What the launcher knows of one rank. */
struct rank {
    bool done;
    int attempts; /* highest attempt seen */
    int status;   /* folded status of the final result */
    int64_t published_us;
    struct protocol_result result; /* final result (strings owned) */
    int min_attempt;             /* results of earlier attempts are stale (--retries) */
    int published_attempt;       /* the attempt this launcher published last */
    int started;                 /* highest attempt a slot reported started */
    char *started_node;          /* where it started */
    int retries;                 /* --retries used */
    bool resumed;                /* succeeded in the run --resume named: not run */
    bool output_file_started[3]; /* --output-dir: this job truncated it already */
    long long received;          /* bytes of output forwarded (the joblog's Receive) */
    int received_attempt;        /* the attempt received counts */
};

struct job {
    struct transport *t;
    struct transport *owned; /* made by reconnect(); t points to it then */
    const struct cpumap *map;
    const struct presence *presence; /* who answered before the run (job_run()) */
    const struct job_options *opts;
    char id[40];
    char task_queue[128];
    char results_queue[128];
    char *announce;
    size_t announce_len;
    bool tasks_unclaimed; /* the task queue is declared, job_run() not begun */
    struct rank *ranks;
    int done;
    int reruns;
    int retried;
    int exit_status;
    struct joblog *joblog;
    int reannounce;            /* renewals that also announce the job again */
    bool started_known;        /* slots report each attempt they start (progress 0) */
    struct handled *handled;   /* durable jobs: messages handled lately */
    unsigned long refused;     /* unsigned or badly signed reports ignored */
    struct outputlines *lines; /* stdout and stderr in whole lines */
    /* The ranks whose output or result could not be written, per kind
     * (NULL while none); lost_any also when a list could not be made. */
    struct ranklist *lost[LOST_KINDS];
    bool lost_any;
    /* The connection of the task queue's renewals (renewal_transport()),
     * made at the first; renewer_failed once it could not be made. */
    struct transport *renewer;
    bool renewer_failed;
    struct joins *joins;       /* which nodes confirmed, refused, were dropped */
    struct failures *failures; /* the ranks that failed, for their lines and summary */
    bool stdout_closed;        /* writing to stdout failed with EPIPE: cancel */
    int resumed;               /* ranks --resume found done (counted in done) */
    int published;             /* ranks published at least once */
    int next_rank;             /* the next rank to publish for the first time */
    int batch;                 /* ranks per task message (batchsize.h) */
    /* --halt: HALT_NEVER, or how the job stops now that its condition is
     * met; outstanding: with soon, the ranks still to come once the queued
     * ones are purged (-1 until purged). */
    enum halt_when halt;
    int outstanding;
    struct cpumap *remap;     /* the map without them, once a node was lost */
    int64_t check_at_ms;      /* next look at the task queue's consumers */
    int64_t joins_at_ms;      /* next look at the nodes that did not answer */
    bool refused_node;        /* a node refused since the last look */
    int64_t stalled_since_ms; /* tasks queued and nobody consuming, or 0 */
    bool stall_said;
    bool busy_said; /* "busy with other work" said */
};

int job_new_id (char *buf, size_t size)
{
    unsigned char raw[8];

    if (getrandom (raw, sizeof (raw), 0) != sizeof (raw))
        return -1;
    snprintf (buf, size, "%02x%02x%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2],
              raw[3], raw[4], raw[5], raw[6], raw[7]);
    return 0;
}

/* The slots the job runs on (cpumap_select()), ascending; with -c N only
 * the first slot of each group of N of a node: it gives its rank the
 * group's cores (the slot's job_cpus()).  Returns the count and the
 * malloc'd ids in *slotsp (caller must free), or -1. */
static int select_slots (const struct job *j, int **slotsp)
{
    int n = j->opts->cpus_per_rank, *grouped_slots = NULL, count;
    struct cpumap *grouped;

    if (n <= 1)
        return cpumap_select (j->map, j->opts->size, j->opts->map_by, slotsp, NULL);
    if (!(grouped = cpumap_create ()))
        return -1;
    for (int i = 0; i < cpumap_node_count (j->map); i++)
        if (cpumap_node_slots (j->map, i) / n > 0 &&
            cpumap_add_node (grouped, cpumap_node_name (j->map, i),
                             cpumap_node_slots (j->map, i) / n, NULL, NULL) < 0) {
            cpumap_destroy (grouped);
            return -1;
        }
    count =
        cpumap_select (grouped, j->opts->size, j->opts->map_by, &grouped_slots, NULL);
    for (int k = 0; k < count; k++) {
        const char *name =
            cpumap_node_name (grouped, cpumap_slot_node (grouped, grouped_slots[k]));
        grouped_slots[k] =
            cpumap_node_first_slot (j->map, cpumap_node_index (j->map, name)) +
            cpumap_slot_local (grouped, grouped_slots[k]) * n;
    }
    cpumap_destroy (grouped);
    *slotsp = grouped_slots;
    return count;
}

/* The announcement's node table: every node of the map, with the local slots
 * cpumap_select() chose. */
static struct protocol_node *announce_nodes (const struct job *j, int *nnodes)
{
    int nn = cpumap_node_count (j->map);
    struct protocol_node *nodes = calloc (nn, sizeof (*nodes));
    int *slots = NULL;
    int count;

    if (!nodes)
        return NULL;
    if ((count = select_slots (j, &slots)) < 0)
        goto error;
    for (int i = 0; i < nn; i++) {
        nodes[i].name_out = cpumap_node_name (j->map, i);
        nodes[i].first_slot = cpumap_node_first_slot (j->map, i);
        nodes[i].nslots = cpumap_node_slots (j->map, i);
        if (!(nodes[i].used = calloc (nodes[i].nslots, sizeof (int))))
            goto error;
    }
    for (int k = 0; k < count; k++) {
        struct protocol_node *n = &nodes[cpumap_slot_node (j->map, slots[k])];
        n->used[n->nused++] = cpumap_slot_local (j->map, slots[k]);
    }
    free (slots);
    *nnodes = nn;
    return nodes;
error:
    free (slots);
    for (int i = 0; i < nn; i++)
        free (nodes[i].used);
    free (nodes);
    return NULL;
}

static int encode_announce (struct job *j, struct krun_error *errp)
{
    struct protocol_msg msg = {.type = PROTOCOL_ANNOUNCE, .job = j->id};
    struct protocol_announce *a = &msg.announce;
    const struct job_options *o = j->opts;

    a->path_out = o->path;
    a->argc = o->argc;
    a->argv = o->argv;
    a->envc = o->envc;
    a->env = o->env;
    a->cwd_out = o->cwd;
    a->size = o->size;
    a->results_queue = j->results_queue;
    a->delivery_limit = o->delivery_limit;
    a->timeout_ms = o->timeout_ms;
    a->output_limit = o->output_limit;
    a->inputs = o->inputs != NULL;
    /* The progress messages also say which attempts started, which a
     * durable job needs to tell a task recovered by a restarted broker from
     * one whose slot failed (handle_redelivered()). */
    a->progress = j->started_known;
    a->program_sha256_out = o->program_sha256;
    a->nstaged = o->nstaged;
    a->staged_files = o->staged_files;
    a->staged_sha256 = o->staged_sha256;
    a->staged_cwd = o->staged_cwd;
    a->env_exact = o->env_exact;
    a->cpus_per_rank = o->cpus_per_rank > 1 ? o->cpus_per_rank : 0;
    a->bind_none = o->bind_none;
    char limits[INHERIT_MAX_LIMITS][64], *limit_texts[INHERIT_MAX_LIMITS];
    if (o->inherit) {
        a->has_umask = o->inherit->umask >= 0;
        a->umask = o->inherit->umask;
        a->has_nice = o->inherit->nice != INHERIT_NICE_KEEP;
        a->nice = o->inherit->nice;
        for (int i = 0; i < o->inherit->nlimits; i++) {
            inherit_limit_format (&o->inherit->limits[i], limits[i],
                                  sizeof (limits[i]));
            limit_texts[i] = limits[i];
        }
        a->nlimits = o->inherit->nlimits;
        a->limits = limit_texts;
    }
    if (!(a->nodes = announce_nodes (j, &a->nnodes)))
        return errprintf_errno (errp, "job %s: cannot build the slot map", j->id);
    j->announce = protocol_encode (&msg, &j->announce_len, errp);
    for (int i = 0; i < a->nnodes; i++)
        free (a->nodes[i].used);
    free (a->nodes);
    return j->announce ? 0 : -1;
}

static void report_map (const struct job *j)
{
    int *slots = NULL;
    int count = select_slots (j, &slots);

    fprintf (stderr, "krun: job %s: %d ranks on %d of %d slots (%d nodes, map-by %s)\n",
             j->id, j->opts->size, count, cpumap_slot_count (j->map),
             cpumap_node_count (j->map),
             j->opts->map_by == CPUMAP_BY_NODE ? "node" : "slot");
    for (int k = 0; k < count; k++) {
        int s = slots[k];
        int core = cpumap_slot_core (j->map, s);
        char where[32] = "unbound";
        if (core >= 0)
            snprintf (where, sizeof (where), "core %d", core);
        fprintf (stderr, "krun: slot %d: node %s local %d %s\n", s,
                 cpumap_node_name (j->map, cpumap_slot_node (j->map, s)),
                 cpumap_slot_local (j->map, s), where);
    }
    free (slots);
}

/* With defer, the declaration is sent and its answer read later (see
 * job_create()). */
static int declare_task_queue (struct job *j, struct transport *t, bool defer,
                               struct krun_error *errp)
{
    /* Durable queues cost the broker a disk transaction on declare and
     * delete (about 5 ms of a 20 ms warm `krun -n 1 true`) and only pay off
     * when the broker restarts under a job: see durable_queues. */
    return transport_declare_queue (
        t, j->task_queue,
        (j->opts->durable ? TRANSPORT_DURABLE : 0) | (defer ? TRANSPORT_DEFER : 0),
        PROTOCOL_JOB_QUEUE_EXPIRES_MS, NULL, errp);
}

/* Publish body sealed with the job's key, valid for ttl_us from now: the
 * workers run nothing that this key did not sign (see sign.h). */
static int publish_signed (struct job *j, const char *exchange, const char *key,
                           const char *type, int flags, int64_t ttl_us,
                           const char *body, size_t len, struct krun_error *errp)
{
    struct sealed_dest dest = {
        .exchange = exchange, .routing_key = key, .flags = flags, .ttl_us = ttl_us};

    return sealed_publish_body (j->t, j->opts->key, &dest, type, body, len, errp);
}

/* Publish ranks rank .. rank + count - 1 in one task message (count > 1
 * only for a job without per-rank data: batchsize.h). */
static int publish_task (struct job *j, int rank, int count, int attempt,
                         struct krun_error *errp)
{
    struct protocol_msg msg = {.type = PROTOCOL_TASK, .job = j->id};
    char *body, *command = NULL;
    size_t len;
    int rc;
    int64_t now;

    msg.task.rank = rank;
    msg.task.count = count;
    msg.task.attempt = attempt;
    if (j->opts->inputs)
        msg.task.input = inputs_get (j->opts->inputs, rank, &msg.task.input_len);
    if (j->opts->commands) {
        size_t command_len;
        /* A copy: the task's args are not const (the decoder owns them). */
        if (!(command = strdup (inputs_get (j->opts->commands, rank, &command_len))))
            return errprintf_errno (errp, "job %s: rank %d", j->id, rank);
        msg.task.argc = 1;
        msg.task.args = &command;
    }
    body = protocol_encode (&msg, &len, errp);
    free (command);
    if (!body)
        return -1;
    now = clock_wall_us ();
    for (int i = rank; i < rank + count; i++) {
        j->ranks[i].published_us = now;
        j->ranks[i].published_attempt = attempt;
    }
    rc = publish_signed (j, "", j->task_queue, "task",
                         j->opts->durable ? TRANSPORT_PERSISTENT : 0, SIGN_TASK_TTL_US,
                         body, len, errp);
    free (body);
    return rc;
}

/* How long node has to confirm or refuse: a node that answered presence
 * runs, one that did not may be a pod still starting. */
static int join_bound (const struct job *j, const char *node)
{
    const struct presence *p = j->presence;
    return p && presence_find (p, node) ? j->opts->join_timeout_ms
                                        : j->opts->cold_join_timeout_ms;
}

/* The announcement just went out: every node it gives slots must confirm
 * or refuse within its bound. */
static int expect_joins (struct job *j, struct krun_error *errp)
{
    int nnodes, rc = 0;
    struct protocol_node *nodes = announce_nodes (j, &nnodes);
    int64_t now = clock_mono_ms ();

    if (!nodes)
        return errprintf_errno (errp, "job %s: cannot build the slot map", j->id);
    for (int i = 0; i < nnodes; i++) {
        if (rc == 0 && nodes[i].nused > 0 &&
            joins_expect (j->joins, nodes[i].name, now, join_bound (j, nodes[i].name)) <
                0)
            rc = errprintf_errno (errp, "job %s", j->id);
        free (nodes[i].used);
    }
    free (nodes);
    return rc;
}

/* Ranks published and not done yet. */
static int in_flight (const struct job *j)
{
    return j->published - (j->done - j->resumed);
}

/* Publish the ranks not published yet, as many as -j allows in flight
 * (all of them without -j), and wait for the broker's confirms.  Returns
 * how many were published, or -1 with errp. */
static int top_up (struct job *j, struct krun_error *errp)
{
    int max = j->opts->max_running, published = 0;

    while (j->halt == HALT_NEVER && j->next_rank < j->opts->size &&
           (max <= 0 || in_flight (j) < max)) {
        int rank = j->next_rank++, count = 1;
        if (j->ranks[rank].resumed)
            continue;
        /* A message holds consecutive ranks that --resume does not skip. */
        while (count < j->batch && j->next_rank < j->opts->size &&
               !j->ranks[j->next_rank].resumed) {
            j->next_rank++;
            count++;
        }
        if (publish_task (j, rank, count, 1, errp) < 0)
            return -1;
        j->published += count;
        published += count;
    }
    if (published > 0 &&
        transport_wait_confirms (j->t, TRANSPORT_CONFIRM_TIMEOUT_MS, errp) < 0)
        return -1;
    return published;
}

static int publish_tasks (struct job *j, struct krun_error *errp)
{
    int published = top_up (j, errp);

    if (published <= 0)
        return published; /* --resume: nothing left to run */
    /* Every task is safely queued before any slot hears of the job, so an
     * empty queue always means the job is drained (with -j: until the
     * launcher publishes the next ranks); and the results queue is bound
     * for the slots that start later (job_start()). */
    if (transport_settle (j->t, errp) < 0 ||
        publish_signed (j, j->opts->pool->control, "", "announce", 0,
                        SIGN_CONTROL_TTL_US, j->announce, j->announce_len, errp) < 0)
        return -1;
    return expect_joins (j, errp);
}

/* --halt's condition is met: with now, the main loop cancels the job; with
 * soon, the queued ranks are taken back (purged) and the running ones
 * finish.  Returns 0, or -1 with errp if the broker failed. */
static int halt_job (struct job *j, struct krun_error *errp)
{
    char policy[64];
    int purged;

    halt_format (&j->opts->halt, policy, sizeof (policy));
    progress_erase (j->opts->progress);
    if (j->halt == HALT_NOW) {
        fprintf (stderr, "krun: --halt %s: cancelling the %d ranks not done\n", policy,
                 j->opts->size - j->done);
        return 0;
    }
    if ((purged = transport_purge_queue (j->t, j->task_queue, errp)) < 0)
        return -1;
    j->outstanding = in_flight (j) - purged;
    if (j->outstanding < 0)
        j->outstanding = 0;
    fprintf (stderr,
             "krun: --halt %s: starting no more ranks, waiting for the %d running\n",
             policy, j->outstanding);
    return 0;
}

static int publish_control (struct job *j, enum protocol_type type,
                            struct krun_error *errp)
{
    struct protocol_msg msg = {.type = type, .job = j->id};
    size_t len;
    char *body = protocol_encode (&msg, &len, errp);
    int rc;

    if (!body)
        return -1;
    rc = publish_signed (j, j->opts->pool->control, "", protocol_type_name (type), 0,
                         SIGN_CONTROL_TTL_US, body, len, errp);
    free (body);
    return rc;
}

/* A rank's output or result could not be written (why says what failed):
 * the first failure of each kind is said at once, and every rank is named
 * at the end (report_lost()); krun's exit status then says so too. */
static void note_lost (struct job *j, enum lost_kind kind, int rank, const char *why)
{
    j->lost_any = true;
    if (!j->lost[kind] && !(j->lost[kind] = ranklist_create (j->opts->size)))
        return;
    if (ranklist_add (j->lost[kind], rank) == 1 && ranklist_count (j->lost[kind]) == 1)
        fprintf (stderr, "krun: rank %d: %s (all such ranks are listed at the end)\n",
                 rank, why);
}

/* Write rank's bytes to krun's stdout or stderr as they are. */
static void write_stream (void *arg, int rank, int stream, const char *data, size_t len)
{
    struct job *j = arg;
    char why[160];

    if (j->stdout_closed && stream == 1)
        return;
    progress_erase (j->opts->progress);
    if (fdio_write_all (stream, data, len) == 0)
        return;
    /* The reader went (krun ... | head -1): the job is cancelled, as a
     * shell pipeline's writer dies of SIGPIPE. */
    if (stream == 1 && errno == EPIPE) {
        j->stdout_closed = true;
        return;
    }
    snprintf (why, sizeof (why), "cannot write its output to %s: %s",
              stream == 2 ? "stderr" : "stdout", strerror (errno));
    note_lost (j, stream == 2 ? LOST_STDERR : LOST_STDOUT, rank, why);
}

/* The rank's output could not be held or tagged. */
static void lost_stream (void *arg, int rank, int stream, const char *why)
{
    struct job *j = arg;

    note_lost (j, stream == 2 ? LOST_STDERR : LOST_STDOUT, rank, why);
}

/* --output-dir (or --results without it): rank's stream goes to
 * DIR/<rank>.out or .err, which the first write of this job truncates. */
static void write_output_file (struct job *j, int rank, int stream, const char *data,
                               size_t len)
{
    struct rank *r = &j->ranks[rank];
    const char *dir = j->opts->output_dir ? j->opts->output_dir : j->opts->results_dir;
    struct krun_error error;
    char name[32];

    snprintf (name, sizeof (name), "%d.%s", rank, stream == 2 ? "err" : "out");
    if (rankfiles_write (dir, name, data, len, r->output_file_started[stream], &error) <
        0)
        note_lost (j, j->opts->output_dir ? LOST_OUTPUT_DIR : LOST_RESULTS, rank,
                   error.text);
    r->output_file_started[stream] = true;
}

/* --results of a rank: its krun_result() bytes in DIR/<rank>; a task that
 * returns none (it does not use libkrun) has its output there instead,
 * DIR/<rank>.out and .err, as parallel's --results keeps it. */
static void write_results (struct job *j, const struct protocol_result *res)
{
    struct rank *r = &j->ranks[res->rank];
    struct krun_error error;
    char name[32];

    if (!res->data) {
        for (int stream = 1; stream <= 2 && !j->opts->output_dir; stream++)
            if (!r->output_file_started[stream])
                write_output_file (j, res->rank, stream, "", 0);
        return;
    }
    snprintf (name, sizeof (name), "%d", res->rank);
    if (rankfiles_write (j->opts->results_dir, name, res->data, res->data_len, false,
                         &error) < 0)
        note_lost (j, LOST_RESULTS, res->rank, error.text);
    /* The result is what it returned: its output is not kept beside it. */
    for (int stream = 1; stream <= 2 && !j->opts->output_dir; stream++) {
        if (!r->output_file_started[stream])
            continue;
        char path[PATH_MAX];
        snprintf (path, sizeof (path), "%s/%d.%s", j->opts->results_dir, res->rank,
                  stream == 2 ? "err" : "out");
        unlink (path);
        r->output_file_started[stream] = false;
    }
}

/* Output goes out in whole lines (outputlines.h).  With --output-dir each
 * rank has files of its own: the bytes go as they come. */
static void handle_output (struct job *j, const struct protocol_output *o)
{
    struct rank *r = &j->ranks[o->rank];

    if (r->done || o->stream < 1 || o->stream > 2)
        return;
    /* The output of one attempt counts (a retried rank starts again). */
    if (o->attempt > r->received_attempt) {
        r->received_attempt = o->attempt;
        r->received = 0;
    }
    r->received += o->len;
    /* A slot forwards output_limit bytes, then its marker: more means the
     * rest was dropped.  Said, and the exit status says it too. */
    if (j->opts->output_limit > 0 && r->received > j->opts->output_limit) {
        char why[160];
        snprintf (why, sizeof (why), "output cut at %d bytes (--output-limit)",
                  j->opts->output_limit);
        progress_erase (j->opts->progress);
        note_lost (j, LOST_CUT, o->rank, why);
    }
    if (j->opts->output_dir) {
        write_output_file (j, o->rank, o->stream, o->data, o->len);
        return;
    }
    /* --results: kept in case the task returns no result (write_results()),
     * and shown as usual. */
    if (j->opts->results_dir)
        write_output_file (j, o->rank, o->stream, o->data, o->len);
    outputlines_add (j->lines, o->rank, o->stream, o->data, o->len);
}

/* The ranks whose output or result could not be written, named by kind.
 * Returns true if there were any. */
static bool report_lost (struct job *j)
{
    char ranks[512];

    for (int kind = 0; kind < LOST_KINDS; kind++) {
        int n = j->lost[kind] ? ranklist_count (j->lost[kind]) : 0;
        if (n > 0)
            fprintf (stderr, "krun: %s for %d rank%s: %s\n", lost_what[kind], n,
                     n == 1 ? "" : "s",
                     ranklist_format (j->lost[kind], ranks, sizeof (ranks)));
    }
    return j->lost_any;
}

/* "krun: 3 of 225 ranks failed: 7, 19, 204", if any failed. */
static void report_failures (struct job *j)
{
    char summary[600];

    if (failures_count (j->failures) > 0)
        fprintf (stderr, "krun: %s\n",
                 failures_summary (j->failures, summary, sizeof (summary)));
}

/* The rank's command as the joblog names it: its line of -f, else the
 * program and its arguments, placeholders replaced as the slot replaces
 * them.  Returns a malloc'd string (caller must free), or NULL with errno
 * (the joblog then says "-"). */
static char *rank_command (const struct job *j, int rank)
{
    const struct job_options *o = j->opts;
    const char *input = NULL;
    size_t input_len = 0, len;
    char *line;

    if (o->inputs)
        input = inputs_get (o->inputs, rank, &input_len);
    if (o->commands)
        return rankdata_expand (inputs_get (o->commands, rank, &len), rank, o->size,
                                input, input_len);
    char **argv =
        rankdata_argv (o->argv, o->argc, NULL, 0, rank, o->size, input, input_len);
    line = argv ? joblog_command_line (argv) : NULL;
    rankdata_argv_free (argv);
    return line;
}

static void log_result (struct job *j, const struct rank *r)
{
    struct krun_error error;
    const struct protocol_result *res = &r->result;
    size_t sent = 0;
    struct joblog_entry e = {
        .rank = res->rank,
        .node = res->node,
        .start_us = res->start_us,
        .end_us = res->end_us,
        .received = r->received,
        /* parallel's: a killed task has Exitval 0 and its Signal. */
        .exitval = res->status == PROTOCOL_SIGNALED ? 0 : r->status,
        .signal = res->status == PROTOCOL_SIGNALED ? res->code : 0,
    };

    if (!j->joblog)
        return;
    if (j->opts->inputs)
        inputs_get (j->opts->inputs, res->rank, &sent);
    e.sent = (long long)sent;
    char *command = rank_command (j, res->rank);
    e.command = command;
    if (joblog_write (j->joblog, &e, &error) < 0)
        fprintf (stderr, "krun: %s\n", error.text);
    free (command);
}

/* --retries: run a rank that ended non-zero again, as attempt + 1.  Returns
 * true if it was published again (the result is then not final). */
static bool retry (struct job *j, struct rank *r, const struct protocol_result *res)
{
    struct krun_error error;

    if (j->halt != HALT_NEVER || !rankresult_retry (res, r->retries, j->opts->retries))
        return false;
    if (publish_task (j, res->rank, 1, res->attempt + 1, &error) < 0 ||
        transport_wait_confirms (j->t, TRANSPORT_CONFIRM_TIMEOUT_MS, &error) < 0) {
        fprintf (stderr, "krun: rank %d: cannot retry: %s\n", res->rank, error.text);
        return false;
    }
    r->retries++;
    r->min_attempt = res->attempt + 1;
    j->retried++;
    fprintf (stderr,
             "krun: rank %d %s %d on node %s (attempt %d), retrying (%d of %d)\n",
             res->rank,
             res->status == PROTOCOL_SIGNALED ? "killed by signal"
             : res->status == PROTOCOL_FAILED ? "failed with"
                                              : "exited",
             res->code, res->node, res->attempt, r->retries, j->opts->retries);
    return true;
}

static void handle_result (struct job *j, struct protocol_result *res)
{
    struct rank *r = &j->ranks[res->rank];

    if (res->attempt > r->attempts)
        r->attempts = res->attempt;
    /* At-least-once delivery: the first final result of a rank counts.  A
     * result of an attempt before a retry is a late duplicate. */
    if (!rankresult_counts (r->done, r->min_attempt, res->attempt))
        return;
    outputlines_flush (j->lines, res->rank);
    if (retry (j, r, res))
        return;
    if (j->opts->results_dir)
        write_results (j, res);
    /* Every finished rank has its two files, empty ones included. */
    for (int stream = 1; stream <= 2 && j->opts->output_dir; stream++)
        if (!r->output_file_started[stream])
            write_output_file (j, res->rank, stream, "", 0);
    progress_rank_done (j->opts->progress, res->rank,
                        res->status != PROTOCOL_EXITED || res->code != 0);
    progress_erase (j->opts->progress);
    r->done = true;
    r->result = *res;
    memset (res, 0, sizeof (*res)); /* strings now owned by r->result */
    r->status = exitstatus_of_rank (r->result.status, r->result.code);
    j->exit_status = exitstatus_fold (j->exit_status, r->status);
    j->done++;
    if (rankresult_rerun (&r->result, r->retries))
        j->reruns++;
    log_result (j, r);
    if (failures_is_failure (r->result.status, r->result.code) &&
        failures_add (j->failures, r->result.rank) == 1) {
        int n = failures_count (j->failures);
        char line[600];
        progress_erase (j->opts->progress);
        outputlines_end_terminal (j->lines);
        if (n <= FAILURE_LINES_MAX)
            fprintf (
                stderr, "krun: %s\n",
                failures_rank_line (r->result.rank, r->result.node, r->result.status,
                                    r->result.code, r->result.error, r->result.attempt,
                                    line, sizeof (line)));
        if (n == FAILURE_LINES_MAX && j->opts->size > FAILURE_LINES_MAX)
            fprintf (stderr, "krun: (more failed ranks are named at the end)\n");
    }
    if (j->outstanding > 0)
        j->outstanding--;
    if (j->halt == HALT_NEVER)
        j->halt = halt_check (&j->opts->halt, j->opts->size, j->done - j->resumed,
                              failures_count (j->failures));
    /* The binding the slot reports having, not the planned core. */
    if (j->opts->report_bindings) {
        char where[300] = "unbound";
        if (r->result.cpus && strcmp (r->result.cpus, "unbound") != 0)
            snprintf (where, sizeof (where), "cpus %s", r->result.cpus);
        else if (!r->result.cpus && r->result.core >= 0)
            snprintf (where, sizeof (where), "core %d", r->result.core);
        fprintf (stderr,
                 "krun: rank %d ran on node %s slot %d local %d %s (attempt %d)\n",
                 r->result.rank, r->result.node, r->result.slot, r->result.local, where,
                 r->result.attempt);
    }
}

/* A daemon confirmed or refused the job for its node: a refusal is said in
 * one line, once, and the node leaves the map at the next check_joins(). */
static void handle_join (struct job *j, const struct protocol_msg *msg)
{
    if (msg->type == PROTOCOL_CONFIRM) {
        joins_confirm (j->joins, msg->join.node);
        return;
    }
    if (!joins_refuse (j->joins, msg->join.node, msg->join.reason))
        return;
    j->refused_node = true;
    progress_erase (j->opts->progress);
    fprintf (stderr, "krun: job %s: node %s refused the job: %s\n", j->id,
             msg->join.node, msg->join.reason);
}

/* A slot reported that it starts attempt of rank (a progress message). */
static void rank_started (struct job *j, const struct protocol_progress *p)
{
    struct rank *r = &j->ranks[p->rank];
    char *node;

    if (p->attempt <= r->started || !(node = strdup (p->node)))
        return;
    free (r->started_node);
    r->started_node = node;
    r->started = p->attempt;
}

/* End rank as failed without a slot's result (why says why). */
static void fail_rank (struct job *j, int rank, int attempt, const char *why)
{
    struct rank *r = &j->ranks[rank];
    int64_t now = clock_wall_us ();
    struct protocol_result res = {
        .rank = rank,
        .attempt = attempt,
        .node = strdup (r->started_node ? r->started_node : "(unknown)"),
        .slot = -1,
        .local = -1,
        .core = -1,
        .status = PROTOCOL_FAILED,
        .code = 127,
        .start_us = now,
        .end_us = now,
        .error = strdup (why),
    };

    if (res.node && res.error)
        handle_result (j, &res);
    free (res.node);
    free (res.error);
}

/* A slot handed back a task that the broker delivered to it redelivered
 * (slot.c: handle_redelivery()).  Its attempt counts only if a slot said it
 * started it: a task that a restarted broker recovered from disk, or that a
 * slot held without starting, keeps its attempt.  When started records are
 * not asked for (a transient job without a status line), every redelivery
 * counts, as the broker cannot recover a transient queue.  Publishes the
 * task again with the attempt it earned (its confirm awaited by the caller),
 * or fails the rank at the delivery limit.  Returns 1 if it published, 0 if
 * not, or -1 with errp if the broker failed (the delivery is then not acked,
 * and comes back). */
static int handle_redelivered_rank (struct job *j, int rank, int task_attempt,
                                    struct krun_error *errp)
{
    struct rank *r = &j->ranks[rank];
    bool started = !j->started_known || r->started >= task_attempt;
    int attempt = started ? task_attempt + 1 : task_attempt;

    /* Late copies: the rank has its result, or was published again since
     * (--retries, or an earlier copy of this redelivery). */
    if (r->done || task_attempt < r->published_attempt)
        return 0;
    /* --halt soon: a rank whose slot died is not started again. */
    if (j->halt != HALT_NEVER) {
        if (j->outstanding > 0)
            j->outstanding--;
        return 0;
    }
    if (attempt > j->opts->delivery_limit) {
        char why[128];
        snprintf (why, sizeof (why),
                  "delivered %d times without finishing (delivery limit)",
                  task_attempt);
        fail_rank (j, rank, task_attempt, why);
        return 0;
    }
    return publish_task (j, rank, 1, attempt, errp) < 0 ? -1 : 1;
}

/* The same for each rank of a task message: the ranks of a message of
 * several that have no result yet go out again, one per message, each with
 * the attempt it earned (with started records, a rank its slot never
 * reached keeps its attempt; without, every redelivery counts, as for a
 * single rank). */
static int handle_redelivered (struct job *j, const struct protocol_task *task,
                               struct krun_error *errp)
{
    int rc, published = 0;

    for (int rank = task->rank; rank < task->rank + task->count; rank++) {
        if ((rc = handle_redelivered_rank (j, rank, task->attempt, errp)) < 0)
            return -1;
        published += rc;
    }
    /* One wait for all of them, not a round trip per rank. */
    if (published > 0 && transport_wait_confirms (j->t, PUBLISH_CONFIRM_MS, errp) < 0)
        return -1;
    return 0;
}

/* A message on the results queue that is refused: say so for the first
 * few, then count them. */
static void refuse (struct job *j, const char *why)
{
    if (++j->refused <= 3)
        fprintf (stderr, "krun: job %s: ignoring a message on %s: %s%s\n", j->id,
                 j->results_queue, why,
                 j->refused == 3 ? " (further ones not shown)" : "");
}

/* Handle a message of the results queue.  Returns 0 (also for a message
 * that is ignored), or -1 with errp if the broker failed. */
static int handle_message (struct job *j, const struct transport_message *m,
                           struct krun_error *errp)
{
    struct protocol_msg msg = {0};
    struct krun_error error;
    int rc = 0;
    const char *body = m->body;
    size_t len = m->len;
    /* Slots seal what they report; joined and presence answers are not. */
    bool sealed = sign_is_sealed (m->body, m->len);

    if (sealed && sign_open (j->opts->key, m->body, m->len, clock_wall_us (), &body,
                             &len, NULL, &error) < 0) {
        refuse (j, error.text);
        return 0;
    }
    if (protocol_decode (body, len, &msg, &error) < 0) {
        fprintf (stderr, "krun: ignoring a bad message on %s: %s\n", j->results_queue,
                 error.text);
        goto out;
    }
    /* Only the pool's key holders may report on ranks or join. */
    if (!sealed) {
        char why[128];
        snprintf (why, sizeof (why),
                  "an unsigned %s (forged, or from a krund older than this krun)",
                  protocol_type_name (msg.type));
        refuse (j, why);
        goto out;
    }
    if (msg.type == PROTOCOL_JOINED) {
        /* A slot started after the announcement: tell it about the job,
         * unless its node refused it or was dropped. */
        if (!joins_usable (j->joins, msg.joined.node))
            goto out;
        joins_confirm (j->joins, msg.joined.node);
        if (m->reply_to[0] &&
            publish_signed (j, "", m->reply_to, "announce", 0, SIGN_CONTROL_TTL_US,
                            j->announce, j->announce_len, &error) < 0)
            fprintf (stderr, "krun: %s\n", error.text);
        goto out;
    }
    /* Presence answers ("here") share this queue: not ours to handle. */
    if (!msg.job || strcmp (msg.job, j->id) != 0)
        goto out;
    if (msg.type == PROTOCOL_CONFIRM || msg.type == PROTOCOL_REFUSE)
        handle_join (j, &msg);
    else if (msg.type == PROTOCOL_OUTPUT && msg.output.rank < j->opts->size)
        handle_output (j, &msg.output);
    else if (msg.type == PROTOCOL_RESULT && msg.result.rank < j->opts->size)
        handle_result (j, &msg.result);
    else if (msg.type == PROTOCOL_PROGRESS && msg.progress.rank < j->opts->size) {
        rank_started (j, &msg.progress);
        if (j->opts->progress)
            progress_rank_running (j->opts->progress, msg.progress.rank,
                                   msg.progress.node, msg.progress.fraction);
    } else if (msg.type == PROTOCOL_RESULTS) {
        for (int i = 0; i < msg.results.n; i++)
            if (msg.results.items[i].rank < j->opts->size)
                handle_result (j, &msg.results.items[i]);
    } else if (msg.type == PROTOCOL_TASK && msg.task.rank < j->opts->size &&
               msg.task.count <= j->opts->size - msg.task.rank)
        rc = handle_redelivered (j, &msg.task, errp);
out:
    protocol_msg_clear (&msg);
    return rc;
}

/* Handle a delivery of the results queue, unless it is a copy of one that
 * was handled already but whose ack did not reach the broker (handled.h):
 * the broker delivers those again after a reconnection.  Returns 0, or -1
 * with errp if the broker failed. */
static int handle_delivery (struct job *j, const struct transport_message *m,
                            struct krun_error *errp)
{
    uint64_t id;

    if (!j->handled)
        return handle_message (j, m, errp);
    id = handled_id (m->body, m->len);
    if (m->redelivered && handled_contains (j->handled, id))
        return 0;
    if (handle_message (j, m, errp) < 0)
        return -1;
    /* Out of memory only risks printing output twice after a reconnection. */
    handled_add (j->handled, id);
    return 0;
}

static int write_timeline (const struct job *j, struct krun_error *errp)
{
    FILE *f = fopen (j->opts->timeline, "w");

    if (!f)
        return errprintf_errno (errp, "cannot write timeline %s", j->opts->timeline);
    fprintf (
        f, "rank,node,slot,core,attempt,status,published_us,started_us,finished_us\n");
    for (int i = 0; i < j->opts->size; i++) {
        const struct rank *r = &j->ranks[i];
        if (!r->done || r->resumed)
            continue;
        fprintf (f, "%d,%s,%d,%d,%d,%d,%lld,%lld,%lld\n", i, r->result.node,
                 r->result.slot, r->result.core, r->result.attempt, r->status,
                 (long long)r->published_us, (long long)r->result.start_us,
                 (long long)r->result.end_us);
    }
    if (fclose (f) != 0)
        return errprintf_errno (errp, "cannot write timeline %s", j->opts->timeline);
    return 0;
}

void job_destroy (struct job *j)
{
    int saved_errno = errno;

    if (!j)
        return;
    for (int i = 0; j->ranks && i < j->opts->size; i++) {
        struct rank *r = &j->ranks[i];
        free (r->result.node);
        free (r->result.error);
        free (r->result.cpus);
        free (r->started_node);
    }
    for (int kind = 0; kind < LOST_KINDS; kind++)
        ranklist_destroy (j->lost[kind]);
    free (j->ranks);
    free (j->announce);
    joins_destroy (j->joins);
    outputlines_destroy (j->lines);
    failures_destroy (j->failures);
    cpumap_destroy (j->remap);
    joblog_close (j->joblog, NULL);
    /* Waited for: the caller may exit without closing the connection, and
     * the broker drops what it had not carried out when the socket
     * closes. */
    if (j->tasks_unclaimed)
        transport_delete_queue (j->t, j->task_queue, NULL);
    transport_destroy (j->renewer);
    handled_destroy (j->handled);
    transport_destroy (j->owned);
    free (j);
    errno = saved_errno;
}

/* The results queue lives as long as this launcher consumes it
 * (auto-delete): if the launcher dies, the queue goes, and slots notice that
 * their results come back or that it is gone.  Not an exclusive queue: a
 * slot's passive declare of another connection's exclusive queue fails with
 * a channel error (RESOURCE_LOCKED) that the broker logs at error level, and
 * every slot checks every 3 s.  But consumed exclusively: nobody else can
 * take results from it, and its consumer count is this launcher.
 * x-expires removes it should the launcher die between the declare and the
 * consume.  A durable job must outlive its consumer (a broker restart, a
 * launcher away), so its results queue is durable and not auto-delete: it
 * vanishes by x-expires, PROTOCOL_JOB_QUEUE_EXPIRES_MS after the last
 * declare (the slots let go of the job after PROTOCOL_LAUNCHER_GRACE_MS
 * without a consumer), or when the launcher deletes it.  Its messages are
 * acked after they are handled, so those the broker pushed to a connection
 * that died come back; a transient job cannot survive its connection, so
 * it consumes without acks (docs/protocol.md, "Results queue acks"). */
static int declare_results_queue (struct job *j, struct krun_error *errp)
{
    /* Acked deliveries are bounded: a round trip on this connection (see
     * job_run()) holds at most RESULTS_PREFETCH of them in memory.  Declared
     * and consumed in one round trip: a queue of this job's own name that
     * the broker refuses ends the job anyway. */
    if ((j->opts->durable && transport_qos (j->t, RESULTS_PREFETCH, 0, errp) < 0) ||
        transport_declare_consume (
            j->t, j->results_queue,
            j->opts->durable ? TRANSPORT_DURABLE : TRANSPORT_AUTO_DELETE,
            PROTOCOL_JOB_QUEUE_EXPIRES_MS, RESULTS_TAG, !j->opts->durable, true,
            errp) < 0)
        return -1;
    return 0;
}

struct job *job_create (struct transport *t, const struct job_options *opts,
                        struct krun_error *errp)
{
    struct job *j = calloc (1, sizeof (*j));

    if (!j) {
        errprintf_errno (errp, "cannot create a job");
        return NULL;
    }
    j->t = t;
    j->opts = opts;
    j->outstanding = -1;
    j->started_known = opts->durable || opts->progress;
    if (opts->durable && !(j->handled = handled_create ())) {
        errprintf_errno (errp, "cannot create a job");
        goto error;
    }
    if (opts->id)
        snprintf (j->id, sizeof (j->id), "%s", opts->id);
    else if (job_new_id (j->id, sizeof (j->id)) < 0) {
        errprintf_errno (errp, "cannot make a job id");
        goto error;
    }
    struct outputlines_sink sink = {write_stream, lost_stream, j};
    if (!(j->joins = joins_create ()) ||
        !(j->failures = failures_create (opts->size)) ||
        !(j->ranks = calloc (opts->size, sizeof (*j->ranks))) ||
        !(j->lines = outputlines_create (opts->size, opts->tag_output, LINE_HOLD_MAX,
                                         &sink))) {
        errprintf_errno (errp, "job %s: cannot allocate %d ranks", j->id, opts->size);
        goto error;
    }
    outputlines_set_terminal (j->lines, 1, isatty (1));
    outputlines_set_terminal (j->lines, 2, isatty (2));
    protocol_task_queue (j->id, j->task_queue, sizeof (j->task_queue));
    protocol_results_queue (j->id, j->results_queue, sizeof (j->results_queue));
    /* Both queues at once, on two channels, so that the broker makes them
     * side by side: the task queue's answer is read later, and the next
     * call that waits on the private channel (presence's passive declare,
     * else the transport_settle() of job_start()) reports its refusal.
     * Made before the workers are known: a job that does not run deletes
     * it (job_destroy()), else x-expires does. */
    if (declare_task_queue (j, j->t, true, errp) < 0)
        goto error;
    j->tasks_unclaimed = true;
    if (declare_results_queue (j, errp) < 0)
        goto error;
    return j;
error:
    job_destroy (j);
    return NULL;
}

/* --resume: the ranks that succeeded in the run of that joblog are done
 * already.  --joblog: opened for appending when it is the same file, so it
 * keeps the lines of the earlier run. */
static int open_joblog (struct job *j, struct krun_error *errp)
{
    const struct job_options *o = j->opts;

    if (o->resume) {
        struct joblog_history *h = joblog_read (o->resume, o->size, errp);
        if (!h)
            return -1;
        struct ranklist *changed = ranklist_create (o->size);
        for (int rank = 0; rank < o->size; rank++) {
            if (changed) {
                char *command = rank_command (j, rank);
                if (joblog_history_command_changed (h, rank, command))
                    ranklist_add (changed, rank);
                free (command);
            }
            if (!joblog_history_succeeded (h, rank))
                continue;
            j->ranks[rank].done = j->ranks[rank].resumed = true;
            j->done++;
            j->resumed++;
        }
        if (!joblog_history_found (h))
            fprintf (stderr, "krun: no joblog %s yet: every rank runs\n", o->resume);
        else
            fprintf (stderr,
                     "krun: resuming from %s: %d of %d ranks succeeded before\n",
                     o->resume, joblog_history_successes (h), o->size);
        /* A command file with a line added or removed shifts the ranks:
         * the joblog's successes may belong to other commands now. */
        if (changed && ranklist_count (changed) > 0) {
            char ranks[256];
            fprintf (stderr,
                     "krun: warning: the command of %d rank%s differs from the one in "
                     "%s (was the command file changed?): %s\n",
                     ranklist_count (changed), ranklist_count (changed) == 1 ? "" : "s",
                     o->resume, ranklist_format (changed, ranks, sizeof (ranks)));
        }
        ranklist_destroy (changed);
        joblog_history_destroy (h);
    }
    if (o->joblog) {
        bool same = o->resume && strcmp (o->resume, o->joblog) == 0;
        if (!(j->joblog = joblog_open (o->joblog, same, errp)))
            return -1;
    }
    return 0;
}

/* Tell the slots the job is over and remove its queues. */
static void job_finish (struct job *j, enum protocol_type how)
{
    struct krun_error error;
    int rc;

    /* The results queue goes with this consumer (auto-delete), unless the
     * job is durable.  After a complete run the task queue is empty and
     * expires anyway (x-expires): its deletion need not cost the user a
     * broker round trip, the slowest one (queue deletion) of a short run.  A
     * cancelled job's queue may still hold tasks: that deletion is waited
     * for. */
    if ((rc = publish_control (j, how, &error)) == 0)
        rc = how == PROTOCOL_END
                 ? transport_delete_queue_nowait (j->t, j->task_queue, &error)
                 : transport_delete_queue (j->t, j->task_queue, &error);
    if (rc == 0 && j->opts->durable)
        rc = transport_delete_queue (j->t, j->results_queue, &error);
    if (rc < 0)
        fprintf (stderr, "krun: job %s: cleaning up: %s\n", j->id, error.text);
}

/* The queues and binding of a running job, and its announcement, again on
 * a new connection.  Returns 0, or -1 with errp (errno ENOENT if a queue of
 * the job is gone: declaring it again would make an empty queue that no
 * slot serves, and the job would wait forever). */
static int rejoin (struct job *j, struct krun_error *errp)
{
    const char *queues[] = {j->results_queue, j->task_queue};

    for (int i = 0; i < 2; i++) {
        if (transport_queue_info (j->t, queues[i], NULL, NULL, errp) == 0)
            continue;
        if (errno == ENOENT)
            errprintf (errp,
                       "job %s: its queue %s is gone: the slots let go of a job whose "
                       "launcher is away from the broker for more than %d s, and "
                       "`krun down` deletes the queues of running jobs; %d of %d "
                       "ranks done",
                       j->id, queues[i], PROTOCOL_LAUNCHER_GRACE_MS / 1000, j->done,
                       j->opts->size);
        return -1;
    }
    if (declare_results_queue (j, errp) < 0 ||
        declare_task_queue (j, j->t, false, errp) < 0 ||
        transport_bind (j->t, j->results_queue, j->opts->pool->presence,
                        PROTOCOL_KEY_JOINED, errp) < 0)
        return -1;
    /* Slots that restarted meanwhile missed it; the others ignore it. */
    return publish_signed (j, j->opts->pool->control, "", "announce", 0,
                           SIGN_CONTROL_TTL_US, j->announce, j->announce_len, errp);
}

/* A durable job lost its broker connection (lost says why): connect again,
 * with a delay doubling from RECONNECT_FIRST_MS to RECONNECT_MAX_MS, for at
 * most RECONNECT_LIMIT_MS.  Returns 0 once the job is back, or -1 (also when
 * cancelled meanwhile). */
static int reconnect (struct job *j, const char *lost, struct krun_error *errp)
{
    int64_t give_up = clock_mono_ms () + RECONNECT_LIMIT_MS;
    int delay = RECONNECT_FIRST_MS;
    struct krun_error error = {{0}};

    fprintf (stderr, "krun: job %s: %s; reconnecting\n", j->id, lost);
    while (clock_mono_ms () < give_up) {
        if (j->opts->cancel && *j->opts->cancel)
            return errprintf (errp, "job %s: cancelled while reconnecting", j->id);
        usleep (delay * 1000);
        delay = delay * 2 < RECONNECT_MAX_MS ? delay * 2 : RECONNECT_MAX_MS;
        struct transport *t =
            transport_connect (j->opts->url, j->opts->cacert, 30, &error);
        if (!t)
            continue;
        transport_destroy (j->owned);
        j->owned = j->t = t;
        if (rejoin (j, &error) == 0) {
            j->reannounce = REANNOUNCE_AFTER_RECONNECT;
            fprintf (stderr, "krun: job %s: reconnected, %d of %d ranks done\n", j->id,
                     j->done, j->opts->size);
            return 0;
        }
        if (errno == ENOENT) {
            publish_control (j, PROTOCOL_CANCEL, NULL);
            progress_erase (j->opts->progress);
            return errprintf (errp, "%s", error.text);
        }
    }
    return errprintf (errp, "job %s: broker still unreachable after %d s: %s", j->id,
                      RECONNECT_LIMIT_MS / 1000, error.text);
}

/* A broker error in the job's loop: fatal unless the job is durable and can
 * connect again. */
static int recover (struct job *j, struct krun_error *errp)
{
    char lost[sizeof (errp->text)];

    if (!j->opts->durable || !j->opts->url)
        return -1;
    snprintf (lost, sizeof (lost), "%s", errp->text);
    return reconnect (j, lost, errp);
}

/* The job's queue (which: "task" or "results") is gone: `krun down`
 * deleted it, or someone by hand, or the task queue expired while this
 * launcher could not renew it.  No task or result can travel any more:
 * tell the slots to drop the job and fail.  Returns -1. */
static int queue_gone (struct job *j, const char *which, const char *queue,
                       struct krun_error *errp)
{
    publish_control (j, PROTOCOL_CANCEL, NULL);
    progress_erase (j->opts->progress);
    return errprintf (errp,
                      "job %s: its %s queue %s is gone (`krun down` deletes the "
                      "queues of running jobs); %d of %d ranks done",
                      j->id, which, queue, j->done, j->opts->size);
}

/* The connection the renewals use.  Not the job's own: while a round trip
 * on it waits for its answer, librabbitmq keeps in memory every delivery
 * the broker pushed before the answer, and results are consumed without
 * acks, so without a prefetch bound: under 24 ranks streaming output, krun
 * held up to 120 MB of them during one renewal.  Made at the first renewal
 * (a job shorter than PROTOCOL_JOB_QUEUE_RENEW_MS never needs it); the
 * job's own when it cannot be made. */
static struct transport *renewal_transport (struct job *j)
{
    if (!j->renewer && !j->renewer_failed && j->opts->url)
        j->renewer_failed =
            !(j->renewer = transport_connect (j->opts->url, j->opts->cacert, 0, NULL));
    return j->renewer ? j->renewer : j->t;
}

/* Renew the task queue's x-expires lease by declaring it again, unless it
 * is gone: declaring would make an empty queue that no task ever reaches
 * again, and the job would wait forever.  Returns 0, or -1 with errp (errno
 * ENOENT when the queue is gone). */
static int renew_task_queue (struct job *j, struct krun_error *errp)
{
    struct transport *t = renewal_transport (j);
    int rc = transport_queue_info (t, j->task_queue, NULL, NULL, errp);

    if (rc < 0 && errno != ENOENT && t != j->t) {
        /* That connection broke: the job's own says whether the broker is
         * gone; the next renewal makes a new one. */
        transport_destroy (j->renewer);
        j->renewer = NULL;
        t = j->t;
        rc = transport_queue_info (t, j->task_queue, NULL, NULL, errp);
    }
    if (rc < 0) {
        if (errno != ENOENT)
            return -1;
        queue_gone (j, "task", j->task_queue, errp);
        errno = ENOENT;
        return -1;
    }
    return declare_task_queue (j, t, false, errp);
}

/* The status line shows the busy slots of each node taking part. */
static int progress_nodes (struct job *j)
{
    int nnodes;
    struct protocol_node *nodes = announce_nodes (j, &nnodes);
    int rc = nodes ? 0 : -1;

    for (int i = 0; nodes && i < nnodes; i++) {
        if (rc == 0 && nodes[i].nused > 0 &&
            progress_add_node (j->opts->progress, nodes[i].name, nodes[i].nused) < 0)
            rc = -1;
        free (nodes[i].used);
    }
    free (nodes);
    return rc;
}

static bool node_usable (const char *name, void *joins)
{
    return joins_usable (joins, name);
}

/* The map without the nodes that refused the job or were dropped: the job
 * is announced again on it, and the slots that take part now and did not
 * before join.  Returns 0, or -1 with errp (with every node's reason) when
 * no node is left; the job is then cancelled. */
static int remap (struct job *j, struct krun_error *errp)
{
    struct cpumap *m = cpumap_filter (j->map, node_usable, j->joins, errp);
    char reasons[sizeof (errp->text)];

    if (!m)
        return -1;
    if (cpumap_slot_count (m) == 0) {
        cpumap_destroy (m);
        publish_control (j, PROTOCOL_CANCEL, NULL);
        progress_erase (j->opts->progress);
        return errprintf (errp,
                          "job %s: no node left to run it (%s); %d of %d ranks done",
                          j->id, joins_reasons (j->joins, reasons, sizeof (reasons)),
                          j->done, j->opts->size);
    }
    j->map = m;
    cpumap_destroy (j->remap);
    j->remap = m;
    free (j->announce);
    j->announce = NULL;
    if (encode_announce (j, errp) < 0 ||
        publish_signed (j, j->opts->pool->control, "", "announce", 0,
                        SIGN_CONTROL_TTL_US, j->announce, j->announce_len, errp) < 0)
        return -1;
    fprintf (stderr, "krun: job %s: announced again on %d node%s (%d slots)\n", j->id,
             cpumap_node_count (m), cpumap_node_count (m) == 1 ? "" : "s",
             cpumap_slot_count (m));
    return expect_joins (j, errp);
}

/* How often the launcher looks for nodes past their bound to answer. */
#define JOINS_CHECK_MS 100

/* Drop the nodes that neither confirmed nor refused in time; announce the
 * job again without them and those that refused.  Returns 0, or -1 with
 * errp. */
static int check_joins (struct job *j, struct krun_error *errp)
{
    const char **dropped = NULL;
    int64_t now = clock_mono_ms ();
    bool lost = false;

    /* Not for every message: a job may get thousands a second. */
    if (!j->refused_node && now < j->joins_at_ms)
        return 0;
    j->refused_node = false;
    j->joins_at_ms = now + JOINS_CHECK_MS;
    int n = joins_expire (j->joins, now, &dropped);

    for (int i = 0; i < n; i++) {
        progress_erase (j->opts->progress);
        fprintf (stderr,
                 "krun: warning: job %s: node %s neither confirmed nor refused the job "
                 "within %.1f s; dropped from the map\n",
                 j->id, dropped[i], join_bound (j, dropped[i]) / 1000.0);
    }
    for (int i = 0; i < cpumap_node_count (j->map) && !lost; i++)
        lost = !joins_usable (j->joins, cpumap_node_name (j->map, i));
    return lost ? remap (j, errp) : 0;
}

/* How often the launcher looks at its task queue's consumers. */
#define STALL_CHECK_MS 1000

/* How long the stall check waits for the pool's presence answers. */
#define STALL_PRESENCE_MS 2000

/* Whether a node of the job's map answers presence with busy slots: asked
 * on the renewals' connection, which consumes nothing else (on the job's
 * own, the query would drop the results it consumes meanwhile). */
static bool slots_busy_elsewhere (struct job *j)
{
    struct transport *t = renewal_transport (j);
    struct presence *p;
    bool busy = false;

    if (t == j->t || !(p = presence_query (t, j->opts->pool, j->opts->key, NULL,
                                           STALL_PRESENCE_MS, NULL)))
        return false;
    for (int i = 0; i < cpumap_node_count (j->map) && !busy; i++) {
        const struct presence_node *n = presence_find (p, cpumap_node_name (j->map, i));
        busy = n && n->busy > 0;
    }
    presence_destroy (p);
    return busy;
}

/* Tasks queued and no slot consuming them: say so after stall_timeout_ms,
 * naming the nodes, and fail unless --wait.  Not while a node may still
 * join (its own bound applies).  Returns 0, or -1 with errp. */
static int check_stall (struct job *j, struct krun_error *errp)
{
    unsigned messages = 0, consumers = 0;
    int64_t now = clock_mono_ms ();
    bool pending = false;
    char nodes[512];
    size_t used = 0;

    if (now < j->check_at_ms)
        return 0;
    j->check_at_ms = now + STALL_CHECK_MS;
    for (int i = 0; i < cpumap_node_count (j->map); i++)
        pending |=
            joins_state (j->joins, cpumap_node_name (j->map, i)) == JOINS_PENDING;
    /* A queue that is gone is the renewal's business.  Asked on the
     * renewals' connection: a round trip on the job's own would make
     * librabbitmq hold every result the broker pushed before its answer
     * (krun reached 1.9 GB under 24 ranks streaming output, in a slow
     * sanitizer build on a loaded machine). */
    if (pending ||
        transport_queue_info (renewal_transport (j), j->task_queue, &messages,
                              &consumers, NULL) < 0 ||
        messages == 0 || consumers > 0) {
        j->stalled_since_ms = 0;
        j->stall_said = false;
        return 0;
    }
    if (!j->stalled_since_ms)
        j->stalled_since_ms = now;
    if (now - j->stalled_since_ms < j->opts->stall_timeout_ms || j->stall_said)
        return 0;
    /* Slots that run other jobs' tasks are alive and come to this job when
     * they are free (a second krun beside a long first one): that is a
     * queue, not a stall.  Said once; looked at again after another bound. */
    if (slots_busy_elsewhere (j)) {
        if (!j->busy_said) {
            progress_erase (j->opts->progress);
            fprintf (stderr,
                     "krun: job %s: %u tasks queued; the job's slots are busy with "
                     "other work, waiting for them\n",
                     j->id, messages);
        }
        j->busy_said = true;
        j->stalled_since_ms = now;
        return 0;
    }
    nodes[0] = '\0';
    for (int i = 0; i < cpumap_node_count (j->map) && used < sizeof (nodes); i++) {
        const char *name = cpumap_node_name (j->map, i);
        static const char *const states[] = {
            [JOINS_UNKNOWN] = "no slot in the job",
            [JOINS_PENDING] = "pending",
            [JOINS_CONFIRMED] = "confirmed",
            [JOINS_REFUSED] = "refused",
            [JOINS_DROPPED] = "dropped",
        };
        int w = snprintf (nodes + used, sizeof (nodes) - used, "%s%s (%s)",
                          used ? ", " : "", name, states[joins_state (j->joins, name)]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    progress_erase (j->opts->progress);
    fprintf (stderr,
             "krun: job %s: %u tasks queued, no slot consuming for %d s; nodes %s%s\n",
             j->id, messages, j->opts->stall_timeout_ms / 1000, nodes,
             j->opts->wait ? " (waiting: --wait)" : "");
    j->stall_said = true;
    if (j->opts->wait)
        return 0;
    publish_control (j, PROTOCOL_CANCEL, NULL);
    return errprintf (errp,
                      "job %s: cancelled: %u tasks queued with no slot consuming them "
                      "(krun --wait waits); %d of %d ranks done",
                      j->id, messages, j->done, j->opts->size);
}

/* Whether every node of the job's map answered presence saying that its
 * slots run task messages of several ranks. */
static bool daemons_batch (const struct job *j)
{
    if (!j->presence)
        return false;
    for (int i = 0; i < cpumap_node_count (j->map); i++) {
        const struct presence_node *n =
            presence_find (j->presence, cpumap_node_name (j->map, i));
        if (!n || !n->batches)
            return false;
    }
    return true;
}

/* Ranks per task message (batchsize.h). */
static int choose_batch (const struct job *j)
{
    const struct job_options *o = j->opts;
    struct batchsize_facts f = {
        .requested = o->batch,
        .size = o->size,
        .slots =
            cpumap_slot_count (j->map) / (o->cpus_per_rank > 1 ? o->cpus_per_rank : 1),
        .per_rank_data = o->inputs || o->commands,
        .limited = o->max_running > 0 || o->halt.when != HALT_NEVER,
        .daemons_batch = daemons_batch (j),
    };
    return batchsize_choose (&f);
}

/* Before the loop: the queues and exchanges, the tasks published, the
 * provider told.  Returns 0 or -1 (the caller deletes the task queue). */
static int job_start (struct job *j, struct krun_error *errp)
{
    const struct job_options *opts = j->opts;
    const struct presence *p = j->presence;

    /* On a cold start (Kubernetes: the pods come after the tasks) no daemon
     * has declared the control exchange yet; declaring is idempotent.  (The
     * presence exchange, which the joined binding below needs, was
     * declared by presence_ask() before the job was created.) */
    if ((!p || presence_count (p) == 0) &&
        transport_declare_exchange (j->t, j->opts->pool->control, "fanout", 0, errp) <
            0)
        return -1;
    /* The task queue's declaration (job_create()) is answered, so no task
     * goes to a queue the broker has not made: presence's passive declare
     * made sure already, unless this is a cold start. */
    if (transport_settle (j->t, errp) < 0)
        return -1;
    /* Slots that start from now on say "joined" and get the announcement.
     * Its answer comes while the tasks are confirmed: publish_tasks()
     * settles it before the announcement goes out. */
    if (transport_bind_defer (j->t, j->results_queue, j->opts->pool->presence,
                              PROTOCOL_KEY_JOINED, errp) < 0)
        return -1;
    if (opts->report_bindings)
        report_map (j);
    if (opts->progress && progress_nodes (j) < 0)
        return errprintf_errno (errp, "job %s: status line", j->id);
    j->batch = choose_batch (j);
    if (publish_tasks (j, errp) < 0)
        return -1;
    if (opts->on_published && opts->on_published (opts->on_published_arg, p, errp) < 0)
        return -1;
    return 0;
}

/* Every rank is done: the summary lines and the exit status. */
static int job_end (struct job *j, struct krun_error *errp)
{
    const struct job_options *opts = j->opts;

    outputlines_end_terminal (j->lines);
    if (opts->progress)
        progress_finish (opts->progress, clock_mono_ms ());
    job_finish (j, j->halt == HALT_NOW ? PROTOCOL_CANCEL : PROTOCOL_END);
    if (j->stdout_closed)
        return 128 + SIGPIPE;
    /* parallel: a run halted by success=N succeeded. */
    if (j->halt != HALT_NEVER && opts->halt.why == HALT_SUCCESS)
        j->exit_status = 0;
    if (j->reruns > 0)
        fprintf (stderr, "krun: %d ranks were rerun after a failure of their slot\n",
                 j->reruns);
    if (j->retried > 0)
        fprintf (stderr, "krun: %d retries (--retries) of ranks that ended non-zero\n",
                 j->retried);
    if (opts->timeline && write_timeline (j, errp) < 0)
        fprintf (stderr, "krun: %s\n", errp ? errp->text : "cannot write timeline");
    report_failures (j);
    /* Output or results lost: never a success, whatever the ranks said. */
    if (report_lost (j))
        j->exit_status = exitstatus_fold (j->exit_status, EXITSTATUS_WRITE_FAILED);
    return j->exit_status;
}

int job_run (struct job *j, const struct cpumap *map, const struct presence *p,
             struct krun_error *errp)
{
    const struct job_options *opts = j->opts;
    struct transport_message m;
    bool halted = false;
    int rc;

    j->map = map;
    j->presence = p;
    /* From here on every way out of job_run() deletes the task queue. */
    j->tasks_unclaimed = false;
    if (open_joblog (j, errp) < 0 || encode_announce (j, errp) < 0 ||
        job_start (j, errp) < 0)
        goto error;
    int64_t renew_at = clock_mono_ms () + PROTOCOL_JOB_QUEUE_RENEW_MS;
    while (j->done < opts->size) {
        if (clock_mono_ms () >= renew_at) {
            if (renew_task_queue (j, errp) < 0 &&
                (errno == ENOENT || recover (j, errp) < 0))
                goto error;
            /* A round trip on the job's own connection (the renewals use
             * another): the broker has the acks sent on it before. */
            if (j->handled &&
                transport_queue_info (j->t, j->results_queue, NULL, NULL, NULL) == 0)
                handled_rotate (j->handled);
            if (j->reannounce > 0) {
                j->reannounce--;
                if (publish_signed (j, j->opts->pool->control, "", "announce", 0,
                                    SIGN_CONTROL_TTL_US, j->announce, j->announce_len,
                                    errp) < 0 &&
                    recover (j, errp) < 0)
                    goto error;
            }
            renew_at = clock_mono_ms () + PROTOCOL_JOB_QUEUE_RENEW_MS;
        }
        if (check_joins (j, errp) < 0 || check_stall (j, errp) < 0)
            goto error;
        if (j->stdout_closed) {
            job_finish (j, PROTOCOL_CANCEL);
            progress_erase (opts->progress);
            return 128 + SIGPIPE;
        }
        if (j->halt != HALT_NEVER && !halted) {
            halted = true;
            if (halt_job (j, errp) < 0)
                goto error;
        }
        if (j->halt == HALT_NOW || (j->halt == HALT_SOON && j->outstanding == 0))
            break;
        if (opts->cancel && *opts->cancel) {
            job_finish (j, PROTOCOL_CANCEL);
            progress_erase (opts->progress);
            outputlines_end_terminal (j->lines);
            fprintf (stderr, "krun: job %s cancelled, %d of %d ranks done\n", j->id,
                     j->done, opts->size);
            report_lost (j);
            return 128 + *opts->cancel;
        }
        if ((rc = transport_next (j->t, 200, &m, errp)) < 0) {
            if (recover (j, errp) < 0)
                goto error;
            continue;
        }
        /* Acked once handled (written, folded), so that a result is not lost
         * with a connection that dies meanwhile (durable jobs only: see
         * declare_results_queue()). */
        if (rc == TRANSPORT_DELIVERY && strcmp (m.consumer_tag, RESULTS_TAG) == 0) {
            uint64_t tag = m.delivery_tag;
            if (handle_delivery (j, &m, errp) < 0 ||
                (j->opts->durable && transport_ack (j->t, tag, errp) < 0)) {
                if (recover (j, errp) < 0)
                    goto error;
            }
        }
        /* The broker cancels the consumer of a queue that is deleted. */
        if (rc == TRANSPORT_CANCELLED && strcmp (m.consumer_tag, RESULTS_TAG) == 0) {
            queue_gone (j, "results", j->results_queue, errp);
            goto error;
        }
        /* -j: the next ranks as the running ones end. */
        if (opts->max_running > 0 && top_up (j, errp) < 0 && recover (j, errp) < 0)
            goto error;
        /* Not over a line left open on the terminal (outputlines.h); one
         * going to a pipe or file is no obstacle. */
        if (opts->progress && !outputlines_terminal_midline (j->lines))
            progress_draw (opts->progress, clock_mono_ms (), false);
    }
    return job_end (j, errp);
error:
    transport_delete_queue (j->t, j->task_queue, NULL);
    report_lost (j);
    return -1;
}
