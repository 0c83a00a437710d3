/* tap.h - a small Test Anything Protocol producer for the unit tests.
 *
 * plan (N) or plan (NO_PLAN) + done_testing (); ok (cond, fmt, ...) and the
 * comparison helpers print "ok N - name" / "not ok N - name" and return the
 * condition; diag () prints "# ..." to stderr.  exit_status () is what main
 * returns: 0 if every test passed and the plan was met.
 */
#ifndef KRUN_TAP_H
#define KRUN_TAP_H

#include <stdbool.h>

#define NO_PLAN (-1)

void plan (int n);
void done_testing (void);
int exit_status (void);

bool ok_at (bool cond, const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
bool is_int_at (long long got, long long want, const char *file, int line,
                const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
bool is_str_at (const char *got, const char *want, const char *file, int line,
                const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
void diag (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void bail_out (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

#define ok(cond, ...) ok_at (!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
    is_int_at ((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) \
    is_str_at ((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#endif
