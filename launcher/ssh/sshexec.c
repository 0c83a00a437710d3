/* sshexec.c - see sshexec.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "sshexec.h"

/* A run in progress: its ssh process and the two pipes it writes. */
struct running {
    pid_t pid;
    int fd[2]; /* stdout, stderr; -1 once at their end */
    size_t len[2];
    bool exited;
};

static bool safe_word (const char *w)
{
    if (!*w)
        return false;
    for (; *w; w++)
        if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') ||
              (*w >= '0' && *w <= '9') || strchr ("_./:=@%+,-", *w)))
            return false;
    return true;
}

char *sshexec_quote (const char *const words[])
{
    size_t size = 1;
    char *line, *p;

    for (int i = 0; words[i]; i++)
        size += 4 * strlen (words[i]) + 3;
    if (!(p = line = malloc (size)))
        return NULL;
    for (int i = 0; words[i]; i++) {
        if (i)
            *p++ = ' ';
        if (safe_word (words[i])) {
            p = stpcpy (p, words[i]);
            continue;
        }
        /* 'it'\''s': a quote ends the quoted part, is escaped, reopens it. */
        *p++ = '\'';
        for (const char *c = words[i]; *c; c++)
            p = *c == '\'' ? stpcpy (p, "'\\''") : (*p = *c, p + 1);
        *p++ = '\'';
    }
    *p = '\0';
    return line;
}

char *sshexec_last_line (const char *text, char *buf, size_t size)
{
    const char *end = text + strlen (text), *start;

    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    for (start = end; start > text && start[-1] != '\n'; start--)
        ;
    snprintf (buf, size, "%.*s", (int)(end - start), start);
    return buf;
}

/* The ssh command line of run r: ssh_command, our options, host, the
 * remote command as one quoted string.  Caller frees it with
 * free_argv(). */
static char **ssh_argv (char *const ssh_command[], const struct sshexec *r,
                        char *connect_timeout)
{
    int n = 0, k = 0;
    char **argv;

    while (ssh_command[n])
        n++;
    if (!(argv = calloc (n + 8, sizeof (*argv))))
        return NULL;
    for (int i = 0; i < n; i++)
        argv[k++] = ssh_command[i];
    argv[k++] = "-o";
    argv[k++] = connect_timeout;
    argv[k++] = "-o";
    argv[k++] = "BatchMode=yes";
    /* The last two are ours to free. */
    if (!(argv[k++] = strdup (r->host)) || !(argv[k++] = sshexec_quote (r->command))) {
        free (argv[n + 4]);
        free (argv);
        return NULL;
    }
    return argv;
}

static void free_argv (char **argv)
{
    int n = 0;

    while (argv[n])
        n++;
    free (argv[n - 1]);
    free (argv[n - 2]);
    free (argv);
}

/* Start r's ssh with input on its standard input (written here and closed:
 * it is small enough for a pipe's buffer).  Returns 0 or -1 with errno. */
static int start (char *const ssh_command[], struct sshexec *r, struct running *p,
                  const void *input, size_t len, char *connect_timeout)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    char **argv = ssh_argv (ssh_command, r, connect_timeout);

    if (!argv)
        return -1;
    if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0 ||
        pipe2 (err, O_CLOEXEC) < 0 || (p->pid = fork ()) < 0)
        goto error;
    if (p->pid == 0) {
        if (dup2 (in[0], 0) < 0 || dup2 (out[1], 1) < 0 || dup2 (err[1], 2) < 0)
            _exit (255);
        signal (SIGPIPE, SIG_DFL);
        execvp (argv[0], argv);
        dprintf (2, "cannot run %s: %s\n", argv[0], strerror (errno));
        _exit (255);
    }
    close (in[0]);
    close (out[1]);
    close (err[1]);
    /* A failed write is ssh gone already: its status and error say why. */
    if (input && len)
        fdio_write_all (in[1], input, len);
    close (in[1]);
    p->fd[0] = out[0];
    p->fd[1] = err[0];
    free_argv (argv);
    return 0;
error:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close (in[i]);
        if (out[i] >= 0)
            close (out[i]);
        if (err[i] >= 0)
            close (err[i]);
    }
    free_argv (argv);
    return -1;
}

