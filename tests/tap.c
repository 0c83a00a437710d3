#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int planned = NO_PLAN;
static int run;
static int failed;

void plan (int n)
{
    planned = n;
    if (n != NO_PLAN)
        printf ("1..%d\n", n);
    fflush (stdout);
}

void done_testing (void)
{
    if (planned == NO_PLAN) {
        printf ("1..%d\n", run);
        planned = run;
    }
    fflush (stdout);
}

int exit_status (void)
{
    if (planned != run) {
        diag ("planned %d tests but ran %d", planned, run);
        return 1;
    }
    return failed ? 1 : 0;
}

static bool report (bool cond, const char *file, int line, const char *fmt, va_list ap)
{
    run++;
    printf ("%sok %d - ", cond ? "" : "not ", run);
    vprintf (fmt, ap);
    printf ("\n");
    if (!cond) {
        failed++;
        printf ("#   Failed test at %s line %d\n", file, line);
    }
    fflush (stdout);
    return cond;
}

bool ok_at (bool cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    report (cond, file, line, fmt, ap);
    va_end (ap);
    return cond;
}

bool is_int_at (long long got, long long want, const char *file, int line,
                const char *fmt, ...)
{
    va_list ap;
    bool cond = got == want;
    va_start (ap, fmt);
    report (cond, file, line, fmt, ap);
    va_end (ap);
    if (!cond)
        printf ("#          got: %lld\n#     expected: %lld\n", got, want);
    return cond;
}

bool is_str_at (const char *got, const char *want, const char *file, int line,
                const char *fmt, ...)
{
    va_list ap;
    bool cond = (got == NULL && want == NULL) ||
                (got != NULL && want != NULL && strcmp (got, want) == 0);
    va_start (ap, fmt);
    report (cond, file, line, fmt, ap);
    va_end (ap);
    if (!cond)
        printf ("#          got: '%s'\n#     expected: '%s'\n", got ? got : "(null)",
                want ? want : "(null)");
    return cond;
}

void diag (const char *fmt, ...)
{
    va_list ap;
    fflush (stdout);
    fprintf (stderr, "# ");
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fprintf (stderr, "\n");
}

void bail_out (const char *fmt, ...)
{
    va_list ap;
    printf ("Bail out! ");
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    printf ("\n");
    fflush (stdout);
    exit (1);
}
