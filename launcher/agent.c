/* agent.c - see agent.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "amqpmux.h"
#include "clock.h"
#include "log.h"
#include "nextjob.h"
#include "parseint.h"
#include "pidfile.h"
#include "protocol.h"
#include "secrets.h"
#include "spawn.h"
#include "stage.h"

#define AGENT_PREFIX "agent-"
#define AGENT_DIGITS 16
/* The agent's broker connection: as a run's own (session.c). */
#define AGENT_HEARTBEAT_S 30
/* The URL comes through a pipe that the starting krun filled and closed. */
#define URL_READ_TIMEOUT_MS 5000
#define STOP_WAIT_MS 5000
/* On SIGTERM: what launchers still connected wrote goes to the broker
 * within this long. */
#define DRAIN_MS 1000
#define LISTEN_BACKLOG 128
/* Logged-in connections kept for the next runs while none runs (a run
 * takes one, and gives it back when it ends). */
#define AGENT_SPARES 2
#define ACCEPTS_PER_TURN 64
/* The list of job ids made ahead: AGENT_SPARES and the connections in
 * use, 17 bytes each. */
#define AGENT_IDS_MAX 4096

typedef char socket_path[sizeof (((struct sockaddr_un *)0)->sun_path)];

bool agent_usable (const char *url)
{
    const char *off = getenv ("KRUN_AGENT");

    if (off && (strcmp (off, "0") == 0 || strcmp (off, "off") == 0))
        return false;
    return url && strncmp (url, "amqp://", 7) == 0;
}

/* state_dir/agent-<digits><suffix> into buf, the digits those of the
 * SHA-256 of this host's name, a newline and url.  Returns 0, or -1 with
 * errno ENAMETOOLONG (or ENOMEM). */
