/* session.c - see session.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "die.h"
#include "local/privatebroker.h"
#include "session.h"

/* Heartbeats of a run's connection (seconds). */
#define SESSION_HEARTBEAT_S 30

bool session_private_broker (const struct config *cfg)
{
    bool is_default;
    char *url = config_amqp_url (cfg, &is_default);

    if (!url)
        die ("out of memory");
    free (url);
    return is_default && cfg->local_broker &&
           provider_uses_private_broker (cfg->provider);
}

char *session_broker_url (const struct config *cfg, const char *state_dir, bool start,
                          bool quiet, struct krun_error *errp)
{
    bool is_default, started;
    char *url;

    if (!session_private_broker (cfg)) {
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

struct transport *session_connect (const struct config *cfg, const char *url,
                                   const char *state_dir, bool *via_agent,
                                   char job_id[NEXTJOB_ID_SIZE])
{
    struct krun_error error;
    struct transport *t =
        via_agent ? agent_connect (state_dir, url, SESSION_HEARTBEAT_S) : NULL;
    char ahead[NEXTJOB_ID_SIZE];

    if (via_agent)
        *via_agent = t != NULL;
    if (job_id)
        *job_id = '\0';
    /* The queues the agent made ahead for this connection: a job's, or
     * deleted (nextjob.h). */
    if (t && nextjob_take (t, ahead)) {
        if (job_id)
            memcpy (job_id, ahead, NEXTJOB_ID_SIZE);
        else if (nextjob_drop (t, ahead, &error) < 0)
            fprintf (stderr, "krun: warning: %s\n", error.text);
    }
    if (!t &&
        !(t = transport_connect (url, cfg->amqp_cacert, SESSION_HEARTBEAT_S, &error)))
        die ("%s", error.text);
    if (session_private_broker (cfg))
        private_broker_touch (state_dir);
    return t;
}

void session_start_agent (const struct config *cfg, const char *url,
                          const char *state_dir)
{
    struct krun_error error;

    if (agent_usable (url) &&
        agent_start (state_dir, url, cfg->idle_timeout, &error) < 0)
        fprintf (stderr, "krun: warning: %s\n", error.text);
}

struct sign_key *session_signing_key (struct provider *prov, const char *state_dir)
{
    struct krun_error error;
    struct sign_key *key;
    bool is_default = false;
    const char *named = provider_key_file (prov);
    char *path = named ? strdup (named) : config_key_file (state_dir, &is_default);

    if (!path)
        die ("out of memory");
    key = is_default ? sign_key_load_or_create (path, &error)
                     : sign_key_load (path, &error);
    /* A provider may hand the file named here to its workers (the
     * Kubernetes provider puts it into the pool's Secret). */
    if (key && setenv ("KRUN_KEY_FILE", path, 1) < 0)
        die ("out of memory");
    free (path);
    if (!key)
        die ("%s", error.text);
    return key;
}

void session_pool (struct provider *prov, const struct sign_key *key, struct pool *pool)
{
    struct krun_error error;

    if (pool_init_default (pool, provider_pool_name (prov), key, &error) < 0)
        die ("%s", error.text);
}

struct provider *session_provider (const struct config *cfg, bool quiet, bool survey)
{
    struct krun_error error;
    struct provider *prov = provider_create (cfg, quiet, &error);

    if (!prov || (survey && provider_survey (prov, &error) < 0))
        fatal (error.text);
    return prov;
}
