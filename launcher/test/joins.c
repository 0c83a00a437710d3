/* Unit tests of launcher/joins.c. */
#include <string.h>

#include "joins.h"
#include "tests/tap.h"

int main (void)
{
    struct joins *j = joins_create ();
    const char **dropped = NULL;
    char buf[256];

    plan (NO_PLAN);
    ok (j && joins_expect (j, "a", 1000, 5000) == 0 &&
            joins_expect (j, "b", 1000, 5000) == 0 &&
            joins_expect (j, "c", 1000, 300000) == 0,
        "three nodes expected");
    ok (joins_state (j, "a") == JOINS_PENDING && joins_usable (j, "a"),
        "a pending node is usable");
    ok (joins_confirm (j, "a") && !joins_confirm (j, "a"),
        "a confirms once; a second confirmation is no news");
    ok (joins_refuse (j, "b", "cannot stage: no space") &&
            !joins_refuse (j, "b", "again") && !joins_usable (j, "b"),
        "b refuses once and is no longer usable");
    ok (joins_expire (j, 5999, &dropped) == 0, "nothing dropped before the bound");
    joins_expect (j, "d", 2000, 5000);
    ok (joins_expire (j, 7000, &dropped) == 1 && strcmp (dropped[0], "d") == 0 &&
            dropped[1] == NULL,
        "d dropped after its bound; c has a longer one (a starting pod)");
    ok (!joins_usable (j, "d") && !joins_confirm (j, "d"),
        "a dropped node stays dropped, even if it confirms late");
    ok (joins_expect (j, "a", 9000, 1) == 0 && joins_expire (j, 302000, NULL) == 1 &&
            joins_state (j, "a") == JOINS_CONFIRMED,
        "a confirmed node is not expected again; c dropped at last");
    joins_reasons (j, buf, sizeof (buf));
    is_str (buf,
            "b: cannot stage: no space; c: neither confirmed nor refused within "
            "300.0 s; d: neither confirmed nor refused within 5.0 s",
            "the reasons name every node that left");
    joins_reasons (j, buf, 10);
    ok (strlen (buf) == 9, "reasons are cut to the buffer");
    ok (joins_confirm (j, "late") && joins_expect (j, "late", 0, 1) == 0 &&
            joins_state (j, "late") == JOINS_CONFIRMED,
        "a slot that joined before the announcement counts as confirmed");
    joins_destroy (j);
    joins_destroy (NULL);
    done_testing ();
}
