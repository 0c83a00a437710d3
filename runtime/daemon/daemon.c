/* daemon.c - krund's main loop.  See daemon.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "amqpmux.h"
#include "fdio.h"
#include "cgroup.h"
#include "clock.h"
#include "daemon.h"
#include "joblist.h"
#include "log.h"
#include "protocol.h"
#include "reaper.h"
#include "relay.h"
#include "sealed.h"
#include "slot.h"
#include "stage.h"
#include "slotstate.h"
#include "topology.h"
#include "transport.h"
#include "userdir.h"

#define PRESENCE_TAG "who"
#define ROSTER_TAG "roster"
#define CONTROL_TAG "ctl"
/* Control messages a slot has not read yet; beyond this the slot is stuck
 * and is restarted (it then joins its jobs again through "joined"). */
#define RELAY_MAX_PENDING (64 * 1024 * 1024)
/* A slot that dies sooner than this after its start is restarted only after
 * this delay, so a broken broker does not make the daemon fork in a loop. */
#define RESPAWN_BACKOFF_MS 1000
/* Slots forked per turn of the main loop: a daemon answers presence between
 * batches instead of after forking all its slots, so a cold launcher can
 * publish while 256 slots are still logging in to the broker (they join the
 * job through "joined"). */
#define SPAWN_BATCH 16
#define RECONNECT_MS 1000
/* Jobs reported in presence answers (joblist.h): more than run at once on
 * any pool in practice; the oldest is forgotten beyond it. */
#define DAEMON_MAX_JOBS 64
/* How long the processes a dead slot left (re-parented to the daemon, its
 * subreaper) may take to die after SIGKILL before the slot is restarted
 * anyway. */
#define STRAY_KILL_MS 5000
/* A slot whose heartbeat (slotstate_beat()) is this old and which is
 * stopped (SIGSTOP, state T) is killed and restarted: it holds its task,
 * and the broker would give the rank to another slot only when the
 * connection's heartbeat times out, after a minute or more.  A running
 * slot beats at least once a second. */
#define SLOT_STOPPED_MS 3000
/* How long a stopping daemon may take to send what its slots wrote to the
 * shared broker connection before they exited. */
#define MUX_DRAIN_MS 2000

struct slot_proc {
    pid_t pid;
    struct relay_writer *control; /* owns the write end of its control pipe */
    int64_t started_ms;
    int64_t respawn_at_ms; /* 0 = not waiting for a respawn */
};

struct daemon {
    const struct daemon_config *cfg;
    struct topology *topology;
    struct transport *t;
    /* The slots' shared broker connection, or NULL: each logs in itself. */
    struct amqpmux *mux;
    bool slots_connected_logged;
    /* What the last poll() saw ready (wait_for_events()): the loop does not
     * read a socket that has nothing, a turn per frame the slots' shared
     * connection forwards. */
    bool signals_ready, broker_ready;
    /* The node's control queue, bound to the control fanout: the daemon
     * relays what arrives there to its slots (see relay.h).  The same name
     * on every reconnection, because slots give it as reply_to. */
    char control_queue[POOL_NAME_MAX + 64];
    /* The node's presence queue, bound to the presence exchange with key
     * who (named like the control queue). */
    char presence_queue[POOL_NAME_MAX + 64];
    unsigned long rejected; /* malformed control messages */
    struct joblist *jobs;   /* announced, not ended: for presence answers */
    int ncores;
    int nslots;
    int *cores; /* per slot: OS core index, -1 if unbound */
    struct slot_proc *slots;
    struct slotstate *state;  /* busy or idle, written by the slots themselves */
    struct cgroup *cgroup;    /* one per slot, or NULL where none can be made */
    int64_t last_activity_ms; /* the daemon's own: its start */
    int64_t started_us;
    int64_t reconnect_at_ms;
    bool stopping;
    int64_t stop_deadline_ms;
    int64_t strays_deadline_ms; /* 0 = no dead slot's leftovers to kill */
    int64_t strays_since_ms;
    int64_t stopped_checked_ms; /* kill_stopped_slots(): at most twice a second */
    int signal_fd;
    sigset_t signals;
    char *base;                  /* krund's private directory (userdir.h), or NULL */
    char *dir;                   /* this daemon's directory in it, or NULL */
    int dir_lock;                /* holds dir's lock while the daemon runs */
    struct krun_error dir_error; /* why base or dir is NULL */
};

/* Login, then two round trips, not about fifteen: the exchanges, queues and
 * bindings go out together on the private channel, whose order keeps each
 * binding behind its queue and exchange, and are settled once (a refusal
 * is reported in its own name); then the consumers of the three queues,
 * which exist now (two are this connection's own), go out together and are
 * settled once. */
