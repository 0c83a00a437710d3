/* privatebroker.c - see privatebroker.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pidfile.h"
#include "privatebroker.h"
#include "scratch.h"
#include "userdir.h"

#define RABBITMQ_SERVER "/usr/lib/rabbitmq/bin/rabbitmq-server"
#define EPMD "/usr/bin/epmd"

/* Erlang distribution and epmd ports, derived from the AMQP port: 5672
 * gives 25672 (RabbitMQ's own rule) and 29672. */
#define DIST_PORT_OFFSET 20000
#define EPMD_PORT_OFFSET 24000

/* How often the supervisor looks at the last use, and how much longer than
 * the daemons' idle timeout the broker stays: daemons must be gone before
 * their broker. */
#define WATCHDOG_PERIOD_S 30
#define WATCHDOG_MARGIN_S 60
/* Bounds of the supervisor's waits: the broker to stop after SIGTERM (then
 * SIGKILL), and `krun down` for the supervisor.  epmd gets start_timeout to
 * listen, like the broker. */
#define BROKER_STOP_S 30
#define STOP_WAIT_MS 60000

#define CREDENTIALS_MAX 256

static int derived_port (int port, int offset)
{
    int p = port + offset;
    return p <= 65535 ? p : p - (65536 - 1024);
}

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

/* Merge owner into uid: -1 nobody yet, -2 several users. */
static long merge_uid (long uid, long owner)
{
    return uid == -1 || uid == owner ? owner : -2;
}

/* Whether a listener's address takes connections to 127.0.0.1: 127.0.0.1,
 * 0.0.0.0, ::, ::ffff:127.0.0.1 (a is in network order). */
static bool takes_loopback (int family, const uint32_t a[4])
{
    if (family == AF_INET)
        return a[0] == htonl (INADDR_LOOPBACK) || a[0] == 0;
    return a[0] == 0 && a[1] == 0 &&
           ((a[2] == 0 && a[3] == 0) ||
            (a[2] == htonl (0xffff) && a[3] == htonl (INADDR_LOOPBACK)));
}

/* The TCP listeners of family on port, asked of the kernel (sock_diag
 * netlink: it lists the listening sockets only, where /proc/net/tcp walks
 * every socket of the machine at each read).  Returns the merged uid as
 * listener_uid() does, or -3 if the kernel cannot be asked. */
static long diag_listener_uid (int family, int port)
{
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } req = {
        .header = {.nlmsg_len = sizeof (req),
                   .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .request = {.sdiag_family = family,
                    .sdiag_protocol = IPPROTO_TCP,
                    .idiag_states = 1 << TCP_LISTEN},
    };
    long buf[8192 / sizeof (long)];
    long uid = -1;
    bool done = false;
    int fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (fd < 0)
        return -3;
    if (send (fd, &req, sizeof (req), 0) != sizeof (req)) {
        close (fd);
        return -3;
    }
    while (!done) {
        ssize_t n = recv (fd, buf, sizeof (buf), 0);
        if (n <= 0) {
            uid = -3;
            break;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK (h, (size_t)n);
             h = NLMSG_NEXT (h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_type == NLMSG_ERROR)
                    uid = -3;
                done = true;
                break;
            }
            const struct inet_diag_msg *m = NLMSG_DATA (h);
            if (ntohs (m->id.idiag_sport) == port &&
                takes_loopback (m->idiag_family, m->id.idiag_src))
                uid = merge_uid (uid, m->idiag_uid);
        }
    }
    close (fd);
    return uid;
}

/* Who listens for TCP on port where a connection to 127.0.0.1 can land.
 * Returns the listeners' uid if they are all one user's, -2 if several
 * users listen, -1 if nobody does. */
static long listener_uid (int port)
{
    long v4 = diag_listener_uid (AF_INET, port);
    long v6 = v4 == -3 ? -3 : diag_listener_uid (AF_INET6, port);

    if (v4 != -3 && v6 != -3)
        return v6 == -1 ? v4 : merge_uid (v4, v6);
    /* No sock_diag (an old or restricted kernel): /proc/net/tcp. */
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    static const char *const addresses[] = {"0100007F", "00000000",
                                            "00000000000000000000000000000000",
                                            "0000000000000000FFFF00000100007F"};
    long uid = -1;

    for (size_t i = 0; i < sizeof (tables) / sizeof (tables[0]); i++) {
        FILE *f = fopen (tables[i], "re");
        char line[512], address[64];
        unsigned local_port, state;
        long owner;

        if (!f)
            continue;
        while (fgets (line, sizeof (line), f))
            if (sscanf (line, " %*u: %63[0-9A-F]:%x %*s %x %*s %*s %*s %ld", address,
                        &local_port, &state, &owner) == 4 &&
                state == 0x0A && local_port == (unsigned)port)
                for (size_t k = 0; k < sizeof (addresses) / sizeof (addresses[0]); k++)
                    if (strcmp (address, addresses[k]) == 0)
                        uid = merge_uid (uid, owner);
        fclose (f);
    }
    return uid;
}

