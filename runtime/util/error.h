/* error.h - the project's error convention.
 *
 * Functions return 0 / -1 or a pointer / NULL and set errno.  When a person
 * will read the reason, they also take an optional `struct krun_error *errp`
 * (may be NULL) and fill it with one line that names the thing that failed:
 * the file and line, the URL (password hidden), the rank, the HTTP status.
 * errprintf() returns -1 so that failure paths read `return errprintf (...)`;
 * it preserves errno.
 */
#ifndef KRUN_ERROR_H
#define KRUN_ERROR_H

#include <stdarg.h>

struct krun_error {
    char text[320];
};

/* Format a message into errp (if not NULL).  Returns -1, errno unchanged. */
int errprintf (struct krun_error *errp, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Like errprintf but appends ": strerror(errno)".  Returns -1, errno kept. */
int errprintf_errno (struct krun_error *errp, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