static int daemon_connect (struct daemon *d, struct krun_error *errp)
{
    const struct pool *pool = d->cfg->pool;
    const int defer = TRANSPORT_DEFER;
    const int own = TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE | defer;
    struct transport *t;

    if (!(t = transport_connect (d->cfg->url, d->cfg->cacert, d->cfg->heartbeat, errp)))
        return -1;
    if (transport_declare_exchange (t, pool->control, "fanout", defer, errp) < 0 ||
        transport_declare_exchange (t, pool->presence, "direct", defer, errp) < 0 ||
        transport_declare_queue (t, pool->roster, defer, 0, NULL, errp) < 0 ||
        transport_declare_queue (t, d->presence_queue, own, 0, NULL, errp) < 0 ||
        transport_declare_queue (t, d->control_queue, own, 0, NULL, errp) < 0 ||
        transport_bind_defer (t, d->control_queue, pool->control, "", errp) < 0 ||
        transport_bind_defer (t, d->presence_queue, pool->presence, PROTOCOL_KEY_WHO,
                              errp) < 0 ||
        transport_settle (t, errp) < 0 ||
        transport_consume_defer (t, d->control_queue, CONTROL_TAG, true, errp) < 0 ||
        transport_consume_defer (t, d->presence_queue, PRESENCE_TAG, true, errp) < 0 ||
        transport_consume_defer (t, pool->roster, ROSTER_TAG, true, errp) < 0 ||
        transport_settle (t, errp) < 0) {
        transport_destroy (t);
        return -1;
    }
    d->t = t;
    return 0;
}

static int mux_login (void *arg, struct transport_tune *tune, struct krun_error *errp)
{
    const struct daemon *d = arg;

    return transport_login_raw (d->cfg->url, d->cfg->cacert, d->cfg->heartbeat, tune,
                                errp);
}

static void close_control (struct slot_proc *sp)
{
    relay_writer_destroy (sp->control);
    sp->control = NULL;
}

/* Close every descriptor above 2 but the nkeep in keep (-1: none), with
 * close_range(2): a daemon holds two descriptors per slot, and closing them
 * one by one in every slot it forks cost it the square of its slots (15 % of
 * a 2,048-slot daemon's CPU in a cold start).  The slot keeps the lock of its
 * daemon's directory (userdir.h).  Returns 0, or -1 (the kernel has no
 * close_range: older than 5.9) having closed nothing. */
static int close_all_but (int *keep, int nkeep)
{
    unsigned lo = 3;

    for (int a = 0; a < nkeep; a++) /* a few: insertion sort */
        for (int b = a; b > 0 && keep[b] < keep[b - 1]; b--) {
            int t = keep[b];
            keep[b] = keep[b - 1];
            keep[b - 1] = t;
        }
    if (close_range (~0U, ~0U, 0) < 0 && errno == ENOSYS)
        return -1;
    for (int k = 0; k < nkeep; k++) {
        if (keep[k] < (int)lo)
            continue;
        if ((unsigned)keep[k] > lo)
            close_range (lo, keep[k] - 1, 0);
        lo = keep[k] + 1;
    }
    close_range (lo, ~0U, 0);
    return 0;
}

/* Runs in the forked slot process: never returns. */
static void slot_child (struct daemon *d, int i, int control_fd, int mux_fd)
{
    struct krun_error error;
    pid_t daemon_pid = getppid ();

    /* A slot must not outlive its daemon: its tasks would keep running with
     * nobody to restart or stop them.  SIGHUP, not SIGKILL: the slot kills
     * its task's whole tree before it exits (slot.c). */
    prctl (PR_SET_PDEATHSIG, SIGHUP);
    if (getppid () != daemon_pid)
        _exit (1);
    sigprocmask (SIG_UNBLOCK, &d->signals, NULL);
    /* Not the daemon's sockets: its broker connection, the shared ones (which
     * must close when the daemon dies) and the other slots'; nor the other
     * slots' pipes: a slot must see end of file on its control pipe when the
     * daemon goes, so no other process may hold its write end. */
    int keep[] = {control_fd, mux_fd, d->dir_lock};
    if (close_all_but (keep, sizeof (keep) / sizeof (keep[0])) < 0) {
        if (d->t)
            close (transport_fd (d->t));
        amqpmux_close_in_child (d->mux);
        close (d->signal_fd);
        for (int k = 0; k < d->nslots; k++) {
            if (d->slots[k].control)
                close (relay_writer_fd (d->slots[k].control));
        }
    }
    /* Its tasks are born in its cgroup (cgroup.h). */
    if (d->cgroup && cgroup_enter (d->cgroup, i) < 0)
        log_msg ("slot %d: cannot enter its cgroup: %s", i, strerror (errno));
    /* What the slot really got, not what was planned: the mask the kernel
     * applied, or "unbound". */
    char cpus[256] = "unbound";
    int core = -1;
    if (topology_bind_core (d->topology, i % d->ncores, &error) < 0)
        log_msg ("slot %d: %s (running unbound)", i, error.text);
    else if (topology_is_this_machine (d->topology) &&
             topology_current_cpus (d->topology, cpus, sizeof (cpus)) == 0)
        core = d->cores[i];
    else
        strcpy (cpus, "unbound");
    struct slot_config cfg = {
        .url = d->cfg->url,
        .cacert = d->cfg->cacert,
        .node = d->cfg->node,
        .local = i,
        .core = core,
        .cpus = cpus,
        .heartbeat = d->cfg->heartbeat,
        .grace = d->cfg->grace,
        .split_after_ms = d->cfg->split_after_ms,
        .state = d->state,
        .control_fd = control_fd,
        .mux_fd = mux_fd,
        .control_queue = d->control_queue,
        .key = d->cfg->key,
        .base = d->base,
        .daemon_dir = d->dir,
        .dir_error = d->dir_error.text,
        .pool = d->cfg->pool,
        .topology = d->topology,
        .ncores = d->ncores,
        .nslots = d->nslots,
    };
    _exit (slot_run (&cfg));
}

