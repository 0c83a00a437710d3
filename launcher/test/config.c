/* Unit tests of the configuration file. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/config.h"
#include "tests/tap.h"
#include "tests/testdir.h"

static const char *dir; /* testdir.h */

static void test_defaults (void)
{
    struct config *c = config_create ();
    is_str (c->provider, "local", "default provider");
    is_str (c->map_by, "slot", "default map_by");
    is_int (c->idle_timeout, 600, "default idle_timeout");
    is_int (c->presence_timeout_ms, 2000, "default presence_timeout_ms");
    is_int (c->delivery_limit, 5, "default delivery_limit");
    is_int (c->local_broker_port, 5672, "default broker port");
    ok (!c->durable_queues, "task queues are not durable by default");
    ok (c->local_broker && c->local_nnodes == 0 && c->amqp_url == NULL,
        "broker on, no nodes, no URL");
    config_destroy (c);
}

static void test_full_file (void)
{
    struct config *c = config_create ();
    struct krun_error error = {{0}};
    const char *path =
        testdir_write ("full.yaml",
                       "# every key\n"
                       "amqp_url: amqp://u:p@h:1/v\n"
                       "amqp_cacert: ~/ca.pem\n"
                       "provider: local\n"
                       "map_by: node\n"
                       "idle_timeout: 30\n"
                       "presence_timeout_ms: 150\n"
                       "start_timeout: 9\n"
                       "delivery_limit: 2\n"
                       "durable_queues: yes\n"
                       "state_dir: /tmp/st\n"
                       "local:\n"
                       "  broker: no\n"
                       "  broker_port: 5999\n"
                       "  slots: 4\n"
                       "  nodes:\n"
                       "    - name: a\n"
                       "      slots: 128\n"
                       "    - {name: b.2, slots: 64, topology: \"core:4 pu:1\"}\n");
    if (!ok (config_load_file (c, path, &error) == 0, "full file loads (%s)",
             error.text))
        return;
    is_str (c->amqp_url, "amqp://u:p@h:1/v", "amqp_url");
    ok (c->amqp_cacert && strstr (c->amqp_cacert, "/ca.pem") &&
            c->amqp_cacert[0] == '/',
        "amqp_cacert with ~ expanded: %s", c->amqp_cacert);
    is_str (c->map_by, "node", "map_by");
    is_int (c->idle_timeout, 30, "idle_timeout");
    is_int (c->presence_timeout_ms, 150, "presence_timeout_ms");
    is_int (c->start_timeout, 9, "start_timeout");
    is_int (c->delivery_limit, 2, "delivery_limit");
    ok (c->durable_queues, "durable_queues");
    is_str (c->state_dir, "/tmp/st", "state_dir");
    ok (!c->local_broker, "local.broker: no");
    is_int (c->local_broker_port, 5999, "local.broker_port");
    is_int (c->local_slots, 4, "local.slots");
    is_int (c->local_nnodes, 2, "two nodes");
    ok (c->local_nnodes == 2 && !strcmp (c->local_nodes[1].name, "b.2") &&
            c->local_nodes[1].slots == 64 &&
            !strcmp (c->local_nodes[1].topology, "core:4 pu:1") &&
            c->local_nodes[0].topology == NULL,
        "node fields");
    ok (c->source && strstr (c->source, "full.yaml"), "source remembered");
    config_destroy (c);
}

static void test_empty_and_minimal (void)
{
    struct config *c = config_create ();
    ok (config_load_file (c, testdir_write ("empty.yaml", ""), NULL) == 0,
        "empty file loads");
    ok (config_load_file (c, testdir_write ("comments.yaml", "# nothing\n"), NULL) == 0,
        "comments only load");
    is_int (c->idle_timeout, 600, "defaults kept");
    ok (config_load_file (c, testdir_write ("min.yaml", "idle_timeout: 5\n"), NULL) ==
                0 &&
            c->idle_timeout == 5 && c->delivery_limit == 5,
        "minimal file sets one key");
    config_destroy (c);
}

