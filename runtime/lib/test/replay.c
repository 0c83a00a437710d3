/* Unit tests of the replay set (runtime/replay.c). */
#include <stddef.h>

#include "replay.h"
#include "tests/tap.h"

int main (void)
{
    struct replay *r = replay_create ();

    plan (NO_PLAN);
    if (!r)
        bail_out ("out of memory");
    is_int (replay_check (r, "a", 100, 0), 0, "a new job is not a replay");
    is_int (replay_check (r, "b", 50, 0), 0, "another new job");
    is_int (replay_check (r, "a", 100, 10), 1, "the same job again is a replay");
    is_int (replay_check (r, "a", 200, 20), 1, "also with a later expiry");
    is_int (replay_count (r), 2, "two entries");
    is_int (replay_check (r, "c", 300, 150), 0, "a third job, after b expired");
    is_int (replay_count (r), 2, "b was dropped, a kept (its expiry moved to 200)");
    is_int (replay_check (r, "a", 300, 190), 1, "a is still a replay at 190");
    is_int (replay_check (r, "b", 300, 190), 0, "b is new again: its entry expired");
    is_int (replay_check (r, "x", 1000, 5000), 0, "all others expire");
    is_int (replay_count (r), 1, "one entry left");
    replay_destroy (r);
    replay_destroy (NULL);
    ok (1, "destroy accepts NULL");
    done_testing ();
    return exit_status ();
}