static int spawn_slot (struct daemon *d, int i, struct krun_error *errp)
{
    struct slot_proc *sp = &d->slots[i];
    int c[2], mux_fd = -1;
    pid_t pid;

    if (d->mux && (mux_fd = amqpmux_attach (d->mux, errp)) < 0)
        return -1;
    if (pipe2 (c, O_CLOEXEC) < 0) {
        errprintf_errno (errp, "cannot make its control pipe");
        fdio_close (&mux_fd);
        return -1;
    }
    /* Room for a large announcement without waiting (best effort). */
    fcntl (c[1], F_SETPIPE_SZ, 1024 * 1024);
    if (!(sp->control = relay_writer_create (c[1])) || (pid = fork ()) < 0) {
        int saved_errno = errno;
        if (sp->control)
            relay_writer_destroy (sp->control); /* closes c[1] */
        else
            close (c[1]);
        sp->control = NULL;
        close (c[0]);
        fdio_close (&mux_fd);
        errno = saved_errno;
        return errprintf_errno (errp, "cannot fork");
    }
    if (pid == 0) {
        /* slot_child() closes every slot's write end, this one's too. */
        slot_child (d, i, c[0], mux_fd);
    }
    close (c[0]);
    fdio_close (&mux_fd);
    sp->pid = pid;
    sp->started_ms = clock_mono_ms ();
    slotstate_beat (d->state, i); /* its own beats start after it connects */
    sp->respawn_at_ms = 0;
    return 0;
}

/* Publish msg sealed with the pool's key to queue (the default exchange):
 * what a launcher acts on must come from the pool.  Logs a failure. */
static void publish_sealed (struct daemon *d, const char *queue,
                            const struct protocol_msg *msg)
{
    const struct sealed_dest dest = {
        .exchange = "", .routing_key = queue, .ttl_us = SIGN_CONTROL_TTL_US};
    struct krun_error error;

    if (sealed_publish (d->t, d->cfg->key, &dest, msg, &error) < 0)
        log_msg ("%s to %s: %s", protocol_type_name (msg->type), queue, error.text);
}

/* Answer a "who" sealed with the pool's key, repeating its nonce: a
 * launcher counts only answers to its own query. */
static void answer_presence (struct daemon *d, const struct transport_message *m)
{
    struct krun_error error;
    struct protocol_msg who = {0};
    struct protocol_msg here = {.type = PROTOCOL_HERE};
    const char *body;
    size_t len;

    if (sign_open (d->cfg->key, m->body, m->len, clock_wall_us (), &body, &len, NULL,
                   &error) < 0) {
        d->rejected++;
        log_msg ("presence queue: rejected message: %s (%lu refused so far)",
                 error.text, d->rejected);
        return;
    }
    if (protocol_decode (body, len, &who, &error) < 0 || who.type != PROTOCOL_WHO ||
        !m->reply_to[0]) {
        log_msg ("presence queue: rejected message: %s",
                 who.type ? "not a who with reply_to" : error.text);
        goto out;
    }
    here.here.nonce = who.who.nonce;
    here.here.node_out = d->cfg->node;
    here.here.pid = getpid ();
    here.here.nslots = d->nslots;
    here.here.cores = d->cores;
    here.here.busy = slotstate_busy_count (d->state);
    here.here.started_us = d->started_us;
    here.here.version = PACKAGE_VERSION;
    here.here.batches = true; /* slot.c runs task messages of several ranks */
    here.here.njobs = joblist_count (d->jobs);
    here.here.jobs = joblist_ids (d->jobs);
    publish_sealed (d, m->reply_to, &here);
out:
    protocol_msg_clear (&who);
}

