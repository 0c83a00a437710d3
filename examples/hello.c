/* hello - prints where each rank runs.  `krun -n 8 examples/hello` */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static const char *env (const char *name)
{
    const char *v = getenv (name);
    return v ? v : "?";
}

int main (void)
{
    printf ("hello from rank %s of %s on node %s, slot %s, cpu %d\n", env ("KRUN_RANK"),
            env ("KRUN_SIZE"), env ("KRUN_NODE"), env ("KRUN_SLOT"), sched_getcpu ());
    return 0;
}
