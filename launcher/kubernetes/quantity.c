/* quantity.c - see quantity.h.  Numbers are kept as an integer mantissa and
 * a power of ten, and only scaled at the end in 128-bit arithmetic, so
 * "127500m" and "1.5" are exact where a double would not be. */
#include <errno.h>
#include <string.h>

#include "quantity.h"

struct suffix {
    const char *name;
    int power2;  /* multiply by 2^power2 */
    int power10; /* and by 10^power10 */
};

static const struct suffix suffixes[] = {
    {"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0},
    {"Pi", 50, 0}, {"Ei", 60, 0}, {"n", 0, -9},  {"u", 0, -6},
    {"m", 0, -3},  {"", 0, 0},    {"k", 0, 3},   {"M", 0, 6},
    {"G", 0, 9},   {"T", 0, 12},  {"P", 0, 15},  {"E", 0, 18},
};

/* The largest quantity accepted, in milli-units. */
#define MILLI_MAX ((__int128)INT64_MAX)

int quantity_parse_milli (const char *s, int64_t *milli)
{
    __int128 mantissa = 0, value;
    int power10 = 3, power2 = 0, digits = 0;
    const char *p = s;
    const struct suffix *suffix = NULL;

    if (*p == '+')
        p++;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (mantissa < (__int128)1 << 100)
            mantissa = mantissa * 10 + (*p - '0');
        else
            power10++; /* digits beyond any useful precision */
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (mantissa < (__int128)1 << 100) {
                mantissa = mantissa * 10 + (*p - '0');
                power10--;
            }
        }
    }
    if (digits == 0)
        goto invalid;
    if ((*p == 'e' || *p == 'E') && p[1] && strchr ("+-0123456789", p[1])) {
        int sign = 1, exponent = 0;
        p++;
        if (*p == '+' || *p == '-')
            sign = *p++ == '-' ? -1 : 1;
        if (!(*p >= '0' && *p <= '9'))
            goto invalid;
        for (; *p >= '0' && *p <= '9'; p++)
            if (exponent < 1000)
                exponent = exponent * 10 + (*p - '0');
        if (*p)
            goto invalid;
        power10 += sign * exponent;
    } else {
        for (size_t i = 0; i < sizeof (suffixes) / sizeof (suffixes[0]); i++)
            if (strcmp (p, suffixes[i].name) == 0)
                suffix = &suffixes[i];
        if (!suffix)
            goto invalid;
        power10 += suffix->power10;
        power2 = suffix->power2;
    }
    value = mantissa;
    for (; power2 > 0 && value <= MILLI_MAX; power2--)
        value *= 2;
    for (; power10 > 0 && value <= MILLI_MAX; power10--)
        value *= 10;
    for (; power10 < 0 && value > 0; power10++)
        value = (value + 9) / 10; /* round up, as the API server does */
    if (value > MILLI_MAX) {
        errno = ERANGE;
        return -1;
    }
    *milli = (int64_t)value;
    return 0;
invalid:
    errno = EINVAL;
    return -1;
}

int quantity_parse (const char *s, int64_t *value)
{
    int64_t milli;

    if (quantity_parse_milli (s, &milli) < 0)
        return -1;
    *value = milli / 1000 + (milli % 1000 != 0);
    return 0;
}
