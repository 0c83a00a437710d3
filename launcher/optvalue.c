/* optvalue.c - see optvalue.h. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

#include "optvalue.h"
#include "parseint.h"

int optvalue_count (const char *opt, const char *s, int min, int *out,
                    struct krun_error *errp)
{
    int below;

    if (parseint_int (s, min, INT_MAX, out) == 0)
        return 0;
    /* Too large for an int (or for a long) is ERANGE too, but not below. */
    if (errno == ERANGE && s[0] != '-' &&
        parseint_int (s, INT_MIN, min - 1, &below) < 0) {
        errno = ERANGE;
        return errprintf (errp, "%s: %s is out of range: at most %d", opt, s, INT_MAX);
    }
    errno = EINVAL;
    return errprintf (errp, "%s: expected an integer >= %d, got '%s'", opt, min, s);
}

int optvalue_seconds_ms (const char *opt, const char *s, int *out,
                         struct krun_error *errp)
{
    char *end;
    double v;

    errno = 0;
    v = strtod (s, &end);
    if (*s == '\0' || *end != '\0' || errno || !(v >= 0.001) || v > INT_MAX / 1000.0) {
        errno = EINVAL;
        return errprintf (errp, "%s: expected a number of seconds > 0, got '%s'", opt,
                          s);
    }
    *out = (int)(v * 1000 + 0.5);
    return 0;
}

int optvalue_size (const char *opt, const char *s, int *out, struct krun_error *errp)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll (s, &end, 10);
    /* Digits first: a lone suffix ("K") is no count. */
    bool digits = end != s;
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (!digits || *end != '\0' || errno || v < 0 || v > (INT_MAX >> shift)) {
        errno = EINVAL;
        return errprintf (errp,
                          "%s: expected a byte count (K, M, G suffixes) below 2G, got "
                          "'%s'",
                          opt, s);
    }
    *out = (int)(v << shift);
    return 0;
}
