/* config.h - the launcher's configuration: defaults and the YAML file (read
 * with yamlfile.h, as kubeconfig files are).
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

#include "error.h"

#define CONFIG_DEFAULT_AMQP_URL_FMT "amqp://guest:guest@127.0.0.1:%d/"
#define CONFIG_DEFAULT_BROKER_PORT 5672
/* Deepest nesting of mappings and sequences a configuration file may have. */
#define CONFIG_MAX_DEPTH 32

struct config_local_node {
    char *name;
    int slots;      /* 0 = one per core of the machine */
    char *topology; /* NULL = this machine; else XML file or synthetic */
};

/* One entry of kubernetes.tolerations, as in a pod spec. */
struct config_toleration {
    char *key;      /* NULL = every key (with operator Exists) */
    char *operator; /* "Equal" (default) or "Exists" */
    char *value;
    char *effect; /* NULL = every effect */
};

struct config {
    char *amqp_url;           /* NULL = not configured: the embedded default */
    char *amqp_cacert;        /* CA file for amqps://, NULL = system CAs */
    char *provider;           /* "local" (default), "kubernetes", "ssh", "slurm" */
    bool provider_configured; /* the file names the provider */
    char *map_by;             /* "slot" (default) or "node" */
    int idle_timeout;         /* seconds a daemon started by krun waits for work: 600 */
    int presence_timeout_ms;  /* longest wait for presence answers: 2000 */
    int join_timeout_ms;      /* a node's bound to confirm or refuse a job: 5000 */
    int stall_timeout_ms;     /* tasks queued, no consumer: fail after 30000 */
    int start_timeout;        /* seconds to wait for started daemons: 60 */
    int delivery_limit;       /* attempts per rank before it fails: 5 */
    bool durable_queues;      /* durable task queues, persistent tasks: false */
    char *state_dir;          /* NULL = $XDG_STATE_HOME/krun or
                                 ~/.local/state/krun */

    /* local: section, the embedded provider */
    bool local_broker;     /* local.broker: start a private broker: true */
    int local_broker_port; /* local.broker_port: 5672 */
    int local_slots;       /* local.slots: slots of the default node, 0 = cores */
    char *local_pool;      /* local.pool: NULL = named after the key */
    int local_nnodes;      /* local.nodes: simulated nodes, 0 = one node named
                              after the host */
    struct config_local_node *local_nodes;

    /* kubernetes: section, the Kubernetes provider */
    char *kube_kubeconfig;        /* kubernetes.kubeconfig: NULL = kubectl's order */
    char *kube_context;           /* kubernetes.context: NULL = current-context */
    char *kube_namespace;         /* kubernetes.namespace: NULL = the context's */
    char *kube_image;             /* kubernetes.image: the worker image */
    char *kube_image_pull_policy; /* kubernetes.image_pull_policy: NULL = default */
    char *kube_pool;              /* kubernetes.pool: NULL = the user's name */
    char *kube_secret;            /* kubernetes.secret: NULL = krun-<pool> */
    char *kube_node_selector;     /* kubernetes.node_selector: label selector */
    char *kube_reserve_cpu;       /* kubernetes.reserve_cpu: quantity, "0" */
    char *kube_memory;            /* kubernetes.memory: quantity per pod, "2Gi" */
    char *kube_krund;             /* kubernetes.krund: daemon path in the image */
    char *kube_workdir;           /* kubernetes.workdir: tasks' directory, /work */
    char *kube_worker_amqp_url;   /* kubernetes.worker_amqp_url: NULL = krun's */
    char *kube_signing_key_file;  /* kubernetes.signing_key_file: NULL = random */
    bool kube_stage;              /* kubernetes.stage: send the program: true */
    int kube_api_timeout_ms;      /* kubernetes.api_timeout_ms: 30000 */
    int kube_pod_timeout;         /* kubernetes.pod_timeout: seconds, 300 */
    int kube_nimage_pull_secrets;
    char **kube_image_pull_secrets; /* kubernetes.image_pull_secrets */
    int kube_ntolerations;
    struct config_toleration *kube_tolerations; /* kubernetes.tolerations */

    /* ssh: section, the ssh provider */
    char *ssh_hosts;            /* ssh.hosts: "host,host:slots" as -H, NULL */
    char *ssh_hostfile;         /* ssh.hostfile: Open MPI or MPICH host file */
    char *ssh_command;          /* ssh.ssh_command: the client, "ssh" */
    char *ssh_krund;            /* ssh.krund: krund on the hosts, "krund" */
    int ssh_connect_timeout;    /* ssh.connect_timeout: seconds, 10 */
    bool ssh_require_all_hosts; /* ssh.require_all_hosts: false */

    /* slurm: section, the Slurm provider */
    char *slurm_krund; /* slurm.krund: krund on the nodes, "krund" */
    char *slurm_srun;  /* slurm.srun: "srun" */

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
