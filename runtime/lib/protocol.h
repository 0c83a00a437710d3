/* protocol.h - krun's wire protocol: the messages that travel through the
 * broker between the launcher (krun), the worker daemons (krund) and their
 * slot processes.  docs/protocol.md is the prose version of this file; the
 * two must agree.
 *
 * Every message body starts with one line of JSON (no raw newline inside,
 * cJSON escapes them) holding at least {"v": PROTOCOL_VERSION, "type": ...}.
 * Only "output" messages, and "task", "result" and "results" messages that
 * carry a payload (input, krun_result bytes), continue after that line: a '\n' and
 * then the raw bytes, so binary data travels unchanged and unescaped.
 *
 * Decoding is strict: a wrong version, a missing or mistyped field, a body
 * larger than PROTOCOL_MAX_BODY or a truncated body is an error (-1, errno
 * EPROTO, or E2BIG for size, and a message that says which field).  Unknown
 * fields are ignored so that a newer minor revision can add fields.
 */
#ifndef KRUN_PROTOCOL_H
#define KRUN_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PROTOCOL_VERSION 1

/* Largest body any decoder accepts (announcements with many arguments and
 * environment variables are the big ones). */
#define PROTOCOL_MAX_BODY (8 * 1024 * 1024)
/* Largest output payload a slot puts into one "output" message. */
#define PROTOCOL_MAX_OUTPUT_CHUNK (64 * 1024)
/* Largest per-rank input a task message carries, and largest result a task
 * returns with krun_result().  Both travel through the broker, which holds
 * every queued task in memory: bulk data belongs on a shared file system or
 * in object storage, with its path as the input. */
#define PROTOCOL_MAX_INPUT (1024 * 1024)
#define PROTOCOL_MAX_RESULT (1024 * 1024)

/* Exchanges and queues (see docs/protocol.md for flags and arguments). */
/* The exchanges (control: fanout of announce/end/cancel; presence: direct,
 * "who" and "joined") and the roster queue carry the pool's name: see
 * pool.h.  Every daemon consumes the roster queue (it never carries
 * messages), so its consumer count tells a launcher how many presence
 * answers to wait for.  Routing keys on the presence exchange: */
#define PROTOCOL_KEY_WHO "who"
#define PROTOCOL_KEY_JOINED "joined"
/* Unused job queues vanish after this long (x-expires), e.g. when the
 * launcher was killed and no slot consumes them any more.  A live launcher
 * declares its task queue again every PROTOCOL_JOB_QUEUE_RENEW_MS, which
 * resets the timer, so a queue whose consumers are all paused or busy
 * elsewhere never expires under a waiting launcher. */
#define PROTOCOL_JOB_QUEUE_EXPIRES_MS 30000
#define PROTOCOL_JOB_QUEUE_RENEW_MS 10000
/* A slot lets go of a job whose results queue has had no consumer for this
 * long: its launcher was killed (a durable results queue outlives it, and
 * the slots' passive declares keep renewing its x-expires), or has been
 * away from the broker (suspended, stopped, network) for longer than the
 * slots wait.  A launcher consumes its results queue exclusively, so the
 * consumer count is the launcher's connection and nobody else's.  Longer
 * than a launcher that the broker dropped after missing heartbeats (30 s
 * heartbeat) needs to come back from a 90 s stop. */
#define PROTOCOL_LAUNCHER_GRACE_MS 90000
/* Most job ids a "here" answer carries.  A daemon reports at most 64
 * (DAEMON_MAX_JOBS, daemon.c); decoders take more, so that a later daemon
 * may keep a longer list. */
#define PROTOCOL_MAX_HERE_JOBS 256
/* Most ranks one "task" message carries (its count), and so most results one
 * "results" message carries. */
#define PROTOCOL_MAX_BATCH 1024

enum protocol_type {
    PROTOCOL_WHO = 1,  /* launcher -> daemons: who is there? reply_to = queue */
    PROTOCOL_HERE,     /* daemon -> launcher: node, slots, cores */
    PROTOCOL_JOINED,   /* slot -> launchers: I just started; reply_to = my queue */
    PROTOCOL_ANNOUNCE, /* launcher -> slots: a job exists */
    PROTOCOL_TASK,     /* launcher -> job task queue: one rank */
    PROTOCOL_RESULT,   /* slot -> launcher: a rank finished */
    PROTOCOL_OUTPUT,   /* slot -> launcher: bytes a rank wrote */
    PROTOCOL_END,      /* launcher -> slots: job finished, stop consuming */
    PROTOCOL_CANCEL,   /* launcher -> slots: job cancelled, kill its tasks */
    PROTOCOL_PROGRESS, /* slot -> launcher: a rank started or reported progress */
    PROTOCOL_CONFIRM,  /* daemon -> launcher: my node takes part in the job */
    PROTOCOL_REFUSE,   /* daemon -> launcher: my node cannot take part, and why */
    PROTOCOL_RESULTS, /* slot -> launcher: several ranks of one task message finished */
};
#define PROTOCOL_LAST_TYPE PROTOCOL_RESULTS

