/* commands.c - see commands.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "clock.h"
#include "commands.h"
#include "die.h"
#include "jobqueues.h"
#include "local/privatebroker.h"
#include "presence.h"
#include "provider.h"
#include "session.h"
#include "statusjson.h"

/* The broker side for a subcommand: each presence query asks anew. */
static struct provider_broker broker_of (struct transport *t, const char *url,
                                         const struct pool *pool,
                                         const struct sign_key *key,
                                         const char *state_dir)
{
    return (struct provider_broker){
        .t = t, .url = url, .pool = pool, .key = key, .state_dir = state_dir};
}

/* krun status --json (statusjson.h); p and q NULL: nothing runs. */
static void print_status_json (const struct presence *p, const struct jobqueues *q)
{
    struct statusjson *s = statusjson_create ();
    int64_t now = clock_wall_us ();
    char *text;

    for (int i = 0; s && p && i < presence_count (p); i++)
        if (statusjson_add_node (s, presence_node (p, i), now) < 0)
            die ("out of memory");
    for (int i = 0; s && q && i < jobqueues_count (q); i++)
        if (statusjson_add_job (s, jobqueues_job (q, i)) < 0)
            die ("out of memory");
    if (!s || !(text = statusjson_text (s)))
        die ("out of memory");
    fputs (text, stdout);
    free (text);
    statusjson_destroy (s);
}

/* Status when the broker answers: the provider's view of who answered, and
 * the running jobs' queues. */
static void status_with_broker (const struct config *cfg, struct provider *prov,
                                struct transport *t, const struct pool *pool,
                                const struct sign_key *key, bool json)
{
    struct krun_error error;
    struct provider_broker b = broker_of (t, NULL, pool, key, NULL);
    struct presence *p = provider_query (cfg, &b, &error);
    struct jobqueues *q;

    if (!p)
        die ("%s", error.text);
    if (!json && provider_status (prov, p, stdout, &error) < 0)
        fatal (error.text);
    if (!(q = jobqueues_query (t, p, &error)))
        fatal (error.text);
    if (json)
        print_status_json (p, q);
    else
        jobqueues_print (q, stdout);
    jobqueues_destroy (q);
    presence_destroy (p);
}

int commands_status (const struct config *cfg, bool json)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);
    char *url =
        state_dir ? session_broker_url (cfg, state_dir, false, true, &error) : NULL;
    struct provider *prov;
    struct transport *t;
    struct pool pool;
    int rc = 0;

    if (!state_dir)
        die ("%s", error.text);
    if (!url && errno != ESRCH)
        fatal (error.text);
    if (!url && json) {
        print_status_json (NULL, NULL);
        free (state_dir);
        return 0;
    }
    if (!url) {
        /* Without its broker nothing of the private setup can run. */
        printf (
            "krun: nothing is running (the private broker of %s is not "
            "running)\n",
            state_dir);
        free (state_dir);
        return 0;
    }
    prov = session_provider (cfg, true, false);
    /* Only the pool's daemons answer, and only to its key. */
    struct sign_key *key = session_signing_key (prov, state_dir);
    session_pool (prov, key, &pool);
    free (state_dir);
    if ((t = transport_connect (url, cfg->amqp_cacert, 0, &error))) {
        status_with_broker (cfg, prov, t, &pool, key, json);
    } else {
        /* A provider may list its workers without the broker (the default
         * has nothing to show then: ENOTCONN). */
        struct krun_error status_error;
        fprintf (stderr, "krun: %s\n", error.text);
        if (provider_status (prov, NULL, stdout, &status_error) < 0 &&
            errno != ENOTCONN)
            fatal (status_error.text);
        rc = 1;
    }
    transport_destroy (t);
    provider_destroy (prov);
    sign_key_destroy (key);
    free (url);
    return rc;
}

