/* Unit test of launcher/handled.c. */
#include <errno.h>
#include <string.h>

#include "handled.h"
#include "tests/tap.h"

int main (void)
{
    struct handled *h;
    bool all = true, none = false;

    plan (NO_PLAN);
    /* FNV-1a 64 test vectors. */
    ok (handled_id ("", 0) == 14695981039346656037ULL, "id of no bytes");
    ok (handled_id ("a", 1) == 0xaf63dc4c8601ec8cULL, "id of \"a\"");
    ok (handled_id ("foobar", 6) == 0x85944171f73967e8ULL, "id of \"foobar\"");
    ok (handled_id ("result 1", 8) != handled_id ("result 2", 8),
        "different messages, different ids");

    if (!(h = handled_create ()))
        bail_out ("handled_create: %s", strerror (errno));
    ok (!handled_contains (h, 42) && handled_count (h) == 0, "empty set");
    ok (handled_add (h, 42) == 0 && handled_contains (h, 42), "42 noted");
    ok (handled_add (h, 42) == 0 && handled_count (h) == 1, "noted once only");
    ok (handled_add (h, 0) == 0 && handled_contains (h, 0), "id 0 can be noted too");

    /* Many more than the first capacity, so the set grows several times. */
    for (uint64_t i = 1; i <= 20000; i++)
        if (handled_add (h, i * 0x9e3779b97f4a7c15ULL) < 0)
            all = false;
    for (uint64_t i = 1; i <= 20000; i++)
        if (!handled_contains (h, i * 0x9e3779b97f4a7c15ULL))
            all = false;
    for (uint64_t i = 20001; i <= 40000; i++)
        if (handled_contains (h, i * 0x9e3779b97f4a7c15ULL))
            none = true;
    ok (all, "20000 ids noted and found (the set grew)");
    ok (!none, "20000 other ids not found");

    handled_rotate (h);
    ok (handled_contains (h, 42) && handled_contains (h, 0x9e3779b97f4a7c15ULL),
        "after one rotation the ids are still known (previous generation)");
    ok (handled_add (h, 7) == 0 && handled_contains (h, 7), "a new id after it");
    handled_rotate (h);
    ok (!handled_contains (h, 42) && handled_contains (h, 7),
        "after two rotations the oldest are forgotten, the newer kept");
    is_int ((int)handled_count (h), 1, "one id held");
    handled_rotate (h);
    ok (!handled_contains (h, 7) && handled_count (h) == 0, "and then none");
    handled_destroy (h);
    handled_destroy (NULL);
    ok (true, "handled_destroy (NULL) is fine");
    done_testing ();
    return exit_status ();
}