/* Longest nonce of a "who" (and of the "here" answering it). */
#define PROTOCOL_MAX_NONCE 64

/* A string field of a message.  A decoded message owns it (char *name,
 * freed by protocol_msg_clear()); a message built only to be encoded may
 * set it from a string it borrows through name_out, the encode-only view,
 * which needs no cast: the encoder only reads it. */
#define PROTOCOL_STRING(name)   \
    union {                     \
        char *name;             \
        const char *name##_out; \
    }

/* One node of a job's slot map, as carried by an announcement. */
struct protocol_node {
    PROTOCOL_STRING (name);
    int first_slot; /* global id of the node's local slot 0 */
    int nslots;     /* slots the node has */
    int nused;      /* how many of them take part */
    int *used;      /* local indices taking part, nused entries */
};

struct protocol_who {
    char *nonce; /* 1 to PROTOCOL_MAX_NONCE bytes, repeated by the answers */
};

struct protocol_here {
    char *nonce; /* the nonce of the "who" answered: a replayed answer to an
                    earlier query does not count */
    PROTOCOL_STRING (node);
    int pid;
    int nslots;
    int *cores; /* nslots entries: OS index of the core each slot is
                   pinned to, -1 when not bound (synthetic topology) */
    int busy;   /* slots running a task right now */
    int64_t started_us;
    PROTOCOL_STRING (version); /* package version of the daemon */
    int njobs;                 /* optional: absent (an older daemon) means 0 */
    char **jobs;               /* njobs ids of the jobs the daemon heard announced and
                                  not ended, each valid for protocol_job_id_valid() */
    bool batches;              /* optional: its slots run task messages of several ranks
                                  (count) and answer them with "results"; absent (an older
                                  daemon) means false */
};

struct protocol_joined {
    PROTOCOL_STRING (node);
    int local; /* local slot index */
};

/* A daemon's answer to an announcement that lists its node. */
struct protocol_join {
    PROTOCOL_STRING (node);
    PROTOCOL_STRING (reason); /* REFUSE only: why the node cannot take part */
};

struct protocol_announce {
    PROTOCOL_STRING (path); /* program to execute (absolute) */
    int argc;
    char **argv; /* argc entries */
    int envc;
    char **env; /* "NAME=value" entries set on top of the worker's env */
    PROTOCOL_STRING (cwd);
    int size; /* N, the number of ranks */
    char *results_queue;
    int nnodes;
    struct protocol_node *nodes;
    int delivery_limit; /* attempts before a rank is failed, >= 1 */
    int timeout_ms;     /* a task running longer is killed; 0 = no limit
                           (optional field: absent means 0) */
    int output_limit;   /* bytes of output forwarded per rank, then a marker
                           and the rest dropped; 0 = no limit (optional) */
    bool inputs;        /* tasks carry input: slots make a scratch directory */
    bool progress;      /* slots send "progress" messages (start, krun_progress) */
    PROTOCOL_STRING (program_sha256); /* optional: the program is staged (stage.h) under
                             this hash and runs from the worker's cache; NULL:
                             path is run as is */
    int nstaged;          /* files staged with --stage (optional, 0 = none) */
    char **staged_files;  /* their names in the job's staged directory,
                             relative (stage_name_valid()) and distinct */
    char **staged_sha256; /* their SHA-256 (64 hex digits), nstaged entries */
    bool staged_cwd;      /* tasks run in the staged directory, not cwd */
    /* Optional, added without a new version (inherit.h): env_exact: env is
     * the tasks' whole environment (the launcher's), not set on top of the
     * worker's; the launcher's umask and nice value (sent when has_umask,
     * has_nice) and soft resource limits ("core=0", "nofile=unlimited"). */
    bool env_exact;
    bool has_umask, has_nice;
    int umask;
    int nice;
    int nlimits;
    char **limits;
    /* Optional: each rank gets the cores of cpus_per_rank slots, its own and
     * the next ones of its node (0 or 1: its own); bind_none: the node's
     * allowed CPUs, unbound. */
    int cpus_per_rank;
    bool bind_none;
};

