/* progress - reports its progress while it works: `krun --progress -n 8
 * examples/progress [STEPS [MS]]` shows the status line moving.  Each of
 * STEPS steps (default 10) sleeps MS milliseconds (default 100). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <krun/krun.h>

int main (int argc, char *argv[])
{
    int steps = argc > 1 ? atoi (argv[1]) : 10;
    int ms = argc > 2 ? atoi (argv[2]) : 100;
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000};

    if (krun_init () < 0) {
        perror ("krun_init");
        return 1;
    }
    for (int i = 1; i <= steps; i++) {
        nanosleep (&pause, NULL);
        if (krun_progress ((double)i / steps) < 0) {
            perror ("krun_progress");
            return 1;
        }
    }
    printf ("rank %d: %d steps done\n", krun_rank (), steps);
    krun_finalize ();
    return 0;
}
