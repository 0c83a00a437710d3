/* cmdline.h - what krun's command line says: a run's options, and the
 * configuration keys it overrides.  krun.c fills struct options from argv;
 * cmdline_config() loads the configuration file and applies them on top,
 * so the command line wins.
 */
#ifndef KRUN_CMDLINE_H
#define KRUN_CMDLINE_H

#include <stdbool.h>

#include "config.h"
#include "run.h"

/* What the command line says: a run's options, and the configuration keys
 * it overrides (applied after the file is loaded, so they win). */
struct options {
    struct run_options run;
    const char *config;
    const char *provider;
    const char *map_by;
    int delivery_limit;
    int idle_timeout;
    int slots;
    const char *kubeconfig;
    const char *context;
    bool no_stage;
    struct arglist hosts;
    const char *hostfile;
    bool require_all_hosts;
    bool json; /* krun status --json */
};

/* The configuration: the file (o->config, else the default places), its
 * broker URLs checked, then the command line's overrides.  Exits with
 * status 2 and a message naming the file or key on any error. */
struct config *cmdline_config (const struct options *o);

#endif
