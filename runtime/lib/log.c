#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

void log_termination (const char *text)
{
    const char *path = getenv ("KRUN_TERMINATION_LOG");
    FILE *f;

    if (!path || !*path) {
        path = "/dev/termination-log";
        /* Only where a kubelet made it: never create it elsewhere. */
        if (access (path, W_OK) < 0)
            return;
    }
    if (!(f = fopen (path, "w")))
        return;
    fprintf (f, "%s\n", text);
    fclose (f);
}

void log_fatal (const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (line, sizeof (line), fmt, ap);
    va_end (ap);
    log_msg ("%s", line);
    log_termination (line);
}