/* Write text as path, mode 0600, never through a symbolic link. */
static int write_private_file (const char *path, const char *text,
                               struct krun_error *errp)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t len = strlen (text);

    if (fd < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    if (fchmod (fd, 0600) < 0 || write (fd, text, len) != (ssize_t)len) {
        errprintf_errno (errp, "cannot write %s", path);
        close (fd);
        return -1;
    }
    if (close (fd) < 0)
        return errprintf_errno (errp, "cannot write %s", path);
    return 0;
}

/* STATE_DIR/broker: a directory of this user's, not a symbolic link, that
 * only this user may enter. */
static int broker_dir (const char *state_dir, char *dir, size_t size,
                       struct krun_error *errp)
{
    if (snprintf (dir, size, "%s/broker", state_dir) >= (int)size) {
        errno = ENAMETOOLONG;
        return errprintf_errno (errp, "%s/broker", state_dir);
    }
    return userdir_make (dir, errp);
}

static int open_lock (const char *dir, bool create)
{
    char path[PATH_MAX + 16];

    snprintf (path, sizeof (path), "%s/lock", dir);
    return open (path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
}

/* Whether somebody (the supervisor, or a krun starting one) holds the lock
 * of dir. */
static bool lock_held (const char *dir)
{
    int fd = open_lock (dir, false);
    bool held;

    if (fd < 0)
        return false;
    held = flock (fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close (fd);
    return held;
}

/* The number that the file dir/name starts with, 0 if none. */
static int read_number (const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    FILE *f;
    int value = 0;

    snprintf (path, sizeof (path), "%s/%s", dir, name);
    if (!(f = fopen (path, "re")))
        return 0;
    if (fscanf (f, "%d", &value) != 1)
        value = 0;
    fclose (f);
    return value;
}

bool private_broker_running (const char *state_dir, pid_t *pid, int *port)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];

    snprintf (dir, sizeof (dir), "%s/broker", state_dir);
    if (!lock_held (dir))
        return false;
    snprintf (path, sizeof (path), "%s/supervisor.pid", dir);
    *pid = pidfile_running (path);
    *port = read_number (dir, "port");
    return true;
}

/* "USER PASSWORD" from dir/credentials, checked: a regular file of this
 * user's that nobody else may read.  Returns 0, or -1 with errno (ENOENT:
 * none yet). */
static int read_credentials (const char *dir, char *user, char *password,
                             struct krun_error *errp)
{
    char path[PATH_MAX + 16], text[CREDENTIALS_MAX];
    struct stat st;
    ssize_t n;
    int fd;