/* Whether this node takes part in the announced job: the control exchange
 * brings every job on the broker to every daemon. */
static bool takes_part (const struct daemon *d, const struct protocol_announce *a)
{
    for (int i = 0; i < a->nnodes; i++)
        if (a->nodes[i].nused > 0 && strcmp (a->nodes[i].name, d->cfg->node) == 0)
            return true;
    return false;
}

/* Why this node cannot take part in the announced job, or NULL if it can
 * (written into buf).  Checked once per job, before the slots hear of it,
 * so that the launcher learns at once instead of from failed ranks: a
 * staged program or files need the node's cache, inputs the daemon's
 * private directory (userdir.h). */
static const char *cannot_take_part (const struct daemon *d,
                                     const struct protocol_announce *a, char *buf,
                                     size_t size)
{
    struct krun_error error;

    if (a->program_sha256 || a->nstaged > 0) {
        char *dir = stage_dir (d->base);
        int rc =
            dir ? userdir_make (dir, &error)
                : errprintf (&error, "%s",
                             errno == ENOENT ? d->dir_error.text : "out of memory");
        free (dir);
        if (rc < 0) {
            snprintf (buf, size, "cannot stage: %s", error.text);
            return buf;
        }
    }
    if (a->inputs && !d->dir) {
        snprintf (buf, size, "no scratch space: %s", d->dir_error.text);
        return buf;
    }
    return NULL;
}

/* Keep the list of jobs that presence answers report: the jobs this node
 * serves, not every job announced on the broker.  A job that lists the
 * node for the first time is confirmed to its launcher, or refused with
 * the reason.  Returns false if the slots must not hear of it (refused). */
static bool track_job (struct daemon *d, const struct protocol_msg *msg)
{
    char why[sizeof (((struct krun_error *)0)->text) + 32];
    struct protocol_msg answer = {.job = msg->job};

    if (msg->type != PROTOCOL_ANNOUNCE) {
        joblist_remove (d->jobs, msg->job);
        return true;
    }
    if (!takes_part (d, &msg->announce))
        return true;
    answer.join.node_out = d->cfg->node;
    if ((answer.join.reason_out =
             cannot_take_part (d, &msg->announce, why, sizeof (why)))) {
        log_msg ("job %s: refused: %s", msg->job, why);
        answer.type = PROTOCOL_REFUSE;
        publish_sealed (d, msg->announce.results_queue, &answer);
        return false;
    }
    /* Confirmed once: the same announcement comes again (answers to
     * starting slots' "joined", a launcher that reconnected). */
    bool known = joblist_remove (d->jobs, msg->job) == 1;
    /* The job still runs; it is only missing from `krun status`. */
    if (joblist_add (d->jobs, msg->job) < 0)
        log_msg ("job %s: not listed in presence answers: %s", msg->job,
                 errno == EINVAL ? "not a valid job id" : strerror (errno));
    if (!known) {
        answer.type = PROTOCOL_CONFIRM;
        publish_sealed (d, msg->announce.results_queue, &answer);
    }
    return true;
}

/* A control message for the node: check it once here, then hand the same
 * bytes to every slot, which decodes them again for itself. */
static void relay_control (struct daemon *d, const struct transport_message *m)
{
    struct krun_error error;
    struct protocol_msg msg = {0};
    const char *body;
    size_t len;

    /* Forged messages stop here; each slot checks the seal again, and
     * whether the announcement is a replay. */
    if (sign_open (d->cfg->key, m->body, m->len, clock_wall_us (), &body, &len, NULL,
                   &error) < 0) {
        d->rejected++;
        log_msg ("control queue: rejected message: %s (%lu refused so far)", error.text,
                 d->rejected);
        return;
    }
    if (protocol_decode (body, len, &msg, &error) < 0) {
        d->rejected++;
        log_msg ("control queue: rejected message: %s", error.text);
        protocol_msg_clear (&msg); /* a half-decoded message owns strings */
        return;
    }
    if (msg.type != PROTOCOL_ANNOUNCE && msg.type != PROTOCOL_END &&
        msg.type != PROTOCOL_CANCEL) {
        d->rejected++;
        log_msg ("control queue: unexpected %s message", protocol_type_name (msg.type));
        protocol_msg_clear (&msg);
        return;
    }
    bool relay = track_job (d, &msg);
    protocol_msg_clear (&msg);
    if (!relay)
        return;
    for (int i = 0; i < d->nslots; i++) {
        struct slot_proc *sp = &d->slots[i];
        if (sp->pid <= 0 || !sp->control)
            continue;
        if (relay_writer_push (sp->control, m->body, m->len, RELAY_MAX_PENDING) < 0 &&
            errno == ENOBUFS) {
            log_msg ("slot %d (pid %d) reads no control messages, restarting it", i,
                     sp->pid);
            kill (sp->pid, SIGKILL);
        }
        /* EPIPE: the slot is exiting; reap_slots() restarts it. */
    }
}