static void test_kubernetes_section (void)
{
    struct config *c = config_create ();
    struct krun_error error = {{0}};
    const char *path =
        testdir_write ("kube.yaml",
                       "provider: kubernetes\n"
                       "kubernetes:\n"
                       "  kubeconfig: ~/kc\n"
                       "  context: prod\n"
                       "  namespace: hpc\n"
                       "  image: registry.example/krun:1\n"
                       "  pool: team-a\n"
                       "  secret: krun-secret\n"
                       "  node_selector: krun=yes\n"
                       "  reserve_cpu: 500m\n"
                       "  memory: 4Gi\n"
                       "  pod_timeout: 30\n"
                       "  stage: no\n"
                       "  image_pull_secrets: [regcred, other]\n"
                       "  tolerations:\n"
                       "    - {key: gpu, operator: Exists, effect: NoSchedule}\n"
                       "    - key: team\n"
                       "      value: a\n");

    is_str (c->kube_image, "krun-worker:latest", "default image");
    is_str (c->kube_memory, "2Gi", "default memory");
    is_int (c->kube_pod_timeout, 300, "default pod_timeout");
    ok (c->kube_stage, "programs are staged by default");
    if (!ok (config_load_file (c, path, &error) == 0, "kubernetes section loads (%s)",
             error.text))
        return;
    is_str (c->provider, "kubernetes", "provider");
    ok (c->kube_kubeconfig && c->kube_kubeconfig[0] == '/', "kubeconfig ~ expanded");
    is_str (c->kube_context, "prod", "context");
    is_str (c->kube_namespace, "hpc", "namespace");
    is_str (c->kube_image, "registry.example/krun:1", "image");
    is_str (c->kube_pool, "team-a", "pool");
    is_str (c->kube_secret, "krun-secret", "secret");
    is_str (c->kube_node_selector, "krun=yes", "node_selector");
    is_str (c->kube_reserve_cpu, "500m", "reserve_cpu");
    is_str (c->kube_memory, "4Gi", "memory");
    is_int (c->kube_pod_timeout, 30, "pod_timeout");
    ok (!c->kube_stage, "stage: no");
    ok (c->kube_nimage_pull_secrets == 2 &&
            strcmp (c->kube_image_pull_secrets[1], "other") == 0,
        "image_pull_secrets");
    ok (c->kube_ntolerations == 2 && strcmp (c->kube_tolerations[0].key, "gpu") == 0 &&
            strcmp (c->kube_tolerations[0].operator, "Exists") == 0 &&
            strcmp (c->kube_tolerations[0].effect, "NoSchedule") == 0 &&
            strcmp (c->kube_tolerations[1].value, "a") == 0 &&
            c->kube_tolerations[1].effect == NULL,
        "tolerations");
    /* A second file keeps what it does not set, and copies survive it. */
    ok (config_load_file (c, testdir_write ("kube2.yaml", "kubernetes:\n  pool: b\n"),
                          &error) == 0 &&
            strcmp (c->kube_pool, "b") == 0 && c->kube_ntolerations == 2,
        "second file overrides one key, keeps the lists");
    config_destroy (c);
}

static void test_ssh_slurm_sections (void)
{
    struct config *c = config_create ();
    struct krun_error error = {{0}};
    const char *path = testdir_write ("ssh.yaml",
                                      "provider: ssh\n"
                                      "ssh:\n"
                                      "  hosts: n1:4,n2\n"
                                      "  hostfile: ~/hosts\n"
                                      "  ssh_command: ssh -i ~/.ssh/cluster -J gw\n"
                                      "  krund: /opt/krun/sbin/krund\n"
                                      "  connect_timeout: 3\n"
                                      "  require_all_hosts: yes\n"
                                      "slurm:\n"
                                      "  krund: /shared/krund\n"
                                      "  srun: /usr/local/bin/srun\n");

    ok (!c->provider_configured, "no provider configured by default");
    is_str (c->ssh_command, "ssh", "default ssh_command");
    is_str (c->ssh_krund, "krund", "default ssh.krund");
    is_int (c->ssh_connect_timeout, 10, "default connect_timeout");
    ok (!c->ssh_require_all_hosts && !c->ssh_hosts && !c->ssh_hostfile,
        "by default no hosts, and not all required");
    is_str (c->slurm_krund, "krund", "default slurm.krund");
    is_str (c->slurm_srun, "srun", "default slurm.srun");
    if (!ok (config_load_file (c, path, &error) == 0,
             "ssh and slurm sections load (%s)", error.text))
        return;
    is_str (c->provider, "ssh", "provider");
    ok (c->provider_configured, "the file names the provider");
    is_str (c->ssh_hosts, "n1:4,n2", "ssh.hosts");
    ok (c->ssh_hostfile && c->ssh_hostfile[0] == '/' &&
            strcmp (c->ssh_hostfile + strlen (c->ssh_hostfile) - 6, "/hosts") == 0,
        "ssh.hostfile, ~ expanded");
    is_str (c->ssh_command, "ssh -i ~/.ssh/cluster -J gw", "ssh.ssh_command");
    is_str (c->ssh_krund, "/opt/krun/sbin/krund", "ssh.krund");
    is_int (c->ssh_connect_timeout, 3, "ssh.connect_timeout");
    ok (c->ssh_require_all_hosts, "ssh.require_all_hosts");
    is_str (c->slurm_krund, "/shared/krund", "slurm.krund");
    is_str (c->slurm_srun, "/usr/local/bin/srun", "slurm.srun");
    path = testdir_write ("slurm.yaml", "provider: slurm\n");
    ok (config_load_file (c, path, &error) == 0 && strcmp (c->provider, "slurm") == 0,
        "provider: slurm");
    path = testdir_write ("badprov.yaml", "provider: pbs\n");
    ok (config_load_file (c, path, &error) < 0, "provider: pbs is refused");
    ok (strstr (error.text,
                "key 'provider': expected local, kubernetes, ssh or slurm, got 'pbs'"),
        "naming every provider: %s", error.text);
    config_destroy (c);
}