    snprintf (path, sizeof (path), "%s/credentials", dir);
    if ((fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return errprintf_errno (errp, "cannot read the broker credentials %s", path);
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != getuid () ||
        (st.st_mode & 077)) {
        close (fd);
        errno = EPERM;
        return errprintf (errp,
                          "broker credentials %s: not a file of this user's with mode "
                          "0600: refusing to use it",
                          path);
    }
    n = read (fd, text, sizeof (text) - 1);
    close (fd);
    if (n < 0)
        return errprintf_errno (errp, "cannot read the broker credentials %s", path);
    text[n] = '\0';
    if (sscanf (text, "%63[0-9a-z-] %127[0-9a-f]", user, password) != 2) {
        explicit_bzero (text, sizeof (text));
        errno = EINVAL;
        return errprintf (errp, "broker credentials %s: malformed", path);
    }
    explicit_bzero (text, sizeof (text));
    return 0;
}

static int random_hex (char *out, size_t nbytes)
{
    unsigned char raw[32];

    if (nbytes > sizeof (raw) || getrandom (raw, nbytes, 0) != (ssize_t)nbytes)
        return -1;
    for (size_t i = 0; i < nbytes; i++)
        snprintf (out + 2 * i, 3, "%02x", raw[i]);
    explicit_bzero (raw, sizeof (raw));
    return 0;
}

/* Make new credentials in dir.  RabbitMQ creates its default user only in a
 * new database, so the old one (which may hold `guest`) goes. */
static int create_credentials (const char *dir, struct krun_error *errp)
{
    char user[64] = "krun-", password[64], text[CREDENTIALS_MAX];
    char path[PATH_MAX + 16];
    int fd, len;

    if (random_hex (user + 5, 6) < 0 || random_hex (password, 24) < 0)
        return errprintf_errno (errp, "cannot make broker credentials");
    len = snprintf (text, sizeof (text), "%s %s\n", user, password);
    snprintf (path, sizeof (path), "%s/mnesia", dir);
    if (access (path, F_OK) == 0 && scratch_remove (path, errp) < 0)
        return -1;
    snprintf (path, sizeof (path), "%s/credentials", dir);
    fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write (fd, text, len) != len || close (fd) < 0) {
        errprintf_errno (errp, "cannot write the broker credentials %s", path);
        if (fd >= 0)
            unlink (path);
        explicit_bzero (text, sizeof (text));
        return -1;
    }
    explicit_bzero (text, sizeof (text));
    explicit_bzero (password, sizeof (password));
    return 0;
}

static int write_config (const char *dir, int port, struct krun_error *errp)
{
    char user[64], password[128], text[1024], path[PATH_MAX + 32];
    int rc;

    if (read_credentials (dir, user, password, errp) < 0)
        return -1;
    /* consumer_timeout: a task is unacked while it runs, and RabbitMQ closes
     * the channel of a delivery unacked for longer (30 min by default).
     * default_user: the only user of a new database, instead of guest. */
    snprintf (text, sizeof (text),
              "listeners.tcp.default = 127.0.0.1:%d\n"
              "default_user = %s\n"
              "default_pass = %s\n"
              "consumer_timeout = 604800000\n"
              "log.console = false\n"
              "log.file.level = warning\n",
              port, user, password);
    explicit_bzero (password, sizeof (password));
    snprintf (path, sizeof (path), "%s/rabbitmq.conf", dir);
    rc = write_private_file (path, text, errp);
    explicit_bzero (text, sizeof (text));
    if (rc < 0)
        return -1;
    snprintf (path, sizeof (path), "%s/enabled_plugins", dir);
    if (write_private_file (path, "[].\n", errp) < 0)
        return -1;
    /* Empty: the system's rabbitmq-env.conf and advanced.config are not
     * this broker's. */
    snprintf (path, sizeof (path), "%s/rabbitmq-env.conf", dir);
    if (write_private_file (path, "", errp) < 0)
        return -1;
    snprintf (path, sizeof (path), "%s/advanced.config", dir);
    if (write_private_file (path, "[].\n", errp) < 0)
        return -1;
    snprintf (path, sizeof (path), "%s/port", dir);
    snprintf (text, sizeof (text), "%d\n", port);
    return write_private_file (path, text, errp);
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal (int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void supervisor_log (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));
static void supervisor_log (const char *fmt, ...)
{
    va_list ap;
    char when[32];
    time_t now = time (NULL);

    strftime (when, sizeof (when), "%Y-%m-%d %H:%M:%S", localtime (&now));
    fprintf (stderr, "%s krun broker supervisor[%d]: ", when, (int)getpid ());
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
}

/* Fork and exec path in its own process group (so that the whole broker,
 * beam and its helpers, can be killed at once), to get SIGTERM when the
 * supervisor dies.  Returns the PID or -1. */
static pid_t spawn_child (const char *path, char *const argv[], char *const env_add[])
{
    pid_t supervisor = getpid ();
    pid_t pid = fork ();

    if (pid != 0)
        return pid;
    /* A supervisor killed outright takes its children along (the broker's
     * script stops beam on SIGTERM), so that no broker runs unsupervised,
     * without the lock. */
    if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != supervisor)
        _exit (127);
    setpgid (0, 0);
    /* Ignored signals stay ignored across exec: none of krun's. */
    signal (SIGTERM, SIG_DFL);
    signal (SIGINT, SIG_DFL);
    signal (SIGPIPE, SIG_DFL);
    signal (SIGHUP, SIG_DFL);
    for (int i = 0; env_add && env_add[i]; i++)
        putenv (env_add[i]);
    execv (path, argv);
    fprintf (stderr, "cannot execute %s: %s\n", path, strerror (errno));
    _exit (127);
}

