/* slot.c - the slot process's event loop.  See slot.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "disposition.h"
#include "heldresults.h"
#include "log.h"
#include "protocol.h"
#include "rankdata.h"
#include "reaper.h"
#include "relay.h"
#include "replay.h"
#include "scratch.h"
#include "sealed.h"
#include "sign.h"
#include "slot.h"
#include "stage.h"
#include "task.h"
#include "taskenv.h"
#include "taskoutput.h"
#include "taskchannel.h"
#include "transport.h"
#include "userdir.h"

#define JOB_TAG_PREFIX "job."
#define JOINED_TAG "joined"
/* RabbitMQ's direct reply-to pseudo-queue: answers to this slot's "joined"
 * come straight to its connection, with no queue to create. */
#define DIRECT_REPLY_TO "amq.rabbitmq.reply-to"
/* How long a cancelled task has between SIGTERM and SIGKILL. */
#define KILL_GRACE_MS 2000
/* How often a slot checks that the launchers of its jobs are still there. */
#define LEASE_CHECK_MS 3000
/* At most one progress message per task in this time. */
#define PROGRESS_INTERVAL_MS 200
/* How long a slot waits for the strays of a task to die after SIGKILL
 * before it logs them and goes on (only a process stuck in the kernel, in
 * state D, takes longer; it is killed again after the next task). */
#define STRAY_KILL_MS 1000
/* A slot kept busy by its task's output still reads the broker at least
 * this often, even when poll() does not report it (see wait_for_events()). */
#define EVENTS_CHECK_MS 1000
/* How long a slot waits for the broker to confirm a copy of a task (put
 * back, or handed to the launcher) before it gives the original back. */
#define COPY_CONFIRM_MS 30000
/* A message of several ranks that has run split_after_ms (krund's
 * KRUN_SPLIT_AFTER_MS, 100 by default) puts its ranks not started yet back
 * in the queue (split_message()): batching is for short tasks, and long
 * ones must not wait behind each other on one slot while other slots are
 * idle. */

/* A job this slot has heard of and takes part in. */
struct slot_job {
    char *id;
    struct protocol_msg announce; /* owns path, argv, env, cwd... */
    int global_slot;
    char tag[160];   /* consumer tag on the task queue */
    char queue[160]; /* the task queue */
    int64_t lease_checked_ms;
    int64_t orphaned_ms; /* since when its results queue has no consumer (0: it has) */
    bool consuming;      /* false while paused: see bounce_task() */
    struct taskenv *env; /* the tasks' environment, built once per job */
    char *scratch;       /* where the rank's input file goes, if the job has inputs */
    char *scratch_error; /* why there is none although the job has inputs */
    char *stage_cache;   /* the node's cache of staged files (stage.h), or NULL */
    char *staged_dir;    /* the job's --stage files, or NULL if it has none */
    char *program;       /* the staged program in the cache, once fetched */
    bool staged_ready;   /* program and files are in the cache */
    struct inherit inherit; /* the launcher's umask, nice, limits (inherit.h) */
    struct slot_job *next;
};

/* The task being run, if any, and the task message it came in: the ranks
 * rank .. end_rank - 1 of a message of several (its count) run one after the
 * other, and the message is settled after the last. */
struct running {
    struct task *task;
    struct slot_job *job;
    uint64_t delivery_tag;
    int rank;
    int next_rank; /* the message's next rank to start */
    int end_rank;  /* one past its last rank */
    bool batched;  /* it has several ranks: their results are held (heldresults.h) */
    int64_t message_start_ms; /* when its first rank started */
    int attempt;
    int64_t start_us;
    int64_t kill_at_ms;          /* SIGKILL at this time (0 = not being killed) */
    bool drop;                   /* cancelled or launcher gone: no result, no requeue */
    bool give_back;              /* stopping: requeue the task */
    int64_t timeout_at_ms;       /* the job's per-task time limit ends (0 = none) */
    bool timed_out;              /* killed for running past it */
    struct taskoutput *output;   /* its stdout and stderr, by lines, within the limit */
    struct taskchannel *channel; /* result and progress from libkrun */
    bool progress_pending;       /* a progress update waits for its interval */
    double progress;
    int64_t progress_sent_ms;
};

struct slot {
    const struct slot_config *cfg;
    struct transport *t;
    struct relay_reader *control; /* control messages relayed by the daemon */
    struct slot_job *jobs;
    struct running run;
    bool busy;
    struct heldresults *held;  /* results of a message of several ranks */
    struct slot_job *held_job; /* whose they are */
    unsigned long rejected;    /* malformed messages seen */
    unsigned long refused;     /* unsigned, badly signed, expired or replayed */
    struct replay *seen;       /* jobs announced to this slot */
    char *dir;                 /* the slot's private directory (userdir.h) or NULL */
    char dir_error[320];       /* why there is none */
    char *scratch;             /* the tasks' scratch directory, made by the first */
    int64_t stop_deadline_ms;  /* when a stopping slot gives its task back */
    /* The scratch directory held open to be emptied (scratch.h), or NULL. */
    struct scratch_dir *scratch_dir;
    /* What the last poll() saw ready (wait_for_events()): a turn woken by
     * the task alone reads neither the broker nor the daemon's pipe, and a
     * task is reaped only once its pidfd says it has exited. */
    bool broker_ready, control_ready, exit_ready;
    int64_t events_checked_ms; /* when handle_events() last ran */
};

static volatile sig_atomic_t stop_requested;
/* The daemon died (SIGHUP, the slot's parent-death signal). */
static volatile sig_atomic_t daemon_gone;

static void on_stop_signal (int sig)
{
    stop_requested = 1;
}

static void on_daemon_death (int sig)
{
    daemon_gone = 1;
}

/* Kill what the last task left behind: its process group is gone
 * (task_destroy()), but a grandchild that called setsid() or was started
 * in another group was re-parented to this slot, its subreaper, when its
 * parent exited.  Between tasks every child of the slot is such a stray. */
static void kill_strays (int rank)
{
    int left = reaper_clear (STRAY_KILL_MS);

    if (left > 0)
        log_msg ("rank %d: %d processes left by the task survive SIGKILL", rank, left);
    else if (left < 0)
        log_msg ("rank %d: cannot list the processes the task left: %s", rank,
                 strerror (errno));
}

/* Tell the daemon, through the block it shares with its slots. */
static void notify_daemon (struct slot *s, bool busy)
{
    slotstate_set_busy (s->cfg->state, s->cfg->local, busy);
}

static struct slot_job *find_job (struct slot *s, const char *id)
{
    for (struct slot_job *j = s->jobs; j; j = j->next)
        if (strcmp (j->id, id) == 0)
            return j;
    return NULL;
}