/* Read what is there from fd k of run p into r; close it at its end. */
static void drain (struct sshexec *r, struct running *p, int k)
{
    char buf[4096], **text = k == 0 ? &r->out : &r->err;
    ssize_t n = read (p->fd[k], buf, sizeof (buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close (p->fd[k]);
        p->fd[k] = -1;
        return;
    }
    size_t keep = p->len[k] + (size_t)n > SSHEXEC_OUTPUT_MAX
                      ? SSHEXEC_OUTPUT_MAX - p->len[k]
                      : (size_t)n;
    memcpy (*text + p->len[k], buf, keep);
    p->len[k] += keep;
    (*text)[p->len[k]] = '\0';
}

/* Poll every open pipe for at most wait_ms and read what came; collect the
 * exit status of runs whose pipes are closed. */
static void step (struct sshexec *runs, struct running *procs, int n, int wait_ms)
{
    struct pollfd fds[2 * n];
    int map[2 * n], nfds = 0, status;

    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (procs[i].fd[k] >= 0) {
                fds[nfds] = (struct pollfd){.fd = procs[i].fd[k], .events = POLLIN};
                map[nfds++] = 2 * i + k;
            }
    if (nfds > 0 && poll (fds, nfds, wait_ms) > 0) {
        for (int j = 0; j < nfds; j++)
            if (fds[j].revents)
                drain (&runs[map[j] / 2], &procs[map[j] / 2], map[j] % 2);
    } else if (nfds == 0) {
        usleep (wait_ms * 1000);
    }
    for (int i = 0; i < n; i++) {
        struct running *p = &procs[i];
        if (p->exited || p->fd[0] >= 0 || p->fd[1] >= 0)
            continue;
        if (waitpid (p->pid, &status, WNOHANG) == p->pid) {
            p->exited = true;
            runs[i].status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
        }
    }
}

static bool all_exited (const struct running *procs, int n)
{
    for (int i = 0; i < n; i++)
        if (!procs[i].exited)
            return false;
    return true;
}

int sshexec_run (char *const ssh_command[], struct sshexec *runs, int n,
                 const void *input, size_t len, int connect_timeout_s, int timeout_ms,
                 struct krun_error *errp)
{
    struct running *procs = calloc (n > 0 ? n : 1, sizeof (*procs));
    int64_t deadline = clock_mono_ms () + timeout_ms;
    struct sigaction ignore = {.sa_handler = SIG_IGN}, saved;
    char connect_timeout[32];

    if (!procs)
        return errprintf_errno (errp, "cannot run ssh");
    snprintf (connect_timeout, sizeof (connect_timeout), "ConnectTimeout=%d",
              connect_timeout_s);
    /* An ssh that exits before it read its input must not kill us. */
    sigaction (SIGPIPE, &ignore, &saved);
    for (int i = 0; i < n; i++) {
        struct sshexec *r = &runs[i];
        r->status = -1;
        r->out = calloc (1, SSHEXEC_OUTPUT_MAX + 1);
        r->err = calloc (1, SSHEXEC_OUTPUT_MAX + 1);
        procs[i].fd[0] = procs[i].fd[1] = -1;
        if (!r->out || !r->err ||
            start (ssh_command, r, &procs[i], input, len, connect_timeout) < 0) {
            int saved_errno = errno;
            if (r->err)
                snprintf (r->err, SSHEXEC_OUTPUT_MAX, "cannot run %s: %s\n",
                          ssh_command[0], strerror (saved_errno));
            procs[i].exited = true;
        }
    }
    sigaction (SIGPIPE, &saved, NULL);
    while (!all_exited (procs, n) && clock_mono_ms () < deadline)
        step (runs, procs, n, 50);
    /* The time is up: what still runs is killed and said so. */
    for (int i = 0; i < n; i++) {
        struct running *p = &procs[i];
        if (p->exited)
            continue;
        kill (p->pid, SIGKILL);
        while (waitpid (p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        for (int k = 0; k < 2; k++)
            if (p->fd[k] >= 0)
                close (p->fd[k]);
        snprintf (runs[i].err + strlen (runs[i].err),
                  SSHEXEC_OUTPUT_MAX - strlen (runs[i].err),
                  "\nno answer within %d s (killed ssh)\n", timeout_ms / 1000);
    }
    free (procs);
    return 0;
}

void sshexec_clear (struct sshexec *runs, int n)
{
    for (int i = 0; i < n; i++) {
        free (runs[i].out);
        free (runs[i].err);
        runs[i].out = runs[i].err = NULL;
    }
}
