/* local.c - see local.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "local.h"

#define RABBITMQ_SERVER "/usr/lib/rabbitmq/bin/rabbitmq-server"

static bool port_answers (int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (port)};
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0)
        return false;
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ok = connect (fd, (struct sockaddr *)&sa, sizeof (sa)) == 0;
    close (fd);
    return ok;
}

static int write_file (const char *path, const char *text, struct krun_error *errp)
{
    FILE *f = fopen (path, "w");
    if (!f || fputs (text, f) < 0 || fclose (f) != 0)
        return errprintf_errno (errp, "cannot write %s", path);
    return 0;
}

/* Fork a detached process (own session, not our child once started) that
 * runs argv with env additions, output appended to log.  Returns 0 or -1. */
static int spawn_detached (const char *path, char *const argv[], char *const env_add[],
                           const char *log, struct krun_error *errp)
{
    int status;
    pid_t pid = fork ();

    if (pid < 0)
        return errprintf_errno (errp, "cannot start %s", path);
    if (pid == 0) {
        if (setsid () < 0 || fork () != 0)
            _exit (0);
        int in = open ("/dev/null", O_RDONLY);
        int out = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (in < 0 || out < 0 || dup2 (in, 0) < 0 || dup2 (out, 1) < 0 ||
            dup2 (out, 2) < 0)
            _exit (127);
        for (int i = 0; env_add && env_add[i]; i++)
            putenv (env_add[i]);
        execv (path, argv);
        dprintf (2, "cannot execute %s: %s\n", path, strerror (errno));
        _exit (127);
    }
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

static pid_t read_pid (const char *path);
static bool is_running (pid_t pid);
static void wait_stopped (const pid_t *pids, int n, int timeout_ms);

/* How often the watchdog looks, and how much longer than the daemons' idle
 * timeout the broker stays: daemons must be gone before their broker. */
#define WATCHDOG_PERIOD_S 30
#define WATCHDOG_MARGIN_S 60

/* A detached process that stops the private broker once no krun has used it
 * for idle_timeout + margin seconds (krun touches DIR/last-used on every
 * run), so the embedded broker leaves like the daemons do. */
static int start_watchdog (const char *dir, int idle_timeout, struct krun_error *errp)
{
    char stamp[PATH_MAX + 16], pidfile[PATH_MAX + 16];
    pid_t pid = fork ();
    int status;

    if (pid < 0)
        return errprintf_errno (errp, "cannot start the broker watchdog");
    if (pid > 0) {
        while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
        return 0;
    }
    if (setsid () < 0 || fork () != 0)
        _exit (0);
    if (chdir ("/") < 0)
        _exit (1);
    for (int fd = 0; fd < 3; fd++) {
        int null = open ("/dev/null", O_RDWR);
        if (null >= 0 && null != fd) {
            dup2 (null, fd);
            close (null);
        }
    }
    snprintf (stamp, sizeof (stamp), "%s/last-used", dir);
    snprintf (pidfile, sizeof (pidfile), "%s/pid", dir);
    local_broker_touch_dir (dir);
    for (;;) {
        struct stat st;
        pid_t broker;
        sleep (WATCHDOG_PERIOD_S);
        /* The pid file appears a moment after the port answers. */
        if ((broker = read_pid (pidfile)) <= 0 || kill (broker, 0) < 0)
            _exit (0);
        if (stat (stamp, &st) == 0 &&
            time (NULL) - st.st_mtime > idle_timeout + WATCHDOG_MARGIN_S) {
            kill (broker, SIGTERM);
            _exit (0);
        }
    }
}

void local_broker_touch_dir (const char *dir)
{
    char stamp[PATH_MAX + 16];
    int fd;

    snprintf (stamp, sizeof (stamp), "%s/last-used", dir);
    if ((fd = open (stamp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
        futimens (fd, NULL);
        close (fd);
    }
}

void local_broker_touch (const char *state_dir)
{
    char dir[PATH_MAX];
    struct stat st;

    snprintf (dir, sizeof (dir), "%s/broker", state_dir);
    if (stat (dir, &st) == 0)
        local_broker_touch_dir (dir);
}

int local_broker_start (const struct config *cfg, const char *state_dir,
                        struct krun_error *errp)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], text[512];
    char env[12][PATH_MAX + 64];
    char *env_add[13];
    int port = cfg->local_broker_port;
    char *argv[] = {RABBITMQ_SERVER, NULL};

    if (access (RABBITMQ_SERVER, X_OK) < 0)
        return errprintf (
            errp,
            "no broker at 127.0.0.1:%d and cannot start one: %s is missing "
            "(apt-get install rabbitmq-server)",
            port, RABBITMQ_SERVER);
    snprintf (dir, sizeof (dir), "%s/broker", state_dir);
    if (mkdir (dir, 0700) < 0 && errno != EEXIST)
        return errprintf_errno (errp, "cannot create %s", dir);
    snprintf (path, sizeof (path), "%s/rabbitmq.conf", dir);
    /* consumer_timeout: a task is unacked while it runs, and RabbitMQ closes
     * the channel of a delivery unacked for longer (30 min by default). */
    snprintf (text, sizeof (text),
              "listeners.tcp.default = 127.0.0.1:%d\n"
              "consumer_timeout = 604800000\n"
              "log.console = false\n"
              "log.file.level = warning\n",
              port);
    if (write_file (path, text, errp) < 0)
        return -1;
    snprintf (path, sizeof (path), "%s/enabled_plugins", dir);
    if (write_file (path, "[].\n", errp) < 0)
        return -1;
    int k = 0;
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_NODENAME=krun-%d-%d@localhost",
              (int)getuid (), port);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_NODE_PORT=%d", port);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_DIST_PORT=%d", port + 20000);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_MNESIA_BASE=%s/mnesia", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_LOG_BASE=%s/log", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_PID_FILE=%s/pid", dir);
    snprintf (env[k++], sizeof (env[0]),
              "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_FEATURE_FLAGS_FILE=%s/feature_flags",
              dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_CONFIG_FILE=%s/rabbitmq", dir);
    snprintf (env[k++], sizeof (env[0]), "HOME=%s", dir);
    for (int i = 0; i < k; i++)
        env_add[i] = env[i];
    env_add[k] = NULL;
    snprintf (path, sizeof (path), "%s/broker.log", dir);
    if (spawn_detached (RABBITMQ_SERVER, argv, env_add, path, errp) < 0)
        return -1;
    int64_t deadline = clock_mono_ms () + (int64_t)cfg->start_timeout * 1000;
    while (!port_answers (port)) {
        if (clock_mono_ms () > deadline)
            return errprintf (
                errp,
                "the private broker did not answer on 127.0.0.1:%d within "
                "%d s; see %s",
                port, cfg->start_timeout, path);
        usleep (100 * 1000);
    }
    return start_watchdog (dir, cfg->idle_timeout, errp);
}