struct protocol_task {
    int rank;
    int count;   /* ranks rank .. rank + count - 1, 1 to PROTOCOL_MAX_BATCH;
                    the field is optional (absent: 1, and 1 is not sent); a
                    task with input or args has count 1 */
    int attempt; /* 1 for the first run; a redelivered task runs as attempt+1 */
    int argc;
    char **args;       /* appended to the announced argv (krun -f), or NULL */
    const char *input; /* borrowed: points into the decoded body */
    size_t input_len;  /* at most PROTOCOL_MAX_INPUT */
};

enum protocol_status {
    PROTOCOL_EXITED = 1, /* code = exit status */
    PROTOCOL_SIGNALED,   /* code = signal number */
    PROTOCOL_FAILED,     /* could not run (exec failed, delivery limit); code =
                            exit status reported for it, error says why */
};

struct protocol_result {
    int rank;
    int attempt;
    PROTOCOL_STRING (node);
    int slot;               /* global slot id */
    int local;              /* local slot index on node */
    int core;               /* OS core index, -1 if unbound */
    PROTOCOL_STRING (cpus); /* optional: the CPUs the slot is bound to as a CPU list
                   ("2-3"), "unbound", or NULL (an older daemon) */
    enum protocol_status status;
    int code;
    int64_t start_us; /* CLOCK_REALTIME microseconds */
    int64_t end_us;
    PROTOCOL_STRING (error); /* NULL unless status == PROTOCOL_FAILED */
    const char *data;        /* krun_result() bytes; borrowed from the decoded body */
    size_t data_len;         /* at most PROTOCOL_MAX_RESULT */
};

/* The results of several ranks of one task message, from one slot: each item
 * is complete (node, slot, local, core and cpus are the same in all of them,
 * and travel once).  A decoded message owns the items and their strings;
 * their data borrows from the body. */
struct protocol_results {
    int n; /* 1 to PROTOCOL_MAX_BATCH */
    struct protocol_result *items;
};

struct protocol_output {
    int rank;
    int attempt;
    int stream;       /* 1 = stdout, 2 = stderr */
    const char *data; /* borrowed: points into the decoded body */
    size_t len;
};

struct protocol_progress {
    int rank;
    int attempt;
    PROTOCOL_STRING (node);
    double fraction; /* 0 when the task starts, then what krun_progress() said */
};

/* A decoded message.  Strings and arrays are owned by the message and freed by
 * protocol_msg_clear(), except the payloads output.data, task.input,
 * result.data and the data of results' items, which point into the body. */
struct protocol_msg {
    enum protocol_type type;
    char *job; /* job id; NULL for WHO, HERE, JOINED */
    union {
        struct protocol_who who;
        struct protocol_here here;
        struct protocol_join join; /* CONFIRM, REFUSE */
        struct protocol_joined joined;
        struct protocol_announce announce;
        struct protocol_task task;
        struct protocol_result result;
        struct protocol_results results;
        struct protocol_output output;
        struct protocol_progress progress;
    };
};

/* Encode msg.  Returns a malloc'd body (caller must free) and its length in
 * *lenp, or NULL with errno set (EINVAL for an inconsistent message). */
char *protocol_encode (const struct protocol_msg *msg, size_t *lenp,
                       struct krun_error *errp);

/* Decode body into msg (which is overwritten; clear it with
 * protocol_msg_clear() afterwards, also after failure).  Returns 0, or -1
 * with errno EPROTO/E2BIG and errp naming the problem.  For PROTOCOL_OUTPUT,
 * msg->output.data borrows from body. */
int protocol_decode (const void *body, size_t len, struct protocol_msg *msg,
                     struct krun_error *errp);

/* Free what msg owns and zero it.  Accepts an all-zero msg. */
void protocol_msg_clear (struct protocol_msg *msg);

/* Name of a type ("task", "result", ...), or "?" */
const char *protocol_type_name (enum protocol_type type);

/* Whether id may name a job in a "here" answer: 1 to 64 letters, digits,
 * '-' or '_' (the launcher makes 16 hex digits).  Launchers build queue
 * names from these ids and delete those queues (`krun down`), so an id
 * cannot add a '.' part to a queue name. */
bool protocol_job_id_valid (const char *id);

/* Queue names of a job.  Write into buf (size >= 128). Return buf. */
char *protocol_task_queue (const char *job, char *buf, size_t size);
char *protocol_results_queue (const char *job, char *buf, size_t size);

#endif
