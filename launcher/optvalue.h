/* optvalue.h - the values of krun's command-line options: counts, seconds
 * and byte sizes, each checked whole and in range, with a message naming
 * the option and what it expected.  krun.c's option table stores them.
 */
#ifndef KRUN_OPTVALUE_H
#define KRUN_OPTVALUE_H

#include "error.h"

/* An integer >= min (and at most INT_MAX) into *out.  Returns 0, or -1 with
 * errno EINVAL (not such an integer) or ERANGE (beyond INT_MAX: a number
 * all the same, so the message says which limit it passed) and errp
 * naming opt. */
int optvalue_count (const char *opt, const char *s, int min, int *out,
                    struct krun_error *errp);

/* Seconds (decimals allowed, > 0, at most INT_MAX ms) as milliseconds,
 * rounded.  Returns 0, or -1 with EINVAL and errp. */
int optvalue_seconds_ms (const char *opt, const char *s, int *out,
                         struct krun_error *errp);

/* A byte count with an optional K, M or G suffix (powers of 1024), at most
 * INT_MAX.  Returns 0, or -1 with EINVAL and errp. */
int optvalue_size (const char *opt, const char *s, int *out, struct krun_error *errp);

#endif