static const struct {
    const char *text;
    const char *line;
    const char *key;
} bad_files[] = {
    {"idle_timout: 5\n", ":1:", "idle_timout"},
    {"a: 1\nlocal:\n  slotz: 3\n", ":1:", "'a'"},
    {"local:\n  slotz: 3\n", ":2:", "local.slotz"},
    {"idle_timeout: soon\n", ":1:", "idle_timeout"},
    {"idle_timeout: 0\n", ":1:", "idle_timeout"},
    {"idle_timeout: [1, 2]\n", ":1:", "idle_timeout"},
    {"map_by: core\n", ":1:", "map_by"},
    {"provider: cloud\n", ":1:", "provider"},
    {"local:\n  broker_port: 70000\n", ":2:", "local.broker_port"},
    {"local:\n  broker_port: 99999\n",
     ":2:", "expected an integer in 1..65535, got '99999'"},
    {"local:\n  broker: maybe\n", ":2:", "local.broker"},
    {"local: 3\n", ":1:", "local"},
    {"local:\n  nodes:\n    - name: a\n      slots: 1\n    - name: a\n      slots: 2\n",
     ":5:", "local.nodes[1]"},
    {"local:\n  nodes:\n    - slots: 1\n", ":3:", "local.nodes[0]"},
    {"local:\n  nodes:\n    - name: a\n", ":3:", "local.nodes[0]"},
    {"local:\n  nodes:\n    - name: a\n      slots: 0\n",
     ":4:", "local.nodes[0].slots"},
    {"local:\n  nodes:\n    - name: a b\n      slots: 1\n",
     ":3:", "local.nodes[0].name"},
    {"local:\n  nodes:\n    - name: a\n      slots: 1\n      cpus: 3\n",
     ":5:", "local.nodes[0].cpus"},
    {"idle_timeout: 5\nidle_timeout: 6\n", ":2:", "idle_timeout"},
    {"- a\n- b\n", ":1:", "top level"},
    {"kubernetes:\n  memory: lots\n", ":2:", "kubernetes.memory"},
    {"kubernetes:\n  reserve_cpu: -1\n", ":2:", "kubernetes.reserve_cpu"},
    {"kubernetes:\n  imag: x\n", ":2:", "kubernetes.imag"},
    {"kubernetes:\n  tolerations:\n    - effect: Never\n",
     ":3:", "kubernetes.tolerations[0].effect"},
    {"kubernetes:\n  tolerations:\n    - {key: a, colour: b}\n",
     ":3:", "kubernetes.tolerations[0].colour"},
    {"kubernetes:\n  image_pull_secrets: regcred\n",
     ":2:", "kubernetes.image_pull_secrets"},
    {"ssh:\n  hosts: [a, b]\n", ":2:", "ssh.hosts"},
    {"ssh:\n  connect_timeout: 0\n", ":2:", "ssh.connect_timeout"},
    {"ssh:\n  user: me\n", ":2:", "ssh.user"},
    {"slurm:\n  partition: x\n", ":2:", "slurm.partition"},
    {"ssh: yes\n", ":1:", "ssh"},
    {"idle_timeout: [1,\n", ":", "yaml"},
    /* 33 levels: refused before libyaml loads it, naming the line. */
    {"idle_timeout: 5\nlocal: "
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
     ":2:", "nested more than 32 levels"},
    {"a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n        i:\n"
     "         j:\n          k:\n           l:\n            m:\n             n:\n"
     "              o:\n               p:\n                q:\n                 r:\n"
     "                  s:\n                   t:\n                    u:\n"
     "                     v:\n                      w:\n                       x:\n"
     "                        y:\n                         z:\n"
     "                          A:\n                           B:\n"
     "                            C:\n                             D:\n"
     "                              E:\n                               F:\n"
     "                                G: 1\n",
     ":33:", "nested more than 32 levels"},
    {"local:\n  nodes:\n    - {name: a, slots: 1}\n    - {name: b, slots: 1}\n"
     "    - {name: c, slots: 1}\n    - {name: b, slots: 2}\n    - {name: a, slots: "
     "1}\n",
     ":6:", "node name 'b' used twice"},
};

