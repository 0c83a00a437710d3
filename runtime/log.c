#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static char ident[128] = "krun";

void log_set_ident (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (ident, sizeof (ident), fmt, ap);
    va_end (ap);
}

void log_msg (const char *fmt, ...)
{
    char line[1024];
    char stamp[32];
    time_t now = time (NULL);
    struct tm tm;
    va_list ap;

    strftime (stamp, sizeof (stamp), "%Y-%m-%dT%H:%M:%S", localtime_r (&now, &tm));
    va_start (ap, fmt);
    vsnprintf (line, sizeof (line), fmt, ap);
    va_end (ap);
    /* One write per line so that lines of many slots do not interleave. */
    fprintf (stderr, "%s %s: %s\n", stamp, ident, line);
    fflush (stderr);
}