static int agent_path (const char *state_dir, const char *url, const char *suffix,
                       char *buf, size_t size)
{
    char hex[STAGE_HASH_LEN + 1], host[256] = "";
    /* The host too: a state directory in a home shared by several machines
     * (an HPC cluster's login nodes) gets an agent per machine, each found
     * only by the runs of its own machine. */
    size_t len = strlen (url);
    char *text = malloc (sizeof (host) + 1 + len);

    if (!text)
        return -1;
    gethostname (host, sizeof (host) - 1);
    int k = snprintf (text, sizeof (host) + 1, "%s\n", host);
    memcpy (text + k, url, len);
    stage_hash_bytes (text, k + len, hex);
    explicit_bzero (text, k + len);
    free (text);
    int n = snprintf (buf, size, "%s/" AGENT_PREFIX "%.*s%s", state_dir, AGENT_DIGITS,
                      hex, suffix);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* The user of the process at the other end of fd, or (uid_t)-1. */
static uid_t peer_uid (int fd, pid_t *pid)
{
    struct ucred cred;
    socklen_t len = sizeof (cred);

    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return (uid_t)-1;
    if (pid)
        *pid = cred.pid;
    return cred.uid;
}

/* Launcher side */

struct transport *agent_connect (const char *state_dir, const char *url,
                                 int heartbeat_sec)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct krun_error error;
    struct transport *t;
    uid_t uid;
    int fd;

    if (!agent_usable (url) ||
        agent_path (state_dir, url, ".sock", addr.sun_path, sizeof (addr.sun_path)) < 0)
        return NULL;
    /* Non-blocking: a full backlog (an agent that stopped accepting) fails
     * at once rather than waiting, and librabbitmq bounds its waits (the
     * login's too) only on a non-blocking socket. */
    if ((fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return NULL;
    if (connect (fd, (struct sockaddr *)&addr, sizeof (addr)) < 0) {
        close (fd);
        return NULL;
    }
    if ((uid = peer_uid (fd, NULL)) != geteuid ()) {
        fprintf (stderr,
                 "krun: warning: ignoring the connection agent %s: it runs as uid "
                 "%ld, not as this user\n",
                 addr.sun_path, (long)(int)uid);
        close (fd);
        return NULL;
    }
    char *shown = transport_url_redact (url);
    char name[sizeof (addr.sun_path) + TRANSPORT_URL_MAX + 64];
    snprintf (name, sizeof (name), "%s (through the connection agent %s)",
              shown ? shown : "the broker", addr.sun_path);
    free (shown);
    t = transport_connect_fd (fd, name, heartbeat_sec, AGENT_LOGIN_TIMEOUT_MS, &error);
    /* A hung agent is worth a word; one that went half-way (it left idle
     * just now) is not: either way, on to the broker itself. */
    if (!t && errno == ETIMEDOUT)
        fprintf (stderr, "krun: warning: %s; connecting to the broker directly\n",
                 error.text);
    return t;
}

int agent_start (const char *state_dir, const char *url, int idle_timeout_s,
                 struct krun_error *errp)
{
    socket_path sock;
    char log[PATH_MAX], self[PATH_MAX], idle[24];
    ssize_t n;

    int rc = agent_path (state_dir, url, ".sock", sock, sizeof (sock));
    /* Where no socket path fits, no run could find the agent: none. */
    if (rc < 0 && errno == ENAMETOOLONG)
        return 0;
    if (rc < 0 || agent_path (state_dir, url, ".log", log, sizeof (log)) < 0)
        return errprintf_errno (errp, "cannot start the connection agent in %s",
                                state_dir);
    if ((n = readlink ("/proc/self/exe", self, sizeof (self) - 1)) < 0)
        return errprintf_errno (errp,
                                "cannot start the connection agent: /proc/self/exe");
    self[n] = '\0';
    snprintf (idle, sizeof (idle), "%d", idle_timeout_s);
    char *argv[] = {"krun", "agent", sock, idle, NULL};
    size_t len = strlen (url);
    char *input = malloc (len + 1);
    if (!input)
        return errprintf_errno (errp, "cannot start the connection agent");
    memcpy (input, url, len);
    input[len] = '\n';
    pid_t pid = spawn_detached (self, argv, NULL, log, input, len + 1, errp);
    explicit_bzero (input, len + 1);
    free (input);
    return pid < 0 ? -1 : 0;
}

int agent_stop_all (const char *state_dir, struct krun_error *errp)
{
    DIR *d = opendir (state_dir);
    struct dirent *e;
    int stopped = 0;

    if (!d) {
        if (errno == ENOENT)
            return 0;
        return errprintf_errno (errp, "cannot read %s", state_dir);
    }
    while ((e = readdir (d))) {
        size_t len = strlen (e->d_name);
        if (strncmp (e->d_name, AGENT_PREFIX, strlen (AGENT_PREFIX)) != 0 || len < 4 ||
            strcmp (e->d_name + len - 4, ".pid") != 0)
            continue;
        char path[PATH_MAX], sock[PATH_MAX];
        snprintf (path, sizeof (path), "%s/%s", state_dir, e->d_name);
        snprintf (sock, sizeof (sock), "%s/%.*s.sock", state_dir, (int)(len - 4),
                  e->d_name);
        pid_t pid = pidfile_running (path);
        if (pid > 0 && kill (pid, SIGTERM) == 0) {
            if (!pidfile_wait_stopped (pid, STOP_WAIT_MS)) {
                fprintf (stderr,
                         "krun: warning: the connection agent (pid %d) did not stop "
                         "within %d ms of SIGTERM: killed\n",
                         (int)pid, STOP_WAIT_MS);
                kill (pid, SIGKILL);
                pidfile_wait_stopped (pid, STOP_WAIT_MS);
            }
            stopped++;
        }
        /* What a killed agent left (a stopped one removed its own; the
         * queues made ahead that a killed one lists go by x-expires). */
        unlink (sock);
        unlink (path);
        snprintf (sock, sizeof (sock), "%s/%.*s.next", state_dir, (int)(len - 4),
                  e->d_name);
        unlink (sock);
    }
    closedir (d);
    return stopped;
}

/* The agent */

static volatile sig_atomic_t stop_signal;

static void on_stop (int sig)
{
    stop_signal = sig;
}

static int upstream_login (void *arg, struct transport_tune *tune,
                           struct krun_error *errp)
{
    return transport_login_raw (arg, NULL, AGENT_HEARTBEAT_S, tune, errp);
}

/* Listen on path (mode 0600), replacing what a dead agent left there. */
static int listen_on (const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    snprintf (addr.sun_path, sizeof (addr.sun_path), "%s", path);
    if (fd < 0)
        return -1;
    unlink (path);
    mode_t old = umask (077);
    int rc = bind (fd, (struct sockaddr *)&addr, sizeof (addr));
    umask (old);
    if (rc < 0 || listen (fd, LISTEN_BACKLOG) < 0) {
        int saved_errno = errno;
        close (fd);
        errno = saved_errno;
        return -1;
    }
    return fd;
}

/* Take the launchers waiting on lfd: this user's only. */
static void accept_launchers (struct amqpmux *m, int lfd)
{
    struct krun_error error;

    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_msg ("cannot accept a launcher: %s", strerror (errno));
            return;
        }
        pid_t pid = 0;
        uid_t uid = peer_uid (fd, &pid);
        if (uid != geteuid ()) {
            log_msg (
                "refused a connection of uid %ld (pid %d): this agent serves "
                "uid %ld only",
                (long)(int)uid, (int)pid, (long)geteuid ());
            close (fd);
            continue;
        }
        if (amqpmux_adopt (m, fd, &error) < 0)
            log_msg ("cannot serve the launcher of pid %d: %s", (int)pid, error.text);
    }
}

