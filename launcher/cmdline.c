/* cmdline.c - see cmdline.h. */
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "die.h"
#include "provider.h"
#include "topology.h"
#include "transport.h"

/* The broker URLs, checked before anything else happens: one the daemons
 * could not use would otherwise show only as daemons that never answer. */
static void check_urls (const struct config *cfg)
{
    struct krun_error error;
    bool is_default;
    char *url = config_amqp_url (cfg, &is_default);

    if (!url)
        die ("out of memory");
    int rc = transport_url_check (url, &error);
    free (url);
    if (rc < 0)
        die ("%s (%s%s)", error.text, cfg->amqp_url ? "amqp_url in " : "KRUN_AMQP_URL",
             cfg->amqp_url ? cfg->source : "");
    if (cfg->kube_worker_amqp_url &&
        transport_url_check (cfg->kube_worker_amqp_url, &error) < 0)
        die ("%s (kubernetes.worker_amqp_url in %s)", error.text, cfg->source);
}

/* Replace *field by a copy of value, if value is set. */
static void override (char **field, const char *value)
{
    char *copy;

    if (!value)
        return;
    /* Copied first: value may be *field itself (provider_implied()). */
    if (!(copy = strdup (value)))
        die ("out of memory");
    free (*field);
    *field = copy;
}

/* -H and --hostfile replace the file's host list (ssh.hosts and
 * ssh.hostfile); the -H arguments are joined as one list. */
static void hosts_override (struct config *cfg, const struct options *o)
{
    size_t len = 1;

    if (o->hosts.count == 0 && !o->hostfile)
        return;
    free (cfg->ssh_hosts);
    free (cfg->ssh_hostfile);
    cfg->ssh_hosts = cfg->ssh_hostfile = NULL;
    for (int i = 0; i < o->hosts.count; i++)
        len += strlen (o->hosts.items[i]) + 1;
    if (o->hosts.count > 0 && !(cfg->ssh_hosts = calloc (1, len)))
        die ("out of memory");
    for (int i = 0; i < o->hosts.count; i++)
        strcat (strcat (cfg->ssh_hosts, i ? "," : ""), o->hosts.items[i]);
    override (&cfg->ssh_hostfile, o->hostfile);
}

/* The cores of this machine krund would make slots of (at least 1). */
static int this_machine_cores (void)
{
    struct topology *t = topology_create (NULL, NULL);
    int n = t ? topology_core_count (t) : 0;

    topology_destroy (t);
    return n > 0 ? n : 1;
}

/* The configuration: the file, then the command line, which wins. */
struct config *cmdline_config (const struct options *o)
{
    struct krun_error error;
    struct config *cfg = config_create ();

    if (!cfg)
        die ("out of memory");
    if (config_load (cfg, o->config, &error) < 0)
        die ("%s", error.text);
    check_urls (cfg);
    override (&cfg->map_by, o->map_by);
    hosts_override (cfg, o);
    override (&cfg->provider,
              o->provider ? o->provider
                          : provider_implied (cfg, o->hosts.count > 0 || o->hostfile));
    override (&cfg->kube_kubeconfig, o->kubeconfig);
    override (&cfg->kube_context, o->context);
    if (o->delivery_limit)
        cfg->delivery_limit = o->delivery_limit;
    if (o->idle_timeout)
        cfg->idle_timeout = o->idle_timeout;
    /* --slots 0: one per core, said explicitly (a daemon started with
     * another count is restarted). */
    if (o->slots > 0)
        cfg->local_slots = o->slots;
    else if (o->slots == 0)
        cfg->local_slots = this_machine_cores ();
    if (o->no_stage)
        cfg->kube_stage = false;
    if (o->require_all_hosts)
        cfg->ssh_require_all_hosts = true;
    return cfg;
}