static void flush_control (struct daemon *d)
{
    for (int i = 0; i < d->nslots; i++)
        if (d->slots[i].control && relay_writer_pending (d->slots[i].control))
            relay_writer_flush (d->slots[i].control);
}

static void reap_slots (struct daemon *d)
{
    int64_t now = clock_mono_ms ();
    int status;
    pid_t pid;

    while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < d->nslots; i++) {
            struct slot_proc *sp = &d->slots[i];
            if (sp->pid != pid)
                continue;
            sp->pid = 0;
            close_control (sp);
            /* What its task left is in its cgroup, and comes to the daemon
             * (reaper.h): killed now and by kill_strays() before the slot is
             * restarted. */
            if (d->cgroup && cgroup_kill (d->cgroup, i) < 0)
                log_msg ("slot %d: cannot kill its cgroup: %s", i, strerror (errno));
            if (!d->strays_deadline_ms) {
                d->strays_since_ms = now;
                d->strays_deadline_ms = now + STRAY_KILL_MS;
            }
            /* Killed while running a task: it will not say it ended. */
            if (slotstate_busy (d->state, i))
                slotstate_set_busy (d->state, i, false);
            if (d->stopping)
                break;
            if (WIFSIGNALED (status))
                log_msg ("slot %d (pid %d) killed by signal %d, restarting", i, pid,
                         WTERMSIG (status));
            else
                log_msg ("slot %d (pid %d) exited with %d, restarting", i, pid,
                         WEXITSTATUS (status));
            sp->respawn_at_ms = now - sp->started_ms < RESPAWN_BACKOFF_MS
                                    ? now + RESPAWN_BACKOFF_MS
                                    : now;
            break;
        }
    }
}

/* Kill the processes that dead slots left: every child of the daemon that
 * is not a slot.  Nothing else is the daemon's child (a live slot adopts
 * its own tasks' orphans), so they need not be told apart by slot.  Called
 * every turn of the loop until none is left: a killed stray's own children
 * come to the daemon when it dies, and its SIGCHLD wakes the loop. */
static void kill_strays (struct daemon *d)
{
    pid_t *keep = alloca (d->nslots * sizeof (*keep));
    int64_t now = clock_mono_ms ();
    int nkeep = 0, n;

    if (!d->strays_deadline_ms)
        return;
    for (int i = 0; i < d->nslots; i++)
        if (d->slots[i].pid > 0)
            keep[nkeep++] = d->slots[i].pid;
    if ((n = reaper_kill_strays (keep, nkeep)) == 0) {
        d->strays_deadline_ms = 0;
        return;
    }
    if (n < 0 || now >= d->strays_deadline_ms) {
        if (n < 0)
            log_msg ("cannot list what dead slots left running: %s", strerror (errno));
        else
            log_msg ("%d processes left by dead slots survive SIGKILL after %d ms", n,
                     (int)(now - d->strays_since_ms));
        d->strays_deadline_ms = 0;
    }
}

/* A stopped slot (kill -STOP) holds its task, and the broker's prefetch may
 * have handed it one more: kill it, so that its connection closes and the
 * broker gives its rank to another slot now.  A task that stops itself
 * stops only itself: its slot keeps beating.  A slot stopped by a debugger
 * (state t, traced) is left alone. */
static void kill_stopped_slots (struct daemon *d)
{
    int64_t now = clock_mono_ms ();

    /* A slot that has not beaten yet may be one still logging in: its
     * state is read from /proc, which would cost every turn of the loop
     * (a turn per frame forwarded) one read per such slot. */
    if (now - d->stopped_checked_ms < 500)
        return;
    d->stopped_checked_ms = now;
    for (int i = 0; i < d->nslots; i++) {
        struct slot_proc *sp = &d->slots[i];
        int64_t beat = slotstate_beat_ms (d->state, i);
        if (sp->pid <= 0 || now - beat < SLOT_STOPPED_MS ||
            reaper_process_state (sp->pid) != 'T')
            continue;
        log_msg (
            "slot %d (pid %d) stopped for %.1f s, killing it so that its rank "
            "runs elsewhere",
            i, sp->pid, (now - beat) / 1000.0);
        kill (sp->pid, SIGKILL);
        /* Not again before reap_slots() sees it die. */
        slotstate_beat (d->state, i);
    }
}

/* Fork the slots that are due, at most SPAWN_BATCH of them.  Returns
 * whether more are due now (the loop then does not wait). */
