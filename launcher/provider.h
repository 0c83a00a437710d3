/* provider.h - where the workers come from, behind one table of operations.
 *
 * A provider finds or starts the worker daemons (krund) of a pool and tells
 * the run which CPU slots it may use; the run, the job and the subcommands
 * (up, down, status) never test which provider they have.  In the spirit of
 * flux-core's connector ops (struct flux_handle_ops): each provider is one
 * folder under launcher/ (launcher/local/, launcher/kubernetes/) that fills
 * a `const struct provider_ops` and names it in the registry of provider.c
 * (one line); its folder's local.mk adds its files to launcher_krun_SOURCES
 * and is included from launcher/local.mk.  `--provider NAME` and the
 * configuration key `provider` pick it by ops->name (config.c's table of
 * keys lists the names the file may give: add it there too, with its
 * section of keys, and to docs/configuration.md).
 *
 * What every provider gets: the configuration (struct config, borrowed for
 * the provider's life; command-line options that concern a provider are
 * already folded into it), and for the operations that talk to the workers
 * a struct provider_broker: the connection, the pool, the signing key and
 * where presence answers go.  The worker daemons are krund whatever the
 * provider: they join the pool's exchanges (pool.h), answer presence
 * (presence.h) and consume the job's task queue; a provider only decides
 * where they run and how they are started and stopped.
 *
 * The order of calls.  A run (run.c): provider_create(); program (where
 * the program lives); key_file (the signing key); filter_nodes; survey;
 * prepare_job (the job's options, before job_create()); pool_name; the
 * job is created; find_workers (presence, start what is
 * missing); cpumap (the slots the job is mapped on, then filtered); the
 * job runs and calls jo->on_published once its tasks are queued;
 * provider_destroy().  `krun up`: survey, up.  `krun status`: status (with
 * who answered, or NULL without a broker).  `krun down`: the job queues
 * are deleted (generic), then down, then the private broker is stopped if
 * private_broker is set.
 *
 * Rules for an operation: return 0 (or what it says) on success, -1 (or
 * NULL) with errno and errp filled (one line naming the thing that failed)
 * on failure, also when out of memory; print notes to stderr only when not
 * quiet; every wait has a bound (the configuration's start_timeout, a
 * provider timeout) and says what it waited for when it gives up.  An
 * operation left NULL has the default written next to it.  krun ends with
 * status 1 when an operation fails (the workers' side failed), except
 * find_workers, and up of a provider with private_broker, which end it
 * with status 2 (the local setup is the user's), as before this interface.
 *
 * A sketch of a provider whose daemons run where ssh reaches:
 *
 *     static struct presence *ssh_find_workers (void *impl,
 *                                               const struct provider_broker *b,
 *                                               struct krun_error *errp)
 *     {
 *         struct presence *p = provider_query (cfg, b, errp);
 *         // start krund on each configured host missing from p (ssh HOST
 *         // krund --node HOST ... with KRUN_AMQP_URL=b->url, KRUN_POOL and
 *         // the key file), then provider_query () again until all answer
 *         // or start_timeout passes
 *         return p;
 *     }
 *     const struct provider_ops ssh_provider_ops = {
 *         .name = "ssh", .create = ssh_create, .destroy = ssh_destroy,
 *         .filter_nodes = ssh_filter_nodes, .find_workers = ssh_find_workers,
 *         .down = ssh_down,
 *     };
 */
#ifndef KRUN_PROVIDER_H
#define KRUN_PROVIDER_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "cpumap.h"
#include "error.h"
#include "job.h"
#include "nodefilter.h"
#include "pool.h"
#include "presence.h"
#include "sign.h"
#include "transport.h"

/* The broker side of a run or subcommand, all borrowed. */
struct provider_broker {
    struct transport *t;
    const char *url; /* the broker URL krun uses */
    const struct pool *pool;
    const struct sign_key *key;
    /* A question a run asked ahead (presence_ask()), whose answers the
     * first presence query reads; NULL or not asked: the query asks. */
    struct presence_question *question;
    const char *state_dir; /* krun's state directory (logs, records) */
};

/* Where the program a run names lives for the workers. */
enum provider_program {
    /* The workers share this machine's files: resolve it here. */
    PROVIDER_PROGRAM_SHARED,
    /* The workers have their own file system (an image): an absolute path
     * is taken as is, a relative one is resolved here. */
    PROVIDER_PROGRAM_IMAGE,
    /* As IMAGE, but the program is sent through the broker (stage.h)
     * unless its absolute path does not exist here. */
    PROVIDER_PROGRAM_STAGED,
};

struct provider_ops {
    const char *name; /* as in --provider and the configuration */
    /* The private broker of the state directory (local/privatebroker.h) is
     * started when no broker is configured and local.broker is on; `krun
     * down` stops it.  Only the local provider sets this. */
    bool private_broker;

    /* Make the provider's state for cfg (borrowed until destroy); quiet: no
     * notes on stderr.  No request is made yet.  NULL: no state (impl is
     * NULL in every call).  Returns the state or NULL with errno, errp. */
    void *(*create) (const struct config *cfg, bool quiet, struct krun_error *errp);
    /* Accepts NULL; keeps errno.  NULL: nothing to free. */
    void (*destroy) (void *impl);

