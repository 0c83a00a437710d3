/* job.h - one run of `krun -n N PROGRAM`: the launcher's side of the
 * protocol.  It declares the job's queues, publishes the N task messages
 * (confirmed) and then the announcement, streams the ranks' output line by
 * line, collects one final result per rank and folds them into an exit
 * status.  Cancelling (Ctrl-C) tells every slot to kill the job's tasks and
 * deletes the queues.
 */
#ifndef KRUN_JOB_H
#define KRUN_JOB_H

#include <signal.h>
#include <stdbool.h>

#include "cpumap.h"
#include "error.h"
#include "halt.h"
#include "inherit.h"
#include "pool.h"
#include "presence.h"
#include "sign.h"
#include "inputs.h"
#include "progress.h"
#include "transport.h"

struct job_options {
    int size;         /* N ranks, >= 1 */
    const char *path; /* absolute path of the program */
    /* SHA-256 of the program if it is staged (sent through the broker,
     * stage.h), else NULL */
    const char *program_sha256;
    /* Files of --stage (stagefiles.h): names and hashes, nstaged entries
     * each; staged_cwd: the tasks run in their directory instead of cwd. */
    int nstaged;
    char **staged_files;
    char **staged_sha256;
    bool staged_cwd;
    int argc;
    char **argv; /* argv[0] as the user wrote it */
    int envc;
    char **env; /* "NAME=value" entries sent to the tasks */
    /* env is the tasks' whole environment, not set on top of the worker's
     * (the local provider: the daemon's own variables stay out). */
    bool env_exact;
    const struct inherit *inherit; /* umask, nice, limits for the tasks, or NULL */
    const char *cwd;
    enum cpumap_policy map_by;
    bool tag_output;      /* prefix each output line with "[rank] " */
    bool report_bindings; /* print the slot map and where each rank ran */
    int delivery_limit;
    bool durable; /* durable task queue and persistent task messages */
    /* The job's id (its queues made ahead: nextjob.h), or NULL: a new one. */
    const char *id;
    const char *timeline;          /* CSV file of per-rank timestamps, or NULL */
    const struct inputs *inputs;   /* rank i's input (--inputs, --input-dir) or NULL */
    const struct inputs *commands; /* rank i's extra argument (krun -f) or NULL */
    const char *results_dir;       /* write rank i's krun_result bytes to DIR/i */
    const char *output_dir;        /* rank i's output to DIR/i.out, DIR/i.err */
    struct progress *progress;     /* the status line, or NULL */
    const struct sign_key *key;    /* signs what workers act on (borrowed) */
    int timeout_ms;                /* per-task time limit, 0 = none */
    int output_limit;              /* bytes of output per rank, 0 = no limit */
    int retries;                   /* runs again a rank that ended non-zero */
    int max_running;               /* -j: ranks in flight at most, 0 = all */
    int batch;                     /* --batch: ranks per task message, 0 = choose
                                      (batchsize.h) */
    int cpus_per_rank;             /* -c: slots (cores) per rank, 0 or 1 = one */
    bool bind_none;                /* --bind-to none: tasks unbound on their node */
    struct halt_policy halt;       /* --halt (zeroed: never) */
    const char *joblog;            /* one line per rank as it ends, or NULL */
    const char *resume;            /* joblog of an earlier run: skip its successes */
    /* To connect again when durable and the broker went away (see
     * job_run()); borrowed. */
    const char *url;
    const char *cacert;
    /* Called once right after the tasks are published (may be NULL), with
     * the presence job_run() got: the Kubernetes provider creates its pods
     * then, so that the first pod up starts working.  Returns 0, or -1 with
     * errp to fail the job. */
    int (*on_published) (void *arg, const struct presence *p, struct krun_error *errp);
    void *on_published_arg;
    /* The pool's exchanges (borrowed). */
    const struct pool *pool;
    /* A node of the map has join_timeout_ms to confirm or refuse the job
     * if it answered presence (see job_run()), else cold_join_timeout_ms (a
     * pod still starting); then it is dropped and the job announced again
     * on the remaining nodes. */
    int join_timeout_ms;
    int cold_join_timeout_ms;
    /* Tasks queued with no slot consuming them for longer than this: one
     * line naming the nodes, and the job fails unless wait is set. */
    int stall_timeout_ms;
    bool wait;
    /* Set from a signal handler: cancel the job (value = the signal). */
    volatile sig_atomic_t *cancel;
};

struct job;

/* Make a job id, declare the job's task queue (its answer read later) and
 * its results queue (auto-delete: it goes with t's consumer), and consume
 * the results queue.  Call it after presence_ask() on t, which declares the
 * pool's presence exchange that job_run() binds the results queue to.  opts
 * is borrowed until job_destroy().  Returns NULL with errno and errp on
 * failure. */
struct job *job_create (struct transport *t, const struct job_options *opts,
                        struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void job_destroy (struct job *j);

/* A new random job id (16 hexadecimal digits) into id (size >= 17).
 * Returns 0, or -1 with errno. */
int job_new_id (char *id, size_t size);

/* Run the job on the slots of map.  p (borrowed until job_destroy(), may
 * be NULL) is who answered presence: with nobody there, the job declares
 * the control exchange itself (daemons declare it), as on a Kubernetes
 * cold start.  With opts->durable, a lost broker
 * connection (a broker restart) is not fatal: the launcher connects again
 * with backoff, declares its queues again and announces the job again, and
 * the job goes on with the durable queues' tasks and results.  Returns the folded exit
 * status (0..255; 128 + signal when cancelled by a signal), or -1 with errp if the job
 * could not be run (broker failure). */
int job_run (struct job *j, const struct cpumap *map, const struct presence *p,
             struct krun_error *errp);

#endif