/* Wait for child pid at most timeout_ms; then SIGKILL its process group and
 * reap it. */
static void reap_child (pid_t pid, int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    int status;

    while (waitpid (pid, &status, WNOHANG) == 0) {
        if (clock_mono_ms () > deadline) {
            kill (-pid, SIGKILL);
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return;
        }
        usleep (50 * 1000);
    }
}

/* Seconds since krun last touched dir/last-used (0 if it cannot be told). */
static long idle_seconds (const char *dir)
{
    char stamp[PATH_MAX + 16];
    struct stat st;

    snprintf (stamp, sizeof (stamp), "%s/last-used", dir);
    return stat (stamp, &st) == 0 ? (long)(time (NULL) - st.st_mtime) : 0;
}

struct supervisor_args {
    const char *dir;
    int port;
    int epmd_port;
    int idle_timeout;
    int start_timeout;
    char *const *env_add;
};

/* The supervisor: runs epmd and the broker as its children, stops the broker
 * when idle or asked (SIGTERM), then epmd, and exits; the lock it inherited
 * goes with it.  Never returns. */
static void supervise (const struct supervisor_args *a) __attribute__ ((noreturn));
static void supervise (const struct supervisor_args *a)
{
    char pidfile[PATH_MAX + 32], epmd_port_s[16];
    char *epmd_argv[] = {EPMD, "-port", epmd_port_s, "-address", "127.0.0.1", NULL};
    char *broker_argv[] = {RABBITMQ_SERVER, NULL};
    struct sigaction sa = {.sa_handler = on_stop_signal};
    struct krun_error error;
    pid_t epmd, broker;
    int64_t stop_deadline = 0, next_look;
    int status = 0;

    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    signal (SIGHUP, SIG_IGN);
    /* In ps and /proc/PID/comm: not the krun command it was forked from. */
    prctl (PR_SET_NAME, "krun-broker", 0, 0, 0);
    snprintf (pidfile, sizeof (pidfile), "%s/supervisor.pid", a->dir);
    if (pidfile_record (pidfile, getpid (), &error) < 0) {
        supervisor_log ("%s", error.text);
        _exit (1);
    }
    snprintf (epmd_port_s, sizeof (epmd_port_s), "%d", a->epmd_port);
    if ((epmd = spawn_child (EPMD, epmd_argv, a->env_add)) < 0) {
        supervisor_log ("cannot start epmd: %s", strerror (errno));
        _exit (1);
    }
    int64_t deadline = clock_mono_ms () + (int64_t)a->start_timeout * 1000;
    /* Looked up, not connected to: epmd logs every probe. */
    while (listener_uid (a->epmd_port) != (long)getuid ()) {
        if (waitpid (epmd, &status, WNOHANG) != 0) {
            /* Reaped: its PID is not ours to signal any more. */
            supervisor_log (
                "epmd exited (wait status 0x%x) before it listened on "
                "127.0.0.1:%d: is the port taken?",
                (unsigned)status, a->epmd_port);
            unlink (pidfile);
            _exit (1);
        }
        if (clock_mono_ms () > deadline) {
            supervisor_log ("epmd did not listen on 127.0.0.1:%d within %d s",
                            a->epmd_port, a->start_timeout);
            kill (epmd, SIGKILL);
            reap_child (epmd, 1000);
            unlink (pidfile);
            _exit (1);
        }
        usleep (20 * 1000);
    }
    if ((broker = spawn_child (RABBITMQ_SERVER, broker_argv, a->env_add)) < 0) {
        supervisor_log ("cannot start %s: %s", RABBITMQ_SERVER, strerror (errno));
        kill (epmd, SIGTERM);
        reap_child (epmd, 5000);
        unlink (pidfile);
        _exit (1);
    }
    supervisor_log ("broker pid %d on 127.0.0.1:%d, epmd pid %d on 127.0.0.1:%d",
                    (int)broker, a->port, (int)epmd, a->epmd_port);
    next_look = clock_mono_ms () + WATCHDOG_PERIOD_S * 1000;
    while (waitpid (broker, &status, WNOHANG) == 0) {
        int64_t now = clock_mono_ms ();
        if (!stop_requested && now >= next_look) {
            next_look = now + WATCHDOG_PERIOD_S * 1000;
            if (idle_seconds (a->dir) > a->idle_timeout + WATCHDOG_MARGIN_S) {
                supervisor_log ("unused for more than %d s: stopping the broker",
                                a->idle_timeout + WATCHDOG_MARGIN_S);
                stop_requested = 1;
            }
        }
        if (stop_requested && !stop_deadline) {
            kill (broker, SIGTERM);
            stop_deadline = now + BROKER_STOP_S * 1000;
        }
        if (stop_deadline && now > stop_deadline) {
            supervisor_log ("the broker did not stop within %d s: killing it",
                            BROKER_STOP_S);
            kill (-broker, SIGKILL);
            stop_deadline = INT64_MAX;
        }
        usleep (200 * 1000);
    }
    /* Whatever beam left in its group (erl_child_setup, inet_gethost). */
    kill (-broker, SIGKILL);
    snprintf (pidfile, sizeof (pidfile), "%s/pid", a->dir);
    unlink (pidfile);
    snprintf (pidfile, sizeof (pidfile), "%s/supervisor.pid", a->dir);
    supervisor_log ("the broker exited (status %d); stopping epmd", status);
    kill (epmd, SIGTERM);
    reap_child (epmd, 5000);
    unlink (pidfile);
    _exit (0);
}

