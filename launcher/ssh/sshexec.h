/* sshexec.h - one command on many hosts through the system's ssh client,
 * in parallel and bounded.
 *
 * The ssh provider starts and stops its daemons this way: one ssh process
 * per host, all at once, each given the same bytes on its standard input
 * (the secrets, secrets.h) and its standard output and error kept for the
 * caller.  ssh is run as
 *
 *     SSH_COMMAND... -o ConnectTimeout=C -o BatchMode=yes HOST 'REMOTE COMMAND'
 *
 * where SSH_COMMAND is the configured client and its options (`ssh`,
 * `ssh -i KEY -J JUMP`, ...: options given there win over these, as ssh
 * takes the first value of an option), BatchMode because nobody is there to
 * type a password, and the remote command's words are quoted for the
 * remote shell.  Every run has a time limit; ssh processes still running
 * at its end are killed and reported as such.
 */
#ifndef KRUN_SSHEXEC_H
#define KRUN_SSHEXEC_H

#include <stddef.h>

#include "error.h"

/* Most bytes kept of each run's output and of its error output. */
#define SSHEXEC_OUTPUT_MAX 65536

/* One host's run: the caller fills host and command, sshexec_run() the
 * rest. */
struct sshexec {
    const char *host;           /* as ssh is given it (borrowed) */
    const char *const *command; /* the remote command's words,
                                   NULL-terminated (borrowed) */
    int status;                 /* ssh's exit status (255: ssh's own failure, as a
                                   refused connection), or -1: killed at the time
                                   limit, or could not be started (see err) */
    char *out, *err;            /* what it wrote, NUL-terminated (owned; see
                                   sshexec_clear()) */
};

/* Run each of the n runs' commands on its host at once, input (len bytes,
 * may be NULL) on each one's standard input, and wait for them all, at
 * most timeout_ms; connect_timeout_s is ssh's ConnectTimeout.  Returns 0
 * once every run has its status, or -1 with errno and errp if nothing
 * could be run (no pipe, no fork). */
int sshexec_run (char *const ssh_command[], struct sshexec *runs, int n,
                 const void *input, size_t len, int connect_timeout_s, int timeout_ms,
                 struct krun_error *errp);

/* Free what sshexec_run() put into the runs. */
void sshexec_clear (struct sshexec *runs, int n);

/* The last non-empty line of text (ssh's own error, the remote command's
 * last word) into buf, at most size - 1 bytes.  Returns buf ("" if none). */
char *sshexec_last_line (const char *text, char *buf, size_t size);

/* words as one command line for a POSIX shell: a word of letters, digits
 * and _ . / : = @ % + , - as it is, any other in single quotes.  Returns it
 * (caller must free) or NULL with ENOMEM. */
char *sshexec_quote (const char *const words[]);

#endif
