#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "task.h"

struct task {
    pid_t pid;
    int out[3];  /* out[1], out[2]: read ends of stdout/stderr pipes */
    int control; /* the slot's end of the control socketpair */
    int exit_fd;
    bool exited;
    int status;
};

/* What the child of vfork() needs, in one place so that nothing the
 * compiler keeps in registers has to survive vfork(). */
struct spawn {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const struct inherit *inherit; /* or NULL */
    int devnull;                   /* the slot's /dev/null (close-on-exec), or -1 */
    int outw;
    int errw;
    int control;           /* the task's end of the control socketpair */
    const sigset_t *reset; /* signals to set back to SIG_DFL */
    /* Set by the child when exec fails.  volatile: the child's store comes
     * right before _exit(), which never returns, so without it the compiler
     * may decide that the parent cannot see it and read 0. */
    volatile int child_errno;
    volatile int child_chdir_failed; /* the failure was chdir's, not exec's */
};

/* In the child: fd as number target, open across exec.  dup2 clears
 * close-on-exec, but does nothing when fd is target already: then it is
 * cleared by hand. */
static int keep_as (int fd, int target)
{
    return fd == target ? fcntl (fd, F_SETFD, 0) : dup2 (fd, target);
}

/* Runs in the child of vfork(): on the slot's stack and in its memory until
 * execve(), so it only makes system calls, and reports an exec failure in
 * sp->child_errno, which the parent reads once vfork() returns.  Every
 * signal is blocked on entry (see task_start()). */
