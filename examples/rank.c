/* rank - the task API's rank and size.  `krun -n 4 examples/rank`; also runs
 * without krun, as rank 0 of 1. */
#include <stdio.h>

#include <krun/krun.h>

int main (void)
{
    if (krun_init () < 0) {
        perror ("krun_init");
        return 1;
    }
    printf ("rank %d of %d on node %s, local rank %d, attempt %d\n", krun_rank (),
            krun_size (), krun_node (), krun_local_rank (), krun_attempt ());
    krun_finalize ();
    return 0;
}