static void test_bad_files (void)
{
    for (size_t i = 0; i < sizeof (bad_files) / sizeof (bad_files[0]); i++) {
        struct config *c = config_create ();
        struct krun_error error = {{0}};
        const char *path = testdir_write ("bad.yaml", bad_files[i].text);
        errno = 0;
        int rc = config_load_file (c, path, &error);
        bool named = strstr (error.text, "bad.yaml") &&
                     strstr (error.text, bad_files[i].line) &&
                     (strcmp (bad_files[i].key, "yaml") == 0 ||
                      strstr (error.text, bad_files[i].key));
        ok (rc < 0 && errno == EINVAL && named, "bad file %zu refused: %s", i,
            error.text);
        ok (c->idle_timeout == 600 && c->local_nnodes == 0,
            "bad file %zu changed nothing", i);
        config_destroy (c);
    }
    struct config *c = config_create ();
    struct krun_error error = {{0}};
    errno = 0;
    ok (config_load_file (c, "/no/such/krun.yaml", &error) < 0 && errno == ENOENT &&
            strstr (error.text, "/no/such/krun.yaml"),
        "missing explicit file: ENOENT naming it");
    config_destroy (c);
}

/* A deep document is refused at once, and a long node list loads (in time
 * linear in its length: the bound is only a guard against hanging). */
static void test_large_files (void)
{
    size_t depth = 100000, nnodes = 50000;
    char *deep = malloc (4 + 2 * depth + 2), *p = deep;
    struct krun_error error = {{0}};
    struct config *c = config_create ();

    p += sprintf (p, "a: ");
    memset (p, '[', depth);
    memset (p + depth, ']', depth);
    strcpy (p + 2 * depth, "\n");
    errno = 0;
    ok (config_load_file (c, testdir_write ("deep.yaml", deep), &error) < 0 &&
            errno == EINVAL && strstr (error.text, "deep.yaml:1: nested more than"),
        "100,000 nested brackets refused: %s", error.text);
    free (deep);

    char *list = malloc (nnodes * 40 + 32);
    p = list + sprintf (list, "local:\n  nodes:\n");
    for (size_t i = 0; i < nnodes; i++)
        p += sprintf (p, "    - name: n%zu\n      slots: 1\n", i);
    ok (config_load_file (c, testdir_write ("long.yaml", list), &error) == 0 &&
            c->local_nnodes == (int)nnodes &&
            strcmp (c->local_nodes[nnodes - 1].name, "n49999") == 0,
        "a list of 50,000 nodes loads");
    free (list);
    config_destroy (c);
}

static void test_url_precedence (void)
{
    struct config *c = config_create ();
    bool is_default = false;
    char *url;

    unsetenv ("KRUN_AMQP_URL");
    c->local_broker_port = 6001;
    url = config_amqp_url (c, &is_default);
    ok (is_default && !strcmp (url, "amqp://guest:guest@127.0.0.1:6001/"),
        "default URL on local.broker_port: %s", url);
    free (url);
    setenv ("KRUN_AMQP_URL", "amqp://env/", 1);
    url = config_amqp_url (c, &is_default);
    ok (!is_default && !strcmp (url, "amqp://env/"), "KRUN_AMQP_URL over the default");
    free (url);
    c->amqp_url = strdup ("amqp://file/");
    url = config_amqp_url (c, &is_default);
    ok (!is_default && !strcmp (url, "amqp://file/"), "the file over KRUN_AMQP_URL");
    free (url);
    unsetenv ("KRUN_AMQP_URL");
    config_destroy (c);
}

