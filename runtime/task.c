#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task.h"

struct task {
    pid_t pid;
    int out[3];  /* out[1], out[2]: read ends of stdout/stderr pipes */
    int control; /* the slot's end of the control socketpair */
    int exit_fd;
    bool exited;
    int status;
};

static void close_fd (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

/* Runs in the child: never returns.  Reports an exec failure's errno through
 * errpipe (close-on-exec, so success closes it silently). */
static void child_exec (const char *path, char *const argv[], char *const envp[],
                        const char *cwd, int outw, int errw, int errpipe, int control)
{
    sigset_t none;
    int err;

    /* The control end becomes TASK_CONTROL_FD: move the exec-error pipe out
     * of its way first. */
    if (errpipe <= TASK_CONTROL_FD)
        errpipe = fcntl (errpipe, F_DUPFD_CLOEXEC, TASK_CONTROL_FD + 1);

    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal (sig, SIG_DFL);
    int devnull = open ("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2 (devnull, 0) < 0 || dup2 (outw, 1) < 0 ||
        dup2 (errw, 2) < 0)
        goto fail;
    /* dup2 clears close-on-exec; the same fd number needs it cleared by hand. */
    if (control == TASK_CONTROL_FD ? fcntl (control, F_SETFD, 0) < 0
                                   : dup2 (control, TASK_CONTROL_FD) < 0)
        goto fail;
    if (cwd && chdir (cwd) < 0)
        goto fail;
    execve (path, argv, envp);
fail:
    err = errno;
    if (write (errpipe, &err, sizeof (err)) < 0) {
        /* nothing more can be reported */
    }
    _exit (127);
}

struct task *task_start (const char *path, char *const argv[], char *const envp[],
                         const char *cwd, struct krun_error *errp)
{
    struct task *t;
    int outp[2] = {-1, -1}, errp2[2] = {-1, -1}, execp[2] = {-1, -1};
    int ctlp[2] = {-1, -1};
    int child_errno = 0;
    ssize_t n;

    if (!(t = calloc (1, sizeof (*t)))) {
        errprintf_errno (errp, "cannot start %s", path);
        return NULL;
    }
    t->out[0] = t->out[1] = t->out[2] = t->exit_fd = t->control = -1;
    if (pipe2 (outp, O_CLOEXEC) < 0 || pipe2 (errp2, O_CLOEXEC) < 0 ||
        pipe2 (execp, O_CLOEXEC) < 0 ||
        socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctlp) < 0) {
        errprintf_errno (errp, "cannot start %s: pipe", path);
        goto error;
    }
    t->pid = fork ();
    if (t->pid < 0) {
        errprintf_errno (errp, "cannot start %s: fork", path);
        goto error;
    }
    if (t->pid == 0)
        child_exec (path, argv, envp, cwd, outp[1], errp2[1], execp[1], ctlp[1]);
    /* Also in the parent, so that a kill right after start reaches the
     * group even if the child has not run setpgid yet. */
    setpgid (t->pid, t->pid);
    close_fd (&outp[1]);
    close_fd (&errp2[1]);
    close_fd (&execp[1]);
    close_fd (&ctlp[1]);
    do {
        n = read (execp[0], &child_errno, sizeof (child_errno));
    } while (n < 0 && errno == EINTR);
    close_fd (&execp[0]);
    if (n == sizeof (child_errno)) {
        waitpid (t->pid, NULL, 0);
        t->pid = 0;
        errno = child_errno;
        if (cwd && errno == ENOENT && access (path, X_OK) == 0)
            errprintf_errno (errp, "cannot run %s in %s", path, cwd);
        else
            errprintf_errno (errp, "cannot execute %s", path);
        goto error;
    }
    t->out[1] = outp[0];
    t->out[2] = errp2[0];
    t->control = ctlp[0];
    fcntl (t->control, F_SETFL, O_NONBLOCK);
    fcntl (t->out[1], F_SETFL, O_NONBLOCK);
    fcntl (t->out[2], F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
    t->exit_fd = syscall (SYS_pidfd_open, t->pid, 0);
    if (t->exit_fd >= 0)
        fcntl (t->exit_fd, F_SETFD, FD_CLOEXEC);
#endif
    return t;
error:
    close_fd (&outp[0]);
    close_fd (&outp[1]);
    close_fd (&errp2[0]);
    close_fd (&errp2[1]);
    close_fd (&execp[0]);
    close_fd (&execp[1]);
    close_fd (&ctlp[0]);
    close_fd (&ctlp[1]);
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
    close_fd (&t->out[1]);
    close_fd (&t->out[2]);
    close_fd (&t->exit_fd);
    close_fd (&t->control);
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
    close_fd (&t->control);
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
        close_fd (&t->out[stream]);
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