static void child_exec (struct spawn *sp)
{
    sigset_t none;

    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    /* Handlers first, then the mask: a signal that arrives in between must
     * not run a slot handler in the slot's memory. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember (sp->reset, sig) == 1)
            signal (sig, SIG_DFL);
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    if (sp->devnull < 0 || keep_as (sp->devnull, 0) < 0 || dup2 (sp->outw, 1) < 0 ||
        dup2 (sp->errw, 2) < 0 || keep_as (sp->control, TASK_CONTROL_FD) < 0)
        goto fail;
    if (sp->cwd && chdir (sp->cwd) < 0) {
        sp->child_chdir_failed = 1;
        goto fail;
    }
    if (sp->inherit)
        inherit_apply (sp->inherit);
    execve (sp->path, sp->argv, sp->envp);
fail:
    sp->child_errno = errno;
    _exit (127);
}

/* The signals the caller catches or ignores, looked up once: resetting all
 * 64 in the child took 17 us per task here, during which vfork() holds the
 * slot. */
static const sigset_t *signals_to_reset (void)
{
    static sigset_t set;
    static bool known;

    if (!known) {
        sigemptyset (&set);
        for (int sig = 1; sig < NSIG; sig++) {
            struct sigaction sa;
            if (sigaction (sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
                sigaddset (&set, sig);
        }
        known = true;
    }
    return &set;
}

/* /dev/null for the tasks' stdin, opened once per process (close-on-exec:
 * the child dup2()s it to 0).  Returns it, or -1 with errno. */
static int dev_null (void)
{
    static int fd = -1;

    if (fd < 0)
        fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd;
}

/* The interpreter named by path's "#!" line, into buf.  Returns 0, or -1
 * if path is not a script. */
static int script_interpreter (const char *path, char *buf, size_t size)
{
    char head[256];
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read (fd, head, sizeof (head) - 1) : -1;

    if (fd >= 0)
        close (fd);
    if (n < 2 || head[0] != '#' || head[1] != '!')
        return -1;
    head[n] = '\0';
    char *name = head + 2 + strspn (head + 2, " \t");
    name[strcspn (name, " \t\r\n")] = '\0';
    if (!*name)
        return -1;
    snprintf (buf, size, "%s", name);
    return 0;
}

/* Returns the child's pid (its exec failure in sp->child_errno) or -1. */
static __attribute__ ((noinline)) pid_t spawn_child (struct spawn *sp)
{
    pid_t pid = vfork ();

    if (pid == 0)
        child_exec (sp);
    return pid;
}

/* vfork() rather than fork(): the slot process maps librabbitmq, OpenSSL,
 * hwloc and cJSON, and copying its page tables for every task cost about
 * 150 us of CPU per task here (fork + exec + wait of /bin/true: 750 us from
 * such a process with fork, 600 us with vfork), a fifth of the cost of a
 * short task. */
struct task *task_start (const char *path, char *const argv[], char *const envp[],
                         const char *cwd, const struct inherit *inherit,
                         struct krun_error *errp)
{
    struct task *t;
    int outp[2] = {-1, -1}, errp2[2] = {-1, -1}, ctlp[2] = {-1, -1};
    struct spawn sp = {.path = path,
                       .argv = argv,
                       .envp = envp,
                       .cwd = cwd,
                       .inherit = inherit,
                       .reset = signals_to_reset (),
                       .devnull = dev_null ()};
    sigset_t all, saved;

    if (sp.devnull < 0) {
        errprintf_errno (errp, "cannot start %s: /dev/null", path);
        return NULL;
    }
    if (!(t = calloc (1, sizeof (*t)))) {
        errprintf_errno (errp, "cannot start %s", path);
        return NULL;
    }
    t->out[0] = t->out[1] = t->out[2] = t->exit_fd = t->control = -1;
    if (pipe2 (outp, O_CLOEXEC) < 0 || pipe2 (errp2, O_CLOEXEC) < 0 ||
        socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctlp) < 0) {
        errprintf_errno (errp, "cannot start %s: pipe", path);
        goto error;
    }
    /* No slot signal handler may run in the child while it shares the
     * slot's memory. */
    sigfillset (&all);
    sigprocmask (SIG_SETMASK, &all, &saved);
    sp.outw = outp[1];
    sp.errw = errp2[1];
    sp.control = ctlp[1];
    t->pid = spawn_child (&sp);
    int fork_errno = errno;
    sigprocmask (SIG_SETMASK, &saved, NULL);
    if (t->pid < 0) {
        errno = fork_errno;
        errprintf_errno (errp, "cannot start %s: fork", path);
        goto error;
    }
    /* No setpgid() here as well: vfork() returns only once the child has
     * exec'd or exited, so its setpgid() has run (and the parent's would
     * fail with EACCES after the exec). */
    fdio_close (&outp[1]);
    fdio_close (&errp2[1]);
    fdio_close (&ctlp[1]);
    if (sp.child_errno != 0) {
        waitpid (t->pid, NULL, 0);
        t->pid = 0;
        errno = sp.child_errno;
        char interpreter[256];
        if (sp.child_chdir_failed)
            errprintf_errno (errp, "cannot run %s in %s", path, cwd);
        else if (errno == ENOENT &&
                 script_interpreter (path, interpreter, sizeof (interpreter)) == 0)
            errprintf_errno (errp, "cannot execute %s: its interpreter %s", path,
                             interpreter);
        else
            errprintf_errno (errp, "cannot execute %s", path);
        goto error;
    }
    t->out[1] = outp[0];
    t->out[2] = errp2[0];
    t->control = ctlp[0];
    /* The control channel is read with MSG_DONTWAIT (taskchannel_read()):
     * no O_NONBLOCK to set. */
    fcntl (t->out[1], F_SETFL, O_NONBLOCK);
    fcntl (t->out[2], F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
    /* A pidfd is always close-on-exec. */
    t->exit_fd = syscall (SYS_pidfd_open, t->pid, 0);
#endif
    return t;
error:
    fdio_close (&outp[0]);
    fdio_close (&outp[1]);
    fdio_close (&errp2[0]);
    fdio_close (&errp2[1]);
    fdio_close (&ctlp[0]);
    fdio_close (&ctlp[1]);
    task_destroy (t);
    return NULL;
}

void task_destroy (struct task *t)
{
    int saved_errno = errno;
    if (!t)
        return;
    if (t->pid > 0 && !t->exited) {
        kill (-t->pid, SIGKILL);
        kill (t->pid, SIGKILL);
        waitpid (t->pid, NULL, 0);
    } else if (t->pid > 0)
        kill (-t->pid, SIGKILL); /* grandchildren left in the group */
    fdio_close (&t->out[1]);
    fdio_close (&t->out[2]);
    fdio_close (&t->exit_fd);
    fdio_close (&t->control);
    free (t);
    errno = saved_errno;
}

pid_t task_pid (const struct task *t)
{
    return t->pid;
}

int task_output_fd (const struct task *t, int stream)
{
    return (stream == 1 || stream == 2) ? t->out[stream] : -1;
}

int task_control_fd (const struct task *t)
{
    return t->control;
}

void task_control_close (struct task *t)
{
    fdio_close (&t->control);
}

int task_exit_fd (const struct task *t)
{
    return t->exit_fd;
}

ssize_t task_read (struct task *t, int stream, char *buf, size_t size)
{
    ssize_t n;

    if ((stream != 1 && stream != 2) || t->out[stream] < 0) {
        errno = EBADF;
        return -1;
    }
    do {
        n = read (t->out[stream], buf, size);
    } while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN))
        fdio_close (&t->out[stream]);
    return n < 0 && errno != EAGAIN ? 0 : n;
}

int task_kill (struct task *t, int sig)
{
    if (t->pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    /* The group outlives the child when grandchildren linger: kill it even
     * after the child was reaped. */
    if (kill (-t->pid, sig) < 0 && !t->exited)
        return kill (t->pid, sig);
    return 0;
}

bool task_reap (struct task *t, int *status)
{
    if (!t->exited) {
        pid_t pid;
        do {
            pid = waitpid (t->pid, &t->status, WNOHANG);
        } while (pid < 0 && errno == EINTR);
        if (pid == t->pid)
            t->exited = true;
    }
    if (t->exited && status)
        *status = t->status;
    return t->exited;
}