static bool respawn_slots (struct daemon *d)
{
    int64_t now = clock_mono_ms ();
    int forked = 0;

    /* A restarted slot would adopt nothing of its predecessor's: kill that
     * first. */
    if (d->strays_deadline_ms)
        return false;
    for (int i = 0; i < d->nslots && !d->stopping; i++) {
        struct slot_proc *sp = &d->slots[i];
        if (sp->pid != 0 || !sp->respawn_at_ms || now < sp->respawn_at_ms)
            continue;
        if (forked == SPAWN_BATCH)
            return true;
        struct krun_error error;
        if (spawn_slot (d, i, &error) < 0) {
            log_msg ("slot %d: cannot start: %s", i, error.text);
            sp->respawn_at_ms = now + RESPAWN_BACKOFF_MS;
        } else
            forked++;
    }
    return false;
}

static int live_slots (const struct daemon *d)
{
    int n = 0;
    for (int i = 0; i < d->nslots; i++)
        n += d->slots[i].pid > 0;
    return n;
}

static void begin_stop (struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    log_msg ("stopping: %s", why);
    d->stopping = true;
    /* Slots get their grace period, then a little more to report back. */
    d->stop_deadline_ms = clock_mono_ms () + (int64_t)(d->cfg->grace + 5) * 1000;
    for (int i = 0; i < d->nslots; i++)
        if (d->slots[i].pid > 0)
            kill (d->slots[i].pid, SIGTERM);
}

static void handle_signals (struct daemon *d)
{
    struct signalfd_siginfo si;

    while (read (d->signal_fd, &si, sizeof (si)) == sizeof (si)) {
        if (si.ssi_signo == SIGCHLD)
            reap_slots (d);
        else
            begin_stop (d, si.ssi_signo == SIGTERM ? "SIGTERM" : "signal");
    }
}

static void handle_broker (struct daemon *d)
{
    struct krun_error error;
    struct transport_message m;
    int rc;

    if (!d->t) {
        if (d->stopping || clock_mono_ms () < d->reconnect_at_ms)
            return;
        if (daemon_connect (d, &error) < 0) {
            d->reconnect_at_ms = clock_mono_ms () + RECONNECT_MS;
            return;
        }
        log_msg ("reconnected to the broker");
    }
    while ((rc = transport_next (d->t, 0, &m, &error)) > 0) {
        if (rc != TRANSPORT_DELIVERY)
            continue;
        /* A stopping daemon takes no new work: it does not answer presence,
         * but still relays cancel and end to the slots finishing theirs. */
        if (strcmp (m.consumer_tag, PRESENCE_TAG) == 0 && !d->stopping)
            answer_presence (d, &m);
        else if (strcmp (m.consumer_tag, CONTROL_TAG) == 0)
            relay_control (d, &m);
    }
    if (rc < 0) {
        log_msg ("broker connection lost: %s; reconnecting", error.text);
        transport_destroy (d->t);
        d->t = NULL;
        d->reconnect_at_ms = clock_mono_ms () + RECONNECT_MS;
    }
}

static void wait_for_events (struct daemon *d, bool busy)
{
    int max = d->nslots + 2 + (d->mux ? amqpmux_poll_max (d->mux) : 0);
    struct pollfd *fds = alloca (max * sizeof (*fds));
    int nfds = 0, first_mux;

    d->signals_ready = d->broker_ready = true;
    if (d->t && transport_pending (d->t)) {
        if (d->mux)
            amqpmux_service (d->mux, NULL, 0);
        return;
    }
    fds[nfds++] = (struct pollfd){.fd = d->signal_fd, .events = POLLIN};
    if (d->t)
        fds[nfds++] = (struct pollfd){.fd = transport_fd (d->t), .events = POLLIN};
    else
        fds[nfds++] = (struct pollfd){.fd = -1}; /* reconnected in handle_broker() */
    for (int i = 0; i < d->nslots; i++)
        if (d->slots[i].control && relay_writer_pending (d->slots[i].control))
            fds[nfds++] = (struct pollfd){.fd = relay_writer_fd (d->slots[i].control),
                                          .events = POLLOUT};
    first_mux = nfds;
    if (d->mux)
        nfds += amqpmux_poll_fill (d->mux, fds + nfds);
    /* Strays to kill: look again soon, their SIGCHLD may come before their
     * children are re-parented to the daemon. */
    int ready = poll (fds, nfds, busy ? 0 : d->strays_deadline_ms ? 10 : 1000);
    if (ready > 0) {
        d->signals_ready = fds[0].revents != 0;
        d->broker_ready = !d->t || fds[1].revents != 0;
    }
    if (d->mux)
        amqpmux_service (d->mux, fds + first_mux, nfds - first_mux);
}