static pid_t read_pid (const char *path)
{
    FILE *f = fopen (path, "r");
    long pid = 0;

    if (!f)
        return 0;
    if (fscanf (f, "%ld", &pid) != 1)
        pid = 0;
    fclose (f);
    return (pid_t)pid;
}

int local_broker_stop (const char *state_dir, struct krun_error *errp)
{
    char path[PATH_MAX];
    pid_t pid;

    snprintf (path, sizeof (path), "%s/broker/pid", state_dir);
    if ((pid = read_pid (path)) <= 0 || kill (pid, 0) < 0)
        return 0;
    if (kill (pid, SIGTERM) < 0)
        return errprintf_errno (errp, "cannot stop the private broker (pid %d)",
                                (int)pid);
    wait_stopped (&pid, 1, 30000);
    if (is_running (pid))
        kill (pid, SIGKILL);
    unlink (path);
    return 1;
}

/* krund: beside krun in the build tree, else installed, else $PATH. */
static void krund_path (char *buf, size_t size)
{
    char self[PATH_MAX];
    const char *env = getenv ("KRUN_KRUND");
    ssize_t n;

    if (env && *env) {
        snprintf (buf, size, "%s", env);
        return;
    }
    if ((n = readlink ("/proc/self/exe", self, sizeof (self) - 1)) > 0) {
        self[n] = '\0';
        char *slash = strrchr (self, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf (buf, size, "%s/../runtime/krund", self) < (int)size &&
                access (buf, X_OK) == 0)
                return;
            if (snprintf (buf, size, "%s/../sbin/krund", self) < (int)size &&
                access (buf, X_OK) == 0)
                return;
        }
    }
    snprintf (buf, size, "%s/krund", KRUN_SBINDIR);
    if (access (buf, X_OK) != 0)
        snprintf (buf, size, "krund");
}