    /* Read the cluster before anything is published (a run, `krun up`), so
     * that an unreachable cluster fails early.  NULL: nothing to read. */
    int (*survey) (void *impl, struct krun_error *errp);
    /* The key file that signs the job's messages when the configuration
     * names one for this provider (borrowed), or NULL: $KRUN_KEY_FILE, else
     * STATE_DIR/key.  NULL op: always NULL. */
    const char *(*key_file) (void *impl);
    /* The pool's name (borrowed), or NULL: one named after the key.  NULL
     * op: the configuration's local.pool. */
    const char *(*pool_name) (void *impl);
    /* Add the nodes this provider's pool is made of to f
     * (nodefilter_add_provider_node()); a node not added is not used.  NULL:
     * add none (every node that answers the pool is the pool's). */
    int (*filter_nodes) (void *impl, struct nodefilter *f, struct krun_error *errp);
    /* Where the program lives.  NULL: PROVIDER_PROGRAM_SHARED. */
    enum provider_program (*program) (void *impl);

    /* Ask who is there and start the daemons that are missing, waiting (at
     * most the configuration's start_timeout) until they answer.  Returns
     * the presence to map the job on (caller must presence_destroy()), or
     * NULL.  NULL op: presence_query() only. */
    struct presence *(*find_workers) (void *impl, const struct provider_broker *b,
                                      struct krun_error *errp);
    /* The CPU map the job is mapped on (caller must cpumap_destroy()): who
     * answered in p (NULL op: presence_cpumap (p)), or what the provider
     * will start.  A map without any slot is an error here. */
    struct cpumap *(*cpumap) (void *impl, const struct presence *p,
                              struct krun_error *errp);
    /* Adjust the job's options before job_create(): the tasks' working
     * directory, the join timeout of a node still starting, the callback
     * once the tasks are published (jo->on_published, with the provider's
     * state as its argument).  url: the broker URL krun uses (borrowed
     * until the job ends).  NULL: nothing to adjust. */
    int (*prepare_job) (void *impl, struct job_options *jo, const char *url,
                        struct krun_error *errp);

    /* `krun up`: start the workers and wait until every one answers.  NULL:
     * find_workers, then nothing. */
    int (*up) (void *impl, const struct provider_broker *b, struct krun_error *errp);
    /* `krun status`: print the workers to out, from p (who answered), or
     * with p NULL when the broker could not be reached (krun has said so;
     * its status is 1 whatever this returns): return -1 with ENOTCONN if
     * there is nothing to show then.  NULL: a table of p's daemons
     * (presence.h), nothing without a broker. */
    int (*status) (void *impl, const struct presence *p, FILE *out,
                   struct krun_error *errp);
    /* `krun down`, after the job queues were deleted: stop the workers and
     * say what was stopped on stdout.  Returns 0 or -1. */
    int (*down) (void *impl, const char *state_dir, struct krun_error *errp);
};

struct provider;

/* The provider called cfg->provider, created for cfg (borrowed until
 * destroy).  Returns it (caller must destroy) or NULL with errno (ENOENT for
 * an unknown name) and errp. */
struct provider *provider_create (const struct config *cfg, bool quiet,
                                  struct krun_error *errp);
/* Accepts NULL; keeps errno. */
void provider_destroy (struct provider *p);

/* Whether name names a provider of the registry. */
bool provider_known (const char *name);
/* The registry's names for messages: "'local' or 'kubernetes'". */
const char *provider_names (void);
/* The provider a run uses when the command line names none: the one the
 * configuration file names; else ssh when the command line gives hosts
 * (-H, --hostfile: hosts_given); else slurm inside a Slurm allocation
 * ($SLURM_JOB_ID set); else cfg->provider's default (borrowed). */
const char *provider_implied (const struct config *cfg, bool hosts_given);

/* Whether the provider called name uses the private broker. */
bool provider_uses_private_broker (const char *name);

/* The operations, each with its default (see struct provider_ops). */
const char *provider_name (const struct provider *p);
bool provider_private_broker (const struct provider *p);
int provider_survey (struct provider *p, struct krun_error *errp);
const char *provider_key_file (struct provider *p);
const char *provider_pool_name (struct provider *p);
int provider_filter_nodes (struct provider *p, struct nodefilter *f,
                           struct krun_error *errp);
enum provider_program provider_program (struct provider *p);
struct presence *provider_find_workers (struct provider *p,
                                        const struct provider_broker *b,
                                        struct krun_error *errp);
struct cpumap *provider_cpumap (struct provider *p, const struct presence *presence,
                                struct krun_error *errp);
int provider_prepare_job (struct provider *p, struct job_options *jo, const char *url,
                          struct krun_error *errp);
int provider_up (struct provider *p, const struct provider_broker *b,
                 struct krun_error *errp);
int provider_status (struct provider *p, const struct presence *presence, FILE *out,
                     struct krun_error *errp);
int provider_down (struct provider *p, const char *state_dir, struct krun_error *errp);

/* Ask the pool's daemons who is there, as the provider's find_workers and
 * up do (presence_query() with b's question, if asked, and cfg's
 * timeout).  Returns the presence (caller must destroy) or NULL with errno
 * and errp. */
struct presence *provider_query (const struct config *cfg,
                                 const struct provider_broker *b,
                                 struct krun_error *errp);

/* How often provider_wait() asks.  A query costs the broker a passive
 * declare while no daemon is up yet (0.03 ms of its CPU), and a daemon
 * starts in 10 to 30 ms: at 20 ms, a cold run or `krun up` waited 10 ms on
 * average for the next look. */
#define PROVIDER_POLL_MS 5

/* Ask again (every PROVIDER_POLL_MS) until ready (p, arg) holds or
 * start_timeout has passed: the wait of a provider for the daemons it
 * started.  Takes p (destroyed on failure).  Returns the last presence
 * (caller must destroy) and sets *ready_p, or NULL with errno and errp if a
 * query failed. */
struct presence *provider_wait (
    const struct config *cfg, const struct provider_broker *b, struct presence *p,
    bool (*ready) (const struct presence *p, const void *arg), const void *arg,
    bool *ready_p, struct krun_error *errp);

#endif