/* Start the supervisor, detached (own session, not our child once
 * started); it inherits lock_fd and with it the lock.  Returns 0 or -1. */
static int start_supervisor (const struct supervisor_args *a, int lock_fd,
                             const char *log, struct krun_error *errp)
{
    int status;
    pid_t pid = fork ();

    if (pid < 0)
        return errprintf_errno (errp, "cannot start the private broker");
    if (pid > 0) {
        while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
        return 0;
    }
    if (setsid () < 0 || fork () != 0)
        _exit (0);
    int in = open ("/dev/null", O_RDONLY);
    int out = open (log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    if (in < 0 || out < 0 || dup2 (in, 0) < 0 || dup2 (out, 1) < 0 ||
        dup2 (out, 2) < 0 || chdir ("/") < 0)
        _exit (127);
    /* Only the lock stays open (and 0-2); it is close-on-exec, so that only
     * the supervisor holds it, not the broker. */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != lock_fd)
            close (fd);
    supervise (a);
}

/* Start the broker (lock_fd holds the lock) and wait until it answers. */
static int start_locked (const struct config *cfg, const char *dir, int lock_fd,
                         struct krun_error *errp)
{
    char env[16][PATH_MAX + 64], log[PATH_MAX + 32];
    char *env_add[17];
    int port = cfg->local_broker_port;
    int epmd_port = derived_port (port, EPMD_PORT_OFFSET);
    int k = 0;
    struct supervisor_args a = {.dir = dir,
                                .port = port,
                                .epmd_port = epmd_port,
                                .idle_timeout = cfg->idle_timeout,
                                .start_timeout = cfg->start_timeout,
                                .env_add = env_add};
    char path[PATH_MAX + 32];

    if (access (RABBITMQ_SERVER, X_OK) < 0 || access (EPMD, X_OK) < 0)
        return errprintf (
            errp,
            "no broker at 127.0.0.1:%d and cannot start one: %s or %s is missing "
            "(apt-get install rabbitmq-server)",
            port, RABBITMQ_SERVER, EPMD);
    snprintf (path, sizeof (path), "%s/credentials", dir);
    if (access (path, F_OK) < 0 && create_credentials (dir, errp) < 0)
        return -1;
    if (write_config (dir, port, errp) < 0)
        return -1;
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_NODENAME=krun-%d-%d@localhost",
              (int)getuid (), port);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_NODE_PORT=%d", port);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_DIST_PORT=%d",
              derived_port (port, DIST_PORT_OFFSET));
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
    /* Distribution and epmd on loopback too; epmd on a port of its own. */
    snprintf (env[k++], sizeof (env[0]),
              "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface "
              "{127,0,0,1}");
    snprintf (env[k++], sizeof (env[0]), "ERL_EPMD_ADDRESS=127.0.0.1");
    snprintf (env[k++], sizeof (env[0]), "ERL_EPMD_PORT=%d", epmd_port);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_MNESIA_BASE=%s/mnesia", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_LOG_BASE=%s/log", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_PID_FILE=%s/pid", dir);
    snprintf (env[k++], sizeof (env[0]),
              "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_FEATURE_FLAGS_FILE=%s/feature_flags",
              dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_CONFIG_FILE=%s/rabbitmq", dir);
    snprintf (env[k++], sizeof (env[0]), "RABBITMQ_CONF_ENV_FILE=%s/rabbitmq-env.conf",
              dir);
    snprintf (env[k++], sizeof (env[0]),
              "RABBITMQ_ADVANCED_CONFIG_FILE=%s/advanced.config", dir);
    snprintf (env[k++], sizeof (env[0]), "HOME=%s", dir);
    for (int i = 0; i < k; i++)
        env_add[i] = env[i];
    env_add[k] = NULL;
    snprintf (log, sizeof (log), "%s/broker.log", dir);
    if (start_supervisor (&a, lock_fd, log, errp) < 0)
        return -1;
    return 0;
}

