/* parseint.c - see parseint.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "parseint.h"

int parseint_int (const char *s, long min, long max, int *out)
{
    char *end;
    long v;

    if (min < INT_MIN)
        min = INT_MIN;
    if (max > INT_MAX)
        max = INT_MAX;
    errno = 0;
    v = strtol (s, &end, 10);
    if (end == s || *end != '\0') {
        errno = EINVAL;
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        errno = ERANGE;
        return -1;
    }
    *out = (int)v;
    return 0;
}
