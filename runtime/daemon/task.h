/* task.h - one running task: a child process with its output pipes.
 *
 * The child runs in its own process group so that task_kill() reaches the
 * grandchildren it forks, and it gets SIGKILL if its slot process dies
 * (PR_SET_PDEATHSIG), so a killed slot never leaves an orphan task running
 * while the broker hands the same rank to another slot.  Descendants that
 * leave the group are the slot's and its daemon's to kill (reaper.h).  It is
 * started with vfork() (see task.c for why).
 *
 * Each task also gets one end of a socketpair as file descriptor
 * TASK_CONTROL_FD (3): the control channel on which libkrun sends its result
 * and progress (see taskchannel.h); the slot reads the other end.
 */
#ifndef KRUN_TASK_H
#define KRUN_TASK_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "inherit.h"

struct task;

#define TASK_CONTROL_FD 3

/* Start path with argv and the complete environment envp, in directory cwd
 * (NULL = inherit), with the umask, nice value and limits of inherit (NULL:
 * the caller's; inherit.h).  stdin is /dev/null; stdout and stderr are pipes read
 * with task_read().  An exec failure is detected here: NULL with errno of
 * the failed exec (ENOENT, EACCES, ...) and errp naming path.  The task
 * starts with no signal blocked and every signal at its default action: the
 * signals caught or ignored by the caller when it first called task_start()
 * are reset (the caller must not change signal dispositions after that). */
struct task *task_start (const char *path, char *const argv[], char *const envp[],
                         const char *cwd, const struct inherit *inherit,
                         struct krun_error *errp);

/* Kill what is left of the process group with SIGKILL, reap, free.  Accepts
 * NULL; keeps errno. */
void task_destroy (struct task *t);

pid_t task_pid (const struct task *t);

/* Pipe of stream 1 (stdout) or 2 (stderr), or -1 once it reached EOF. */
int task_output_fd (const struct task *t, int stream);

/* The slot's end of the control channel (a blocking socket: read it with
 * MSG_DONTWAIT, as taskchannel_read() does), or -1 after
 * task_control_close(). */
int task_control_fd (const struct task *t);

/* Close the slot's end of the control channel (it hit EOF or went bad). */
void task_control_close (struct task *t);

/* A file descriptor that becomes readable when the child exits (a pidfd), or
 * -1 where the kernel has none: then poll with a short timeout and call
 * task_reap(). */
int task_exit_fd (const struct task *t);

/* Read what stream has without blocking.  Returns bytes read, 0 at EOF (the
 * fd is closed and task_output_fd() returns -1 afterwards), or -1 with errno
 * EAGAIN when nothing is there. */
ssize_t task_read (struct task *t, int stream, char *buf, size_t size);

/* Send sig to the task's process group. */
int task_kill (struct task *t, int sig);

/* Returns true once the child has exited, with its wait status in *status.
 * Never blocks. */
bool task_reap (struct task *t, int *status);

#endif
