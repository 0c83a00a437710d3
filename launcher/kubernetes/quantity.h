/* quantity.h - Kubernetes resource quantities ("128", "127500m", "1.5",
 * "4Gi", "512M", "1e3") as exact integers.
 *
 * A quantity is a decimal number with an optional suffix: a binary one (Ki,
 * Mi, Gi, Ti, Pi, Ei), a decimal one (n, u, m, k, M, G, T, P, E) or an
 * exponent (e3, E-2).  CPU is counted in millicores, memory in bytes; like
 * the API server, a fraction below the unit is rounded up.
 */
#ifndef KRUN_QUANTITY_H
#define KRUN_QUANTITY_H

#include <stdint.h>

/* Parse s into thousandths of its unit (millicores for CPU).  Returns 0, or
 * -1 with errno EINVAL (not a quantity, negative) or ERANGE (too large). */
int quantity_parse_milli (const char *s, int64_t *milli);

/* Parse s into whole units (bytes for memory), rounded up.  Returns 0 or
 * -1 as above. */
int quantity_parse (const char *s, int64_t *value);

#endif
