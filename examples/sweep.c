/* sweep - one point of a parameter sweep: reads its input (a number, one
 * line of `krun --inputs FILE`), returns its square as the result
 * (`krun --results DIR` writes it to DIR/<rank>).
 *
 *   seq 1 100 > params && krun --inputs params --results out examples/sweep
 */
#include <stdio.h>
#include <stdlib.h>

#include <krun/krun.h>

int main (void)
{
    const void *input;
    size_t len;
    char result[64];

    if (krun_init () < 0 || krun_input (&input, &len) < 0) {
        perror ("krun");
        return 1;
    }
    /* The input is NUL-terminated by the library: text can be parsed as is. */
    double x = len > 0 ? strtod (input, NULL) : 0;
    int n = snprintf (result, sizeof (result), "%g\n", x * x);
    if (krun_result (result, (size_t)n) < 0) {
        perror ("krun_result");
        return 1;
    }
    krun_finalize ();
    return 0;
}