/* Wait until the broker of dir answers on port, at most timeout_s, while its
 * supervisor lives. */
static int wait_answers (const char *dir, int port, int timeout_s,
                         struct krun_error *errp)
{
    int64_t deadline = clock_mono_ms () + (int64_t)timeout_s * 1000;

    for (;;) {
        long uid = listener_uid (port);
        /* Not just anybody's port: a listener of another user's (one that
         * took the port first, so that ours could not bind) must not get
         * the credentials. */
        if (uid >= 0 && uid != (long)getuid ()) {
            errno = EADDRINUSE;
            return errprintf (errp,
                              "127.0.0.1:%d is taken by user %ld, not by this user's "
                              "private broker: not sending it the broker credentials",
                              port, uid);
        }
        if (uid == -2) {
            errno = EADDRINUSE;
            return errprintf (errp,
                              "127.0.0.1:%d is taken by several users: not sending it "
                              "the broker credentials",
                              port);
        }
        if (uid >= 0 && port_answers (port))
            break;
        if (!lock_held (dir)) {
            errno = ECONNREFUSED;
            return errprintf (errp,
                              "the private broker stopped while starting; see "
                              "%s/broker.log and %s/log",
                              dir, dir);
        }
        if (clock_mono_ms () > deadline) {
            errno = ETIMEDOUT;
            return errprintf (
                errp,
                "the private broker did not answer on 127.0.0.1:%d within "
                "%d s; see %s/broker.log",
                port, timeout_s, dir);
        }
        usleep (100 * 1000);
    }
    return 0;
}

/* The port of the broker whose lock is held: once its supervisor runs (it
 * starts after the port file is written, which a krun starting the broker
 * may not have done yet), at most timeout_s.  0 if not known. */
static int running_port (const char *dir, int timeout_s)
{
    char path[PATH_MAX + 32];
    int64_t deadline = clock_mono_ms () + (int64_t)timeout_s * 1000;

    snprintf (path, sizeof (path), "%s/supervisor.pid", dir);
    while (!pidfile_running (path) && lock_held (dir) && clock_mono_ms () < deadline)
        usleep (20 * 1000);
    return read_number (dir, "port");
}

char *private_broker_url (const struct config *cfg, const char *state_dir, bool start,
                          bool *started, struct krun_error *errp)
{
    char dir[PATH_MAX], user[64], password[128];
    int port = cfg->local_broker_port;
    char *url = NULL;
    int fd;

    *started = false;
    if (broker_dir (state_dir, dir, sizeof (dir), errp) < 0)
        return NULL;
    if ((fd = open_lock (dir, true)) < 0) {
        errprintf_errno (errp, "cannot open %s/lock", dir);
        return NULL;
    }
    if (flock (fd, LOCK_EX | LOCK_NB) == 0) {
        /* Ours does not run: whatever answers there is not ours. */
        int rc = -1;
        long uid = listener_uid (port);
        if (uid != -1 || port_answers (port)) {
            errno = EADDRINUSE;
            errprintf (errp,
                       "127.0.0.1:%d answers (listener of user %ld), but this user's "
                       "private broker (state in %s) does not run there: not sending "
                       "it the broker credentials; set amqp_url to use that broker, or "
                       "local.broker_port to another port%s",
                       port, uid, dir,
                       uid == (long)getuid ()
                           ? " (a broker of an older krun? `krun down` stops it)"
                           : "");
        } else if (!start) {
            errno = ESRCH;
            errprintf (errp, "the private broker (state in %s) does not run", dir);
        } else if (start_locked (cfg, dir, fd, errp) == 0)
            rc = 0;
        close (fd);
        if (rc < 0)
            return NULL;
        *started = true;
    } else {
        close (fd);
        int running = running_port (dir, cfg->start_timeout);
        if (running != 0 && running != port) {
            errno = EADDRINUSE;
            errprintf (errp,
                       "the private broker of %s runs on 127.0.0.1:%d, not on port %d; "
                       "`krun down` stops it",
                       state_dir, running, port);
            return NULL;
        }
    }
    if (wait_answers (dir, port, cfg->start_timeout, errp) < 0 ||
        read_credentials (dir, user, password, errp) < 0)
        return NULL;
    if (asprintf (&url, "amqp://%s:%s@127.0.0.1:%d/", user, password, port) < 0) {
        errprintf_errno (errp, "broker URL");
        url = NULL;
    }
    explicit_bzero (password, sizeof (password));
    return url;
}