/* List the job ids whose queues m made ahead in path (nextjob.h), when
 * they changed since *last (a buffer of AGENT_IDS_MAX bytes). */
static void list_ahead (struct amqpmux *m, const char *path, char *last)
{
    char ids[AGENT_IDS_MAX], tmp[PATH_MAX + 8];
    size_t n = amqpmux_ahead_tokens (m, ids, sizeof (ids));

    if (strcmp (ids, last) == 0)
        return;
    snprintf (tmp, sizeof (tmp), "%s.new", path);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write (fd, ids, n) != (ssize_t)n || close (fd) < 0 ||
        rename (tmp, path) < 0) {
        log_msg ("cannot write %s: %s", path, strerror (errno));
        if (fd >= 0)
            unlink (tmp);
    }
    memcpy (last, ids, n + 1);
}

/* Serve until stopped, idle for idle_s, or the broker connection is lost.
 * Returns the exit status. */
static int serve (struct amqpmux *m, int lfd, int idle_s, const char *next_path)
{
    char ids[AGENT_IDS_MAX] = "";
    struct krun_error error;
    int64_t idle_since = clock_mono_ms ();
    struct pollfd *fds = NULL;
    int nfds = 0;

    while (!stop_signal) {
        int max = 1 + amqpmux_poll_max (m);
        if (max > nfds) {
            struct pollfd *more = realloc (fds, max * sizeof (*fds));
            if (!more) {
                log_msg ("out of memory");
                free (fds);
                return 1;
            }
            fds = more;
            nfds = max;
        }
        fds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        int n = 1 + amqpmux_poll_fill (m, fds + 1);
        /* A second at most: heartbeats and the idle time are looked at. */
        if (poll (fds, n, 1000) < 0 && errno != EINTR) {
            log_msg ("poll: %s", strerror (errno));
            free (fds);
            return 1;
        }
        if (fds[0].revents & POLLIN)
            accept_launchers (m, lfd);
        amqpmux_service (m, fds + 1, n - 1);
        list_ahead (m, next_path, ids);
        struct amqpmux_stats st;
        amqpmux_stats (m, &st);
        int64_t now = clock_mono_ms ();
        /* The last connection lost (the broker closed it, or went): log
         * in again, or leave when the broker does not take it. */
        if (st.upstreams == 0 && amqpmux_open (m, &error) < 0) {
            log_msg ("no broker connection (%s): leaving", error.text);
            free (fds);
            return 1;
        }
        if (st.clients > 0)
            idle_since = now;
        else if (now - idle_since >= 1000LL * idle_s) {
            log_msg ("no launcher for %d s: leaving", idle_s);
            break;
        }
    }
    if (stop_signal)
        log_msg ("stopping on signal %d", (int)stop_signal);
    free (fds);
    return 0;
}

