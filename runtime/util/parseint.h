/* parseint.h - integers of command lines and configuration files, the one
 * way krun and krund read them: all of the text in base 10, in a range.
 */
#ifndef KRUN_PARSEINT_H
#define KRUN_PARSEINT_H

/* Parse s, a whole base-10 integer, into *out if it lies in [min, max]
 * (within int's range).  Returns 0, or -1 with errno EINVAL (empty, not a
 * number, or text after it; *out unchanged) or ERANGE (out of range). */
int parseint_int (const char *s, long min, long max, int *out);

#endif
