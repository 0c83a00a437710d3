/* log.h - one-line diagnostics of the daemon and its slots on stderr, each
 * prefixed with a time stamp and who speaks ("krund[node]" or
 * "krund[node/3]"). */
#ifndef KRUN_LOG_H
#define KRUN_LOG_H

/* Set the speaker's name (copied). */
void log_set_ident (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

void log_msg (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