static int start_daemon (const struct config *cfg, const char *url,
                         const char *state_dir, const char *node, int slots,
                         const char *topology, struct krun_error *errp)
{
    char krund[PATH_MAX], log[PATH_MAX + 64], slots_s[16], idle_s[16];
    char url_env[4096], cacert_env[PATH_MAX + 32], key_env[PATH_MAX + 32];
    char state_env[PATH_MAX + 32], pool_env[128];
    char *env_add[6] = {url_env, key_env, state_env, NULL, NULL, NULL};
    int nenv = 3;
    char *argv[12];
    bool is_default;
    char *key_file;
    int k = 0;

    krund_path (krund, sizeof (krund));
    snprintf (log, sizeof (log), "%s/krund-%s.log", state_dir, node);
    snprintf (slots_s, sizeof (slots_s), "%d", slots);
    snprintf (idle_s, sizeof (idle_s), "%d", cfg->idle_timeout);
    /* The URL may hold a password: environment, never argv (ps shows argv). */
    snprintf (url_env, sizeof (url_env), "KRUN_AMQP_URL=%s", url);
    /* The daemons verify job messages with the launcher's key (krun made
     * sure the file exists before it starts them). */
    if (!(key_file = config_key_file (state_dir, &is_default)))
        return errprintf_errno (errp, "cannot start krund for node %s", node);
    snprintf (key_env, sizeof (key_env), "KRUN_KEY_FILE=%s", key_file);
    free (key_file);
    /* krund keeps its cache and scratch space there (userdir.h). */
    snprintf (state_env, sizeof (state_env), "KRUN_STATE_DIR=%s", state_dir);
    if (cfg->amqp_cacert) {
        snprintf (cacert_env, sizeof (cacert_env), "KRUN_AMQP_CACERT=%s",
                  cfg->amqp_cacert);
        env_add[nenv++] = cacert_env;
    }
    /* local.pool: else krund names the pool after the key, as krun does. */
    if (cfg->local_pool) {
        snprintf (pool_env, sizeof (pool_env), "KRUN_POOL=%s", cfg->local_pool);
        env_add[nenv++] = pool_env;
    }
    argv[k++] = krund;
    argv[k++] = "--node";
    argv[k++] = (char *)node;
    argv[k++] = "--idle-timeout";
    argv[k++] = idle_s;
    if (slots > 0) {
        argv[k++] = "--slots";
        argv[k++] = slots_s;
    }
    if (topology) {
        argv[k++] = "--topology";
        argv[k++] = (char *)topology;
    }
    argv[k] = NULL;
    return spawn_detached (krund, argv, env_add, log, errp);
}