static void test_load_precedence (void)
{
    char xdg[128], home[128], path[256];
    struct config *c;

    snprintf (xdg, sizeof (xdg), "%s/xdg", dir);
    snprintf (home, sizeof (home), "%s/home", dir);
    snprintf (path, sizeof (path), "%s/krun", xdg);
    mkdir (xdg, 0700);
    mkdir (path, 0700);
    mkdir (home, 0700);
    snprintf (path, sizeof (path), "%s/.config", home);
    mkdir (path, 0700);
    snprintf (path, sizeof (path), "%s/.config/krun", home);
    mkdir (path, 0700);
    testdir_write ("xdg/krun/krun.yaml", "idle_timeout: 11\n");
    testdir_write ("home/.config/krun/krun.yaml", "idle_timeout: 22\n");
    char explicit[256];
    snprintf (explicit, sizeof (explicit), "%s",
              testdir_write ("explicit.yaml", "idle_timeout: 33\n"));
    char env_path[256];
    snprintf (env_path, sizeof (env_path), "%s/env.yaml", dir);
    testdir_write ("env.yaml", "idle_timeout: 44\n");

    setenv ("HOME", home, 1);
    unsetenv ("XDG_CONFIG_HOME");
    unsetenv ("KRUN_CONFIG");
    c = config_create ();
    ok (config_load (c, NULL, NULL) == 0 && c->idle_timeout == 22,
        "~/.config/krun/krun.yaml");
    config_destroy (c);
    setenv ("XDG_CONFIG_HOME", xdg, 1);
    c = config_create ();
    ok (config_load (c, NULL, NULL) == 0 && c->idle_timeout == 11,
        "$XDG_CONFIG_HOME/krun/krun.yaml first");
    config_destroy (c);
    setenv ("KRUN_CONFIG", env_path, 1);
    c = config_create ();
    ok (config_load (c, NULL, NULL) == 0 && c->idle_timeout == 44,
        "$KRUN_CONFIG first");
    config_destroy (c);
    c = config_create ();
    ok (config_load (c, explicit, NULL) == 0 && c->idle_timeout == 33,
        "--config first");
    config_destroy (c);
    unsetenv ("KRUN_CONFIG");
    snprintf (path, sizeof (path), "%s/nowhere", dir);
    setenv ("XDG_CONFIG_HOME", path, 1);
    c = config_create ();
    ok (config_load (c, NULL, NULL) == 0 && c->idle_timeout == 600,
        "no default file: defaults, no error");
    config_destroy (c);
    unsetenv ("XDG_CONFIG_HOME");
}

static void test_state_dir (void)
{
    struct config *c = config_create ();
    char want[256];
    struct stat st;
    char *got;

    snprintf (want, sizeof (want), "%s/state/deep", dir);
    setenv ("KRUN_STATE_DIR", want, 1);
    got = config_state_dir (c, NULL);
    ok (got && !strcmp (got, want) && stat (want, &st) == 0 &&
            (st.st_mode & 0777) == 0700,
        "KRUN_STATE_DIR created with mode 0700");
    free (got);
    struct krun_error error;
    chmod (want, 0777);
    errno = 0;
    got = config_state_dir (c, &error);
    ok (!got && errno == EACCES && strstr (error.text, want) &&
            strstr (error.text, "mode 0777"),
        "a state directory others may write is refused: %s", error.text);
    free (got);
    chmod (want, 0755);
    got = config_state_dir (c, &error);
    ok (got != NULL, "one others may read is used");
    free (got);
    unsetenv ("KRUN_STATE_DIR");
    snprintf (want, sizeof (want), "%s/xs", dir);
    setenv ("XDG_STATE_HOME", want, 1);
    got = config_state_dir (c, NULL);
    ok (got && strstr (got, "/xs/krun"), "then $XDG_STATE_HOME/krun");
    free (got);
    unsetenv ("XDG_STATE_HOME");
    got = config_state_dir (c, NULL);
    ok (got && strstr (got, "/home/.local/state/krun"), "then ~/.local/state/krun");
    free (got);
    config_destroy (c);
}

int main (void)
{
    dir = testdir_create ("config-test");
    plan (NO_PLAN);
    test_defaults ();
    test_full_file ();
    test_empty_and_minimal ();
    test_bad_files ();
    test_large_files ();
    test_kubernetes_section ();
    test_ssh_slurm_sections ();
    test_url_precedence ();
    test_load_precedence ();
    test_state_dir ();
    done_testing ();
    testdir_remove ();
    return exit_status ();
}
