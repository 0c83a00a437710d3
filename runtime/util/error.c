#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int errprintf (struct krun_error *errp, const char *fmt, ...)
{
    int saved_errno = errno;
    if (errp) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (errp->text, sizeof (errp->text), fmt, ap);
        va_end (ap);
    }
    errno = saved_errno;
    return -1;
}

int errprintf_errno (struct krun_error *errp, const char *fmt, ...)
{
    int saved_errno = errno;
    if (errp) {
        size_t used;
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (errp->text, sizeof (errp->text), fmt, ap);
        va_end (ap);
        used = strlen (errp->text);
        snprintf (errp->text + used, sizeof (errp->text) - used, ": %s",
                  strerror (saved_errno));
    }
    errno = saved_errno;
    return -1;
}