int agent_main (int argc, char *argv[])
{
    struct sigaction sa = {.sa_handler = on_stop};
    struct krun_error error;
    const char *sock;
    char lock[PATH_MAX], pidpath[PATH_MAX], next_path[PATH_MAX];
    int idle_s, lock_fd, lfd, rc;
    size_t len;

    log_set_ident ("krun agent[%d]", (int)getpid ());
    if (argc != 3 || (len = strlen (argv[1])) < 5 ||
        strcmp (argv[1] + len - 5, ".sock") != 0 ||
        len >= sizeof (((struct sockaddr_un *)0)->sun_path) ||
        parseint_int (argv[2], 1, INT_MAX, &idle_s) < 0) {
        fprintf (stderr,
                 "usage: krun agent STATE_DIR/agent-DIGITS.sock IDLE_SECONDS, the "
                 "broker URL on standard input (krun starts it: see agent.h)\n");
        return 2;
    }
    sock = argv[1];
    snprintf (lock, sizeof (lock), "%.*s.lock", (int)(len - 5), sock);
    snprintf (pidpath, sizeof (pidpath), "%.*s.pid", (int)(len - 5), sock);
    snprintf (next_path, sizeof (next_path), "%.*s.next", (int)(len - 5), sock);
    char *url;
    if (secrets_read_url (STDIN_FILENO, URL_READ_TIMEOUT_MS, &url, &error) < 0) {
        log_msg ("%s", error.text);
        return 1;
    }
    /* One agent per socket: a second one started at the same time leaves. */
    if ((lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        log_msg ("cannot open %s: %s", lock, strerror (errno));
        free (url);
        return 1;
    }
    if (flock (lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? 0 : 1;
        if (rc)
            log_msg ("cannot lock %s: %s", lock, strerror (errno));
        close (lock_fd);
        free (url);
        return rc;
    }
    struct amqpmux *m = amqpmux_create (upstream_login, url);
    if (m) {
        amqpmux_one_client_per_connection (m, AGENT_SPARES);
        /* A run's channel.open and confirm.select answered at once. */
        amqpmux_channels_ahead (m);
        amqpmux_ahead (m, nextjob_queues, NULL, NEXTJOB_MAX_AGE_MS,
                       PROTOCOL_JOB_QUEUE_EXPIRES_MS);
    }
    /* Logged in before it listens: a launcher that finds the socket finds
     * the connection made. */
    if (!m || amqpmux_open (m, &error) < 0) {
        log_msg ("%s", m ? error.text : "out of memory");
        amqpmux_destroy (m, 0);
        close (lock_fd);
        free (url);
        return 1;
    }
    if ((lfd = listen_on (sock)) < 0)
        log_msg ("cannot listen on %s: %s", sock, strerror (errno));
    else if (pidfile_record (pidpath, getpid (), &error) < 0) {
        log_msg ("%s", error.text);
        close (lfd);
        lfd = -1;
        unlink (sock);
    }
    if (lfd < 0) {
        amqpmux_destroy (m, 0);
        close (lock_fd);
        free (url);
        return 1;
    }
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    char *shown = transport_url_redact (url);
    log_msg ("serving %s on %s; leaving after %d s without a launcher",
             shown ? shown : "the broker", sock, idle_s);
    free (shown);
    /* The first queues made ahead go out now, not after poll's first turn. */
    amqpmux_service (m, NULL, 0);
    rc = serve (m, lfd, idle_s, next_path);
    /* Gone from the directory while the lock is held: a new agent may
     * listen there at once. */
    unlink (sock);
    unlink (pidpath);
    close (lfd);
    /* Deletes the queues made ahead, whose list goes with them. */
    amqpmux_destroy (m, DRAIN_MS);
    unlink (next_path);
    close (lock_fd);
    explicit_bzero (url, strlen (url));
    free (url);
    return rc;
}
