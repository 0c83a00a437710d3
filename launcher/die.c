/* die.c - see die.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "die.h"

void die (const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "krun: ");
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fprintf (stderr, "\n");
    exit (2);
}

void fatal (const char *text)
{
    fprintf (stderr, "krun: %s\n", text);
    exit (1);
}
