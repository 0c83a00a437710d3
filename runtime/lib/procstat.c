/* procstat.c - see procstat.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

int procstat_read (pid_t pid, char *state, unsigned long long *start_ticks)
{
    char path[64], line[1024], letter;
    unsigned long long start;
    FILE *f;
    int ok = 0;

    snprintf (path, sizeof (path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen (path, "re"))) {
        errno = ESRCH;
        return -1;
    }
    if (fgets (line, sizeof (line), f)) {
        /* The command name may hold spaces and parentheses: the fields
         * follow the last ')'. */
        const char *p = strrchr (line, ')');
        if (p && sscanf (p + 1,
                         " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
                         "%*d %*d %*d %*d %*d %*d %llu",
                         &letter, &start) == 2)
            ok = 1;
    }
    fclose (f);
    if (!ok) {
        errno = ESRCH;
        return -1;
    }
    if (state)
        *state = letter;
    if (start_ticks)
        *start_ticks = start;
    return 0;
}
