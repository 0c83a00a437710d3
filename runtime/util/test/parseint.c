/* Unit tests of parseint_int(). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "parseint.h"
#include "tests/tap.h"

static const struct {
    const char *text;
    long min, max;
    int want; /* the value, when err is 0 */
    int err;  /* the errno of a failure, else 0 */
} cases[] = {
    {"0", 0, 10, 0, 0},
    {"10", 0, 10, 10, 0},
    {"-5", -10, 10, -5, 0},
    {"+7", 0, 10, 7, 0},
    {"2147483647", 0, LONG_MAX, INT_MAX, 0},
    {"-2147483648", LONG_MIN, 0, INT_MIN, 0},
    {"11", 0, 10, 0, ERANGE},
    {"-1", 0, 10, 0, ERANGE},
    {"2147483648", 0, LONG_MAX, 0, ERANGE},
    {"99999999999999999999999", 0, LONG_MAX, 0, ERANGE},
    {"", 0, 10, 0, EINVAL},
    {"abc", 0, 10, 0, EINVAL},
    {"5x", 0, 10, 0, EINVAL},
    {"1.5", 0, 10, 0, EINVAL},
    {"5 ", 0, 10, 0, EINVAL},
    {"-", 0, 10, 0, EINVAL},
};

int main (void)
{
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        int out = 12345, rc;

        errno = 0;
        rc = parseint_int (cases[i].text, cases[i].min, cases[i].max, &out);
        if (cases[i].err == 0)
            ok (rc == 0 && out == cases[i].want, "'%s' in [%ld, %ld] is %d",
                cases[i].text, cases[i].min, cases[i].max, cases[i].want);
        else
            ok (rc < 0 && errno == cases[i].err && out == 12345,
                "'%s' in [%ld, %ld]: -1 with %s, out unchanged", cases[i].text,
                cases[i].min, cases[i].max,
                cases[i].err == EINVAL ? "EINVAL" : "ERANGE");
    }
    done_testing ();
    return exit_status ();
}