void private_broker_touch (const char *state_dir)
{
    char stamp[PATH_MAX + 32];
    int fd;

    snprintf (stamp, sizeof (stamp), "%s/broker/last-used", state_dir);
    if ((fd = open (stamp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
        futimens (fd, NULL);
        close (fd);
    }
}

/* Whether process pid is a broker started with its database in dir: its
 * environment (readable for this user's processes) says so. */
static bool started_in (pid_t pid, const char *dir)
{
    char path[64], want[PATH_MAX + 64], *env = NULL;
    size_t size = 0;
    bool found = false;
    FILE *f;

    snprintf (path, sizeof (path), "/proc/%d/environ", (int)pid);
    snprintf (want, sizeof (want), "RABBITMQ_MNESIA_BASE=%s/mnesia", dir);
    if (!(f = fopen (path, "re")))
        return false;
    while (!found && getdelim (&env, &size, '\0', f) > 0)
        found = strcmp (env, want) == 0;
    free (env);
    fclose (f);
    return found;
}

/* A broker of an older krun (no supervisor, no lock): the beam.smp of
 * this user's that dir/pid names.  Stops it (SIGTERM, then SIGKILL after
 * BROKER_STOP_S); returns 1 if there was one, else 0. */
static int stop_unsupervised (const char *dir)
{
    char path[PATH_MAX + 16], comm[32] = "";
    int pid = read_number (dir, "pid");
    struct stat st;
    FILE *f;

    if (pid <= 0)
        return 0;
    snprintf (path, sizeof (path), "/proc/%d/comm", pid);
    if (!(f = fopen (path, "re")))
        return 0;
    if (!fgets (comm, sizeof (comm), f))
        comm[0] = '\0';
    fclose (f);
    snprintf (path, sizeof (path), "/proc/%d", pid);
    if (strcmp (comm, "beam.smp\n") != 0 || stat (path, &st) < 0 ||
        st.st_uid != getuid () || !started_in (pid, dir) || kill (pid, SIGTERM) < 0)
        return 0;
    if (!pidfile_wait_stopped (pid, BROKER_STOP_S * 1000))
        kill (pid, SIGKILL);
    return 1;
}

int private_broker_stop (const char *state_dir, struct krun_error *errp)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    int64_t deadline = clock_mono_ms () + STOP_WAIT_MS;
    pid_t pid;

    snprintf (dir, sizeof (dir), "%s/broker", state_dir);
    if (!lock_held (dir))
        return stop_unsupervised (dir);
    snprintf (path, sizeof (path), "%s/supervisor.pid", dir);
    /* Held without a supervisor: a krun is starting one; it records itself
     * at once. */
    while (!(pid = pidfile_running (path))) {
        if (!lock_held (dir))
            return 0;
        if (clock_mono_ms () > deadline) {
            errno = ETIMEDOUT;
            return errprintf (errp,
                              "the lock of the private broker (%s/lock) is held, but "
                              "by no broker supervisor krun started",
                              dir);
        }
        usleep (50 * 1000);
    }
    if (kill (pid, SIGTERM) < 0)
        return errprintf_errno (
            errp, "cannot stop the private broker (supervisor pid %d)", (int)pid);
    while (lock_held (dir)) {
        if (clock_mono_ms () > deadline) {
            errno = ETIMEDOUT;
            return errprintf (errp,
                              "the private broker (supervisor pid %d) did not stop "
                              "within %d s; see %s/broker.log",
                              (int)pid, STOP_WAIT_MS / 1000, dir);
        }
        usleep (50 * 1000);
    }
    return 1;
}