static bool is_krund (pid_t pid)
{
    char path[64], comm[64] = "";
    snprintf (path, sizeof (path), "/proc/%d/comm", (int)pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return false;
    if (!fgets (comm, sizeof (comm), f))
        comm[0] = '\0';
    fclose (f);
    return strncmp (comm, "krund", 5) == 0;
}

/* True while pid runs: a zombie (exited, not yet reaped by whoever adopted
 * the detached daemon) counts as gone. */
static bool is_running (pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    bool running = false;

    snprintf (path, sizeof (path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen (path, "r")))
        return false;
    if (fgets (line, sizeof (line), f)) {
        const char *paren = strrchr (line, ')');
        running = paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
    }
    fclose (f);
    return running;
}

/* Wait until none of pids runs, at most timeout_ms. */
static void wait_stopped (const pid_t *pids, int n, int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;

    for (int i = 0; i < n; i++)
        while (pids[i] > 0 && is_running (pids[i]) && clock_mono_ms () < deadline)
            usleep (20 * 1000);
}

static void stop_daemon (const struct presence_node *n)
{
    if (n->pid > 0 && is_krund (n->pid)) {
        kill (n->pid, SIGTERM);
        wait_stopped (&n->pid, 1, 15000);
    }
}

static void default_node_name (char *buf, size_t size)
{
    if (gethostname (buf, size) < 0)
        snprintf (buf, size, "localhost");
    buf[size - 1] = '\0';
}

int local_node_count (const struct config *cfg)
{
    return cfg->local_nnodes > 0 ? cfg->local_nnodes : 1;
}

/* Whether the daemon n runs another krund than the one krun would start
 * now: its binary was rebuilt or upgraded since the daemon started, and a
 * warm daemon of an older build may not know what this krun sends.  Told
 * by the inode of /proc/PID/exe; false when that cannot be told (the daemon
 * is not a krund of this machine that this user may inspect). */
static bool runs_other_build (const struct presence_node *n)
{
    char exe[64], krund[PATH_MAX];
    struct stat running, current;

    if (n->pid <= 0 || !is_krund (n->pid))
        return false;
    krund_path (krund, sizeof (krund));
    snprintf (exe, sizeof (exe), "/proc/%d/exe", n->pid);
    if (stat (exe, &running) < 0 || stat (krund, &current) < 0)
        return false;
    return running.st_dev != current.st_dev || running.st_ino != current.st_ino;
}

static int ensure_one (const struct config *cfg, const char *url, const char *state_dir,
                       const struct presence *p, const char *node, int slots,
                       const char *topology, struct krun_error *errp)
{
    const struct presence_node *n = presence_find (p, node);
    bool other_slots = n && slots != 0 && n->nslots != slots;

    if (n && !other_slots && !runs_other_build (n))
        return 0;
    if (n) {
        if (other_slots)
            fprintf (stderr,
                     "krun: restarting the daemon of node %s with %d slots (had %d)\n",
                     node, slots, n->nslots);
        else
            fprintf (stderr,
                     "krun: restarting the daemon of node %s: its krund was rebuilt or "
                     "replaced since it started\n",
                     node);
        stop_daemon (n);
    }
    if (start_daemon (cfg, url, state_dir, node, slots, topology, errp) < 0)
        return -1;
    return 1;
}

int local_daemons_ensure (const struct config *cfg, const char *url,
                          const char *state_dir, const struct presence *p, int slots,
                          struct krun_error *errp)
{
    int started = 0, rc;

    if (cfg->local_nnodes == 0) {
        char host[256];
        default_node_name (host, sizeof (host));
        rc = ensure_one (cfg, url, state_dir, p, host,
                         slots > 0 ? slots : cfg->local_slots, NULL, errp);
        return rc;
    }
    for (int i = 0; i < cfg->local_nnodes; i++) {
        const struct config_local_node *n = &cfg->local_nodes[i];
        if ((rc = ensure_one (cfg, url, state_dir, p, n->name, n->slots, n->topology,
                              errp)) < 0)
            return -1;
        started += rc;
    }
    return started;
}

int local_daemons_stop (const struct presence *p)
{
    pid_t *pids = calloc (presence_count (p) + 1, sizeof (*pids));
    int stopped = 0;

    if (!pids)
        return 0;
    /* Signal them all first: they stop in parallel. */
    for (int i = 0; i < presence_count (p); i++) {
        const struct presence_node *n = presence_node (p, i);
        if (n->pid > 0 && is_krund (n->pid) && kill (n->pid, SIGTERM) == 0)
            pids[stopped++] = n->pid;
    }
    wait_stopped (pids, stopped, 15000);
    free (pids);
    return stopped;
}