static void free_job (struct slot_job *j)
{
    if (j) {
        rankdata_scratch_remove (j->scratch);
        free (j->scratch);
        free (j->scratch_error);
        free (j->stage_cache);
        free (j->staged_dir);
        free (j->program);
        taskenv_destroy (j->env);
        free (j->id);
        protocol_msg_clear (&j->announce);
        free (j);
    }
}

/* Stop consuming job j's tasks and forget it. */
static void forget_job (struct slot *s, struct slot_job *j, bool cancel_consumer)
{
    struct krun_error error;
    struct slot_job **pp;

    if (cancel_consumer && j->consuming && transport_cancel (s->t, j->tag, &error) < 0)
        log_msg ("job %s: %s", j->id, error.text);
    if (s->busy && s->run.job == j)
        s->run.job = NULL;
    if (s->held_job == j) {
        heldresults_clear (s->held);
        s->held_job = NULL;
    }
    for (pp = &s->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    free_job (j);
}

/* Which global slot this slot is in the announced job, or -1 if it does not
 * take part. */
static int announce_global_slot (const struct slot *s,
                                 const struct protocol_announce *a)
{
    for (int i = 0; i < a->nnodes; i++) {
        const struct protocol_node *n = &a->nodes[i];
        if (strcmp (n->name, s->cfg->node) != 0)
            continue;
        for (int k = 0; k < n->nused; k++)
            if (n->used[k] == s->cfg->local)
                return n->first_slot + s->cfg->local;
        return -1;
    }
    return -1;
}

/* Check the seal of a message a worker acts on (see sign.h).  Returns 0
 * and the protocol body in *body (borrowed from the key until its next
 * sign_open()), or -1 after logging and counting the refusal: then nothing
 * of m may be acted on. */
static int verify (struct slot *s, const char *queue, const void *sealed,
                   size_t sealed_len, const char **body, size_t *len,
                   int64_t *expires_us)
{
    struct krun_error error;

    if (sign_open (s->cfg->key, sealed, sealed_len, clock_wall_us (), body, len,
                   expires_us, &error) == 0)
        return 0;
    s->refused++;
    log_msg ("%s: rejected message: %s (%lu refused so far)", queue, error.text,
             s->refused);
    return -1;
}

/* A job id is announced for one run: an announcement of a job this slot has
 * already let go of is a replay of a captured message.  Returns true if msg
 * may be acted on. */
static bool announce_is_new (struct slot *s, const struct protocol_msg *msg,
                             int64_t expires_us)
{
    int seen = replay_check (s->seen, msg->job, expires_us, clock_wall_us ());

    if (seen > 0) {
        s->refused++;
        /* Also a late copy of a real announcement: the daemon relays its
         * answers to a starting slot's "joined" to every slot of the node.
         * Either way nothing of it is run. */
        log_msg (
            "control queue: rejected message: announcement of job %s, which "
            "this slot already let go of (replayed or late copy; %lu refused so "
            "far)",
            msg->job, s->refused);
    } else if (seen < 0)
        log_msg ("job %s: out of memory", msg->job);
    return seen == 0;
}

/* krun -c N: a rank gets the cores of this slot and the next N-1 of the
 * node (the launcher gives the job only every Nth slot); --bind-to none:
 * every allowed CPU of the node.  Otherwise the task keeps the slot's
 * binding. */
static void job_cpus (const struct slot *s, struct slot_job *j)
{
    const struct protocol_announce *a = &j->announce.announce;
    const struct slot_config *c = s->cfg;
    struct krun_error error;
    char list[4096];
    size_t len = 0;

    if (!c->topology || c->ncores < 1 || (!a->bind_none && a->cpus_per_rank <= 1))
        return;
    if (a->bind_none && topology_allowed_cpus (c->topology, list, sizeof (list)) < 0)
        return;
    for (int k = 0; !a->bind_none && k < a->cpus_per_rank && c->local + k < c->nslots;
         k++) {
        char one[256];
        if (topology_core_cpus (c->topology, (c->local + k) % c->ncores, one,
                                sizeof (one)) < 0 ||
            len + strlen (one) + 2 > sizeof (list))
            break;
        len += snprintf (list + len, sizeof (list) - len, "%s%s", len ? "," : "", one);
    }
    const char *lists[] = {list};
    if (inherit_set_cpus (&j->inherit, lists, 1, &error) < 0)
        log_msg ("job %s: %s", j->id, error.text);
}

/* The job's tasks' environment (taskenv.h), once its scratch and staged
 * directories are known.  Returns 0 or -1 with ENOMEM. */
static int make_environment (const struct slot *s, struct slot_job *j)
{
    const struct protocol_announce *a = &j->announce.announce;
    const struct taskenv_job job = {.job_id = j->id,
                                    .size = a->size,
                                    .node = s->cfg->node,
                                    .local = s->cfg->local,
                                    .global_slot = j->global_slot,
                                    .env = a->env,
                                    .envc = a->envc,
                                    .input_dir = j->scratch,
                                    .staged_dir = j->staged_dir,
                                    .exact = a->env_exact};
    struct krun_error error;

    inherit_none (&j->inherit);
    if (a->has_umask)
        j->inherit.umask = a->umask;
    if (a->has_nice)
        j->inherit.nice = a->nice;
    /* A limit this worker does not know is logged; the others apply. */
    if (inherit_limits_parse (a->limits, a->nlimits, &j->inherit, &error) < 0)
        log_msg ("job %s: %s", j->id, error.text);
    /* A task starts with this slot's values, which it never changes: set in
     * the child only those that differ. */
    inherit_drop_unchanged (&j->inherit);
    job_cpus (s, j);
    return (j->env = taskenv_create (&job)) ? 0 : -1;
}

static void handle_announce (struct slot *s, struct protocol_msg *msg,
                             int64_t expires_us)
{
    struct krun_error error;
    struct slot_job *j;
    int global_slot;

    if (stop_requested || find_job (s, msg->job))
        return; /* a repeated announcement (answer to a "joined") */
    /* Not noted when the slot does not take part: the launcher may announce
     * the job again with a map that includes it (a node was dropped). */
    if ((global_slot = announce_global_slot (s, &msg->announce)) < 0)
        return;
    if (!announce_is_new (s, msg, expires_us))
        return;
    if (!(j = calloc (1, sizeof (*j))) || !(j->id = strdup (msg->job))) {
        log_msg ("job %s: out of memory", msg->job);
        free (j);
        return;
    }
    j->announce = *msg;
    memset (msg, 0, sizeof (*msg)); /* ownership moves to j */
    j->global_slot = global_slot;
    j->lease_checked_ms = clock_mono_ms ();
    /* Without a scratch directory the slot still takes the job's tasks and
     * fails them with the reason: ignoring the job would leave its launcher
     * waiting for slots that never come. */
    if (j->announce.announce.inputs &&
        !(j->scratch = rankdata_scratch_create (s->dir, j->id, &error))) {
        if (!s->dir)
            errprintf (&error, "job %s: no scratch directory: %s", j->id, s->dir_error);
        log_msg ("%s", error.text);
        j->scratch_error = strdup (error.text);
    }
    const struct protocol_announce *a = &j->announce.announce;
    /* Without krund's directory (s->cfg->base) the ranks fail, saying why
     * (fetch_staged()). */
    if (((a->program_sha256 || a->nstaged > 0) &&
         !(j->stage_cache = stage_dir (s->cfg->base)) && errno != ENOENT) ||
        (a->nstaged > 0 && j->stage_cache &&
         !(j->staged_dir = stage_files_dir (j->stage_cache, a->nstaged, a->staged_files,
                                            a->staged_sha256))) ||
        make_environment (s, j) < 0) {
        log_msg ("job %s: out of memory", j->id);
        free_job (j);
        return;
    }
    snprintf (j->tag, sizeof (j->tag), JOB_TAG_PREFIX "%s", j->id);
    protocol_task_queue (j->id, j->queue, sizeof (j->queue));
    if (transport_consume (s->t, j->queue, j->tag, false, &error) < 0) {
        /* The job may already be over and its queue deleted. */
        log_msg ("job %s: %s", j->id, error.text);
        free_job (j);
        return;
    }
    j->consuming = true;
    j->next = s->jobs;
    s->jobs = j;
}

static void kill_running (struct slot *s, int sig)
{
    if (!s->busy)
        return;
    task_kill (s->run.task, sig);
    if (sig == SIGTERM && s->run.kill_at_ms == 0)
        s->run.kill_at_ms = clock_mono_ms () + KILL_GRACE_MS;
}

/* A control message relayed by the daemon (relay_reader_read() callback). */
static void handle_control (void *arg, const char *sealed, size_t sealed_len)
{
    struct slot *s = arg;
    struct krun_error error;
    struct protocol_msg msg = {0};
    struct slot_job *j;
    const char *body;
    size_t len;
    int64_t expires_us;

    if (verify (s, "control queue", sealed, sealed_len, &body, &len, &expires_us) < 0)
        return;
    if (protocol_decode (body, len, &msg, &error) < 0) {
        s->rejected++;
        log_msg ("control queue: rejected message: %s", error.text);
        goto out;
    }
    switch (msg.type) {
        case PROTOCOL_ANNOUNCE:
            handle_announce (s, &msg, expires_us);
            break;
        case PROTOCOL_END:
            if ((j = find_job (s, msg.job)))
                forget_job (s, j, true);
            break;
        case PROTOCOL_CANCEL:
            if (!(j = find_job (s, msg.job)))
                break;
            if (s->busy && s->run.job == j) {
                s->run.drop = true;
                kill_running (s, SIGTERM);
            }
            forget_job (s, j, true);
            break;
        default:
            s->rejected++;
            log_msg ("control queue: unexpected %s message",
                     protocol_type_name (msg.type));
    }
out:
    protocol_msg_clear (&msg);
}

static int publish (struct slot *s, struct slot_job *j, const struct protocol_msg *msg)
{
    /* Sealed: nobody without the key can forge a rank's result.  Persistent:
     * a durable results queue keeps them over a broker restart (the task is
     * acked already); the flag costs nothing on the exclusive queue of a
     * transient job. */
    const struct sealed_dest dest = {
        .exchange = "",
        .routing_key = j->announce.announce.results_queue,
        .flags = TRANSPORT_MANDATORY | TRANSPORT_PERSISTENT,
        .ttl_us = SIGN_REPORT_TTL_US};
    struct krun_error error;

    if (sealed_publish (s->t, s->cfg->key, &dest, msg, &error) < 0) {
        log_msg ("job %s: %s", j->id, error.text);
        return -1;
    }
    return 0;
}

/* Publish the held results of a message of several ranks, in one
 * "results" message, and forget them. */
static void publish_held (struct slot *s)
{
    int n;
    struct protocol_result *items = heldresults_items (s->held, &n);
    struct protocol_msg msg = {.type = PROTOCOL_RESULTS};

    if (!items || !s->held_job)
        return;
    msg.job = s->held_job->id;
    msg.results.n = n;
    msg.results.items = items; /* still the holder's: msg is not cleared */
    publish (s, s->held_job, &msg);
    heldresults_clear (s->held);
    s->held_job = NULL;
}

/* Hold the result msg of a rank of a message of several ranks (see
 * heldresults.h).  Returns 0, or -1 if it could not be held: it is then
 * published alone. */
static int hold_result (struct slot *s, struct slot_job *j,
                        const struct protocol_result *res)
{
    if (s->held_job && s->held_job != j)
        publish_held (s);
    if (!heldresults_fits (s->held, res->data_len))
        publish_held (s);
    if (heldresults_add (s->held, res, clock_mono_ms ()) < 0)
        return -1;
    s->held_job = j;
    return 0;
}

static void publish_result (struct slot *s, struct slot_job *j, int rank, int attempt,
                            enum protocol_status status, int code, int64_t start_us,
                            const char *why, const char *data, size_t data_len)
{
    struct protocol_msg msg = {
        .type = PROTOCOL_RESULT,
        .job = j->id,
        .result =
            {
                .rank = rank,
                .attempt = attempt,
                .node_out = s->cfg->node,
                .slot = j->global_slot,
                .local = s->cfg->local,
                .core = s->cfg->core,
                .cpus_out = s->cfg->cpus,
                .status = status,
                .code = code,
                .start_us = start_us,
                .end_us = clock_wall_us (),
                .error_out = why,
                .data = data,
                .data_len = data_len,
            },
    };
    if (s->run.batched && hold_result (s, j, &msg.result) == 0)
        return;
    publish (s, j, &msg);
}

/* Send output of the running task (taskoutput_send_fn). */
static void send_output (void *arg, int stream, const char *data, size_t len)
{
    struct slot *s = arg;
    struct running *r = &s->run;
    struct protocol_msg msg = {.type = PROTOCOL_OUTPUT};

    msg.job = r->job->id;
    msg.output.rank = r->rank;
    msg.output.attempt = r->attempt;
    msg.output.stream = stream;
    msg.output.data = data;
    msg.output.len = len;
    publish (s, r->job, &msg);
}

/* Send the running task's buffered output of stream (see
 * taskoutput_forward()), while its job is known. */
static void forward_output (struct slot *s, int stream, bool flush)
{
    if (s->run.job)
        taskoutput_forward (s->run.output, stream, flush);
}

static void read_output (struct slot *s, int stream)
{
    struct running *r = &s->run;
    size_t room;
    ssize_t n;

    while (task_output_fd (r->task, stream) >= 0) {
        char *space = taskoutput_space (r->output, stream, &room);
        n = task_read (r->task, stream, space, room);
        if (n <= 0)
            break;
        taskoutput_append (r->output, stream, (size_t)n);
        forward_output (s, stream, false);
    }
}

/* Empty the tasks' scratch directory (after the task's process group is
 * gone: nothing writes there any more).  One that cannot be emptied is
 * removed as far as it goes and replaced at the next task. */
static void empty_scratch (struct slot *s)
{
    struct krun_error error;

    if (!s->scratch || (s->scratch_dir ? scratch_dir_empty (s->scratch_dir, &error)
                                       : scratch_empty (s->scratch, &error)) == 0)
        return;
    log_msg ("%s; making a new one", error.text);
    if (scratch_remove (s->scratch, &error) < 0)
        log_msg ("%s", error.text);
    free (s->scratch);
    s->scratch = NULL;
    scratch_dir_destroy (s->scratch_dir);
    s->scratch_dir = NULL;
}

/* Publish a copy of task m to queue (persistent; mandatory when it goes to
 * a launcher) and wait for the broker's confirmation: only then may the
 * original be acked.  Returns DISPOSITION_ACK, or DISPOSITION_REQUEUE after
 * logging what failed (the broker delivers the original again later). */
static enum disposition copy_task (struct slot *s, const char *queue, int flags,
                                   const struct transport_message *m, const char *what)
{
    struct krun_error error;

    if (transport_publish (s->t, "", queue, "task", NULL, flags | TRANSPORT_PERSISTENT,
                           m->body, m->len, &error) < 0 ||
        transport_wait_confirms (s->t, COPY_CONFIRM_MS, &error) < 0) {
        log_msg ("%s: %s", what, error.text);
        return DISPOSITION_REQUEUE;
    }
    return DISPOSITION_ACK;
}

/* A redelivered task may have run on a slot that died or gave it back, or
 * never have started: the broker marks every message it recovers after a
 * restart redelivered, and a slot may die holding a task it had not started.
 * Only the launcher knows which (the slot reports "started" before it runs a
 * task, see publish_started()), so the task goes to the launcher unchanged
 * (mandatory, persistent, confirmed before the original is acked), which
 * publishes it again with the attempt it has earned or fails the rank at
 * the delivery limit (docs/protocol.md, "Attempts"). */
static enum disposition hand_to_launcher (struct slot *s, struct slot_job *j,
                                          const struct transport_message *m, int rank)
{
    char what[200];

    snprintf (what, sizeof (what),
              "job %s rank %d: cannot hand a redelivered task to the launcher", j->id,
              rank);
    return copy_task (s, j->announce.announce.results_queue, TRANSPORT_MANDATORY, m,
                      what);
}

/* Prefetch is per consumer, so a slot that takes part in two jobs can be
 * handed a task of one while it runs a task of the other.  Put that task back
 * at the end of its queue unchanged (confirmed before the original is acked,
 * and without the redelivered flag a reject would set, which would count as
 * a failed attempt), and pause that job's consumer until this slot is idle,
 * so the task is not handed straight back. */
static enum disposition bounce_task (struct slot *s, struct slot_job *j,
                                     const struct transport_message *m)
{
    struct krun_error error;
    char what[200];
    enum disposition d;

    snprintf (what, sizeof (what), "job %s: cannot put a task back", j->id);
    d = copy_task (s, j->queue, 0, m, what);
    if (j->consuming && transport_cancel (s->t, j->tag, &error) < 0)
        log_msg ("job %s: %s", j->id, error.text);
    j->consuming = false;
    return d;
}

/* Consume again the jobs paused by bounce_task(). */
static void resume_jobs (struct slot *s)
{
    struct krun_error error;
    struct slot_job *j = s->jobs, *next;

    for (; j; j = next) {
        next = j->next;
        if (j->consuming)
            continue;
        if (transport_consume (s->t, j->queue, j->tag, false, &error) < 0) {
            log_msg ("job %s: %s", j->id, error.text);
            forget_job (s, j, false);
        } else
            j->consuming = true;
    }
}

static void publish_progress (struct slot *s, double fraction)
{
    struct running *r = &s->run;
    struct protocol_msg msg = {
        .type = PROTOCOL_PROGRESS,
        .job = r->job->id,
        .progress = {.rank = r->rank,
                     .attempt = r->attempt,
                     .node_out = s->cfg->node,
                     .fraction = fraction},
    };

    publish (s, r->job, &msg);
    r->progress_sent_ms = clock_mono_ms ();
    r->progress_pending = false;
}

/* The task is about to start: a launcher that shows progress counts it
 * running, and one that asked for progress records this attempt as started
 * before it runs, so that a redelivery of the task counts as a new attempt
 * only if this one started (handle_redelivery()).  Sent before the program
 * runs: a slot that dies between the two wastes no attempt it did not
 * report. */
static void publish_started (struct slot *s)
{
    struct running *r = &s->run;

    taskchannel_reset (r->channel);
    r->progress_pending = false;
    if (r->job->announce.announce.progress)
        publish_progress (s, 0);
}

/* Read the task's control channel; forward progress at most every
 * PROGRESS_INTERVAL_MS (the last value wins), when the launcher wants it. */
static void read_control (struct slot *s)
{
    struct running *r = &s->run;
    struct krun_error error;
    int fd = task_control_fd (r->task);
    double fraction;

    if (fd >= 0) {
        int rc = taskchannel_read (r->channel, fd, &error);
        if (rc < 0)
            log_msg ("job %s rank %d: %s", r->job ? r->job->id : "?", r->rank,
                     error.text);
        if (rc != 0)
            task_control_close (r->task);
    }
    if (taskchannel_take_progress (r->channel, &fraction)) {
        r->progress = fraction;
        r->progress_pending = true;
    }
    if (r->progress_pending && r->job && r->job->announce.announce.progress &&
        !r->drop && clock_mono_ms () - r->progress_sent_ms >= PROGRESS_INTERVAL_MS)
        publish_progress (s, r->progress);
}

static int exit_code_for_errno (int err)
{
    /* As a shell reports them: 127 not found, 126 found but not runnable. */
    return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

/* A staged program and the --stage files run from the node's cache: fetched
 * (or checked, stage.h) by the first task of the job that needs them, then
 * known to be there. */
static int fetch_staged (struct slot *s, struct slot_job *j, struct krun_error *errp)
{
    const struct protocol_announce *a = &j->announce.announce;
    struct krun_error note = {.text = ""};
    int rc = 0;

    if (j->staged_ready)
        return 0;
    if ((a->program_sha256 || a->nstaged > 0) && !j->stage_cache) {
        errno = ENOENT;
        return errprintf (errp, "no cache for staged files: %s", s->dir_error);
    }
    if (a->program_sha256 && !j->program &&
        !(j->program = stage_fetch (s->t, j->stage_cache, a->program_sha256, j->id,
                                    &note, errp)))
        rc = -1;
    if (rc == 0 && a->nstaged > 0 &&
        stage_fetch_files (s->t, j->stage_cache, j->staged_dir, a->nstaged,
                           a->staged_files, a->staged_sha256, j->id, &note, errp) < 0)
        rc = -1;
    if (note.text[0])
        log_msg ("job %s: %s", j->id, note.text);
    j->staged_ready = rc == 0;
    return rc;
}

/* Start rank task->rank of job j, of the message delivered as
 * delivery_tag, after writing its input.  Returns DISPOSITION_KEEP when it
 * runs (finish_task() goes on), DISPOSITION_ACK when it failed to start and
 * its result says why, or DISPOSITION_REQUEUE when the slot ran out of
 * memory. */
static enum disposition start_task (struct slot *s, struct slot_job *j,
                                    const struct protocol_task *task,
                                    uint64_t delivery_tag)
{
    const struct protocol_announce *a = &j->announce.announce;
    struct running *r = &s->run;
    struct krun_error error;
    enum disposition d = DISPOSITION_KEEP;
    char **argv =
        rankdata_argv (a->argv, a->argc, task->args, task->argc, task->rank, a->size,
                       a->inputs ? task->input : NULL, task->input_len);

    if (!argv && errno == EINVAL) {
        const char *why = "its input holds a NUL byte: it cannot replace {}";
        log_msg ("job %s rank %d: %s", j->id, task->rank, why);
        publish_result (s, j, task->rank, task->attempt, PROTOCOL_FAILED, 126,
                        clock_wall_us (), why, NULL, 0);
        return DISPOSITION_ACK;
    }
    if (!argv || taskenv_set_task (j->env, task->rank, task->attempt) < 0) {
        rankdata_argv_free (argv);
        return DISPOSITION_REQUEUE;
    }
    if (a->inputs &&
        (!j->scratch ||
         rankdata_write_input (j->scratch, task->input, task->input_len, &error) < 0)) {
        const char *why = j->scratch         ? error.text
                          : j->scratch_error ? j->scratch_error
                                             : "no scratch directory for the input";
        log_msg ("job %s rank %d: %s", j->id, task->rank, why);
        publish_result (s, j, task->rank, task->attempt, PROTOCOL_FAILED, 126,
                        clock_wall_us (), why, NULL, 0);
        rankdata_argv_free (argv);
        return DISPOSITION_ACK;
    }
    taskoutput_reset (r->output, task->rank, (size_t)a->output_limit);
    r->job = j;
    r->delivery_tag = delivery_tag;
    r->rank = task->rank;
    r->attempt = task->attempt;
    r->kill_at_ms = 0;
    r->drop = r->give_back = r->timed_out = false;
    r->timeout_at_ms = a->timeout_ms > 0 ? clock_mono_ms () + a->timeout_ms : 0;
    r->start_us = clock_wall_us ();
    if (!s->scratch && s->dir &&
        !(s->scratch = scratch_create (s->dir, USERDIR_SCRATCH, &error)))
        log_msg ("rank %d: %s", r->rank, error.text);
    /* Held open, it is emptied in fewer system calls (scratch.h); without,
     * empty_scratch() opens it each time. */
    if (s->scratch && !s->scratch_dir &&
        !(s->scratch_dir = scratch_dir_open (s->scratch, &error)))
        log_msg ("rank %d: %s", r->rank, error.text);
    if (taskenv_set_scratch (j->env, s->scratch) < 0) {
        r->job = NULL;
        rankdata_argv_free (argv);
        return DISPOSITION_REQUEUE;
    }
    publish_started (s);
    r->task = NULL;
    if (fetch_staged (s, j, &error) == 0)
        r->task =
            task_start (j->program ? j->program : a->path, argv, taskenv_get (j->env),
                        a->staged_cwd && j->staged_dir ? j->staged_dir : a->cwd,
                        &j->inherit, &error);
    if (!r->task) {
        publish_result (s, j, r->rank, r->attempt, PROTOCOL_FAILED,
                        exit_code_for_errno (errno), r->start_us, error.text, NULL, 0);
        d = DISPOSITION_ACK;
    } else if (!s->busy) {
        s->busy = true;
        notify_daemon (s, true);
    }
    rankdata_argv_free (argv);
    return d;
}

/* The message's ranks are over (d: how it is settled): its held results go
 * out first, unless it is dropped (cancelled, or its launcher is gone). */
static void end_message (struct slot *s, enum disposition d)
{
    if (d == DISPOSITION_DROP) {
        heldresults_clear (s->held);
        s->held_job = NULL;
    } else
        publish_held (s);
    s->run.batched = false;
}

/* Start the message's next ranks until one runs (a rank that cannot start
 * has its result): the first of a new message is task, which may carry
 * input and arguments (a message of several ranks has neither).  Returns
 * DISPOSITION_KEEP when a rank runs; otherwise the message is over and is
 * to be settled as returned. */
static enum disposition start_ranks (struct slot *s, struct slot_job *j,
                                     const struct protocol_task *task,
                                     uint64_t delivery_tag)
{
    struct running *r = &s->run;
    struct protocol_task next = *task;
    enum disposition d;

    do {
        next.rank = r->next_rank++;
        d = start_task (s, j, &next, delivery_tag);
    } while (d == DISPOSITION_ACK && r->next_rank < r->end_rank);
    if (d != DISPOSITION_KEEP)
        end_message (s, d);
    return d;
}

/* Check and decode task m of job j into msg.  Returns 0, or -1 after
 * logging and counting a refusal; *authentic says whether the seal held. */
static int read_task (struct slot *s, struct slot_job *j,
                      const struct transport_message *m, struct protocol_msg *msg,
                      bool *authentic)
{
    struct krun_error error = {.text = "wrong job or rank"};
    char where[sizeof (j->queue) + 8];
    const char *body;
    size_t len;

    snprintf (where, sizeof (where), "queue %s", j->queue);
    *authentic = verify (s, where, m->body, m->len, &body, &len, NULL) == 0;
    if (!*authentic)
        return -1;
    if (protocol_decode (body, len, msg, &error) < 0 || msg->type != PROTOCOL_TASK ||
        strcmp (msg->job, j->id) != 0 || msg->task.rank >= j->announce.announce.size ||
        msg->task.count > j->announce.announce.size - msg->task.rank) {
        s->rejected++;
        log_msg ("queue %s: rejected message: %s", j->queue,
                 msg->type == PROTOCOL_TASK ? "wrong job or rank" : error.text);
        return -1;
    }
    return 0;
}

/* A task delivered from a job's queue: what to do with it (disposition.h),
 * done.  Returns how the delivery is to be settled. */
static enum disposition handle_task (struct slot *s, const struct transport_message *m,
                                     struct protocol_msg *msg)
{
    struct slot_job *j = find_job (s, m->consumer_tag + strlen (JOB_TAG_PREFIX));
    struct delivery_facts facts = {.job_known = j != NULL,
                                   .stopping = stop_requested,
                                   .busy = s->busy,
                                   .redelivered = m->redelivered};

    if (j)
        facts.well_formed = read_task (s, j, m, msg, &facts.authentic) == 0;
    switch (disposition_route (&facts)) {
        case ROUTE_REQUEUE:
            return DISPOSITION_REQUEUE;
        case ROUTE_DROP:
            return DISPOSITION_DROP;
        case ROUTE_BOUNCE:
            return bounce_task (s, j, m);
        case ROUTE_LAUNCHER:
            return hand_to_launcher (s, j, m, msg->task.rank);
        case ROUTE_RUN:
            break;
    }
    s->run.next_rank = msg->task.rank;
    s->run.end_rank = msg->task.rank + msg->task.count;
    s->run.batched = msg->task.count > 1;
    s->run.message_start_ms = clock_mono_ms ();
    return start_ranks (s, j, &msg->task, m->delivery_tag);
}

/* Settle a delivery as d, logging a failure. */
static void settle (struct slot *s, uint64_t tag, enum disposition d)
{
    struct krun_error error;

    if (disposition_apply (s->t, tag, d, &error) < 0)
        log_msg ("%s", error.text);
}

static void on_task (struct slot *s, const struct transport_message *m)
{
    struct protocol_msg msg = {0};

    settle (s, m->delivery_tag, handle_task (s, m, &msg));
    protocol_msg_clear (&msg);
}

/* Exit status reported for a task killed for running too long, as
 * timeout(1) reports it. */
#define TIMED_OUT_CODE 124

static void publish_timed_out (struct slot *s)
{
    struct running *r = &s->run;
    char why[128];

    snprintf (why, sizeof (why), "timed out after %.3g s",
              r->job->announce.announce.timeout_ms / 1000.0);
    publish_result (s, r->job, r->rank, r->attempt, PROTOCOL_FAILED, TIMED_OUT_CODE,
                    r->start_us, why, NULL, 0);
}

/* The job's per-task limit: SIGTERM to the task's process group, SIGKILL
 * after the grace period (kill_running()), then reported as timed out. */
static void check_timeout (struct slot *s)
{
    struct running *r = &s->run;

    if (!s->busy || r->timed_out || r->timeout_at_ms == 0 ||
        clock_mono_ms () < r->timeout_at_ms)
        return;
    log_msg ("rank %d: timed out, killing it", r->rank);
    r->timed_out = true;
    kill_running (s, SIGTERM);
}

/* The running message's ranks not started yet, back to the job's queue as
 * one new message of the same attempt (sealed with the pool's key, as the
 * launcher seals tasks), confirmed before the original is acked: another
 * slot may run them now.  Returns 0, or -1 after logging why (the slot then
 * runs them itself). */
static int split_message (struct slot *s)
{
    struct running *r = &s->run;
    struct protocol_msg msg = {
        .type = PROTOCOL_TASK,
        .job = r->job->id,
        .task = {.rank = r->next_rank,
                 .count = r->end_rank - r->next_rank,
                 .attempt = r->attempt},
    };
    const struct sealed_dest dest = {.exchange = "",
                                     .routing_key = r->job->queue,
                                     .flags = TRANSPORT_PERSISTENT,
                                     .ttl_us = SIGN_TASK_TTL_US};
    struct krun_error error;

    if (sealed_publish (s->t, s->cfg->key, &dest, &msg, &error) < 0 ||
        transport_wait_confirms (s->t, COPY_CONFIRM_MS, &error) < 0) {
        log_msg ("job %s: cannot put ranks %d to %d back: %s", r->job->id, r->next_rank,
                 r->end_rank - 1, error.text);
        return -1;
    }
    r->next_rank = r->end_rank;
    return 0;
}

/* The child exited: forward the rest of its output, report, and start the
 * message's next rank, or acknowledge the message. */
static void finish_task (struct slot *s, int status)
{
    struct running *r = &s->run;
    const char *data;
    size_t data_len;
    bool more;

    read_output (s, 1);
    read_output (s, 2);
    read_control (s);
    data = taskchannel_result (r->channel, &data_len);
    /* Grandchildren die with the task: task_destroy() kills its group,
     * kill_strays() those that left the group. */
    enum disposition d = disposition_finished (r->job != NULL, r->drop, r->give_back);
    if (d == DISPOSITION_ACK) {
        forward_output (s, 1, true);
        forward_output (s, 2, true);
        if (r->timed_out)
            publish_timed_out (s);
        else if (WIFSIGNALED (status))
            publish_result (s, r->job, r->rank, r->attempt, PROTOCOL_SIGNALED,
                            WTERMSIG (status), r->start_us, NULL, data, data_len);
        else
            publish_result (s, r->job, r->rank, r->attempt, PROTOCOL_EXITED,
                            WEXITSTATUS (status), r->start_us, NULL, data, data_len);
    }
    /* The message's next rank, unless the slot is stopping: the message
     * then goes back, and the launcher publishes its ranks without a result
     * again (the broker marks it redelivered). */
    more = d == DISPOSITION_ACK && r->next_rank < r->end_rank;
    if (more && stop_requested) {
        more = false;
        d = DISPOSITION_REQUEUE;
    }
    if (more && clock_mono_ms () - r->message_start_ms >= s->cfg->split_after_ms &&
        split_message (s) == 0)
        more = false;
    /* Settled only now, after the results: AMQP keeps a channel's order, so
     * the broker has them before it forgets the task. */
    if (!more) {
        end_message (s, d);
        settle (s, r->delivery_tag, d);
    }
    task_destroy (r->task);
    r->task = NULL;
    kill_strays (r->rank);
    empty_scratch (s);
    if (more) {
        uint64_t tag = r->delivery_tag;
        struct protocol_task next = {.count = 1, .attempt = r->attempt};
        if ((d = start_ranks (s, r->job, &next, tag)) == DISPOSITION_KEEP)
            return;
        settle (s, tag, d);
    }
    r->job = NULL;
    s->busy = false;
    notify_daemon (s, false);
    if (!stop_requested)
        resume_jobs (s);
}

/* Let go of job j, whose launcher or queues are gone: kill its running
 * task, which then reports nothing and is not requeued, and forget it. */
static void drop_job (struct slot *s, struct slot_job *j, bool cancel_consumer)
{
    if (s->busy && s->run.job == j) {
        s->run.drop = true;
        kill_running (s, SIGTERM);
    }
    forget_job (s, j, cancel_consumer);
}

/* A result or output could not be routed: the job's launcher is gone. */
static void handle_returned (struct slot *s, const struct transport_message *m)
{
    struct protocol_msg msg = {0};
    struct slot_job *j;
    const char *body;
    size_t len;

    /* One of this slot's own sealed reports, back from the broker. */
    if (sign_open (s->cfg->key, m->body, m->len, clock_wall_us (), &body, &len, NULL,
                   NULL) == 0 &&
        protocol_decode (body, len, &msg, NULL) == 0 && msg.job &&
        (j = find_job (s, msg.job))) {
        log_msg ("job %s: launcher gone, dropping its tasks", j->id);
        drop_job (s, j, true);
    }
    protocol_msg_clear (&msg);
}

/* Jobs whose launcher died without anything to return (an idle slot) keep
 * their task queue alive by consuming it: check the launcher's results
 * queue now and then.  A transient job's queue is auto-delete: it goes with
 * the launcher's consumer, and the slot lets go at once.  A durable job's
 * queue outlives its launcher (and this passive declare renews its
 * x-expires), so its consumer count tells instead: the launcher consumes it
 * exclusively, and none for PROTOCOL_LAUNCHER_GRACE_MS means the launcher is
 * dead or away for longer than the slots wait.  The slot then also deletes
 * the job's task queue: the other slots let go at once (the broker cancels
 * their consumers), and a launcher that comes back later finds its job gone
 * and fails instead of announcing it to slots that refuse it as a replay. */
static void check_leases (struct slot *s)
{
    int64_t now = clock_mono_ms ();
    struct slot_job *j = s->jobs, *next;
    unsigned consumers;

    for (; j; j = next) {
        next = j->next;
        if (now - j->lease_checked_ms < LEASE_CHECK_MS)
            continue;
        j->lease_checked_ms = now;
        if (transport_queue_info (s->t, j->announce.announce.results_queue, NULL,
                                  &consumers, NULL) < 0) {
            if (errno == ENOENT) {
                log_msg ("job %s: launcher gone", j->id);
                drop_job (s, j, true);
            }
            continue;
        }
        if (consumers > 0) {
            j->orphaned_ms = 0;
            continue;
        }
        if (j->orphaned_ms == 0)
            j->orphaned_ms = now;
        if (now - j->orphaned_ms < PROTOCOL_LAUNCHER_GRACE_MS)
            continue;
        struct krun_error error;
        char queue[sizeof (j->queue)];
        snprintf (queue, sizeof (queue), "%s", j->queue);
        log_msg (
            "job %s: launcher gone (no consumer on its results queue for %d s), "
            "deleting its task queue",
            j->id, (int)((now - j->orphaned_ms) / 1000));
        drop_job (s, j, true);
        if (transport_delete_queue (s->t, queue, &error) < 0)
            log_msg ("%s", error.text);
    }
}

static int handle_events (struct slot *s)
{
    struct krun_error error;
    struct transport_message m;
    int rc;

    s->events_checked_ms = clock_mono_ms ();
    while ((rc = transport_next (s->t, 0, &m, &error)) > 0) {
        if (rc == TRANSPORT_DELIVERY && strcmp (m.consumer_tag, JOINED_TAG) == 0)
            handle_control (s, m.body, m.len);
        else if (rc == TRANSPORT_DELIVERY)
            on_task (s, &m);
        else if (rc == TRANSPORT_RETURNED)
            handle_returned (s, &m);
        else if (rc == TRANSPORT_CANCELLED) {
            struct slot_job *j =
                strncmp (m.consumer_tag, JOB_TAG_PREFIX, strlen (JOB_TAG_PREFIX)) == 0
                    ? find_job (s, m.consumer_tag + strlen (JOB_TAG_PREFIX))
                    : NULL;
            /* The broker deleted the job's task queue: `krun down`, or
             * its launcher failed.  A result could not count any more. */
            if (j) {
                log_msg ("job %s: task queue deleted", j->id);
                drop_job (s, j, false);
            }
        }
        /* What the socket has beyond the buffer wakes the next poll() at
         * once: a read now that finds nothing would cost 3 system calls
         * per task. */
        if (!transport_pending (s->t))
            break;
    }
    if (rc < 0) {
        log_msg ("%s", error.text);
        return -1;
    }
    return 0;
}

static int slot_setup (struct slot *s, struct krun_error *errp)
{
    struct protocol_msg joined = {.type = PROTOCOL_JOINED};
    const struct sealed_dest dest = {.exchange = s->cfg->pool->presence,
                                     .routing_key = PROTOCOL_KEY_JOINED,
                                     .reply_to = DIRECT_REPLY_TO,
                                     .ttl_us = SIGN_CONTROL_TTL_US};

    if (!(s->control = relay_reader_create (s->cfg->control_fd,
                                            PROTOCOL_MAX_BODY + SIGN_HEADER_MAX)))
        return errprintf_errno (errp, "control pipe");
    /* The daemon declared the exchanges, and its control queue, before it
     * forked this slot. */
    if (s->cfg->mux_fd >= 0)
        s->t = transport_connect_fd (s->cfg->mux_fd, "the daemon's broker connection",
                                     s->cfg->heartbeat, 0, errp);
    else
        s->t = transport_connect (s->cfg->url, s->cfg->cacert, s->cfg->heartbeat, errp);
    if (!s->t)
        return -1;
    /* Running launchers answer with their announcement, through direct
     * reply-to (consumed no-ack, on the channel that publishes "joined"): a
     * slot that starts (or restarts) in the middle of a job joins it.  Not
     * through the daemon's control queue: the daemon would relay every
     * answer to all its slots, n slots starting after an announcement
     * would cost n * n messages. */
    if (transport_qos (s->t, 1, TRANSPORT_DEFER, errp) < 0 ||
        transport_consume_defer (s->t, DIRECT_REPLY_TO, JOINED_TAG, true, errp) < 0)
        return -1;
    joined.joined.node_out = s->cfg->node;
    joined.joined.local = s->cfg->local;
    /* Sealed: a launcher answers only its pool's slots.  The prefetch, the
     * consumer and "joined" go together: one round trip through the
     * daemon (which forks hundreds of slots at once in a cold start), not
     * four. */
    if (sealed_publish (s->t, s->cfg->key, &dest, &joined, errp) < 0)
        return -1;
    return transport_settle (s->t, errp);
}

static void wait_for_events (struct slot *s)
{
    struct pollfd fds[6];
    int nfds = 0, timeout = 1000, exit_index = -1;

    s->broker_ready = s->control_ready = true;
    /* A task started in this turn is reaped after a poll() that watched its
     * pidfd, not at once: it has only just started. */
    s->exit_ready = s->busy;
    if (transport_pending (s->t))
        return;
    fds[nfds++] = (struct pollfd){.fd = transport_fd (s->t), .events = POLLIN};
    fds[nfds++] = (struct pollfd){.fd = s->cfg->control_fd, .events = POLLIN};
    if (s->busy) {
        for (int stream = 1; stream <= 2; stream++)
            if (task_output_fd (s->run.task, stream) >= 0)
                fds[nfds++] = (struct pollfd){
                    .fd = task_output_fd (s->run.task, stream), .events = POLLIN};
        if (task_control_fd (s->run.task) >= 0)
            fds[nfds++] =
                (struct pollfd){.fd = task_control_fd (s->run.task), .events = POLLIN};
        if (s->run.progress_pending)
            timeout = PROGRESS_INTERVAL_MS;
        int held = heldresults_wait_ms (s->held, clock_mono_ms ());
        if (held >= 0 && held < timeout)
            timeout = held;
        if (task_exit_fd (s->run.task) >= 0) {
            exit_index = nfds;
            fds[nfds++] =
                (struct pollfd){.fd = task_exit_fd (s->run.task), .events = POLLIN};
        } else
            timeout = 10;
        if (s->run.kill_at_ms)
            timeout = 100;
        /* Wake up when --timeout ends, not at the next second: 0.5 s is
         * 0.5 s. */
        if (s->run.timeout_at_ms && !s->run.timed_out) {
            int64_t left = s->run.timeout_at_ms - clock_mono_ms ();
            if (left < timeout)
                timeout = left > 0 ? (int)left : 0;
        }
    }
    /* A timeout reads both: the transport checks the broker's heartbeat
     * then, as it does when a busy slot last looked a second ago. */
    if (poll (fds, nfds, timeout) > 0) {
        s->broker_ready = fds[0].revents != 0 ||
                          clock_mono_ms () - s->events_checked_ms >= EVENTS_CHECK_MS;
        s->control_ready = fds[1].revents != 0;
        if (exit_index >= 0)
            s->exit_ready = fds[exit_index].revents != 0;
    }
}

static void check_stop (struct slot *s)
{
    int64_t now = clock_mono_ms ();

    if (stop_requested && s->stop_deadline_ms == 0) {
        s->stop_deadline_ms = now + (int64_t)s->cfg->grace * 1000;
        /* Take no more tasks, but keep the running task's job: its result
         * still has to reach the launcher. */
        struct slot_job *j = s->jobs, *next;
        for (; j; j = next) {
            next = j->next;
            if (s->busy && s->run.job == j) {
                struct krun_error error;
                if (j->consuming && transport_cancel (s->t, j->tag, &error) < 0)
                    log_msg ("job %s: %s", j->id, error.text);
                j->consuming = false;
            } else
                forget_job (s, j, true);
        }
    }
    if (s->busy && s->stop_deadline_ms && now >= s->stop_deadline_ms &&
        !s->run.give_back) {
        log_msg ("stopping: giving back rank %d", s->run.rank);
        s->run.give_back = true;
        kill_running (s, SIGTERM);
    }
    if (s->busy && s->run.kill_at_ms && now >= s->run.kill_at_ms)
        task_kill (s->run.task, SIGKILL);
}

/* The slot's private directory (userdir.h), removing first what a dead
 * slot of the same number left there: its tasks' scratch files and its
 * jobs' inputs.  Without it, the ranks that need it fail, saying why. */
static void make_directory (struct slot *s)
{
    struct krun_error error;
    int found = 0;

    if (!s->cfg->daemon_dir) {
        snprintf (s->dir_error, sizeof (s->dir_error), "%s",
                  s->cfg->dir_error ? s->cfg->dir_error : "no directory");
        return;
    }
    if (!(s->dir = userdir_slot_create (s->cfg->daemon_dir, s->cfg->local, &found,
                                        &error))) {
        snprintf (s->dir_error, sizeof (s->dir_error), "%s", error.text);
        log_msg ("%s", error.text);
    } else if (found)
        log_msg ("removed what a dead slot left in %s", s->dir);
}

int slot_run (const struct slot_config *cfg)
{
    struct krun_error error;
    struct slot s = {.cfg = cfg};
    struct sigaction sa = {.sa_handler = on_stop_signal};
    int rc = 1, status;

    log_set_ident ("krund[%s/%d]", cfg->node, cfg->local);
    /* glibc raises its mmap threshold each time a process frees a large
     * mapped block, and a slot inherits its daemon's threshold; a raised one
     * takes the slot's large zeroed buffers (calloc) from the heap it shares
     * with the daemon, copying or clearing every page of them at once.  A
     * fixed threshold keeps blocks of 128 KiB and more in fresh mappings,
     * whose pages are touched only when used: about 14 page faults less per
     * slot at a cold start (of about 160, measured). */
    mallopt (M_MMAP_THRESHOLD, 128 * 1024);
    make_directory (&s);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sa.sa_handler = on_daemon_death;
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    /* Orphans among the tasks' descendants come to this slot, which kills
     * them when their task ends (kill_strays()). */
    if (reaper_become () < 0)
        log_msg (
            "cannot adopt the orphans of tasks: %s; a task's setsid() "
            "children may outlive it",
            strerror (errno));
    if (!(s.seen = replay_create ()) || !(s.run.channel = taskchannel_create ()) ||
        !(s.held = heldresults_create ()) ||
        !(s.run.output = taskoutput_create (send_output, &s))) {
        log_msg ("out of memory");
        goto done;
    }
    if (slot_setup (&s, &error) < 0) {
        log_msg ("%s", error.text);
        goto done;
    }
    while (!(stop_requested && !s.busy)) {
        slotstate_beat (cfg->state, cfg->local);
        wait_for_events (&s);
        if (daemon_gone) {
            log_msg ("daemon gone, killing the running task");
            goto done;
        }
        if (s.busy) {
            read_output (&s, 1);
            read_output (&s, 2);
            read_control (&s);
        }
        int relay =
            s.control_ready ? relay_reader_read (s.control, handle_control, &s) : 0;
        if (relay != 0) {
            if (relay > 0)
                log_msg ("daemon gone");
            else
                log_msg ("control pipe: %s", strerror (errno));
            goto done;
        }
        if (s.broker_ready && handle_events (&s) < 0)
            goto done;
        if (s.busy && s.exit_ready && task_reap (s.run.task, &status))
            finish_task (&s, status);
        if (heldresults_due (s.held, clock_mono_ms ()))
            publish_held (&s);
        check_timeout (&s);
        check_stop (&s);
        check_leases (&s);
    }
    rc = 0;
done:
    if (s.busy) {
        task_destroy (s.run.task);
        kill_strays (s.run.rank);
        empty_scratch (&s);
        s.busy = false;
    }
    scratch_dir_destroy (s.scratch_dir);
    free (s.scratch);
    while (s.jobs)
        forget_job (&s, s.jobs, false);
    /* Emptied, kept for the next slot of this number (userdir.h), with what
     * a task left next to its scratch directory removed. */
    int found;
    if (s.dir && userdir_slot_clear (s.dir, &found, &error) < 0)
        log_msg ("%s", error.text);
    free (s.dir);
    transport_destroy (s.t);
    relay_reader_destroy (s.control);
    replay_destroy (s.seen);
    taskchannel_destroy (s.run.channel);
    heldresults_destroy (s.held);
    taskoutput_destroy (s.run.output);
    return rc;
}
