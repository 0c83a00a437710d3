/* config.h - the launcher's configuration: defaults, the YAML file, and the
 * only module that talks to libyaml.
 *
 * The file is found at --config, else $KRUN_CONFIG, else
 * ~/.config/krun/krun.yaml (a missing default file is not an error).  Command
 * line options are applied by the caller after loading, so they win.
 * Unknown keys and wrong types are rejected with the file, line and key
 * named.  docs/configuration.md lists every key; keep it in step.
 *
 * struct config is a plain value holder (its fields are the keys); it is
 * created and destroyed through config_create()/config_destroy() because it
 * owns its strings.
 */
#ifndef KRUN_CONFIG_H
#define KRUN_CONFIG_H

#include <stdbool.h>

#include "runtime/error.h"

#define CONFIG_DEFAULT_AMQP_URL_FMT "amqp://guest:guest@127.0.0.1:%d/"
#define CONFIG_DEFAULT_BROKER_PORT 5672

struct config_local_node {
    char *name;
    int slots;      /* 0 = one per core of the machine */
    char *topology; /* NULL = this machine; else XML file or synthetic */
};

struct config {
    char *amqp_url;          /* NULL = not configured: the embedded default */
    char *amqp_cacert;       /* CA file for amqps://, NULL = system CAs */
    char *provider;          /* "local" (default) or "kubernetes" */
    char *map_by;            /* "slot" (default) or "node" */
    int idle_timeout;        /* seconds a daemon started by krun waits for work: 600 */
    int presence_timeout_ms; /* longest wait for presence answers: 2000 */
    int start_timeout;       /* seconds to wait for started daemons: 60 */
    int delivery_limit;      /* attempts per rank before it fails: 5 */
    bool durable_queues;     /* durable task queues, persistent tasks: false */
    char *state_dir;         /* NULL = $XDG_STATE_HOME/krun or
                                ~/.local/state/krun */

    /* local: section, the embedded provider */
    bool local_broker;     /* local.broker: start a private broker: true */
    int local_broker_port; /* local.broker_port: 5672 */
    int local_slots;       /* local.slots: slots of the default node, 0 = cores */
    int local_nnodes;      /* local.nodes: simulated nodes, 0 = one node named
                              after the host */
    struct config_local_node *local_nodes;

    /* where the file came from, for messages; NULL if no file */
    char *source;
};

/* A config holding the defaults.  NULL on ENOMEM. */
struct config *config_create (void);
/* Accepts NULL; keeps errno. */
void config_destroy (struct config *c);

/* Load path into c (keys present in the file override c's values).
 * Returns 0 or -1 with errno (ENOENT, EINVAL for a bad file) and errp
 * "FILE:LINE: key 'x': what is wrong". */
int config_load_file (struct config *c, const char *path, struct krun_error *errp);

/* Find and load the file: explicit (may be NULL), else $KRUN_CONFIG, else
 * ~/.config/krun/krun.yaml if it exists.  Returns 0 or -1 as above. */
int config_load (struct config *c, const char *explicit_path, struct krun_error *errp);

/* The broker URL to use: c->amqp_url, else $KRUN_AMQP_URL, else the
 * embedded default on local_broker_port.  *is_default is set true for the
 * last case.  Returns a malloc'd string (caller must free) or NULL. */
char *config_amqp_url (const struct config *c, bool *is_default);

/* The state directory (created with mode 0700 if missing).  Returns a
 * malloc'd path (caller must free) or NULL with errno and errp. */
char *config_state_dir (const struct config *c, struct krun_error *errp);

/* The file of the key that signs job messages (see runtime/sign.h):
 * $KRUN_KEY_FILE, else STATE_DIR/key, which krun creates on first use
 * (*is_default is set true for that case).  Returns a malloc'd path (caller
 * must free) or NULL on ENOMEM. */
char *config_key_file (const char *state_dir, bool *is_default);

#endif
