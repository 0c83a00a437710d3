/* log.h - one-line diagnostics of the daemon and its slots on stderr, each
 * prefixed with a time stamp and who speaks ("krund[node]" or
 * "krund[node/3]"). */
#ifndef KRUN_LOG_H
#define KRUN_LOG_H

/* Set the speaker's name (copied). */
void log_set_ident (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

void log_msg (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Write text, the reason the process is about to exit, to the termination
 * log: the file $KRUN_TERMINATION_LOG, else /dev/termination-log when it
 * exists and is writable (Kubernetes then shows the text as the container's
 * terminated.message).  Failures are ignored: the text is also on stderr. */
void log_termination (const char *text);

/* log_msg() and log_termination() of the same line. */
void log_fatal (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