/* Say once when every slot is logged in: the end of a cold start. */
static void note_connected (struct daemon *d)
{
    struct amqpmux_stats st;

    if (!d->mux || d->slots_connected_logged)
        return;
    amqpmux_stats (d->mux, &st);
    if (st.ready < d->nslots)
        return;
    d->slots_connected_logged = true;
    log_msg (
        "all %d slots connected, over %d shared broker connection%s, %.3f s after "
        "start",
        d->nslots, st.upstreams, st.upstreams == 1 ? "" : "s",
        (clock_wall_us () - d->started_us) / 1e6);
}

/* The daemon's private directory (userdir.h), after removing what dead
 * daemons of the node left there.  Without one the daemon still serves:
 * its slots fail the ranks that need it, saying why. */
static void make_directory (struct daemon *d)
{
    int removed = 0;
    bool reused = false;

    if (!(d->base = userdir_base (&d->dir_error)) ||
        !(d->dir =
              userdir_daemon_create (d->base, d->cfg->node, d->nslots, &d->dir_lock,
                                     &removed, &reused, &d->dir_error))) {
        log_msg ("%s", d->dir_error.text);
        return;
    }
    if (reused)
        log_msg ("took over the directory a stopped daemon of this node left: %s",
                 d->dir);
    if (removed > 0)
        log_msg ("removed %d director%s left by dead daemons of this node", removed,
                 removed == 1 ? "y" : "ies");
}

/* Whether a job the node takes part in still has tasks queued: its slots
 * may be busy elsewhere or paused, and the job would hang if the daemon
 * left.  Jobs whose queue is gone are forgotten. */
static bool queued_tasks (struct daemon *d)
{
    struct krun_error error;
    char queue[128];
    bool queued = false;

    if (!d->t)
        return false;
    for (int i = joblist_count (d->jobs) - 1; i >= 0; i--) {
        const char *id = joblist_ids (d->jobs)[i];
        unsigned messages = 0;
        protocol_task_queue (id, queue, sizeof (queue));
        if (transport_queue_info (d->t, queue, &messages, NULL, &error) < 0) {
            if (errno != ENOENT) {
                log_msg ("job %s: %s", id, error.text);
                return false;
            }
            joblist_remove (d->jobs, id);
        } else if (messages > 0) {
            log_msg ("idle, but job %s has %u tasks queued: staying", id, messages);
            queued = true;
        }
    }
    return queued;
}