int commands_up (const struct config *cfg, bool quiet)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);

    if (!state_dir)
        die ("%s", error.text);
    struct provider *prov = session_provider (cfg, quiet, false);
    /* The daemons started now need the key file. */
    struct sign_key *key = session_signing_key (prov, state_dir);
    char *url = session_broker_url (cfg, state_dir, true, quiet, &error);
    bool via_agent;
    struct transport *t = session_connect (cfg, url, state_dir, &via_agent, NULL);
    struct pool pool;
    session_pool (prov, key, &pool);
    struct provider_broker b = broker_of (t, url, &pool, key, state_dir);
    if (provider_survey (prov, &error) < 0)
        fatal (error.text);
    if (provider_up (prov, &b, &error) < 0) {
        if (provider_private_broker (prov))
            die ("%s", error.text);
        fatal (error.text);
    }
    provider_destroy (prov);
    transport_destroy (t);
    sign_key_destroy (key);
    free (url);
    free (state_dir);
    return 0;
}

int commands_broker_start (const struct config *cfg, bool quiet)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);
    pid_t pid;
    int port;

    if (!state_dir)
        die ("%s", error.text);
    if (!session_private_broker (cfg))
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
    char *url = session_broker_url (cfg, state_dir, true, quiet, &error);
    transport_destroy (session_connect (cfg, url, state_dir, NULL, NULL));
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

/* Ask who is there and delete their jobs' queues.  When the broker cannot
 * be reached no local daemon can be found either, and a provider's workers
 * are stopped all the same, so `down` goes on (with a warning, unless the
 * broker is the private one, which then simply does not run).  Returns 1
 * if the queues could not be deleted, else 0. */
static int down_queues (const struct config *cfg, struct provider *prov,
                        const char *state_dir)
{
    bool warn = !provider_private_broker (prov);
    struct krun_error error;
    char *url = session_broker_url (cfg, state_dir, false, true, &error);
    struct transport *t;
    struct presence *p;
    struct pool pool;
    int rc = 0;

    if (!url) {
        if (errno != ESRCH)
            fprintf (stderr, "krun: warning: %s; job queues not deleted\n", error.text);
        return 0;
    }
    struct sign_key *key = session_signing_key (prov, state_dir);
    session_pool (prov, key, &pool);
    t = transport_connect (url, cfg->amqp_cacert, 0, &error);
    free (url);
    if (!t) {
        if (warn)
            fprintf (stderr, "krun: warning: %s; job queues not deleted\n", error.text);
        sign_key_destroy (key);
        return 0;
    }
    struct provider_broker b = broker_of (t, NULL, &pool, key, state_dir);
    p = provider_query (cfg, &b, &error);
    sign_key_destroy (key);
    if (!p)
        die ("%s", error.text);
    if (down_job_queues (t, p) < 0)
        rc = 1;
    presence_destroy (p);
    transport_destroy (t);
    return rc;
}

/* Stop the connection agents of the state directory (agent.h), saying so
 * when there were any. */
static void stop_agents (const char *state_dir)
{
    struct krun_error error;
    int stopped = agent_stop_all (state_dir, &error);

    if (stopped < 0)
        fprintf (stderr, "krun: warning: %s\n", error.text);
    else if (stopped > 0)
        printf ("krun: stopped %d connection agent%s\n", stopped,
                stopped == 1 ? "" : "s");
}

/* Stop the private broker of the state directory, saying so. */
static void stop_private_broker (const char *state_dir)
{
    struct krun_error error;
    int stopped = private_broker_stop (state_dir, &error);

    if (stopped < 0)
        die ("%s", error.text);
    printf ("krun: %s\n",
            stopped ? "stopped the private broker" : "no private broker ran");
}

int commands_down (const struct config *cfg)
{
    struct krun_error error;
    struct provider *prov = session_provider (cfg, true, false);
    char *state_dir = config_state_dir (cfg, &error);
    int rc;

    if (!state_dir)
        die ("%s", error.text);
    /* The queues first, while the daemons still name their jobs. */
    rc = down_queues (cfg, prov, state_dir);
    if (provider_down (prov, state_dir, &error) < 0)
        fatal (error.text);
    stop_agents (state_dir);
    if (provider_private_broker (prov))
        stop_private_broker (state_dir);
    provider_destroy (prov);
    free (state_dir);
    return rc;
}

int commands_broker_stop (const struct config *cfg)
{
    struct krun_error error;
    char *state_dir = config_state_dir (cfg, &error);

    if (!state_dir)
        die ("%s", error.text);
    stop_private_broker (state_dir);
    free (state_dir);
    return 0;
}