static int daemon_init (struct daemon *d, struct krun_error *errp)
{
    d->signal_fd = -1;
    d->dir_lock = -1;
    /* What a killed slot leaves comes to the daemon (kill_strays()). */
    if (reaper_become () < 0)
        log_msg (
            "cannot adopt the orphans of slots: %s; a killed slot's task "
            "children may outlive it",
            strerror (errno));
    if (!(d->jobs = joblist_create (DAEMON_MAX_JOBS)))
        return errprintf_errno (errp, "cannot allocate the job list");
    if (!(d->topology = topology_create (d->cfg->topology, errp)))
        return -1;
    if (topology_set_unit (d->topology, d->cfg->unit) < 0)
        return errprintf_errno (errp, "cannot count slots by %s",
                                d->cfg->unit == TOPOLOGY_PU ? "PU" : "core");
    d->ncores = topology_core_count (d->topology);
    if (d->ncores < 1)
        return errprintf (errp, "no usable core found");
    d->nslots = d->cfg->slots > 0 ? d->cfg->slots : d->ncores;
    d->cores = calloc (d->nslots, sizeof (*d->cores));
    d->slots = calloc (d->nslots, sizeof (*d->slots));
    if (!d->cores || !d->slots || !(d->state = slotstate_create (d->nslots)))
        return errprintf_errno (errp, "cannot allocate %d slots", d->nslots);
    /* Once the slots are counted: a directory taken over keeps theirs. */
    make_directory (d);
    struct krun_error error;
    if ((d->cgroup = cgroup_create (d->nslots, &error)))
        log_msg ("slots' cgroups in %s", cgroup_path (d->cgroup));
    else
        log_msg ("%s: a task's processes are found through the slots' subreapers only",
                 error.text);
    /* With more slots than cores (--slots, for sleep-like tasks) slots share
     * cores round robin. */
    for (int i = 0; i < d->nslots; i++)
        d->cores[i] = topology_core_os_index (d->topology, i % d->ncores);
    unsigned char raw[6];
    if (getrandom (raw, sizeof (raw), 0) != sizeof (raw))
        return errprintf_errno (errp, "cannot name the control and presence queues");
    char id[32]; /* <pid>.<12 hex digits>, the same in both names */
    snprintf (id, sizeof (id), "%d.%02x%02x%02x%02x%02x%02x", (int)getpid (), raw[0],
              raw[1], raw[2], raw[3], raw[4], raw[5]);
    snprintf (d->control_queue, sizeof (d->control_queue), "krun.%s.node.%s",
              d->cfg->pool->name, id);
    snprintf (d->presence_queue, sizeof (d->presence_queue), "krun.%s.who.%s",
              d->cfg->pool->name, id);
    sigemptyset (&d->signals);
    sigaddset (&d->signals, SIGCHLD);
    sigaddset (&d->signals, SIGTERM);
    sigaddset (&d->signals, SIGINT);
    sigaddset (&d->signals, SIGHUP);
    sigprocmask (SIG_BLOCK, &d->signals, NULL);
    if ((d->signal_fd = signalfd (-1, &d->signals, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        return errprintf_errno (errp, "signalfd");
    if (daemon_connect (d, errp) < 0)
        return -1;
    /* One broker login per node rather than per slot (amqpmux.h); not over
     * TLS, whose bytes only the library can read. */
    if (!d->cfg->connection_per_slot && strncmp (d->cfg->url, "amqps:", 6) != 0 &&
        !(d->mux = amqpmux_create (mux_login, d)))
        return errprintf_errno (errp, "cannot share the broker connection");
    return 0;
}

static void daemon_fini (struct daemon *d)
{
    struct krun_error error;

    for (int i = 0; i < d->nslots; i++) {
        if (d->slots[i].pid > 0) {
            kill (d->slots[i].pid, SIGKILL);
            waitpid (d->slots[i].pid, NULL, 0);
        }
        close_control (&d->slots[i]);
    }
    /* Every child left is what a slot left: the daemon is their last
     * reaper. */
    int left = reaper_clear (STRAY_KILL_MS);
    if (left > 0)
        log_msg ("%d processes left by slots survive SIGKILL", left);
    else if (left < 0)
        log_msg ("cannot list what slots left running: %s", strerror (errno));
    /* The slots' last frames (acks of finished tasks) go to the broker. */
    amqpmux_destroy (d->mux, MUX_DRAIN_MS);
    d->mux = NULL;
    cgroup_destroy (d->cgroup);
    /* The slots are gone: their directories are emptied for the next
     * daemon of the node, which takes this one over (userdir.h). */
    for (int i = 0; d->dir && i < d->nslots; i++) {
        char path[PATH_MAX];
        int found;
        struct stat st;
        snprintf (path, sizeof (path), "%s/slot%d", d->dir, i);
        if (lstat (path, &st) == 0 && userdir_slot_clear (path, &found, &error) < 0)
            log_msg ("%s", error.text);
    }
    fdio_close (&d->dir_lock);
    free (d->dir);
    free (d->base);
    slotstate_destroy (d->state);
    transport_destroy (d->t);
    topology_destroy (d->topology);
    joblist_destroy (d->jobs);
    fdio_close (&d->signal_fd);
    free (d->cores);
    free (d->slots);
}

int daemon_run (const struct daemon_config *cfg)
{
    struct krun_error error;
    struct daemon d = {.cfg = cfg};
    int rc = 1;

    log_set_ident ("krund[%s]", cfg->node);
    signal (SIGPIPE, SIG_IGN);
    if (daemon_init (&d, &error) < 0) {
        log_fatal ("%s", error.text);
        goto done;
    }
    d.started_us = clock_wall_us ();
    d.last_activity_ms = clock_mono_ms ();
    /* Forked from the loop, a batch per turn (SPAWN_BATCH). */
    for (int i = 0; i < d.nslots; i++)
        d.slots[i].respawn_at_ms = d.last_activity_ms;
    char allowed[256] = "?";
    topology_allowed_cpus (d.topology, allowed, sizeof (allowed));
    log_msg ("serving %d slots on %d %s of cpus %s (pid %d)", d.nslots, d.ncores,
             cfg->unit == TOPOLOGY_PU ? "PUs" : "cores", allowed, getpid ());
    bool spawning = true;
    for (;;) {
        wait_for_events (&d, spawning);
        if (d.signals_ready)
            handle_signals (&d);
        if (d.broker_ready)
            handle_broker (&d);
        flush_control (&d);
        kill_strays (&d);
        kill_stopped_slots (&d);
        spawning = respawn_slots (&d);
        note_connected (&d);
        int64_t now = clock_mono_ms ();
        /* Checked at least once a second: wait_for_events() wakes up then. */
        int64_t last = slotstate_last_change_ms (d.state);
        if (last < d.last_activity_ms)
            last = d.last_activity_ms;
        if (!d.stopping && now - last >= (int64_t)cfg->idle_timeout * 1000 &&
            slotstate_busy_count (d.state) == 0) {
            if (queued_tasks (&d))
                d.last_activity_ms = now; /* looked at again after the timeout */
            else
                begin_stop (&d, "idle timeout");
        }
        if (d.stopping && (live_slots (&d) == 0 || now >= d.stop_deadline_ms))
            break;
    }
    rc = 0;
done:
    daemon_fini (&d);
    log_msg ("exited");
    return rc;
}
